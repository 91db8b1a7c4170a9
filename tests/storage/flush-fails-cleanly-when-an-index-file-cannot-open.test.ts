/**
 * A sealed segment's index files open on first use, possibly only at the flush after the roll. When that open fails
 * (EMFILE, EIO) while the `.log`'s fdatasync fails too, the flush fails and takes the log offline like a failing fdatasync; the `.log`'s fdatasync started
 * just before must not be left as an unhandled rejection, which ends the process under Bun and Deno (found by
 * tests/storage/partition-log-property.test.ts, on the files of a crashed log).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { nodeFileSystem, type FileSystem } from "../../src/platform/fs.ts";
import { LogStorageError } from "../../src/storage/storage-errors.ts";
import { makeRecordsBatch } from "./batch-fixture.ts";
import { openTestLog } from "./log-fixture.ts";

test("an index file that cannot be opened at the flush after a roll fails the flush and takes the log offline, nothing unhandled", async () => {
  let failIndexOpens = false;
  const fs: FileSystem = {
    ...nodeFileSystem,
    open: (path, create) => {
      if (failIndexOpens && path.endsWith(".index")) throw Object.assign(new Error(`injected EMFILE opening ${path}`), { code: "EMFILE" });
      const h = nodeFileSystem.open(path, create);
      if (!path.endsWith(".log")) return h;
      // The disk is failing: the .log's fdatasync fails too.
      return { ...h, path: h.path, size: () => h.size(), read: (b, p) => h.read(b, p), write: (b, p) => h.write(b, p), writev: (b, p) => h.writev(b, p), datasyncNow: () => h.datasyncNow(), truncate: (n) => h.truncate(n), close: () => h.close(), appendZeros: undefined, datasync: () => (failIndexOpens ? Promise.reject(Object.assign(new Error("injected EIO"), { code: "EIO" })) : h.datasync()) };
    },
  };
  const t = await openTestLog({ segmentBytes: 300, indexIntervalBytes: 1 << 20 }, { fs });
  try {
    t.log.append(makeRecordsBatch(1, 0, 150), { leaderEpoch: 0 });
    failIndexOpens = true;
    t.log.append(makeRecordsBatch(1, 1, 150), { leaderEpoch: 0 }); // rolls: the sealed segment's flush starts
    assert.equal(t.log.segmentCount, 2);
    await assert.rejects(t.log.sync(), LogStorageError);
    assert.equal(t.log.isOffline, true);
  } finally {
    failIndexOpens = false;
    await t.cleanup();
  }
});
