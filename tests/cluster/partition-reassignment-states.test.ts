/**
 * Partition reassignment decisions (pure, Kafka's KIP-455 states): a move to target T from replicas R writes
 * replicas T then R − T with adding T − R and removing R − T; it completes only once every target replica is in the
 * ISR, dropping the removed ones and moving leadership off a removed leader; a cancel reverts to R; a new move of
 * a moving partition starts from R; bad targets get Kafka's error codes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { initialPartitionState } from "../../src/cluster/partition-state.ts";
import { cancelReassignment, checkTarget, completeReassignment, isReassigning, originalReplicas, startReassignment, targetReplicas } from "../../src/cluster/reassignment.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";

const live = (...ids: number[]) => new Set(ids);
const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as KafkaError).code;
  }
  return ErrorCode.NONE;
};

test("a move from {1,2,3} to {2,3,4} adds 4, removes 1, and completes once 4 is in the ISR; leadership leaves 1", () => {
  const s = initialPartitionState([1, 2, 3]);
  const moving = startReassignment(s, [2, 3, 4], live(1, 2, 3, 4))!;
  assert.deepEqual(moving.replicas, [2, 3, 4, 1]);
  assert.deepEqual(moving.addingReplicas, [4]);
  assert.deepEqual(moving.removingReplicas, [1]);
  assert.equal(moving.leader, 1, "the leader stays until the move completes");
  assert.equal(moving.partitionEpoch, 1);
  assert.ok(isReassigning(moving));
  assert.deepEqual(originalReplicas(moving), [2, 3, 1], "replicas minus adding, in replica order (as Kafka reverts)");
  assert.deepEqual(targetReplicas(moving), [2, 3, 4]);
  assert.equal(completeReassignment(moving, live(1, 2, 3, 4)), null, "4 is not in sync yet");
  const caughtUp = { ...moving, isr: [1, 2, 3, 4], partitionEpoch: 2 };
  const done = completeReassignment(caughtUp, live(1, 2, 3, 4))!;
  assert.deepEqual(done.replicas, [2, 3, 4]);
  assert.deepEqual(done.isr, [2, 3, 4]);
  assert.equal(done.leader, 2, "the first in-sync target replica leads");
  assert.equal(done.leaderEpoch, 1);
  assert.equal(done.partitionEpoch, 3);
  assert.ok(!isReassigning(done));
});

test("RF 1 to 3 keeps the leader; a pure removal and a reorder complete at once", () => {
  const s = initialPartitionState([2]);
  const grow = startReassignment(s, [2, 3, 1], live(1, 2, 3))!;
  assert.deepEqual(grow.addingReplicas, [3, 1]);
  assert.deepEqual(grow.removingReplicas, []);
  assert.equal(grow.leader, 2);
  const shrink = startReassignment(initialPartitionState([1, 2, 3]), [2, 3], live(1, 2, 3))!;
  assert.deepEqual(shrink.replicas, [2, 3]);
  assert.equal(shrink.leader, 2);
  assert.equal(shrink.leaderEpoch, 1, "one leader change, one epoch");
  assert.equal(shrink.partitionEpoch, 1);
  assert.ok(!isReassigning(shrink));
  const reorder = startReassignment(initialPartitionState([1, 2, 3]), [3, 2, 1], live(1, 2, 3))!;
  assert.deepEqual(reorder.replicas, [3, 2, 1]);
  assert.equal(reorder.leader, 1, "a reorder does not move leadership (preferred election does)");
  assert.equal(startReassignment(initialPartitionState([1, 2]), [1, 2], live(1, 2)), null, "already there: no change");
});

test("cancel reverts to the original replicas; a new move of a moving partition starts from them", () => {
  const moving = startReassignment(initialPartitionState([1, 2]), [3, 4], live(1, 2, 3, 4))!;
  const withThree = { ...moving, isr: [1, 2, 3] };
  const back = cancelReassignment(withThree, live(1, 2, 3, 4));
  assert.deepEqual(back.replicas, [1, 2]);
  assert.deepEqual(back.isr, [1, 2]);
  assert.equal(back.leader, 1);
  assert.ok(!isReassigning(back));
  assert.equal(code(() => cancelReassignment(back, live(1, 2))), ErrorCode.NO_REASSIGNMENT_IN_PROGRESS);
  const again = startReassignment(withThree, [1, 4], live(1, 2, 3, 4))!;
  assert.deepEqual(again.replicas, [1, 4, 2]);
  assert.deepEqual(again.addingReplicas, [4]);
  assert.deepEqual(again.removingReplicas, [2]);
  assert.deepEqual(again.isr, [1, 2], "3, added by the replaced move, leaves");
});

test("targets are checked: empty, duplicates, unregistered brokers, replication factor change when refused", () => {
  const s = initialPartitionState([1, 2]);
  assert.equal(code(() => checkTarget(s, [], live(1, 2))), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.equal(code(() => checkTarget(s, [1, 1], live(1, 2))), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.equal(code(() => checkTarget(s, [1, 9], live(1, 2))), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.equal(code(() => checkTarget(s, [1, 2, 3], live(1, 2, 3), false)), ErrorCode.INVALID_REPLICATION_FACTOR);
  assert.equal(code(() => checkTarget(s, [2, 3], live(1, 2, 3), false)), ErrorCode.NONE);
});

test("a change that drops a replica bumps the leader epoch also when the leader stays (Kafka fences removed replicas)", () => {
  // Kafka's PartitionChangeBuilder.triggerLeaderEpochBumpForReplicaReassignmentIfNeeded; found by
  // tests/oracle/cluster-random-match-kafka (a 3-node Kafka answered epoch 1 after {1,2,3} -> {2,1}, Runnel 0)
  const removal = startReassignment(initialPartitionState([1, 2, 3]), [2, 1], live(1, 2, 3))!;
  assert.deepEqual(removal.replicas, [2, 1]);
  assert.equal(removal.leader, 1, "the leader stays a replica and keeps leading");
  assert.equal(removal.leaderEpoch, 1, "replica 3 was dropped: the epoch bumps");
  const moving = startReassignment(initialPartitionState([1, 2, 3]), [1, 2, 4], live(1, 2, 3, 4))!;
  assert.equal(moving.leaderEpoch, 0, "starting a move drops no replica yet");
  const done = completeReassignment({ ...moving, isr: [1, 2, 3, 4], partitionEpoch: 2 }, live(1, 2, 3, 4))!;
  assert.deepEqual(done.replicas, [1, 2, 4]);
  assert.equal(done.leader, 1);
  assert.equal(done.leaderEpoch, 1, "completion drops 3: the epoch bumps");
  const cancelled = cancelReassignment(moving, live(1, 2, 3, 4));
  assert.deepEqual(cancelled.replicas, [1, 2, 3]);
  assert.equal(cancelled.leader, 1);
  assert.equal(cancelled.leaderEpoch, 1, "the cancel drops the adding replica 4: the epoch bumps");
  assert.equal(startReassignment(initialPartitionState([1, 2, 3]), [3, 2, 1], live(1, 2, 3))!.leaderEpoch, 0, "a reorder drops nothing");
  assert.equal(startReassignment(initialPartitionState([2]), [2, 3], live(2, 3))!.leaderEpoch, 0, "a growth drops nothing");
  const leaderRemoved = startReassignment(initialPartitionState([1, 2, 3]), [2, 3], live(1, 2, 3))!;
  assert.equal(leaderRemoved.leaderEpoch, 1, "a new leader bumps the epoch once");
});
