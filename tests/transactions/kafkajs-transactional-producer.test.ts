/**
 * kafkajs transactional producers against a real broker: committed transactions are read by a read_committed
 * consumer and aborted ones are not, while a read_uncommitted consumer reads both (never a marker as a record);
 * records of an open transaction reach read_committed consumers only when it commits; a consume-transform-produce
 * loop with sendOffsets, whose committed offsets move only when its transaction commits; a second producer with
 * the same transactionalId fences the first.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel, type Consumer, type Producer } from "kafkajs";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { committedOffsets as committedOver, describeTransaction, readCommittedView, waitFor } from "../support/group-state.ts";
import { sleep, waitUntil } from "./wait-until.ts";

const TEST_TIMEOUT = { timeout: 120_000 };
const OVERRIDES = { "transaction.state.log.num.partitions": "4" };

function client(b: TestBroker): Kafka {
  return new Kafka({ clientId: "txn-test", brokers: [b.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 50 } });
}

function txnProducer(kafka: Kafka, transactionalId: string, transactionTimeout = 60_000): Producer {
  return kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout });
}

/** A consumer (own group) that reads `topic` from the beginning into `seen`. */
async function reader(kafka: Kafka, groupId: string, topic: string, readUncommitted: boolean, seen: string[]): Promise<Consumer> {
  const c = kafka.consumer({ groupId, readUncommitted, maxWaitTimeInMs: 100, sessionTimeout: 10_000, heartbeatInterval: 500 });
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  await c.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
  return c;
}

const values = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

test("kafkajs: read_committed sees committed transactions only, read_uncommitted sees aborted ones too, open ones appear at commit", TEST_TIMEOUT, async () => {
  const b = await startTestBroker(OVERRIDES);
  const consumers: Consumer[] = [];
  const kafka = client(b);
  const producer = txnProducer(kafka, "kjs-tx");
  try {
    await b.broker.createTopic("orders", 3, 1, {}, false);
    await producer.connect();
    const send = async (prefix: string, commit: boolean) => {
      const txn = await producer.transaction();
      const vs = values(prefix, 30);
      await txn.send({ topic: "orders", messages: vs.map((value, i) => ({ value, partition: i % 3 })) });
      if (commit) await txn.commit();
      else await txn.abort();
      return vs;
    };
    const c1 = await send("c1", true);
    const a2 = await send("a2", false);
    const committed: string[] = [];
    const uncommitted: string[] = [];
    consumers.push(await reader(kafka, "rc", "orders", false, committed));
    consumers.push(await reader(kafka, "ru", "orders", true, uncommitted));
    await waitUntil(() => committed.length >= 30 && uncommitted.length >= 60, 30_000, () => `first reads (rc ${committed.length}, ru ${uncommitted.length})`);

    // An open transaction: read_uncommitted gets its records, read_committed waits for the commit.
    const open = await producer.transaction();
    const c3 = values("c3", 30);
    await open.send({ topic: "orders", messages: c3.map((value, i) => ({ value, partition: i % 3 })) });
    await waitUntil(() => uncommitted.length >= 90, 20_000, () => `open records read uncommitted (${uncommitted.length})`);
    await sleep(500);
    assert.equal(committed.length, 30, "read_committed does not read past the LSO");
    await open.commit();
    await waitUntil(() => committed.length >= 60, 20_000, () => `committed records (${committed.length})`);
    await sleep(300);
    assert.deepEqual(new Set(committed), new Set([...c1, ...c3]));
    assert.equal(committed.length, 60, "nothing twice");
    assert.deepEqual(new Set(uncommitted), new Set([...c1, ...a2, ...c3]));
    assert.equal(uncommitted.length, 90, "markers are not records");
    assert.equal((await describeTransaction(b.port, "kjs-tx")).state, "CompleteCommit");
    for (let p = 0; p < 3; p++) {
      const view = await readCommittedView(b.port, "orders", p);
      assert.equal(view.lastStableOffset, view.highWatermark);
      assert.equal(view.abortedTransactions, 1, `partition ${p} has one aborted transaction`);
    }
  } finally {
    for (const c of consumers) await c.disconnect();
    await producer.disconnect();
    await b.stop();
  }
});

