/**
 * Three `runnel start` processes on one etcd form one cluster:
 * - they share the cluster id the first wrote to etcd; every broker reports all three brokers and one controller;
 * - a topic with replication factor 3 and min.insync.replicas=2 is placed over the three (4 is refused with
 *   INVALID_REPLICATION_FACTOR); 10,000 records produced by kafkajs with acks=all are read back by kcat and by a
 *   kafkajs consumer group (every broker's FindCoordinator names the leader of the group's `__consumer_offsets`
 *   partition); a consumer fetch at a follower answers NOT_LEADER_OR_FOLLOWER;
 * - confluent-kafka-python creates, fills (acks=all) and reads back a topic of its own;
 * - after the followers catch up every replica's segment files hold the same bytes.
 * Failover: SIGKILL the broker that is both the controller and a partition's leader while an idempotent producer
 * sends with acks=all; a new controller elects a new leader from the ISR, sends resume, every acknowledged record is
 * read back exactly once, in order; the killed broker restarts and rejoins the ISR.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { pythonReadInOrder } from "../support/python-read-loop.ts";
import { startCluster, until } from "../support/cluster-processes.ts";
import { PYTHON, haveCommand, havePythonModule, runProc } from "../support/proc.ts";
import { RawClient } from "../support/raw-client.ts";
import { offsetsPartitionFor } from "../../src/group/group-partitioning.ts";

const skip = ETCD_SKIP_REASON || (haveCommand("kcat") ? false : "SKIPPED: no kcat (bash tests/setup.d/*kcat*.sh)");
const TOPIC = "replicated";
const PARTITIONS = 3;
const RECORDS = 10_000;

/** confluent-kafka-python: creates "py-replicated" (RF=3, min.insync.replicas=2), produces with acks=all, reads back. */
const CONFLUENT_ROUND_TRIP = `
import sys
from confluent_kafka import Producer, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
bootstrap = sys.argv[1]
admin = AdminClient({"bootstrap.servers": bootstrap})
for f in admin.create_topics([NewTopic("py-replicated", 1, 3, config={"min.insync.replicas": "2"})]).values():
    f.result(60)
md = admin.list_topics("py-replicated", timeout=30).topics["py-replicated"].partitions[0]
acked = 0
def delivered(err, msg):
    global acked
    if err is None:
        acked += 1
p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
for i in range(${RECORDS}):
    p.produce("py-replicated", value=b"p%d" % i, partition=0, on_delivery=delivered)
    p.poll(0)
p.flush(120)
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "py-readers", "enable.auto.commit": False, "enable.partition.eof": True})
c.assign([TopicPartition("py-replicated", 0, 0)])
${pythonReadInOrder("p")}
print("replicas %d isr %d acked %d read %d" % (len(md.replicas), len(md.isrs), acked, read))
`;
import { partitionLogBytes } from "../support/segment-batches.ts";


