import assert from "node:assert/strict";
import * as nodeFs from "node:fs";
import { test } from "node:test";
import { ManualClock } from "../../src/platform/clock.ts";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { type LogConfig, logConfigWith } from "../../src/storage/log-config.ts";
import { LogManager, type LogManagerOptions } from "../../src/storage/log-manager.ts";
import type { PartitionLog } from "../../src/storage/partition-log.ts";
import type { StorageDeps } from "../../src/storage/storage-deps.ts";
import { recordingLogger, tempDir } from "./batch-fixture.ts";
import { keyedBatch, latestByKey, readLog } from "./log-cleaner-records.ts";

const TP = { topic: "compacted", partition: 0 };
const BACKOFF = 1000;

async function setup(fields: Partial<LogConfig>, cleaner: LogManagerOptions["cleaner"] = {}) {
  await initCrc32c();
  const root = tempDir();
  const clock = new ManualClock();
  const logger = recordingLogger();
  const deps: StorageDeps = { fs: nodeFileSystem, clock, logger };
  const config = logConfigWith({ cleanupPolicy: ["compact"], segmentMs: 5, ...fields });
  const opts: LogManagerOptions = { defaultConfig: config, cleaner: { backoffMs: BACKOFF, ...cleaner } };
  const mgr = await LogManager.open([root.dir], deps, opts);
  const log = mgr.getOrCreate(TP, config);
  return { dir: root.dir, clock, logger, deps, config, opts, mgr, log, cleanup: () => root.cleanup() };
}

/** Appends `segments` segments of `batches` updates to keys a..e (each rolled, 10 ms apart) and one more to seal them. */
function fill(log: PartitionLog, clock: ManualClock, segments: number, batches = 5, tag = "v"): void {
  for (let s = 0; s < segments; s++) {
    clock.advance(10);
    log.rollActive();
    for (let i = 0; i < batches; i++) log.append(keyedBatch(["a", "b", "c", "d", "e"].map((k) => ({ k, v: `${k}-${tag}-${s}-${i}-${"p".repeat(100)}` }))), { leaderEpoch: 0 });
  }
  clock.advance(10);
  log.rollActive();
  log.append(keyedBatch([{ k: "tail", v: tag }]), { leaderEpoch: 0 });
  log.highWatermark = log.logEndOffset;
}

/** Lets timers at the current time fire and async work (fdatasync) settle, `rounds` times. */
async function settle(clock: ManualClock, rounds = 30): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    clock.advance(0);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Advances by the backoff and settles until `done()` or `limit` backoffs passed. */
async function runUntil(clock: ManualClock, done: () => boolean, limit = 20): Promise<boolean> {
  for (let i = 0; i < limit && !done(); i++) {
    clock.advance(BACKOFF);
    await settle(clock);
  }
  return done();
}

function checkpointEntries(dir: string): string[] {
  const path = `${dir}/cleaner-offset-checkpoint`;
  return nodeFs.existsSync(path) ? nodeFs.readFileSync(path, "utf8").trim().split("\n").slice(2) : [];
}

test("the cleaner compacts a log once its dirty ratio reaches min.cleanable.dirty.ratio and checkpoints it", async () => {
  const s = await setup({ minCleanableDirtyRatio: 0.9 });
  try {
    fill(s.log, s.clock, 6);
    const firstEnd = s.log.segmentBaseOffsets().at(-1)!;
    // The checkpoint file is written off the loop after the pass: wait for it too.
    assert.ok(await runUntil(s.clock, () => s.log.cleanerCheckpoint === firstEnd && checkpointEntries(s.dir).length > 0), s.logger.lines.join("\n"));
    assert.deepEqual(checkpointEntries(s.dir), [`compacted 0 ${firstEnd}`]);
    const cleanBytes = s.log.size;

    // A little new dirt against a clean section: below the ratio, nothing happens.
    fill(s.log, s.clock, 1, 1, "w");
    const section = s.log.cleanableSection(s.clock.nowMs())!;
    assert.ok(section.dirtyRatio < 0.9, `ratio ${section.dirtyRatio}`);
    assert.equal(await runUntil(s.clock, () => s.log.cleanerCheckpoint !== firstEnd, 5), false);

    // Enough new dirt: cleaned again.
    fill(s.log, s.clock, 20, 5, "x");
    const secondEnd = s.log.segmentBaseOffsets().at(-1)!;
    assert.ok(await runUntil(s.clock, () => s.log.cleanerCheckpoint === secondEnd));
    assert.equal(latestByKey(readLog(s.log).records).get("a")!.slice(0, 8), "a-x-19-4");
    assert.ok(s.log.size < cleanBytes * 3);

    // The checkpoint is reloaded at the next start.
    await s.mgr.close();
    const mgr = await LogManager.open([s.dir], s.deps, s.opts);
    assert.equal(mgr.getLog(TP)!.cleanerCheckpoint, secondEnd);
    await mgr.close();
  } finally {
    s.cleanup();
  }
});

