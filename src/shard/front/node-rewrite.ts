/**
 * The shards' internal node ids (0..N-1) rewritten to the node's own `node.id`, and their endpoints to the
 * listener the client connected to, in every response that names brokers: clients see exactly one broker. On a
 * broker of an etcd cluster (`NodeFace.clustered`) the shards already answer with the cluster's real broker ids and
 * endpoints; only the sibling ids that name another shard of this node (../cluster-siblings.ts) become the node.
 */
import { isSiblingId } from "../cluster-siblings.ts";
import type { MetadataResponse } from "../../protocol/generated/03_metadata.ts";
import type { DescribeClusterResponse } from "../../protocol/generated/60_describe_cluster.ts";
import type { FindCoordinatorResponse } from "../../protocol/generated/10_find_coordinator.ts";
import type { ProduceResponse } from "../../protocol/generated/00_produce.ts";
import type { FetchResponse } from "../../protocol/generated/01_fetch.ts";
import type { DescribeTopicPartitionsResponse } from "../../protocol/generated/75_describe_topic_partitions.ts";
import type { ListPartitionReassignmentsResponse } from "../../protocol/generated/46_list_partition_reassignments.ts";

/** The node as clients see it on one listener. */
export interface NodeFace {
  /** `node.id`. */
  readonly nodeId: number;
  /** Advertised host of the listener. */
  readonly host: string;
  /** Advertised port of the listener. */
  readonly port: number;
  /** `broker.rack`, or null. */
  readonly rack: string | null;
  /** The node is a broker of an etcd cluster: other brokers' ids and endpoints stay. */
  readonly clustered?: boolean;
}

/** Calls `fn` on every partition of `topics`. */
function eachPartition<P>(topics: readonly { partitions: readonly P[] }[], fn: (p: P) => void): void {
  for (const t of topics) for (const p of t.partitions) fn(p);
}

/** What naming the node for its shards needs of a {@link NodeFace}: its id, and whether it is a broker of an etcd cluster. */
export type NodeIdentity = Pick<NodeFace, "nodeId" | "clustered">;

/** A broker id a shard answered with, as clients see it: any shard becomes the node; -1 (none) stays; in a cluster, other brokers' ids stay and sibling ids become the node. */
export function clientNodeId(face: NodeIdentity, id: number): number {
  if (face.clustered) return isSiblingId(id) ? face.nodeId : id;
  return id >= 0 ? face.nodeId : id;
}

/** A replica list a shard answered with, as clients see it: the node once when any shard is named (a shard holds the only replica), else empty; in a cluster, sibling ids become the node. */
export function clientNodeIds(face: NodeIdentity, ids: readonly number[]): number[] {
  if (face.clustered) return ids.some(isSiblingId) ? ids.map((id) => clientNodeId(face, id)) : (ids as number[]);
  return ids.length > 0 ? [face.nodeId] : [];
}

/** Whether an answer's broker entry names a real broker (a sibling shard is never listed). */
function realBroker(b: { nodeId?: number; brokerId?: number }): boolean {
  return !isSiblingId(b.nodeId ?? b.brokerId ?? -1);
}

/** A nullable replica list (DescribeTopicPartitions' ELR fields). */
function nullableNodes(face: NodeFace, ids: readonly number[] | null): number[] | null {
  return ids === null ? null : clientNodeIds(face, ids);
}

/** A partition's leader and replica lists name the node. */
function leaderAndReplicas(p: { leaderId: number; replicaNodes: number[]; isrNodes: number[]; offlineReplicas?: number[] }, face: NodeFace): void {
  p.leaderId = clientNodeId(face, p.leaderId);
  p.replicaNodes = clientNodeIds(face, p.replicaNodes);
  p.isrNodes = clientNodeIds(face, p.isrNodes);
  // a clustered node's shard and the node's own report (KIP-112) may name the node twice: once here
  if (p.offlineReplicas !== undefined && p.offlineReplicas.length > 0) p.offlineReplicas = [...new Set(clientNodeIds(face, p.offlineReplicas))];
}

