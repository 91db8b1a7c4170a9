/**
 * Cross-checks the RecordBatch v2 codec against kafkajs, an independent implementation: batches kafkajs encodes
 * are read field by field, and batches our BatchBuilder writes are decoded by kafkajs's batch decoder.
 * kafkajs internals are CommonJS, loaded with createRequire (works under Bun and Deno).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { Buffer } from "node:buffer";
import { gunzipSync, gzipSync } from "node:zlib";
import fc from "fast-check";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { BATCH_HEADER_SIZE, computeBatchCrc } from "../../src/protocol/batch-layout.ts";
import {
  BatchBuilder,
  compressionCodecOf,
  readBatchHeader,
  RecordCursor,
  type RecordHeader,
  setLogAppendTime,
  verifyBatch,
  verifyRecords,
} from "../../src/protocol/record-batch.ts";
import { buildControlBatch, ControlRecordType } from "../../src/protocol/control-record.ts";

await initCrc32c();

const require = createRequire(import.meta.url);
const { RecordBatch } = require("kafkajs/src/protocol/recordBatch/v0/index.js");
const KafkajsRecord = require("kafkajs/src/protocol/recordBatch/record/v0/index.js");
const KafkajsDecoder = require("kafkajs/src/protocol/decoder.js");
const decodeKafkajsBatch = require("kafkajs/src/protocol/recordBatch/v0/decoder.js");
const Long = require("kafkajs/src/utils/long.js");

// deno-lint-ignore no-explicit-any
type Any = any;

interface PlainRecord {
  offset: string;
  timestamp: string;
  key: number[] | null;
  value: number[] | null;
  headers: [string, number[] | null][];
}

const plain = (b: Uint8Array | null): number[] | null => (b === null ? null : Array.from(b));

/** Reads all records from the cursor into plain values. */
function drain(c: RecordCursor): PlainRecord[] {
  const out: PlainRecord[] = [];
  while (c.next()) {
    const headers: [string, number[] | null][] = [];
    const h = c.headers();
    while (h.next()) headers.push([h.keyString(), plain(h.value())]);
    out.push({ offset: c.offset().toString(), timestamp: String(c.timestamp), key: plain(c.key()), value: plain(c.value()), headers });
  }
  return out;
}

/** Decodes a batch with kafkajs into plain values (headers in kafkajs's object form, one value per key). */
async function kafkajsDecode(batch: Uint8Array): Promise<Any> {
  const decoded = await decodeKafkajsBatch(new KafkajsDecoder(Buffer.from(batch)));
  return {
    ...decoded,
    records: decoded.records.map((r: Any) => ({
      offset: r.offset,
      timestamp: r.timestamp,
      key: r.key === null ? null : Array.from(r.key as Uint8Array),
      value: r.value === null ? null : Array.from(r.value as Uint8Array),
      headers: Object.entries(r.headers).map(([k, v]) => [k, v === null ? null : Array.from(v as Uint8Array)]),
      isControlRecord: r.isControlRecord,
    })),
  };
}

const T0 = 1_712_345_678_901;

/** Records as kafkajs's encoder takes them, plus what we expect to read back. */
const kafkajsRecords = [
  { offsetDelta: 0, timestampDelta: 0, key: Buffer.from("key-0"), value: Buffer.from("value-0"), headers: {} },
  { offsetDelta: 1, timestampDelta: 17, key: null, value: Buffer.from(""), headers: { trace: Buffer.from("abc"), "ключ": Buffer.from([0, 255]) } },
  { offsetDelta: 2, timestampDelta: -250, key: Buffer.alloc(0), value: null, headers: { "": Buffer.alloc(0) } },
  { offsetDelta: 3, timestampDelta: 2 ** 40, key: Buffer.alloc(300, 7), value: Buffer.alloc(20_000, 9), headers: {} },
];

async function kafkajsBatch(compression = 0): Promise<Uint8Array> {
  const encoded = await RecordBatch({
    compression,
    firstOffset: Long.fromValue(9_007_199_254_740_000n),
    firstTimestamp: T0,
    maxTimestamp: T0 + 2 ** 40,
    partitionLeaderEpoch: 12,
    lastOffsetDelta: 3,
    transactional: true,
    producerId: Long.fromValue(88_888_888_888n),
    producerEpoch: 5,
    firstSequence: 2_000_000_000,
    records: kafkajsRecords.map((r) => KafkajsRecord(r)),
  });
  return new Uint8Array(encoded.buffer);
}

