/**
 * `runnel.log.pretouch.bytes`: bulk appends keep written zeros ahead of the active segment's end (appended by the
 * thread pool, O_APPEND), so the next appends overwrite cached pages. The zeros are never part of the log: reads end
 * at the last batch, a clean close and a roll cut them off (zeros that land after the roll too, before the sealed
 * segment's flush), a truncation cuts them, and a crash that leaves them recovers every record. Small appends, and
 * appends right after a flush was asked for (acks=all), start none.
 */
import assert from "node:assert/strict";
import * as nodeFs from "node:fs";
import { test } from "node:test";
import { ZERO_APPEND_MAX_BYTES } from "../../src/platform/fs.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import { makeRecordsBatch } from "./batch-fixture.ts";
import { openTestLog, type TestLog } from "./log-fixture.ts";
import { wrappedFileSystem, type FileSystemProbe } from "./wrapped-file-system.ts";

const FIRST = "00000000000000000000.log";
const CHUNK = ZERO_APPEND_MAX_BYTES;
const AHEAD = 4 * CHUNK;
/** One record of this many bytes makes a batch above PRETOUCH_MIN_APPEND_BYTES. */
const BULK_VALUE_BYTES = 40_000;

/** Appends `n` bulk batches of one record each; returns the bytes appended. */
function bulk(t: TestLog, n: number): number {
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const b = makeRecordsBatch(1, t.clock.nowMs() + i, BULK_VALUE_BYTES);
    bytes += b.length;
    t.log.append(b, { leaderEpoch: 0 });
  }
  return bytes;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 30_000 && !cond(); i++) await new Promise((r) => setTimeout(r, 1));
  assert.ok(cond(), `${what}: not reached`);
}

/** Waits until every zero append asked for has landed. */
function landed(probe: FileSystemProbe): Promise<void> {
  return until(() => probe.zeroAppendsDone === probe.zeroAppends, "zero appends landed");
}

/** Whether the file holds only zeros from `from` to its end. */
function zerosFrom(path: string, from: number): boolean {
  const bytes = nodeFs.readFileSync(path).subarray(from);
  return bytes.every((b) => b === 0);
}

test("bulk appends keep written zeros ahead of the log end; reads end at the last batch; a clean close cuts them off", async () => {
  const { fs, probe } = wrappedFileSystem();
  const t = await openTestLog({}, { fs, pretouchBytes: AHEAD });
  const path = `${t.dir}/${FIRST}`;
  try {
    let bytes = bulk(t, 10);
    assert.equal(probe.zeroAppends, AHEAD / CHUNK, "the first bulk append asks for the whole space ahead, a chunk per write");
    await landed(probe);
    const size = nodeFs.statSync(path).size;
    assert.ok(size >= bytes + AHEAD - CHUNK, `zeros ahead of the ${bytes} bytes of batches: file of ${size} bytes`);
    assert.ok(zerosFrom(path, bytes), "only zeros after the last batch");
    bytes += bulk(t, 40); // 1.6 MB more: over the zeros, and more zeros ahead of them
    assert.ok(probe.zeroAppends > AHEAD / CHUNK, "the space ahead is refilled as appends use it");
    await landed(probe);
    assert.ok(nodeFs.statSync(path).size >= bytes + AHEAD - CHUNK);
    assert.ok(zerosFrom(path, bytes));
    assert.equal(t.log.read(0n, 1 << 26, false).batches, 50, "reads end at the last batch, not in the zeros");
    const log = await t.reopen();
    assert.equal(nodeFs.statSync(path).size, bytes, "a clean close cuts the zeros off");
    assert.equal(log.logEndOffset, 50n);
    assert.equal(log.read(0n, 1 << 26, false).batches, 50);
  } finally {
    await t.cleanup();
  }
});

test("small appends, and bulk appends right after a flush was asked for, append no zeros", async () => {
  const { fs, probe } = wrappedFileSystem();
  const t = await openTestLog({}, { fs, pretouchBytes: AHEAD });
  const path = `${t.dir}/${FIRST}`;
  try {
    let bytes = 0;
    for (let i = 0; i < 50; i++) {
      const b = makeRecordsBatch(3, t.clock.nowMs() + i, 100);
      bytes += b.length;
      t.log.append(b, { leaderEpoch: 0 });
    }
    assert.equal(probe.zeroAppends, 0, "appends below PRETOUCH_MIN_APPEND_BYTES start no zeros");
    assert.equal(nodeFs.statSync(path).size, bytes);
    await t.log.sync(); // as an acks=all produce does
    bulk(t, 40);
    assert.equal(probe.zeroAppends, 0, "an fdatasync soon would write the zeros out too: none are appended");
    t.clock.advance(1000);
    bulk(t, 1);
    assert.equal(probe.zeroAppends, AHEAD / CHUNK, "a second without flushes: bulk appends warm the space ahead again");
    await landed(probe);
  } finally {
    await t.cleanup();
  }
});