/** Metadata: one broker, the node as controller and as every partition's leader and replica. */
export function rewriteMetadata(res: MetadataResponse, face: NodeFace): MetadataResponse {
  res.brokers = face.clustered ? res.brokers.filter(realBroker) : [{ nodeId: face.nodeId, host: face.host, port: face.port, rack: face.rack }];
  if (res.controllerId !== undefined) res.controllerId = clientNodeId(face, res.controllerId);
  eachPartition(res.topics, (p) => leaderAndReplicas(p, face));
  return res;
}

/** DescribeCluster: one broker, the node as controller. */
export function rewriteDescribeCluster(res: DescribeClusterResponse, face: NodeFace): DescribeClusterResponse {
  if (res.errorCode !== 0) return res;
  res.brokers = face.clustered ? res.brokers.filter(realBroker) : [{ brokerId: face.nodeId, host: face.host, port: face.port, rack: face.rack, isFenced: false }];
  res.controllerId = clientNodeId(face, res.controllerId);
  return res;
}

/** FindCoordinator: every coordinator found is the node, at the client's listener. */
export function rewriteFindCoordinator(res: FindCoordinatorResponse, face: NodeFace): FindCoordinatorResponse {
  if (res.nodeId !== undefined && res.nodeId >= 0 && (!face.clustered || isSiblingId(res.nodeId))) {
    res.nodeId = face.nodeId;
    res.host = face.host;
    res.port = face.port;
  }
  for (const c of res.coordinators ?? []) {
    if (c.nodeId < 0 || (face.clustered && !isSiblingId(c.nodeId))) continue;
    c.nodeId = face.nodeId;
    c.host = face.host;
    c.port = face.port;
  }
  return res;
}

/** Produce: current-leader hints name the node, and the node's endpoint when any hint is given. */
export function rewriteProduce(res: ProduceResponse, face: NodeFace): ProduceResponse {
  for (const t of res.responses) for (const p of t.partitionResponses) if (p.currentLeader !== undefined) p.currentLeader.leaderId = clientNodeId(face, p.currentLeader.leaderId);
  rewriteEndpoints(res, face);
  return res;
}

/** KIP-951 leader endpoints: the node alone; in a cluster, the real brokers named, with the node for a sibling. */
function rewriteEndpoints(res: { nodeEndpoints?: { nodeId: number; host: string; port: number; rack: string | null }[] }, face: NodeFace): void {
  if (res.nodeEndpoints === undefined || res.nodeEndpoints.length === 0) return;
  const self = { nodeId: face.nodeId, host: face.host, port: face.port, rack: face.rack };
  if (!face.clustered) res.nodeEndpoints = [self];
  else if (res.nodeEndpoints.some((e) => isSiblingId(e.nodeId))) res.nodeEndpoints = [...res.nodeEndpoints.filter((e) => !isSiblingId(e.nodeId) && e.nodeId !== face.nodeId), self];
}

/** Fetch: current-leader hints name the node; no preferred read replica (the node is the only one). */
export function rewriteFetch(res: FetchResponse, face: NodeFace): FetchResponse {
  eachPartition(res.responses, (p) => {
    if (p.currentLeader !== undefined) p.currentLeader.leaderId = clientNodeId(face, p.currentLeader.leaderId);
    if (p.preferredReadReplica !== undefined) p.preferredReadReplica = face.clustered ? clientNodeId(face, p.preferredReadReplica) : -1;
  });
  rewriteEndpoints(res, face);
  return res;
}

/** DescribeTopicPartitions: leaders and replica lists name the node. */
export function rewriteDescribeTopicPartitions(res: DescribeTopicPartitionsResponse, face: NodeFace): DescribeTopicPartitionsResponse {
  eachPartition(res.topics, (p) => {
    leaderAndReplicas(p, face);
    p.eligibleLeaderReplicas = nullableNodes(face, p.eligibleLeaderReplicas);
    p.lastKnownElr = nullableNodes(face, p.lastKnownElr);
  });
  return res;
}

/** ListPartitionReassignments: replica lists name the node. */
export function rewriteListPartitionReassignments(res: ListPartitionReassignmentsResponse, face: NodeFace): ListPartitionReassignmentsResponse {
  eachPartition(res.topics, (p) => {
    p.replicas = clientNodeIds(face, p.replicas);
    p.addingReplicas = clientNodeIds(face, p.addingReplicas);
    p.removingReplicas = clientNodeIds(face, p.removingReplicas);
  });
  return res;
}
