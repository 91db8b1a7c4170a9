/**
 * Manual replica assignments through the front: clients know one broker, so they name the node's id; the front
 * turns it into the shard that placement gives each partition. CreateTopics and CreatePartitions with assignments
 * naming the node succeed, the partitions land on both shards and report the node as leader; an assignment naming
 * another broker is refused as Kafka refuses an unknown broker; a reassignment to the node is accepted (nothing moves).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { FRONT_NODE_ID, startFrontOverShards } from "./front-fixture.ts";
import { shardOf } from "../../src/shard/placement.ts";

test("replica assignments naming the node's id", { timeout: 120_000 }, async () => {
  const node = await startFrontOverShards({ inThread: true });
  const kafka = new Kafka({ clientId: "assign", brokers: [node.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const assignment = [0, 1, 2, 3].map((partition) => ({ partition, replicas: [FRONT_NODE_ID] }));
    assert.equal(await admin.createTopics({ topics: [{ topic: "manual", replicaAssignment: assignment }], waitForLeaders: true }), true);
    assert.deepEqual([0, 1, 2, 3].map((p) => node.ownerOf("manual", p)), [0, 1, 2, 3].map((p) => shardOf("manual", p, 2)));
    assert.deepEqual([...new Set([0, 1, 2, 3].map((p) => node.ownerOf("manual", p)))].sort(), [0, 1]);
    await admin.createPartitions({ topicPartitions: [{ topic: "manual", count: 6, assignments: [[FRONT_NODE_ID], [FRONT_NODE_ID]] }] });
    assert.deepEqual([4, 5].map((p) => node.ownerOf("manual", p)), [4, 5].map((p) => shardOf("manual", p, 2)));
    const md = await admin.fetchTopicMetadata({ topics: ["manual"] });
    assert.deepEqual(md.topics[0].partitions.map((p) => [p.partitionId, p.leader]).sort((a, b) => a[0] - b[0]), [0, 1, 2, 3, 4, 5].map((p) => [p, FRONT_NODE_ID]));
    await assert.rejects(admin.createTopics({ topics: [{ topic: "elsewhere", replicaAssignment: [{ partition: 0, replicas: [FRONT_NODE_ID + 1] }] }] }), (e: any) => e.errors?.[0]?.type === "INVALID_REPLICA_ASSIGNMENT");
    await admin.alterPartitionReassignments({ topics: [{ topic: "manual", partitionAssignment: [{ partition: 0, replicas: [FRONT_NODE_ID] }] }] });
    assert.equal(node.ownerOf("manual", 0), shardOf("manual", 0, 2));
  } finally {
    await admin.disconnect();
    await node.close();
  }
});
