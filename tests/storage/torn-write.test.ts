import assert from "node:assert/strict";
import * as nodeFs from "node:fs";
import { test } from "node:test";
import { LogStorageError } from "../../src/storage/storage-errors.ts";
import { concat, makeRecordsBatch } from "./batch-fixture.ts";
import { openTestLog } from "./log-fixture.ts";
import { wrappedFileSystem } from "./wrapped-file-system.ts";

test("a write that fails halfway leaves a log that recovers to the last whole batch", async () => {
  const { fs, probe } = wrappedFileSystem();
  const t = await openTestLog({}, { fs });
  try {
    for (let i = 0; i < 5; i++) t.log.append(makeRecordsBatch(2, i, 50), { leaderEpoch: 0 });
    await t.log.sync();
    const goodSize = t.log.size;
    const two = concat([makeRecordsBatch(2, 10, 50), makeRecordsBatch(2, 11, 50)]);
    probe.tearNextLogWriteAt = Math.floor(two.length * 0.75); // first batch whole, second torn
    assert.throws(() => t.log.append(two, { leaderEpoch: 0 }), (e: unknown) => e instanceof LogStorageError && e.code === 56);
    assert.equal(t.log.logEndOffset, 10n, "the failed append is not acknowledged");
    assert.ok(t.log.isOffline);
    const path = `${t.dir}/00000000000000000000.log`;
    assert.ok(nodeFs.statSync(path).size > goodSize, "torn bytes are on disk");
    const log = await t.reopen({ crash: true });
    // The whole first batch of the torn append survives (it was fully written), the torn one is cut.
    assert.equal(log.logEndOffset, 12n);
    assert.equal(nodeFs.statSync(path).size, goodSize + two.length / 2);
    assert.equal(log.read(0n, 1 << 20, false).batches, 6);
    assert.equal(log.append(makeRecordsBatch(1, 1), { leaderEpoch: 0 }).baseOffset, 12n);
  } finally {
    await t.cleanup();
  }
});

test("a write torn inside the first batch header recovers to the previous batch", async () => {
  const { fs, probe } = wrappedFileSystem();
  const t = await openTestLog({}, { fs });
  try {
    for (let i = 0; i < 3; i++) t.log.append(makeRecordsBatch(2, i, 50), { leaderEpoch: 0 });
    probe.tearNextLogWriteAt = 20;
    assert.throws(() => t.log.append(makeRecordsBatch(2, 9, 50), { leaderEpoch: 0 }), LogStorageError);
    const log = await t.reopen({ crash: true });
    assert.equal(log.logEndOffset, 6n);
  } finally {
    await t.cleanup();
  }
});
