/**
 * The `acks` field of a Produce request frame, found and rewritten in place: the front forwards an acks=0 Produce for
 * one shard as the client's own frame with acks=1, so that it learns of a failed partition (and closes the client's
 * connection, as one broker does) without decoding and re-encoding the request.
 */
import { ApiKey, requestHeaderVersion } from "../../protocol/generated/index.ts";
import { readRequestHeader } from "../../protocol/generated/headers.ts";
import { Reader } from "../../protocol/wire.ts";

/** First Produce version whose body is flexible (compact transactional id). */
const PRODUCE_FIRST_FLEXIBLE_VERSION = 9;

/** Byte position of `acks` in `body` (request header, then a Produce of `version`): after the header and the transactional id. */
export function produceAcksOffset(body: Uint8Array, version: number): number {
  const r = new Reader(body);
  readRequestHeader(r, requestHeaderVersion(ApiKey.Produce, version));
  if (version >= PRODUCE_FIRST_FLEXIBLE_VERSION) r.compactString(true);
  else r.string(true);
  r.need(2);
  return r.pos;
}

/**
 * Writes `to` over the frame's `acks` if it holds `from` there (the request's decoded value); false, nothing written,
 * when it does not (the caller then re-encodes the request instead).
 */
export function rewriteProduceAcks(body: Uint8Array, version: number, from: number, to: number): boolean {
  const at = produceAcksOffset(body, version);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  if (view.getInt16(at) !== from) return false;
  view.setInt16(at, to);
  return true;
}
