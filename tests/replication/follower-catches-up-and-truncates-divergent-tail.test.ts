/**
 * A follower replicating from its leader, one fetch round at a time through the same leader and follower code
 * the broker uses (Partition.acceptFollowerFetch on the leader, applyLeaderAnswer on the follower): a tail the
 * follower wrote in an old epoch that the leader never had is truncated at the diverging epoch, then the follower
 * copies the leader's batches byte for byte, rebuilds producer state, aborted transactions and epochs from them,
 * and follows the high watermark, which the leader moves only once the follower has the records.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ManualClock } from "../../src/platform/clock.ts";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { ControlRecordType, buildControlBatch } from "../../src/protocol/control-record.ts";
import { logConfigWith } from "../../src/storage/log-config.ts";
import { PartitionLog } from "../../src/storage/partition-log.ts";
import { Partition, type PartitionRoles } from "../../src/partition/partition.ts";
import { applyLeaderAnswer, followerFetchPosition, type LeaderFetchAnswer } from "../../src/replication/follower-fetch.ts";
import { recordingLogger } from "../storage/batch-fixture.ts";

await initCrc32c();

function batch(n: number, tag: string, pid?: { id: bigint; seq: number; txn?: boolean }): Uint8Array {
  const bb = new BatchBuilder(1 << 16);
  bb.reset(pid === undefined ? {} : { producerId: pid.id, producerEpoch: 0, baseSequence: pid.seq, isTransactional: pid.txn ?? false });
  for (let i = 0; i < n; i++) bb.append(1_700_000_000_000 + i, null, new TextEncoder().encode(`${tag}${i}`));
  return bb.finish().slice();
}

const roots: string[] = [];
function partition(localBrokerId: number, roles: PartitionRoles): Partition {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-follower-"));
  roots.push(root);
  const clock = new ManualClock();
  const logger = recordingLogger();
  const log = PartitionLog.open(`${root}/t-0`, { topic: "t", partition: 0 }, logConfigWith({}), { fs: nodeFileSystem, clock, logger });
  return Partition.open({ name: "t" }, 0, log, { fs: nodeFileSystem, clock, logger, localBrokerId }, roles);
}
test.after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

/** One round: the leader serves the follower's position, the follower applies the answer. */
function round(leader: Partition, follower: Partition) {
  const pos = followerFetchPosition(follower);
  const diverging = leader.acceptFollowerFetch(2, pos.fetchOffset, pos.lastFetchedEpoch);
  const answer: LeaderFetchAnswer =
    diverging !== null
      ? { errorCode: 0, highWatermark: leader.highWatermark, records: null, divergingEpoch: diverging }
      : { errorCode: 0, highWatermark: leader.highWatermark, records: leader.log.read(pos.fetchOffset, 1 << 20, true).chunks };
  return applyLeaderAnswer(follower, answer);
}

test("a follower truncates its divergent tail, then copies the leader byte for byte and follows its high watermark", () => {
  // Broker 2 led epoch 0 for a while: 2 records broker 1 also has, then 2 records nobody else has.
  const f = partition(2, { leader: 2, leaderEpoch: 0, replicas: [1, 2], isr: [2] });
  f.appendAsLeader(batch(2, "kept-", { id: 30n, seq: 0 }));
  f.appendAsLeader(batch(2, "lost-", { id: 30n, seq: 2 }));
  // Broker 1's history: 2 records in epoch 0, then it leads epoch 1 with the follower in its ISR.
  const l = partition(1, { leader: 1, leaderEpoch: 0, replicas: [1, 2], isr: [1] });
  l.appendAsLeader(batch(2, "kept-", { id: 30n, seq: 0 }));
  l.takeRoles({ leader: 1, leaderEpoch: 1, replicas: [1, 2], isr: [1, 2] });
  l.appendAsLeader(batch(2, "txn-", { id: 31n, seq: 0, txn: true }));
  l.appendAsLeader(buildControlBatch({ producerId: 31n, producerEpoch: 0, type: ControlRecordType.ABORT, coordinatorEpoch: 0, timestampMs: 1_700_000_000_000 }));
  l.appendAsLeader(batch(3, "more-", { id: 30n, seq: 2 }));
  assert.equal(l.highWatermark, 2n, "the follower in the ISR has nothing of epoch 1 yet");
  f.takeRoles({ leader: 1, leaderEpoch: 1, replicas: [1, 2], isr: [1, 2] });

  assert.deepEqual(round(l, f), { kind: "truncated", to: 2n }, "epoch 0 ends at 2 on the leader: the lost tail goes");
  assert.equal(f.producers.ongoingTxnFirstOffset(31n), null);
  const copied = round(l, f);
  assert.equal(copied.kind, "appended");
  assert.equal(f.logEndOffset, l.logEndOffset);
  assert.equal(f.highWatermark, 2n);
  const last = round(l, f); // at the log end: the leader's high watermark moves, and the follower takes it
  assert.deepEqual(last, { kind: "appended", records: 0, highWatermark: l.logEndOffset });
  assert.equal(l.highWatermark, l.logEndOffset);

  assert.deepEqual(Buffer.concat(f.log.read(0n, 1 << 20, true).chunks), Buffer.concat(l.log.read(0n, 1 << 20, true).chunks));
  assert.deepEqual(f.leaderEpochs.epochEntries(), l.leaderEpochs.epochEntries());
  assert.deepEqual(f.abortedTxns.entries(), l.abortedTxns.entries());
  assert.equal(f.abortedTxns.entries().length, 1);
  assert.deepEqual(f.producers.check(30n, 0, 2, 3), l.producers.check(30n, 0, 2, 3));
  assert.equal(f.producers.check(30n, 0, 2, 3).kind, "duplicate", "the follower knows producer 30's last batch");
  assert.equal(f.lastStableOffset, l.lastStableOffset);
});
