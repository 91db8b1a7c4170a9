/**
 * The front forwards an acks=0 Produce for one shard as the client's frame with `acks` rewritten to 1 in place
 * (src/shard/front/produce-acks.ts). In every Produce version the front serves (3-13: classic and flexible headers,
 * topic names and topic ids), with a transactional id null, empty or non-ASCII and a client id null or set, only
 * `acks` changes: the frame decodes to the same request with acks=1 (timeout_ms just after it intact, its high bytes
 * zero as a small timeout's are). A frame whose `acks` is not the value expected is left byte for byte as it was.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Reader, Writer } from "../../src/protocol/wire.ts";
import { API_CODECS, requestHeaderVersion } from "../../src/protocol/generated/index.ts";
import { readRequestHeader, writeRequestHeader } from "../../src/protocol/generated/headers.ts";
import { rewriteProduceAcks } from "../../src/shard/front/produce-acks.ts";

/** A Produce request frame body (header and request, no size prefix) of `version`. */
function produceFrame(version: number, transactionalId: string | null, clientId: string | null, acks: number): Uint8Array {
  const w = new Writer(1024);
  writeRequestHeader(w, requestHeaderVersion(0, version), { requestApiKey: 0, requestApiVersion: version, correlationId: 77, clientId });
  const records = Uint8Array.from([1, 2, 3, 4]);
  const topic = version >= 13 ? { topicId: new Uint8Array(16).fill(9), partitionData: [{ index: 2, records }] } : { name: "t", partitionData: [{ index: 2, records }] };
  API_CODECS[0]!.writeRequest(w, version, { transactionalId, acks, timeoutMs: 0xffff, topicData: [topic] });
  return w.finishContiguous().slice();
}

/** The frame decoded: its header's client id and the request. */
function decode(body: Uint8Array, version: number): { clientId: string | null; req: any } {
  const r = new Reader(body);
  const header = readRequestHeader(r, requestHeaderVersion(0, version));
  return { clientId: header.clientId ?? null, req: API_CODECS[0]!.readRequest(r, version) };
}

test("acks=0 is rewritten to 1 in place in every Produce version, nothing else changes", () => {
  for (let version = 3; version <= 13; version++) {
    for (const transactionalId of [null, "", "tx-é-1"]) {
      for (const clientId of [null, "client-x"]) {
        const what = `v${version} transactional id ${JSON.stringify(transactionalId)} client id ${JSON.stringify(clientId)}`;
        const body = produceFrame(version, transactionalId, clientId, 0);
        const expected = decode(produceFrame(version, transactionalId, clientId, 1), version);
        assert.equal(rewriteProduceAcks(body, version, 0, 1), true, what);
        assert.deepEqual(decode(body, version), expected, what);
        assert.deepEqual(body, produceFrame(version, transactionalId, clientId, 1), `${what}: byte for byte the acks=1 frame`);

        // acks is not 0 there: nothing is written.
        const other = produceFrame(version, transactionalId, clientId, -1);
        const before = other.slice();
        assert.equal(rewriteProduceAcks(other, version, 0, 1), false, what);
        assert.deepEqual(other, before, `${what}: untouched`);
      }
    }
  }
});
