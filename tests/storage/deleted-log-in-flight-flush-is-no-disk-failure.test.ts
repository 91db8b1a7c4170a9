/**
 * A log deleted while a flush of it is still in flight (a replica reassigned away, a topic deleted): the flush then
 * fails on what delete() closed and removed (ENOENT syncing the removed directory), and that is no I/O error of the
 * log dir. Before, the log went offline
 * and told onIoError, so a broker that lost a replica by reassignment published it as an offline replica
 * (cluster-random-match-kafka, CLUSTER_ORACLE_SEED=7: Metadata's offlineReplicas named the broker the partition
 * was moved off) and took its log dir offline. The file system is the real one; only the flush's fdatasync is
 * held until the log is deleted, as a slow disk holds it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { nodeFileSystem, type FileSystem } from "../../src/platform/fs.ts";
import { openTestLog } from "./log-fixture.ts";
import { makeRecordsBatch } from "./batch-fixture.ts";

test("a flush in flight when the log is deleted takes neither the log nor its dir offline", async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let holding = false;
  const slowSyncs: FileSystem = {
    ...nodeFileSystem,
    open(path, create) {
      const h = nodeFileSystem.open(path, create);
      const datasync = h.datasync.bind(h);
      h.datasync = () => (holding ? held.then(datasync) : datasync());
      return h;
    },
  };
  const t = await openTestLog({}, { fs: slowSyncs });
  const ioErrors: unknown[] = [];
  let offline = 0;
  t.log.onIoError = (e) => ioErrors.push(e);
  t.log.onOffline = () => offline++;
  try {
    t.log.append(makeRecordsBatch(3, 1_700_000_000_000), { leaderEpoch: 0 });
    holding = true;
    const flushed = t.log.sync();
    t.log.delete();
    release();
    const outcome = await flushed.then(() => "flushed", (e: unknown) => `failed: ${String(e)}`);
    assert.deepEqual({ ioErrors: ioErrors.map(String), offline }, { ioErrors: [], offline: 0 }, `flush ${outcome}`);
  } finally {
    await t.cleanup();
  }
});
