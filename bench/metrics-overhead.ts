/**
 * The cost of metrics: produce throughput against a broker with the HTTP side on (`http.listeners`, every counter
 * kept) and `/metrics` scraped every second, compared with the same broker with metrics disabled (no
 * `http.listeners`: nothing is counted). Both brokers run at once and short produce runs alternate between them,
 * so the machine's changing load falls on both sides; reports every run, the medians of throughput and of the
 * broker's CPU time per record, and the CPU the counting hooks cost per request. Bounded under 60 s.
 *
 *   bun bench/metrics-overhead.ts [--pairs 7] [--seconds 2.5] [--acks 1] [--record-size 100]
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { startBrokerProcess } from "../tests/support/broker-process.ts";
import { runProc } from "../tests/support/proc.ts";
import { printTable, writeResults, ROOT } from "./support.ts";
import { BrokerMetrics, countResponseErrors } from "../src/http/metrics/broker-metrics.ts";
import { countProduced } from "../src/http/metrics/topic-traffic.ts";
import { processCpuOf } from "./node-stats.ts";

/**
 * The counting work one acks=1 Produce request of 4 partitions costs (what connection.ts and 00_produce.ts do per
 * request with metrics on), in ns: a figure the machine's noise cannot hide, to set against the request rate.
 */
function hookNsPerProduceRequest(): number {
  const m = new BrokerMetrics();
  m.serveApis([0]);
  const response = {
    throttleTimeMs: 0,
    responses: [{ name: "bench", partitionResponses: [0, 1, 2, 3].map((index) => ({ index, errorCode: 0, baseOffset: 0n, logAppendTimeMs: -1n, logStartOffset: 0n, recordErrors: [], errorMessage: null })) }],
  };
  const n = 500_000;
  let t = performance.now();
  for (let i = 0; i < n; i++) {
    const a = performance.now();
    for (let p = 0; p < 4; p++) countProduced(m, "bench", 16_384, 140);
    countResponseErrors(m, 0, response);
    const b = performance.now();
    m.requestDone(0, b - a, 0.05, 0.01, 0.001, 0.002, b - a + 0.1);
  }
  t = performance.now() - t;
  return (t * 1e6) / n;
}

const { values } = parseArgs({
  options: {
    pairs: { type: "string", default: "7" },
    seconds: { type: "string", default: "2.5" },
    acks: { type: "string", default: "1" },
    "record-size": { type: "string", default: "100" },
  },
});
const pairs = Number(values.pairs);
const seconds = Number(values.seconds);
if (pairs * 2 * (seconds + 0.7) + 4 > 58) throw new Error("keep the run under 60 s: fewer --pairs or --seconds");

/** A broker process for one side of the comparison. */
interface Side {
  metrics: boolean;
  bootstrap: string;
  pid: number;
  stop(): Promise<void>;
  scrapes: number;
  scrapeMs: number;
}

async function startSide(metrics: boolean): Promise<Side> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-metrics-bench-"));
  const args = ["--port", "0", "--data-dir", dir, ...(metrics ? ["--http", "http://127.0.0.1:0"] : [])];
  const b = await startBrokerProcess("bun", args, 30_000);
  let timer: ReturnType<typeof setInterval> | null = null;
  const side: Side = {
    metrics,
    bootstrap: b.bootstrap,
    pid: b.child.pid!,
    scrapes: 0,
    scrapeMs: 0,
    async stop() {
      if (timer !== null) clearInterval(timer);
      await b.stop("SIGTERM");
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  if (metrics) {
    // Scraped every second for the whole run, as a Prometheus server would.
    const m = /HTTP \(metrics, health, console\) serving at (http:\/\/[\d.]+:\d+)/.exec(b.log());
    if (!m) throw new Error(`no HTTP listener in the log:\n${b.log()}`);
    timer = setInterval(async () => {
      const t0 = performance.now();
      const res = await fetch(`${m[1]}/metrics`);
      await res.text();
      side.scrapeMs += performance.now() - t0;
      side.scrapes++;
    }, 1000);
  }
  return side;
}

async function run(side: Side, topic: string): Promise<{ recordsPerSec: number; cpuUsPerRecord: number }> {
  const cpu0 = processCpuOf(side.pid);
  const out = await runProc(
    path.join(ROOT, "node_modules/.bin/bun"),
    [path.join(ROOT, "src/cli/main.ts"), "bench", "produce", "-b", side.bootstrap, "-t", topic, "--duration", String(seconds), "--records", "1000000000", "--record-size", values["record-size"]!, "--acks", values.acks!, "--json", "--progress-ms", "0", "-P", "4"],
    { timeoutMs: (seconds + 30) * 1000 },
  );
  if (out.code !== 0) throw new Error(`bench produce failed: ${out.stderr}`);
  const report = JSON.parse(out.stdout);
  const cpu = processCpuOf(side.pid) - cpu0;
  return { recordsPerSec: report.produce.recordsPerSec, cpuUsPerRecord: (cpu * 1e6) / report.produce.records };
}

const hookNs = hookNsPerProduceRequest();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows: Record<string, string | number>[] = [];
const off: number[] = [];
const on: number[] = [];
const cpuOff: number[] = [];
const cpuOn: number[] = [];
// Both brokers run side by side for the whole bench; runs alternate between them so that the machine's changing
// load falls on both sides alike.
const sides = [await startSide(false), await startSide(true)];
try {
  for (let i = 0; i < pairs; i++) {
    for (const side of i % 2 === 0 ? sides : [...sides].reverse()) {
      const r = await run(side, `metrics-bench-${i}`);
      (side.metrics ? on : off).push(r.recordsPerSec);
      (side.metrics ? cpuOn : cpuOff).push(r.cpuUsPerRecord);
      rows.push({ run: rows.length + 1, metrics: side.metrics ? "on, scraped every 1 s" : "disabled", "records/s": Math.round(r.recordsPerSec), "broker CPU us/record": r.cpuUsPerRecord.toFixed(3) });
    }
  }
} finally {
  for (const s of sides) await s.stop();
}
const scraped = sides[1];
const cost = (1 - median(on) / median(off)) * 100;
const cpuCost = (median(cpuOn) / median(cpuOff) - 1) * 100;
printTable(`produce throughput, acks=${values.acks}, ${values["record-size"]}-byte records, ${seconds} s per run`, rows);
console.log(`throughput: median disabled ${Math.round(median(off))} records/s, with metrics ${Math.round(median(on))} records/s: cost ${cost.toFixed(1)}%`);
console.log(`broker CPU per record: median disabled ${median(cpuOff).toFixed(2)} us, with metrics ${median(cpuOn).toFixed(2)} us: cost ${cpuCost.toFixed(1)}%`);
console.log(`scrapes: ${scraped.scrapes}, mean ${(scraped.scrapeMs / Math.max(1, scraped.scrapes)).toFixed(1)} ms each (seen from the scraper, queueing included)`);
console.log(`counting hooks: ${hookNs.toFixed(0)} ns of CPU per 4-partition produce request (16 KiB batches, about 560 records of 100 B): ${(hookNs / 560).toFixed(2)} ns per record, against ${(median(cpuOff) * 1000).toFixed(0)} ns of broker CPU per record with metrics disabled (${((hookNs / 560 / (median(cpuOff) * 1000)) * 100).toFixed(2)}%)`);
console.log(`written ${writeResults("metrics-overhead", { acks: values.acks, recordSize: values["record-size"], seconds, rows, medianOff: median(off), medianOn: median(on), costPercent: cost, cpuCostPercent: cpuCost, hookNsPerProduceRequest: hookNs })}`);
