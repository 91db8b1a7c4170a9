/**
 * kafkajs against a front over two shards (worker threads): it sees one broker (the node's id, never a shard's), produces to
 * partitions living on both shards, and a consumer group whose coordinator is on one shard reads and commits
 * partitions of both.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { FRONT_NODE_ID, startFrontOverShards, type FrontOverShards } from "./front-fixture.ts";
import { offsetsPartitionFor } from "../../src/group/group-partitioning.ts";


test("one broker, records across both shards, a group coordinated on one shard reading both", { timeout: 120_000 }, async () => {
  const node = await startFrontOverShards();
  try {
    await scenario(node);
  } finally {
    await node.close();
  }
});

async function scenario(node: FrontOverShards): Promise<void> {
  const kafka = new Kafka({ clientId: "front-test", brokers: [node.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: "orders", numPartitions: 4 }], waitForLeaders: true });
  const owners = [0, 1, 2, 3].map((p) => node.ownerOf("orders", p));
  assert.deepEqual([...new Set(owners)].sort(), [0, 1], `partitions spread over both shards: ${owners}`);

  const cluster = await admin.describeCluster();
  assert.deepEqual(cluster.brokers.map((b) => b.nodeId), [FRONT_NODE_ID]);
  assert.equal(cluster.brokers[0].port, node.port);
  assert.equal(cluster.controller, FRONT_NODE_ID);
  const md = await admin.fetchTopicMetadata({ topics: ["orders"] });
  for (const p of md.topics[0].partitions) {
    assert.equal(p.leader, FRONT_NODE_ID);
    assert.deepEqual(p.replicas, [FRONT_NODE_ID]);
  }

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5 });
  await producer.connect();
  const sent = new Map<string, string>();
  for (let round = 0; round < 5; round++) {
    const messages = [];
    for (let i = 0; i < 8; i++) {
      const key = `k${round}-${i}`;
      sent.set(key, `v${round}-${i}`);
      messages.push({ key, value: `v${round}-${i}`, partition: i % 4 });
    }
    await producer.send({ topic: "orders", acks: -1, messages });
  }
  await producer.disconnect();
  const offsets = await admin.fetchTopicOffsets("orders");
  assert.deepEqual(offsets.map((o) => Number(o.high)).sort(), [10, 10, 10, 10]);

  const consumer = kafka.consumer({ groupId: "readers", maxWaitTimeInMs: 500 });
  await consumer.connect();
  await consumer.subscribe({ topics: ["orders"], fromBeginning: true });
  const got = new Map<string, string>();
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  await consumer.run({
    eachMessage: async ({ message }) => {
      got.set(message.key!.toString(), message.value!.toString());
      if (got.size === sent.size) done();
    },
  });
  await all;
  await consumer.commitOffsets([0, 1, 2, 3].map((p) => ({ topic: "orders", partition: p, offset: "10" })));
  await consumer.disconnect();
  assert.deepEqual(got, sent);

  // The group's coordinator lives on the shard leading its __consumer_offsets partition; the other shard holds
  // partitions it read and committed.
  const coordinator = node.ownerOf("__consumer_offsets", offsetsPartitionFor("readers", node.partitionsOf("__consumer_offsets")));
  assert.ok(owners.some((o) => o !== coordinator), "some partitions are on the shard that does not coordinate the group");
  const committed = await admin.fetchOffsets({ groupId: "readers", topics: ["orders"] });
  assert.deepEqual(committed[0].partitions.map((p) => p.offset).sort(), ["10", "10", "10", "10"]);
  const groups = await admin.listGroups();
  assert.ok(groups.groups.some((g) => g.groupId === "readers"));
  await admin.disconnect();
}
