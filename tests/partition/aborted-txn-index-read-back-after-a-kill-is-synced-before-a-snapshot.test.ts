/**
 * An aborted transaction's `.txnindex` entry that a killed process wrote but never synced is still only in the page
 * cache when the next process reads it back at start-up. A producer snapshot taken later (clean stop, segment roll)
 * lets recovery skip replaying the ABORT marker below it, so that entry must be made durable first; otherwise a
 * power cut takes it and read_committed consumers see the aborted records for good. Found by the deterministic
 * simulation with clean stops (tests/sim/kafka-broker.ts, seed 3: kill, restart, clean stop, power cut). The disk is
 * the simulation's SimDisk: a kill keeps the page cache, a power cut keeps only what was synced.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { abortedTransactionOnSimDisk, PID } from "./aborted-txn-on-sim-disk.ts";

await initCrc32c();

test("an aborted-transaction entry read back from the page cache after a kill is synced before the next producer snapshot, so a power cut after a clean stop keeps it", async () => {
  const run = await abortedTransactionOnSimDisk(1, 1); // the records and the marker are durable; the .txnindex entry is not
  const { disk, open, settle, marker, aborted } = run;
  let p = run.p;
  assert.deepEqual(p.abortedTxns.entries(), [aborted]);

  // The process is killed (the page cache survives) and starts again: the entry is read back from the page cache.
  disk.endProcess();
  p = open();
  assert.deepEqual(p.abortedTxns.entries(), [aborted]);

  // A clean stop: the log closed, then the producer snapshot at the log end (recovery replays nothing below it),
  // then a power cut.
  p.close();
  await settle(p.log.close());
  p.writeStopSnapshot();
  disk.crash();

  p = open();
  assert.equal(p.logEndOffset, marker.baseOffset + 1n, "the synced records are all there");
  assert.deepEqual(p.abortedTxns.entries(), [aborted], "the aborted transaction is still known after the power cut");
  assert.deepEqual(p.abortedTxns.collect(0n, p.lastStableOffset), [{ producerId: PID, firstOffset: 0n }]);
});
