/**
 * `runnel bench produce|consume|e2e` against a test broker, briefly: the text report carries throughput and the
 * latency percentiles, `--json` is one valid JSON document with the same figures, consume reads back what was
 * produced, and bad usage exits 2.
 */
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { runnel } from "./run-cli.ts";
import { ALLOCATOR_PURGE_DELAY_ENV, SHARDED_PURGE_DELAY_MS } from "../../src/platform/allocator-settings.ts";

let broker: TestBroker;
let b: string[];

before(async () => {
  broker = await startTestBroker();
  b = ["-b", broker.bootstrap, "--progress-ms", "0"];
});

after(async () => {
  await broker?.stop();
});

const LATENCY_KEYS = ["count", "mean", "min", "p50", "p90", "p99", "p999", "max"];

test("bench produce prints records/s, MB/s and p50/p90/p99/p99.9/max send-to-ack latency", async () => {
  const r = await runnel(["bench", "produce", "-t", "bench-text", "-n", "5000", "-s", "100", "--acks", "1", "--linger-ms", "1", ...b]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^runnel bench produce: topic=bench-text partitions=4 records=5000 recordSize=100 .*acks=1 /m);
  assert.match(r.stdout, /^produce: 5,000 records in [\d.]+ s: [\d,.]+ records\/s, [\d,.]+ MB\/s$/m);
  assert.match(r.stdout, /send-to-ack latency \(ms\): mean [\d.]+ {2}p50 [\d.]+ {2}p90 [\d.]+ {2}p99 [\d.]+ {2}p99\.9 [\d.]+ {2}max [\d.]+ {2}\(5,000 samples\)/);
});

test("bench produce and consume --json are valid JSON with matching counts", async () => {
  const p = await runnel(["bench", "produce", "-t", "bench-json", "-P", "2", "-n", "4000", "-s", "64", "--acks", "all", "-z", "lz4", "--latency-every", "4", "--json", ...b]);
  assert.equal(p.code, 0, p.stderr);
  const pr = JSON.parse(p.stdout);
  assert.equal(pr.kind, "produce");
  assert.equal(pr.settings.partitions, 2);
  assert.equal(pr.settings.acks, "all");
  assert.equal(pr.settings.compression, "lz4");
  assert.equal(pr.produce.records, 4000);
  assert.equal(pr.produce.bytes, 4000 * 64);
  assert.equal(pr.produce.errors, 0);
  assert.ok(pr.produce.recordsPerSec > 0 && pr.produce.mbPerSec > 0);
  assert.deepEqual(Object.keys(pr.produce.latencyMs), LATENCY_KEYS);
  assert.equal(pr.produce.latencyMs.count, 1000);
  const l = pr.produce.latencyMs;
  assert.ok(l.min <= l.p50 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max, JSON.stringify(l));
  assert.equal(pr.consume, null);

  const c = await runnel(["bench", "consume", "-t", "bench-json", "--json", ...b]);
  assert.equal(c.code, 0, c.stderr);
  const cr = JSON.parse(c.stdout);
  assert.equal(cr.kind, "consume");
  assert.equal(cr.consume.records, 4000);
  assert.equal(cr.consume.bytes, 4000 * 64);
  assert.ok(cr.consume.recordsPerSec > 0);
  assert.equal(cr.produce, null);
});

