import assert from "node:assert/strict";
import { test } from "node:test";
import * as nodeFs from "node:fs";
import { OffsetOutOfRangeError } from "../../src/storage/storage-errors.ts";
import { baseOffsetAt, batchBaseOffsets, concat, makeBatch, makeRecordsBatch } from "./batch-fixture.ts";
import { openTestLog } from "./log-fixture.ts";
import { runtimeMapsFiles, wrappedFileSystem } from "./wrapped-file-system.ts";

test("append assigns offsets and leader epoch in place and read returns the same bytes", async () => {
  const t = await openTestLog();
  try {
    const a = makeRecordsBatch(3, 1_700_000_000_000);
    const b = makeRecordsBatch(2, 1_700_000_000_100);
    const r1 = t.log.append(a, { leaderEpoch: 7 });
    assert.equal(r1.baseOffset, 0n);
    assert.equal(r1.lastOffset, 2n);
    assert.equal(r1.logAppendTimeMs, -1);
    assert.equal(baseOffsetAt(a), 0n);
    assert.equal(new DataView(a.buffer).getInt32(12), 7);
    const r2 = t.log.append(b, { leaderEpoch: 7 });
    assert.equal(r2.baseOffset, 3n);
    assert.equal(r2.lastOffset, 4n);
    assert.equal(r2.maxTimestamp, 1_700_000_000_101);
    assert.equal(r2.offsetOfMaxTimestamp, 4n);
    assert.equal(t.log.logEndOffset, 5n);
    const read = t.log.read(0n, 1 << 20, true);
    assert.deepEqual(concat(read.chunks), concat([a, b]));
    assert.equal(read.bytes, a.length + b.length);
    assert.equal(read.firstOffset, 0n);
    assert.equal(read.nextOffset, 5n);
    assert.equal(read.batches, 2);
  } finally {
    await t.cleanup();
  }
});

test("several batches in one append get consecutive offsets", async () => {
  const t = await openTestLog();
  try {
    const records = concat([makeRecordsBatch(2, 1), makeRecordsBatch(5, 2), makeRecordsBatch(1, 3)]);
    const r = t.log.append(records, { leaderEpoch: 0 });
    assert.equal(r.baseOffset, 0n);
    assert.equal(r.lastOffset, 7n);
    assert.equal(r.batches, 3);
    assert.deepEqual(batchBaseOffsets([records]), [0n, 2n, 7n]);
    assert.deepEqual(batchBaseOffsets(t.log.read(0n, 1 << 20, true).chunks), [0n, 2n, 7n]);
  } finally {
    await t.cleanup();
  }
});

test("read from an offset inside a batch returns that whole batch", async () => {
  const t = await openTestLog();
  try {
    t.log.append(makeRecordsBatch(10, 1), { leaderEpoch: 0 });
    t.log.append(makeRecordsBatch(10, 2), { leaderEpoch: 0 });
    const r = t.log.read(15n, 1 << 20, true);
    assert.deepEqual(batchBaseOffsets(r.chunks), [10n]);
    assert.equal(r.firstOffset, 10n);
    assert.equal(r.nextOffset, 20n);
  } finally {
    await t.cleanup();
  }
});

test("read never splits a batch and respects maxBytes, minOneBatch and upperBound", async () => {
  for (const allowMmap of [true, false]) {
    const { fs, probe } = wrappedFileSystem();
    probe.allowMmap = allowMmap;
    const t = await openTestLog({ segmentBytes: 3000 }, { fs });
    try {
      const sizes: number[] = [];
      for (let i = 0; i < 20; i++) {
        const batch = makeRecordsBatch(2, 1000 + i, 200);
        sizes.push(batch.length);
        t.log.append(batch, { leaderEpoch: 0 });
      }
      assert.ok(t.log.segmentCount > 3, "several segments, so sealed ones are read too");
      const one = sizes[0];
      // maxBytes just short of two batches: one batch only.
      let r = t.log.read(0n, one * 2 - 1, false);
      assert.equal(r.batches, 1);
      assert.equal(r.bytes, one);
      // maxBytes below one batch: nothing unless minOneBatch.
      r = t.log.read(4n, one - 1, false);
      assert.equal(r.batches, 0);
      assert.equal(r.chunks.length, 0);
      r = t.log.read(4n, one - 1, true);
      assert.equal(r.batches, 1);
      assert.equal(r.firstOffset, 4n);
      // A large read crosses segments but stays whole-batch.
      r = t.log.read(0n, one * 7 + 5, false);
      assert.equal(r.batches, 7);
      assert.equal(r.bytes, one * 7);
      assert.deepEqual(batchBaseOffsets(r.chunks), [0n, 2n, 4n, 6n, 8n, 10n, 12n]);
      // upperBound (high watermark) stops before a batch that reaches it.
      r = t.log.read(0n, 1 << 20, true, 9n);
      assert.deepEqual(batchBaseOffsets(r.chunks), [0n, 2n, 4n, 6n]);
      assert.equal(r.nextOffset, 8n);
      r = t.log.read(8n, 1 << 20, true, 8n);
      assert.equal(r.batches, 0);
      // Reading everything returns every batch once, one chunk per segment (not per batch).
      r = t.log.read(0n, 1 << 20, false);
      assert.equal(r.batches, 20);
      assert.equal(r.nextOffset, 40n);
      assert.equal(r.chunks.length, t.log.segmentCount);
      for (const c of r.chunks) assert.ok(c.length > 0);
      // Sealed segments are served from a memory map where the runtime has one (Bun, Deno); the active one only to reads
      // below the high watermark (none here).
      const maps = runtimeMapsFiles();
      assert.equal(probe.mmaps, allowMmap && maps ? t.log.segmentCount - 1 : 0);
    } finally {
      await t.cleanup();
    }
  }
});

