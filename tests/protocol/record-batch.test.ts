import { test } from "node:test";
import assert from "node:assert/strict";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import {
  ATTR_CONTROL,
  ATTR_DELETE_HORIZON,
  ATTR_TIMESTAMP_TYPE,
  ATTR_TRANSACTIONAL,
  ATTRIBUTES_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BATCH_HEADER_SIZE,
  batchCrcValid,
  dataViewOf,
  LAST_OFFSET_DELTA_OFFSET,
  MAGIC_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORDS_COUNT_OFFSET,
} from "../../src/protocol/batch-layout.ts";
import {
  type BatchHeader,
  BatchBuilder,
  batchProblemErrorCode,
  compressionCodecOf,
  isTransactionalAttributes,
  readBatchHeader,
  RecordCursor,
  type RecordHeader,
  RECORD_WITHOUT_HEADERS_MAX_OVERHEAD,
  recordSize,
  sealBatch,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
  utf8ByteLength,
  varintSize,
  varlongSize,
  verifyBatch,
  verifyBatchIntegrity,
  verifyRecords,
  writeBatchHeader,
  writeRecordAt,
  writeVarintAt,
  writeVarlongAt,
} from "../../src/protocol/record-batch.ts";
import { MalformedFrameError, Writer } from "../../src/protocol/wire.ts";

await initCrc32c();

const enc = new TextEncoder();
const bytes = (s: string) => enc.encode(s);

interface PlainRecord {
  offset: bigint;
  timestamp: number;
  key: number[] | null;
  value: number[] | null;
  headers: { key: string; value: number[] | null }[];
}

function plain(b: Uint8Array | null): number[] | null {
  return b === null ? null : Array.from(b);
}

/** Decodes every record of the uncompressed batch in `buf` through the cursor. */
function readAll(buf: Uint8Array, at = 0, size = buf.length): PlainRecord[] {
  const cursor = new RecordCursor().resetBatch(buf, at, size);
  const out: PlainRecord[] = [];
  while (cursor.next()) {
    const headers: PlainRecord["headers"] = [];
    const h = cursor.headers();
    while (h.next()) headers.push({ key: h.keyString(), value: plain(h.value()) });
    out.push({ offset: cursor.offset(), timestamp: cursor.timestamp, key: plain(cursor.key()), value: plain(cursor.value()), headers });
  }
  return out;
}

const T0 = 1_700_000_000_000;

function sampleBatch(): Uint8Array {
  const b = new BatchBuilder(16 * 1024).reset({
    producerId: 4242n,
    producerEpoch: 7,
    baseSequence: 100,
    isTransactional: true,
    baseOffset: 500n,
    partitionLeaderEpoch: 3,
  });
  assert.ok(b.append(T0, bytes("k0"), bytes("v0")));
  assert.ok(b.append(T0 + 5, null, bytes(""), [{ key: "h1", value: bytes("x") }, { key: "hé✓😀", value: null }]));
  assert.ok(b.append(T0 - 10, bytes(""), null, [{ key: "", value: new Uint8Array(0) }]));
  return b.finish();
}

test("BatchBuilder writes every header field and a valid CRC", () => {
  const batch = sampleBatch();
  const h = readBatchHeader(batch);
  assert.equal(h.baseOffset, 500n);
  assert.equal(h.batchLength, batch.length - 12);
  assert.equal(h.partitionLeaderEpoch, 3);
  assert.equal(h.magic, 2);
  assert.equal(h.attributes, ATTR_TRANSACTIONAL);
  assert.equal(h.lastOffsetDelta, 2);
  assert.equal(h.baseTimestamp, BigInt(T0));
  assert.equal(h.maxTimestamp, BigInt(T0 + 5));
  assert.equal(h.producerId, 4242n);
  assert.equal(h.producerEpoch, 7);
  assert.equal(h.baseSequence, 100);
  assert.equal(h.recordsCount, 3);
  assert.ok(batchCrcValid(batch, dataViewOf(batch), 0, batch.length));
  assert.equal(verifyBatch(batch, 0, batch.length), null);
  assert.ok(isTransactionalAttributes(h.attributes));
  assert.equal(compressionCodecOf(h.attributes), 0);
});

