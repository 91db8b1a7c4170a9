/**
 * A clean stop that comes while a segment roll's sync of the aborted-transaction index is still in flight (its
 * fdatasync not done) must sync those files itself before it writes the producer snapshot: the roll's sync had
 * taken them out of the unsynced set, so the stop found nothing to sync, its snapshot became durable first, and a
 * power cut then took the entry for good (recovery replays only from the snapshot): read_committed consumers saw
 * the aborted records. Found by the deterministic simulation with segment rolls (bun tests/sim/replay.ts kafka 52
 * --roll-ms=200). The disk is the simulation's SimDisk: a power cut keeps only what was synced.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { abortedTransactionOnSimDisk } from "./aborted-txn-on-sim-disk.ts";

await initCrc32c();

/** One run; the power cut keeps a seeded prefix of the unsynced writes, so each seed may or may not lose the entry. */
async function cleanStopDuringSync(seed: number): Promise<void> {
  const run = await abortedTransactionOnSimDisk(seed, 5); // the records and the marker are durable; the .txnindex entry is not
  const { disk, open, marker, aborted } = run;
  let p = run.p;

  // A roll's sync starts its fdatasync (it answers only when the simulation runs it), then the clean stop runs:
  // the log closed (its records were synced already: no simulated time passes), the producer snapshot at the log
  // end, then the power goes before that fdatasync completes.
  let synced = false;
  const inFlight = p.abortedTxns.sync().then(() => (synced = true));
  inFlight.catch(() => {});
  p.close();
  await p.log.close();
  assert.equal(synced, false, "the roll's sync is still in flight when the log has closed");
  p.writeStopSnapshot();
  disk.crash();

  p = open();
  assert.equal(p.logEndOffset, marker.baseOffset + 1n, "the synced records are all there");
  assert.deepEqual(p.abortedTxns.entries(), [aborted], `seed ${seed}: the aborted transaction is still known after the power cut`);
}

test("a clean stop during the index's asynchronous sync syncs the entry itself before its producer snapshot, so a power cut keeps it", async () => {
  for (let seed = 1; seed <= 8; seed++) await cleanStopDuringSync(seed);
});