test("consumer reads of the active segment use a map of its prefix, pread beyond it and above the high watermark", async () => {
  const { fs, probe } = wrappedFileSystem();
  const t = await openTestLog({}, { fs });
  const maps = runtimeMapsFiles();
  // A consumer reads up to the high watermark (the single-node broker keeps it at the log end).
  const consume = (from: bigint) => {
    t.log.highWatermark = t.log.logEndOffset;
    return t.log.read(from, 1 << 30, false, t.log.highWatermark);
  };
  try {
    const first = [0, 1, 2].map((i) => makeRecordsBatch(2, 1000 + i, 100));
    for (const b of first) t.log.append(b, { leaderEpoch: 0 });
    // A follower's read (no upper bound) may be truncated away later: it is copied, never mapped.
    assert.deepEqual(concat(t.log.read(0n, 1 << 30, false).chunks), concat(first));
    assert.equal(probe.mmaps, 0);
    const preads = probe.logReads;
    let r = consume(0n);
    assert.deepEqual(concat(r.chunks), concat(first));
    if (maps) {
      assert.equal(probe.mmaps, 1);
      assert.equal(probe.logReads, preads, "a catch-up read of the active segment copies nothing");
    }
    // Appended after the map: served by pread, and the mapped prefix still answers reads inside it.
    const later = [3, 4].map((i) => makeRecordsBatch(2, 1000 + i, 100));
    for (const b of later) t.log.append(b, { leaderEpoch: 0 });
    r = consume(6n);
    assert.deepEqual(concat(r.chunks), concat(later));
    // A read from inside the map goes on past its end (a short read here made read_committed consumers and their
    // tests see 2 of 5 batches, commit 090fdac): the mapped prefix is one view, the rest one pread.
    r = consume(0n);
    assert.deepEqual(concat(r.chunks), concat([...first, ...later]));
    assert.equal(r.nextOffset, 10n);
    if (maps) assert.equal(r.chunks.length, 2);
    // ... within the byte limit and the upper bound, as any read.
    r = t.log.read(0n, concat([...first, later[0]]).length + 10, false, t.log.highWatermark);
    assert.deepEqual(concat(r.chunks), concat([...first, later[0]]));
    r = t.log.read(2n, 1 << 30, false, 8n);
    assert.deepEqual(batchBaseOffsets(r.chunks), [2n, 4n, 6n]);
    if (maps) assert.equal(probe.mmaps, 1);
    // 16 MiB more: the next read maps the segment again and serves all of it without a copy.
    const big = Array.from({ length: 17 }, (_, i) => makeRecordsBatch(1, 2000 + i, 1 << 20));
    for (const b of big) t.log.append(b, { leaderEpoch: 0 });
    const reads = probe.logReads;
    r = consume(0n);
    assert.deepEqual(concat(r.chunks), concat([...first, ...later, ...big]));
    if (maps) {
      assert.equal(probe.mmaps, 2);
      assert.equal(probe.logReads, reads);
    }
  } finally {
    await t.cleanup();
  }
});

test("a truncation below bytes handed out as views leaves those views as they were (the file is replaced, not cut)", async () => {
  const { fs, probe } = wrappedFileSystem();
  const t = await openTestLog({}, { fs });
  const maps = runtimeMapsFiles();
  try {
    const old = [0, 1, 2].map((i) => makeRecordsBatch(2, 1000 + i, 100));
    for (const b of old) t.log.append(b, { leaderEpoch: 0 });
    t.log.highWatermark = t.log.logEndOffset;
    // A consumer's read: on Bun a view of the active segment's map, as a response queued on a socket holds it.
    const queued = t.log.read(0n, 1 << 30, false, t.log.highWatermark).chunks;
    assert.deepEqual(concat(queued), concat(old));
    if (maps) assert.equal(probe.mmaps, 1);
    // An unclean election cuts below what was handed out, and the new leader's batches take the same positions.
    t.log.truncateTo(2n);
    const replacement = [1, 2].map((i) => makeRecordsBatch(2, 5000 + i, 100));
    for (const b of replacement) t.log.append(b, { leaderEpoch: 1 });
    assert.deepEqual(concat(queued), concat(old), "the queued response still sends what it was built from");
    t.log.highWatermark = t.log.logEndOffset;
    assert.deepEqual(concat(t.log.read(0n, 1 << 30, false, t.log.highWatermark).chunks), concat([old[0], ...replacement]));
    // What is on disk is the truncated log with the new batches, and it opens clean.
    await t.reopen();
    assert.deepEqual(concat(t.log.read(0n, 1 << 30, false).chunks), concat([old[0], ...replacement]));
  } finally {
    await t.cleanup();
  }
});

