import assert from "node:assert/strict";
import { test } from "node:test";
import { LogStorageError } from "../../src/storage/storage-errors.ts";
import { makeRecordsBatch } from "./batch-fixture.ts";
import { openTestLog } from "./log-fixture.ts";
import { wrappedFileSystem } from "./wrapped-file-system.ts";

test("concurrent sync() calls share fdatasyncs (group commit) and move the recovery point", async () => {
  const { fs, probe } = wrappedFileSystem();
  const t = await openTestLog({}, { fs });
  try {
    const N = 50;
    const waits: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      t.log.append(makeRecordsBatch(1, i), { leaderEpoch: 0 });
      waits.push(t.log.sync());
    }
    assert.equal(t.log.recoveryPoint, 0n, "nothing is durable before the fdatasync completes");
    const before = probe.logDatasyncs;
    await Promise.all(waits);
    const used = probe.logDatasyncs - before;
    assert.ok(used <= 2, `${N} sync() calls used ${used} fdatasyncs`);
    assert.ok(used >= 1);
    assert.equal(t.log.recoveryPoint, BigInt(N));
  } finally {
    await t.cleanup();
  }
});

test("a caller arriving during an fdatasync waits for the next one, which covers its data", async () => {
  const { fs, probe } = wrappedFileSystem();
  const t = await openTestLog({}, { fs });
  try {
    t.log.append(makeRecordsBatch(1, 1), { leaderEpoch: 0 });
    const first = t.log.sync();
    t.log.append(makeRecordsBatch(1, 2), { leaderEpoch: 0 });
    let secondDone = false;
    const second = t.log.sync().then(() => (secondDone = true));
    const third = t.log.sync();
    await first;
    assert.equal(t.log.recoveryPoint >= 1n, true);
    await Promise.all([second, third]);
    assert.ok(secondDone);
    assert.equal(t.log.recoveryPoint, 2n);
    assert.equal(probe.logDatasyncs, 2);
    // Nothing new: sync is free.
    await t.log.sync();
    assert.equal(probe.logDatasyncs, 2);
  } finally {
    await t.cleanup();
  }
});

/** A datasync gate whose calls the test releases one by one. */
function heldDatasyncs() {
  const held: (() => void)[] = [];
  const failures: ((e: Error) => void)[] = [];
  const gate = () =>
    new Promise<void>((resolve, reject) => {
      held.push(resolve);
      failures.push(reject);
    });
  return { held, failures, gate };
}