test("three brokers on one etcd replicate an RF=3 topic: acks=all round trip and byte-identical replicas", { skip, timeout: 300_000 }, async () => {
  const cluster = await startCluster();
  const { brokers, dataDirs } = cluster;
  try {
    const kafka = new Kafka({ clientId: "three-brokers", brokers: [brokers[0].bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      // every broker reports all three and the same controller
      const ids = new Set<number>();
      for (const b of brokers) {
        const a = new Kafka({ clientId: "describe", brokers: [b.bootstrap], logLevel: logLevel.NOTHING }).admin();
        await a.connect();
        const c = await a.describeCluster();
        await a.disconnect();
        assert.deepEqual(c.brokers.map((x) => x.nodeId).sort(), [1, 2, 3]);
        assert.deepEqual(c.brokers.map((x) => x.port).sort(), brokers.map((x) => x.port).sort());
        assert.ok([1, 2, 3].includes(c.controller!), `controller ${c.controller}`);
        ids.add(c.controller!);
      }
      assert.equal(ids.size, 1, "one controller seen by all");
      const clusterIds = dataDirs.map((d) => /cluster\.id=(\S+)/.exec(fs.readFileSync(path.join(d, "meta.properties"), "utf8"))![1]);
      assert.equal(new Set(clusterIds).size, 1, `one cluster id in every data dir: ${clusterIds.join(", ")}`);

      await assert.rejects(admin.createTopics({ topics: [{ topic: "too-wide", numPartitions: 1, replicationFactor: 4 }] }), (e: Error & { errors?: { type: string }[] }) => {
        assert.match(JSON.stringify(e.errors ?? e.message), /INVALID_REPLICATION_FACTOR/);
        return true;
      });
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, configEntries: [{ name: "min.insync.replicas", value: "2" }] }] });
      // every broker opened the partitions and names the same leaders
      for (const b of brokers) {
        const a = new Kafka({ clientId: "meta", brokers: [b.bootstrap], logLevel: logLevel.NOTHING }).admin();
        await a.connect();
        await until(`${b.bootstrap} to know ${TOPIC}`, 30_000, async () => (await a.listTopics()).includes(TOPIC));
        const md = await a.fetchTopicMetadata({ topics: [TOPIC] });
        await a.disconnect();
        const parts = md.topics[0].partitions;
        assert.equal(parts.length, PARTITIONS);
        for (const p of parts) {
          assert.deepEqual([...p.replicas].sort(), [1, 2, 3]);
          assert.deepEqual([...p.isr].sort(), [1, 2, 3]);
          assert.ok(p.replicas.includes(p.leader));
          assert.deepEqual(p.offlineReplicas, []);
        }
      }
      const leaders = new Set((await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0].partitions.map((p) => p.leader));
      assert.ok(leaders.size >= 2, `leaders spread over the brokers: ${[...leaders].join(",")}`);
      // consumers read from the leader only: another replica answers NOT_LEADER_OR_FOLLOWER
      const p0Leader = (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0].partitions.find((p) => p.partitionId === 0)!.leader;
      const follower = await RawClient.connect(brokers.find((_, i) => i + 1 !== p0Leader)!.port);
      const fetched = await follower.request(1, 12, {
        replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, rackId: "", forgottenTopicsData: [],
        topics: [{ topic: TOPIC, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
      });
      follower.close();
      assert.equal(fetched.responses[0].partitions[0].errorCode, 6, "NOT_LEADER_OR_FOLLOWER from a follower");

      const producer = kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      for (let i = 0; i < RECORDS; i += 1000) {
        await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: 1000 }, (_, j) => ({ key: `k${i + j}`, value: `v${i + j}`, partition: (i + j) % PARTITIONS })) });
      }
      await producer.disconnect();
    } finally {
      await admin.disconnect();
    }

    // kcat reads every partition from its leader (no group), to the end
    const kc = await runProc("kcat", ["-C", "-b", brokers.map((b) => b.bootstrap).join(","), "-t", TOPIC, "-o", "beginning", "-e", "-q", "-f", "%p %s\\n"], { timeoutMs: 120_000 });
    assert.equal(kc.code, 0, kc.stderr);
    const lines = kc.stdout.split("\n").filter((l) => l.length > 0);
    assert.equal(lines.length, RECORDS);
    const values = new Set(lines.map((l) => l.split(" ")[1]));
    assert.equal(values.size, RECORDS);
    for (const l of lines) {
      const [p, v] = l.split(" ");
      assert.equal(Number(v.slice(1)) % PARTITIONS, Number(p), l);
    }

    // confluent-kafka-python (librdkafka) does the same on its own topic: create RF=3, produce acks=all, read back
    if (await havePythonModule("confluent_kafka")) {
      const py = await runProc(PYTHON, ["-c", CONFLUENT_ROUND_TRIP, brokers.map((b) => b.bootstrap).join(",")], { timeoutMs: 180_000 });
      assert.equal(py.code, 0, py.stderr);
      assert.equal(py.stdout.trim(), `replicas 3 isr 3 acked ${RECORDS} read ${RECORDS}`);
    } else console.error("SKIPPED the confluent-kafka leg: /usr/bin/python3 has no confluent_kafka (tests/setup.d/10-interop-peers.sh)");

    // a consumer group: every broker names the leader of the group's __consumer_offsets partition as coordinator
    const group = "readers";
    const consumer = new Kafka({ clientId: "group", brokers: [brokers[2].bootstrap], logLevel: logLevel.NOTHING }).consumer({ groupId: group });
    await consumer.connect();
    await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
    const seen = new Set<string>();
    await consumer.run({ eachMessage: async ({ message }) => void seen.add(message.value!.toString()) });
    await until("the group to read every record", 120_000, () => seen.size === RECORDS);
    await consumer.disconnect();
    const offsetsMeta = new Kafka({ clientId: "offsets", brokers: [brokers[0].bootstrap], logLevel: logLevel.NOTHING }).admin();
    await offsetsMeta.connect();
    const offsetsPartitions = (await offsetsMeta.fetchTopicMetadata({ topics: ["__consumer_offsets"] })).topics[0].partitions;
    await offsetsMeta.disconnect();
    const groupLeader = offsetsPartitions.find((p) => p.partitionId === offsetsPartitionFor(group, offsetsPartitions.length))!.leader;
    for (const b of brokers) {
      const raw = await RawClient.connect(b.port);
      const r = await raw.request(10, 3, { key: group, keyType: 0 });
      raw.close();
      assert.equal(r.errorCode, 0);
      assert.equal(r.nodeId, groupLeader, `broker at ${b.bootstrap} names the group's coordinator`);
      assert.equal(r.port, brokers[groupLeader - 1].port);
    }

    // after the followers catch up, every replica's segments hold the same bytes
    for (let p = 0; p < PARTITIONS; p++) {
      await until(`replicas of partition ${p} to be identical`, 60_000, () => {
        const [a, b, c] = dataDirs.map((d) => partitionLogBytes(d, TOPIC, p));
        return a.length > 0 && a.equals(b) && a.equals(c);
      });
    }
  } finally {
    await cluster.close();
  }
});

