/**
 * The log cleaner takes changed settings at once (Kafka's dynamic log.cleaner.* configs, KIP-226), driven on a
 * manual clock: log.cleaner.io.max.bytes.per.second paces a pass, a shorter log.cleaner.backoff.ms re-arms an
 * idle cleaner, and a new log.cleaner.dedupe.buffer.size sizes the next pass's offset map.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ManualClock } from "../../src/platform/clock.ts";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { logConfigWith } from "../../src/storage/log-config.ts";
import { LogManager } from "../../src/storage/log-manager.ts";
import type { PartitionLog } from "../../src/storage/partition-log.ts";
import { recordingLogger, tempDir } from "./batch-fixture.ts";
import { keyedBatch } from "./log-cleaner-records.ts";

const TP = { topic: "compacted", partition: 0 };
const HOUR = 3_600_000;

async function setup(backoffMs: number) {
  await initCrc32c();
  const root = tempDir();
  const clock = new ManualClock();
  const logger = recordingLogger();
  const config = logConfigWith({ cleanupPolicy: ["compact"], segmentMs: 5, minCleanableDirtyRatio: 0.1 });
  const mgr = await LogManager.open([root.dir], { fs: nodeFileSystem, clock, logger }, { defaultConfig: config, cleaner: { backoffMs, stepBytes: 2048 } });
  const log = mgr.getOrCreate(TP, config);
  return { clock, logger, mgr, log, cleanup: () => root.cleanup() };
}

/** Eight sealed segments of updates to five keys (each rolled, 10 ms apart), plus an active one. */
function fill(log: PartitionLog, clock: ManualClock): void {
  for (let s = 0; s < 8; s++) {
    clock.advance(10);
    log.rollActive();
    for (let i = 0; i < 5; i++) log.append(keyedBatch(["a", "b", "c", "d", "e"].map((k) => ({ k, v: `${k}-${s}-${i}-${"p".repeat(100)}` }))), { leaderEpoch: 0 });
  }
  clock.advance(10);
  log.rollActive();
  log.append(keyedBatch([{ k: "tail", v: "t" }]), { leaderEpoch: 0 });
  log.highWatermark = log.logEndOffset;
}

/** Lets timers due now fire and async work settle. */
async function settle(clock: ManualClock, rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    clock.advance(0);
    await new Promise((r) => setTimeout(r, 2));
  }
}

test("log.cleaner.io.max.bytes.per.second set at run time paces a pass: it takes at least its bytes / cap on the clock", async () => {
  const BACKOFF = 1000;
  const CAP = 2048;
  const s = await setup(BACKOFF);
  try {
    s.mgr.cleaner!.reconfigure({ backoffMs: BACKOFF, ioMaxBytesPerSecond: CAP });
    fill(s.log, s.clock);
    const end = s.log.segmentBaseOffsets().at(-1)!;
    const sealedBytes = s.log.cleanableSection(s.clock.nowMs())!.dirtyBytes;
    s.clock.advance(BACKOFF); // the pass starts
    const t0 = s.clock.monotonicMs();
    for (let i = 0; i < 2000 && s.log.cleanerCheckpoint !== end; i++) {
      await settle(s.clock, 2);
      s.clock.advance(100);
    }
    assert.equal(s.log.cleanerCheckpoint, end, s.logger.lines.join("\n"));
    const elapsed = s.clock.monotonicMs() - t0;
    // A pass reads the dirty section twice (map, then rewrite); all but its last step is paced.
    assert.ok(elapsed >= (sealedBytes / CAP) * 1000, `pass of ${sealedBytes} dirty bytes at ${CAP} B/s took ${elapsed} ms on the clock`);
    assert.ok(s.mgr.cleaner!.throttledMs > 0);
  } finally {
    await s.mgr.close();
    s.cleanup();
  }
});

test("a shorter log.cleaner.backoff.ms re-arms an idle cleaner; a new dedupe buffer size sizes the next pass", async () => {
  const s = await setup(HOUR);
  try {
    fill(s.log, s.clock);
    const end = s.log.segmentBaseOffsets().at(-1)!;
    s.clock.advance(1); // the cleaner armed for an hour has not looked yet
    const keysBefore = s.mgr.cleaner!.dedupeMaxKeys;
    s.mgr.cleaner!.reconfigure({ backoffMs: 1000, dedupeBufferBytes: 1 << 20 });
    assert.ok(s.mgr.cleaner!.dedupeMaxKeys < keysBefore, `${s.mgr.cleaner!.dedupeMaxKeys} keys, was ${keysBefore}`);
    for (let i = 0; i < 200 && s.log.cleanerCheckpoint !== end; i++) {
      s.clock.advance(1000);
      await settle(s.clock);
    }
    assert.equal(s.log.cleanerCheckpoint, end, "cleaned within seconds of the clock, not an hour");
    assert.ok(s.clock.monotonicMs() < HOUR);
  } finally {
    await s.mgr.close();
    s.cleanup();
  }
});
