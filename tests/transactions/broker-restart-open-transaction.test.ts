/**
 * A broker restarted in the middle of a transaction: a transaction still open is kept open (holding the LSO) and
 * aborted once its transaction.timeout.ms has passed, fencing its producer; a transaction whose PrepareCommit was
 * durable but whose markers were never written is committed when the broker starts again. Read with kafkajs
 * read_committed consumers and raw fetches.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel, type Consumer } from "kafkajs";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { sleep, waitUntil } from "./wait-until.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import type { TxnMarkerWriter } from "../../src/transactions/txn-markers.ts";
import { fetchPartition } from "./raw-txn-client.ts";
import { describeTransaction, IN_PROCESS, waitFor } from "../support/group-state.ts";

const TEST_TIMEOUT = { timeout: 120_000 };
const OVERRIDES = { "transaction.state.log.num.partitions": "2", "transaction.abort.timed.out.transaction.cleanup.interval.ms": "200" };

function client(b: TestBroker): Kafka {
  return new Kafka({ clientId: "restart-test", brokers: [b.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 50 } });
}

async function readCommitted(kafka: Kafka, topic: string, seen: string[]): Promise<Consumer> {
  const c = kafka.consumer({ groupId: `rc-${topic}`, readUncommitted: false, maxWaitTimeInMs: 100 });
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  await c.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
  return c;
}

test("an open transaction survives a restart holding the LSO and is aborted after its timeout, fencing its producer", TEST_TIMEOUT, async () => {
  let b = await startTestBroker(OVERRIDES);
  const dir = b.dir;
  const consumers: Consumer[] = [];
  let raw: RawClient | null = null;
  try {
    await b.broker.createTopic("r", 2, 1, {}, false);
    const producer = client(b).producer({ transactionalId: "slow", idempotent: true, maxInFlightRequests: 1, transactionTimeout: 6000 });
    await producer.connect();
    const done = await producer.transaction();
    await done.send({ topic: "r", messages: [0, 1].map((p) => ({ value: `committed-${p}`, partition: p })) });
    await done.commit();
    const open = await producer.transaction();
    await open.send({ topic: "r", messages: [0, 1].map((p) => ({ value: `open-${p}`, partition: p })) });
    const { producerId, producerEpoch } = await describeTransaction(b.port, "slow");
    await producer.disconnect();
    await b.stop({ keepDir: true });

    b = await startTestBroker(OVERRIDES, dir);
    raw = await RawClient.connect(b.port);
    assert.equal((await describeTransaction(b.port, "slow")).state, "Ongoing", "still open after the restart");
    const held = await fetchPartition(raw, "r", 0, 0n, true);
    assert.ok(held.data.lastStableOffset < held.data.highWatermark, "the open transaction holds the LSO");
    await waitFor(async () => (await describeTransaction(b.port, "slow")).state === "CompleteAbort", 20_000, async () => `abort after the timeout (state ${(await describeTransaction(b.port, "slow")).state})`);
    for (const p of [0, 1]) {
      const r = await fetchPartition(raw, "r", p, 0n, true);
      assert.equal(r.data.lastStableOffset, r.data.highWatermark);
      assert.deepEqual(r.data.abortedTransactions, [{ producerId, firstOffset: 2n }]);
      assert.deepEqual(r.batches.map((x) => x.marker), [null, "COMMIT", null, "ABORT"]);
    }
    // The timed-out producer is fenced.
    const end = await raw.request(26, 3, { transactionalId: "slow", producerId, producerEpoch, committed: true });
    assert.equal(end.errorCode, ErrorCode.PRODUCER_FENCED);
    const seen: string[] = [];
    consumers.push(await readCommitted(client(b), "r", seen));
    await waitUntil(() => seen.length >= 2, 20_000, "committed records");
    await sleep(300);
    assert.deepEqual(seen.sort(), ["committed-0", "committed-1"]);
  } finally {
    for (const c of consumers) await c.disconnect();
    raw?.close();
    await b.stop();
  }
});

test("a transaction left in PrepareCommit by a stop before its markers is committed when the broker starts again", { ...TEST_TIMEOUT, skip: IN_PROCESS ? false : "injects a marker writer that never finishes into the in-process transaction coordinator (single-shard only)" }, async () => {
  let b = await startTestBroker(OVERRIDES);
  const dir = b.dir;
  const consumers: Consumer[] = [];
  try {
    await b.broker.createTopic("pc", 2, 1, {}, false);
    const producer = client(b).producer({ transactionalId: "pc-tx", idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const txn = await producer.transaction();
    await txn.send({ topic: "pc", messages: Array.from({ length: 10 }, (_, i) => ({ value: `v-${i}`, partition: i % 2 })) });
    // The markers never get written: the broker stops with the decision durable but not carried out.
    (b.broker.txns as unknown as { markers: TxnMarkerWriter }).markers = { writeMarkers: () => new Promise(() => {}) };
    const commit = txn.commit().catch(() => "failed");
    await waitUntil(() => b.broker.txns.describe("pc-tx").state === "PrepareCommit", 10_000, "PrepareCommit");
    await b.stop({ keepDir: true });
    await commit;
    await producer.disconnect().catch(() => {});

    b = await startTestBroker(OVERRIDES, dir);
    await waitUntil(() => b.broker.txns.describe("pc-tx").state === "CompleteCommit", 10_000, () => `CompleteCommit (state ${b.broker.txns.describe("pc-tx").state})`);
    for (const p of [0, 1]) {
      const part = b.broker.partition("pc", p)!;
      assert.equal(part.lastStableOffset, part.log.highWatermark, `partition ${p} is stable`);
      assert.equal(part.abortedTxns.size, 0);
    }
    const seen: string[] = [];
    consumers.push(await readCommitted(client(b), "pc", seen));
    await waitUntil(() => seen.length >= 10, 20_000, () => `the committed records (${seen.length})`);
    await sleep(300);
    assert.deepEqual(new Set(seen), new Set(Array.from({ length: 10 }, (_, i) => `v-${i}`)));
    assert.equal(seen.length, 10);
  } finally {
    for (const c of consumers) await c.disconnect();
    await b.stop();
  }
});
