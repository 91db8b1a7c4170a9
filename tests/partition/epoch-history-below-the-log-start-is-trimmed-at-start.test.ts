/**
 * At start the epoch history holds nothing below the log start offset, even when the trim written when the log start
 * last moved was lost (its write failed, then a hard stop; the log-start-offset-checkpoint got the new offset). Kafka's
 * LogLoader trims the leader-epoch cache at the checkpointed log start again ("the earliest leader epoch may not be
 * flushed during a hard failure"), and clears it when the log restarts at its log start (its recovered end below it).
 * With stale entries, OffsetForLeaderEpoch and the fetch's diverging-epoch check answered an end offset below the log
 * start (a follower would truncate to records the leader no longer has), and ListOffsets EARLIEST an older epoch.
 * The epochs an unclean start takes from the recovered batches (the checkpoint naming them lost) start no lower
 * than the log start either, the batch holding a log start DeleteRecords put inside it too.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import type { LogOpenState } from "../../src/storage/partition-log.ts";
import type { Partition } from "../../src/partition/partition.ts";
import { LEADER_EPOCH_CHECKPOINT } from "../../src/partition/leader-epoch-cache.ts";
import { tempPartitionDir } from "./temp-partition-dir.ts";

await initCrc32c();

const enc = new TextEncoder();

/** A batch of `n` records. */
function batch(n: number): Uint8Array {
  const bb = new BatchBuilder(1 << 16);
  bb.reset({});
  for (let i = 0; i < n; i++) bb.append(1_700_000_000_000 + i, null, enc.encode(`v${i}`));
  return bb.finish().slice();
}

/** A partition directory in a temp dir (removed after the test) and how to open its partition, led by broker 1 in `epoch`. */
function partitionDir(t: { after(fn: () => void): void }): { dir: string; open(epoch: number, state?: LogOpenState): Partition } {
  const d = tempPartitionDir(t, "runnel-epochs-below-log-start-");
  return { dir: d.dir, open: (epoch, state) => d.open({ leader: 1, leaderEpoch: epoch, replicas: [1], isr: [1] }, state) };
}

/** Writes epoch 0 at 0-2 and epoch 1 at 3-8; returns the partition (epoch 1) and its epoch checkpoint's bytes then. */
async function twoEpochs(open: (epoch: number, state?: LogOpenState) => Partition, dir: string): Promise<{ p: Partition; stale: Buffer }> {
  let p = open(0);
  p.appendAsLeader(batch(3)); // 0-2
  p.close();
  await p.log.close();
  p.writeStopSnapshot();
  p = open(1);
  p.appendAsLeader(batch(3)); // 3-5
  p.appendAsLeader(batch(3)); // 6-8
  p.leaderEpochs.flush();
  assert.deepEqual(p.leaderEpochs.epochEntries(), [{ epoch: 0, startOffset: 0n }, { epoch: 1, startOffset: 3n }]);
  return { p, stale: fs.readFileSync(`${dir}/${LEADER_EPOCH_CHECKPOINT}`) };
}

test("a start after DeleteRecords whose epoch-history trim was lost trims it at the checkpointed log start", async (t) => {
  const { dir, open } = partitionDir(t);
  const { p, stale } = await twoEpochs(open, dir);
  assert.equal(p.log.deleteRecordsBefore(7n), 7n);
  await p.log.sync();
  // The trim's write is lost (the file still holds epoch 0 from 0), the log-start-offset-checkpoint holds 7; a kill.
  fs.writeFileSync(`${dir}/${LEADER_EPOCH_CHECKPOINT}`, stale);

  const q = open(1, { logStartOffset: 7n, recoveryPoint: 0n });
  assert.equal(q.log.logStartOffset, 7n);
  assert.deepEqual(q.leaderEpochs.epochEntries(), [{ epoch: 1, startOffset: 7n }]);
  // A follower that fetched epoch 0 learns it ends where the leader's log starts, not at 3 (no longer there).
  assert.deepEqual(q.leaderEpochs.endOffsetFor(0, q.logEndOffset), { epoch: 0, endOffset: 7n });
  assert.equal(q.leaderEpochs.earliestEpochAt(q.log.logStartOffset), 1);
});

test("a log restarted at its checkpointed log start keeps no epoch history of the deleted segments", async (t) => {
  const { dir, open } = partitionDir(t);
  const { p, stale } = await twoEpochs(open, dir);
  await p.log.sync();
  const segment = `${dir}/${fs.readdirSync(dir).filter((f) => f.endsWith(".log")).sort().at(-1)}`; // the active one
  const durableBytes = fs.statSync(segment).size;
  p.appendAsLeader(batch(3)); // 9-11, acks=1, not yet synced
  assert.equal(p.log.deleteRecordsBefore(12n), 12n);
  // The power goes: the unsynced records are lost, and the epoch trim's write with them; the log start checkpoint held 12.
  fs.truncateSync(segment, durableBytes);
  fs.writeFileSync(`${dir}/${LEADER_EPOCH_CHECKPOINT}`, stale);

  const q = open(1, { logStartOffset: 12n, recoveryPoint: 0n });
  assert.equal(q.log.logStartOffset, 12n);
  assert.equal(q.logEndOffset, 12n);
  assert.deepEqual(q.leaderEpochs.epochEntries(), [{ epoch: 1, startOffset: 12n }], "only the epoch the partition took at the start");
  assert.deepEqual(q.leaderEpochs.endOffsetFor(0, q.logEndOffset), { epoch: 0, endOffset: 12n });
});

test("a recovered batch holding the log start whose epoch the lost checkpoint missed starts that epoch at the log start", async (t) => {
  const { dir, open } = partitionDir(t);
  let p = open(0);
  p.appendAsLeader(batch(3)); // 0-2
  p.leaderEpochs.flush();
  p.close();
  await p.log.close();
  p.writeStopSnapshot();
  const epochZeroOnly = fs.readFileSync(`${dir}/${LEADER_EPOCH_CHECKPOINT}`);
  p = open(1);
  p.appendAsLeader(batch(3)); // 3-5
  p.appendAsLeader(batch(3)); // 6-8
  assert.equal(p.log.deleteRecordsBefore(4n), 4n); // inside the batch 3-5
  await p.log.sync();
  // The power goes: every write of the epoch checkpoint since epoch 1 began is lost (its renames never committed).
  fs.writeFileSync(`${dir}/${LEADER_EPOCH_CHECKPOINT}`, epochZeroOnly);

  const q = open(1, { logStartOffset: 4n, recoveryPoint: 0n });
  assert.equal(q.log.logStartOffset, 4n);
  // as Kafka's (recovery assigns epoch 1 at 3, then the cache is trimmed at the log start 4)
  assert.deepEqual(q.leaderEpochs.epochEntries(), [{ epoch: 1, startOffset: 4n }]);
  assert.deepEqual(q.leaderEpochs.endOffsetFor(0, q.logEndOffset), { epoch: 0, endOffset: 4n }, "not an end offset below the log start");
});
