/** Property tests: random records round-trip through BatchBuilder and RecordCursor; random damage never escapes as anything but MalformedFrameError. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { BATCH_HEADER_SIZE } from "../../src/protocol/batch-layout.ts";
import {
  BatchBuilder,
  readBatchHeader,
  RecordCursor,
  type RecordHeader,
  recordSize,
  verifyBatch,
  verifyRecords,
  writeRecordAt,
} from "../../src/protocol/record-batch.ts";
import { MalformedFrameError, Writer } from "../../src/protocol/wire.ts";

await initCrc32c();

const plain = (b: Uint8Array | null): number[] | null => (b === null ? null : Array.from(b));

const SAFE = 2n ** 53n - 1n;
/** Timestamps anywhere in [-2^51, 2^51] so any difference between two of them is a safe integer. */
const timestampArb = fc.oneof(
  fc.integer({ min: 1_600_000_000_000, max: 1_800_000_000_000 }),
  fc.bigInt({ min: -(2n ** 51n), max: 2n ** 51n }).map(Number),
  fc.constantFrom(0, -1, 2 ** 51, -(2 ** 51)),
);

const bytesArb = fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null, freq: 4 });

const headerArb: fc.Arbitrary<RecordHeader> = fc.record({
  key: fc.string({ unit: "binary", maxLength: 12 }),
  value: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }),
});

const recordArb = fc.record({
  timestamp: timestampArb,
  key: bytesArb,
  value: bytesArb,
  headers: fc.array(headerArb, { maxLength: 5 }),
});

const optionsArb = fc.record({
  producerId: fc.oneof(fc.constant(-1n), fc.bigInt({ min: 0n, max: 2n ** 63n - 1n })),
  producerEpoch: fc.integer({ min: -1, max: 32767 }),
  baseSequence: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  isTransactional: fc.boolean(),
  baseTimestamp: fc.option(timestampArb, { nil: undefined }),
  baseOffset: fc.bigInt({ min: 0n, max: 2n ** 62n }),
  partitionLeaderEpoch: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
});

test("random records round-trip through BatchBuilder, verifyBatch and RecordCursor", () => {
  fc.assert(
    fc.property(optionsArb, fc.array(recordArb, { minLength: 1, maxLength: 30 }), (opts, records) => {
      const b = new BatchBuilder(1024 * 1024).reset(opts);
      for (const r of records) assert.ok(b.append(r.timestamp, r.key, r.value, r.headers));
      assert.equal(b.recordCount, records.length);
      const batch = b.finish();
      assert.equal(batch.length, b.sizeInBytes);
      assert.equal(verifyBatch(batch, 0, batch.length), null);

      const h = readBatchHeader(batch);
      const base = opts.baseTimestamp ?? records[0].timestamp;
      assert.equal(h.baseTimestamp, BigInt(base));
      assert.equal(h.maxTimestamp, BigInt(Math.max(...records.map((r) => r.timestamp))));
      assert.equal(h.recordsCount, records.length);
      assert.equal(h.lastOffsetDelta, records.length - 1);
      assert.equal(h.producerId, opts.producerId);
      assert.equal(h.producerEpoch, opts.producerEpoch);
      assert.equal(h.baseSequence, opts.baseSequence);
      assert.equal(h.baseOffset, opts.baseOffset);
      assert.equal(h.partitionLeaderEpoch, opts.partitionLeaderEpoch);
      assert.equal(h.attributes, opts.isTransactional ? 0x10 : 0);

      const c = new RecordCursor().resetBatch(batch, 0, batch.length);
      let i = 0;
      while (c.next()) {
        const r = records[i];
        assert.equal(c.offset(), opts.baseOffset + BigInt(i));
        assert.equal(c.timestamp, r.timestamp);
        assert.equal(c.timestampDelta, r.timestamp - base);
        assert.deepEqual(plain(c.key()), plain(r.key));
        assert.deepEqual(plain(c.value()), plain(r.value));
        const headers: [string, number[] | null][] = [];
        const hc = c.headers();
        while (hc.next()) headers.push([hc.keyString(), plain(hc.value())]);
        assert.deepEqual(headers, r.headers.map((x) => [x.key, plain(x.value)]));
        i++;
      }
      assert.equal(i, records.length);
    }),
    { numRuns: 200 },
  );
});

