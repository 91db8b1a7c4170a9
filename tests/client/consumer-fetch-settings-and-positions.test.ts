/**
 * Runnel's consumer against a real broker without a group: auto.offset.reset (earliest, latest, none), seek,
 * seekToTimestamp/End, out-of-range positions, fetch.min.bytes with fetch.max.wait.ms (a long poll that wakes
 * on new data, and one that waits for more bytes), max.partition.fetch.bytes smaller than a batch,
 * max.poll.records, pause/resume, and standalone commits (group id with assign()).
 */
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { Consumer, type ConsumerConfig, type ConsumerRecord } from "../../src/client/consumer.ts";
import { Producer } from "../../src/client/producer.ts";
import { Admin } from "../../src/client/admin.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";

let broker: TestBroker;
let producer: Producer;
let admin: Admin;
const dec = new TextDecoder();

before(async () => {
  broker = await startTestBroker({ "num.partitions": "1" });
  producer = new Producer({ bootstrap: broker.bootstrap, lingerMs: 0 });
  await producer.connect();
  admin = new Admin({ bootstrap: broker.bootstrap });
  await admin.connect();
});

after(async () => {
  await producer?.close();
  await admin?.close();
  await broker?.stop();
});

async function fill(topic: string, n: number, partitions = 1, timestamp?: (i: number) => number): Promise<void> {
  await admin.createTopics([{ name: topic, numPartitions: partitions }]);
  const sends = [];
  for (let i = 0; i < n; i++) sends.push(producer.send({ topic, value: `v${i}`, partition: i % partitions, timestamp: timestamp?.(i) }));
  await Promise.all(sends);
}

async function consumer(over: Partial<ConsumerConfig> = {}): Promise<Consumer> {
  const c = new Consumer({ bootstrap: broker.bootstrap, fetchMaxWaitMs: 100, ...over });
  await c.connect();
  return c;
}

async function pollUntil(c: Consumer, n: number, ms = 10_000): Promise<ConsumerRecord[]> {
  const out: ConsumerRecord[] = [];
  const deadline = Date.now() + ms;
  while (out.length < n && Date.now() < deadline) out.push(...(await c.poll(200)));
  return out;
}

const values = (rs: ConsumerRecord[]) => rs.map((r) => dec.decode(r.value!));

test("auto.offset.reset earliest starts at the log start, latest at the end", async () => {
  await fill("reset", 10);
  const early = await consumer({ autoOffsetReset: "earliest" });
  early.assign([{ topic: "reset", partition: 0 }]);
  assert.deepEqual(values(await pollUntil(early, 10)), Array.from({ length: 10 }, (_, i) => `v${i}`));
  await early.close();

  const late = await consumer({ autoOffsetReset: "latest" });
  late.assign([{ topic: "reset", partition: 0 }]);
  assert.deepEqual(await late.poll(300), []);
  assert.equal(late.position("reset", 0), 10n);
  await producer.send({ topic: "reset", value: "after" });
  assert.deepEqual(values(await pollUntil(late, 1)), ["after"]);
  await late.close();
});

