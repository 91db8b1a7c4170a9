/**
 * Pretouch zeros (runnel.log.pretouch.bytes) go through a second, O_APPEND descriptor of the segment file
 * (src/platform/fs.ts appendZeros, src/storage/file-handle-cache.ts CachedFile.appendZeros). An open of that
 * descriptor that fails once (here: the path is briefly gone; EMFILE alike) skips those zeros only: the next zero
 * append opens it again and its zeros land, instead of the file getting none for good.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FileHandleCache } from "../../src/storage/file-handle-cache.ts";
import { countingFileSystem } from "./counting-file-system.ts";

test("a failed open of the zero-append descriptor is tried again by the next zero append", { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-pretouch-retry-"));
  try {
    const { fs: counted, stats } = countingFileSystem();
    const cache = new FileHandleCache(counted, 8);
    const file = path.join(dir, "00000000000000000000.log");
    const f = cache.fileSystem.open(file, true);
    fs.renameSync(file, `${file}.away`);
    await f.appendZeros!(4096);
    assert.equal(f.size(), 0, "the path was gone: no zeros this time");
    fs.renameSync(`${file}.away`, file);
    await f.appendZeros!(4096);
    assert.equal(f.size(), 4096, "the next zero append opened the descriptor again and its zeros landed");
    await f.appendZeros!(4096);
    assert.equal(f.size(), 8192);
    f.close();
    assert.equal(stats.open, 0);
    assert.equal(cache.openCount, 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
