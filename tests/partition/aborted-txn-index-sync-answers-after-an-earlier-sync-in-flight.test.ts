/**
 * A second sync of the aborted-transaction index (the next segment roll's, before its producer snapshot) that starts
 * while an earlier one's fdatasync is still in flight answers only once the entries are durable: the earlier sync
 * took them out of the unsynced set, so a second sync that looked only there found nothing to sync and answered at
 * once, its roll snapshot could be written, and a power cut then lost the entry for good (recovery replays only from
 * the snapshot). The disk is the simulation's SimDisk: a power cut keeps only what was synced.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { writeProducerSnapshot } from "../../src/partition/producer-snapshot.ts";
import { abortedTransactionOnSimDisk } from "./aborted-txn-on-sim-disk.ts";

await initCrc32c();

/**
 * One run: the moment the second sync answers, a producer snapshot at the log end is written (as a roll writes it
 * after its sync), then the power goes (the first sync's fdatasync may still be in flight).
 */
async function powerCutWhenTheSecondSyncAnswers(seed: number): Promise<void> {
  const run = await abortedTransactionOnSimDisk(seed, 5); // the records and the marker are durable; the .txnindex entry is not
  const { sim, disk, open, marker, aborted } = run;
  let p = run.p;
  const first = p.abortedTxns.sync();
  first.catch(() => {});
  let answered = false;
  const second = p.abortedTxns.sync().then(() => (answered = true));
  second.catch(() => {});
  await sim.run(sim.nowMs + 100, () => answered);
  assert.ok(answered, `seed ${seed}: the second sync answered`);
  writeProducerSnapshot(disk.view(), p.log, p.producers);
  disk.crash();

  p = open();
  assert.equal(p.logEndOffset, marker.baseOffset + 1n, "the synced records are all there");
  assert.deepEqual(p.abortedTxns.entries(), [aborted], `seed ${seed}: the aborted transaction is known after a power cut once the second sync answered`);
}

test("a sync started while an earlier one's fdatasync is in flight answers only once the entries are durable", async () => {
  for (let seed = 1; seed <= 8; seed++) await powerCutWhenTheSecondSyncAnswers(seed);
});
