/**
 * KIP-392 fetch from the closest replica: which replica a consumer should read a partition from, decided by the
 * leader from the consumer's `client.rack` (Fetch v11+ rack_id) and `replica.selector.class`. Kafka's
 * RackAwareReplicaSelector picks the leader when it is in the consumer's rack, else the replica in that rack with
 * the most data (that already holds the fetch offset), else the leader; LeaderSelector always picks the leader.
 */

/** Kafka's rack-aware selector class name. */
export const RACK_AWARE_REPLICA_SELECTOR = "org.apache.kafka.common.replica.RackAwareReplicaSelector";
/** Kafka's leader-only selector class name (its behaviour without a selector). */
export const LEADER_SELECTOR = "org.apache.kafka.common.replica.LeaderSelector";

/** The selectors Runnel knows. */
export type ReplicaSelector = "rack-aware" | "leader";

/** Parses `replica.selector.class` (unset or empty: none); throws on a class Runnel does not have. */
export function parseReplicaSelector(value: string | null): ReplicaSelector | null {
  const v = (value ?? "").trim();
  if (v === "") return null;
  if (v === RACK_AWARE_REPLICA_SELECTOR) return "rack-aware";
  if (v === LEADER_SELECTOR) return "leader";
  throw new Error(`replica.selector.class=${v} is not available; use ${RACK_AWARE_REPLICA_SELECTOR} or ${LEADER_SELECTOR}`);
}

/** What the leader knows of one replica that could serve a consumer. */
export interface ReplicaView {
  /** Broker id. */
  id: number;
  /** Its `broker.rack`, or null. */
  rack: string | null;
  /** Its log end offset (the leader's own, or the follower's from its last fetch). */
  logEndOffset: bigint;
}

/**
 * The replica a consumer in `clientRack` should read from: the leader's id (`leader`), unless a rack-aware
 * selector finds the leader outside that rack and an in-sync replica in it that already holds `fetchOffset`.
 * `replicas` are the live in-sync replicas, the leader among them.
 */
export function selectReadReplica(selector: ReplicaSelector, clientRack: string, leader: number, replicas: readonly ReplicaView[], fetchOffset: bigint): number {
  if (selector !== "rack-aware" || clientRack === "") return leader;
  const inRack = replicas.filter((r) => r.rack === clientRack && r.logEndOffset >= fetchOffset);
  if (inRack.length === 0 || inRack.some((r) => r.id === leader)) return leader;
  inRack.sort((a, b) => (a.logEndOffset > b.logEndOffset ? -1 : a.logEndOffset < b.logEndOffset ? 1 : a.id - b.id));
  return inRack[0].id;
}
