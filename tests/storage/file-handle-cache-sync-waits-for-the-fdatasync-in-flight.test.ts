/**
 * A file of the file-handle cache (`log.open.files.max`) asked to sync with nothing written since its last fdatasync
 * started answers only once that fdatasync has completed, and fails if it fails: the flush of a log with
 * `log.preallocate` finds its segment clean while the zero fill's fdatasync is still running, and must not answer
 * acks=all before it (the deterministic simulation lost acknowledged records so, tests/sim seeds 3, 13, 18).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { FileHandle } from "../../src/platform/fs.ts";
import { FileHandleCache } from "../../src/storage/file-handle-cache.ts";
import { countingFileSystem } from "./counting-file-system.ts";

/**
 * Runs `body` with one written file of a cache whose fdatasyncs wait until `release` is called (and fail if
 * `stats.failSync` is set then).
 */
async function withHeldSync(body: (f: FileHandle, stats: ReturnType<typeof countingFileSystem>["stats"], release: () => void) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-fdcache-sync-"));
  const { fs: counted, stats } = countingFileSystem();
  const f = new FileHandleCache(counted, 8).fileSystem.open(path.join(dir, "a.log"), true);
  try {
    f.write(new Uint8Array([1, 2, 3]), 0);
    let release!: () => void;
    stats.hold = new Promise((r) => (release = r));
    await body(f, stats, release);
  } finally {
    f.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test("a sync with nothing written since the fdatasync in flight answers after that fdatasync completes", async () => {
  await withHeldSync(async (f, stats, release) => {
    const first = f.datasync().then(() => stats.events.push("first answered"));
    const second = f.datasync().then(() => stats.events.push("second answered"));
    release();
    await Promise.all([first, second]);
    assert.deepEqual(stats.events, ["fdatasync completed", "first answered", "second answered"]);
    // Once that fdatasync is done, a clean file needs none: nothing new is started.
    await f.datasync();
    assert.deepEqual(stats.events, ["fdatasync completed", "first answered", "second answered"]);
  });
});

test("a sync that waits for the fdatasync in flight fails when it fails, and the next one syncs again", async () => {
  await withHeldSync(async (f, stats, release) => {
    stats.failSync = true;
    const first = f.datasync();
    const second = f.datasync();
    release();
    await assert.rejects(first, /injected fdatasync failure/);
    await assert.rejects(second, /injected fdatasync failure/);
    stats.hold = null;
    stats.failSync = false;
    await f.datasync();
    assert.deepEqual(stats.events, ["fdatasync completed"], "the data the failed fdatasync left unsynced is synced by the next call");
  });
});