test("RecordCursor reads back keys, values, headers, offsets and timestamps exactly", () => {
  assert.deepEqual(readAll(sampleBatch()), [
    { offset: 500n, timestamp: T0, key: plain(bytes("k0")), value: plain(bytes("v0")), headers: [] },
    {
      offset: 501n,
      timestamp: T0 + 5,
      key: null,
      value: [],
      headers: [{ key: "h1", value: plain(bytes("x")) }, { key: "hé✓😀", value: null }],
    },
    { offset: 502n, timestamp: T0 - 10, key: [], value: null, headers: [{ key: "", value: [] }] },
  ]);
});

test("RecordCursor exposes positions and counts without copying", () => {
  const batch = sampleBatch();
  const c = new RecordCursor().resetBatch(batch, 0, batch.length);
  assert.ok(c.next());
  assert.equal(c.index, 0);
  assert.equal(c.offsetDelta, 0);
  assert.equal(c.timestampDelta, 0);
  assert.equal(c.keyLength, 2);
  assert.equal(c.valueLength, 2);
  assert.equal(c.headerCount, 0);
  assert.equal(c.bytes, batch);
  assert.equal(c.key()!.buffer, batch.buffer, "key is a view, not a copy");
  assert.equal(new TextDecoder().decode(batch.subarray(c.keyStart, c.keyStart + c.keyLength)), "k0");
  assert.ok(c.next());
  assert.equal(c.keyLength, -1);
  assert.equal(c.key(), null);
  assert.equal(c.valueLength, 0);
  assert.equal(c.headerCount, 2);
  assert.ok(c.next());
  assert.equal(c.timestampDelta, -10);
  assert.equal(c.next(), false);
  assert.equal(c.next(), false, "stays finished");
  assert.equal(c.position, batch.length);
});

test("RecordCursor.reset walks a bare records section with a numeric base offset", () => {
  const batch = sampleBatch();
  const section = batch.slice(BATCH_HEADER_SIZE);
  const c = new RecordCursor().reset(section, 3, 1000, 10);
  const seen: [bigint, number][] = [];
  while (c.next()) seen.push([c.offset(), c.timestamp]);
  assert.deepEqual(seen, [[10n, 1000], [11n, 1005], [12n, 990]]);
});

test("BatchBuilder refuses a record that does not fit, except the first one", () => {
  const b = new BatchBuilder(200);
  const value = new Uint8Array(60);
  assert.ok(b.append(T0, null, value));
  assert.ok(b.append(T0, null, value));
  const before = b.sizeInBytes;
  assert.equal(b.append(T0, null, value), false, "third record exceeds 200 bytes");
  assert.equal(b.sizeInBytes, before, "a refused append changes nothing");
  assert.equal(b.recordCount, 2);
  assert.ok(b.sizeInBytes <= b.capacity);
  const batch = b.finish();
  assert.equal(batch.length, before);
  assert.equal(readAll(batch).length, 2);

  b.reset();
  const big = new Uint8Array(5000).fill(9);
  assert.ok(b.append(T0, bytes("big"), big), "an oversized first record still fits");
  assert.equal(b.append(T0, null, null), false, "nothing fits after an oversized record");
  const oversized = b.finish();
  assert.equal(verifyBatch(oversized, 0, oversized.length), null);
  assert.deepEqual(readAll(oversized)[0].value, Array.from(big));

  b.reset();
  assert.equal(b.sizeInBytes, BATCH_HEADER_SIZE);
  assert.ok(b.append(T0, null, value), "back on the standard buffer");
  assert.equal(b.append(T0, null, new Uint8Array(150)), false);
});

test("BatchBuilder enforces its lifecycle", () => {
  const b = new BatchBuilder(1024);
  assert.throws(() => b.finish(), /empty batch/);
  b.append(T0, null, null);
  const first = b.finish();
  assert.throws(() => b.append(T0, null, null), /reset/);
  assert.throws(() => b.finish(), /reset/);
  b.reset();
  b.append(T0 + 1, null, bytes("x"));
  const second = b.finish();
  assert.notEqual(first.buffer, second.buffer, "finish returns owned bytes");
  assert.equal(readAll(first)[0].value, null, "an earlier batch is not overwritten");
  assert.throws(() => new BatchBuilder(10), RangeError);
  assert.throws(() => b.reset().append(Number.MAX_SAFE_INTEGER + 2, null, null), RangeError);
});