test("max.compaction.lag.ms forces cleaning of an old dirty section whatever the ratio", async () => {
  const HOUR = 3_600_000;
  const s = await setup({ minCleanableDirtyRatio: 1, maxCompactionLagMs: HOUR });
  try {
    fill(s.log, s.clock, 2);
    fill(s.log, s.clock, 1, 1, "w");
    // The ratio is below 1 (there is clean data after a first forced pass); only the lag can trigger it.
    await s.log.compact();
    fill(s.log, s.clock, 1, 1, "y");
    const end = s.log.segmentBaseOffsets().at(-1)!;
    assert.equal(await runUntil(s.clock, () => s.log.cleanerCheckpoint === end, 3), false, "not yet overdue");
    s.clock.advance(2 * HOUR);
    assert.ok(await runUntil(s.clock, () => s.log.cleanerCheckpoint === end, 3));
  } finally {
    await s.mgr.close();
    s.cleanup();
  }
});

test("a pass runs in bounded steps; appends and reads go on between steps", async () => {
  const s = await setup({ minCleanableDirtyRatio: 0.1 }, { stepBytes: 4096 });
  try {
    fill(s.log, s.clock, 8);
    const end = s.log.segmentBaseOffsets().at(-1)!;
    const expected = latestByKey(readLog(s.log).records);
    s.clock.advance(BACKOFF); // the cleaner starts a pass: first step
    let steps = 0;
    for (; steps < 500 && s.log.cleanerCheckpoint !== end; steps++) {
      await new Promise((r) => setTimeout(r, 2));
      // Between steps the broker keeps serving.
      const r = s.log.read(s.log.logStartOffset, 1 << 20, true);
      assert.ok(r.batches > 0);
      s.log.append(keyedBatch([{ k: "live", v: String(steps) }]), { leaderEpoch: 0 });
      s.log.highWatermark = s.log.logEndOffset;
      expected.set("live", String(steps));
      s.clock.advance(0);
    }
    assert.equal(s.log.cleanerCheckpoint, end);
    assert.ok(steps > 10, `took ${steps} steps`);
    assert.deepEqual(latestByKey(readLog(s.log).records), expected);
  } finally {
    await s.mgr.close();
    s.cleanup();
  }
});

test("closing the log manager mid-pass abandons the pass and leaves no cleaned files", async () => {
  const s = await setup({ minCleanableDirtyRatio: 0.1 }, { stepBytes: 2048 });
  try {
    fill(s.log, s.clock, 6);
    const before = readLog(s.log);
    s.clock.advance(BACKOFF);
    await settle(s.clock, 3);
    await s.mgr.close();
    assert.ok(s.logger.lines.some((l) => l.includes("compaction pass abandoned: the cleaner is stopping")), s.logger.lines.join("\n"));
    const partDir = `${s.dir}/${TP.topic}-${TP.partition}`;
    assert.deepEqual(nodeFs.readdirSync(partDir).filter((n) => /\.(cleaned|swap|deleted)$/.test(n)), []);
    const mgr = await LogManager.open([s.dir], s.deps, { ...s.opts, cleaner: { enable: false } });
    assert.equal(mgr.cleaner, null);
    assert.deepEqual(latestByKey(readLog(mgr.getLog(TP)!).records), latestByKey(before.records));
    await mgr.close();
  } finally {
    s.cleanup();
  }
});

test("logs without cleanup.policy=compact are never compacted", async () => {
  const s = await setup({ cleanupPolicy: ["delete"], minCleanableDirtyRatio: 0 });
  try {
    fill(s.log, s.clock, 4);
    const size = s.log.size;
    await runUntil(s.clock, () => false, 3);
    assert.equal(s.log.size, size);
    assert.equal(await s.mgr.cleaner!.cleanOnce(), null);
  } finally {
    await s.mgr.close();
    s.cleanup();
  }
});

test("a log whose dirty ratio equals min.cleanable.dirty.ratio is not due: Kafka's cleaner takes only logs above it", async () => {
  const s = await setup({ minCleanableDirtyRatio: 1 });
  try {
    fill(s.log, s.clock, 3);
    assert.equal(s.log.cleanableSection(s.clock.nowMs())!.dirtyRatio, 1, "never cleaned: all of it dirty");
    // LogCleanerManager.grabFilthiestCompactedLog: cleanableRatio > minCleanableRatio (or max.compaction.lag.ms passed)
    assert.equal(s.mgr.cleaner!.chooseLog(s.clock.nowMs()), null);
    assert.equal(await s.mgr.cleaner!.cleanOnce(), null);
  } finally {
    await s.mgr.close();
    s.cleanup();
  }
});
