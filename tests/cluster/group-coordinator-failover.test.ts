/**
 * The group coordinator follows the leader of the group's `__consumer_offsets` partition (three `runnel start`
 * processes on one etcd):
 * - `__consumer_offsets` is created with replication factor 3 (offsets.topic.replication.factor, at most the brokers);
 * - FindCoordinator on every broker names that partition's leader; OffsetFetch at another broker answers
 *   NOT_COORDINATOR;
 * - a confluent-kafka-python (librdkafka) group member reads and commits synchronously (a commit is acknowledged
 *   once replicated); the coordinator is SIGKILLed mid-consumption: another broker becomes the partition's leader,
 *   loads the group from its replica of the partition, FindCoordinator names it, the committed offsets there are at
 *   least the last acknowledged commit, the member reads everything produced before and after the kill with no
 *   gap, and its final commit of the end of every partition is taken by the new coordinator;
 * - commits are acks=all writes under the broker's min.insync.replicas=2: once the last follower is killed too and
 *   leaves the ISR, OffsetCommit answers COORDINATOR_NOT_AVAILABLE (Kafka's mapping of NOT_ENOUGH_REPLICAS) and
 *   OffsetFetch still answers the last acknowledged commit.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { coordinatorNodeAt, printBrokerLogs, startCluster, until } from "../support/cluster-processes.ts";
import { RawClient } from "../support/raw-client.ts";
import { PYTHON, havePythonModule } from "../support/proc.ts";
import { spawnPeer, type PeerProcess } from "../support/json-process.ts";

const TOPIC = "orders";
const PARTITIONS = 3;
const GROUP = "order-readers";
/** Records produced before the kill, and as many after it. */
const PER_PHASE = 600;

/**
 * A librdkafka group member: reads `total` distinct values, committing each batch's next offsets synchronously
 * (events: read counts, every acknowledged commit, failed commits), then commits its positions until that succeeds
 * and reports what the group has committed and which values it never saw.
 */
const MEMBER = `
import sys, json, time
from confluent_kafka import Consumer, TopicPartition, KafkaException
bootstrap, topic, group, total = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def emit(**e):
    print(json.dumps(e), flush=True)
c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False, "auto.offset.reset": "earliest",
              "session.timeout.ms": 10000, "heartbeat.interval.ms": 500})
c.subscribe([topic])
seen = set()
reported = 0
while len(seen) < total:
    latest = {}
    for m in c.consume(num_messages=200, timeout=1.0):
        if m.error():
            continue
        seen.add(m.value().decode())
        latest[m.partition()] = m.offset() + 1
    if latest:
        try:
            for tp in c.commit(offsets=[TopicPartition(topic, p, o) for p, o in latest.items()], asynchronous=False):
                if tp.error is None:
                    emit(event="commit", partition=tp.partition, offset=tp.offset)
                else:
                    emit(event="commit-failed", error=str(tp.error))
        except KafkaException as e:
            emit(event="commit-failed", error=str(e))
    if len(seen) >= reported + 100:
        reported = len(seen)
        emit(event="read", count=reported)
deadline = time.time() + 90
while True:
    try:
        c.commit(offsets=c.position(c.assignment()), asynchronous=False)
        break
    except KafkaException as e:
        if time.time() > deadline:
            raise
        emit(event="commit-failed", error=str(e))
        c.poll(0.5)
committed = {tp.partition: tp.offset for tp in c.committed(c.assignment(), timeout=30)}
missing = [i for i in range(total) if ("m%d" % i) not in seen]
emit(event="done", committed=committed, missing=len(missing))
c.close()
`;

