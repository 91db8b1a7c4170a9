/**
 * A flush that is running when the log is truncated (a follower cutting a diverging tail, or emptied to restart at
 * an offset) covers none of what is appended after the cut: a sync() asked for afterwards must fdatasync the new
 * data, and the stale flush must not move the recovery point past the log end when it completes (found by
 * tests/storage/partition-log-property.test.ts: recovery point 246 with a log end of 245).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { makeRecordsBatch } from "./batch-fixture.ts";
import { openTestLog } from "./log-fixture.ts";
import { wrappedFileSystem } from "./wrapped-file-system.ts";
import { FileHandleCache } from "../../src/storage/file-handle-cache.ts";
import { nodeFileSystem } from "../../src/platform/fs.ts";

for (const cut of ["truncateTo", "truncateFullyAndStartAt"] as const) {
  test(`${cut} while a flush runs: a later sync() fdatasyncs the new data and the recovery point stays within the log`, async () => {
    const { fs, probe } = wrappedFileSystem();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    probe.logDatasyncGate = () => gate;
    const asked: string[] = [];
    probe.onLogDatasyncAsked = (path) => void asked.push(path);
    const t = await openTestLog({}, { fs });
    try {
      for (let i = 0; i < 10; i++) t.log.append(makeRecordsBatch(1, i, 100), { leaderEpoch: 0 });
      const stale = t.log.sync(); // target 10, held at the gate
      if (cut === "truncateTo") t.log.truncateTo(5n);
      else t.log.truncateFullyAndStartAt(3n);
      const start = t.log.logEndOffset;
      t.log.append(makeRecordsBatch(2, 100, 100), { leaderEpoch: 1 });
      const end = t.log.logEndOffset;
      assert.ok(end <= 10n, "the new data lies below the stale flush's target");
      const askedBefore = asked.length;
      const fresh = t.log.sync();
      release();
      await stale;
      assert.ok(t.log.recoveryPoint <= end, `recovery point ${t.log.recoveryPoint} past the log end ${end}`);
      await fresh;
      assert.equal(t.log.recoveryPoint, end);
      const activeLog = `${t.log.dir}/${String(t.log.segmentBaseOffsets().at(-1)).padStart(20, "0")}.log`;
      assert.ok(asked.slice(askedBefore).includes(activeLog), `no fdatasync of ${activeLog} asked after the append at ${start}: ${asked.slice(askedBefore)}`);
    } finally {
      release();
      await t.cleanup();
    }
  });
}

test("a truncation below read views while a flush runs keeps the flush's file open: the flush completes and the log stays online", async () => {
  const t = await openTestLog({}, { fs: new FileHandleCache(nodeFileSystem, 16).fileSystem });
  try {
    for (let i = 0; i < 10; i++) t.log.append(makeRecordsBatch(1, i, 100), { leaderEpoch: 0 });
    t.log.highWatermark = t.log.logEndOffset;
    // Views of the map (below the high watermark) make a truncation copy the kept prefix to a new file.
    const r = t.log.read(0n, 1 << 20, true, t.log.highWatermark);
    assert.equal(r.batches, 10);
    const flushing = t.log.sync();
    t.log.truncateTo(4n);
    await flushing;
    assert.equal(t.log.isOffline, false);
    t.log.append(makeRecordsBatch(1, 50, 100), { leaderEpoch: 1 });
    await t.log.sync();
    assert.equal(t.log.recoveryPoint, 5n);
    assert.equal(t.log.read(0n, 1 << 20, true).batches, 5);
  } finally {
    await t.cleanup();
  }
});

test("segments deleted by retention while the flush after their roll waits: the flush completes and the log stays online", async () => {
  const t = await openTestLog({ segmentBytes: 1024, indexIntervalBytes: 64 }, { fs: new FileHandleCache(nodeFileSystem, 4).fileSystem });
  try {
    for (let i = 0; i < 40; i++) t.log.append(makeRecordsBatch(2, i, 100), { leaderEpoch: 0 });
    assert.ok(t.log.segmentCount > 5);
    t.log.highWatermark = t.log.logEndOffset;
    t.log.updateConfig({ ...t.log.config, retentionBytes: 0 });
    const r = t.log.enforceRetention(t.clock.nowMs());
    assert.ok(r.deletedSegments > 0);
    await t.log.sync();
    assert.equal(t.log.isOffline, false);
    assert.equal(t.log.recoveryPoint, t.log.logEndOffset);
  } finally {
    await t.cleanup();
  }
});
