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

/**
 * Appends, starts a flush whose fdatasyncs are held, deletes the log, then lets the held fdatasyncs go on as `held`
 * says; returns what the log reported (onIoError's error codes, onOffline calls) once the flush settled.
 */
async function deleteDuringFlush(held: (datasync: () => Promise<void>, path: string) => Promise<void>): Promise<{ ioErrors: string[]; offline: number; outcome: string }> {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let holding = false;
  const slowSyncs: FileSystem = {
    ...nodeFileSystem,
    open(path, create) {
      const h = nodeFileSystem.open(path, create);
      const datasync = h.datasync.bind(h);
      h.datasync = () => (holding ? released.then(() => held(datasync, path)) : datasync());
      return h;
    },
  };
  const t = await openTestLog({}, { fs: slowSyncs });
  const ioErrors: string[] = [];
  let offline = 0;
  t.log.onIoError = (e) => ioErrors.push(`${String((e as { code?: unknown }).code)}: ${String(e)}`);
  t.log.onOffline = () => offline++;
  try {
    t.log.append(makeRecordsBatch(3, 1_700_000_000_000), { leaderEpoch: 0 });
    holding = true;
    const flushed = t.log.sync();
    t.log.delete();
    release();
    const outcome = await flushed.then(() => "flushed", (e: unknown) => `failed: ${String(e)}`);
    return { ioErrors, offline, outcome };
  } finally {
    await t.cleanup();
  }
}

test("a flush in flight when the log is deleted takes neither the log nor its dir offline", async () => {
  const { ioErrors, offline, outcome } = await deleteDuringFlush((datasync) => datasync());
  assert.deepEqual({ ioErrors, offline }, { ioErrors: [], offline: 0 }, `flush ${outcome}`);
});

test("a real disk failure (EIO) of a flush in flight when the log is deleted still reaches its log dir", async () => {
  // The flush's fdatasync was issued before delete() and the disk failed it: that is no consequence of the delete
  // (ENOENT, EBADF) but a failure of the disk under the log dir, which Kafka reports too (LocalLog.flush swallows only
  // the NoSuchFileException of the directory's flush, flushDirIfExists). The deleted log is no replica any more, so it
  // is not reported offline (onOffline), only its log dir's failure (onIoError).
  const eio = (path: string) => Object.assign(new Error(`EIO: i/o error, fdatasync '${path}'`), { code: "EIO" });
  const { ioErrors, offline } = await deleteDuringFlush((_datasync, path) => Promise.reject(eio(path)));
  assert.deepEqual({ codes: ioErrors.map((e) => e.split(":")[0]), offline }, { codes: ["EIO"], offline: 0 }, ioErrors.join("; "));
});
