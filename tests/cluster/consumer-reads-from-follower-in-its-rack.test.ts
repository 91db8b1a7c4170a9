/**
 * KIP-392 fetch from the closest replica on real processes: three brokers in racks rack1..rack3 with
 * `replica.selector.class=org.apache.kafka.common.replica.RackAwareReplicaSelector`; a librdkafka consumer
 * (confluent-kafka-python) with `client.rack` set to a follower's rack is sent there by the leader
 * (preferred_read_replica) and reads every record from that follower, as both brokers' logs and the follower's
 * `runnel_fetch_from_follower_bytes_total` show; raw Fetch v12 answers check preferred_read_replica, records from
 * the follower, and OFFSET_NOT_AVAILABLE for an offset the follower does not hold yet; a kafkajs
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
import { RawClient } from "../support/raw-client.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { HTTP_LINE } from "../support/http-broker.ts";

/** One consumer Fetch v12 of near-0 at `fetchOffset` from the broker on `port`, as a client in `rackId`. */
async function rawFetch(port: number, fetchOffset: bigint, rackId: string): Promise<{ errorCode: number; highWatermark: bigint; preferredReadReplica: number; records: unknown }> {
  const raw = await RawClient.connect(port);
  try {
    const r = await raw.request(1, 12, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, rackId, forgottenTopicsData: [],
      topics: [{ topic: "near", partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
    });
    return r.responses[0].partitions[0];
  } finally {
    raw.close();
  }
}

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
    // A follower learns the high watermark from its next fetch: until then librdkafka would see the end of the
    // partition (partition EOF) at the follower's older high watermark, as it would with Kafka.
    await until("the follower knows the whole high watermark", 60_000, async () => (await rawFetch(brokers[follower - 1].port, 0n, `rack${follower}`)).highWatermark === BigInt(RECORDS));

    const py = await runProc(PYTHON, ["-c", RACK_CONSUMER, brokers.map((b) => b.bootstrap).join(","), `rack${follower}`], { timeoutMs: 120_000 });
    assert.equal(py.code, 0, py.stderr);
    assert.equal(py.stdout.trim(), `read ${RECORDS}`);
    const sent = `near-0: consumers in rack rack${follower} are sent to replica ${follower} (preferred read replica, KIP-392)`;
    const served = `near-0: serving a consumer in rack rack${follower} from this follower (KIP-392)`;
    assert.ok(brokers[p.leader - 1].log().includes(sent), `the leader ${p.leader} named ${follower} as the preferred read replica`);
    assert.ok(brokers[follower - 1].log().includes(served), `the follower ${follower} served the consumer`);
    const followerBytes = async (id: number) => {
      const url = HTTP_LINE.exec(brokers[id - 1].log())![1];
      const page = await (await fetch(`${url}/metrics`)).text();
      return Number(/^runnel_fetch_from_follower_bytes_total (\d+)/m.exec(page)![1]);
    };
    assert.ok((await followerBytes(follower)) >= RECORDS * 5, "the follower's metrics count the bytes it served to the consumer");
    assert.equal(await followerBytes(p.leader), 0, "the leader served no consumer as a follower");

    // Then (after librdkafka, whose reads the lines above prove) the answers themselves: the leader names the
    // follower for its rack with no records, the follower serves records, and an offset beyond what the follower
    // holds is OFFSET_NOT_AVAILABLE there (OFFSET_OUT_OF_RANGE at the leader).
    const atLeader = await rawFetch(brokers[p.leader - 1].port, 0n, `rack${follower}`);
    assert.equal(atLeader.errorCode, ErrorCode.NONE);
    assert.equal(atLeader.preferredReadReplica, follower);
    assert.equal((atLeader.records as Uint8Array | null)?.length ?? 0, 0, "no records beside a preferred read replica");
    assert.equal((await rawFetch(brokers[p.leader - 1].port, 0n, `rack${p.leader}`)).preferredReadReplica, -1, "a consumer in the leader's rack stays");
    const atFollower = await rawFetch(brokers[follower - 1].port, 0n, `rack${follower}`);
    assert.equal(atFollower.errorCode, ErrorCode.NONE);
    assert.ok(((atFollower.records as Uint8Array | null)?.length ?? 0) > 0, "the follower answers with records");
    assert.equal((await rawFetch(brokers[follower - 1].port, BigInt(RECORDS + 100), `rack${follower}`)).errorCode, ErrorCode.OFFSET_NOT_AVAILABLE);
    assert.equal((await rawFetch(brokers[p.leader - 1].port, BigInt(RECORDS + 100), "")).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);

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
