/**
 * A compaction pass whose first dirty offset lies inside a sealed segment with a missing `.index` (the map phase
 * finds where to start through it) rebuilds that index step by step, INDEX_REBUILD_BATCHES_PER_STEP batch headers
 * per event-loop turn, not in one go inside a pass step; the pass then compacts as before.
 */
import assert from "node:assert/strict";
import * as nodeFs from "node:fs";
import { setImmediate } from "node:timers";
import { test } from "node:test";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { INDEX_REBUILD_BATCHES_PER_STEP } from "../../src/storage/segment.ts";
import { offsetFileStem } from "../../src/storage/log-file-names.ts";
import { openTestLog } from "./log-fixture.ts";
import { keyedBatch, latestByKey, readLog } from "./log-cleaner-records.ts";
import { readNotingFileSystem } from "../support/read-noting-fs.ts";

test("the cleaner rebuilds a missing index of the segment it starts mapping in over several loop turns", { timeout: 60_000 }, async () => {
  let turns = 0;
  let ticking = true;
  const tick = (): void => {
    turns++;
    if (ticking) setImmediate(tick);
  };
  let watched = "";
  const readTurns: number[] = [];
  // Segment reads only (the cleaner's own batch reader opens files with openRead).
  const fs = { ...readNotingFileSystem((path) => void (path === watched && readTurns.push(turns))), openRead: nodeFileSystem.openRead };
  const t = await openTestLog({ cleanupPolicy: ["compact"], segmentBytes: 400_000, minCleanableDirtyRatio: 0 }, { fs });
  try {
    for (let i = 0; i < 4 * INDEX_REBUILD_BATCHES_PER_STEP * 2; i++) t.log.append(keyedBatch([{ k: `k${i % 7}`, v: `v${i}` }]), { leaderEpoch: 0 });
    const bases = t.log.segmentBaseOffsets();
    assert.ok(bases.length >= 2 && bases[1] >= BigInt(4 * INDEX_REBUILD_BATCHES_PER_STEP), `a first segment of many batches: ${bases}`);
    // A first pass up to the middle of the first segment leaves the cleaner checkpoint there.
    const middle = bases[1] / 2n;
    t.log.highWatermark = middle;
    await t.log.compact();
    assert.equal(t.log.cleanerCheckpoint, middle);
    const end = t.log.logEndOffset;
    await t.log.close();
    const index = `${t.dir}/${offsetFileStem(0n)}.index`;
    nodeFs.rmSync(index);
    const log = await t.reopen({ crash: true, state: { cleanShutdown: true, recoveryPoint: end, cleanerCheckpoint: middle } });
    log.highWatermark = log.logEndOffset;
    const expected = latestByKey(readLog(log).records);
    watched = `${t.dir}/${offsetFileStem(0n)}.log`;
    tick();
    const result = await log.compact();
    assert.ok(result !== null && result.abandoned === null);
    assert.ok(t.logger.lines.some((l) => l.includes("rebuilding indexes of segment 0")));
    const rebuildTurns = new Set(readTurns);
    assert.ok(rebuildTurns.size >= 3, `the index rebuild spread over several loop turns (turns ${[...rebuildTurns].join(",")})`);
    assert.deepEqual(latestByKey(readLog(log).records), expected, "compacted as before");
    assert.ok(nodeFs.existsSync(index), "the index was rewritten");
  } finally {
    ticking = false;
    await t.cleanup();
  }
});
