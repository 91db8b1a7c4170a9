/**
 * Admin APIs against a real broker: kafkajs's admin client (an independent implementation) for topics, configs,
 * partitions, records and cluster; raw requests for IncrementalAlterConfigs, OffsetForLeaderEpoch,
 * DescribeLogDirs, ListOffsets by max timestamp and validate-only creation.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigResourceTypes, Kafka, logLevel } from "kafkajs";
import { startTestBroker } from "../support/broker.ts";
import { topicOverride, topicPartitionCount } from "../support/topic-state.ts";
import { RawClient } from "../support/raw-client.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";

test("kafkajs admin: create with configs, describe/alter configs, add partitions, refuse a decrease, delete records and topics, describe cluster", async () => {
  const b = await startTestBroker();
  const kafka = new Kafka({ brokers: [b.bootstrap], clientId: "adm", logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer();
  try {
    await admin.connect();
    assert.equal(await admin.createTopics({ topics: [{ topic: "a", numPartitions: 2, configEntries: [{ name: "retention.ms", value: "3600000" }] }] }), true);
    assert.deepEqual(await admin.listTopics(), ["a"]);

    let cfg = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: "a" }], includeSynonyms: false });
    const entry = (name: string) => cfg.resources[0].configEntries.find((e) => e.configName === name);
    assert.equal(entry("retention.ms")?.configValue, "3600000");
    assert.equal(entry("cleanup.policy")?.configValue, "delete");
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: "a", configEntries: [{ name: "cleanup.policy", value: "compact" }] }] });
    cfg = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: "a" }], includeSynonyms: false });
    assert.equal(entry("cleanup.policy")?.configValue, "compact");
    assert.equal(entry("retention.ms")?.configValue, "604800000", "AlterConfigs replaces the whole override set");
    await assert.rejects(
      admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: "a", configEntries: [{ name: "retention.ms", value: "soon" }] }] }),
      /Invalid value|INVALID_CONFIG|invalid/i,
    );

    await admin.createPartitions({ topicPartitions: [{ topic: "a", count: 4 }] });
    const md = await admin.fetchTopicMetadata({ topics: ["a"] });
    assert.equal(md.topics[0].partitions.length, 4);
    await assert.rejects(admin.createPartitions({ topicPartitions: [{ topic: "a", count: 2 }] }), (e: { type?: string }) => e.type === "INVALID_PARTITIONS");

    await producer.connect();
    await producer.send({ topic: "a", messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: 0 })) });
    // "a" is compact-only now: as in Kafka, its records cannot be deleted until the policy includes delete.
    await assert.rejects(admin.deleteTopicRecords({ topic: "a", partitions: [{ partition: 0, offset: "6" }] }), (e: { cause?: { partitions?: { error?: { type?: string } }[] } }) => e.cause?.partitions?.[0]?.error?.type === "POLICY_VIOLATION");
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: "a", configEntries: [{ name: "cleanup.policy", value: "compact,delete" }] }] });
    await admin.deleteTopicRecords({ topic: "a", partitions: [{ partition: 0, offset: "6" }] });
    const offsets = await admin.fetchTopicOffsets("a");
    const p0 = offsets.find((o) => o.partition === 0)!;
    assert.equal(p0.low, "6");
    assert.equal(p0.high, "10");

    const cluster = await admin.describeCluster();
    assert.equal(cluster.brokers.length, 1);
    assert.equal(cluster.brokers[0].port, b.port);
    assert.equal(cluster.clusterId, b.broker.clusterId);

    await admin.deleteTopics({ topics: ["a"] });
    assert.deepEqual(await admin.listTopics(), []);
  } finally {
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
    await b.stop();
  }
});

test("IncrementalAlterConfigs, OffsetForLeaderEpoch, DescribeLogDirs, ListOffsets max timestamp, validate-only create", async () => {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  try {
    const vo = await c.request(19, 7, { topics: [{ name: "v", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: true });
    assert.equal(vo.topics[0].errorCode, 0);
    assert.equal(await topicPartitionCount(b.port, "v"), null, "validate-only creates nothing");

    await b.broker.createTopic("t", 1, 1, {}, false);
    const inc = (ops: { name: string; configOperation: number; value: string | null }[]) =>
      c.request(44, 1, { resources: [{ resourceType: 2, resourceName: "t", configs: ops }], validateOnly: false });
    assert.equal((await inc([{ name: "cleanup.policy", configOperation: 2, value: "compact" }])).responses[0].errorCode, 0);
    assert.equal(await topicOverride(b.port, "t", "cleanup.policy"), "delete,compact");
    assert.equal((await inc([{ name: "cleanup.policy", configOperation: 3, value: "delete" }])).responses[0].errorCode, 0);
    assert.equal(await topicOverride(b.port, "t", "cleanup.policy"), "compact");
    assert.equal((await inc([{ name: "cleanup.policy", configOperation: 1, value: null }])).responses[0].errorCode, 0);
    assert.equal(await topicOverride(b.port, "t", "cleanup.policy"), undefined);
    assert.equal((await inc([{ name: "no.such.key", configOperation: 0, value: "1" }])).responses[0].errorCode, ErrorCode.INVALID_CONFIG);

    const { BatchBuilder } = await import("../../src/protocol/record-batch.ts");
    const bb = new BatchBuilder(4096);
    bb.reset({});
    for (const ts of [1000, 5000, 3000]) bb.append(ts, null, new TextEncoder().encode(`at ${ts}`));
    await c.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: "t", partitionData: [{ index: 0, records: bb.finish() }] }] });
    const lo = await c.request(2, 9, { replicaId: -1, isolationLevel: 0, topics: [{ name: "t", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -3n }] }] });
    assert.equal(lo.topics[0].partitions[0].offset, 1n, "max timestamp is the second record");
    assert.equal(lo.topics[0].partitions[0].timestamp, 5000n);
    const byTime = await c.request(2, 9, { replicaId: -1, isolationLevel: 0, topics: [{ name: "t", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: 2000n }] }] });
    assert.equal(byTime.topics[0].partitions[0].offset, 1n, "first record at or after 2000");

    const ofle = await c.request(23, 4, { replicaId: -1, topics: [{ topic: "t", partitions: [{ partition: 0, currentLeaderEpoch: 0, leaderEpoch: 0 }] }] });
    assert.equal(ofle.topics[0].partitions[0].errorCode, 0);
    assert.equal(ofle.topics[0].partitions[0].endOffset, 3n);
    const fenced = await c.request(23, 4, { replicaId: -1, topics: [{ topic: "t", partitions: [{ partition: 0, currentLeaderEpoch: 5, leaderEpoch: 0 }] }] });
    assert.equal(fenced.topics[0].partitions[0].errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);

    const dirs = await c.request(35, 4, { topics: null });
    assert.equal(dirs.results.length, 1);
    const t = dirs.results[0].topics.find((x: { name: string }) => x.name === "t");
    assert.ok(t && t.partitions[0].partitionSize > 0n, "partition size reported");
    assert.ok(dirs.results[0].totalBytes > 0n);
  } finally {
    c.close();
    await b.stop();
  }
});
