/**
 * A sharded broker of an etcd cluster restarted with another shard count (docs/sharding.md, "A sharded broker of an
 * etcd cluster"): three brokers of 2 shards hold a 6-partition topic with replication factor 3; broker 2 stops and
 * comes back with 3 shards, so most of its replicas now open on another shard of the same log dir. It catches up
 * (every ISR holds three again), then brokers 1 and 3 are killed: broker 2 leads every partition and a kafkajs
 * consumer reads every acknowledged record from it alone.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { startBrokerProcess } from "../support/broker-process.ts";
import { createInSyncTopic, printBrokerLogs, startCluster, until } from "../support/cluster-processes.ts";

const TOPIC = "reshard";
const PARTITIONS = 6;

test("a broker of the cluster restarted with 3 shards instead of 2 rejoins every ISR and alone serves every acked record", { skip: ETCD_SKIP_REASON, timeout: 300_000 }, async () => {
  const settings = ["-o", "broker.session.timeout.ms=2000", "-o", "replica.lag.time.max.ms=3000"];
  const cluster = await startCluster(["--shards", "2", ...settings]);
  try {
    const kafka = new Kafka({ clientId: "reshard", brokers: cluster.brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const partitions = await createInSyncTopic(admin, TOPIC, PARTITIONS);
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const acked: string[] = [];
    const send = async (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const messages = Array.from({ length: PARTITIONS }, (_, p) => ({ partition: p, value: `v${i}-${p}` }));
        await producer.send({ topic: TOPIC, acks: -1, messages });
        acked.push(...messages.map((m) => m.value));
      }
    };
    await send(0, 50);

    assert.equal(await cluster.brokers[1].stop("SIGTERM"), 0);
    await send(50, 100);
    const args = ["--port", "0", "--data-dir", cluster.dataDirs[1], "-o", "node.id=2", "-o", `metadata.etcd.endpoints=${cluster.etcd.endpoint}`, "-o", "replica.fetch.wait.max.ms=100", "-o", "replica.fetch.backoff.ms=100", ...settings, "--shards", "3"];
    cluster.brokers[1] = await startBrokerProcess("bun", args, 90_000);
    await until("broker 2 (now 3 shards) back in every ISR", 90_000, async () => (await partitions()).every((p) => p.isr.includes(2)));
    await send(100, 120);
    await producer.disconnect();
    await until("broker 2 in every ISR after the last records", 60_000, async () => (await partitions()).every((p) => p.isr.includes(2) && p.isr.length === 3));
    await admin.disconnect();

    for (const id of [1, 3]) await cluster.brokers[id - 1].stop("SIGKILL");
    const alone = new Kafka({ clientId: "reshard-alone", brokers: [cluster.brokers[1].bootstrap], logLevel: logLevel.NOTHING });
    const a2 = alone.admin();
    await a2.connect();
    await until("broker 2 to lead every partition", 60_000, async () => (await a2.fetchTopicMetadata({ topics: [TOPIC] })).topics[0].partitions.every((p) => p.leader === 2));
    await a2.disconnect();
    // __consumer_offsets is created now, on broker 2 alone (the only registered broker).
    const consumer = alone.consumer({ groupId: "reshard-readers" });
    const seen = new Set<string>();
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.add(message.value!.toString());
        if (seen.size >= acked.length && acked.every((v) => seen.has(v))) done();
      },
    });
    await Promise.race([all, new Promise((_, reject) => setTimeout(() => reject(new Error(`read ${seen.size} of ${acked.length}`)), 90_000))]);
    await consumer.disconnect();
    for (const v of acked) assert.ok(seen.has(v), `acknowledged ${v} read from broker 2`);
    assert.match(cluster.brokers[1].log(), /3 shards serving/);
  } catch (e) {
    printBrokerLogs(cluster.brokers);
    throw e;
  } finally {
    await cluster.close();
  }
});
