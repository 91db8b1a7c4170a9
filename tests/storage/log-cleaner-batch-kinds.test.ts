import assert from "node:assert/strict";
import { test } from "node:test";
import { openTestLog, type TestLog } from "./log-fixture.ts";
import { appendSealed, controlBatch, initCleanerTestCodecs, keyedBatch, latestByKey, readLog, testCompress, testDecompress } from "./log-cleaner-records.ts";


/** Bytes of the batch with base offset `base` as the log serves it. */
function batchBytes(t: TestLog, base: bigint): number[] {
  const r = t.log.read(base, 1, true);
  const c = r.chunks[0];
  const size = new DataView(c.buffer, c.byteOffset, c.byteLength).getInt32(8) + 12;
  return [...c.subarray(0, size)];
}

for (const [name, codec] of [["gzip", 1], ["snappy", 2], ["lz4", 3], ["zstd", 4]] as const) {
  test(`a ${name} batch is decompressed, filtered and recompressed with ${name}`, async () => {
    await initCleanerTestCodecs();
    const t = await openTestLog({ cleanupPolicy: ["compact"] }, { decompress: testDecompress });
    t.deps.compress = testCompress;
    try {
      const recs = Array.from({ length: 20 }, (_, i) => ({ k: `k${i % 5}`, v: `value-${i}-${"z".repeat(50)}` }));
      appendSealed(t, keyedBatch(recs, { codec }), keyedBatch([{ k: "k0", v: "newest" }], { codec }));
      const before = readLog(t.log);
      const res = await t.log.compact();
      assert.ok(res !== null);
      const after = readLog(t.log);
      assert.deepEqual(latestByKey(after.records), latestByKey(before.records));
      const first = after.batches[0];
      assert.equal(first.codec, codec, "recompressed with the same codec");
      assert.equal(first.baseOffset, 0n);
      assert.equal(first.lastOffset, 19n, "first and last offsets of the batch are kept");
      assert.equal(first.count, 4, "k1..k4 survive; k0 was superseded");
      assert.deepEqual(
        after.records.filter((r) => r.offset < 20n).map((r) => Number(r.offset)),
        [16, 17, 18, 19],
      );
      const original = new Map(before.records.map((r) => [r.offset, r]));
      for (const r of after.records) assert.deepEqual(r, original.get(r.offset));
    } finally {
      await t.cleanup();
    }
  });
}

test("without a compressor a rebuilt compressed batch is stored uncompressed; without a decompressor it is kept as is", async () => {
  await initCleanerTestCodecs();
  const recs = [{ k: "a", v: "1" }, { k: "a", v: "2" }, { k: "b", v: "1" }];
  const t = await openTestLog({ cleanupPolicy: ["compact"] }, { decompress: testDecompress });
  try {
    appendSealed(t, keyedBatch(recs, { codec: 1 }));
    await t.log.compact();
    const b = readLog(t.log).batches[0];
    assert.equal(b.codec, 0);
    assert.equal(b.count, 2);
  } finally {
    await t.cleanup();
  }
  const u = await openTestLog({ cleanupPolicy: ["compact"] });
  try {
    appendSealed(u, keyedBatch(recs, { codec: 1 }));
    const before = batchBytes(u, 0n);
    await u.log.compact();
    assert.deepEqual(batchBytes(u, 0n), before);
  } finally {
    await u.cleanup();
  }
});

