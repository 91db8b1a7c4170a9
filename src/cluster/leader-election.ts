/**
 * Kafka's ElectLeaders (API 43) decisions and their etcd writes, shared by the request handler and the controller's
 * automatic leader rebalance. A PREFERRED election makes the first replica leader again when it is live, in the ISR
 * and not shutting down; an UNCLEAN election gives a leaderless partition a leader, from the ISR when a member is
 * live, else from any live replica (accepting data loss). Every write is a compare-and-set of the partition state
 * (and, from the controller, of the controller epoch), so a concurrent change is decided again on what it left.
 */
import { ErrorCode } from "../protocol/errors.ts";
import type { Compare } from "./etcd-client.ts";
import type { EtcdMetadataStore } from "./etcd-metadata-store.ts";
import type { PartitionStateRecord } from "./metadata-store.ts";
import { assertPartitionState, NO_LEADER, type PartitionState } from "./partition-state.ts";

/** Kafka's ElectionType values. */
export const ElectionType = { PREFERRED: 0, UNCLEAN: 1 } as const;

/** Attempts of one partition's election that keeps losing its compare-and-set to concurrent changes. */
export const ELECTION_CAS_ATTEMPTS = 5;

/** An election's result for one partition: a Kafka error code (NONE when elected) and, when elected, the new state. */
export interface ElectionOutcome<T> {
  /** Kafka error code. */
  error: number;
  /** Why, for an error. */
  message: string | null;
  /** The new state (error NONE). */
  state?: T;
}

/**
 * Decides an election of `type` for one partition. `eligible`: registered brokers not in a controlled shutdown.
 * Kafka's answers: ELECTION_NOT_NEEDED (preferred already leads; unclean: the partition has a live leader),
 * PREFERRED_LEADER_NOT_AVAILABLE (the first replica is not live or not in the ISR), ELIGIBLE_LEADERS_NOT_AVAILABLE
 * (no live replica to elect), INVALID_REQUEST (unknown election type).
 */
export function decideElection<T extends PartitionState>(s: T, type: number, eligible: ReadonlySet<number>): ElectionOutcome<T> {
  let next: T;
  if (type === ElectionType.PREFERRED) {
    const preferred = s.replicas[0];
    if (s.leader === preferred) return { error: ErrorCode.ELECTION_NOT_NEEDED, message: `broker ${preferred} already leads it` };
    if (!eligible.has(preferred)) return { error: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, message: `preferred replica ${preferred} is not live` };
    if (!s.isr.includes(preferred)) return { error: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, message: `preferred replica ${preferred} is not in the ISR ${s.isr.join(",")}` };
    next = { ...s, leader: preferred, leaderEpoch: s.leaderEpoch + 1, partitionEpoch: s.partitionEpoch + 1 };
  } else if (type === ElectionType.UNCLEAN) {
    if (s.leader !== NO_LEADER && eligible.has(s.leader)) return { error: ErrorCode.ELECTION_NOT_NEEDED, message: `broker ${s.leader} leads it` };
    const clean = s.replicas.find((r) => s.isr.includes(r) && eligible.has(r));
    const unclean = s.replicas.find((r) => eligible.has(r));
    if (clean !== undefined) {
      next = { ...s, leader: clean, isr: s.isr.filter((r) => eligible.has(r)), leaderEpoch: s.leaderEpoch + 1, partitionEpoch: s.partitionEpoch + 1 };
    } else if (unclean !== undefined) {
      next = { ...s, leader: unclean, isr: [unclean], leaderEpoch: s.leaderEpoch + 1, partitionEpoch: s.partitionEpoch + 1 };
    } else {
      return { error: ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, message: `no live replica among ${s.replicas.join(",")}` };
    }
  } else {
    return { error: ErrorCode.INVALID_REQUEST, message: `unknown election type ${type}` };
  }
  assertPartitionState(next);
  return { error: ErrorCode.NONE, message: null, state: next };
}

/** One partition's answer to an election request. */
export interface ElectionResult {
  /** Topic name. */
  topic: string;
  /** Partition index. */
  partition: number;
  /** Kafka error code (NONE: elected). */
  error: number;
  /** Why, for an error. */
  message: string | null;
}

/** Registered brokers not in a controlled shutdown, in `store`'s view (a partition's offline replicas are still in). */
export function eligibleLeaders(store: Pick<EtcdMetadataStore, "brokers">): Set<number> {
  return new Set(store.brokers().filter((b) => !b.inControlledShutdown).map((b) => b.nodeId));
}

/**
 * `brokers` less those whose replica of `topic`-`partition` is in a failed log dir (KIP-112): `brokers` itself
 * when there is none.
 */
export function withoutOfflineReplicas(brokers: ReadonlySet<number>, store: Pick<EtcdMetadataStore, "topic" | "offlineReplicas">, topic: string, partition: number): ReadonlySet<number> {
  const idHex = store.topic(topic)?.idHex;
  const offline = idHex === undefined ? [] : store.offlineReplicas(idHex, partition);
  if (!offline.some((r) => brokers.has(r))) return brokers;
  const rest = new Set(brokers);
  for (const r of offline) rest.delete(r);
  return rest;
}

/**
 * Runs elections of `type` through `store`, each write also requiring `guard` (the controller epoch, or nothing).
 * `targets` null means every partition; then, as Kafka answers, partitions that need no election are left out.
 * A partition whose write keeps failing (concurrent changes, or the guard) answers the retriable REQUEST_TIMED_OUT.
 */
export async function electLeaders(store: EtcdMetadataStore, guard: Compare[], type: number, targets: readonly { topic: string; partition: number }[] | null): Promise<ElectionResult[]> {
  const all = targets === null;
  const list = targets ?? store.partitionStates().map((s) => ({ topic: s.topic, partition: s.partition }));
  const out: ElectionResult[] = [];
  for (const { topic, partition } of list) {
    const r = await electOne(store, guard, type, topic, partition);
    if (!(all && r.error === ErrorCode.ELECTION_NOT_NEEDED)) out.push(r);
  }
  return out;
}

async function electOne(store: EtcdMetadataStore, guard: Compare[], type: number, topic: string, partition: number): Promise<ElectionResult> {
  for (let attempt = 0; attempt < ELECTION_CAS_ATTEMPTS; attempt++) {
    const s: PartitionStateRecord | undefined = store.partitionState(topic, partition);
    if (s === undefined) return { topic, partition, error: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: `${topic}-${partition} does not exist` };
    const d = decideElection(s, type, withoutOfflineReplicas(eligibleLeaders(store), store, topic, partition));
    if (d.state === undefined) return { topic, partition, error: d.error, message: d.message };
    if (await store.compareAndSetPartitionGuarded(guard, d.state, s.partitionEpoch)) return { topic, partition, error: ErrorCode.NONE, message: null };
  }
  return { topic, partition, error: ErrorCode.REQUEST_TIMED_OUT, message: `${topic}-${partition} kept changing during the election (or the controller changed)` };
}