test("SIGKILL of a partition leader that is also the controller: a new controller, a new leader from the ISR, acks=all produce resumes, every acked record read once in order", { skip, timeout: 300_000 }, async () => {
  const cluster = await startCluster(["-o", "broker.session.timeout.ms=2000", "-o", "replica.lag.time.max.ms=2000"]);
  const { brokers } = cluster;
  try {
    const kafka = new Kafka({ clientId: "failover", brokers: brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 1000 } });
    const admin = kafka.admin();
    await admin.connect();
    // three partitions: one led by each broker; the one the controller leads is killed (two failovers at once)
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: "failover", numPartitions: 3, replicationFactor: 3, configEntries: [{ name: "min.insync.replicas", value: "2" }] }] });
    let controller = -1;
    await until("a controller", 30_000, async () => [1, 2, 3].includes((controller = (await admin.describeCluster()).controller ?? -1)));
    const placed = (await admin.fetchTopicMetadata({ topics: ["failover"] })).topics[0].partitions;
    const before = placed.find((p) => p.leader === controller)!;
    assert.ok(before !== undefined, `the controller ${controller} leads a partition: ${JSON.stringify(placed)}`);
    const partition = before.partitionId;
    await admin.disconnect();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    const acked: string[] = [];
    const send = async (from: number) => {
      const values = Array.from({ length: 100 }, (_, j) => `v${from + j}`);
      await producer.send({ topic: "failover", acks: -1, messages: values.map((value) => ({ value, partition })) });
      acked.push(...values);
    };
    for (let i = 0; i < 1000; i += 100) await send(i);
    const killed = brokers[before.leader - 1];
    await killed.stop("SIGKILL");
    const killedAt = Date.now();
    await send(1000);
    const resumedMs = Date.now() - killedAt;
    for (let i = 1100; i < 2000; i += 100) await send(i);
    await producer.disconnect();
    console.error(`leader ${before.leader} killed: next acks=all produce succeeded after ${resumedMs} ms`);

    const survivors = brokers.filter((b) => b !== killed);
    const a = new Kafka({ clientId: "after", brokers: survivors.map((b) => b.bootstrap), logLevel: logLevel.NOTHING }).admin();
    await a.connect();
    const after = (await a.fetchTopicMetadata({ topics: ["failover"] })).topics[0].partitions[partition];
    assert.notEqual((await a.describeCluster()).controller, controller, "another broker is the controller");
    await a.disconnect();
    assert.notEqual(after.leader, before.leader);
    assert.ok(before.isr.includes(after.leader), `new leader ${after.leader} came from the ISR ${before.isr}`);
    assert.ok(!after.isr.includes(before.leader), `the dead broker left the ISR: ${after.isr}`);
    assert.deepEqual(after.offlineReplicas, [before.leader]);

    const kc = await runProc("kcat", ["-C", "-b", survivors.map((b) => b.bootstrap).join(","), "-t", "failover", "-p", String(partition), "-o", "beginning", "-e", "-q", "-f", "%s\\n"], { timeoutMs: 120_000 });
    assert.equal(kc.code, 0, kc.stderr);
    const read = kc.stdout.split("\n").filter((l) => l.length > 0);
    assert.deepEqual(read, acked, "every acknowledged record exactly once, in order");

    // the killed broker restarts, catches up and the leader takes it back into the ISR (a fenced ISR write)
    await cluster.restart(before.leader);
    const back = new Kafka({ clientId: "back", brokers: survivors.map((b) => b.bootstrap), logLevel: logLevel.NOTHING }).admin();
    await back.connect();
    await until("the restarted broker to rejoin the ISR", 60_000, async () => {
      const p = (await back.fetchTopicMetadata({ topics: ["failover"] })).topics[0].partitions[partition];
      return p.isr.length === 3 && (p.offlineReplicas ?? []).length === 0;
    });
    await back.disconnect();
  } finally {
    await cluster.close();
  }
});
