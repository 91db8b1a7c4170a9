/**
 * min.insync.replicas in a three-broker cluster (three `runnel start` processes on one etcd): with two of three
 * brokers stopped, the ISR shrinks to the leader, acks=all produce answers NOT_ENOUGH_REPLICAS and acks=1 still
 * works; when the two come back they catch up, the ISR returns to three and acks=all works again.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { startCluster, until } from "../support/cluster-processes.ts";

const skip = ETCD_SKIP_REASON;

test("two of three brokers down: acks=all gets NOT_ENOUGH_REPLICAS, acks=1 works; back up, the ISR returns to three", { skip, timeout: 300_000 }, async () => {
  const cluster = await startCluster(["-o", "broker.session.timeout.ms=2000", "-o", "replica.lag.time.max.ms=2000"]);
  try {
    const boot = new Kafka({ clientId: "min-isr", brokers: cluster.brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING });
    const admin = boot.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: "min-isr", numPartitions: 1, replicationFactor: 3, configEntries: [{ name: "min.insync.replicas", value: "2" }] }] });
    const leader = (await admin.fetchTopicMetadata({ topics: ["min-isr"] })).topics[0].partitions[0].leader;
    await admin.disconnect();
    const others = [1, 2, 3].filter((id) => id !== leader);
    for (const id of others) await cluster.brokers[id - 1].stop("SIGTERM");

    const kafka = new Kafka({ clientId: "min-isr-leader", brokers: [cluster.brokers[leader - 1].bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const a = kafka.admin();
    await a.connect();
    const isr = async () => (await a.fetchTopicMetadata({ topics: ["min-isr"] })).topics[0].partitions[0].isr;
    await until("the ISR to shrink to the leader", 60_000, async () => JSON.stringify(await isr()) === JSON.stringify([leader]));
    const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
    await producer.connect();
    await assert.rejects(producer.send({ topic: "min-isr", acks: -1, messages: [{ value: "all" }] }), (e: Error) => {
      // kafkajs's text for NOT_ENOUGH_REPLICAS (NOT_ENOUGH_REPLICAS_AFTER_APPEND reads "are written to the log, but")
      assert.match(e.message, /^Messages are rejected since there are fewer in-sync replicas than required/);
      return true;
    });
    await producer.send({ topic: "min-isr", acks: 1, messages: [{ value: "one" }] });

    for (const id of others) await cluster.restart(id);
    await until("the ISR to return to three", 90_000, async () => (await isr()).length === 3);
    await producer.send({ topic: "min-isr", acks: -1, messages: [{ value: "all-again" }] });
    await producer.disconnect();
    await a.disconnect();
  } finally {
    await cluster.close();
  }
});
