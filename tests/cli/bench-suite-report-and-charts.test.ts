/**
 * The bench suite's report and charts, from synthetic results: every figure appears with its ratio to the peers
 * and limits, missed targets say by how much, and the SVG charts are well-formed with one bar or point per value.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { sideReport } from "../../src/bench/bench-report.ts";
import { ratio, renderReport } from "../../bench/suite/report.ts";
import type { SuiteResults } from "../../bench/suite/suite-results.ts";
import { barChart, niceTicks, scatterChart } from "../../bench/suite/svg-chart.ts";

const lat = { count: 10, mean: 1, min: 0.5, p50: 1, p90: 2, p99: 4, p999: 5, max: 6 };
const side = (recsPerSec: number, size: number) => sideReport(recsPerSec, recsPerSec * size, 1, 0, null, lat);

function results(): SuiteResults {
  return {
    when: "2026-01-01T00:00:00.000Z",
    suiteSeconds: 200,
    commit: "abc1234",
    machine: { cpus: 2, cpu: "test cpu", memGiB: 24, kernel: "6.0", loadAvgStart: [1, 1, 1], loadAvgEnd: [1, 1, 1] },
    versions: { runnel: "0.1.0" },
    settings: { produceSeconds: 3, consumeMaxRecords: 3_000_000, produceFlags: "-x", consumeFlags: "-y", e2eFlags: "-z", e2eRate: 100_000, e2eSeconds: 5, e2eRecordSize: 100, sweepSeconds: 1.5, sweepRate: 20_000 },
    limits: { tcpMBps: 2000, diskWriteMBps: 800, fdatasyncMs: { mean: 0.2, p50: 0.1, p99: 0.5, p999: 1 }, fdatasyncPerSec: 5000, notes: [] },
    startup: { runnel: { readyMs: 150, readyAllMs: [150], idleRssMB: 40 }, redis: { readyMs: 10, readyAllMs: [10], idleRssMB: 12 }, nats: null },
    ingest: { ingestMBps: 1200, fetchMBps: 2000, sinkMBps: 1500, fileWriteMBps: 900, newPageCpuPerGB: 2.5 },
    systems: {
      runnel: {
        produce: { "100B acks=1": side(1_200_000, 100), "100B acks=all": side(600_000, 100), "1KiB acks=1": side(300_000, 1024), "1KiB acks=all": side(200_000, 1024) },
        consume: { "100B": side(2_000_000, 100), "1KiB": side(400_000, 1024) },
        e2e: { produce: side(100_000, 100), e2eLatencyMs: lat, received: 100_000 },
      },
      redis: {
        produce: { "100B acks=1": side(500_000, 100), "100B acks=all": side(200_000, 100), "1KiB acks=1": side(300_000, 1024), "1KiB acks=all": side(50_000, 1024) },
        consume: { "100B": side(800_000, 100), "1KiB": side(300_000, 1024) },
        e2e: null,
      },
    },
    sweep: [{ batchSize: 16384, lingerMs: 5, compression: "lz4", max: side(150_000, 1024), paced: side(20_000, 1024) }],
    notes: ["nats-server missing: NATS runs skipped"],
  };
}

test("the report shows figures with ratios to peers and limits and says how much a target is missed", () => {
  const md = renderReport(results());
  assert.match(md, /\| Produce 100B acks=1 \| 1,200,000 rec\/s \(120\.0 MB\/s\) \| 500,000 rec\/s \(50\.0 MB\/s\) \| — \| 2\.40x \| — \| loopback TCP 2,000 MB\/s \| 0\.06x \|/);
  assert.match(md, /\| 100 B records, acks=1, vs Redis XADD \(in memory\) \| >= 2x \| 2\.40x \| yes \|/);
  assert.match(md, /\| 100 B records, acks=all, vs Redis XADD with appendfsync always \| >= 2\.5x \| 3\.00x \| yes \|/);
  assert.match(md, /\| Consume \(fetch from page cache\) \| >= 2\.5 GB\/s \| 2\.00 GB\/s \| \*\*no\*\* \| missed: 2\.00 GB\/s is 80% of the target/);
  assert.match(md, /\| End-to-end p99 at 100,000 rec\/s, acks=all \| <= 3 ms \| 4\.00 ms \| \*\*no\*\* \| missed by 1\.00 ms \(1\.33x the target\) \|/);
  assert.match(md, /\| Start to ready listener \| <= 100 ms \| 150\.0 ms \| \*\*no\*\* \| missed by 50\.0 ms/);
  assert.match(md, /\| Idle RSS \| <= 60 MB \| 40\.0 MB \| yes \|/);
  assert.match(md, /\| Broker ingest, 1 MiB batches of 1 KiB records, acks=1 \| 1,200 MB\/s \|.*new page-cache pages right after: 2\.50 CPU s\/GB \|/);
  assert.match(md, /\| 16,384 \| 5 \| lz4 \| 150,000 \|/);
  assert.match(md, /- nats-server missing: NATS runs skipped/);
  assert.match(md, /\(`bun bench\/run\.ts`\) at commit abc1234 on 2026-01-01/);
  assert.equal(ratio(3, 2), "1.50x");
  assert.equal(ratio(3, 0), "—");
  assert.equal(ratio(null, 2), "—");
});

test("bar and scatter charts are standalone SVG with one shape per value", () => {
  const bars = barChart({ title: "T <&>", yLabel: "y", categories: ["a", "b"], series: [{ name: "s1", values: [1, 2] }, { name: "s2", values: [3, null] }] });
  assert.match(bars, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(bars, /T &lt;&amp;&gt;/);
  assert.equal((bars.match(/<rect [^>]*><title>/g) ?? []).length, 3);
  assert.ok(bars.trimEnd().endsWith("</svg>"));
  const dots = scatterChart({ title: "S", xLabel: "x", yLabel: "y", logY: true, series: [{ name: "a", points: [{ x: 1, y: 0.5 }, { x: 2, y: 50, label: "p" }] }] });
  assert.equal((dots.match(/<circle /g) ?? []).length, 2);
  assert.deepEqual(niceTicks(9), [0, 2, 4, 6, 8, 10]);
});