test("BatchBuilder uses an explicit baseTimestamp, allowing negative deltas", () => {
  const b = new BatchBuilder(1024).reset({ baseTimestamp: T0 });
  b.append(T0 - 1_000_000, null, null);
  b.append(T0 + 3, null, null);
  const batch = b.finish();
  const h = readBatchHeader(batch);
  assert.equal(h.baseTimestamp, BigInt(T0));
  assert.equal(h.maxTimestamp, BigInt(T0 + 3));
  assert.deepEqual(readAll(batch).map((r) => r.timestamp), [T0 - 1_000_000, T0 + 3]);
  assert.equal(h.producerId, -1n);
  assert.equal(h.producerEpoch, -1);
  assert.equal(h.baseSequence, -1);
  assert.equal(h.partitionLeaderEpoch, -1);
});

test("BatchBuilder.finish compresses the whole records section and sets the codec bits", () => {
  const b = new BatchBuilder(4096).reset({ producerId: 1n, producerEpoch: 0, baseSequence: 0 });
  for (let i = 0; i < 5; i++) b.append(T0 + i, bytes(`k${i}`), bytes(`value-${i}`));
  const plainSection = b.sizeInBytes;
  let seen: Uint8Array | null = null;
  // A stand-in codec: reverses the bytes (enough to prove the section is passed whole and replaced).
  const batch = b.finish({
    codecId: 3,
    compress(section) {
      seen = section.slice();
      return section.slice().reverse();
    },
  });
  assert.equal(seen!.length, plainSection - BATCH_HEADER_SIZE);
  const h = readBatchHeader(batch);
  assert.equal(compressionCodecOf(h.attributes), 3);
  assert.equal(h.recordsCount, 5);
  assert.equal(h.lastOffsetDelta, 4);
  assert.equal(h.maxTimestamp, BigInt(T0 + 4));
  assert.equal(verifyBatch(batch, 0, batch.length), null, "compressed sections are left to the caller");
  const section = batch.slice(BATCH_HEADER_SIZE).reverse();
  assert.equal(verifyRecords(section, 0, section.length, 5), null);
  const c = new RecordCursor().reset(section, 5, Number(h.baseTimestamp), h.baseOffset);
  let n = 0;
  while (c.next()) assert.equal(new TextDecoder().decode(c.value()!), `value-${n++}`);
  assert.equal(n, 5);
  assert.throws(() => new RecordCursor().resetBatch(batch, 0, batch.length), RangeError);
  b.reset().append(T0, null, null);
  assert.throws(() => b.finish({ codecId: 0, compress: (s) => s }), RangeError);
});

test("writeBatchHeader and readBatchHeader round-trip extreme values", () => {
  const h: BatchHeader = {
    baseOffset: 0x7fffffffffffffffn,
    batchLength: 0x7fffffff,
    partitionLeaderEpoch: -2147483648,
    magic: 2,
    crc: 0xffffffff,
    attributes: -1,
    lastOffsetDelta: 2147483647,
    baseTimestamp: -0x8000000000000000n,
    maxTimestamp: -1n,
    producerId: 0x123456789abcdefn,
    producerEpoch: -32768,
    baseSequence: -1,
    recordsCount: 0,
  };
  const buf = new Uint8Array(BATCH_HEADER_SIZE + 8);
  writeBatchHeader(buf, 8, h);
  assert.deepEqual(readBatchHeader(buf, 8), h);
  assert.throws(() => readBatchHeader(buf, 9), MalformedFrameError);
  assert.throws(() => readBatchHeader(new Uint8Array(60)), MalformedFrameError);
});

test("setBaseOffset and setPartitionLeaderEpoch edit in place and keep the CRC valid", () => {
  const batch = sampleBatch();
  const crcBefore = readBatchHeader(batch).crc;
  const dv = dataViewOf(batch);
  setBaseOffset(dv, 0, 123456789012n);
  setPartitionLeaderEpoch(dv, 0, 42);
  const h = readBatchHeader(batch);
  assert.equal(h.baseOffset, 123456789012n);
  assert.equal(h.partitionLeaderEpoch, 42);
  assert.equal(h.crc, crcBefore);
  assert.equal(verifyBatch(batch, 0, batch.length), null);
  assert.equal(readAll(batch)[2].offset, 123456789014n);
});