test("SIGKILL of a group's coordinator mid-consumption: the new leader of its __consumer_offsets partition takes the group over, no acknowledged commit is lost, consumption resumes without gaps", { skip: ETCD_SKIP_REASON, timeout: 300_000 }, async (t) => {
  if (!(await havePythonModule("confluent_kafka"))) {
    t.skip("SKIPPED: /usr/bin/python3 has no confluent_kafka (tests/setup.d/10-interop-peers.sh)");
    return;
  }
  const cluster = await startCluster(["-o", "broker.session.timeout.ms=2000", "-o", "replica.lag.time.max.ms=2000", "-o", "offsets.topic.num.partitions=6", "-o", "min.insync.replicas=2"]);
  const { brokers } = cluster;
  let member: PeerProcess | null = null;
  try {
    const retry = { retries: 30, initialRetryTime: 200, maxRetryTime: 1000 };
    const kafka = new Kafka({ clientId: "coord-failover", brokers: brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING, retry });
    const admin = kafka.admin();
    await admin.connect();
    await until("three registered brokers", 30_000, async () => (await admin.describeCluster()).brokers.length === 3);
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, configEntries: [{ name: "min.insync.replicas", value: "2" }] }] });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    const produce = async (from: number) => {
      for (let i = from; i < from + PER_PHASE; i += 200) {
        await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: 200 }, (_, j) => ({ value: `m${i + j}`, partition: (i + j) % PARTITIONS })) });
      }
    };
    await produce(0);

    member = spawnPeer(PYTHON, ["-c", MEMBER, brokers.map((b) => b.bootstrap).join(","), TOPIC, GROUP, String(2 * PER_PHASE)]);
    const m = member;
    await m.waitFor((e) => e.event === "read" && e.count >= PER_PHASE, 120_000, "the member to read the first phase");
    await m.waitFor((e) => e.event === "commit", 60_000, "a first acknowledged commit");

    // __consumer_offsets is replicated to every broker, and all brokers name the same coordinator
    const offsetsTopic = (await admin.fetchTopicMetadata({ topics: ["__consumer_offsets"] })).topics[0].partitions;
    assert.equal(offsetsTopic.length, 6);
    for (const p of offsetsTopic) assert.equal(p.replicas.length, 3, `__consumer_offsets-${p.partitionId} has replication factor 3`);
    const coordinator = await coordinatorNodeAt(brokers[0].port, GROUP, 0);
    assert.ok([1, 2, 3].includes(coordinator), `a coordinator: ${coordinator}`);
    for (const b of brokers) assert.equal(await coordinatorNodeAt(b.port, GROUP, 0), coordinator);
    // another broker does not serve the group
    const other = brokers.find((_, i) => i + 1 !== coordinator)!;
    const raw = await RawClient.connect(other.port);
    const fetched = await raw.request(9, 8, { groups: [{ groupId: GROUP, topics: null }], requireStable: false });
    raw.close();
    assert.equal(fetched.groups[0].errorCode, 16, "NOT_COORDINATOR from a broker that does not lead the group's partition");

    const acked = new Map<number, number>();
    for (const e of m.events) if (e.event === "commit" && e.offset > (acked.get(e.partition) ?? -1)) acked.set(e.partition, e.offset);
    await brokers[coordinator - 1].stop("SIGKILL");
    const killedAt = Date.now();
    const survivors = brokers.filter((_, i) => i + 1 !== coordinator);
    await produce(PER_PHASE);
    await producer.disconnect();

    // a survivor coordinates the group now, and holds every commit acknowledged before the kill
    let newCoordinator = -1;
    await until("a surviving broker to coordinate the group", 60_000, async () => {
      newCoordinator = await coordinatorNodeAt(survivors[0].port, GROUP, 0);
      return newCoordinator > 0 && newCoordinator !== coordinator;
    });
    const movedMs = Date.now() - killedAt;
    const survivorAdmin = new Kafka({ clientId: "after", brokers: survivors.map((b) => b.bootstrap), logLevel: logLevel.NOTHING, retry }).admin();
    await survivorAdmin.connect();
    try {
      const committed = await survivorAdmin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
      for (const [partition, offset] of acked) {
        const now = Number(committed[0].partitions.find((p) => p.partition === partition)!.offset);
        assert.ok(now >= offset, `partition ${partition}: committed ${now} after the failover, ${offset} acknowledged before it`);
      }
      // the member reads both phases with no gap and its last commit (the end of every partition) is taken
      const done = await m.waitFor((e) => e.event === "done", 180_000, "the member to read both phases and commit");
      const resumedMs = Date.now() - killedAt;
      assert.equal(done.missing, 0, "every record produced before and after the kill was read");
      const end = await survivorAdmin.fetchTopicOffsets(TOPIC);
      for (const e of end) assert.equal(String(done.committed[String(e.partition)]), e.high, `partition ${e.partition} committed at its end`);
      const final = await survivorAdmin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
      for (const e of end) assert.equal(final[0].partitions.find((p) => p.partition === e.partition)?.offset, e.high);
      const failures = m.events.filter((e) => e.event === "commit-failed").length;
      console.error(`coordinator ${coordinator} killed; broker ${newCoordinator} named coordinator after ${movedMs} ms; both phases read and committed ${resumedMs} ms after the kill (${failures} commit(s) failed during the move)`);
      await m.exited;

      // the last follower dies: with one replica in sync, min.insync.replicas=2 refuses commits
      await brokers.find((_, i) => i + 1 !== coordinator && i + 1 !== newCoordinator)!.stop("SIGKILL");
      const raw2 = await RawClient.connect(brokers[newCoordinator - 1].port);
      try {
        const commit = async (offset: bigint) => {
          const r = await raw2.request(8, 8, { groupId: GROUP, generationIdOrMemberEpoch: -1, memberId: "", groupInstanceId: null, retentionTimeMs: -1n, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: "" }] }] });
          return r.topics[0].partitions[0].errorCode as number;
        };
        await until("OffsetCommit to be refused with one replica in sync", 60_000, async () => (await commit(1n)) === 15);
        const fetchedNow = await raw2.request(9, 8, { groups: [{ groupId: GROUP, topics: [{ name: TOPIC, partitionIndexes: [0] }] }], requireStable: false });
        const p0 = end.find((e) => e.partition === 0)!.high;
        assert.equal(String(fetchedNow.groups[0].topics[0].partitions[0].committedOffset), p0, "OffsetFetch answers the last acknowledged commit, not the refused one");
      } finally {
        raw2.close();
      }
    } finally {
      await survivorAdmin.disconnect();
    }
    await admin.disconnect().catch(() => undefined);
  } catch (e) {
    printBrokerLogs(brokers);
    if (member !== null) console.error(`--- member output ---\n${member.output().slice(-4000)}`);
    throw e;
  } finally {
    await member?.kill();
    await cluster.close();
  }
});
