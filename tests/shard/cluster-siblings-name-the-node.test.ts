/**
 * A sharded broker of an etcd cluster (docs/sharding.md): each shard sees the node's replicas held by another shard
 * under that shard's sibling id, and the fronts turn sibling ids back into the node's id while other brokers keep
 * theirs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SIBLING_ID_BASE, siblingState } from "../../src/shard/cluster-siblings.ts";
import { shardOf } from "../../src/shard/placement.ts";
import { rewriteFindCoordinator, rewriteMetadata } from "../../src/shard/front/node-rewrite.ts";
import type { PartitionStateRecord } from "../../src/cluster/metadata-store.ts";
import type { MetadataResponse } from "../../src/protocol/generated/03_metadata.ts";

const state = (partition: number, replicas: number[], leader: number): PartitionStateRecord => ({ topic: "t", partition, replicas, isr: replicas, leader, leaderEpoch: 3, partitionEpoch: 7, addingReplicas: [], removingReplicas: [] });

test("a shard sees the node's replica on another shard under that shard's sibling id, its own and other nodes' unchanged", () => {
  const p = [0, 1, 2, 3].find((i) => shardOf("t", i, 2) === 1)!;
  const s = state(p, [2, 5, 7], 5);
  // Node 5, shard 1 owns it: unchanged.
  assert.deepEqual(siblingState(s, { nodeId: 5, index: 1, count: 2 }), s);
  // Node 5, shard 0: node 5's replica is shard 1's, named SIBLING_ID_BASE + 1 (leader too).
  const other = siblingState(s, { nodeId: 5, index: 0, count: 2 });
  assert.deepEqual(other.replicas, [2, SIBLING_ID_BASE + 1, 7]);
  assert.deepEqual(other.isr, [2, SIBLING_ID_BASE + 1, 7]);
  assert.equal(other.leader, SIBLING_ID_BASE + 1);
  assert.equal(other.partitionEpoch, 7);
  // Node 4 holds no replica: unchanged for any shard.
  assert.deepEqual(siblingState(s, { nodeId: 4, index: 0, count: 2 }), s);
});

test("in a cluster the front names the node for sibling ids and keeps the other brokers with their ids and endpoints", () => {
  const face = { nodeId: 5, host: "127.0.0.1", port: 9000, rack: null, clustered: true };
  const res = {
    throttleTimeMs: 0,
    brokers: [{ nodeId: 2, host: "h2", port: 92, rack: null }, { nodeId: 5, host: "127.0.0.1", port: 9000, rack: null }],
    clusterId: "c",
    controllerId: 2,
    topics: [{ errorCode: 0, name: "t", isInternal: false, partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: SIBLING_ID_BASE + 1, leaderEpoch: 3, replicaNodes: [2, SIBLING_ID_BASE + 1], isrNodes: [SIBLING_ID_BASE + 1], offlineReplicas: [] }, { errorCode: 0, partitionIndex: 1, leaderId: 2, leaderEpoch: 1, replicaNodes: [2, 5], isrNodes: [2], offlineReplicas: [5] }], topicAuthorizedOperations: 0 }],
  } as unknown as MetadataResponse;
  const out = rewriteMetadata(res, face);
  assert.deepEqual(out.brokers.map((b) => b.nodeId), [2, 5]);
  assert.equal(out.controllerId, 2);
  const [p0, p1] = out.topics[0].partitions;
  assert.equal(p0.leaderId, 5);
  assert.deepEqual(p0.replicaNodes, [2, 5]);
  assert.deepEqual(p0.isrNodes, [5]);
  assert.equal(p1.leaderId, 2);
  assert.deepEqual(p1.offlineReplicas, [5]);
  // A coordinator on another broker keeps its id and endpoint; one on a sibling shard is the node.
  assert.deepEqual(rewriteFindCoordinator({ throttleTimeMs: 0, errorCode: 0, nodeId: 2, host: "h2", port: 92, coordinators: [] } as any, face).nodeId, 2);
  const sib = rewriteFindCoordinator({ throttleTimeMs: 0, errorCode: 0, nodeId: SIBLING_ID_BASE, host: "shard-0", port: 0, coordinators: [] } as any, face);
  assert.deepEqual([sib.nodeId, sib.host, sib.port], [5, "127.0.0.1", 9000]);
});