/** Waits (generously: real fdatasyncs on a loaded machine) until `cond` holds. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 30_000 && !cond(); i++) await new Promise((r) => setTimeout(r, 1));
  assert.ok(cond(), "condition not reached");
}

test("with maxOverlappingFlushes 2, a flush asked for while one runs starts at once but counts only after the earlier one", async () => {
  const { fs, probe } = wrappedFileSystem();
  const t = await openTestLog({}, { fs, maxOverlappingFlushes: 2 });
  const { held, gate } = heldDatasyncs();
  try {
    probe.logDatasyncGate = gate;
    t.log.append(makeRecordsBatch(1, 1), { leaderEpoch: 0 });
    let firstDone = false;
    const first = t.log.sync().then(() => (firstDone = true));
    await until(() => held.length === 1);
    t.log.append(makeRecordsBatch(1, 2), { leaderEpoch: 0 });
    let secondDone = false;
    const second = t.log.sync().then(() => (secondDone = true));
    await until(() => held.length === 2); // the second fdatasync started while the first is held
    let completed = 0;
    probe.onLogDatasynced = () => void completed++;
    held[1]();
    await until(() => completed === 1);
    // Whatever the second flush's chain does next, it cannot finish while the first fdatasync is held.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.equal(secondDone, false, "the second flush does not count before the first completes");
    assert.equal(t.log.recoveryPoint, 0n);
    // A third ask while two run waits for the latest, then starts its own fdatasync.
    t.log.append(makeRecordsBatch(1, 3), { leaderEpoch: 0 });
    const third = t.log.sync();
    assert.equal(held.length, 2);
    held[0]();
    await Promise.all([first, second]);
    assert.ok(firstDone && secondDone);
    assert.equal(t.log.recoveryPoint, 2n);
    await until(() => held.length === 3);
    held[2]();
    await third;
    assert.equal(t.log.recoveryPoint, 3n);
  } finally {
    probe.logDatasyncGate = null;
    probe.onLogDatasynced = null;
    for (const release of held) release();
    await t.cleanup();
  }
});

test("when an earlier overlapping flush fails, the later one fails with it and the recovery point stays", async () => {
  const { fs, probe } = wrappedFileSystem();
  const t = await openTestLog({}, { fs, maxOverlappingFlushes: 2 });
  const { held, failures, gate } = heldDatasyncs();
  try {
    probe.logDatasyncGate = gate;
    t.log.append(makeRecordsBatch(1, 1), { leaderEpoch: 0 });
    const first = t.log.sync();
    await until(() => held.length === 1);
    t.log.append(makeRecordsBatch(1, 2), { leaderEpoch: 0 });
    const second = t.log.sync();
    await until(() => held.length === 2);
    let completed = 0;
    probe.onLogDatasynced = () => void completed++;
    held[1]();
    await until(() => completed === 1);
    failures[0](new Error("injected fdatasync failure"));
    await assert.rejects(first, (e: unknown) => e instanceof LogStorageError && e.code === 56);
    await assert.rejects(second, (e: unknown) => e instanceof LogStorageError && e.code === 56);
    assert.equal(t.log.recoveryPoint, 0n, "the second fdatasync succeeded, but not everything before it did");
    assert.ok(t.log.isOffline);
  } finally {
    probe.logDatasyncGate = null;
    probe.onLogDatasynced = null;
    for (const release of held) release();
    await t.cleanup();
  }
});

test("a caller whose data the in-flight fdatasync covers shares it", async () => {
  const { fs, probe } = wrappedFileSystem();
  const t = await openTestLog({}, { fs });
  try {
    t.log.append(makeRecordsBatch(1, 1), { leaderEpoch: 0 });
    await Promise.all([t.log.sync(), t.log.sync(), t.log.sync()]);
    assert.equal(probe.logDatasyncs, 1);
  } finally {
    await t.cleanup();
  }
});

test("flush.messages forces an fdatasync after that many messages", async () => {
  const { fs, probe } = wrappedFileSystem();
  const t = await openTestLog({ flushMessages: 10 }, { fs });
  try {
    for (let i = 0; i < 3; i++) t.log.append(makeRecordsBatch(3, i), { leaderEpoch: 0 });
    assert.equal(probe.logDatasyncs, 0);
    t.log.append(makeRecordsBatch(3, 9), { leaderEpoch: 0 });
    assert.equal(probe.logDatasyncs, 1);
    await t.log.sync();
    assert.equal(t.log.recoveryPoint, 12n);
  } finally {
    await t.cleanup();
  }
});

test("flush.ms flushes on the clock", async () => {
  const { fs, probe } = wrappedFileSystem();
  const t = await openTestLog({ flushMs: 1000 }, { fs });
  try {
    t.log.append(makeRecordsBatch(1, 1), { leaderEpoch: 0 });
    t.clock.advance(999);
    assert.equal(probe.logDatasyncs, 0);
    t.clock.advance(1);
    assert.equal(probe.logDatasyncs, 1);
    await t.log.sync();
    assert.equal(t.log.recoveryPoint, 1n);
    t.clock.advance(5000);
    assert.equal(probe.logDatasyncs, 1, "no timer while there is nothing to flush");
  } finally {
    await t.cleanup();
  }
});

test("a roll flushes the sealed segment and its indexes", async () => {
  const { fs, probe } = wrappedFileSystem();
  const t = await openTestLog({ segmentBytes: 600 }, { fs });
  try {
    t.log.append(makeRecordsBatch(2, 1, 200), { leaderEpoch: 0 });
    t.log.append(makeRecordsBatch(2, 2, 200), { leaderEpoch: 0 });
    assert.equal(t.log.segmentCount, 2);
    await t.log.sync();
    assert.ok(probe.datasyncs >= 3, "log plus both index files of the sealed segment");
    assert.equal(t.log.recoveryPoint, 4n);
  } finally {
    await t.cleanup();
  }
});

test("a failed fdatasync takes the log offline with KAFKA_STORAGE_ERROR", async () => {
  const { fs, probe } = wrappedFileSystem();
  const t = await openTestLog({}, { fs });
  try {
    t.log.append(makeRecordsBatch(1, 1), { leaderEpoch: 0 });
    probe.failDatasync = true;
    await assert.rejects(t.log.sync(), (e: unknown) => e instanceof LogStorageError && e.code === 56);
    assert.ok(t.log.isOffline);
    assert.throws(() => t.log.append(makeRecordsBatch(1, 1), { leaderEpoch: 0 }), LogStorageError);
    assert.ok(t.logger.lines.some((l) => l.startsWith("ERROR")));
    probe.failDatasync = false;
  } finally {
    await t.cleanup();
  }
});
