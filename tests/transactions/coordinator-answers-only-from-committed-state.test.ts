/**
 * Cluster mode: a transaction coordinator that loads a partition of `__transaction_state` answers from it only once
 * the log it replayed is committed (on the ISR). Found by the three-broker simulation (`bun tests/sim/replay.ts
 * cluster 36 --transactions`, before the fix): the broker coordinating a transaction lost power right after writing
 * the record that added a partition to transaction 3; restarted before its old registration lease ran out, it was
 * still named leader of the `__transaction_state` partition, loaded its own log (with that record, which no follower
 * had) and told the producer its partition was in the transaction. The new coordinator, elected when the lease ran
 * out, had no such record, wrote no abort marker, and the producer's next commit made transaction 3's records
 * visible to read_committed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { TransactionCoordinator } from "../../src/transactions/transaction-coordinator.ts";
import type { TransactionLogStorage } from "../../src/transactions/transaction-log.ts";
import { flush, txnHarness, type TxnHarness } from "./txn-harness.ts";

/** Lets due zero-delay timers and promise callbacks run, a few rounds. */
async function turns(h: TxnHarness): Promise<void> {
  for (let i = 0; i < 3; i++) {
    h.clock.advance(0);
    await flush();
  }
}

/** Waits for a partition's log to be committed, settled by the test. */
type CommitWait = { resolve: () => void; reject: (e: Error) => void };

/** A coordinator over `h`'s log (a broker restarted, still leader) whose commit waits the test settles. */
function restartedLeader(h: TxnHarness): { c: TransactionCoordinator; waits: CommitWait[] } {
  const waits: CommitWait[] = [];
  const storage: TransactionLogStorage = {
    partitionCount: () => h.storage.partitionCount(),
    ensureTopic: (n) => h.storage.ensureTopic(n),
    append: (p, b) => h.storage.append(p, b),
    read: (p, offset) => h.storage.read(p, offset),
    whenLogCommitted: () => new Promise<void>((resolve, reject) => waits.push({ resolve, reject })),
  };
  const c = new TransactionCoordinator({ config: h.config, clock: h.clock, storage, markers: h.markers, producerIds: { next: () => 5000n } });
  c.followLeadership();
  return { c, waits };
}

test("a coordinator loading a partition whose log tail is not on the ISR answers COORDINATOR_LOAD_IN_PROGRESS until it is", async () => {
  const h = txnHarness();
  const id = "txn-tail";
  const init = await h.coord.initProducerId({ transactionalId: id, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
  assert.equal(init.errorCode, ErrorCode.NONE);
  // the last record the old coordinator wrote (the partition added, state Ongoing) is in its own log only
  assert.equal(await h.coord.addPartitions(id, init.producerId, init.producerEpoch, [{ topic: "t", partition: 0 }]), ErrorCode.NONE);
  h.coord.stop();

  // the restarted broker, still named leader, loads its log; the high watermark has not passed it
  const { c, waits } = restartedLeader(h);
  const partition = c.partitionFor(id);
  c.loadPartitionOwnership(partition);
  await turns(h);
  const add = () => c.addPartitions(id, init.producerId, init.producerEpoch, [{ topic: "t", partition: 0 }]);
  assert.equal(await add(), ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, "no answer from a record no follower has");
  assert.equal(waits.length, 1, "the replay waits for its log to be committed");
  assert.equal(c.describe(id).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);

  // the wait is refused (leadership lost, or too many waiters): still loading, and it waits again later
  waits.shift()!.reject(new Error("NOT_LEADER_OR_FOLLOWER"));
  await turns(h);
  assert.equal(await add(), ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  assert.equal(waits.length, 0, "it pauses before waiting again");
  h.clock.advance(100);
  await turns(h);
  assert.equal(waits.length, 1, "a new wait after the pause");

  // followers caught up (the tail is committed): served from what was loaded
  waits.shift()!.resolve();
  await turns(h);
  assert.equal(c.describe(id).state, "Ongoing");
  assert.equal(await add(), ErrorCode.NONE);
  c.stop();
});

test("a coordinator unloading a partition that waits for its log to be committed stops waiting and serves nothing of it", async () => {
  const h = txnHarness();
  const id = "txn-gone";
  const init = await h.coord.initProducerId({ transactionalId: id, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
  assert.equal(init.errorCode, ErrorCode.NONE);
  h.coord.stop();
  const { c, waits } = restartedLeader(h);
  const partition = c.partitionFor(id);
  c.loadPartitionOwnership(partition);
  await turns(h);
  assert.equal(waits.length, 1, "the replay waits for its log to be committed");
  c.unloadPartitionOwnership(partition);
  waits.shift()!.resolve();
  await turns(h);
  assert.equal(c.describe(id).errorCode, ErrorCode.NOT_COORDINATOR, "deposed while waiting: nothing installed");
  c.stop();
});
