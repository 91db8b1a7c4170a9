/**
 * The transaction coordinator follows the leader of the transactional id's `__transaction_state` partition (three
 * `runnel start` processes on one etcd), with a kafkajs transactional producer:
 * - `__transaction_state` is created with replication factor 3; FindCoordinator on every broker names the leader of
 *   the id's partition;
 * - a committed transaction over three partitions led by three brokers: the coordinator's markers reach the leaders
 *   on the other brokers (WriteTxnMarkers), so a read_committed consumer gets past it on every partition;
 * - the coordinator is SIGKILLed mid-transaction (records sent, not yet committed); the client's commit then goes
 *   to the new leader of the partition, which loaded the transaction from its replica. The outcome the client got
 *   decides what must be read: committed -> its records, aborted -> none of them. A later committed transaction is
 *   read on every partition, so the markers of the interrupted one reached every partition leader; its offsets for
 *   a group coordinated by another broker become that group's once its marker arrives there.
 * The same with a confluent-kafka-python (librdkafka) transactional producer: its coordinator is SIGKILLed between
 * its sends and its commit_transaction; the outcome librdkafka reports (committed, or aborted after an abortable
 * error) decides what a librdkafka read_committed consumer must read.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel, type Consumer } from "kafkajs";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { coordinatorNodeAt, printBrokerLogs, startCluster, until } from "../support/cluster-processes.ts";
import { PYTHON, havePythonModule } from "../support/proc.ts";
import { spawnPeer, type PeerProcess } from "../support/json-process.ts";
import { RawClient } from "../support/raw-client.ts";
import type { BrokerProcess } from "../support/broker-process.ts";

const TOPIC = "payments";
const PARTITIONS = 3;
const TXN_ID = "payments-writer";
const PER_TXN = 90;

test("SIGKILL of a transaction coordinator mid-transaction: the transaction ends committed or aborted as the client was told, read_committed never sees aborted records, markers reach leaders on other brokers", { skip: ETCD_SKIP_REASON, timeout: 300_000 }, async () => {
  const cluster = await startCluster(["-o", "broker.session.timeout.ms=2000", "-o", "replica.lag.time.max.ms=2000", "-o", "transaction.state.log.num.partitions=6", "-o", "offsets.topic.num.partitions=6"]);
  const { brokers } = cluster;
  let consumer: Consumer | null = null;
  try {
    const retry = { retries: 40, initialRetryTime: 200, maxRetryTime: 1000 };
    const kafka = new Kafka({ clientId: "txn-failover", brokers: brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING, retry });
    const admin = kafka.admin();
    await admin.connect();
    await until("three registered brokers", 30_000, async () => (await admin.describeCluster()).brokers.length === 3);
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, configEntries: [{ name: "min.insync.replicas", value: "2" }] }] });
    const leaders = (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0].partitions.map((p) => p.leader);
    assert.equal(new Set(leaders).size, 3, `each broker leads one partition: ${leaders}`);

    const producer = kafka.producer({ transactionalId: TXN_ID, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, retry });
    await producer.connect();
    const messages = (tag: string) => Array.from({ length: PER_TXN }, (_, i) => ({ value: `${tag}-${i}`, partition: i % PARTITIONS }));

    // a first transaction commits: markers go to the three leaders, two of them on other brokers than the coordinator
    const t1 = await producer.transaction();
    await t1.send({ topic: TOPIC, messages: messages("t1") });
    await t1.commit();

    const stateTopic = (await admin.fetchTopicMetadata({ topics: ["__transaction_state"] })).topics[0].partitions;
    assert.equal(stateTopic.length, 6);
    for (const p of stateTopic) assert.equal(p.replicas.length, 3, `__transaction_state-${p.partitionId} has replication factor 3`);
    const coordinator = await coordinatorNodeAt(brokers[0].port, TXN_ID, 1);
    assert.ok([1, 2, 3].includes(coordinator), `a transaction coordinator: ${coordinator}`);
    for (const b of brokers) assert.equal(await coordinatorNodeAt(b.port, TXN_ID, 1), coordinator);

    // the second transaction's records are written, then its coordinator dies before the commit
    const t2 = await producer.transaction();
    await t2.send({ topic: TOPIC, messages: messages("t2") });
    await brokers[coordinator - 1].stop("SIGKILL");
    const survivors = brokers.filter((_, i) => i + 1 !== coordinator);
    let outcome: "committed" | "aborted";
    let writer = producer;
    try {
      await t2.commit();
      outcome = "committed";
    } catch (e) {
      // kafkajs sends EndTxn once: an error from the new coordinator (still loading the partition, say) fails the
      // commit and leaves the producer in COMMITTING, where it refuses abort and any later transaction. What a
      // Kafka user does then: close it and start a new producer with the same transactional id, whose
      // InitProducerId aborts a transaction still open. Which outcome the interrupted one got is the coordinator's
      // to say: its state once settled (not Prepare*), read before the new producer fences the old one.
      await producer.disconnect();
      const state = await settledTransactionState(brokers, coordinator, TXN_ID);
      outcome = state === "CompleteCommit" ? "committed" : "aborted";
      assert.ok(["Ongoing", "CompleteCommit", "CompleteAbort"].includes(state), `the interrupted transaction's state: ${state}`);
      console.error(`commit after the coordinator's death failed (${(e as Error).message}); coordinator's state ${state}; a new producer takes over`);
      writer = kafka.producer({ transactionalId: TXN_ID, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, retry });
      await writer.connect();
    }
    const newCoordinator = await coordinatorNodeAt(survivors[0].port, TXN_ID, 1);
    assert.ok(newCoordinator > 0 && newCoordinator !== coordinator, `a survivor coordinates ${TXN_ID}: ${newCoordinator}`);

    // a third transaction commits with the new coordinator, with offsets of a group another survivor coordinates:
    // TxnOffsetCommit is verified at the transaction's coordinator, the COMMIT marker reaches the group's
    // __consumer_offsets partition on the other broker, and only then are the offsets the group's
    let group = "";
    for (let i = 0; group === "" && i < 100; i++) {
      const node = await coordinatorNodeAt(survivors[0].port, `settlement-${i}`, 0);
      if (node > 0 && node !== newCoordinator) group = `settlement-${i}`;
    }
    assert.notEqual(group, "", "a group coordinated by the other survivor");
    const t3 = await writer.transaction();
    await t3.send({ topic: TOPIC, messages: messages("t3") });
    await t3.sendOffsets({ consumerGroupId: group, topics: [{ topic: TOPIC, partitions: [{ partition: 0, offset: "42" }] }] });
    await t3.commit();
    await writer.disconnect();
    await admin.disconnect();
    const survivorAdmin = new Kafka({ clientId: "offsets", brokers: survivors.map((b) => b.bootstrap), logLevel: logLevel.NOTHING, retry }).admin();
    await survivorAdmin.connect();
    await until(`the transaction's offsets to be ${group}'s`, 30_000, async () => (await survivorAdmin.fetchOffsets({ groupId: group, topics: [TOPIC] }))[0].partitions.find((p) => p.partition === 0)?.offset === "42");
    await survivorAdmin.disconnect();

    // read_committed: t1 and t3 on every partition, t2 exactly when the client was told it committed
    const seen: string[] = [];
    consumer = new Kafka({ clientId: "reader", brokers: survivors.map((b) => b.bootstrap), logLevel: logLevel.NOTHING, retry }).consumer({ groupId: "payments-readers", readUncommitted: false });
    await consumer.connect();
    await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
    await until("the read_committed consumer to read t3 on every partition", 120_000, () => seen.filter((v) => v.startsWith("t3-")).length === PER_TXN);
    const count = (tag: string) => seen.filter((v) => v.startsWith(`${tag}-`)).length;
    assert.equal(count("t1"), PER_TXN, "the first transaction's records, once each");
    assert.equal(count("t2"), outcome === "committed" ? PER_TXN : 0, `the interrupted transaction ${outcome}: its records ${outcome === "committed" ? "all" : "never"} read`);
    assert.equal(new Set(seen).size, seen.length, "no record twice");
    console.error(`transaction coordinator ${coordinator} killed mid-transaction; broker ${newCoordinator} took over; the transaction ${outcome}`);
  } catch (e) {
    printBrokerLogs(brokers);
    throw e;
  } finally {
    await consumer?.disconnect().catch(() => undefined);
    await cluster.close();
  }
});

/**
 * The state (DescribeTransactions) of `transactionalId` at its coordinator (`brokers[i]` is node i + 1; node `dead`
 * was killed), once
 * it has left PrepareCommit/PrepareAbort (the markers are written): Ongoing, CompleteCommit or CompleteAbort.
 */
