/**
 * A broker that re-registers with a new epoch before a controller pass saw its old registration gone (a quick
 * restart) is a new incarnation: for that pass it counts as gone, so a partition it led gets a new leader and a new
 * leader epoch and it leaves the ISR, as Kafka fences the previous incarnation; from the next pass (its new epoch
 * seen) it is live again. Pure decisions (liveIncarnations, reconcilePartition).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { initialPartitionState, liveForState, liveIncarnations, reconcilePartition } from "../../src/cluster/partition-state.ts";

const reg = (nodeId: number, brokerEpoch: number) => ({ nodeId, brokerEpoch });

test("a broker back with a new registration epoch loses its leadership and ISR place for one pass, then is live", () => {
  const seen = new Map([[1, 10], [2, 11], [3, 12]]);
  const first = liveIncarnations([reg(1, 40), reg(2, 11), reg(3, 12)], seen);
  assert.deepEqual(first.restarted, [1]);
  assert.deepEqual([...first.live].sort(), [2, 3]);
  const led = initialPartitionState([1, 2, 3]);
  const next = reconcilePartition(led, first.live, false)!;
  assert.equal(next.leader, 2, "the next in-sync replica leads");
  assert.equal(next.leaderEpoch, led.leaderEpoch + 1, "in a new leader epoch, so the restarted broker truncates as a follower");
  assert.deepEqual(next.isr, [2, 3]);

  const again = liveIncarnations([reg(1, 40), reg(2, 11), reg(3, 12)], new Map([[1, 40], [2, 11], [3, 12]]));
  assert.deepEqual(again.restarted, []);
  assert.deepEqual([...again.live].sort(), [1, 2, 3]);
  assert.equal(reconcilePartition(next, again.live, false), null, "nothing more: it rejoins the ISR by catching up");
  assert.deepEqual([...liveIncarnations([reg(4, 50)], seen).live], [4], "a broker not seen before is live");
});

test("a controller that never saw the earlier epoch: a broker registered after a partition state was written leads nothing of it until it is written again", () => {
  // seed 124 of `bun tests/sim/replay.ts cluster 124 --transactions` before the fix: the controller (broker 2) lost
  // power; broker 2 restarted, registered again and won the election with no epochs seen, so it kept leading
  // (leader epoch 0, a log shorter by what the power cut took) and wrote other records at offsets its followers had
  const registered = [reg(1, 4), reg(2, 69), reg(3, 8)];
  const { live } = liveIncarnations(registered, new Map());
  assert.deepEqual([...live].sort(), [1, 2, 3], "a fresh controller takes every registered broker for live");
  const led = initialPartitionState([2, 1, 3]);
  const here = liveForState(led.leader, registered, live, 30);
  assert.deepEqual([...here].sort(), [1, 3], "broker 2 registered (69) after the state was written (30)");
  const next = reconcilePartition(led, here, false)!;
  assert.equal(next.leader, 1);
  assert.equal(next.leaderEpoch, led.leaderEpoch + 1);
  assert.deepEqual(next.isr, [1, 3]);
  assert.equal(liveForState(2, registered, live, 70), live, "written again after its registration: live for it");
  assert.equal(liveForState(1, registered, live, 30), live, "a follower registered later keeps its place (it truncates as any follower)");
  // the last in-sync replica, restarted: no leader for one pass, then elected again in a new leader epoch
  const alone = { replicas: [2, 1, 3], isr: [2], leader: 2, leaderEpoch: 3, partitionEpoch: 9 };
  const orphan = reconcilePartition(alone, liveForState(2, registered, live, 30), false)!;
  assert.deepEqual([orphan.leader, orphan.isr], [-1, [2]]);
  const back = reconcilePartition(orphan, liveForState(orphan.leader, registered, live, 71), false)!;
  assert.deepEqual([back.leader, back.leaderEpoch], [2, 5]);
});
