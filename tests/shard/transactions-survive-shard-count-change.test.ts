/**
 * Transactions across a change of the shard count: with kafkajs through the front of a 2-shard node, one
 * transaction over partitions of both shards commits and another is left open when the node stops. Restarted with 3
 * shards, the transactional id's coordinator comes up on its (possibly new) shard from `__transaction_state`, aborts
 * the open transaction (its timeout, or the next InitProducerId of the id: markers to every partition, wherever they
 * now live), and the same id commits again. A read_committed reader, on that node and then on a single broker over the same
 * dir, gets exactly the committed records, and read_uncommitted shows the aborted ones were written.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { Kafka, logLevel } from "kafkajs";
import { Broker } from "../../src/broker/broker.ts";
import { BrokerConfig } from "../../src/broker/config.ts";
import { Admin } from "../../src/client/admin.ts";
import { Consumer, type ConsumerRecord } from "../../src/client/consumer.ts";
import { startShardedNode } from "../../src/shard/sharded-node.ts";
import { tempDataDir } from "./support.ts";

const TOPIC = "payments";
const PARTITIONS = 4;
const quiet = { info: () => {}, warn: () => {}, error: (m: string) => console.error(m) };

function settings(dir: string, shards: number): BrokerConfig {
  return new BrokerConfig(new Map(Object.entries({
    "listeners": "PLAINTEXT://127.0.0.1:0",
    "log.dirs": dir,
    "runnel.shards": String(shards),
    "offsets.topic.num.partitions": "4",
    "transaction.state.log.num.partitions": "4",
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": "200",
    "group.initial.rebalance.delay.ms": "0",
  })));
}

const kafka = (port: number) => new Kafka({ clientId: "txn-shards", brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } });
const batch = (prefix: string) => Array.from({ length: 40 }, (_, i) => ({ value: `${prefix}-${i}`, partition: i % PARTITIONS }));

/** Everything readable with `isolation` up to each partition's end (high watermark), values sorted. */
async function readToEnd(bootstrap: string, isolation: "read_committed" | "read_uncommitted"): Promise<string[]> {
  const admin = new Admin({ bootstrap });
  await admin.connect();
  const ends = await admin.topicOffsets(TOPIC);
  await admin.close();
  const c = new Consumer({ bootstrap, autoOffsetReset: "earliest", fetchMaxWaitMs: 50, isolationLevel: isolation });
  await c.connect();
  c.assign(ends.map((e) => ({ topic: TOPIC, partition: e.partition })));
  const got: ConsumerRecord[] = [];
  const done = () => ends.every((e) => (c.position(TOPIC, e.partition) ?? -1n) >= e.latest);
  const deadline = Date.now() + 60_000;
  while (!done() && Date.now() < deadline) got.push(...(await c.poll(100)));
  await c.close();
  assert.ok(done(), `read ${isolation} to the end of every partition`);
  return got.map((r) => new TextDecoder().decode(r.value!)).sort();
}

const values = (...prefixes: string[]) => prefixes.flatMap((p) => batch(p).map((m) => m.value)).sort();

test("a committed and an open transaction across shards, restarted with 3 shards and then 1 broker", { timeout: 240_000 }, async () => {
  const dir = tempDataDir();
  try {
    let node = await startShardedNode(settings(dir, 2), { logger: quiet });
    let k = kafka(node.port());
    const admin = k.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
    await admin.disconnect();
    const first = k.producer({ transactionalId: "payer", idempotent: true, maxInFlightRequests: 1, transactionTimeout: 2000 });
    await first.connect();
    const t1 = await first.transaction();
    await t1.send({ topic: TOPIC, messages: batch("committed-1") });
    await t1.commit();
    const t2 = await first.transaction();
    await t2.send({ topic: TOPIC, messages: batch("left-open") });
    await first.disconnect();
    await node.stop();

    node = await startShardedNode(settings(dir, 3), { logger: quiet });
    k = kafka(node.port());
    const second = k.producer({ transactionalId: "payer", idempotent: true, maxInFlightRequests: 1, transactionTimeout: 10_000 });
    await second.connect(); // InitProducerId waits (CONCURRENT_TRANSACTIONS) until the open one is aborted
    const t3 = await second.transaction();
    await t3.send({ topic: TOPIC, messages: batch("committed-3") });
    await t3.commit();
    await second.disconnect();
    const bootstrap = `127.0.0.1:${node.port()}`;
    assert.deepEqual(await readToEnd(bootstrap, "read_committed"), values("committed-1", "committed-3"));
    assert.deepEqual(await readToEnd(bootstrap, "read_uncommitted"), values("committed-1", "committed-3", "left-open"));
    await node.stop();

    const single = await Broker.start(settings(dir, 1), { logger: quiet });
    try {
      assert.deepEqual(await readToEnd(`127.0.0.1:${single.port}`, "read_committed"), values("committed-1", "committed-3"));
    } finally {
      await single.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
