/**
 * ElectLeaders decisions (pure), with Kafka's answers: PREFERRED puts the first replica back in charge when it is
 * live (not shutting down) and in the ISR; UNCLEAN gives a leaderless partition an in-sync live replica, else any live
 * replica with an ISR of itself; an unknown type is INVALID_REQUEST.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { decideElection, ElectionType } from "../../src/cluster/leader-election.ts";
import type { PartitionState } from "../../src/cluster/partition-state.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";

const set = (...ids: number[]) => new Set(ids);
const moved: PartitionState = { replicas: [1, 2, 3], isr: [2, 3, 1], leader: 2, leaderEpoch: 4, partitionEpoch: 9 };

test("PREFERRED: the first replica leads again with both epochs bumped; refusals as Kafka's", () => {
  const d = decideElection(moved, ElectionType.PREFERRED, set(1, 2, 3));
  assert.equal(d.error, ErrorCode.NONE);
  assert.deepEqual(d.state, { ...moved, leader: 1, leaderEpoch: 5, partitionEpoch: 10 });
  assert.equal(decideElection(d.state!, ElectionType.PREFERRED, set(1, 2, 3)).error, ErrorCode.ELECTION_NOT_NEEDED);
  assert.equal(decideElection(moved, ElectionType.PREFERRED, set(2, 3)).error, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, "not live");
  assert.equal(decideElection({ ...moved, isr: [2, 3] }, ElectionType.PREFERRED, set(1, 2, 3)).error, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, "not in sync");
});

test("UNCLEAN: not needed with a live leader; in-sync live replica first, else any live replica alone; none live is ELIGIBLE_LEADERS_NOT_AVAILABLE", () => {
  assert.equal(decideElection(moved, ElectionType.UNCLEAN, set(1, 2, 3)).error, ErrorCode.ELECTION_NOT_NEEDED);
  const offline: PartitionState = { replicas: [1, 2, 3], isr: [1], leader: -1, leaderEpoch: 4, partitionEpoch: 9 };
  const clean = decideElection({ ...offline, isr: [1, 3] }, ElectionType.UNCLEAN, set(2, 3));
  assert.deepEqual([clean.error, clean.state?.leader, clean.state?.isr], [ErrorCode.NONE, 3, [3]]);
  const dirty = decideElection(offline, ElectionType.UNCLEAN, set(2, 3));
  assert.deepEqual([dirty.error, dirty.state?.leader, dirty.state?.isr, dirty.state?.leaderEpoch], [ErrorCode.NONE, 2, [2], 5]);
  assert.equal(decideElection(offline, ElectionType.UNCLEAN, set()).error, ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE);
  assert.equal(decideElection(offline, 7, set(1)).error, ErrorCode.INVALID_REQUEST);
});
