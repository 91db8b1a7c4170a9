/**
 * Issue 13 acceptance, Kafka's Java AdminClient (4.4): every Admin method whose API Runnel serves, called in one
 * story by tests/java/src/runnel/AdminCalls.java (also removeMembersFromConsumerGroup, deleteConsumerGroupOffsets,
 * fenceProducers, deleteTopics), returns what a single-node Kafka 4 broker returns: results, config
 * sources and types, and the exception class of each refused call. Broker-level config read-only flags and dynamic
 * broker configs are left to the config work; DescribeProducers, ACLs, quotas, reassignments, leader election,
 * delegation tokens and share/streams groups are not served (Kafka's client then reports UnsupportedVersionException).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { javaSkip, runJava } from "../support/java.ts";
import { storySteps } from "../support/json-process.ts";

const topicEntry = (value: string, source: string, type: string) => ({ value, source, isDefault: source === "DEFAULT_CONFIG", readOnly: false, sensitive: false, type });

test("Java AdminClient: topics, configs, partitions, records, offsets, log dirs, groups, transactions, features", { skip: javaSkip, timeout: 180_000 }, async () => {
  const b = await startTestBroker();
  try {
    const r = await runJava("runnel.AdminCalls", ["--bootstrap", b.bootstrap]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const { result, error } = storySteps(r.stdout);

    assert.deepEqual(result("createTopics"), {
      "adm-a": { partitions: 3, replicationFactor: 1, topicIdSet: true, "retention.ms": "3600000", retentionSource: "DYNAMIC_TOPIC_CONFIG" },
      "adm-b": { partitions: 1, replicationFactor: 1, topicIdSet: true, "retention.ms": "604800000", retentionSource: "DEFAULT_CONFIG" },
    });
    assert.equal(error("createTopics-existing"), "TopicExistsException");
    assert.equal(error("createTopics-replication-3"), "InvalidReplicationFactorException");
    assert.equal(result("createTopics-validate-only"), false, "validateOnly creates nothing");
    assert.deepEqual(result("listTopics"), ["adm-a", "adm-b"]);
    const replica = { leader: 1, replicas: [1], isr: [1] };
    assert.deepEqual(result("describeTopics"), { name: "adm-a", internal: false, topicIdSet: true, partitions: [0, 1, 2].map((partition) => ({ partition, ...replica })) });
    assert.deepEqual(result("describeTopics-by-id"), { name: "adm-a", partitions: 3 }, "a topic found by its id");
    assert.equal(error("describeTopics-missing"), "UnknownTopicOrPartitionException");
    assert.deepEqual(result("describeCluster"), { clusterIdSet: true, controller: 1, nodes: [1], host: "127.0.0.1", port: b.port });

    assert.deepEqual(result("describeConfigs-topic"), {
      "cleanup.policy": topicEntry("delete", "DEFAULT_CONFIG", "LIST"),
      "max.message.bytes": topicEntry("1048588", "DEFAULT_CONFIG", "INT"),
      "min.insync.replicas": topicEntry("1", "DEFAULT_CONFIG", "INT"),
      "retention.ms": topicEntry("3600000", "DYNAMIC_TOPIC_CONFIG", "LONG"),
      "segment.bytes": topicEntry("1073741824", "DEFAULT_CONFIG", "INT"),
    });
    const brokerCfg = result("describeConfigs-broker");
    assert.deepEqual([brokerCfg["offsets.topic.num.partitions"].value, brokerCfg["offsets.topic.num.partitions"].source], ["4", "STATIC_BROKER_CONFIG"]);
    assert.deepEqual([brokerCfg["log.segment.bytes"].value, brokerCfg["log.segment.bytes"].source], ["1073741824", "DEFAULT_CONFIG"]);
    assert.deepEqual(result("incrementalAlterConfigs"), {
      "cleanup.policy": topicEntry("delete,compact", "DYNAMIC_TOPIC_CONFIG", "LIST"),
      "max.message.bytes": topicEntry("1048588", "DEFAULT_CONFIG", "INT"),
      "retention.ms": topicEntry("7200000", "DYNAMIC_TOPIC_CONFIG", "LONG"),
    });
    assert.equal(error("incrementalAlterConfigs-invalid-value"), "InvalidConfigurationException");
    assert.equal(error("incrementalAlterConfigs-unknown-name"), "InvalidConfigurationException");
    assert.equal(error("incrementalAlterConfigs-missing-topic"), "UnknownTopicOrPartitionException");

    assert.equal(result("createPartitions"), 4);
    assert.equal(error("createPartitions-decrease"), "InvalidPartitionsException");
    assert.equal(result("deleteRecords"), 4);
    assert.equal(error("deleteRecords-beyond-end"), "OffsetOutOfRangeException");
    assert.equal(error("deleteRecords-compacted"), "PolicyViolationException", "a compact-only topic refuses DeleteRecords");
    // Ten records at timestamps 1,000,000..1,000,009, the first four deleted. A timestamp past the last record finds
    // nothing: offset -1, timestamp -1 and no leader epoch.
    assert.deepEqual(result("listOffsets"), {
      earliest: { offset: 4, timestamp: -1, leaderEpoch: 0 },
      latest: { offset: 10, timestamp: -1, leaderEpoch: 0 },
      maxTimestamp: { offset: 9, timestamp: 1_000_009, leaderEpoch: 0 },
      forTimestamp: { offset: 5, timestamp: 1_000_005, leaderEpoch: 0 },
      "forTimestamp-future": { offset: -1, timestamp: -1, leaderEpoch: null },
      earliestLocal: { offset: 4, timestamp: -1, leaderEpoch: 0 },
    });
    assert.deepEqual(result("describeLogDirs"), [
      { error: null, hasAdmB0: true, admB0SizePositive: true, admB0Lag: 0, admB0Future: false, totalBytesSet: true, usableBytesSet: true, replicaCount: 8 },
    ]);

    assert.deepEqual(result("describeConsumerGroups-active"), {
      state: "STABLE", type: "CLASSIC", assignor: "range", members: 1, assignment: ["adm-b-0", "adm-b-1", "adm-b-2", "adm-b-3"], clientIdSet: true, hostSet: true, simple: false,
    });
    assert.equal(error("alterConsumerGroupOffsets-active"), "UnknownMemberIdException", "offsets of a group with members cannot be altered");
    assert.deepEqual(result("removeMembersFromConsumerGroup"), { state: "EMPTY", members: 0 }, "removing every member empties the group");
    assert.deepEqual(result("listConsumerGroups"), [{ groupId: "adm-g", simple: false, state: "EMPTY", type: "CLASSIC" }]);
    assert.deepEqual(result("listGroups"), [{ groupId: "adm-g", protocol: "consumer", state: "EMPTY", type: "CLASSIC" }]);
    assert.deepEqual(result("describeConsumerGroups"), { state: "EMPTY", type: "CLASSIC", assignor: "", members: 0, coordinator: 1, simple: false });
    assert.deepEqual(result("listTopics-internal"), { consumerOffsets: true, withoutInternal: false });
    assert.deepEqual(result("describeReplicaLogDirs"), { dirSet: true, offsetLag: 0, future: null });
    assert.equal(error("describeConsumerGroups-missing"), "GroupIdNotFoundException");
    const empty = { offset: 0, metadata: "", leaderEpoch: null };
    const others = { "adm-b-1": empty, "adm-b-2": empty, "adm-b-3": empty };
    assert.deepEqual(result("listConsumerGroupOffsets"), { "adm-b-0": { offset: 10, metadata: "", leaderEpoch: 0 }, ...others });
    assert.deepEqual(result("alterConsumerGroupOffsets"), { "adm-b-0": { offset: 6, metadata: "moved", leaderEpoch: null }, ...others });
    assert.deepEqual(result("deleteConsumerGroupOffsets"), others);
    assert.equal(result("deleteConsumerGroups"), 0);
    assert.equal(error("deleteConsumerGroups-missing"), "GroupIdNotFoundException");

    const txns = result("describeTransactions");
    assert.deepEqual(
      { done: [txns["adm-done"].state, txns["adm-done"].partitions, txns["adm-done"].timeoutMs], open: [txns["adm-open"].state, txns["adm-open"].partitions, txns["adm-open"].timeoutMs] },
      { done: ["COMPLETE_COMMIT", [], 60_000], open: ["ONGOING", ["adm-a-1"], 60_000] },
    );
    assert.notEqual(txns["adm-done"].producerId, txns["adm-open"].producerId);
    // adm-a-1 holds one record of the open transaction: read_committed's latest offset is the LSO before it.
    assert.deepEqual(result("listOffsets-isolation"), { readCommitted: 0, readUncommitted: 1 });
    assert.equal(error("describeTransactions-missing"), "TransactionalIdNotFoundException");
    assert.deepEqual(result("listTransactions"), { "adm-done": { state: "COMPLETE_COMMIT", producerIdSet: true }, "adm-open": { state: "ONGOING", producerIdSet: true } });
    assert.deepEqual(result("listTransactions-ongoing"), ["adm-open"]);
    // fenceProducers bumps the epoch twice (aborting the open transaction, then as InitProducerId does), so the
    // fenced producer's next send is refused with InvalidProducerEpochException.
    assert.deepEqual(result("fenceProducers"), { state: "EMPTY", epoch: 2, partitions: 0, fencedProducer: "InvalidProducerEpochException" });

    // metadata.version at Kafka 4.3-IV0 (level 30), the protocol generation Runnel serves; supported from 3.3-IV3 (7).
    assert.deepEqual(result("describeFeatures"), { finalized: { "metadata.version": [30, 30] }, supported: { "metadata.version": [7, 30] }, epochSet: true });
    assert.deepEqual(result("deleteTopics"), ["adm-b", "adm-compact"]);
    assert.equal(error("deleteTopics-missing"), "UnknownTopicOrPartitionException");
  } finally {
    await b.stop();
  }
});
