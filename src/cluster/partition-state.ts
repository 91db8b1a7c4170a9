/**
 * A partition's replication state as the cluster agrees on it (replicas, leader, leader epoch, ISR, partition epoch)
 * and the pure decisions that change it: electing a leader from the live ISR when brokers come and go, and checking
 * a leader's ISR change request. Every change bumps the partition epoch; every leader change bumps the leader epoch.
 * The etcd writes that apply these decisions compare-and-set on the stored state (see `controller.ts`).
 */
import { ErrorCode } from "../protocol/errors.ts";
import type { PartitionStateRecord } from "./metadata-store.ts";

/** No leader (Kafka's -1). */
export const NO_LEADER = -1;

const NOBODY: ReadonlySet<number> = new Set();

/** Replication state of one partition: the fields of a {@link PartitionStateRecord} the decisions work on. */
export type PartitionState = Pick<PartitionStateRecord, "replicas" | "isr" | "leader" | "leaderEpoch" | "partitionEpoch" | "addingReplicas" | "removingReplicas">;

/** Asserts the invariants of a partition state (a broken one is a bug, never clamped). */
export function assertPartitionState(s: PartitionState): void {
  const replicas = new Set(s.replicas);
  if (replicas.size !== s.replicas.length || s.replicas.length === 0) throw new Error(`partition state: bad replicas ${JSON.stringify(s.replicas)}`);
  if (new Set(s.isr).size !== s.isr.length || !s.isr.every((r) => replicas.has(r))) throw new Error(`partition state: ISR ${JSON.stringify(s.isr)} not a subset of replicas`);
  if (s.leader !== NO_LEADER && !s.isr.includes(s.leader)) throw new Error(`partition state: leader ${s.leader} not in ISR ${JSON.stringify(s.isr)}`);
  if (s.leaderEpoch < 0 || s.partitionEpoch < 0) throw new Error("partition state: negative epoch");
  const adding = s.addingReplicas ?? [];
  const removing = s.removingReplicas ?? [];
  if (![...adding, ...removing].every((r) => replicas.has(r)) || adding.some((r) => removing.includes(r))) {
    throw new Error(`partition state: adding ${JSON.stringify(adding)} and removing ${JSON.stringify(removing)} must be disjoint subsets of the replicas`);
  }
}

/**
 * The state of a new partition, epochs 0: `isr` in sync (default: every replica; a manual placement leaves out
 * brokers that are not active) and its first member leads.
 */