test("control batches and transactional batches are kept byte for byte and do not shadow other records", async () => {
  const t = await openTestLog({ cleanupPolicy: ["compact"] });
  try {
    const pid = 7n;
    appendSealed(
      t,
      keyedBatch([{ k: "a", v: "plain-1" }]), // 0
      keyedBatch([{ k: "a", v: "txn-1" }, { k: "a", v: "txn-2" }], { attributes: 0x10, producer: { id: pid, epoch: 0, seq: 0 } }), // 1-2
      controlBatch(1, pid), // 3: COMMIT
      keyedBatch([{ k: "b", v: "plain-1" }]), // 4
      keyedBatch([{ k: "b", v: "plain-2" }]), // 5
    );
    const txn = batchBytes(t, 1n);
    const marker = batchBytes(t, 3n);
    await t.log.compact();
    assert.deepEqual(batchBytes(t, 1n), txn, "transactional batch untouched");
    assert.deepEqual(batchBytes(t, 3n), marker, "control batch untouched");
    const recs = readLog(t.log).records.filter((r) => r.key !== "filler");
    assert.deepEqual(
      recs.map((r) => [r.offset, r.key, r.value]),
      [
        [0n, "a", "plain-1"],
        [1n, "a", "txn-1"],
        [2n, "a", "txn-2"],
        [3n, "\u0000\u0000\u0000\u0001", "\u0000\u0000\u0000\u0000\u0000\u0000"],
        [5n, "b", "plain-2"],
      ],
    );
  } finally {
    await t.cleanup();
  }
});

test("an emptied batch stays as an empty batch when it is its producer's last, keeping offsets and sequence", async () => {
  const t = await openTestLog({ cleanupPolicy: ["compact"] });
  try {
    const producer = (seq: number) => ({ producer: { id: 42n, epoch: 3, seq } });
    appendSealed(
      t,
      keyedBatch([{ k: "a", v: "1" }, { k: "b", v: "1" }], producer(0)), // 0-1
      keyedBatch([{ k: "a", v: "2" }, { k: "b", v: "2" }], producer(2)), // 2-3
      keyedBatch([{ k: "a", v: "3" }, { k: "b", v: "3" }]), // 4-5, no producer
    );
    const res = await t.log.compact();
    assert.ok(res !== null);
    const batches = readLog(t.log).batches;
    assert.ok(!batches.some((b) => b.baseOffset === 0n && b.producerId === 42n), "the producer's earlier batch is gone");
    const empty = batches.find((b) => b.baseOffset === 2n);
    assert.ok(empty, `batches: ${JSON.stringify(batches.map((b) => [String(b.baseOffset), b.count]))}`);
    assert.equal(empty.count, 0);
    assert.equal(empty.lastOffset, 3n);
    assert.equal(empty.producerId, 42n);
    assert.equal(empty.baseSequence, 2);
    // Kafka's DefaultRecordBatch.writeEmptyHeader: no base timestamp, the old batch's max timestamp
    assert.equal(empty.baseTimestamp, -1n);
    assert.equal(empty.maxTimestamp, 1_700_000_000_001n);
    // Reads and restarts cope with the empty batch.
    const log = await t.reopen({ crash: true });
    assert.equal(readLog(log).batches.find((b) => b.baseOffset === 2n)!.count, 0);
  } finally {
    await t.cleanup();
  }
});

test("an emptied batch of a producer not seen in the dirty section is kept only while its producer state could matter", async () => {
  const DAY = 86_400_000;
  const t = await openTestLog({ cleanupPolicy: ["compact"] });
  try {
    appendSealed(t, keyedBatch([{ k: "a", v: "1" }], { producer: { id: 9n, epoch: 0, seq: 0 }, ts: t.clock.nowMs() }), keyedBatch([{ k: "x", v: "1" }]));
    await t.log.compact();
    // The producer's batch is now in the clean section; a new value for `a` empties it.
    appendSealed(t, keyedBatch([{ k: "a", v: "2" }]));
    await t.log.compact();
    assert.equal(readLog(t.log).batches.find((b) => b.baseOffset === 0n)?.count, 0, "young: kept empty");
    t.clock.advance(2 * DAY);
    appendSealed(t, keyedBatch([{ k: "a", v: "3" }]));
    await t.log.compact();
    assert.equal(readLog(t.log).batches.find((b) => b.baseOffset === 0n), undefined, "older than the producer-state retention: dropped");
  } finally {
    await t.cleanup();
  }
});
