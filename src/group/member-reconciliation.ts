/**
 * Incremental reconciliation of one member towards its target assignment (Kafka's CurrentAssignmentBuilder):
 *
 * - STABLE at an older epoch: compute the next assignment.
 * - UNREVOKED_PARTITIONS: wait until the member's owned partitions (from its heartbeat) no longer include the ones
 *   pending revocation, then move to the next epoch.
 * - UNRELEASED_PARTITIONS: retry, picking up partitions their previous owners have released meanwhile.
 *
 * The next assignment keeps (current ∩ target); revokes (current − target) first, staying at the current epoch,
 * unless the member's heartbeat already shows those partitions released; only when nothing is left to revoke does
 * the member move to the target epoch and receive the target partitions no other member still owns (a partition is
 * never owned by two members at once). Partitions the member itself was revoking count as released once it reached
 * the next assignment: its heartbeat no longer owns them.
 */
import type { TopicPartitionsById } from "./consumer-group-records.ts";
import { MemberState, type ModernMember } from "./modern-group.ts";

/** Owned partitions as a heartbeat reports them (null = not sent). */
export type OwnedPartitions = { topicIdHex: string; partitions: number[] }[] | null;

/** Reconciles `member` (not modified) towards `target` at `targetEpoch`; returns the member's next state. */
export function reconcileMember(
  member: ModernMember,
  targetEpoch: number,
  target: TopicPartitionsById,
  owned: OwnedPartitions,
  partitionEpoch: (topicId: string, partition: number) => number,
): ModernMember {
  switch (member.state) {
    case MemberState.STABLE:
      if (member.memberEpoch !== targetEpoch) return nextAssignment(member, member.memberEpoch, targetEpoch, target, owned, partitionEpoch);
      return member;
    case MemberState.UNREVOKED_PARTITIONS:
      if (ownsRevokedPartitions(member.pendingRevocation, owned)) return member;
      // Kafka 4.4 keeps the member's epoch while a newer target makes it revoke again (it moves to the target
      // epoch once nothing is left to revoke).
      return nextAssignment(member, member.memberEpoch, targetEpoch, target, owned, partitionEpoch);
    case MemberState.UNRELEASED_PARTITIONS:
      return nextAssignment(member, member.memberEpoch, targetEpoch, target, owned, partitionEpoch);
    default:
      throw new Error(`member ${member.memberId} in unknown state ${member.state}`);
  }
}

function ownsRevokedPartitions(pending: TopicPartitionsById, owned: OwnedPartitions): boolean {
  if (owned === null) return true;
  for (const t of owned) {
    const s = pending.get(t.topicIdHex);
    if (s === undefined) continue;
    for (const p of t.partitions) if (s.has(p)) return true;
  }
  return false;
}

function nextAssignment(
  member: ModernMember,
  memberEpoch: number,
  targetEpoch: number,
  target: TopicPartitionsById,
  owned: OwnedPartitions,
  partitionEpoch: (topicId: string, partition: number) => number,
): ModernMember {
  let unreleased = false;
  const assigned: TopicPartitionsById = new Map();
  const revoke: TopicPartitionsById = new Map();
  const toAssign: TopicPartitionsById = new Map();
  const topics = new Set([...target.keys(), ...member.assigned.keys()]);
  for (const t of topics) {
    const want = target.get(t) ?? new Set<number>();
    const have = member.assigned.get(t) ?? new Set<number>();
    const keep = new Set([...have].filter((p) => want.has(p)));
    const rev = new Set([...have].filter((p) => !keep.has(p)));
    const add = new Set<number>();
    for (const p of want) {
      if (keep.has(p)) continue;
      if (partitionEpoch(t, p) !== -1 && !member.pendingRevocation.get(t)?.has(p)) unreleased = true;
      else add.add(p);
    }
    if (keep.size > 0) assigned.set(t, keep);
    if (rev.size > 0) revoke.set(t, rev);
    if (add.size > 0) toAssign.set(t, add);
  }
  const next = (state: number, epoch: number, a: TopicPartitionsById, pending: TopicPartitionsById): ModernMember => ({
    ...member,
    state,
    previousMemberEpoch: epoch !== member.memberEpoch ? member.memberEpoch : member.previousMemberEpoch,
    memberEpoch: epoch,
    assigned: a,
    pendingRevocation: pending,
  });
  if (revoke.size > 0 && ownsRevokedPartitions(revoke, owned)) return next(MemberState.UNREVOKED_PARTITIONS, memberEpoch, assigned, revoke);
  for (const [t, s] of toAssign) {
    const cur = assigned.get(t);
    if (cur === undefined) assigned.set(t, s);
    else for (const p of s) cur.add(p);
  }
  return next(unreleased ? MemberState.UNRELEASED_PARTITIONS : MemberState.STABLE, targetEpoch, assigned, new Map());
}