export function initialPartitionState(replicas: number[], isr: readonly number[] = replicas): PartitionState {
  if (isr.length === 0) throw new Error(`partition state: a new partition needs an in-sync replica (replicas ${JSON.stringify(replicas)})`);
  const s = { replicas: [...replicas], isr: [...isr], leader: isr[0], leaderEpoch: 0, partitionEpoch: 0 };
  assertPartitionState(s);
  return s;
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/**
 * The brokers a controller pass counts as live: the registered ones, except those whose registration epoch differs
 * from the one `seen` at the last pass. Such a broker is a new incarnation that came back before a pass saw it
 * gone (a quick restart); as Kafka fences the previous incarnation of a re-registered broker, it counts as gone for
 * this pass, so it loses its leaderships (a new leader epoch) and ISR places and rejoins by catching up.
 */
export function liveIncarnations(registered: readonly { nodeId: number; brokerEpoch: number }[], seen: ReadonlyMap<number, number>): { live: Set<number>; restarted: number[] } {
  const live = new Set<number>();
  const restarted: number[] = [];
  for (const b of registered) {
    const before = seen.get(b.nodeId);
    if (before !== undefined && before !== b.brokerEpoch) restarted.push(b.nodeId);
    else live.add(b.nodeId);
  }
  return { live, restarted };
}

/**
 * The brokers of `live` for a partition whose state was written at etcd revision `written` and names `leader`: all
 * of them, except a leader registered after that write (broker epoch newer). That leader is a later incarnation than
 * the one elected, restarted without any pass of this controller seeing it (another controller was in charge, or
 * none); it must not go on in the old leader epoch with a log a power cut may have shortened. Counted as gone, it
 * loses the leadership (or, the last in-sync replica, is elected again in a new leader epoch on the next pass).
 */
export function liveForState(leader: number, registered: readonly { nodeId: number; brokerEpoch: number }[], live: ReadonlySet<number>, written: number): ReadonlySet<number> {
  const reg = leader >= 0 && live.has(leader) ? registered.find((b) => b.nodeId === leader) : undefined;
  if (reg === undefined || reg.brokerEpoch <= written) return live;
  const rest = new Set(live);
  rest.delete(leader);
  return rest;
}

/**
 * What the controller makes of a partition given the live brokers: drops dead brokers from the ISR (never the last
 * member: it keeps its claim to lead when it returns), and elects a new leader when the leader is dead or absent,
 * the first live ISR member in replica order. With `uncleanLeaderElection` (Kafka's
 * `unclean.leader.election.enable`) and no live ISR member, the first live replica leads alone, accepting data loss.
 * Brokers in `shuttingDown` (live, in a controlled shutdown) are treated as leaving: they leave the ISR and lose
 * the leadership to another live ISR member where there is one; a shutting-down leader with no such successor keeps
 * leading (and its ISR) until it is gone. Returns the new state, or null when nothing changes.
 */
export function reconcilePartition<T extends PartitionState>(s: T, live: ReadonlySet<number>, uncleanLeaderElection: boolean, shuttingDown: ReadonlySet<number> = NOBODY): T | null {
  const liveIsr = s.isr.filter((r) => live.has(r));
  const eligibleIsr = liveIsr.filter((r) => !shuttingDown.has(r));
  const successor = s.replicas.find((r) => eligibleIsr.includes(r));
  if (s.leader !== NO_LEADER && live.has(s.leader) && !(shuttingDown.has(s.leader) && successor !== undefined)) {
    // the leader stays: the ISR keeps the leader and the eligible members
    const isr = liveIsr.filter((r) => r === s.leader || !shuttingDown.has(r));
    if (sameMembers(isr, s.isr)) return null;
    const kept = { ...s, isr, partitionEpoch: s.partitionEpoch + 1 };
    assertPartitionState(kept);
    return kept;
  }
  const candidate = successor ?? s.replicas.find((r) => liveIsr.includes(r));
  let next: T;
  if (candidate !== undefined) {
    const isr = liveIsr.filter((r) => r === candidate || !shuttingDown.has(r));
    next = { ...s, leader: candidate, isr, leaderEpoch: s.leaderEpoch + 1, partitionEpoch: s.partitionEpoch + 1 };
  } else if (uncleanLeaderElection && s.replicas.some((r) => live.has(r))) {
    const chosen = s.replicas.find((r) => live.has(r) && !shuttingDown.has(r)) ?? s.replicas.find((r) => live.has(r))!;
    next = { ...s, leader: chosen, isr: [chosen], leaderEpoch: s.leaderEpoch + 1, partitionEpoch: s.partitionEpoch + 1 };
  } else {
    if (s.leader === NO_LEADER) return null;
    // No eligible leader: the ISR keeps its members so that one of them leads when it returns.
    next = { ...s, leader: NO_LEADER, leaderEpoch: s.leaderEpoch + 1, partitionEpoch: s.partitionEpoch + 1 };
  }
  assertPartitionState(next);
  return next;
}

/** A leader's request to change the ISR of one partition (Kafka's AlterPartition). */
export interface IsrChangeRequest {
  /** The leader asking. */
  leaderId: number;
  /** The leader epoch it leads in. */
  leaderEpoch: number;
  /** The partition epoch of the state it last saw. */
  partitionEpoch: number;
  /** The ISR it wants. */
  isr: number[];
}

/**
 * Checks an ISR change against the current state and the live brokers: the error code Kafka's AlterPartition would
 * answer, or the new state (partition epoch bumped). New members must be live replicas; the leader stays in.
 */
export function applyIsrChange<T extends PartitionState>(s: T, req: IsrChangeRequest, live: ReadonlySet<number>): { error: number; state?: T } {
  if (req.leaderId !== s.leader) return { error: ErrorCode.NOT_LEADER_OR_FOLLOWER };
  if (req.leaderEpoch !== s.leaderEpoch) return { error: ErrorCode.FENCED_LEADER_EPOCH };
  if (req.partitionEpoch !== s.partitionEpoch) return { error: ErrorCode.INVALID_UPDATE_VERSION };
  if (new Set(req.isr).size !== req.isr.length || !req.isr.includes(req.leaderId) || !req.isr.every((r) => s.replicas.includes(r))) {
    return { error: ErrorCode.INVALID_REQUEST };
  }
  if (req.isr.some((r) => !s.isr.includes(r) && !live.has(r))) return { error: ErrorCode.INELIGIBLE_REPLICA };
  const state = { ...s, isr: [...req.isr], partitionEpoch: s.partitionEpoch + 1 };
  assertPartitionState(state);
  return { error: ErrorCode.NONE, state };
}
