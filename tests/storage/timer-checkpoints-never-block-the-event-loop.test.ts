/**
 * The periodic and post-roll checkpoints (`log.flush.offset.checkpoint.interval.ms`) are written without a blocking
 * fsync on the event loop: a file system whose blocking `writeFileAtomic` refuses still gets every checkpoint, and
 * the fsyncs of the timer's writes are the asynchronous `datasync` (their promises resolve later).
 */
import assert from "node:assert/strict";
import * as nodeFs from "node:fs";
import { test } from "node:test";
import { ManualClock } from "../../src/platform/clock.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { logConfigWith } from "../../src/storage/log-config.ts";
import { LogManager } from "../../src/storage/log-manager.ts";
import { makeRecordsBatch, recordingLogger, tempDir } from "./batch-fixture.ts";
import { asyncOnlyFileSystem } from "../support/async-only-fs.ts";

test("timer checkpoints go through asynchronous fdatasync, never the blocking writeFileAtomic", async () => {
  await initCrc32c();
  const root = tempDir();
  const { fs, syncs, setRefusing } = asyncOnlyFileSystem();
  setRefusing(false);
  const clock = new ManualClock();
  const logger = recordingLogger();
  const config = logConfigWith({ segmentBytes: 1000, retentionMs: 3_600_000 });
  const mgr = await LogManager.open([root.dir], { fs, clock, logger }, { defaultConfig: config, checkpointIntervalMs: 60_000, retentionCheckIntervalMs: 3_600_000 });
  try {
    const log = mgr.getOrCreate({ topic: "cp", partition: 0 }, config, null);
    for (let i = 0; i < 6; i++) log.append(makeRecordsBatch(2, clock.nowMs(), 150), { leaderEpoch: 0 });
    await log.sync();
    await mgr.syncCreated();
    const before = syncs.files.length;
    setRefusing(true);
    clock.advance(60_000);
    await mgr.checkpointsSettled();
    setRefusing(false);
    assert.deepEqual(logger.lines.filter((l) => l.startsWith("ERROR")), []);
    const timerSyncs = syncs.files.slice(before).filter((p) => p.endsWith(".timer.tmp"));
    assert.ok(timerSyncs.length >= 3, `recovery point, log start and cleaner checkpoints fsynced asynchronously (${timerSyncs})`);
    assert.ok(syncs.dirs.includes(root.dir));
    const rp = nodeFs.readFileSync(`${root.dir}/recovery-point-offset-checkpoint`, "utf8").split("\n");
    assert.ok(rp.some((l) => l.startsWith("cp 0 ") && BigInt(l.split(" ")[2]) > 0n), rp.join("|"));
    assert.ok(nodeFs.readFileSync(`${root.dir}/log-start-offset-checkpoint`, "utf8").includes("cp 0 0"));
  } finally {
    setRefusing(false);
    await mgr.close();
    root.cleanup();
  }
});
