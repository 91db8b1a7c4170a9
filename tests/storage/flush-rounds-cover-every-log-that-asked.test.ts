/**
 * Broker-wide flush rounds (src/storage/flush-rounds.ts): one round at a time; logs asking while a round runs are
 * flushed together in the next one, which starts when the running one ends; a log whose data the running round
 * already covers shares it; a failed fdatasync fails only its own log's callers.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { FlushRounds } from "../../src/storage/flush-rounds.ts";
import { LogStorageError } from "../../src/storage/storage-errors.ts";
import { makeRecordsBatch } from "./batch-fixture.ts";
import { openTestLog } from "./log-fixture.ts";
import { wrappedFileSystem } from "./wrapped-file-system.ts";

/** A gate the test opens by hand: fdatasyncs wait for `open()`. */
function manualGate() {
  let release: () => void = () => {};
  let gate = new Promise<void>((r) => (release = r));
  return {
    wait: () => gate,
    open() {
      release();
      gate = new Promise<void>((r) => (release = r));
    },
  };
}

test("logs asking during a round share the next round, which covers all of them", async () => {
  const { fs, probe } = wrappedFileSystem();
  const gate = manualGate();
  probe.logDatasyncGate = gate.wait;
  const rounds = new FlushRounds();
  const a = await openTestLog({}, { fs, flushRounds: rounds });
  const b = await openTestLog({}, { fs, flushRounds: rounds });
  try {
    a.log.append(makeRecordsBatch(1, 1), { leaderEpoch: 0 });
    const first = a.log.sync(); // round 1: a only
    const sameAsFirst = a.log.sync(); // nothing new in a: shares round 1
    b.log.append(makeRecordsBatch(2, 2), { leaderEpoch: 0 });
    a.log.append(makeRecordsBatch(1, 3), { leaderEpoch: 0 });
    const bWaits = b.log.sync(); // round 2
    const aWaits = a.log.sync(); // a has new data: round 2
    const aAgain = a.log.sync();
    assert.equal(rounds.rounds, 1);
    assert.equal(probe.logDatasyncs, 1, "round 2 waits for round 1");
    gate.open();
    await Promise.all([first, sameAsFirst]);
    assert.equal(a.log.recoveryPoint, 1n, "round 1 covered a's first batch only");
    assert.equal(b.log.recoveryPoint, 0n);
    await new Promise((r) => setImmediate(r));
    assert.equal(rounds.rounds, 2, "round 2 started when round 1 ended");
    assert.equal(probe.logDatasyncs, 3, "one round: one fdatasync per log that asked");
    gate.open();
    await Promise.all([bWaits, aWaits, aAgain]);
    assert.equal(a.log.recoveryPoint, 2n);
    assert.equal(b.log.recoveryPoint, 2n);
    await a.log.sync(); // nothing new anywhere: a round with nothing to do
    assert.equal(probe.logDatasyncs, 3);
  } finally {
    gate.open();
    probe.logDatasyncGate = null;
    await a.cleanup();
    await b.cleanup();
  }
});

test("a failed fdatasync in a round fails only that log's callers", async () => {
  const ok = wrappedFileSystem();
  const failing = wrappedFileSystem();
  const rounds = new FlushRounds();
  const a = await openTestLog({}, { fs: ok.fs, flushRounds: rounds });
  const b = await openTestLog({}, { fs: failing.fs, flushRounds: rounds });
  try {
    a.log.append(makeRecordsBatch(1, 1), { leaderEpoch: 0 });
    b.log.append(makeRecordsBatch(1, 1), { leaderEpoch: 0 });
    failing.probe.failDatasync = true;
    const [ra, rb] = await Promise.allSettled([a.log.sync(), b.log.sync()]);
    assert.equal(ra.status, "fulfilled");
    assert.equal(rb.status, "rejected");
    assert.ok((rb as PromiseRejectedResult).reason instanceof LogStorageError);
    assert.equal(a.log.recoveryPoint, 1n);
    assert.equal(b.log.isOffline, true);
  } finally {
    await a.cleanup();
    await b.cleanup();
  }
});