const expectedFromKafkajs: PlainRecord[] = kafkajsRecords.map((r) => ({
  offset: (9_007_199_254_740_000n + BigInt(r.offsetDelta)).toString(),
  timestamp: String(T0 + r.timestampDelta),
  key: plain(r.key),
  value: plain(r.value),
  headers: Object.entries(r.headers).map(([k, v]) => [k, plain(v)] as [string, number[] | null]),
}));

test("a batch kafkajs encodes is read with every header field and record exact", async () => {
  const batch = await kafkajsBatch();
  const h = readBatchHeader(batch);
  assert.equal(h.baseOffset, 9_007_199_254_740_000n);
  assert.equal(h.batchLength, batch.length - 12);
  assert.equal(h.partitionLeaderEpoch, 12);
  assert.equal(h.magic, 2);
  assert.equal(h.crc, computeBatchCrc(batch, 0, batch.length));
  assert.equal(h.attributes, 0x10);
  assert.equal(h.lastOffsetDelta, 3);
  assert.equal(h.baseTimestamp, BigInt(T0));
  assert.equal(h.maxTimestamp, BigInt(T0 + 2 ** 40));
  assert.equal(h.producerId, 88_888_888_888n);
  assert.equal(h.producerEpoch, 5);
  assert.equal(h.baseSequence, 2_000_000_000);
  assert.equal(h.recordsCount, 4);
  assert.equal(verifyBatch(batch, 0, batch.length), null);
  assert.deepEqual(drain(new RecordCursor().resetBatch(batch, 0, batch.length)), expectedFromKafkajs);
});

test("a gzip batch kafkajs encodes decompresses into a section the cursor reads exactly", async () => {
  const batch = await kafkajsBatch(1);
  const h = readBatchHeader(batch);
  assert.equal(compressionCodecOf(h.attributes), 1);
  assert.equal(verifyBatch(batch, 0, batch.length), null);
  const section = new Uint8Array(gunzipSync(batch.subarray(BATCH_HEADER_SIZE)));
  assert.equal(verifyRecords(section, 0, section.length, h.recordsCount, Number(h.baseTimestamp)), null);
  const c = new RecordCursor().reset(section, h.recordsCount, Number(h.baseTimestamp), h.baseOffset);
  assert.deepEqual(drain(c), expectedFromKafkajs);
});

interface OurRecord {
  ts: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
}

const enc = new TextEncoder();
const ourRecords: OurRecord[] = [
  { ts: T0, key: enc.encode("k"), value: enc.encode("v"), headers: [] },
  { ts: T0 - 86_400_000, key: null, value: new Uint8Array(0), headers: [{ key: "a", value: enc.encode("1") }, { key: "nil", value: null }] },
  { ts: T0 + 1, key: new Uint8Array(0), value: null, headers: [{ key: "😀✓", value: new Uint8Array([1, 2, 3]) }] },
  { ts: T0 + 5_000, key: new Uint8Array(1000).fill(1), value: new Uint8Array(70_000).fill(2), headers: [] },
];

function buildOurs(compress?: { codecId: number; compress(s: Uint8Array): Uint8Array }): Uint8Array {
  const b = new BatchBuilder(128 * 1024).reset({
    producerId: 31337n,
    producerEpoch: 2,
    baseSequence: 77,
    isTransactional: false,
    baseOffset: 1234n,
    partitionLeaderEpoch: 9,
  });
  for (const r of ourRecords) assert.ok(b.append(r.ts, r.key, r.value, r.headers));
  return b.finish(compress);
}

function expectedForKafkajs(baseOffset: bigint) {
  return ourRecords.map((r, i) => ({
    offset: (baseOffset + BigInt(i)).toString(),
    timestamp: String(r.ts),
    key: plain(r.key),
    value: plain(r.value),
    headers: r.headers.map((h) => [h.key, plain(h.value)]),
    isControlRecord: false,
  }));
}