test("setLogAppendTime sets the type bit and maxTimestamp, keeps baseTimestamp, and re-CRCs", () => {
  const batch = sampleBatch();
  const before = readBatchHeader(batch);
  const appendTime = T0 + 99_999;
  assert.equal(setLogAppendTime(batch, 0, batch.length, appendTime), true);
  const h = readBatchHeader(batch);
  assert.equal(h.attributes, before.attributes | ATTR_TIMESTAMP_TYPE, "other attribute bits are kept");
  assert.equal(h.maxTimestamp, BigInt(appendTime));
  assert.equal(h.baseTimestamp, before.baseTimestamp);
  assert.notEqual(h.crc, before.crc);
  assert.equal(verifyBatch(batch, 0, batch.length), null);
  assert.deepEqual(readAll(batch).map((r) => r.timestamp), [appendTime, appendTime, appendTime]);
  assert.equal(setLogAppendTime(batch, 0, batch.length, appendTime), false, "unchanged: no rewrite");
  assert.equal(setLogAppendTime(batch, 0, batch.length, -5), true, "negative timestamps are written exactly");
  assert.equal(readBatchHeader(batch).maxTimestamp, -5n);
  assert.equal(verifyBatchIntegrity(batch, 0, batch.length), null);
});

test("setLogAppendTime works on a batch inside a larger buffer", () => {
  const batch = sampleBatch();
  const buf = new Uint8Array(batch.length + 20);
  buf.set(batch, 10);
  setLogAppendTime(buf, 10, batch.length, T0);
  assert.equal(verifyBatch(buf, 10, batch.length), null);
  assert.equal(readBatchHeader(buf, 10).maxTimestamp, BigInt(T0));
  assert.equal(buf[9], 0);
  assert.equal(buf[10 + batch.length], 0);
});

/** Applies `edit` to a copy of the sample batch, optionally re-sealing the CRC, and verifies it. */
function verifyEdited(edit: (b: Uint8Array, dv: DataView) => Uint8Array | void, reseal = true) {
  let b = sampleBatch();
  b = edit(b, dataViewOf(b)) ?? b;
  if (reseal) sealBatch(b, 0, b.length);
  return verifyBatch(b, 0, b.length);
}

test("verifyBatch names each header problem with the Kafka error code it maps to", () => {
  const cases: [string, ReturnType<typeof verifyBatch>, number][] = [
    ["too small", verifyBatch(sampleBatch().subarray(0, 60), 0, 60), 2],
    ["length", verifyEdited((b, dv) => dv.setInt32(8, b.length), false), 2],
    ["legacy magic", verifyEdited((b) => void (b[MAGIC_OFFSET] = 1), false), 87],
    ["magic", verifyEdited((b) => void (b[MAGIC_OFFSET] = 3), false), 2],
    ["crc", verifyEdited((b) => void (b[b.length - 1] ^= 1), false), 2],
    ["lastOffsetDelta", verifyEdited((_, dv) => dv.setInt32(LAST_OFFSET_DELTA_OFFSET, -1)), 87],
    ["count", verifyEdited((_, dv) => dv.setInt32(RECORDS_COUNT_OFFSET, 0)), 87],
    ["count vs delta", verifyEdited((_, dv) => dv.setInt32(LAST_OFFSET_DELTA_OFFSET, 5)), 87],
    ["control", verifyEdited((_, dv) => dv.setInt16(ATTRIBUTES_OFFSET, ATTR_CONTROL)), 87],
    ["sequence", verifyEdited((_, dv) => dv.setInt32(BASE_SEQUENCE_OFFSET, -1)), 87],
  ];
  assert.deepEqual(cases.map(([name, p]) => [name, p]), [
    ["too small", "batch_too_small"],
    ["length", "batch_length_mismatch"],
    ["legacy magic", "legacy_magic"],
    ["magic", "invalid_magic"],
    ["crc", "crc_mismatch"],
    ["lastOffsetDelta", "invalid_offset_range"],
    ["count", "invalid_record_count"],
    ["count vs delta", "offset_count_mismatch"],
    ["control", "control_batch_from_client"],
    ["sequence", "invalid_sequence"],
  ]);
  for (const [name, p, code] of cases) assert.equal(batchProblemErrorCode(p!), code, name);
});

test("verifyBatch accepts a negative sequence without a producer id, and a delete-horizon bit", () => {
  assert.equal(
    verifyEdited((_, dv) => {
      dv.setBigInt64(PRODUCER_ID_OFFSET, -1n);
      dv.setInt32(BASE_SEQUENCE_OFFSET, -1);
    }),
    null,
  );
  assert.equal(verifyEdited((_, dv) => dv.setInt16(ATTRIBUTES_OFFSET, ATTR_DELETE_HORIZON)), null);
});

