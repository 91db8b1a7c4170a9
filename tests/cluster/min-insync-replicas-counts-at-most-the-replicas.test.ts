/**
 * min.insync.replicas above a partition's replica count asks for all of its replicas (Kafka's
 * Partition.effectiveMinIsr = min(min.insync.replicas, replicas)): in a three-broker cluster, acks=all produce to
 * a partition of 1 replica with min.insync.replicas=2, and of 2 replicas with min.insync.replicas=3, succeeds once
 * every replica is in sync, as Kafka 4.4 answers. Found by tests/oracle/cluster-random-match-kafka (Runnel answered
 * NOT_ENOUGH_REPLICAS where a 3-node Kafka cluster appended).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { startCluster, until } from "../support/cluster-processes.ts";

test("acks=all with min.insync.replicas above the replica count: every replica in sync is enough", { skip: ETCD_SKIP_REASON, timeout: 300_000 }, async () => {
  const cluster = await startCluster();
  const kafka = new Kafka({ clientId: "eff-min-isr", brokers: cluster.brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
  try {
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: "one-replica", replicaAssignment: [{ partition: 0, replicas: [2] }], configEntries: [{ name: "min.insync.replicas", value: "2" }] },
        { topic: "two-replicas", replicaAssignment: [{ partition: 0, replicas: [3, 1] }], configEntries: [{ name: "min.insync.replicas", value: "3" }] },
      ],
    });
    await until("both ISRs to hold every replica", 60_000, async () => {
      const md = await admin.fetchTopicMetadata({ topics: ["one-replica", "two-replicas"] });
      return md.topics.every((t) => t.partitions[0].isr.length === t.partitions[0].replicas.length);
    });
    await producer.connect();
    for (const topic of ["one-replica", "two-replicas"]) {
      const [r] = await producer.send({ topic, acks: -1, messages: [{ value: "all" }] });
      assert.equal(r.errorCode, 0, topic);
      assert.equal(r.baseOffset, "0", topic);
    }
  } finally {
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
    await cluster.close();
  }
});
