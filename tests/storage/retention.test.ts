import assert from "node:assert/strict";
import * as nodeFs from "node:fs";
import { test } from "node:test";
import { makeRecordsBatch } from "./batch-fixture.ts";
import { openTestLog } from "./log-fixture.ts";

const HOUR = 3_600_000;

test("retention.ms deletes whole segments whose newest timestamp is too old and moves the log start offset", async () => {
  const t = await openTestLog({ segmentBytes: 1000, retentionMs: 2 * HOUR });
  try {
    const now = t.clock.nowMs();
    // Segments of 2 batches (~420 bytes each); timestamps 5h, 4h, 3h, 1h, 0h ago.
    const ages = [5, 5, 4, 4, 3, 3, 1, 1, 0, 0];
    for (const age of ages) t.log.append(makeRecordsBatch(2, now - age * HOUR, 150), { leaderEpoch: 0 });
    t.log.highWatermark = t.log.logEndOffset;
    assert.equal(t.log.segmentCount, 5);
    const r = t.log.enforceRetention(now);
    assert.equal(r.deletedSegments, 3);
    assert.equal(t.log.logStartOffset, 12n);
    assert.equal(r.logStartOffset, 12n);
    assert.deepEqual(t.log.segmentBaseOffsets(), [12n, 16n]);
    assert.equal(nodeFs.readdirSync(t.dir).filter((n) => n.endsWith(".log")).length, 2);
    assert.equal(nodeFs.readdirSync(t.dir).filter((n) => n.endsWith(".deleted")).length, 0);
    assert.equal(t.log.read(12n, 1 << 20, false).batches, 4);
    assert.ok(t.logger.lines.some((l) => l.includes("retention.ms")));
  } finally {
    await t.cleanup();
  }
});

test("retention.bytes deletes the oldest segments while the rest still meets the limit", async () => {
  const t = await openTestLog({ segmentBytes: 1000, retentionBytes: 2000, retentionMs: -1 });
  try {
    for (let i = 0; i < 10; i++) t.log.append(makeRecordsBatch(2, t.clock.nowMs(), 150), { leaderEpoch: 0 });
    t.log.highWatermark = t.log.logEndOffset;
    const seg = t.log.size / t.log.segmentCount;
    const before = t.log.size;
    const r = t.log.enforceRetention(t.clock.nowMs());
    assert.ok(r.deletedSegments > 0);
    assert.ok(t.log.size >= 2000 - seg, "does not delete below the limit by more than a segment");
    assert.ok(t.log.size - t.log.size / t.log.segmentCount < 2000, "the oldest remaining segment is needed");
    assert.equal(before - r.deletedBytes, t.log.size);
    assert.equal(t.log.logStartOffset, t.log.segmentBaseOffsets()[0]);
  } finally {
    await t.cleanup();
  }
});

test("when every segment expires a new empty active segment is rolled at the log end first", async () => {
  const t = await openTestLog({ segmentBytes: 1000, retentionMs: HOUR });
  try {
    for (let i = 0; i < 5; i++) t.log.append(makeRecordsBatch(2, t.clock.nowMs(), 150), { leaderEpoch: 0 });
    t.log.highWatermark = t.log.logEndOffset;
    t.clock.advance(2 * HOUR);
    t.log.enforceRetention(t.clock.nowMs());
    assert.deepEqual(t.log.segmentBaseOffsets(), [10n]);
    assert.equal(t.log.logStartOffset, 10n);
    assert.equal(t.log.logEndOffset, 10n);
    assert.equal(t.log.read(10n, 1000, true).batches, 0);
    const r = t.log.append(makeRecordsBatch(1, t.clock.nowMs()), { leaderEpoch: 0 });
    assert.equal(r.baseOffset, 10n);
    t.log.enforceRetention(t.clock.nowMs());
    assert.equal(t.log.logEndOffset, 11n);
  } finally {
    await t.cleanup();
  }
});

test("retention never deletes data above the high watermark", async () => {
  const t = await openTestLog({ segmentBytes: 1000, retentionMs: HOUR });
  try {
    for (let i = 0; i < 6; i++) t.log.append(makeRecordsBatch(2, t.clock.nowMs(), 150), { leaderEpoch: 0 });
    t.log.highWatermark = 5n;
    t.clock.advance(2 * HOUR);
    t.log.enforceRetention(t.clock.nowMs());
    assert.equal(t.log.logStartOffset, 4n, "only the segment wholly below the high watermark went");
  } finally {
    await t.cleanup();
  }
});

test("retention survives restart: the log start offset is the first segment's base", async () => {
  const t = await openTestLog({ segmentBytes: 1000, retentionMs: HOUR });
  try {
    for (let i = 0; i < 6; i++) t.log.append(makeRecordsBatch(2, t.clock.nowMs() - (6 - i) * HOUR, 150), { leaderEpoch: 0 });
    t.log.highWatermark = t.log.logEndOffset;
    t.log.enforceRetention(t.clock.nowMs());
    const start = t.log.logStartOffset;
    assert.ok(start > 0n);
    const log = await t.reopen();
    assert.equal(log.logStartOffset, start);
    assert.equal(log.logEndOffset, 12n);
  } finally {
    await t.cleanup();
  }
});