test("auto.offset.reset none fails a poll that has no committed position", async () => {
  await fill("reset-none", 1);
  const c = await consumer({ autoOffsetReset: "none", groupId: "none-group" });
  c.assign([{ topic: "reset-none", partition: 0 }]);
  await assert.rejects(c.poll(500), (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.OFFSET_OUT_OF_RANGE);
  await c.close();
});

test("seek, seekToEnd and seekToTimestamp move the position", async () => {
  const base = 1_600_000_000_000;
  await fill("seeks", 20, 1, (i) => base + i * 1000);
  const c = await consumer({ autoOffsetReset: "earliest" });
  c.assign([{ topic: "seeks", partition: 0 }]);
  c.seek("seeks", 0, 15n);
  assert.deepEqual(values(await pollUntil(c, 5)), ["v15", "v16", "v17", "v18", "v19"]);
  c.seekToTimestamp(base + 7500);
  assert.deepEqual(values(await pollUntil(c, 1)).slice(0, 1), ["v8"]);
  c.seekToEnd();
  assert.deepEqual(await c.poll(300), []);
  assert.equal(c.position("seeks", 0), 20n);
  c.seekToBeginning();
  const again = await pollUntil(c, 20);
  assert.equal(again.length, 20);
  assert.equal(again[3].timestamp, base + 3000);
  await c.close();
});

test("a position past the log end is reset by auto.offset.reset", async () => {
  await fill("out-of-range", 3);
  const c = await consumer({ autoOffsetReset: "earliest" });
  c.assign([{ topic: "out-of-range", partition: 0 }]);
  c.seek("out-of-range", 0, 1000n);
  assert.deepEqual(values(await pollUntil(c, 3)), ["v0", "v1", "v2"]);
  await c.close();
  const strict = await consumer({ autoOffsetReset: "none" });
  strict.assign([{ topic: "out-of-range", partition: 0 }]);
  strict.seek("out-of-range", 0, 1000n);
  await assert.rejects(pollUntil(strict, 1, 3000), (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.OFFSET_OUT_OF_RANGE);
  await strict.close();
});

test("a long poll wakes up when a record arrives (fetch.min.bytes 1, fetch.max.wait.ms 3000)", async () => {
  await fill("long-poll", 0);
  const c = await consumer({ autoOffsetReset: "latest", fetchMaxWaitMs: 3000, fetchMinBytes: 1 });
  c.assign([{ topic: "long-poll", partition: 0 }]);
  await c.poll(200); // positions initialised, first fetch parked at the broker
  const started = Date.now();
  setTimeout(() => void producer.send({ topic: "long-poll", value: "wake" }), 300);
  const got = await pollUntil(c, 1, 5000);
  const took = Date.now() - started;
  assert.deepEqual(values(got), ["wake"]);
  assert.ok(took < 2500, `took ${took} ms: the fetch waited for max wait instead of returning on new data`);
  await c.close();
});

test("fetch.min.bytes makes the broker hold a small record until fetch.max.wait.ms", async () => {
  await fill("min-bytes", 0);
  const c = await consumer({ autoOffsetReset: "latest", fetchMaxWaitMs: 1000, fetchMinBytes: 1_000_000 });
  c.assign([{ topic: "min-bytes", partition: 0 }]);
  await c.poll(100);
  await new Promise((r) => setTimeout(r, 1200)); // let the first (empty) long poll finish
  await c.poll(10);
  const sentAt = Date.now();
  await producer.send({ topic: "min-bytes", value: "small" });
  const got = await pollUntil(c, 1, 5000);
  const took = Date.now() - sentAt;
  assert.deepEqual(values(got), ["small"]);
  assert.ok(took >= 300, `returned after ${took} ms: fetch.min.bytes was not honoured`);
  await c.close();
});

test("max.partition.fetch.bytes below the batch size still makes progress, max.poll.records caps each poll", async () => {
  await admin.createTopics([{ name: "big-batches", numPartitions: 1 }]);
  const big = new Producer({ bootstrap: broker.bootstrap, lingerMs: 50, batchSize: 64 * 1024 });
  await big.connect();
  const sends = [];
  for (let i = 0; i < 300; i++) sends.push(big.send({ topic: "big-batches", value: `${i}:${"z".repeat(200)}` }));
  await Promise.all(sends);
  await big.close();
  const c = await consumer({ autoOffsetReset: "earliest", maxPartitionFetchBytes: 1024, maxPollRecords: 7 });
  c.assign([{ topic: "big-batches", partition: 0 }]);
  const out: ConsumerRecord[] = [];
  const deadline = Date.now() + 15_000;
  while (out.length < 300 && Date.now() < deadline) {
    const b = await c.poll(200);
    assert.ok(b.length <= 7);
    out.push(...b);
  }
  assert.deepEqual(out.map((r) => Number(r.offset)), Array.from({ length: 300 }, (_, i) => i));
  await c.close();
});

test("paused partitions are not returned until resumed", async () => {
  await fill("pausing", 10, 2);
  const c = await consumer({ autoOffsetReset: "earliest" });
  c.assign([{ topic: "pausing", partition: 0 }, { topic: "pausing", partition: 1 }]);
  c.pause([{ topic: "pausing", partition: 1 }]);
  const first = await pollUntil(c, 5, 2000);
  await c.poll(300);
  assert.ok(first.every((r) => r.partition === 0));
  c.resume([{ topic: "pausing", partition: 1 }]);
  const rest = await pollUntil(c, 5);
  assert.ok(rest.length === 5 && rest.every((r) => r.partition === 1));
  await c.close();
});

test("with a group id, assign() commits standalone and a new consumer resumes from the commit", async () => {
  await fill("standalone", 10);
  const a = await consumer({ groupId: "standalone-group", autoOffsetReset: "earliest", enableAutoCommit: false });
  a.assign([{ topic: "standalone", partition: 0 }]);
  const got = await pollUntil(a, 4);
  a.seek("standalone", 0, got[3].offset + 1n);
  await a.commit();
  assert.deepEqual(await a.committed([{ topic: "standalone", partition: 0 }]), [4n]);
  await a.close();
  const b = await consumer({ groupId: "standalone-group", autoOffsetReset: "latest" });
  b.assign([{ topic: "standalone", partition: 0 }]);
  assert.deepEqual(values(await pollUntil(b, 6)), ["v4", "v5", "v6", "v7", "v8", "v9"]);
  await b.close();
  const offsets = await admin.groupOffsets("standalone-group");
  assert.deepEqual(offsets.map((o) => [o.topic, o.partition, o.offset]), [["standalone", 0, 10n]], "auto commit on close stored the final position");
});
