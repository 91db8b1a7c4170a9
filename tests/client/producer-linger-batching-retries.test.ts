/**
 * The producer against a scripted broker on a ManualClock: linger.ms holds records back exactly as long as
 * configured, batch.size sends full batches at once, retriable errors are retried after exponential back-off with
 * a metadata refresh, non-retriable errors and exhausted retries fail the records, buffer.memory applies
 * back-pressure, max.in.flight bounds the pipelined requests, acks=0 needs no response, and idempotent batches
 * keep their sequence numbers across retries.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import { RecordCursor } from "../../src/protocol/record-batch.ts";
import { Producer, type ProducerConfig, type RecordMetadata } from "../../src/client/producer.ts";
import { RecordTooLargeError } from "../../src/client/client-errors.ts";
import { ScriptedBroker, settle } from "./scripted-broker.ts";

async function setup(over: Partial<ProducerConfig> = {}, partitions = 1) {
  const clock = new ManualClock();
  const broker = new ScriptedBroker(() => clock.monotonicMs());
  broker.topics.set("t", partitions);
  const producer = new Producer({ bootstrap: "scripted:9092", dial: broker.dialer(), clock, random: () => 0.5, lingerMs: 100, ...over });
  await producer.connect();
  // Learn the topic's metadata first so sends append synchronously.
  await producer.cluster.waitForTopic("t", 1000);
  return { clock, broker, producer };
}

function values(bytes: Uint8Array): string[] {
  const out: string[] = [];
  const c = new RecordCursor().resetBatch(bytes, 0, bytes.length);
  while (c.next()) out.push(new TextDecoder().decode(c.value()!));
  return out;
}

test("records wait linger.ms and then go out together in one batch", async () => {
  const { clock, broker, producer } = await setup({ lingerMs: 100 });
  const results = [producer.send({ topic: "t", value: "a" }), producer.send({ topic: "t", value: "b" })];
  await settle();
  clock.advance(60);
  const third = producer.send({ topic: "t", value: "c" });
  await settle();
  clock.advance(39);
  await settle();
  assert.equal(broker.produces.length, 0, "nothing is sent before linger.ms");
  clock.advance(1);
  await settle();
  assert.equal(broker.produces.length, 1, "sent exactly at linger.ms");
  assert.equal(broker.produces[0].atMs, 100);
  assert.equal(broker.produces[0].batches.length, 1);
  assert.deepEqual(values(broker.produces[0].batches[0].bytes), ["a", "b", "c"]);
  const metas = await Promise.all([...results, third]);
  assert.deepEqual(metas.map((m: RecordMetadata) => m.offset), [0n, 1n, 2n]);
  assert.equal(metas[0].topic, "t");
  assert.equal(metas[0].partition, 0);
  await producer.close();
});

test("a batch whose linger.ms ends within half a millisecond goes out with the pass that sends an earlier one", async () => {
  // Timers fire in whole milliseconds; without the slack the second batch would wait for a timer of its own.
  const { clock, broker, producer } = await setup({ lingerMs: 100 }, 2);
  const first = producer.send({ topic: "t", value: "a", partition: 0 });
  await settle();
  clock.advance(0.4);
  const second = producer.send({ topic: "t", value: "b", partition: 1, timestamp: 1 });
  await settle();
  clock.advance(99.5);
  await settle();
  assert.equal(broker.produces.length, 0, "nothing before the first batch's linger.ms");
  clock.advance(0.1);
  await settle();
  assert.equal(broker.produces.length, 1, "one request at the first batch's linger.ms");
  assert.equal(broker.produces[0].atMs, 100);
  assert.deepEqual(broker.produces[0].batches.map((b) => b.partition).sort(), [0, 1], "the batch due 0.4 ms later rides along");
  await Promise.all([first, second]);
  await producer.close();
});

test("a batch whose linger.ms ends later than half a millisecond after a pass keeps waiting for it", async () => {
  const { clock, broker, producer } = await setup({ lingerMs: 100 }, 2);
  const first = producer.send({ topic: "t", value: "a", partition: 0 });
  await settle();
  clock.advance(0.6);
  const second = producer.send({ topic: "t", value: "b", partition: 1, timestamp: 1 });
  await settle();
  clock.advance(99.4);
  await settle();
  assert.equal(broker.produces.length, 1);
  assert.deepEqual(broker.produces[0].batches.map((b) => b.partition), [0]);
  clock.advance(0.5);
  await settle();
  assert.equal(broker.produces.length, 1, "the second batch is not sent early by a timer of its own");
  clock.advance(0.1);
  await settle();
  assert.equal(broker.produces.length, 2, "the second batch goes at its own linger.ms");
  assert.ok(Math.abs(broker.produces[1].atMs - 100.6) < 1e-9, `sent at ${broker.produces[1].atMs}`);
  assert.deepEqual(broker.produces[1].batches.map((b) => b.partition), [1]);
  await Promise.all([first, second]);
  await producer.close();
});

test("a batch that reaches batch.size is sent without waiting for linger.ms", async () => {
  const { clock, broker, producer } = await setup({ lingerMs: 60_000, batchSize: 1024 });
  const value = new Uint8Array(100);
  const sends: Promise<RecordMetadata>[] = [];
  for (let i = 0; i < 12; i++) sends.push(producer.send({ topic: "t", value }));
  await settle();
  assert.equal(broker.produces.length, 1, "the full batch went out with no time passing");
  const first = broker.produces[0].batches[0];
  assert.ok(first.bytes.length <= 1024);
  assert.equal(first.header.recordsCount, 8, "8 records of ~110 bytes fill a 1 KiB batch");
  clock.advance(59_999);
  await settle();
  assert.equal(broker.produces.length, 1, "the rest lingers");
  clock.advance(1);
  await settle();
  assert.equal(broker.produces.length, 2);
  assert.equal(broker.produces[1].batches[0].header.recordsCount, 4);
  const metas = await Promise.all(sends);
  assert.deepEqual(metas.map((m) => Number(m.offset)), [...Array(12).keys()]);
  await producer.close();
});

test("retriable errors are retried after exponential back-off with a metadata refresh", async () => {
  const { clock, broker, producer } = await setup({ lingerMs: 0, retryBackoffMs: 100, retryBackoffMaxMs: 1000 });
  broker.script = (_t, _p, _h, attempt) => (attempt < 2 ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.NONE);
  const metadataBefore = broker.metadataRequests;
  let meta: RecordMetadata | null = null;
  producer.send({ topic: "t", value: "x" }, (err, m) => {
    assert.equal(err, null);
    meta = m;
  });
  await settle();
  assert.equal(broker.produces.length, 1);
  assert.ok(broker.metadataRequests > metadataBefore, "NOT_LEADER_OR_FOLLOWER triggers a metadata refresh");
  // random() = 0.5 makes the jitter factor exactly 1: back-offs are 100 ms, then 200 ms.
  clock.advance(99);
  await settle();
  assert.equal(broker.produces.length, 1);
  clock.advance(1);
  await settle();
  assert.equal(broker.produces.length, 2, "first retry after 100 ms");
  clock.advance(199);
  await settle();
  assert.equal(broker.produces.length, 2);
  clock.advance(1);
  await settle();
  assert.equal(broker.produces.length, 3, "second retry after 200 ms");
  assert.notEqual(meta, null);
  assert.equal(meta!.offset, 0n);
  // The retried bytes are the very same batch.
  assert.deepEqual(broker.produces[2].batches[0].bytes, broker.produces[0].batches[0].bytes);
  await producer.close();
});

test("a non-retriable error fails the record without retrying", async () => {
  const { broker, producer } = await setup({ lingerMs: 0 });
  broker.script = () => ErrorCode.INVALID_RECORD;
  await assert.rejects(producer.send({ topic: "t", value: "x" }), (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.INVALID_RECORD);
  assert.equal(broker.produces.length, 1);
  await producer.close();
});

test("fire-and-forget records of a failed batch are counted in failedRecords, next to the ones with a callback", async () => {
  const { broker, producer } = await setup({ lingerMs: 100 });
  broker.script = () => ErrorCode.INVALID_RECORD;
  for (let i = 0; i < 5; i++) assert.equal(producer.sendAndForget({ topic: "t", value: `f${i}` }), true);
  const tracked = producer.send({ topic: "t", value: "tracked" });
  producer.sendAndForget({ topic: "t", value: "f5" });
  await assert.rejects(producer.flush().then(() => tracked), (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.INVALID_RECORD);
  assert.equal(broker.produces.length, 1, "one batch of 7 records");
  assert.equal(producer.failedRecords, 6, "the 6 records without a callback");
  assert.ok(producer.lastError instanceof KafkaError && producer.lastError.code === ErrorCode.INVALID_RECORD);
  await producer.close();
});

test("max.request.size refuses a record one byte over it as a batch of its own, and takes one at it", async () => {
  // A 930-byte value without key or headers: record body 937 bytes, record 939, batch 61 + 939 = 1000.
  const { producer } = await setup({ lingerMs: 0, maxRequestSize: 1000 });
  assert.equal(producer.sendAndForget({ topic: "t", value: new Uint8Array(930) }), true);
  assert.throws(() => producer.sendAndForget({ topic: "t", value: new Uint8Array(931) }), (e: unknown) => e instanceof RecordTooLargeError && /1001 bytes/.test(e.message));
  await producer.flush();
  assert.equal(producer.failedRecords, 0);
  await producer.close();
});

test("retries = N gives up after N retries", async () => {
  const { clock, broker, producer } = await setup({ lingerMs: 0, retries: 2, retryBackoffMs: 10 });
  broker.script = () => ErrorCode.NOT_ENOUGH_REPLICAS;
  let error = null as Error | null;
  producer.send({ topic: "t", value: "x" }, (e) => (error = e));
  for (let i = 0; i < 10; i++) {
    clock.advance(50);
    await settle();
  }
  assert.equal(broker.produces.length, 3, "first attempt + 2 retries");
  assert.ok(error instanceof KafkaError && (error as KafkaError).code === ErrorCode.NOT_ENOUGH_REPLICAS);
  await producer.close();
});

test("fire-and-forget reports back-pressure when buffer.memory is used up", async () => {
  const { clock, broker, producer } = await setup({ lingerMs: 1000, batchSize: 1024, bufferMemory: 2048 }, 4);
  broker.hold = true;
  const accepted: boolean[] = [];
  for (let p = 0; p < 4; p++) accepted.push(producer.sendAndForget({ topic: "t", value: "v", partition: p }));
  assert.deepEqual(accepted, [true, true, false, false], "two 1 KiB batches fill 2 KiB of buffer.memory");
  let capacity = false;
  void producer.waitForCapacity().then(() => (capacity = true));
  await settle();
  // Waiting for memory makes the open batches sendable at once.
  assert.equal(broker.produces.length, 1);
  assert.equal(capacity, false);
  broker.release();
  await settle();
  assert.equal(capacity, true, "the waiting records were appended once memory was freed");
  clock.advance(1000);
  await settle();
  broker.release();
  await producer.flush();
  let total = 0;
  for (const p of broker.produces) for (const b of p.batches) total += b.header.recordsCount;
  assert.equal(total, 4);
  assert.equal(producer.failedRecords, 0);
  await producer.close();
});

test("a record waiting for memory longer than max.block.ms fails", async () => {
  const { clock, broker, producer } = await setup({ lingerMs: 0, batchSize: 1024, bufferMemory: 1024, maxBlockMs: 500 }, 2);
  broker.hold = true;
  const first = producer.send({ topic: "t", value: "a", partition: 0 });
  const second = producer.send({ topic: "t", value: "b", partition: 1 });
  await settle();
  clock.advance(500);
  await settle();
  await assert.rejects(second, /max\.block\.ms/);
  broker.release();
  await first;
  await producer.close();
});

test("no more than max.in.flight.requests.per.connection Produce requests are outstanding", async () => {
  const { broker, producer } = await setup({ lingerMs: 0, batchSize: 100, maxInFlightRequestsPerConnection: 2 });
  broker.hold = true;
  const sends: Promise<RecordMetadata>[] = [];
  for (let i = 0; i < 6; i++) sends.push(producer.send({ topic: "t", value: new Uint8Array(60) }));
  await settle();
  assert.equal(broker.produces.length, 2);
  assert.equal(broker.heldCount, 2);
  for (let round = 0; round < 4 && broker.heldCount > 0; round++) {
    broker.release();
    await settle();
    assert.ok(broker.heldCount <= 2);
  }
  broker.hold = false;
  broker.release();
  const metas = await Promise.all(sends);
  assert.deepEqual(metas.map((m) => Number(m.offset)), [0, 1, 2, 3, 4, 5], "order is kept");
  await producer.close();
});

test("an instrument hears when ready batches wait for the in-flight window and when each request goes out", async () => {
  const events: string[] = [];
  const instrument = {
    requestSent: (batches: readonly { recordCount: number }[]) => void events.push(`sent ${batches.map((b) => b.recordCount).join("+")}`),
    timerFired: () => {},
    windowFull: () => void events.push("window full"),
  };
  const { broker, producer } = await setup({ lingerMs: 0, batchSize: 100, maxInFlightRequestsPerConnection: 1, instrument });
  broker.hold = true;
  const sends = [producer.send({ topic: "t", value: new Uint8Array(60) }), producer.send({ topic: "t", value: new Uint8Array(60) })];
  await settle();
  assert.deepEqual(events, ["sent 1", "window full"], "the second batch is ready but the only slot is taken");
  broker.hold = false;
  broker.release();
  await Promise.all(sends);
  assert.deepEqual(events.slice(2), ["sent 1"], "the answer frees the slot and the waiting batch goes");
  await producer.close();
});

test("acks=0 completes without a response, with unknown offsets", async () => {
  const { broker, producer } = await setup({ lingerMs: 0, acks: 0 });
  const meta = await producer.send({ topic: "t", value: "x" });
  assert.equal(meta.offset, -1n);
  assert.equal(broker.produces[0].acks, 0);
  await producer.close();
});

test("keyless records move to another partition only when the sticky partition's batch is full, leaving no part-filled batch to linger", async () => {
  // batch.size 200: a batch holds 3 records of a 30-byte value (61 + 3 x 37 bytes). The sticky partition is left
  // after batch.size value bytes only when the next record would open a new batch there (KIP-794); leaving it
  // after 7 records (210 bytes) would strand a 1-record batch until linger.ms on every partition left.
  const { clock, broker, producer } = await setup({ lingerMs: 60_000, batchSize: 200 }, 4);
  const value = new Uint8Array(30);
  const sends: Promise<RecordMetadata>[] = [];
  for (let i = 0; i < 20; i++) sends.push(producer.send({ topic: "t", value }));
  await settle();
  const early = broker.produces.flatMap((p) => p.batches);
  assert.deepEqual(early.map((b) => b.header.recordsCount), [3, 3, 3, 3, 3, 3], "only full batches go out before linger.ms");
  assert.equal(new Set(early.map((b) => b.partition)).size, 2, "three full batches on each of two partitions");
  clock.advance(60_000);
  await settle();
  const late = broker.produces.flatMap((p) => p.batches).slice(early.length);
  assert.deepEqual(late.map((b) => b.header.recordsCount), [2], "at linger.ms only the open batch of the current partition is left");
  await Promise.all(sends);
  await producer.close();
});

test("keys pick partitions with murmur2; keyless records stick to one partition", async () => {
  const { broker, producer } = await setup({ lingerMs: 0 }, 8);
  const m1 = await producer.send({ topic: "t", key: "21", value: "x" });
  assert.equal(m1.partition, (-973932308 & 0x7fffffff) % 8);
  const parts = new Set<number>();
  for (let i = 0; i < 5; i++) parts.add((await producer.send({ topic: "t", value: "y" })).partition);
  assert.equal(parts.size, 1);
  assert.ok(broker.produces.length >= 6);
  await producer.close();
});

test("idempotent retries resend the same sequence numbers", async () => {
  const { clock, broker, producer } = await setup({ lingerMs: 0, enableIdempotence: true, retryBackoffMs: 10 });
  assert.equal(broker.initProducerIdRequests, 1);
  broker.script = (_t, _p, _h, attempt) => (attempt === 0 ? ErrorCode.REQUEST_TIMED_OUT : ErrorCode.NONE);
  const sent = producer.send({ topic: "t", value: "x" });
  await settle();
  clock.advance(10);
  await settle();
  await sent;
  const [a, b] = broker.produces.map((p) => p.batches[0].header);
  assert.equal(a.producerId, 4242n);
  assert.equal(a.producerEpoch, 3);
  assert.equal(a.baseSequence, 0);
  assert.equal(b.baseSequence, 0, "the retry keeps its sequence");
  const next = await producer.send({ topic: "t", value: "y" });
  assert.equal(next.offset, 1n);
  assert.equal(broker.produces.at(-1)!.batches[0].header.baseSequence, 1);
  await producer.close();
});

test("sending to a partition the topic does not have fails at once", async () => {
  const { producer } = await setup({ lingerMs: 0 }, 2);
  await assert.rejects(producer.send({ topic: "t", value: "x", partition: 5 }), /partition 5/);
  assert.throws(() => producer.sendAndForget({ topic: "t", value: "x", partition: 5 }), /partition 5/);
  await producer.close();
});
