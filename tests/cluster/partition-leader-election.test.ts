/**
 * Leader election and ISR changes (pure): a dead leader is replaced by the first live ISR member in replica order
 * with the leader epoch bumped; dead followers leave the ISR; with no live ISR member there is no leader unless
 * unclean.leader.election.enable; a returning ISR member leads again; ISR change requests are checked like Kafka's
 * AlterPartition. A seeded random walk of broker deaths and returns keeps every invariant.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { applyIsrChange, assertPartitionState, initialPartitionState, NO_LEADER, reconcilePartition, type PartitionState } from "../../src/cluster/partition-state.ts";
import { SeededRandom } from "../../src/platform/random.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";

const live = (...ids: number[]) => new Set(ids);

test("a dead leader is replaced by the first live ISR member in replica order; epochs bump", () => {
  const s = initialPartitionState([1, 2, 3]);
  const next = reconcilePartition({ ...s, isr: [1, 3, 2] }, live(2, 3), false)!;
  assert.equal(next.leader, 2);
  assert.deepEqual(next.isr.sort(), [2, 3]);
  assert.equal(next.leaderEpoch, 1);
  assert.equal(next.partitionEpoch, 1);
  assert.equal(reconcilePartition(next, live(2, 3), false), null, "stable state: no change");
});

test("a dead follower leaves the ISR without a leader change", () => {
  const s = initialPartitionState([1, 2, 3]);
  const next = reconcilePartition(s, live(1, 2), false)!;
  assert.equal(next.leader, 1);
  assert.deepEqual(next.isr, [1, 2]);
  assert.equal(next.leaderEpoch, 0);
  assert.equal(next.partitionEpoch, 1);
});

test("no live ISR member: no leader (clean) and the ISR keeps its last members; an ISR member's return makes it leader", () => {
  const s: PartitionState = { replicas: [1, 2, 3], isr: [1], leader: 1, leaderEpoch: 4, partitionEpoch: 9 };
  const offline = reconcilePartition(s, live(2, 3), false)!;
  assert.equal(offline.leader, NO_LEADER);
  assert.deepEqual(offline.isr, [1]);
  assert.equal(offline.leaderEpoch, 5);
  assert.equal(reconcilePartition(offline, live(2, 3), false), null);
  const back = reconcilePartition(offline, live(1, 2, 3), false)!;
  assert.equal(back.leader, 1);
  assert.equal(back.leaderEpoch, 6);
});

test("unclean.leader.election.enable=true elects the first live out-of-sync replica with an ISR of itself", () => {
  const s: PartitionState = { replicas: [1, 2, 3], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 3 };
  const next = reconcilePartition(s, live(3, 2), true)!;
  assert.equal(next.leader, 2);
  assert.deepEqual(next.isr, [2]);
  assert.equal(reconcilePartition(s, live(), true)!.leader, NO_LEADER, "no live replica at all: still no leader");
});

test("ISR change requests: checked like AlterPartition, applied with the partition epoch bumped", () => {
  const s: PartitionState = { replicas: [1, 2, 3], isr: [1, 2], leader: 1, leaderEpoch: 2, partitionEpoch: 5 };
  const req = { leaderId: 1, leaderEpoch: 2, partitionEpoch: 5, isr: [1, 2, 3] };
  const ok = applyIsrChange(s, req, live(1, 2, 3));
  assert.equal(ok.error, ErrorCode.NONE);
  assert.deepEqual(ok.state!.isr, [1, 2, 3]);
  assert.equal(ok.state!.partitionEpoch, 6);
  assert.equal(ok.state!.leaderEpoch, 2);
  assert.equal(applyIsrChange(s, { ...req, leaderId: 2 }, live(1, 2, 3)).error, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  assert.equal(applyIsrChange(s, { ...req, leaderEpoch: 1 }, live(1, 2, 3)).error, ErrorCode.FENCED_LEADER_EPOCH);
  assert.equal(applyIsrChange(s, { ...req, partitionEpoch: 4 }, live(1, 2, 3)).error, ErrorCode.INVALID_UPDATE_VERSION);
  assert.equal(applyIsrChange(s, req, live(1, 2)).error, ErrorCode.INELIGIBLE_REPLICA, "a dead broker cannot join");
  assert.equal(applyIsrChange(s, { ...req, isr: [2] }, live(1, 2, 3)).error, ErrorCode.INVALID_REQUEST, "the leader stays in");
  assert.equal(applyIsrChange(s, { ...req, isr: [1, 4] }, live(1, 2, 3, 4)).error, ErrorCode.INVALID_REQUEST, "only replicas");
  const shrink = applyIsrChange(s, { ...req, isr: [1] }, live(1));
  assert.deepEqual(shrink.state!.isr, [1]);
});

test("seeded walk of deaths, returns and ISR expansions: invariants hold, epochs only grow, leaders come from the ISR", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const rnd = new SeededRandom(seed);
    let s = initialPartitionState([1, 2, 3, 4]);
    const up = new Set([1, 2, 3, 4]);
    for (let step = 0; step < 500; step++) {
      const id = 1 + Math.floor(rnd.float() * 4);
      if (rnd.float() < 0.5) up.delete(id);
      else up.add(id);
      const before = s;
      const next = reconcilePartition(s, up, false);
      if (next) {
        assertPartitionState(next);
        assert.ok(next.partitionEpoch === before.partitionEpoch + 1);
        if (next.leader !== before.leader) {
          assert.equal(next.leaderEpoch, before.leaderEpoch + 1);
          if (next.leader !== NO_LEADER) assert.ok(before.isr.includes(next.leader), `seed ${seed}: leader ${next.leader} came from ISR ${before.isr}`);
        }
        s = next;
      }
      // the leader lets caught-up live followers back in
      if (s.leader !== NO_LEADER && rnd.float() < 0.3) {
        const isr = [...new Set([...s.isr.filter((r) => up.has(r)), ...s.replicas.filter((r) => up.has(r))])];
        if (!isr.includes(s.leader)) isr.push(s.leader);
        const r = applyIsrChange(s, { leaderId: s.leader, leaderEpoch: s.leaderEpoch, partitionEpoch: s.partitionEpoch, isr }, up);
        if (r.state) s = r.state;
      }
    }
  }
});
