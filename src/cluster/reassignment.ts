/**
 * Partition reassignment as Kafka does it, in pure decisions on a partition's state (KIP-455):
 * - starting a move to target replicas T from original replicas R writes replicas = T then R − T, with
 *   adding = T − R and removing = R − T; the adding replicas fetch from the leader and join the ISR when caught up;
 * - once every target replica is in the ISR the move completes: replicas = T, ISR = ISR ∩ T, adding and removing
 *   emptied, and a leader outside T hands over to the first in-sync target replica (the leader epoch bumps);
 * - cancelling reverts to R (a new move of a partition that is moving starts from R too).
 * Every change bumps the partition epoch; the caller writes it by compare-and-set on that epoch. A change that drops
 * a replica from the replica list bumps the leader epoch too, also when the leader stays (Kafka's
 * PartitionChangeBuilder.triggerLeaderEpochBumpForReplicaReassignmentIfNeeded), so the removed replica's fetches are
 * fenced by epoch.
 */
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { assertPartitionState, NO_LEADER, type PartitionState } from "./partition-state.ts";

/** Whether a reassignment of the partition is under way. */
export function isReassigning(s: PartitionState): boolean {
  return (s.addingReplicas?.length ?? 0) > 0 || (s.removingReplicas?.length ?? 0) > 0;
}

/** The replicas the partition had before its reassignment began (all of them when none runs). */
export function originalReplicas(s: PartitionState): number[] {
  const adding = s.addingReplicas ?? [];
  return s.replicas.filter((r) => !adding.includes(r));
}

/** The replicas the partition will have once its reassignment completes (all of them when none runs). */
export function targetReplicas(s: PartitionState): number[] {
  const removing = s.removingReplicas ?? [];
  return s.replicas.filter((r) => !removing.includes(r));
}

function withoutReassignment<T extends PartitionState>(s: T): T {
  const out = { ...s };
  delete out.addingReplicas;
  delete out.removingReplicas;
  return out;
}

/** The first member of `order` that is in the ISR and live, or NO_LEADER. */
function firstInSync(order: readonly number[], isr: readonly number[], live: ReadonlySet<number>): number {
  return order.find((r) => isr.includes(r) && live.has(r)) ?? NO_LEADER;
}

/** Keeps the leader when it stays a replica and in sync; else elects from `order` (the leader epoch bumps). */
function withLeaderIn<T extends PartitionState>(next: T, order: readonly number[], live: ReadonlySet<number>): T {
  if (next.leader !== NO_LEADER && next.isr.includes(next.leader)) return next;
  const leader = firstInSync(order, next.isr, live);
  return { ...next, leader, leaderEpoch: next.leaderEpoch + 1 };
}

/**
 * `next` with the leader epoch bumped when it drops a replica of `prev` and its leader epoch did not already move
 * (a new leader bumps it once): Kafka's controller fences removed replicas this way.
 */
function fencingRemovedReplicas<T extends PartitionState>(prev: PartitionState, next: T): T {
  if (next.leaderEpoch !== prev.leaderEpoch || prev.replicas.every((r) => next.replicas.includes(r))) return next;
  return { ...next, leaderEpoch: prev.leaderEpoch + 1 };
}

/**
 * Checks a target replica list (Kafka's rules): not empty, no duplicates, every broker registered; with
 * `allowReplicationFactorChange` false (AlterPartitionReassignments v1), the replica count must stay.
 * Throws INVALID_REPLICA_ASSIGNMENT or INVALID_REPLICATION_FACTOR.
 */
export function checkTarget(s: PartitionState, target: readonly number[], registered: ReadonlySet<number>, allowReplicationFactorChange = true): void {
  if (target.length === 0) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, "The replica list is empty.");
  if (new Set(target).size !== target.length) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Duplicate replica ids in ${JSON.stringify(target)}.`);
  const unknown = target.filter((r) => !registered.has(r));
  if (unknown.length > 0) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment includes broker(s) ${unknown.join(", ")} that are not registered.`);
  if (!allowReplicationFactorChange && target.length !== originalReplicas(s).length) {
    throw new KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, `The replication factor is changed from ${originalReplicas(s).length} to ${target.length}, which the request does not allow.`);
  }
}

/**
 * Starts (or replaces) a move to `target` (already checked by {@link checkTarget}): the new state, or null when the
 * partition already sits on exactly `target` with no move under way. A move whose adding replicas are all in sync
 * already (a pure removal, or a reorder) completes at once.
 */
export function startReassignment<T extends PartitionState>(s: T, target: readonly number[], live: ReadonlySet<number>): T | null {
  const original = originalReplicas(s);
  const sameOrder = original.length === target.length && original.every((r, i) => r === target[i]);
  if (sameOrder && !isReassigning(s)) return null;
  const adding = target.filter((r) => !original.includes(r));
  const removing = original.filter((r) => !target.includes(r));
  const replicas = [...target, ...removing];
  let next: T = withoutReassignment({ ...s, replicas, isr: s.isr.filter((r) => replicas.includes(r)), partitionEpoch: s.partitionEpoch + 1 });
  if (adding.length > 0 || removing.length > 0) next = { ...next, addingReplicas: adding, removingReplicas: removing };
  next = withLeaderIn(next, replicas, live);
  const done = completeReassignment(next, live);
  if (done !== null) next = { ...done, partitionEpoch: s.partitionEpoch + 1 };
  if (next.leaderEpoch > s.leaderEpoch + 1) next = { ...next, leaderEpoch: s.leaderEpoch + 1 };
  next = fencingRemovedReplicas(s, next);
  assertPartitionState(next);
  return next;
}

/**
 * Completes a move whose target replicas are all in the ISR: the new state, or null while some target replica
 * still catches up (or no move runs, or no in-sync target replica is live to lead).
 */
export function completeReassignment<T extends PartitionState>(s: T, live: ReadonlySet<number>): T | null {
  if (!isReassigning(s)) return null;
  const target = targetReplicas(s);
  if (!target.every((r) => s.isr.includes(r))) return null;
  const isr = s.isr.filter((r) => target.includes(r));
  let next: T = withoutReassignment({ ...s, replicas: target, isr, partitionEpoch: s.partitionEpoch + 1 });
  next = fencingRemovedReplicas(s, withLeaderIn(next, target, live));
  if (next.leader === NO_LEADER) return null;
  assertPartitionState(next);
  return next;
}

/**
 * Cancels a move (AlterPartitionReassignments with null replicas): back to the original replicas, the adding ones
 * dropped from the ISR; a leader among them hands back to the first in-sync original replica. Throws
 * NO_REASSIGNMENT_IN_PROGRESS when none runs.
 */
export function cancelReassignment<T extends PartitionState>(s: T, live: ReadonlySet<number>): T {
  if (!isReassigning(s)) throw new KafkaError(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, "No reassignment is in progress for this partition.");
  const original = originalReplicas(s);
  const isr = s.isr.filter((r) => original.includes(r));
  if (isr.length === 0) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, "Cannot cancel: none of the original replicas is in sync any more.");
  const next = fencingRemovedReplicas(s, withLeaderIn(withoutReassignment({ ...s, replicas: original, isr, partitionEpoch: s.partitionEpoch + 1 }), original, live));
  assertPartitionState(next);
  return next;
}
