/**
 * A file opened again through the file-handle cache (`log.open.files.max`) runs a real fdatasync at its first sync,
 * even with nothing written through the new descriptor: the file may hold pages an earlier descriptor wrote and
 * never synced (fdatasync flushes the file's pages whatever descriptor wrote them). The aborted-transaction index
 * writes each entry through one open and syncs it through the next before a producer snapshot; when the new
 * descriptor counted as clean that sync did nothing, and a power cut after the snapshot lost the entry
 * (read_committed consumers then saw the aborted records; tests/sim kafka seed 3 with log.roll.ms=200).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FileHandleCache } from "../../src/storage/file-handle-cache.ts";
import { countingFileSystem } from "./counting-file-system.ts";

test("a file written through one descriptor and synced through a later one gets an fdatasync", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-fdcache-reopen-"));
  try {
    const { fs: counted, stats } = countingFileSystem();
    const cache = new FileHandleCache(counted, 8).fileSystem;
    const file = path.join(dir, "00000000000000000000.txnindex");
    const writer = cache.open(file, true);
    writer.write(new Uint8Array(34).fill(7), 0);
    writer.close();
    assert.deepEqual(stats.events, [], "nothing synced yet");

    const syncer = cache.open(file, false);
    try {
      await syncer.datasync();
      assert.deepEqual(stats.events, ["fdatasync completed"], "the sync through the new descriptor ran an fdatasync");
      // Once that fdatasync is done and nothing new was written, the next sync needs none.
      await syncer.datasync();
      assert.deepEqual(stats.events, ["fdatasync completed"]);
    } finally {
      syncer.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
