/**
 * Property test of every generated codec: for each message (headers, broker API requests and responses, data
 * schemas) and each valid version, random complete instances decode back to themselves and re-encode to the
 * same bytes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { messageSchemas } from "../../src/protocol/generated/schema.ts";
import {
  type FetchResponse,
  readFetchResponse,
  readRequestHeader,
  writeFetchResponse,
  writeRequestHeader,
} from "../../src/protocol/generated/index.ts";
import { UnsupportedVersionError } from "../../src/protocol/errors-codec.ts";
import { Reader, Writer } from "../../src/protocol/wire.ts";
import { codecFor, messageArb, normalize, versionsOf } from "./codec-arbitraries.ts";

/** Random instances per message version: enough to hit nulls, tags and absent fields, cheap enough for CI. */
const RUNS_PER_VERSION = 25;

function encode(write: (w: Writer) => void): Uint8Array {
  const w = new Writer(64);
  write(w);
  return w.finishContiguous().slice();
}

for (const schema of messageSchemas()) {
  test(`${schema.name} round-trips in every valid version`, () => {
    const { read, write } = codecFor(schema.name);
    for (const v of versionsOf(schema)) {
      fc.assert(
        fc.property(messageArb(schema, v), (x) => {
          const bytes = encode((w) => write(w, v, x));
          const r = new Reader(bytes);
          const decoded = read(r, v);
          assert.equal(r.pos, bytes.length, `${schema.name} v${v} left bytes unread`);
          assert.deepStrictEqual(decoded, normalize(schema.fields, x), `${schema.name} v${v} decoded differently`);
          const again = encode((w) => write(w, v, decoded));
          assert.deepStrictEqual(again, bytes, `${schema.name} v${v} re-encoded differently`);
        }),
        { numRuns: RUNS_PER_VERSION, seed: 0x5eed + v },
      );
    }
  });
}

test("versions outside validVersions throw UnsupportedVersionError", () => {
  for (const schema of messageSchemas()) {
    const { read, write } = codecFor(schema.name);
    const above = schema.validVersions[1] + 1;
    assert.throws(() => read(new Reader(new Uint8Array(64)), above), UnsupportedVersionError);
    assert.throws(() => write(new Writer(64), above, {}), UnsupportedVersionError);
    if (schema.validVersions[0] > 0) {
      assert.throws(() => write(new Writer(64), schema.validVersions[0] - 1, {}), UnsupportedVersionError);
    }
  }
});

test("missing fields encode as their defaults", () => {
  const bytes = encode((w) => writeFetchResponse(w, 16, {} as FetchResponse));
  const decoded = readFetchResponse(new Reader(bytes), 16);
  assert.equal(decoded.throttleTimeMs, 0);
  assert.equal(decoded.errorCode, 0);
  assert.equal(decoded.sessionId, 0);
  assert.deepStrictEqual(decoded.responses, []);
  assert.deepStrictEqual(decoded.nodeEndpoints, []);
});

test("a non-ignorable field absent from the version throws, an ignorable one is dropped", () => {
  // FetchResponse.sessionId (7+) is not ignorable; ProduceRequest.topicData[].name is ignorable in v13.
  assert.throws(() => encode((w) => writeFetchResponse(w, 6, { sessionId: 5 } as FetchResponse)), UnsupportedVersionError);
  encode((w) => writeFetchResponse(w, 6, { sessionId: 0 } as FetchResponse));
  const { write } = codecFor("ProduceRequest");
  encode((w) => write(w, 13, { topicData: [{ name: "dropped", partitionData: [] }] }));
});

