import assert from "node:assert/strict";
import * as nodeFs from "node:fs";
import { test } from "node:test";
import { OffsetOutOfRangeError } from "../../src/storage/storage-errors.ts";
import { batchBaseOffsets, makeRecordsBatch } from "./batch-fixture.ts";
import { openTestLog } from "./log-fixture.ts";

test("deleteRecordsBefore moves the log start offset and deletes segments wholly below it", async () => {
  const t = await openTestLog({ segmentBytes: 1000 });
  try {
    for (let i = 0; i < 10; i++) t.log.append(makeRecordsBatch(2, i, 150), { leaderEpoch: 0 });
    t.log.highWatermark = t.log.logEndOffset;
    const bases = t.log.segmentBaseOffsets();
    assert.equal(t.log.deleteRecordsBefore(bases[2] + 1n), bases[2] + 1n);
    assert.equal(t.log.logStartOffset, bases[2] + 1n);
    assert.deepEqual(t.log.segmentBaseOffsets(), bases.slice(2));
    // The batch holding the new start offset is still returned whole.
    const r = t.log.read(bases[2] + 1n, 1 << 20, true);
    assert.equal(r.firstOffset, bases[2]);
    assert.throws(() => t.log.read(bases[2], 10, true), OffsetOutOfRangeError);
    // Lower than the current start: no change.
    assert.equal(t.log.deleteRecordsBefore(1n), bases[2] + 1n);
    // Above the high watermark: OFFSET_OUT_OF_RANGE.
    t.log.highWatermark = 15n;
    assert.throws(() => t.log.deleteRecordsBefore(16n), OffsetOutOfRangeError);
    // Up to the end: the active segment stays.
    t.log.highWatermark = 20n;
    t.log.deleteRecordsBefore(20n);
    assert.equal(t.log.logStartOffset, 20n);
    assert.equal(t.log.segmentCount, 1);
    assert.equal(t.log.append(makeRecordsBatch(1, 1), { leaderEpoch: 0 }).baseOffset, 20n);
  } finally {
    await t.cleanup();
  }
});

test("truncateTo drops batches at and after the offset, across segments", async () => {
  const t = await openTestLog({ segmentBytes: 1000, indexIntervalBytes: 0 });
  try {
    for (let i = 0; i < 10; i++) t.log.append(makeRecordsBatch(2, 100 + i, 150), { leaderEpoch: 0 });
    t.log.highWatermark = t.log.logEndOffset;
    assert.ok(t.log.segmentCount >= 4);
    t.log.truncateTo(7n); // inside batch 6..7: that batch goes whole
    assert.equal(t.log.logEndOffset, 6n);
    assert.equal(t.log.highWatermark, 6n);
    assert.deepEqual(batchBaseOffsets(t.log.read(0n, 1 << 20, false).chunks), [0n, 2n, 4n]);
    const files = nodeFs.readdirSync(t.dir).filter((n) => n.endsWith(".log"));
    assert.equal(files.length, t.log.segmentCount);
    const r = t.log.append(makeRecordsBatch(2, 500, 150), { leaderEpoch: 1 });
    assert.equal(r.baseOffset, 6n);
    assert.deepEqual(t.log.offsetForTimestamp(500), { offset: 6n, timestamp: 500, leaderEpoch: 1 });
    const log = await t.reopen({ crash: true });
    assert.equal(log.logEndOffset, 8n);
    assert.deepEqual(batchBaseOffsets(log.read(0n, 1 << 20, false).chunks), [0n, 2n, 4n, 6n]);
  } finally {
    await t.cleanup();
  }
});

test("truncateTo inside the batch holding the log start offset restarts the log there, never below it", async () => {
  const t = await openTestLog({ segmentBytes: 100_000 });
  try {
    t.log.append(makeRecordsBatch(2, 1, 10), { leaderEpoch: 0 }); // offsets 0..1
    t.log.append(makeRecordsBatch(20, 2, 10), { leaderEpoch: 0 }); // offsets 2..21
    t.log.highWatermark = t.log.logEndOffset;
    assert.equal(t.log.deleteRecordsBefore(1n), 1n); // offset 0 reported deleted
    t.log.truncateTo(1n); // the batch 0..1 goes whole
    assert.equal(t.log.logStartOffset, 1n);
    assert.equal(t.log.logEndOffset, 1n);
    assert.equal(t.log.highWatermark, 1n);
    // the next record takes offset 1, not the deleted offset 0 (found by the PartitionLog property test, seed 1914505532)
    assert.equal(t.log.append(makeRecordsBatch(1, 3, 10), { leaderEpoch: 1 }).baseOffset, 1n);
    const log = await t.reopen({ crash: true });
    assert.equal(log.logStartOffset, 1n);
    assert.equal(log.logEndOffset, 2n);
  } finally {
    await t.cleanup();
  }
});

test("truncateFullyAndStartAt empties the log and restarts offsets", async () => {
  const t = await openTestLog({ segmentBytes: 1000 });
  try {
    for (let i = 0; i < 6; i++) t.log.append(makeRecordsBatch(2, i, 150), { leaderEpoch: 0 });
    t.log.truncateFullyAndStartAt(100n);
    assert.deepEqual(t.log.segmentBaseOffsets(), [100n]);
    assert.equal(t.log.logStartOffset, 100n);
    assert.equal(t.log.logEndOffset, 100n);
    assert.equal(t.log.append(makeRecordsBatch(1, 1), { leaderEpoch: 0 }).baseOffset, 100n);
    const log = await t.reopen();
    assert.equal(log.logStartOffset, 100n);
    assert.equal(log.logEndOffset, 101n);
  } finally {
    await t.cleanup();
  }
});

test("delete removes the partition directory", async () => {
  const t = await openTestLog();
  try {
    t.log.append(makeRecordsBatch(1, 1), { leaderEpoch: 0 });
    t.log.delete();
    assert.equal(nodeFs.existsSync(t.dir), false);
  } finally {
    await t.cleanup();
  }
});
