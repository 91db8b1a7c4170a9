/**
 * A read of the active segment by pread starts at the batch it wants when the offset index knows where that batch
 * starts (its entry's batch directly follows the batch of the entry before): one pread of the `.log`, not a header
 * walk from the entry before (a pread of up to 16 KiB of a batch the read does not want) and then the read. Reads
 * at every offset, with limits big and small, return exactly the batches Kafka's rules give (first batch whose last
 * offset is >= the fetch offset, whole batches within maxBytes, one at least with minOneBatch, none at or past the
 * upper bound), also where batches are smaller than index.interval.bytes and not every batch has an entry, and after
 * a truncation and a reopen (entries loaded from the file know no batch starts).
 */
import assert from "node:assert/strict";
import * as nodeFs from "node:fs";
import { test } from "node:test";
import { type FileHandle, type FileSystem, nodeFileSystem } from "../../src/platform/fs.ts";
import { makeRecordsBatch } from "./batch-fixture.ts";
import { openTestLog, type TestLog } from "./log-fixture.ts";

const STEM = "00000000000000000000";

/** The real file system, counting preads of `.log` files. */
function countingReads() {
  const stats = { logReads: 0, logBytesRead: 0 };
  const wrap = (h: FileHandle): FileHandle =>
    h.path.endsWith(".log")
      ? {
          ...h,
          path: h.path,
          size: () => h.size(),
          read: (b, p) => {
            stats.logReads++;
            const n = h.read(b, p);
            stats.logBytesRead += n;
            return n;
          },
          write: (b, p) => h.write(b, p),
          writev: (b, p) => h.writev(b, p),
          datasync: () => h.datasync(),
          datasyncNow: () => h.datasyncNow(),
          truncate: (n) => h.truncate(n),
          appendZeros: h.appendZeros === undefined ? undefined : (n) => h.appendZeros!(n),
          close: () => h.close(),
        }
      : h;
  const fs: FileSystem = { ...nodeFileSystem, open: (p, c) => wrap(nodeFileSystem.open(p, c)), openRead: (p) => wrap(nodeFileSystem.openRead(p)) };
  return { fs, stats };
}

interface Batch {
  position: number;
  size: number;
  base: bigint;
  last: bigint;
}

/** Appends batches of the given value sizes; returns where each landed. */
function appendBatches(t: TestLog, valueBytes: number[], records = 3): Batch[] {
  const out: Batch[] = [];
  let position = t.log.size; // one segment: the .log size
  for (let i = 0; i < valueBytes.length; i++) {
    const batch = makeRecordsBatch(records, 1_700_000_000_000 + i, valueBytes[i]);
    const r = t.log.append(batch, { leaderEpoch: 0 });
    out.push({ position, size: batch.length, base: r.baseOffset, last: r.lastOffset });
    position += batch.length;
  }
  return out;
}

/** Checks reads at every offset against Kafka's rules, with the `.log` bytes as they are on disk. */
function checkEveryRead(t: TestLog, batches: Batch[]): void {
  const file = nodeFs.readFileSync(`${t.dir}/${STEM}.log`);
  const leo = batches[batches.length - 1].last + 1n;
  for (let offset = batches[0].base; offset < leo; offset++) {
    for (const [maxBytes, minOne, bound] of [
      [1 << 20, false, undefined],
      [1 << 20, true, offset + 4n],
      [batches[0].size + 10, false, undefined],
      [70, true, undefined],
      [70, false, undefined],
      [0, true, undefined],
    ] as const) {
      const r = t.log.read(offset, maxBytes, minOne, bound);
      const first = batches.findIndex((b) => b.last >= offset);
      const limit = bound === undefined || bound > leo ? leo : bound;
      let bytes = 0;
      let n = 0;
      for (let k = first; k < batches.length; k++) {
        const b = batches[k];
        if (b.last >= limit) break;
        if (bytes + b.size > maxBytes && !(minOne && n === 0)) break;
        bytes += b.size;
        n++;
      }
      const what = `read(${offset}, ${maxBytes}, ${minOne}, ${bound})`;
      assert.equal(r.batches, n, what);
      assert.equal(r.bytes, bytes, what);
      const got = Buffer.concat(r.chunks);
      const start = n > 0 ? batches[first].position : 0;
      assert.ok(got.equals(file.subarray(start, start + bytes)), `${what}: bytes as on disk`);
    }
  }
}

test("a read of the batch after an indexed batch, both with entries, is one pread of the .log, and stops at the upper bound", async () => {
  const { fs, stats } = countingReads();
  // index.interval.bytes below the batch size: every batch but the first gets an entry.
  const t = await openTestLog({ indexIntervalBytes: 512 }, { fs });
  try {
    const batches = appendBatches(t, Array.from({ length: 12 }, () => 400));
    for (let k = 2; k < batches.length; k++) {
      const before = stats.logReads;
      const r = t.log.read(batches[k].base, 1 << 20, true);
      assert.equal(r.firstOffset, batches[k].base);
      assert.equal(stats.logReads - before, 1, `read at batch ${k}: one pread`);
    }
    // Below an upper bound (the high watermark, acks=all) the pread ends where the batch reaching the bound starts.
    for (let k = 2; k + 3 < batches.length; k++) {
      const before = stats.logBytesRead;
      const r = t.log.read(batches[k].base, 1 << 20, true, batches[k + 2].base);
      assert.equal(r.batches, 2);
      assert.equal(stats.logBytesRead - before, batches[k].size + batches[k + 1].size, `read at batch ${k} below batch ${k + 2}: its two batches' bytes`);
    }
    checkEveryRead(t, batches);
  } finally {
    await t.cleanup();
  }
});

test("reads where only some batches have entries, after a truncation, and after a reopen return Kafka's batches", async () => {
  const t = await openTestLog({ indexIntervalBytes: 2048 });
  try {
    // Sizes from ~100 bytes to ~5 KB: runs of unindexed batches between entries, and entries that follow entries.
    const sizes = Array.from({ length: 60 }, (_, i) => [30, 1600, 5000, 200, 700, 2500][(i * 7) % 6] + i);
    let batches = appendBatches(t, sizes);
    checkEveryRead(t, batches);
    // Cut the log inside the run of batches: the index drops its later entries, appends index again from there.
    const cut = batches[37];
    t.log.truncateTo(cut.base);
    batches = batches.slice(0, 37);
    batches.push(...appendBatches(t, sizes.slice(0, 20)));
    checkEveryRead(t, batches);
    await t.reopen();
    batches.push(...appendBatches(t, sizes.slice(20, 35)));
    checkEveryRead(t, batches);
  } finally {
    await t.cleanup();
  }
});
