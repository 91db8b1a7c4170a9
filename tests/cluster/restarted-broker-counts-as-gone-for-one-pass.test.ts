/**
 * A broker that re-registers with a new epoch before a controller pass saw its old registration gone (a quick
 * restart) is a new incarnation: for that pass it counts as gone, so a partition it led gets a new leader and a new
 * leader epoch and it leaves the ISR, as Kafka fences the previous incarnation; from the next pass (its new epoch
 * seen) it is live again. Pure decisions (liveIncarnations, reconcilePartition).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { initialPartitionState, liveIncarnations, reconcilePartition } from "../../src/cluster/partition-state.ts";

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