/** Builds an uncompressed batch whose records section is `section` with the given header count fields. */
function batchWithSection(section: Uint8Array, count: number, lastOffsetDelta = count - 1): Uint8Array {
  const b = new Uint8Array(BATCH_HEADER_SIZE + section.length);
  b.set(section, BATCH_HEADER_SIZE);
  writeBatchHeader(b, 0, {
    baseOffset: 0n,
    batchLength: 0,
    partitionLeaderEpoch: -1,
    magic: 2,
    crc: 0,
    attributes: 0,
    lastOffsetDelta,
    baseTimestamp: BigInt(T0),
    maxTimestamp: BigInt(T0),
    producerId: -1n,
    producerEpoch: -1,
    baseSequence: -1,
    recordsCount: count,
  });
  sealBatch(b, 0, b.length);
  return b;
}

/** Encodes records with explicit offsetDeltas into a bare section. */
function section(...records: { offsetDelta: number; tsDelta?: number; value?: Uint8Array | null; headers?: RecordHeader[] }[]) {
  let size = 0;
  for (const r of records) size += recordSize(r.offsetDelta, r.tsDelta ?? 0, null, r.value ?? null, r.headers);
  const out = new Uint8Array(size);
  let pos = 0;
  for (const r of records) pos = writeRecordAt(out, pos, r.offsetDelta, r.tsDelta ?? 0, null, r.value ?? null, r.headers);
  assert.equal(pos, size);
  return out;
}

test("verifyBatch checks the records of an uncompressed batch", () => {
  const v = bytes("some value");
  const good = section({ offsetDelta: 0, value: v }, { offsetDelta: 1, value: v }, { offsetDelta: 2, value: v });
  const check = (b: Uint8Array) => verifyBatch(b, 0, b.length);
  assert.equal(check(batchWithSection(good, 3)), null);
  assert.equal(check(batchWithSection(section({ offsetDelta: 0 }, { offsetDelta: 2 }), 2)), "offset_delta_mismatch");
  assert.equal(check(batchWithSection(section({ offsetDelta: 1 }, { offsetDelta: 0 }), 2)), "offset_delta_mismatch");
  assert.equal(check(batchWithSection(good, 2)), "malformed_records", "bytes left after recordsCount records");
  assert.equal(check(batchWithSection(good.subarray(0, good.length - 1), 3)), "malformed_records", "truncated");
  assert.equal(check(batchWithSection(good, 1000)), "records_count_mismatch");
  const bad = good.slice();
  bad[0] = 0x7f; // record length varint now claims -64
  assert.equal(check(batchWithSection(bad, 3)), "malformed_records");
  const farTs = section({ offsetDelta: 0, tsDelta: Number.MAX_SAFE_INTEGER - 5 });
  assert.equal(check(batchWithSection(farTs, 1)), "timestamp_out_of_range");
  assert.equal(batchProblemErrorCode("malformed_records"), 87);
  assert.equal(batchProblemErrorCode("offset_delta_mismatch"), 87);
});

test("verifyBatch throws a RangeError for a range outside the buffer (a caller bug)", () => {
  const b = sampleBatch();
  assert.throws(() => verifyBatch(b, 1, b.length), RangeError);
  assert.throws(() => verifyBatch(b, -1, 10), RangeError);
});

test("varint and varlong encodings match wire.ts Writer byte for byte", () => {
  const longs = [0, 1, -1, 63, -64, 64, -65, 127, 128, 8191, -8192, 2 ** 31, -(2 ** 31) - 1, T0, -T0, 2 ** 52,
    -(2 ** 52), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 53 - 2, 2 ** 49, 2 ** 49 - 1, 2 ** 31 - 1, -(2 ** 31),
    2 ** 30, -(2 ** 30), 2 ** 30 - 1, -(2 ** 30) - 1, 2 ** 31 + 1, 2 ** 32, -(2 ** 32), 0x7fffffff * 3, -0];
  const w = new Writer(64);
  const buf = new Uint8Array(16);
  for (const v of longs) {
    w.reset();
    w.varlong(BigInt(v));
    const expected = Array.from(w.finishContiguous());
    const end = writeVarlongAt(buf, 0, v);
    assert.deepEqual(Array.from(buf.subarray(0, end)), expected, `varlong ${v}`);
    assert.equal(varlongSize(v), expected.length, `varlong size ${v}`);
  }
  const ints = [0, 1, -1, 63, -64, 64, 8191, 8192, -8193, 2 ** 20, 2 ** 27, 2 ** 31 - 1, -(2 ** 31)];
  for (const v of ints) {
    w.reset();
    w.varint(v);
    const expected = Array.from(w.finishContiguous());
    const end = writeVarintAt(buf, 0, v);
    assert.deepEqual(Array.from(buf.subarray(0, end)), expected, `varint ${v}`);
    assert.equal(varintSize(v), expected.length, `varint size ${v}`);
  }
  assert.throws(() => varlongSize(2 ** 53), RangeError);
});

