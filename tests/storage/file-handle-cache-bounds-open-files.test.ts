/**
 * log.open.files.max: the logs never hold more descriptors than the bound; idle files are closed and reopened on
 * use with their data intact, a file in an fdatasync is never closed under it, and the budget at start names the
 * open-files limit and what is needed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FileHandleCache, logOpenFilesBudget, MIN_LOG_OPEN_FILES, RESERVED_FDS } from "../../src/storage/file-handle-cache.ts";
import { openTestLog } from "./log-fixture.ts";
import { countingFileSystem } from "./counting-file-system.ts";
import { makeRecordsBatch } from "./batch-fixture.ts";

test("50 files through a cache of 8: at most 8 descriptors, every byte read back after reopening", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-fdcache-"));
  const { fs: counted, stats } = countingFileSystem();
  const cache = new FileHandleCache(counted, 8);
  try {
    const files = Array.from({ length: 50 }, (_, i) => cache.fileSystem.open(path.join(dir, `f${i}`), true));
    for (let round = 0; round < 3; round++) {
      files.forEach((f, i) => f.write(new TextEncoder().encode(`${i}:${round};`), f.size()));
    }
    await Promise.all(files.map((f) => f.datasync()));
    files.forEach((f, i) => {
      const buf = new Uint8Array(f.size());
      f.read(buf, 0);
      assert.equal(new TextDecoder().decode(buf), `${i}:0;${i}:1;${i}:2;`);
    });
    assert.ok(stats.maxOpen <= 8, `at most 8 open, saw ${stats.maxOpen}`);
    assert.ok(cache.evictions > 0);
    for (const f of files) f.close();
    assert.equal(stats.open, 0);
    assert.equal(cache.openCount, 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a file in an fdatasync is not closed to make room; the bound holds again once it is done", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-fdcache-"));
  const { fs: counted, stats } = countingFileSystem();
  const cache = new FileHandleCache(counted, 2);
  try {
    const a = cache.fileSystem.open(path.join(dir, "a"), true);
    a.write(new Uint8Array([1]), 0);
    let release!: () => void;
    stats.hold = new Promise((r) => (release = r));
    const syncing = a.datasync();
    const others = Array.from({ length: 5 }, (_, i) => cache.fileSystem.open(path.join(dir, `o${i}`), true));
    assert.equal(stats.syncingClosed, 0, "the syncing file stayed open");
    release();
    stats.hold = null;
    await syncing;
    others[0].size();
    others[1].size();
    assert.ok(stats.open <= 2, `back within the bound: ${stats.open}`);
    for (const f of [a, ...others]) f.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("200 partition logs appended and read through a cache of 32 hold at most 32 descriptors", async () => {
  const { fs: counted, stats } = countingFileSystem();
  const cache = new FileHandleCache(counted, 32);
  const logs = [];
  for (let i = 0; i < 200; i++) logs.push(await openTestLog({}, { fs: cache.fileSystem }));
  try {
    for (const t of logs) t.log.append(makeRecordsBatch(3, 1_700_000_000_000), { leaderEpoch: 0 });
    await Promise.all(logs.map((t) => t.log.sync()));
    for (const t of logs) {
      t.log.highWatermark = t.log.logEndOffset;
      assert.equal(t.log.read(0n, 1 << 20, true).batches, 1);
    }
    assert.ok(stats.maxOpen <= 32, `at most 32 open, saw ${stats.maxOpen}`);
  } finally {
    for (const t of logs) await t.cleanup();
  }
});

test("the budget: half of what the reserve leaves by default, and a message naming the limit and the need", () => {
  assert.equal(logOpenFilesBudget(20_000, null), Math.floor((20_000 - RESERVED_FDS) / 2));
  assert.equal(logOpenFilesBudget(null, null), 10_000);
  assert.equal(logOpenFilesBudget(1024, 500), 500);
  const tooMany = logOpenFilesBudget(1024, 5000);
  assert.equal(typeof tooMany, "string");
  assert.match(tooMany as string, /open-files limit \(ulimit -n\) is 1024/);
  assert.match(tooMany as string, new RegExp(`at least ${5000 + RESERVED_FDS + MIN_LOG_OPEN_FILES}`));
  assert.match(logOpenFilesBudget(50, null) as string, /ulimit -n/);
  assert.equal(typeof logOpenFilesBudget(1024, 3), "string");
});

test("zero appends' second descriptors count in the bound: no zeros without room, idle files closed for them", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-fdcache-"));
  const { fs: counted, stats } = countingFileSystem();
  const cache = new FileHandleCache(counted, 8);
  try {
    let release!: () => void;
    stats.holdZeros = new Promise((r) => (release = r));
    const files = Array.from({ length: 4 }, (_, i) => cache.fileSystem.open(path.join(dir, `z${i}`), true));
    const landing = files.map((f) => f.appendZeros!(4096));
    assert.equal(cache.openCount, 4 + 2, "two of the four got a second descriptor: a quarter of the bound");
    const more = Array.from({ length: 6 }, (_, i) => cache.fileSystem.open(path.join(dir, `m${i}`), true));
    more.forEach((f) => f.write(new Uint8Array([1]), 0));
    assert.ok(stats.maxOpen <= 8, `at most 8 descriptors while zeros land, saw ${stats.maxOpen}`);
    release();
    stats.holdZeros = null;
    await Promise.all(landing);
    assert.deepEqual(files.map((f) => f.size()), [4096, 4096, 0, 0], "the zeros that had room landed");
    assert.ok(cache.openCount <= 8);
    for (const f of [...files, ...more]) f.close();
    assert.equal(stats.open, 0);
    assert.equal(cache.openCount, 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
