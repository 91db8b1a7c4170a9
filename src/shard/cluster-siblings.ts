/**
 * A sharded broker of an etcd cluster (docs/sharding.md, "A sharded broker of an etcd cluster"): the node keeps one
 * identity in etcd (its `node.id`, lease and listeners, held by the main thread) and each of its shards runs a
 * Broker with that same node id over a view of the etcd metadata in which the node's replicas that another shard
 * owns are named by that shard's **sibling id** (`SIBLING_ID_BASE + k`). So each shard's broker sees its own
 * partitions as the node's and the other shards' as another broker's, which it reaches over the host's port
 * connections (transaction markers, verification), exactly as a shard of a single node reaches the others; the
 * fronts name the node again for sibling ids in every answer (./front/node-rewrite.ts).
 */
import type { BrokerRegistration, MetadataChange, PartitionStateRecord } from "../cluster/metadata-store.ts";
import { shardOf } from "./placement.ts";

/** The first sibling id: shard k of a clustered node is `SIBLING_ID_BASE + k` in the other shards' views. */
export const SIBLING_ID_BASE = 2_000_000_000;
/** The listener name of a sibling's registration (the shards' internal plaintext listener). */
export const SIBLING_LISTENER = "PLAINTEXT";

/** Whether `id` names a shard of this node in a shard's view (never a broker of the cluster). */
export function isSiblingId(id: number): boolean {
  return id >= SIBLING_ID_BASE;
}

/** How shard `index` of `count` of node `nodeId` sees the cluster's metadata. */
export interface SiblingView {
  nodeId: number;
  index: number;
  count: number;
}

/** `ids` with `from` replaced by `to` (the same array when `from` is absent). */
function renamed(ids: number[], from: number, to: number): number[] {
  return ids.includes(from) ? ids.map((r) => (r === from ? to : r)) : ids;
}

/** Partition state `s` as shard `v.index` sees it: the node's replica named by its owning shard's sibling id when another shard owns it. */
export function siblingState(s: PartitionStateRecord, v: SiblingView): PartitionStateRecord {
  if (!s.replicas.includes(v.nodeId) && !(s.addingReplicas ?? []).includes(v.nodeId)) return s;
  const owner = shardOf(s.topic, s.partition, v.count);
  if (owner === v.index) return s;
  const to = SIBLING_ID_BASE + owner;
  const out: PartitionStateRecord = { ...s, replicas: renamed(s.replicas, v.nodeId, to), isr: renamed(s.isr, v.nodeId, to), leader: s.leader === v.nodeId ? to : s.leader };
  if (s.addingReplicas !== undefined) out.addingReplicas = renamed(s.addingReplicas, v.nodeId, to);
  if (s.removingReplicas !== undefined) out.removingReplicas = renamed(s.removingReplicas, v.nodeId, to);
  return out;
}

/** Change `c` as shard `v.index` sees it. */
export function siblingChange(c: MetadataChange, v: SiblingView): MetadataChange {
  return c.kind === "partition" && c.value !== null ? { ...c, value: siblingState(c.value, v) } : c;
}

/** The registration shard `k`'s sibling id stands for in the other shards' views (reached through the host, never over TCP). */
export function siblingRegistration(k: number, brokerEpoch: number): BrokerRegistration {
  return { nodeId: SIBLING_ID_BASE + k, brokerEpoch, rack: null, endpoints: [{ name: SIBLING_LISTENER, host: `shard-${k}`, port: 0, securityProtocol: "PLAINTEXT" }] };
}
