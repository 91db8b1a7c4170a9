/**
 * A paced `runnel bench` load (`--throughput`, as `bench e2e` runs it) sends record i at its start + i/rate and not
 * before: the stamps read back from the broker, in send order, are each at or after their record's due time. Until
 * 2026-12-05 the loop sent every record due within the next 1 ms at once and then slept on a timer, so the second
 * record already left up to 1 ms early (and records waited in their batch for the next such burst).
 */
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { Consumer } from "../../src/client/consumer.ts";
import { LoadMeter } from "../../src/bench/load-meter.ts";
import { connectProducers, ensureTopic, pacingWait, runProduceLoad, type ProduceLoadSettings } from "../../src/bench/produce-load.ts";
import { readStamp } from "../../src/bench/payloads.ts";

let broker: TestBroker;

before(async () => {
  broker = await startTestBroker();
});

after(async () => {
  await broker?.stop();
});

test("a paced load sends each record at or after its due time, read back through the broker", { timeout: 120_000 }, async () => {
  const rate = 20_000;
  const records = 2_000;
  const topic = "paced";
  await ensureTopic(broker.bootstrap, "paced-test", topic, 2);
  const s: ProduceLoadSettings = {
    bootstrap: broker.bootstrap,
    clientId: "paced-test",
    topic,
    records,
    durationMs: 0,
    recordSize: 16,
    producers: 1,
    batchSize: 16_384,
    lingerMs: 5,
    compression: "none",
    acks: -1,
    throughput: rate,
    maxInFlight: 5,
    bufferMemory: 32 * 1024 * 1024,
    maxRequestSize: 1_048_576,
    latencyEvery: 1,
    stamp: true,
  };
  const producers = await connectProducers(s);
  let result;
  try {
    result = await runProduceLoad(s, producers, new LoadMeter(), { stopped: false });
  } finally {
    await Promise.all(producers.map((p) => p.close()));
  }
  assert.equal(result.records, records);
  assert.equal(result.errors, 0);
  assert.ok(Number.isFinite(result.startedAtMs), "the load says when it started");

  const c = new Consumer({ bootstrap: broker.bootstrap, fetchMaxWaitMs: 100, autoOffsetReset: "earliest" });
  await c.connect();
  const stamps: number[] = [];
  try {
    c.assign([0, 1].map((partition) => ({ topic, partition })));
    const deadline = Date.now() + 30_000;
    while (stamps.length < records && Date.now() < deadline) for (const r of await c.poll(200)) stamps.push(readStamp(r.value!));
  } finally {
    await c.close();
  }
  assert.equal(stamps.length, records);
  stamps.sort((a, b) => a - b);
  const early = [];
  for (let i = 0; i < records; i++) {
    const due = result.startedAtMs + (i * 1000) / rate;
    if (stamps[i] < due) early.push(`record ${i} sent ${(due - stamps[i]).toFixed(3)} ms before its due time`);
  }
  assert.deepEqual(early.slice(0, 5), [], `${early.length} of ${records} records left early`);
});

test("the pacing step sends only what is due, pauses below a timer tick and sleeps on a timer beyond", () => {
  assert.deepEqual(pacingWait(0), { kind: "send" });
  assert.deepEqual(pacingWait(-3), { kind: "send" });
  for (const ahead of [0.001, 0.05, 0.5, 1.5]) {
    const w = pacingWait(ahead);
    assert.equal(w.kind, "pause", `ahead ${ahead} ms`);
    assert.ok(w.kind === "pause" && w.ms > 0 && w.ms < 1, `a pause is shorter than a timer tick: ${JSON.stringify(w)}`);
  }
  const far = pacingWait(10);
  assert.ok(far.kind === "timer" && far.ms > 0 && far.ms < 10, JSON.stringify(far));
});
