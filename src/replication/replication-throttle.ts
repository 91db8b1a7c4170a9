/**
 * Kafka's replication throttle (KIP-73), one per side of a broker:
 * - the leader side serves at most `leader.replication.throttled.rate` bytes/s of the partitions whose
 *   `leader.replication.throttled.replicas` list this broker, to followers out of the ISR;
 * - the follower side fetches at most `follower.replication.throttled.rate` bytes/s of the partitions whose
 *   `follower.replication.throttled.replicas` list this broker, while it is out of the ISR.
 * A replica list is `partition:broker` pairs or `*` (every replica). In-sync replicas are never throttled, so a
 * move never slows the acks=all path. While the measured rate is above the bound a throttled partition is left out
 * of the fetch (follower) or answered without records (leader); the bytes of throttled partitions are counted.
 */
import type { Clock } from "../platform/clock.ts";
import { QuotaRates } from "../security/quota-rate.ts";

/** Broker dynamic config: the leader side's bound, bytes/s. */
export const LEADER_REPLICATION_THROTTLED_RATE = "leader.replication.throttled.rate";
/** Broker dynamic config: the follower side's bound, bytes/s. */
export const FOLLOWER_REPLICATION_THROTTLED_RATE = "follower.replication.throttled.rate";

/** Parsed throttled-replica lists by their text (a topic's list is parsed once, not at every fetch). */
const parsedLists = new Map<string, ReadonlySet<string> | "*">();
/** Bound on {@link parsedLists} (distinct list texts; cleared when reached). */
const MAX_PARSED_LISTS = 1024;

/** Whether a throttled-replica list (`0:101,1:102` or `*`) names partition `partition` on broker `brokerId`. */
export function throttledReplicasInclude(list: string, partition: number, brokerId: number): boolean {
  if (list === "") return false;
  let parsed = parsedLists.get(list);
  if (parsed === undefined) {
    const text = list.trim();
    parsed = text === "*" ? "*" : new Set(text.split(",").map((e) => e.split(":").map((x) => Number(x.trim())).join(":")));
    if (parsedLists.size >= MAX_PARSED_LISTS) parsedLists.clear();
    parsedLists.set(list, parsed);
  }
  return parsed === "*" || parsed.has(`${partition}:${brokerId}`);
}

/** What one side's throttle reads. */
export interface ReplicationThrottleDeps {
  /** This broker's node id. */
  brokerId: number;
  /** The bound now (bytes/s; dynamic config, read at every decision). */
  rate(): number;
  /** The topic's throttled-replica list for this side. */
  replicas(topic: string): string;
  /** Clock. */
  clock: Clock;
  /** `replication.quota.window.num`. */
  windowNum: number;
  /** `replication.quota.window.size.seconds` in ms. */
  windowMs: number;
}

/** One side's replication throttle. */
export class ReplicationThrottle {
  private readonly deps: ReplicationThrottleDeps;
  private readonly rates: QuotaRates;
  /** Bytes of throttled partitions counted so far (for metrics and logs). */
  throttledBytes = 0;
  /** Times a partition was left out because the bound was reached. */
  throttledFetches = 0;

  constructor(deps: ReplicationThrottleDeps) {
    this.deps = deps;
    this.rates = new QuotaRates(deps.windowNum, deps.windowMs);
  }

  /** Whether this side throttles `topic`-`partition` here (a rate is set and the topic's list names this broker). */
  isThrottled(topic: string, partition: number): boolean {
    return this.bound() !== null && throttledReplicasInclude(this.deps.replicas(topic), partition, this.deps.brokerId);
  }

  /** Kafka's shouldThrottle: an out-of-sync replica of a throttled partition while the bound is exceeded. */
  shouldThrottle(topic: string, partition: number, replicaInSync: boolean): boolean {
    if (replicaInSync || !this.isThrottled(topic, partition)) return false;
    const bound = this.bound()!;
    const exceeded = this.rates.record("replication", 0, bound, this.deps.clock.monotonicMs()) > 0;
    if (exceeded) this.throttledFetches++;
    return exceeded;
  }

  /** Counts `bytes` moved of a throttled partition. */
  record(topic: string, partition: number, bytes: number): void {
    if (bytes <= 0 || !this.isThrottled(topic, partition)) return;
    this.throttledBytes += bytes;
    this.rates.record("replication", bytes, this.bound()!, this.deps.clock.monotonicMs());
  }

  /** The bound in bytes/s, or null when unbounded (Kafka's default is Long.MAX_VALUE). */
  private bound(): number | null {
    const r = this.deps.rate();
    return Number.isFinite(r) && r > 0 && r < Number.MAX_SAFE_INTEGER ? r : null;
  }
}