/** The client-side breakdown covers every record, and per record its two consumer-side parts add up to the whole. */
function checkBreakdown(e: { e2eLatencyMs: { mean: number; count: number }; e2eBreakdownMs: Record<string, { count: number; mean: number } | number> }, records: number): void {
  const b = e.e2eBreakdownMs as Record<string, { count: number; mean: number }>;
  assert.equal(b.producerBatchAge.count, records, "every record's batch was timed when its Produce was sent");
  assert.equal(b.producerBeyondLinger.count, records);
  assert.equal(b.sendToFetchResponse.count, records);
  assert.equal(b.inConsumer.count, records);
  const sum = b.sendToFetchResponse.mean + b.inConsumer.mean;
  assert.ok(Math.abs(sum - e.e2eLatencyMs.mean) < 0.01, `parts ${sum} vs end-to-end ${e.e2eLatencyMs.mean}`);
  assert.ok((e.e2eBreakdownMs.produceRequests as number) > 0);
  assert.ok((e.e2eBreakdownMs.producerCpuS as number) > 0 && (e.e2eBreakdownMs.consumerCpuS as number) > 0);
  assert.ok(b.producerLoopLag.count > 0 && b.consumerLoopLag.count > 0, "both event loops were probed");
  assert.ok(b.producerWindowStalls.count >= 0 && b.producerTimerLate.count >= 0);
}

test("bench e2e at a fixed rate reports end-to-end latency for every record, consumed in a child process", async () => {
  const r = await runnel(["bench", "e2e", "-t", "bench-e2e", "--throughput", "5000", "-n", "2500", "--acks", "all", "--json", ...b]);
  assert.equal(r.code, 0, r.stderr);
  const e = JSON.parse(r.stdout);
  assert.equal(e.kind, "e2e");
  assert.equal(e.settings.consumerProcess, true);
  // The load processes run with the allocator's purge delay (a value from the environment is kept).
  if ((globalThis as { Bun?: unknown }).Bun !== undefined && process.platform === "linux") {
    assert.equal(e.settings.allocatorPurgeDelayMs, process.env[ALLOCATOR_PURGE_DELAY_ENV] ?? String(SHARDED_PURGE_DELAY_MS));
  }
  // The two processes' clocks were lined up over the pipe; half the best round trip bounds the error.
  assert.ok(e.settings.clockSyncErrorMs >= 0 && e.settings.clockSyncErrorMs < 1000, String(e.settings.clockSyncErrorMs));
  assert.equal(e.produce.records, 2500);
  assert.equal(e.consume.records, 2500);
  assert.equal(e.e2eLatencyMs.count, 2500);
  // Paced at 5000/s, 2500 records take about half a second. Latencies are positive: the stamps of one process
  // were read on the other's clock plus the measured offset (not on a clock starting at another moment).
  assert.ok(e.produce.seconds >= 0.4, `took ${e.produce.seconds}s`);
  assert.ok(e.e2eLatencyMs.min > 0 && e.e2eLatencyMs.p50 > 0 && e.e2eLatencyMs.p50 < 5000, JSON.stringify(e.e2eLatencyMs));
  checkBreakdown(e, 2500);
});

test("bench e2e --in-process consumes on the producer's thread", async () => {
  const r = await runnel(["bench", "e2e", "-t", "bench-e2e-one", "--throughput", "5000", "-n", "2500", "--acks", "all", "--in-process", "--json", ...b]);
  assert.equal(r.code, 0, r.stderr);
  const e = JSON.parse(r.stdout);
  assert.equal(e.kind, "e2e");
  assert.equal(e.settings.consumerProcess, false);
  assert.equal(e.produce.records, 2500);
  assert.equal(e.consume.records, 2500);
  assert.equal(e.e2eLatencyMs.count, 2500);
  // Paced at 5000/s, 2500 records take about half a second.
  assert.ok(e.produce.seconds >= 0.4, `took ${e.produce.seconds}s`);
  assert.ok(e.e2eLatencyMs.p50 > 0 && e.e2eLatencyMs.p50 < 5000);
  checkBreakdown(e, 2500);
});

test("bench usage errors exit 2", async () => {
  const none = await runnel(["bench", ...b]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /bench needs produce, consume or e2e/);
  const bad = await runnel(["bench", "produce", "--acks", "2", ...b]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--acks must be 0, 1 or all/);
  const help = await runnel(["bench", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /runnel bench produce\|consume\|e2e/);
});
