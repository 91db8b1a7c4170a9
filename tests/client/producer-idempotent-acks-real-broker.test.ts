/**
 * Producer settings against a real Runnel broker: an idempotent producer (InitProducerId, per-partition sequence
 * numbers) writes every record exactly once in order; acks=0 and acks=1 deliver; a record over the broker's
 * max.message.bytes fails with MESSAGE_TOO_LARGE instead of being retried; a producer to an unreachable broker
 * fails its connect clearly.
 */
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { Producer } from "../../src/client/producer.ts";
import { Consumer, type ConsumerRecord } from "../../src/client/consumer.ts";
import { Admin } from "../../src/client/admin.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import { ConnectionError } from "../../src/client/client-errors.ts";

let broker: TestBroker;
let admin: Admin;

before(async () => {
  broker = await startTestBroker({ "num.partitions": "3" });
  admin = new Admin({ bootstrap: broker.bootstrap });
  await admin.connect();
});

after(async () => {
  await admin?.close();
  await broker?.stop();
});

async function readAll(topic: string, n: number): Promise<ConsumerRecord[]> {
  const [info] = await admin.describeTopics([topic]);
  const c = new Consumer({ bootstrap: broker.bootstrap, autoOffsetReset: "earliest", fetchMaxWaitMs: 100 });
  await c.connect();
  c.assign(info.partitions.map((p) => ({ topic, partition: p.partition })));
  const out: ConsumerRecord[] = [];
  const deadline = Date.now() + 20_000;
  while (out.length < n && Date.now() < deadline) out.push(...(await c.poll(200)));
  await c.poll(300).then((extra) => out.push(...extra));
  await c.close();
  return out;
}

test("an idempotent producer (InitProducerId, sequence numbers) writes each record once, in order", async () => {
  await admin.createTopics([{ name: "idem", numPartitions: 3 }]);
  const p = new Producer({ bootstrap: broker.bootstrap, enableIdempotence: true, lingerMs: 2, batchSize: 2048, maxInFlightRequestsPerConnection: 5 });
  await p.connect();
  const sends = [];
  for (let i = 0; i < 2000; i++) sends.push(p.send({ topic: "idem", key: `k${i % 50}`, value: `${i}` }));
  const metas = await Promise.all(sends);
  await p.close();
  const got = await readAll("idem", 2000);
  assert.equal(got.length, 2000, "no duplicates, nothing lost");
  for (const part of [0, 1, 2]) {
    const values = got.filter((r) => r.partition === part).map((r) => Number(new TextDecoder().decode(r.value!)));
    const sorted = [...values].sort((a, b) => a - b);
    assert.deepEqual(values, sorted, `partition ${part} keeps send order`);
  }
  for (let i = 0; i < metas.length; i++) assert.ok(metas[i].offset >= 0n);
});

test("acks=0 and acks=1 deliver records", async () => {
  for (const acks of [0, 1] as const) {
    const topic = `acks-${acks}`;
    await admin.createTopics([{ name: topic, numPartitions: 1 }]);
    const p = new Producer({ bootstrap: broker.bootstrap, acks, lingerMs: 0 });
    await p.connect();
    const metas = await Promise.all(Array.from({ length: 50 }, (_, i) => p.send({ topic, value: `a${i}` })));
    await p.close();
    if (acks === 0) assert.ok(metas.every((m) => m.offset === -1n));
    else assert.deepEqual(metas.map((m) => Number(m.offset)), Array.from({ length: 50 }, (_, i) => i));
    assert.equal((await readAll(topic, 50)).length, 50);
  }
});

test("a record over the topic's max.message.bytes fails without retries", async () => {
  await admin.createTopics([{ name: "small-max", numPartitions: 1, configs: { "max.message.bytes": "1000" } }]);
  const p = new Producer({ bootstrap: broker.bootstrap, lingerMs: 0 });
  await p.connect();
  const started = Date.now();
  await assert.rejects(p.send({ topic: "small-max", value: new Uint8Array(5000) }), (e: unknown) => e instanceof KafkaError && (e.code === ErrorCode.MESSAGE_TOO_LARGE || e.code === ErrorCode.RECORD_LIST_TOO_LARGE));
  assert.ok(Date.now() - started < 5000, "not retried until delivery.timeout.ms");
  const ok = await p.send({ topic: "small-max", value: new Uint8Array(100) });
  assert.equal(ok.offset, 0n);
  await p.close();
});

test("connecting to an unreachable broker fails with a ConnectionError", async () => {
  const p = new Producer({ bootstrap: "127.0.0.1:1", connectTimeoutMs: 2000 });
  await assert.rejects(p.connect(), (e: unknown) => e instanceof ConnectionError && /127\.0\.0\.1:1/.test(e.message));
  await p.close();
});
