/**
 * KIP-392 fetch from the closest replica on real processes: three brokers in racks rack1..rack3 with
 * `replica.selector.class=org.apache.kafka.common.replica.RackAwareReplicaSelector`; a librdkafka consumer
 * (confluent-kafka-python) with `client.rack` set to a follower's rack is sent there by the leader
 * (preferred_read_replica) and reads every record from that follower, as both brokers' logs and the follower's
 * `runnel_fetch_from_follower_bytes_total` show; a kafkajs
 * consumer without a rack keeps reading from the leader.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { pythonReadInOrder } from "../support/python-read-loop.ts";
import { startCluster, until } from "../support/cluster-processes.ts";
import { PYTHON, havePythonModule, runProc } from "../support/proc.ts";
import { RACK_AWARE_REPLICA_SELECTOR } from "../../src/replication/replica-selector.ts";

const skip = ETCD_SKIP_REASON || ((await havePythonModule("confluent_kafka")) ? false : "SKIPPED: /usr/bin/python3 has no confluent_kafka (tests/setup.d/10-interop-peers.sh)");
const RECORDS = 2000;

/** Reads partition 0 of "near" from the beginning with client.rack = argv[2]; prints the count read. */
const RACK_CONSUMER = `
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "near-readers", "client.rack": sys.argv[2], "enable.auto.commit": False, "enable.partition.eof": True, "fetch.wait.max.ms": 100})
c.assign([TopicPartition("near", 0, 0)])
${pythonReadInOrder("n")}
print("read %d" % read)
`;

test("a librdkafka consumer with client.rack reads from the follower in its rack (KIP-392)", { skip, timeout: 300_000 }, async () => {
  const cluster = await startCluster(["-o", `replica.selector.class=${RACK_AWARE_REPLICA_SELECTOR}`], (id) => ["-o", `broker.rack=rack${id}`, "-o", "http.listeners=http://127.0.0.1:0"]);
  const { brokers } = cluster;
  try {
    const kafka = new Kafka({ clientId: "near", brokers: brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: "near", numPartitions: 1, replicationFactor: 3 }] });
    const producer = kafka.producer();
    await producer.connect();
    for (let i = 0; i < RECORDS; i += 500) await producer.send({ topic: "near", acks: -1, messages: Array.from({ length: 500 }, (_, j) => ({ partition: 0, value: `n${i + j}` })) });
    await producer.disconnect();
    const partition0 = async () => (await admin.fetchTopicMetadata({ topics: ["near"] })).topics[0].partitions[0];
    await until("all three replicas in sync", 60_000, async () => (await partition0()).isr.length === 3);
    const p = await partition0();
    await admin.disconnect();
    const follower = p.replicas.find((r) => r !== p.leader)!;

    const py = await runProc(PYTHON, ["-c", RACK_CONSUMER, brokers.map((b) => b.bootstrap).join(","), `rack${follower}`], { timeoutMs: 120_000 });
    assert.equal(py.code, 0, py.stderr);
    assert.equal(py.stdout.trim(), `read ${RECORDS}`);
    const sent = `near-0: consumers in rack rack${follower} are sent to replica ${follower} (preferred read replica, KIP-392)`;
    const served = `near-0: serving a consumer in rack rack${follower} from this follower (KIP-392)`;
    assert.ok(brokers[p.leader - 1].log().includes(sent), `the leader ${p.leader} named ${follower} as the preferred read replica`);
    assert.ok(brokers[follower - 1].log().includes(served), `the follower ${follower} served the consumer`);
    const followerBytes = async (id: number) => {
      const port = /HTTP \(metrics, health, console\) serving at http:\/\/127\.0\.0\.1:(\d+)/.exec(brokers[id - 1].log())![1];
      const page = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return Number(/^runnel_fetch_from_follower_bytes_total (\d+)/m.exec(page)![1]);
    };
    assert.ok((await followerBytes(follower)) >= RECORDS * 5, "the follower's metrics count the bytes it served to the consumer");
    assert.equal(await followerBytes(p.leader), 0, "the leader served no consumer as a follower");

    // without a rack a consumer reads from the leader as before
    const plain = new Kafka({ clientId: "plain", brokers: [brokers[0].bootstrap], logLevel: logLevel.NOTHING }).consumer({ groupId: "plain-readers" });
    await plain.connect();
    await plain.subscribe({ topics: ["near"], fromBeginning: true });
    let count = 0;
    await plain.run({ eachMessage: async () => void count++ });
    await until("the rackless consumer to read every record", 60_000, () => count === RECORDS);
    await plain.disconnect();
  } finally {
    await cluster.close();
  }
});
