/**
 * `runnel.log.pretouch.bytes` zero appends that land on a sealed segment are cut off again (Segment.zerosLanded).
 * A segment the cleaner swapped out while its zeros were still landing is closed once they land, and its files
 * were renamed away: the path it cuts through now names the cleaned segment that replaced it. With its descriptor
 * evicted by `log.open.files.max`, the cut reopened that path and shortened the live cleaned segment to the old
 * segment's size: its records past that were lost, and a map of it already taken would fault past the cut (SIGBUS
 * where the broker reads the bytes; docs/storage-views.md). A segment that is closing no longer cuts its file.
 */
import assert from "node:assert/strict";
import * as nodeFs from "node:fs";
import { setImmediate } from "node:timers";
import { test } from "node:test";
import { FileHandleCache } from "../../src/storage/file-handle-cache.ts";
import { openTestLog } from "./log-fixture.ts";
import { keyedBatch } from "./log-cleaner-records.ts";
import { wrappedFileSystem } from "./wrapped-file-system.ts";

/** Records appended: one of 40 KB per batch (a bulk append, which keeps zeros coming ahead), unique keys. */
const RECORDS = 80;
/** A segment rolls (segment.ms) after this many records, so the cleaner merges the small sealed segments into one. */
const PER_SEGMENT = 20;

test("zeros that land after a compaction swapped their segment out leave the cleaned segment whole", async () => {
  const { fs, probe } = wrappedFileSystem();
  // A small bound: files not in use get their descriptors closed, and are reopened by path on their next use.
  const cache = new FileHandleCache(fs, 16);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  probe.zeroAppendGate = () => gate;
  const t = await openTestLog({ cleanupPolicy: ["compact"], segmentBytes: 64 << 20, segmentMs: 1000 }, { fs: cache.fileSystem, pretouchBytes: 4 << 20 });
  try {
    for (let i = 0; i < RECORDS; i++) {
      if (i % PER_SEGMENT === PER_SEGMENT - 1) t.clock.advance(2000);
      t.log.append(keyedBatch([{ k: `k${i}`, v: "x".repeat(40_000) }], { ts: t.clock.nowMs() + i }), { leaderEpoch: 0 });
    }
    t.log.highWatermark = t.log.logEndOffset;
    assert.ok(t.log.segmentCount >= 4, `segments ${t.log.segmentBaseOffsets()}`);
    assert.ok(probe.zeroAppends > 0 && probe.zeroAppendsDone === 0, "zeros asked for and held");
    // Other files take every descriptor: the segments' files are closed, to be reopened by path.
    for (let i = 0; i < 20; i++) cache.fileSystem.open(`${t.dir}/other-${i}`, true);
    const first = `${t.dir}/00000000000000000000.log`;
    const before = nodeFs.statSync(first);
    const r = await t.log.compact();
    assert.ok(r !== null && r.segmentsBefore > 1 && r.segmentsAfter === 1, `compaction merged the sealed segments: ${JSON.stringify(r, (_, v) => (typeof v === "bigint" ? String(v) : v))}`);
    const cleaned = nodeFs.statSync(first);
    assert.notEqual(cleaned.ino, before.ino, "the cleaned segment replaced the first one");
    assert.ok(cleaned.size > before.size);
    release();
    while (probe.zeroAppendsDone < probe.zeroAppends) await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve)); // the segments' own callbacks run after the file system's
    assert.equal(nodeFs.statSync(first).size, cleaned.size, "the cleaned segment's file kept its size");
    const read = t.log.read(0n, 1 << 30, true);
    assert.equal(read.nextOffset, BigInt(RECORDS), "every record reads back");
  } finally {
    release();
    await t.cleanup();
  }
});
