/**
 * Size-prefixed Kafka frames (int32 size, header, body) encoded with the generated codecs into a shared
 * {@link Writer}: the broker's responses and the client's requests. Each frame is a new message of the writer
 * ({@link Writer.beginMessage}), so the chunks of frames returned earlier stay valid while they wait on a socket.
 */
import type { Writer } from "./wire.ts";
import { API_CODECS, requestHeaderVersion, responseHeaderVersion } from "./generated/index.ts";
import { writeRequestHeader, writeResponseHeader } from "./generated/headers.ts";

/** Free scratch bytes a frame starts with (the writer takes a fresh buffer when fewer remain): {@link Writer.beginMessage}'s default. */
export const FRAME_MIN_FREE_BYTES = 16 * 1024;

/**
 * Encodes a request frame of API `apiKey` at `version` into `w` and returns its chunks (views into the writer's
 * scratch buffer and the body's referenced payloads, valid until `w` is reset). Throws, with nothing returned, when
 * the body cannot be encoded in that version.
 */
export function encodeRequestFrame(w: Writer, apiKey: number, version: number, correlationId: number, clientId: string | null, body: unknown, minFree = FRAME_MIN_FREE_BYTES): Uint8Array[] {
  const codec = API_CODECS[apiKey];
  if (codec === undefined) throw new RangeError(`no codec for API key ${apiKey}`);
  w.beginMessage(minFree);
  const sizeAt = w.reserve(4);
  writeRequestHeader(w, requestHeaderVersion(apiKey, version), { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId });
  codec.writeRequest(w, version, body);
  return finishFrame(w, sizeAt);
}

/** Encodes a response frame of API `apiKey` at `version` into `w` and returns its chunks, like {@link encodeRequestFrame}. */
export function encodeResponseFrame(w: Writer, apiKey: number, version: number, correlationId: number, body: unknown, minFree = FRAME_MIN_FREE_BYTES): Uint8Array[] {
  const codec = API_CODECS[apiKey];
  if (codec === undefined) throw new RangeError(`no codec for API key ${apiKey}`);
  w.beginMessage(minFree);
  const sizeAt = w.reserve(4);
  writeResponseHeader(w, responseHeaderVersion(apiKey, version), { correlationId });
  codec.writeResponse(w, version, body);
  return finishFrame(w, sizeAt);
}

/** Patches the frame's size in front of it and returns its chunks (a copy of the list: the writer reuses its own). */
function finishFrame(w: Writer, sizeAt: number): Uint8Array[] {
  if (sizeAt !== 0) throw new Error(`frame size reserved at ${sizeAt}, not at the frame's start`);
  w.patchInt32(sizeAt, w.length() - 4);
  return w.finish().slice();
}