test("utf8ByteLength agrees with TextEncoder, lone surrogates included", () => {
  for (const s of ["", "abc", "é", "✓", "😀", "a\ud800", "\ud800é", "\udc00x", "x\ud83d\ude00y", "\ud800\ud800"]) {
    assert.equal(utf8ByteLength(s), enc.encode(s).length, JSON.stringify(s));
  }
});

test("header keys with lone surrogates are written as U+FFFD, like TextEncoder", () => {
  const b = new BatchBuilder(512);
  b.append(T0, null, null, [{ key: "a\ud800é", value: null }]);
  const batch = b.finish();
  assert.deepEqual(readAll(batch)[0].headers, [{ key: "a\ufffdé", value: null }]);
});

// ----- malformed input: every failure is a MalformedFrameError -----------------------------------------

function cursorError(sectionBytes: Uint8Array, count: number): unknown {
  try {
    const c = new RecordCursor().reset(sectionBytes, count, T0, 0n);
    while (c.next()) {
      const h = c.headers();
      while (h.next()) h.value();
    }
    return null;
  } catch (e) {
    return e;
  }
}

test("RecordCursor throws MalformedFrameError on every truncation of a records section", () => {
  const full = sampleBatch().subarray(BATCH_HEADER_SIZE);
  assert.equal(cursorError(full, 3), null);
  for (let n = 0; n < full.length; n++) {
    const e = cursorError(full.slice(0, n), 3);
    assert.ok(e instanceof MalformedFrameError, `truncated to ${n} bytes: ${e}`);
  }
});

test("RecordCursor rejects bad varints and inconsistent lengths with MalformedFrameError", () => {
  const cases: [string, number[]][] = [
    ["six-byte varint length", [0x80, 0x80, 0x80, 0x80, 0x80, 0x00]],
    ["varint over 32 bits", [0xff, 0xff, 0xff, 0xff, 0x1f, 0, 0, 0, 0, 0, 0, 0]],
    ["negative record length", [0x01, 0, 0, 0, 1, 1, 0, 0]],
    ["record length shorter than its fields", [0x0a, 0, 0, 0, 1, 1, 0]],
    ["record length longer than section", [0x40, 0, 0, 0, 1, 1, 0]],
    ["key length -2", [0x0c, 0, 0, 0, 0x03, 1, 0]],
    ["key longer than record", [0x0c, 0, 0, 0, 0x10, 1, 0]],
    ["value length -3", [0x0c, 0, 0, 0, 1, 0x05, 0]],
    ["negative header count", [0x0c, 0, 0, 0, 1, 1, 0x01]],
    ["header count beyond record", [0x0c, 0, 0, 0, 1, 1, 0x08]],
    ["header key length -1", [0x10, 0, 0, 0, 1, 1, 0x02, 0x01, 0x01]],
    ["header value length -2", [0x10, 0, 0, 0, 1, 1, 0x02, 0x00, 0x03]],
    ["header value longer than record", [0x10, 0, 0, 0, 1, 1, 0x02, 0x00, 0x08]],
    ["record length larger than fields used", [0x0e, 0, 0, 0, 1, 1, 0, 0]],
    ["varlong longer than 10 bytes", [0x20, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0, 1, 1, 0]],
    ["varlong beyond 2^53", [0x1a, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 0, 1, 1, 0]],
    ["varlong over 64 bits", [0x1e, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02, 0, 1, 1, 0]],
    ["offset delta varint runs past the record end", [0x0c, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x00, 1, 1, 0]],
  ];
  for (const [name, b] of cases) {
    const e = cursorError(Uint8Array.from(b), 1);
    assert.ok(e instanceof MalformedFrameError, `${name}: ${e}`);
  }
  assert.ok(cursorError(new Uint8Array(14), 2) instanceof MalformedFrameError, "zero-length records");
  assert.equal(cursorError(Uint8Array.from([0x0c, 0, 0, 0, 1, 1, 0]), 1), null, "the minimal record is valid");
});

