/**
 * `preallocate` (log.preallocate): the active segment keeps zero-filled, fdatasynced space ahead of its end, so
 * appends overwrite allocated blocks instead of growing the file; close cuts the zeros off; a crash that leaves a
 * zero tail (on the active segment, or on a sealed one whose cut was lost) recovers every record and keeps the
 * segments after it.
 */
import assert from "node:assert/strict";
import * as nodeFs from "node:fs";
import { test } from "node:test";
import { PREALLOCATE_CHUNK_BYTES } from "../../src/storage/segment.ts";
import { batchBaseOffsets, makeRecordsBatch } from "./batch-fixture.ts";
import { openTestLog, type TestLog } from "./log-fixture.ts";
import { wrappedFileSystem } from "./wrapped-file-system.ts";

const STEM = "00000000000000000000";

/** Appends `n` batches of 3 records; returns the bytes appended. */
function fill(t: TestLog, n: number): number {
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const b = makeRecordsBatch(3, t.clock.nowMs() + i, 100);
    bytes += b.length;
    t.log.append(b, { leaderEpoch: 0 });
  }
  return bytes;
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 30_000 && !cond(); i++) await new Promise((r) => setTimeout(r, 1));
  assert.ok(cond(), "condition not reached");
}

test("with preallocate, appends land in zero-filled space made durable ahead of them, and close cuts it off", async () => {
  const { fs, probe } = wrappedFileSystem();
  const t = await openTestLog({ preallocate: true }, { fs });
  const path = `${t.dir}/${STEM}.log`;
  try {
    let completed = 0;
    probe.onLogDatasynced = () => void completed++;
    let bytes = fill(t, 1);
    assert.equal(nodeFs.statSync(path).size, bytes + PREALLOCATE_CHUNK_BYTES, "one chunk of zeros written ahead of the first batch");
    await until(() => completed === 1); // the zeros' fdatasync
    const preallocated = nodeFs.statSync(path).size;
    bytes += fill(t, 50);
    assert.equal(nodeFs.statSync(path).size, preallocated, "later appends overwrite the zeros instead of growing the file");
    await t.log.sync();
    assert.equal(t.log.recoveryPoint, 153n);
    assert.equal(t.log.read(0n, 1 << 22, false).batches, 51, "reads end at the last batch, not in the zeros");
    const log = await t.reopen();
    assert.equal(nodeFs.statSync(path).size, bytes, "a clean close cuts the zeros off");
    assert.equal(log.logEndOffset, 153n);
    assert.equal(log.read(0n, 1 << 22, false).batches, 51);
  } finally {
    probe.onLogDatasynced = null;
    await t.cleanup();
  }
});

test("without preallocate the file ends at the last batch", async () => {
  const t = await openTestLog({});
  try {
    const bytes = fill(t, 3);
    assert.equal(nodeFs.statSync(`${t.dir}/${STEM}.log`).size, bytes);
  } finally {
    await t.cleanup();
  }
});

test("a crash leaving a preallocated zero tail recovers every record, and appends continue at the end", async () => {
  const t = await openTestLog({ preallocate: true });
  const path = `${t.dir}/${STEM}.log`;
  try {
    const bytes = fill(t, 20);
    await t.log.sync();
    assert.ok(nodeFs.statSync(path).size > bytes);
    const log = await t.reopen({ crash: true });
    assert.equal(log.logEndOffset, 60n);
    assert.equal(log.read(0n, 1 << 22, false).batches, 20);
    assert.equal(nodeFs.statSync(path).size, bytes, "recovery cut the zeros off");
    assert.equal(log.append(makeRecordsBatch(1, 1), { leaderEpoch: 0 }).baseOffset, 60n);
  } finally {
    await t.cleanup();
  }
});

test("a sealed segment whose zero tail survived a crash keeps the segments after it", async () => {
  const t = await openTestLog({ segmentBytes: 2000 });
  try {
    fill(t, 20);
    await t.log.close();
    const first = `${t.dir}/${STEM}.log`;
    const size = nodeFs.statSync(first).size;
    // A power cut lost the cut of the preallocated tail: the sealed segment ends in zeros.
    nodeFs.truncateSync(first, size + 64 * 1024);
    const log = await t.reopen({ crash: true });
    assert.equal(log.logEndOffset, 60n, "the segments after it are still there");
    assert.deepEqual(batchBaseOffsets(log.read(0n, 1 << 22, false).chunks).length, 20);
    assert.equal(nodeFs.statSync(first).size, size);
  } finally {
    await t.cleanup();
  }
});