async function settledTransactionState(brokers: readonly BrokerProcess[], dead: number, transactionalId: string): Promise<string> {
  let state = "";
  const asked = brokers.find((_, i) => i + 1 !== dead)!;
  await until(`${transactionalId}'s transaction to settle at its coordinator`, 60_000, async () => {
    const node = await coordinatorNodeAt(asked.port, transactionalId, 1);
    if (node <= 0 || node === dead) return false;
    const raw = await RawClient.connect(brokers[node - 1].port);
    try {
      const r = await raw.request(65, 0, { transactionalIds: [transactionalId] });
      const t = r.transactionStates[0];
      if (t.errorCode !== 0) return false;
      state = t.transactionState;
      return !state.startsWith("Prepare");
    } finally {
      raw.close();
    }
  });
  return state;
}

/**
 * librdkafka's side: a transaction of `count` records over the partitions, then {"event":"sent"} and a wait for a
 * line on stdin (the test kills the coordinator), then commit_transaction, retried while retriable and aborted when
 * librdkafka says the transaction must abort; {"event":"outcome"}. Then a later transaction, committed.
 */
const TXN_PRODUCER = `
import sys, json
from confluent_kafka import Producer, KafkaException
bootstrap, txn_id, topic, partitions, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
def emit(**e):
    print(json.dumps(e), flush=True)
p = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id, "linger.ms": 5, "transaction.timeout.ms": 60000})
p.init_transactions(60)
def send(tag):
    for i in range(count):
        p.produce(topic, value=("%s-%d" % (tag, i)).encode(), partition=i % partitions)
    p.flush(60)
p.begin_transaction()
send("l1")
p.commit_transaction(60)
p.begin_transaction()
send("l2")
emit(event="sent")
sys.stdin.readline()
outcome = None
while outcome is None:
    try:
        p.commit_transaction(60)
        outcome = "committed"
    except KafkaException as e:
        err = e.args[0]
        if err.txn_requires_abort():
            p.abort_transaction(60)
            outcome = "aborted"
        elif not err.retriable():
            raise
emit(event="outcome", outcome=outcome)
p.begin_transaction()
send("l3")
p.commit_transaction(60)
emit(event="done")
`;

