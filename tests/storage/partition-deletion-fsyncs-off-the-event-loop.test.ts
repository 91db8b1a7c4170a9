/**
 * Deleting partitions (DeleteTopics, a replica moved away) removes their directories without a blocking fsync of the
 * log dir on the event loop: over a file system that refuses blocking fsyncs, the logs are gone at once, the log
 * dir is fsynced asynchronously, and a creation recorded afterwards (syncCreated) waits for that fsync.
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

test("deleted partitions leave their log dir with an asynchronous fsync that later creations wait for", async () => {
  await initCrc32c();
  const root = tempDir();
  const { fs, syncs, setRefusing } = asyncOnlyFileSystem();
  const config = logConfigWith({ segmentBytes: 100_000 });
  setRefusing(false);
  const logger = recordingLogger();
  const mgr = await LogManager.open([root.dir], { fs, clock: new ManualClock(), logger }, { defaultConfig: config });
  try {
    for (let p = 0; p < 3; p++) mgr.getOrCreate({ topic: "gone", partition: p }, config).append(makeRecordsBatch(2, 0), { leaderEpoch: 0 });
    await mgr.syncCreated();
    const before = syncs.dirs.length;
    setRefusing(true);
    for (let p = 0; p < 3; p++) mgr.delete({ topic: "gone", partition: p });
    assert.deepEqual(nodeFs.readdirSync(root.dir).filter((n) => n.startsWith("gone")), [], "the directories are gone at once");
    assert.equal(mgr.getLog({ topic: "gone", partition: 0 }), undefined);
    await mgr.syncCreated();
    assert.ok(syncs.dirs.slice(before).includes(root.dir), "the log dir was fsynced asynchronously before syncCreated resolved");
    assert.deepEqual(logger.lines.filter((l) => l.startsWith("ERROR")), []);
  } finally {
    setRefusing(false);
    await mgr.close();
    root.cleanup();
  }
});
