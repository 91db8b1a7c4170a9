/**
 * The event-loop lag probe records a deliberate stall of the loop in the `runnel_eventloop_lag_ms` histogram that
 * `/metrics` exports: the bucket holding the stall's length moves.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { RuntimeStats } from "../../src/http/metrics/runtime-stats.ts";
import { processMetrics } from "../../src/http/metrics/prometheus-page.ts";
import { PrometheusText } from "../../src/http/metrics/prometheus-text.ts";

const STALL_MS = 150;

/** Resolves once `pred` holds, checked on each 5 ms tick (fails after `limitMs`). */
async function until(pred: () => boolean, what: string, limitMs = 20_000): Promise<void> {
  const end = performance.now() + limitMs;
  while (!pred()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Samples above `ms` (exclusive) counted in the histogram. */
function samplesAbove(rt: RuntimeStats, ms: number): number {
  const h = rt.lagHistogram;
  let n = 0;
  for (let i = 0; i <= h.bounds.length; i++) if (i === h.bounds.length || h.bounds[i] > ms) n += h.counts[i];
  return n;
}

test("a 150 ms synchronous stall shows in runnel_eventloop_lag_ms and on the metrics page", async () => {
  const rt = new RuntimeStats(5);
  try {
    await until(() => rt.lagHistogram.count >= 2, "the first probes");
    const before = samplesAbove(rt, 100);
    const page0 = new PrometheusText();
    processMetrics(page0, rt);
    assert.match(page0.toString(), /^# TYPE runnel_eventloop_lag_ms histogram$/m);
    const count0 = Number(/^runnel_eventloop_lag_ms_count (\d+)$/m.exec(page0.toString())?.[1]);
    assert.ok(count0 >= 2);

    const start = performance.now();
    while (performance.now() - start < STALL_MS) {
      // hold the loop on purpose
    }
    await until(() => samplesAbove(rt, 100) > before, "the stall's sample");
    assert.ok(rt.maxLagMs >= 100, `max lag ${rt.maxLagMs} ms`);

    const page = new PrometheusText();
    processMetrics(page, rt);
    const text = page.toString();
    const bucket = (le: string): number => Number(new RegExp(`^runnel_eventloop_lag_ms_bucket\\{le="${le.replace("+", "\\+")}"\\} (\\d+)$`, "m").exec(text)?.[1]);
    assert.ok(bucket("+Inf") - bucket("100") >= 1, `a sample above 100 ms on the page:\n${text}`);
    assert.ok(Number(/^runnel_eventloop_lag_ms_count (\d+)$/m.exec(text)?.[1]) > count0);
  } finally {
    rt.stop();
  }
});