test("tagged struct with large unknown tags and records round-trips through referenced chunks", () => {
  const big = new Uint8Array(5000).map((_, i) => i & 0xff);
  const response: FetchResponse = {
    throttleTimeMs: 1,
    errorCode: 0,
    sessionId: 7,
    responses: [{
      topic: "",
      topicId: new Uint8Array(16).fill(3),
      partitions: [{
        partitionIndex: 0,
        errorCode: 0,
        highWatermark: 10n,
        lastStableOffset: 10n,
        logStartOffset: 0n,
        divergingEpoch: { epoch: 1, endOffset: 2n, _unknownTags: [{ tag: 9, data: big }] },
        currentLeader: { leaderId: 1, leaderEpoch: 2 },
        snapshotId: { endOffset: -1n, epoch: -1 },
        abortedTransactions: null,
        preferredReadReplica: -1,
        records: [big, big.subarray(0, 10), big],
      }],
    }],
    nodeEndpoints: [],
    _unknownTags: [{ tag: 5, data: big }],
  };
  const w = new Writer(64);
  writeFetchResponse(w, 16, response);
  const chunks = w.finish();
  assert.ok(chunks.length > 1, "large payloads are referenced, not copied");
  const bytes = encode((x) => writeFetchResponse(x, 16, response));
  const decoded = readFetchResponse(new Reader(bytes), 16);
  const p = decoded.responses[0].partitions[0];
  assert.deepStrictEqual(p.divergingEpoch, response.responses[0].partitions[0].divergingEpoch);
  assert.equal((p.records as Uint8Array).length, 10010);
  assert.deepStrictEqual(decoded._unknownTags, response._unknownTags);
});

test("request header v2 keeps ClientId as a classic nullable string", () => {
  const bytes = encode((w) =>
    writeRequestHeader(w, 2, { requestApiKey: 18, requestApiVersion: 3, correlationId: 9, clientId: "abc" })
  );
  // int16 apiKey, int16 version, int32 correlation id, int16 length + "abc", empty tag section.
  assert.deepStrictEqual(bytes, new Uint8Array([0, 18, 0, 3, 0, 0, 0, 9, 0, 3, 97, 98, 99, 0]));
  assert.deepStrictEqual(readRequestHeader(new Reader(bytes), 2), {
    requestApiKey: 18,
    requestApiVersion: 3,
    correlationId: 9,
    clientId: "abc",
  });
});

test("Writer sized sections nest and survive referenced chunks inside them", () => {
  const big = new Uint8Array(5000).fill(9);
  const w = new Writer(16);
  w.int8(0x11);
  w.sizeBegin(); // outer
  w.int8(0x22);
  w.sizeBegin(); // inner, holding a referenced chunk
  w.payload(big);
  w.int8(0x33);
  assert.equal(w.sizeEnd(), 5001);
  w.int8(0x44);
  assert.equal(w.sizeEnd(), 1 + 2 + 5001 + 1);
  const bytes = w.finishContiguous();
  const r = new Reader(bytes);
  assert.equal(r.int8(), 0x11);
  assert.equal(r.uvarint(), 5005);
  assert.equal(r.int8(), 0x22);
  assert.equal(r.uvarint(), 5001);
  assert.deepStrictEqual(r.view_(5000), big);
  assert.equal(r.int8(), 0x33);
  assert.equal(r.int8(), 0x44);
  assert.equal(r.remaining(), 0);
});

test("unknown tags colliding with a known tag or out of order are rejected when encoding", () => {
  const { write } = codecFor("ApiVersionsResponse");
  const data = new Uint8Array([1]);
  assert.throws(() => encode((w) => write(w, 3, { _unknownTags: [{ tag: 1, data }] })), RangeError);
  assert.throws(() => encode((w) => write(w, 3, { _unknownTags: [{ tag: 9, data }, { tag: 8, data }] })), RangeError);
  assert.throws(() => encode((w) => write(w, 2, { _unknownTags: [{ tag: 9, data }] })), UnsupportedVersionError);
  // Unknown tags are merged in ascending order with known ones: 0 (known), 1 (known), 2 (known)... 7 (unknown).
  const bytes = encode((w) => write(w, 3, { finalizedFeaturesEpoch: 5n, _unknownTags: [{ tag: 7, data }] }));
  const decoded = codecFor("ApiVersionsResponse").read(new Reader(bytes), 3) as Record<string, unknown>;
  assert.equal(decoded.finalizedFeaturesEpoch, 5n);
  assert.deepStrictEqual(decoded._unknownTags, [{ tag: 7, data }]);
});

test("tagged fields use the Kafka wire format: count, then tag, size and payload per field", () => {
  const { write } = codecFor("ApiVersionsResponse");
  const bytes = encode((w) => write(w, 3, { errorCode: 0, apiKeys: [], throttleTimeMs: 0, finalizedFeaturesEpoch: 5n }));
  // int16 error, compact empty array (1), int32 throttle, then 1 tagged field: tag 1, size 8, int64 5.
  assert.deepStrictEqual(bytes, new Uint8Array([0, 0, 1, 0, 0, 0, 0, 1, 1, 8, 0, 0, 0, 0, 0, 0, 0, 5]));
});
