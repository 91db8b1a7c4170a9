/**
 * A new partition's directory entry in its log dir is fsynced asynchronously, and no flush of the new log (so no
 * acknowledgement of a record in it) completes before that fsync has: a power cut cannot lose the directory of a
 * partition whose records were acknowledged.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ManualClock } from "../../src/platform/clock.ts";
import { type FileSystem, nodeFileSystem } from "../../src/platform/fs.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { logConfigWith } from "../../src/storage/log-config.ts";
import { LogManager } from "../../src/storage/log-manager.ts";
import { makeRecordsBatch, recordingLogger, tempDir } from "./batch-fixture.ts";

test("a new log's first flush completes only after the log dir's entry for it is durable", async () => {
  await initCrc32c();
  const root = tempDir();
  const events: string[] = [];
  let release: () => void = () => {};
  let holding = false;
  const fs: FileSystem = {
    ...nodeFileSystem,
    syncDirAsync: async (path) => {
      if (holding && path === root.dir) {
        events.push("log dir fsync started");
        await new Promise<void>((r) => (release = r));
        await nodeFileSystem.syncDirAsync(path);
        events.push("log dir fsync done");
        return;
      }
      await nodeFileSystem.syncDirAsync(path);
    },
  };
  const config = logConfigWith({ segmentBytes: 100_000 });
  const mgr = await LogManager.open([root.dir], { fs, clock: new ManualClock(), logger: recordingLogger() }, { defaultConfig: config });
  try {
    holding = true;
    const log = mgr.getOrCreate({ topic: "young", partition: 0 }, config, null);
    log.append(makeRecordsBatch(2, 0, 100), { leaderEpoch: 0 });
    const flushed = log.sync().then(() => void events.push("flushed"));
    for (let i = 0; i < 1000 && !events.includes("log dir fsync started"); i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(events.includes("log dir fsync started"));
    release();
    await flushed;
    await mgr.syncCreated();
    assert.deepEqual(events, ["log dir fsync started", "log dir fsync done", "flushed"]);
  } finally {
    holding = false;
    release();
    await mgr.close();
    root.cleanup();
  }
});
