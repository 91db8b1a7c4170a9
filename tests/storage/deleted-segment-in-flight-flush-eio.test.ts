/**
 * A segment deleted (DeleteRecords, retention) while a flush of it is in flight: the errors the deletion itself causes
 * (ENOENT opening an index file it removed, EBADF on a descriptor it closed) are no disk failure, but an EIO of an
 * fdatasync issued before the deletion is: the disk under the log dir failed, and Kafka, which renames a deleted
 * segment to `.deleted` and removes it later, has that flush fail on it and takes the log dir offline.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { nodeFileSystem, type FileSystem } from "../../src/platform/fs.ts";
import { openTestLog } from "./log-fixture.ts";
import { makeRecordsBatch } from "./batch-fixture.ts";

test("an EIO of a flush in flight on a segment deleted meanwhile still takes the log and its dir offline", async () => {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const failing: FileSystem = {
    ...nodeFileSystem,
    open(path, create) {
      const h = nodeFileSystem.open(path, create);
      const datasync = h.datasync.bind(h);
      const first = path.endsWith("00000000000000000000.log");
      h.datasync = () =>
        first
          ? released.then(() => Promise.reject(Object.assign(new Error(`EIO: i/o error, fdatasync '${path}'`), { code: "EIO" })))
          : datasync();
      return h;
    },
  };
  const t = await openTestLog({ segmentBytes: 3000 }, { fs: failing });
  const ioErrors: string[] = [];
  let offline = 0;
  t.log.onIoError = (e) => ioErrors.push(String((e as { code?: unknown }).code));
  t.log.onOffline = () => offline++;
  try {
    let next = 0n;
    while (t.log.segmentCount < 2) next = t.log.append(makeRecordsBatch(10, 1_700_000_000_000), { leaderEpoch: 0 }).lastOffset + 1n;
    // The roll started a flush of the sealed first segment: its fdatasync is held, then fails with EIO.
    const flushed = t.log.sync(); // settles after that flush (a flush counts once the earlier ones completed)
    t.log.highWatermark = next;
    const secondBase = t.log.segmentBaseOffsets()[1];
    assert.equal(t.log.deleteRecordsBefore(secondBase), secondBase); // the first segment goes while its sync runs
    assert.equal(t.log.segmentCount, 1);
    release();
    const outcome = await flushed.then(() => "flushed", (e: unknown) => `failed: ${String(e)}`);
    assert.deepEqual({ ioErrors, offline }, { ioErrors: ["EIO"], offline: 1 }, `flush ${outcome}`);
  } finally {
    await t.cleanup();
  }
});