test("zeros that land after a roll sealed the segment are cut off before the sealed segment's fdatasync", async () => {
  const { fs, probe } = wrappedFileSystem();
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  probe.zeroAppendGate = () => held;
  const asked: { path: string; size: number }[] = [];
  probe.onLogDatasyncAsked = (path, size) => void asked.push({ path, size });
  const segmentBytes = 2 * CHUNK;
  const t = await openTestLog({ segmentBytes }, { fs, pretouchBytes: AHEAD });
  const path = `${t.dir}/${FIRST}`;
  try {
    const batch = makeRecordsBatch(1, t.clock.nowMs(), BULK_VALUE_BYTES).length;
    const perSegment = Math.floor(segmentBytes / batch);
    bulk(t, perSegment + 1); // the last one rolls
    assert.equal(probe.zeroAppends, 4, "each segment asks for zeros up to segment.bytes, not beyond: a whole chunk and the rest");
    assert.equal(t.log.logEndOffset, BigInt(perSegment + 1));
    assert.equal(nodeFs.statSync(path).size, perSegment * batch, "the seal cut the file at its last batch");
    assert.ok(!asked.some((a) => a.path === path), "the roll's flush waits for the zeros still in flight before the sealed segment's fdatasync");
    const flushed = t.log.sync();
    release(); // the zeros land now, at the sealed file's end
    await flushed;
    const sealed = asked.filter((a) => a.path === path);
    assert.ok(sealed.length > 0, "the sealed segment was fdatasynced");
    for (const a of sealed) assert.equal(a.size, perSegment * batch, "only after its late zeros were cut off again");
    await landed(probe);
    assert.equal(nodeFs.statSync(path).size, perSegment * batch);
    assert.equal(t.log.recoveryPoint, BigInt(perSegment + 1));
    const log = await t.reopen({ crash: true });
    assert.equal(log.logEndOffset, BigInt(perSegment + 1));
    assert.equal(log.read(0n, 1 << 26, false).batches, perSegment + 1, "every batch reads back, across the sealed segment's end");
  } finally {
    release();
    await t.cleanup();
  }
});

test("a crash that leaves zeros ahead recovers every record, and appends continue at the end", async () => {
  const { fs, probe } = wrappedFileSystem();
  const t = await openTestLog({}, { fs, pretouchBytes: AHEAD });
  const path = `${t.dir}/${FIRST}`;
  try {
    const bytes = bulk(t, 20);
    await t.log.sync();
    await landed(probe);
    assert.ok(nodeFs.statSync(path).size > bytes);
    const log = await t.reopen({ crash: true });
    assert.equal(log.logEndOffset, 20n);
    assert.equal(log.read(0n, 1 << 26, false).batches, 20);
    assert.equal(nodeFs.statSync(path).size, bytes, "recovery cut the zeros off");
    assert.equal(log.append(makeRecordsBatch(1, 1), { leaderEpoch: 0 }).baseOffset, 20n);
  } finally {
    await t.cleanup();
  }
});

test("a truncation with zeros ahead cuts them off and appends continue from the cut", async () => {
  const { fs, probe } = wrappedFileSystem();
  const t = await openTestLog({}, { fs, pretouchBytes: AHEAD });
  const path = `${t.dir}/${FIRST}`;
  try {
    const bytes = bulk(t, 20);
    await landed(probe);
    assert.ok(nodeFs.statSync(path).size > bytes, "zeros ahead before the truncation");
    t.log.truncateTo(10n);
    const kept = nodeFs.statSync(path).size;
    assert.equal(t.log.read(0n, 1 << 26, false).batches, 10);
    assert.equal(kept, 10 * makeRecordsBatch(1, 0, BULK_VALUE_BYTES).length, "the file ends at the last kept batch");
    assert.equal(t.log.append(makeRecordsBatch(1, t.clock.nowMs(), BULK_VALUE_BYTES), { leaderEpoch: 0 }).baseOffset, 10n);
    await landed(probe);
    const log = await t.reopen();
    assert.equal(log.logEndOffset, 11n);
    assert.equal(log.read(0n, 1 << 26, false).batches, 11);
  } finally {
    await t.cleanup();
  }
});

test("a clean close with zeros still in flight waits for them, then cuts them off", async () => {
  const { fs, probe } = wrappedFileSystem();
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  probe.zeroAppendGate = () => held;
  const t = await openTestLog({}, { fs, pretouchBytes: AHEAD });
  const path = `${t.dir}/${FIRST}`;
  try {
    const bytes = bulk(t, 5);
    assert.equal(probe.zeroAppendsDone, 0);
    let closed = false;
    const closing = t.log.close().then(() => void (closed = true));
    release();
    await closing;
    assert.ok(closed);
    assert.equal(probe.zeroAppendsDone, probe.zeroAppends, "close waited for every zero append");
    assert.equal(nodeFs.statSync(path).size, bytes, "and cut the zeros off after they landed");
    const log = await t.reopen({ crash: true });
    assert.equal(log.logEndOffset, 5n);
  } finally {
    release();
    await t.cleanup();
  }
});

/** A manual clock whose wall-clock time can be set back (an NTP step) while its monotonic time goes on. */
class SteppedClock extends ManualClock {
  setBackMs = 0;
  override nowMs(): number {
    return super.nowMs() - this.setBackMs;
  }
}

test("the pause after a flush is measured on the monotonic clock: a wall clock set back does not stretch it", async () => {
  const { fs, probe } = wrappedFileSystem();
  const clock = new SteppedClock();
  const t = await openTestLog({}, { fs, pretouchBytes: AHEAD, clock });
  try {
    await t.log.sync();
    clock.advance(1000);
    clock.setBackMs = 3_600_000; // the wall clock is stepped back an hour
    bulk(t, 1);
    assert.equal(probe.zeroAppends, AHEAD / CHUNK, "a second after the flush, bulk appends warm the space ahead again");
    await landed(probe);
  } finally {
    await t.cleanup();
  }
});
