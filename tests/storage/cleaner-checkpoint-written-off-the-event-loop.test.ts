/**
 * The log cleaner's `cleaner-offset-checkpoint`, written after each finished pass, goes through the asynchronous
 * atomic write (temp file, asynchronous fdatasync, rename, asynchronous dir fsync) like the timers' checkpoints:
 * over a file system that refuses a blocking write of that file, a pass still ends with the new checkpoint on disk,
 * nothing is logged as failed, and the pass's promise settles only once the file is in place.
 */
import assert from "node:assert/strict";
import * as nodeFs from "node:fs";
import { test } from "node:test";
import { ManualClock } from "../../src/platform/clock.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { logConfigWith } from "../../src/storage/log-config.ts";
import { LogManager } from "../../src/storage/log-manager.ts";
import { recordingLogger, tempDir } from "./batch-fixture.ts";
import { keyedBatch } from "./log-cleaner-records.ts";
import { asyncOnlyFileSystem } from "../support/async-only-fs.ts";

test("a finished compaction pass writes cleaner-offset-checkpoint without a blocking fsync", async () => {
  await initCrc32c();
  const root = tempDir();
  // The segment swap's directory fsyncs stay synchronous by design (cleaner-swap.ts); only the checkpoint is watched.
  const { fs, syncs, setRefusing } = asyncOnlyFileSystem((path) => path.includes("cleaner-offset-checkpoint"));
  const clock = new ManualClock();
  const logger = recordingLogger();
  const config = logConfigWith({ cleanupPolicy: ["compact"], segmentMs: 5, minCleanableDirtyRatio: 0.1 });
  const mgr = await LogManager.open([root.dir], { fs, clock, logger }, { defaultConfig: config, cleaner: { backoffMs: 3_600_000 } });
  try {
    const log = mgr.getOrCreate({ topic: "cc", partition: 0 }, config, null);
    for (let s = 0; s < 4; s++) {
      clock.advance(10);
      log.rollActive();
      for (let i = 0; i < 5; i++) log.append(keyedBatch(["a", "b", "c"].map((k) => ({ k, v: `${k}-${s}-${i}-${"p".repeat(80)}` }))), { leaderEpoch: 0 });
    }
    clock.advance(10);
    log.rollActive();
    log.append(keyedBatch([{ k: "tail", v: "t" }]), { leaderEpoch: 0 });
    log.highWatermark = log.logEndOffset;
    await log.sync();
    await mgr.syncCreated();
    const end = log.segmentBaseOffsets().at(-1)!;
    const result = await mgr.cleaner!.cleanOnce();
    assert.ok(result !== null && result.abandoned === null, `a pass ran: ${logger.lines.join("\n")}`);
    assert.equal(log.cleanerCheckpoint, end);
    assert.deepEqual(logger.lines.filter((l) => l.startsWith("ERROR")), []);
    const file = `${root.dir}/cleaner-offset-checkpoint`;
    assert.deepEqual(nodeFs.readFileSync(file, "utf8").trim().split("\n").slice(2), [`cc 0 ${end}`]);
    assert.ok(syncs.files.includes(`${file}.timer.tmp`), `fsynced asynchronously through its temp file (${syncs.files})`);
    assert.ok(syncs.dirs.includes(root.dir), "and its directory entry made durable asynchronously");
  } finally {
    setRefusing(false);
    await mgr.close();
    root.cleanup();
  }
});