test("a truncation at or above every byte handed out as a view cuts the file in place (no copy)", async () => {
  const t = await openTestLog();
  try {
    const batches = [0, 1, 2, 3].map((i) => makeRecordsBatch(2, 1000 + i, 100));
    for (const b of batches) t.log.append(b, { leaderEpoch: 0 });
    // Consumers read up to the high watermark (offset 4); the follower's truncation (a leader change) keeps that.
    t.log.highWatermark = 4n;
    assert.deepEqual(concat(t.log.read(0n, 1 << 30, false, 4n).chunks), concat(batches.slice(0, 2)));
    const logFile = `${t.dir}/00000000000000000000.log`;
    const inode = nodeFs.statSync(logFile).ino;
    t.log.truncateTo(4n);
    assert.equal(nodeFs.statSync(logFile).ino, inode, "the same file, cut");
    assert.equal(nodeFs.statSync(logFile).size, concat(batches.slice(0, 2)).length);
    // Below a handed-out view the file is replaced instead (where the runtime maps files).
    t.log.truncateTo(2n);
    assert.equal(nodeFs.statSync(logFile).ino !== inode, runtimeMapsFiles());
    assert.deepEqual(concat(t.log.read(0n, 1 << 30, false).chunks), concat(batches.slice(0, 1)));
  } finally {
    await t.cleanup();
  }
});

test("read at the log end is empty and outside the log is OFFSET_OUT_OF_RANGE", async () => {
  const t = await openTestLog();
  try {
    t.log.append(makeBatch(), { leaderEpoch: 0 });
    const r = t.log.read(1n, 1000, true);
    assert.equal(r.batches, 0);
    assert.equal(r.logEndOffset, 1n);
    assert.throws(() => t.log.read(2n, 1000, true), (e: unknown) => e instanceof OffsetOutOfRangeError && e.code === 1);
    t.log.highWatermark = t.log.logEndOffset;
    t.log.deleteRecordsBefore(1n);
    assert.throws(() => t.log.read(0n, 1000, true), OffsetOutOfRangeError);
  } finally {
    await t.cleanup();
  }
});

test("appendWithOffsets keeps given offsets and rejects ones below the log end", async () => {
  const t = await openTestLog();
  try {
    const a = makeBatch({ baseOffset: 5n, records: [{ value: new Uint8Array(3) }, { value: new Uint8Array(3) }] });
    const r = t.log.appendWithOffsets(a);
    assert.equal(r.baseOffset, 5n);
    assert.equal(t.log.logEndOffset, 7n);
    assert.throws(() => t.log.appendWithOffsets(makeBatch({ baseOffset: 6n })), /below the log end/);
    const twoOutOfOrder = concat([makeBatch({ baseOffset: 10n }), makeBatch({ baseOffset: 9n })]);
    assert.throws(() => t.log.appendWithOffsets(twoOutOfOrder), /goes backwards/);
    t.log.appendWithOffsets(makeBatch({ baseOffset: 9n }));
    assert.equal(t.log.logEndOffset, 10n);
  } finally {
    await t.cleanup();
  }
});

test("LogAppendTime topics get the append time stamped with a valid CRC", async () => {
  const t = await openTestLog({ messageTimestampType: "LogAppendTime" });
  try {
    const batch = makeRecordsBatch(2, 5);
    const r = t.log.append(batch, { leaderEpoch: 0, logAppendTimeMs: 1_234_567 });
    assert.equal(r.logAppendTimeMs, 1_234_567);
    const dv = new DataView(batch.buffer);
    assert.equal(dv.getBigInt64(35), 1_234_567n);
    assert.equal(dv.getInt16(21) & 0x08, 0x08);
    const reopened = await t.reopen({ crash: true });
    assert.equal(reopened.logEndOffset, 2n, "recovery accepts the re-computed CRC");
  } finally {
    await t.cleanup();
  }
});

test("malformed appends are rejected before anything is written", async () => {
  const t = await openTestLog();
  try {
    const b = makeBatch();
    assert.throws(() => t.log.append(b.subarray(0, b.length - 1), { leaderEpoch: 0 }), /bytes left/);
    const badMagic = makeBatch();
    badMagic[16] = 1;
    assert.throws(() => t.log.append(badMagic, { leaderEpoch: 0 }), /magic/);
    assert.equal(t.log.logEndOffset, 0n);
    assert.equal(t.log.size, 0);
  } finally {
    await t.cleanup();
  }
});