function assertKafkajsHeader(d: Any, codecAttributes: number) {
  assert.equal(d.firstOffset, "1234");
  assert.equal(d.partitionLeaderEpoch, 9);
  assert.equal(d.lastOffsetDelta, 3);
  assert.equal(d.firstTimestamp, String(T0));
  assert.equal(d.maxTimestamp, String(T0 + 5_000));
  assert.equal(d.producerId, "31337");
  assert.equal(d.producerEpoch, 2);
  assert.equal(d.firstSequence, 77);
  assert.equal(d.inTransaction, false);
  assert.equal(d.isControlBatch, false);
  assert.equal(d.timestampType, 0);
  assert.equal(compressionCodecOf(codecAttributes), codecAttributes);
}

test("a batch BatchBuilder writes is decoded by kafkajs with identical content", async () => {
  const batch = buildOurs();
  assert.equal(verifyBatch(batch, 0, batch.length), null);
  const d = await kafkajsDecode(batch);
  assertKafkajsHeader(d, 0);
  assert.deepEqual(d.records, expectedForKafkajs(1234n));
});

test("a gzip batch BatchBuilder writes is decoded by kafkajs with identical content", async () => {
  const batch = buildOurs({ codecId: 1, compress: (s) => new Uint8Array(gzipSync(s)) });
  assert.equal(compressionCodecOf(readBatchHeader(batch).attributes), 1);
  assert.ok(batch.length < 10_000, "the repetitive payload really was compressed");
  const d = await kafkajsDecode(batch);
  assertKafkajsHeader(d, 1);
  assert.deepEqual(d.records, expectedForKafkajs(1234n));
});

test("after setLogAppendTime kafkajs reports LogAppendTime and maxTimestamp for every record", async () => {
  const batch = buildOurs();
  assert.ok(setLogAppendTime(batch, 0, batch.length, T0 + 999));
  const d = await kafkajsDecode(batch);
  assert.equal(d.timestampType, 1);
  assert.equal(d.firstTimestamp, String(T0), "baseTimestamp is untouched");
  assert.deepEqual(d.records.map((r: Any) => r.timestamp), ourRecords.map(() => String(T0 + 999)));
});

test("a control batch we build is seen by kafkajs as a transactional control batch", async () => {
  const batch = buildControlBatch({
    producerId: 5n,
    producerEpoch: 1,
    type: ControlRecordType.COMMIT,
    coordinatorEpoch: 3,
    timestampMs: T0,
    baseOffset: 40n,
  });
  const d = await kafkajsDecode(batch);
  assert.equal(d.isControlBatch, true);
  assert.equal(d.inTransaction, true);
  assert.equal(d.records.length, 1);
  assert.equal(d.records[0].isControlRecord, true);
  assert.deepEqual(d.records[0].key, [0, 0, 0, 1]);
  assert.deepEqual(d.records[0].value, [0, 0, 0, 0, 0, 3]);
  assert.equal(d.records[0].offset, "40");
});

const recordArb = fc.record({
  tsDelta: fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.bigInt({ min: -(2n ** 45n), max: 2n ** 45n }).map(Number)),
  key: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }),
  value: fc.option(fc.uint8Array({ maxLength: 200 }), { nil: null }),
  headers: fc.uniqueArray(
    fc.record({
      // kafkajs folds headers into a plain object, so names like "toString" would collide with its prototype.
      key: fc.string({ unit: "binary", maxLength: 8 }).filter((k) => !(k in Object.prototype)),
      value: fc.option(fc.uint8Array({ maxLength: 20 }), { nil: null }) }),
    { maxLength: 4, selector: (h) => h.key },
  ),
});

test("random batches BatchBuilder writes decode identically in kafkajs", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(recordArb, { minLength: 1, maxLength: 20 }), async (records) => {
      const b = new BatchBuilder(64 * 1024).reset({ baseTimestamp: T0 });
      for (const r of records) assert.ok(b.append(T0 + r.tsDelta, r.key, r.value, r.headers));
      const d = await kafkajsDecode(b.finish());
      assert.deepEqual(
        d.records.map((r: Any) => [r.offset, r.timestamp, r.key, r.value, r.headers]),
        records.map((r, i) => [String(i), String(T0 + r.tsDelta), plain(r.key), plain(r.value), r.headers.map((h) => [h.key, plain(h.value)])]),
      );
    }),
    { numRuns: 100 },
  );
});