test("kafkajs: a consume-transform-produce loop with sendOffsets commits offsets only with its transactions", TEST_TIMEOUT, async () => {
  const b = await startTestBroker(OVERRIDES);
  const kafka = client(b);
  const producer = txnProducer(kafka, "ctp-tx");
  const plain = kafka.producer();
  const consumers: Consumer[] = [];
  const committedOffsets = async (p: number) => (await committedOver(b.port, "ctp", "in", [p]))[0];
  try {
    await b.broker.createTopic("in", 2, 1, {}, false);
    await b.broker.createTopic("out", 2, 1, {}, false);
    await plain.connect();
    const input = values("in", 100);
    await plain.send({ topic: "in", acks: -1, messages: input.map((value, i) => ({ value, partition: i % 2 })) });
    await producer.connect();

    let aborted = 0;
    const checks: string[] = [];
    const loop = kafka.consumer({ groupId: "ctp", readUncommitted: false, maxWaitTimeInMs: 100, sessionTimeout: 10_000, heartbeatInterval: 500, maxBytesPerPartition: 200 });
    consumers.push(loop);
    await loop.connect();
    await loop.subscribe({ topic: "in", fromBeginning: true });
    await loop.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat }) => {
        const next = (BigInt(batch.lastOffset()) + 1n).toString();
        const work = async (commit: boolean) => {
          const before = await committedOffsets(batch.partition);
          const txn = await producer.transaction();
          await txn.send({ topic: "out", messages: batch.messages.map((m) => ({ value: m.value!.toString().toUpperCase(), partition: batch.partition })) });
          await txn.sendOffsets({ consumerGroupId: "ctp", topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }] });
          if ((await committedOffsets(batch.partition)) !== before) checks.push(`offsets moved before the commit on ${batch.partition}`);
          if (commit) {
            await txn.commit();
            const after = await committedOffsets(batch.partition);
            if (after !== BigInt(next)) checks.push(`offset ${after} after commit, expected ${next}`);
          } else {
            await txn.abort();
            if ((await committedOffsets(batch.partition)) !== before) checks.push(`offsets moved by an abort on ${batch.partition}`);
          }
        };
        // The first batch of each partition fails once: its transaction is aborted and the batch done again.
        if (aborted < 2 && batch.messages.length > 0 && BigInt(batch.firstOffset() ?? "0") === 0n) {
          aborted++;
          await work(false);
        }
        await work(true);
        await heartbeat();
      },
    });
    await waitFor(async () => (await committedOffsets(0)) === 50n && (await committedOffsets(1)) === 50n, 60_000, async () => `offsets 50/50 (have ${await committedOffsets(0)}/${await committedOffsets(1)})`);
    assert.deepEqual(checks, []);
    assert.equal(aborted, 2);

    const outCommitted: string[] = [];
    const outAll: string[] = [];
    consumers.push(await reader(kafka, "out-rc", "out", false, outCommitted));
    consumers.push(await reader(kafka, "out-ru", "out", true, outAll));
    await waitUntil(() => outCommitted.length >= 100 && outAll.length > 100, 30_000, () => `outputs (rc ${outCommitted.length}, ru ${outAll.length})`);
    await sleep(300);
    assert.equal(outCommitted.length, 100, "each input exactly once in the committed output");
    assert.deepEqual(new Set(outCommitted), new Set(input.map((v) => v.toUpperCase())));
    assert.ok(outAll.length > 100, "the aborted attempts are there for read_uncommitted");
  } finally {
    for (const c of consumers) await c.disconnect();
    await producer.disconnect();
    await plain.disconnect();
    await b.stop();
  }
});

test("kafkajs: a second producer with the same transactionalId fences the first and its open transaction is aborted", TEST_TIMEOUT, async () => {
  const b = await startTestBroker(OVERRIDES);
  const kafka = client(b);
  const first = txnProducer(kafka, "shared");
  const second = txnProducer(kafka, "shared");
  const consumers: Consumer[] = [];
  try {
    await b.broker.createTopic("z", 1, 1, {}, false);
    await first.connect();
    const zombie = await first.transaction();
    await zombie.send({ topic: "z", messages: [{ value: "zombie" }] });
    const epoch = (await describeTransaction(b.port, "shared")).producerEpoch;
    await second.connect();
    const txn = await second.transaction(); // InitProducerId: aborts the open transaction, bumps the epoch twice
    assert.equal((await describeTransaction(b.port, "shared")).producerEpoch, epoch + 2);
    await txn.send({ topic: "z", messages: [{ value: "winner" }] });
    await txn.commit();
    await assert.rejects(zombie.commit(), (e: Error & { type?: string }) => /PRODUCER_FENCED|INVALID_PRODUCER_EPOCH/.test(e.type ?? e.message));
    const seen: string[] = [];
    consumers.push(await reader(kafka, "zr", "z", false, seen));
    await waitUntil(() => seen.length >= 1, 20_000, "the committed record");
    await sleep(300);
    assert.deepEqual(seen, ["winner"]);
  } finally {
    for (const c of consumers) await c.disconnect();
    await first.disconnect().catch(() => {});
    await second.disconnect();
    await b.stop();
  }
});
