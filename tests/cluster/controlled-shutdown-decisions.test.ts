/**
 * The controller's decisions for a broker in a controlled shutdown (pure): its leaderships go to the first other live
 * ISR member in replica order with the leader epoch bumped, it leaves every ISR it follows in, and where no other
 * live ISR member exists it keeps leading (and its ISR) until it is gone.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { initialPartitionState, reconcilePartition, type PartitionState } from "../../src/cluster/partition-state.ts";

const set = (...ids: number[]) => new Set(ids);

test("a shutting-down leader hands over to the next live ISR member and leaves the ISR", () => {
  const s = initialPartitionState([1, 2, 3]);
  const next = reconcilePartition(s, set(1, 2, 3), false, set(1))!;
  assert.equal(next.leader, 2);
  assert.deepEqual(next.isr, [2, 3]);
  assert.equal(next.leaderEpoch, 1);
  assert.equal(reconcilePartition(next, set(1, 2, 3), false, set(1)), null, "stable while it shuts down");
});

test("a shutting-down follower leaves the ISR; the leader stays", () => {
  const next = reconcilePartition(initialPartitionState([1, 2, 3]), set(1, 2, 3), false, set(3))!;
  assert.equal(next.leader, 1);
  assert.deepEqual(next.isr, [1, 2]);
  assert.equal(next.leaderEpoch, 0);
});

test("a shutting-down leader skips ISR members that are shutting down or out of sync, and keeps leading when none is left", () => {
  const s: PartitionState = { replicas: [1, 2, 3], isr: [1, 2], leader: 1, leaderEpoch: 3, partitionEpoch: 7 };
  assert.equal(reconcilePartition(s, set(1, 2, 3), false, set(1, 2))?.leader ?? 1, 1, "no eligible successor: keeps leading");
  const kept = reconcilePartition(s, set(1, 2, 3), false, set(1, 2))!;
  assert.deepEqual(kept.isr, [1], "the other shutting-down member leaves the ISR");
  assert.equal(kept.leaderEpoch, 3);
  const single: PartitionState = initialPartitionState([1]);
  assert.equal(reconcilePartition(single, set(1), false, set(1)), null, "a single replica keeps leading");
});

test("once the shutting-down broker is gone a partition it still led moves like any failover", () => {
  const s: PartitionState = { replicas: [1, 2, 3], isr: [1], leader: 1, leaderEpoch: 3, partitionEpoch: 7 };
  const offline = reconcilePartition(s, set(2, 3), false, set())!;
  assert.equal(offline.leader, -1);
  assert.deepEqual(offline.isr, [1]);
});

test("with no broker shutting down the decisions are unchanged", () => {
  const s = initialPartitionState([1, 2, 3]);
  assert.deepEqual(reconcilePartition(s, set(2, 3), false, set()), reconcilePartition(s, set(2, 3), false));
  assert.equal(reconcilePartition(s, set(1, 2, 3), false, set()), null);
});