test("RecordCursor rejects impossible counts and out-of-range timestamps", () => {
  assert.throws(() => new RecordCursor().reset(new Uint8Array(20), 3, T0), MalformedFrameError);
  assert.throws(() => new RecordCursor().reset(new Uint8Array(20), -1, T0), MalformedFrameError);
  assert.throws(() => new RecordCursor().reset(new Uint8Array(20), 1, 2 ** 60), MalformedFrameError);
  const wrongMagic = sampleBatch();
  wrongMagic[MAGIC_OFFSET] = 1;
  assert.throws(() => new RecordCursor().resetBatch(wrongMagic, 0, wrongMagic.length), MalformedFrameError);
  assert.throws(() => new RecordCursor().resetBatch(wrongMagic, 0, 60), MalformedFrameError);
  const s = section({ offsetDelta: 0, tsDelta: Number.MAX_SAFE_INTEGER });
  assert.throws(() => new RecordCursor().reset(s, 1, 10).next(), MalformedFrameError);
  assert.equal(cursorError(s, 1) instanceof MalformedFrameError, true);
  const ok = new RecordCursor().reset(s, 1, 0);
  assert.ok(ok.next());
  assert.equal(ok.timestamp, Number.MAX_SAFE_INTEGER);
});

test("varlongs at the 2^53 boundary decode exactly", () => {
  for (const v of [Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 53 - 2, -(2 ** 52) - 1, 2 ** 28, -(2 ** 28) - 1]) {
    const s = section({ offsetDelta: 0, tsDelta: v });
    const c = new RecordCursor().reset(s, 1, 0);
    assert.ok(c.next());
    assert.equal(c.timestampDelta, v);
  }
  // A delta of -2^53 is exactly representable and encodes in 8 bytes: zigzag = 2^54 - 1.
  const s = Uint8Array.from([0x1a, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0, 1, 1, 0]);
  const c = new RecordCursor().reset(s, 1, 1);
  assert.ok(c.next());
  assert.equal(c.timestampDelta, -(2 ** 53));
  assert.equal(c.timestamp, Number.MIN_SAFE_INTEGER);
  assert.throws(() => new RecordCursor().reset(s, 1, 0).next(), MalformedFrameError, "timestamp below -(2^53 - 1)");
});

test("non-minimal varints and varlongs padded with zero continuation bytes are accepted", () => {
  // offsetDelta 0 as a 5-byte varint, timestampDelta 1 (zigzag 2) as a 10-byte varlong
  const s = Uint8Array.from([0x26, 0, 0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x80, 0x80, 0x80, 0x80, 0x00, 1, 1, 0]);
  const c = new RecordCursor().reset(s, 1, 100);
  assert.ok(c.next());
  assert.equal(c.timestamp, 101);
  assert.equal(c.offsetDelta, 0);
  assert.equal(c.next(), false);
});

test("a record without headers takes at most RECORD_WITHOUT_HEADERS_MAX_OVERHEAD bytes beyond its key and value", () => {
  const deltas = [0, 1, 63, 64, 8191, 8192, 2 ** 20, 2 ** 31 - 1];
  const timestampDeltas = [0, -1, 2 ** 31, -(2 ** 40), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
  const lengths = [null, 0, 1, 63, 64, 8191, 8192, 1_048_575, 1_048_576];
  let widest = 0;
  for (const offsetDelta of deltas) {
    for (const timestampDelta of timestampDeltas) {
      for (const keyLen of lengths) {
        for (const valueLen of lengths) {
          const key = keyLen === null ? null : new Uint8Array(keyLen);
          const value = valueLen === null ? null : new Uint8Array(valueLen);
          const overhead = recordSize(offsetDelta, timestampDelta, key, value) - (keyLen ?? 0) - (valueLen ?? 0);
          assert.ok(overhead <= RECORD_WITHOUT_HEADERS_MAX_OVERHEAD, `overhead ${overhead} at offset delta ${offsetDelta}, timestamp delta ${timestampDelta}, key ${keyLen}, value ${valueLen}`);
          widest = Math.max(widest, overhead);
        }
      }
    }
  }
  assert.ok(widest > RECORD_WITHOUT_HEADERS_MAX_OVERHEAD - 8, `the bound is near the widest record (${widest})`);
});