test("BatchBuilder never exceeds its capacity except for a single oversized record", () => {
  fc.assert(
    fc.property(fc.integer({ min: 68, max: 2000 }), fc.array(recordArb, { minLength: 1, maxLength: 40 }), (capacity, records) => {
      const b = new BatchBuilder(capacity);
      let accepted = 0;
      for (const r of records) {
        const before = b.sizeInBytes;
        if (!b.append(r.timestamp - records[0].timestamp, r.key, r.value, r.headers)) {
          assert.ok(accepted > 0);
          assert.equal(b.sizeInBytes, before);
          break;
        }
        accepted++;
      }
      assert.ok(accepted === 1 || b.sizeInBytes <= capacity, `${b.sizeInBytes} > ${capacity} with ${accepted} records`);
      const batch = b.finish();
      assert.equal(verifyBatch(batch, 0, batch.length), null);
      assert.equal(readBatchHeader(batch).recordsCount, accepted);
    }),
    { numRuns: 200 },
  );
});

test("timestamp deltas over the whole safe-integer range encode like wire.ts and decode exactly", () => {
  const w = new Writer(64);
  fc.assert(
    fc.property(fc.bigInt({ min: -SAFE, max: SAFE }).map(Number), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (delta, offsetDelta) => {
      const size = recordSize(offsetDelta, delta, null, null);
      const section = new Uint8Array(size);
      assert.equal(writeRecordAt(section, 0, offsetDelta, delta, null, null), size);
      w.reset();
      w.varlong(BigInt(delta));
      const varlong = w.finishContiguous();
      // length varint (1 byte: records here are < 64 bytes), attributes, then the varlong.
      assert.deepEqual(Array.from(section.subarray(2, 2 + varlong.length)), Array.from(varlong));
      const base = delta < 0 ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER;
      const c = new RecordCursor().reset(section, 1, base, 0);
      assert.ok(c.next());
      assert.equal(c.timestampDelta, delta);
      assert.equal(c.offsetDelta, offsetDelta);
      assert.equal(c.timestamp, base + delta);
    }),
    { numRuns: 1000 },
  );
});

/** Walks a section completely; returns the error thrown, or null. */
function walk(section: Uint8Array, count: number): unknown {
  try {
    const c = new RecordCursor().reset(section, count, 1_700_000_000_000, 0n);
    while (c.next()) {
      c.key();
      c.value();
      const h = c.headers();
      while (h.next()) {
        h.keyString();
        h.value();
      }
    }
    return null;
  } catch (e) {
    return e;
  }
}

test("damaged records sections only ever throw MalformedFrameError, and verifyRecords never throws", () => {
  const damageArb = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 });
  fc.assert(
    fc.property(fc.array(recordArb, { minLength: 1, maxLength: 6 }), damageArb, fc.nat(), (records, damage, cut) => {
      const b = new BatchBuilder(64 * 1024);
      for (const r of records) b.append(r.timestamp - records[0].timestamp, r.key, r.value, r.headers);
      const section = b.finish().slice(BATCH_HEADER_SIZE);
      for (const [at, byte] of damage) section[at % section.length] = byte;
      const damaged = section.subarray(0, section.length - (cut % section.length));
      for (const count of [records.length, records.length - 1, records.length + 1]) {
        const e = walk(damaged, count);
        assert.ok(e === null || e instanceof MalformedFrameError, String(e));
        const problem = verifyRecords(damaged, 0, damaged.length, count);
        assert.ok(problem === null || typeof problem === "string");
        if (e !== null) assert.notEqual(problem, null, "verifyRecords rejects what the cursor rejects");
      }
    }),
    { numRuns: 500 },
  );
});

test("arbitrary bytes as a records section only ever throw MalformedFrameError", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 30 }), (bytes, count) => {
      const e = walk(bytes, count);
      assert.ok(e === null || e instanceof MalformedFrameError, String(e));
    }),
    { numRuns: 1000 },
  );
});