/** A librdkafka read_committed consumer: every value up to the end of every partition, then {"event":"read"}. */
const TXN_READER = `
import sys, json
from confluent_kafka import Consumer, TopicPartition
bootstrap, topic, partitions, expect_l3 = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "l-readers", "isolation.level": "read_committed", "enable.auto.commit": False, "auto.offset.reset": "earliest"})
c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
values = []
while sum(1 for v in values if v.startswith("l3-")) < expect_l3:
    for m in c.consume(num_messages=500, timeout=1.0):
        if not m.error():
            values.append(m.value().decode())
print(json.dumps({"event": "read", "values": values}), flush=True)
c.close()
`;

test("SIGKILL of a librdkafka transactional producer's coordinator before commit_transaction: committed or aborted as librdkafka reports, a read_committed librdkafka consumer agrees", { skip: ETCD_SKIP_REASON, timeout: 300_000 }, async (t) => {
  if (!(await havePythonModule("confluent_kafka"))) {
    t.skip("SKIPPED: /usr/bin/python3 has no confluent_kafka (tests/setup.d/10-interop-peers.sh)");
    return;
  }
  const cluster = await startCluster(["-o", "broker.session.timeout.ms=2000", "-o", "replica.lag.time.max.ms=2000", "-o", "transaction.state.log.num.partitions=6", "-o", "offsets.topic.num.partitions=6"]);
  const { brokers } = cluster;
  const peers: PeerProcess[] = [];
  try {
    const admin = new Kafka({ clientId: "l-admin", brokers: brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await until("three registered brokers", 30_000, async () => (await admin.describeCluster()).brokers.length === 3);
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: "ledger", numPartitions: PARTITIONS, replicationFactor: 3, configEntries: [{ name: "min.insync.replicas", value: "2" }] }] });
    await admin.disconnect();
    const bootstrap = brokers.map((b) => b.bootstrap).join(",");
    const producer = spawnPeer(PYTHON, ["-c", TXN_PRODUCER, bootstrap, "l-writer", "ledger", String(PARTITIONS), String(PER_TXN)]);
    peers.push(producer);
    await producer.waitFor((e) => e.event === "sent", 120_000, "the second transaction's records to be sent");
    const coordinator = await coordinatorNodeAt(brokers[0].port, "l-writer", 1);
    assert.ok([1, 2, 3].includes(coordinator), `a transaction coordinator: ${coordinator}`);
    await brokers[coordinator - 1].stop("SIGKILL");
    producer.send("commit");
    const outcome = (await producer.waitFor((e) => e.event === "outcome", 120_000, "commit_transaction's outcome")).outcome as string;
    await producer.waitFor((e) => e.event === "done", 120_000, "a later transaction to commit");
    const survivors = brokers.filter((_, i) => i + 1 !== coordinator);
    const reader = spawnPeer(PYTHON, ["-c", TXN_READER, survivors.map((b) => b.bootstrap).join(","), "ledger", String(PARTITIONS), String(PER_TXN)]);
    peers.push(reader);
    const values = (await reader.waitFor((e) => e.event === "read", 120_000, "the read_committed consumer to read the last transaction")).values as string[];
    const count = (tag: string) => values.filter((v) => v.startsWith(`${tag}-`)).length;
    assert.equal(count("l1"), PER_TXN);
    assert.equal(count("l2"), outcome === "committed" ? PER_TXN : 0, `librdkafka reported the interrupted transaction ${outcome}`);
    assert.equal(new Set(values).size, values.length, "no record twice");
    console.error(`librdkafka: transaction coordinator ${coordinator} killed before commit_transaction; the transaction ${outcome}`);
  } catch (e) {
    printBrokerLogs(brokers);
    for (const p of peers) console.error(`--- peer output ---\n${p.output().slice(-3000)}`);
    throw e;
  } finally {
    for (const p of peers) await p.kill();
    await cluster.close();
  }
});
