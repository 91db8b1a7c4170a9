/** Exponential retry back-off: doubling from retry.backoff.ms to retry.backoff.max.ms, with bounded jitter. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ExponentialBackoff } from "../../src/client/backoff.ts";

test("back-off doubles per attempt up to the max (no jitter)", () => {
  const b = new ExponentialBackoff(100, 1000, 0);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 20].map((a) => b.backoffMs(a)), [100, 200, 400, 800, 1000, 1000, 1000]);
});

test("jitter scales each wait by [0.8, 1.2) and never exceeds the max", () => {
  const low = new ExponentialBackoff(100, 1000, 0.2, () => 0);
  const high = new ExponentialBackoff(100, 1000, 0.2, () => 0.999999);
  assert.equal(low.backoffMs(0), 80);
  assert.equal(high.backoffMs(0), 119);
  assert.equal(low.backoffMs(3), 640);
  assert.equal(high.backoffMs(3), 959);
  assert.equal(high.backoffMs(4), 1000, "capped at retry.backoff.max.ms");
  assert.equal(low.backoffMs(10), 1000, "1600 * 0.8 is still above the max");
});

test("a max below the initial back-off keeps the initial value", () => {
  const b = new ExponentialBackoff(500, 100, 0);
  assert.equal(b.backoffMs(0), 500);
  assert.equal(b.backoffMs(5), 500);
});

test("invalid arguments are rejected", () => {
  assert.throws(() => new ExponentialBackoff(-1));
  assert.throws(() => new ExponentialBackoff(100, 1000, 1));
  assert.throws(() => new ExponentialBackoff().backoffMs(-1));
});
