/**
 * The bench latency histogram: percentiles within 0.1% of the exact ones, exact min/max/mean, merging,
 * resetting, clamping of huge values, and the millisecond summary.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { LatencyHistogram, MAX_TRACKABLE_MICROS } from "../../src/bench/latency-histogram.ts";

function exactPercentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

test("percentiles are within 0.1% of the exact values over a wide range", () => {
  const h = new LatencyHistogram();
  const values: number[] = [];
  let seed = 12345;
  for (let i = 0; i < 100_000; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    // Log-uniform between 1 us and about 10 s.
    const v = Math.ceil(Math.exp((seed / 2 ** 32) * Math.log(1e7)));
    values.push(v);
    h.record(v);
  }
  values.sort((a, b) => a - b);
  for (const p of [1, 10, 50, 90, 99, 99.9, 99.99, 100]) {
    const exact = exactPercentile(values, p);
    const got = h.percentile(p);
    assert.ok(got >= exact && got <= exact * 1.001 + 1, `p${p}: got ${got}, exact ${exact}`);
  }
  assert.equal(h.count, 100_000);
  assert.equal(h.max, values[values.length - 1]);
  assert.equal(h.min, values[0]);
});

test("small values are exact; mean, min and max are exact", () => {
  const h = new LatencyHistogram();
  for (let v = 1; v <= 1000; v++) h.record(v);
  assert.equal(h.percentile(50), 500);
  assert.equal(h.percentile(99), 990);
  assert.equal(h.percentile(100), 1000);
  assert.equal(h.mean, 500.5);
  assert.equal(h.min, 1);
  assert.equal(h.max, 1000);
  const s = h.summary();
  assert.deepEqual(s, { count: 1000, mean: 0.501, min: 0.001, p50: 0.5, p90: 0.9, p99: 0.99, p999: 0.999, max: 1 });
});

test("add merges, reset empties, recordMany counts, huge values clamp", () => {
  const a = new LatencyHistogram();
  const b = new LatencyHistogram();
  a.recordMany(100, 99);
  b.record(50_000);
  a.add(b);
  assert.equal(a.count, 100);
  assert.equal(a.percentile(99), 100);
  assert.ok(Math.abs(a.percentile(100) - 50_000) <= 50);
  assert.equal(a.max, 50_000);
  a.reset();
  assert.equal(a.count, 0);
  assert.equal(a.percentile(50), 0);
  assert.equal(a.max, 0);
  a.record(-5);
  assert.equal(a.min, 0);
  a.record(MAX_TRACKABLE_MICROS * 4);
  assert.equal(a.max, MAX_TRACKABLE_MICROS * 4);
  assert.ok(a.percentile(100) <= a.max);
  assert.throws(() => a.percentile(101), RangeError);
});
