/**
 * The bench suite (`npm run bench`): on this machine, in one run, measures Runnel (produce 100 B / 1 KiB records
 * with acks=1 and acks=all, consume, end-to-end latency at a fixed rate, a batch.size x linger.ms x compression
 * sweep, 1 MiB-batch ingest and fetch, start-up time and idle RSS) next to Redis Streams and NATS JetStream doing
 * the same jobs on the same payloads, and the physical limits (iperf3 loopback TCP, fio disk). Installs missing
 * peers with apt-get, runs every server on 127.0.0.1 with a free port and a bounded run, stops everything it
 * started, and writes bench/results/REPORT.md, suite.json and SVG charts.
 *
 * Usage: bun bench/run.ts [--quick] [--no-kafka] [--out DIR] [--binary PATH]   (--quick: shorter runs and a smaller
 * sweep, for trying the suite out; the head to head with Apache Kafka, bench/kafka.ts, runs last unless --no-kafka and
 * writes its own KAFKA.md; --out writes the report, suite.json, ingest.json and the charts to DIR instead of
 * bench/results, for a scratch run to compare with the committed report; --binary measures that executable instead of
 * building dist/runnel, for A/B runs of two builds; --produce-only runs only Runnel's four produce rows against a
 * fresh broker, prints them as JSON and writes nothing: about 20 s, for A/B pairs of the rows with --binary)
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { Admin } from "../src/client/admin.ts";
import type { BenchReport, SideReport } from "../src/bench/bench-report.ts";
import { ensureTools, versionOf } from "./suite/install.ts";
import { measureLimits, type Limits } from "./suite/limits.ts";
import { natsConsume, natsE2e, natsProduce, natsVersion, startNats } from "./suite/nats-peer.ts";
import { runBenchMain, runCommand } from "./suite/processes.ts";
import { redisConsume, redisE2e, redisProduce, redisVersion, startRedis } from "./suite/redis-peer.ts";
import { renderReport } from "./suite/report.ts";
import {
  CONSUME_FLAGS,
  CONSUME_MAX_RECORDS,
  consumeArgs,
  E2E_FLAGS,
  E2E_RATE,
  E2E_RECORD_SIZE,
  E2E_SECONDS as REPORT_E2E_SECONDS,
  E2E_WARMUP_SECONDS,
  e2eArgs,
  IDLE_MS,
  PRODUCE_FLAGS,
  PRODUCE_SECONDS as REPORT_PRODUCE_SECONDS,
  produceArgs,
  type RunnelBroker,
  runIngest,
  runnelBench,
  runnelStartCommand,
  scenarioTopic,
  startRunnel,
  treeCommit,
} from "./suite/runnel-runs.ts";
import { measureStartup, type StartupFigures } from "./suite/startup.ts";
import { CONSUME_SCENARIOS, PRODUCE_SCENARIOS, type SuiteResults, type SweepRow, type SystemResults } from "./suite/suite-results.ts";
import { barChart, scatterChart } from "./suite/svg-chart.ts";
import { kafkaSuite } from "./kafka.ts";

const { values } = parseArgs({
  options: { quick: { type: "boolean" }, "no-kafka": { type: "boolean" }, out: { type: "string" }, binary: { type: "string" }, "produce-only": { type: "boolean" } },
});
const QUICK = values.quick ?? false;
/** Seconds of the ingest row's produce phase: bench/ingest.ts's default, so the row is the acceptance command's figure. */
const INGEST_SECONDS = 5;

const ROOT = path.resolve(import.meta.dirname, "..");
const RESULTS = path.resolve(values.out ?? path.join(ROOT, "bench", "results"));
const BUN = path.join(ROOT, "node_modules", ".bin", "bun");
const BINARY = path.resolve(values.binary ?? path.join(ROOT, "dist", "runnel"));

/** Seconds of each as-fast-as-possible produce run, and of the end-to-end runs (the report's are in runnel-runs.ts). */
const PRODUCE_SECONDS = QUICK ? 1.5 : REPORT_PRODUCE_SECONDS;
const E2E_SECONDS = QUICK ? 3 : REPORT_E2E_SECONDS;
/** Sweep: 1 KiB records; each configuration runs flat out, then paced. */
const SWEEP_BATCH_SIZES = QUICK ? [16_384, 1_048_576] : [16_384, 131_072, 1_048_576];
const SWEEP_LINGERS = QUICK ? [0, 20] : [0, 5, 20];
const SWEEP_CODECS = QUICK ? ["none", "zstd"] : ["none", "lz4", "zstd"];
const SWEEP_SECONDS = QUICK ? 1 : 1.5;
const SWEEP_RATE = 20_000;
/** Starts per server for start-up time. */
const STARTS = 5;

const notes: string[] = [];
const started = performance.now();

function step(msg: string): void {
  console.error(`[${((performance.now() - started) / 1000).toFixed(0).padStart(3)}s] ${msg}`);
}

function brief(s: SideReport | null | undefined): string {
  if (!s) return "no result";
  const l = s.latencyMs;
  return `${Math.round(s.recordsPerSec).toLocaleString("en-US")} rec/s, ${s.mbPerSec.toFixed(1)} MB/s${l ? `, p50 ${l.p50} ms, p99 ${l.p99} ms` : ""}${s.errors ? `, ${s.errors} errors` : ""}`;
}

/** Longest one measurement may run before the suite notes it as failed and moves on (ms). */
const ATTEMPT_TIMEOUT_MS = 120_000;

async function attempt<T>(what: string, f: () => Promise<T>): Promise<T | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no result after ${ATTEMPT_TIMEOUT_MS / 1000} s`)), ATTEMPT_TIMEOUT_MS);
    });
    return await Promise.race([f(), limit]);
  } catch (e) {
    const msg = `${what} failed: ${(e as Error).message.split("\n")[0]}`;
    notes.push(msg);
    step(`  ${msg}`);
    return null;
  } finally {
    clearTimeout(timer);
  }
}

async function deleteTopics(port: number, topics: string[]): Promise<void> {
  const admin = new Admin({ bootstrap: `127.0.0.1:${port}`, clientId: "bench-suite" });
  try {
    await admin.connect();
    await admin.deleteTopics(topics);
  } catch {
    // Leftover topics only cost disk space in a directory removed at the end.
  } finally {
    await admin.close();
  }
}

/** Runs Runnel's produce rows against `b` into `results.produce`. */
async function runnelProduceRows(b: RunnelBroker, results: SystemResults): Promise<void> {
  for (const sc of PRODUCE_SCENARIOS) {
    const rep = await attempt(`Runnel produce ${sc.key}`, () =>
      runnelBench(BINARY, b.port, produceArgs(sc, PRODUCE_SECONDS)),
    );
    if (rep?.produce) results.produce[sc.key] = rep.produce;
    step(`  Runnel produce ${sc.key}: ${brief(rep?.produce)}`);
  }
}

async function runnelRuns(): Promise<{ results: SystemResults; sweep: SweepRow[] }> {
  const results: SystemResults = { produce: {}, consume: {}, e2e: null };
  const sweep: SweepRow[] = [];
  let broker: RunnelBroker | null = await attempt("starting the Runnel broker", () => startRunnel(BINARY));
  if (broker === null) return { results, sweep };
  const b = broker;
  try {
    await runnelProduceRows(b, results);
    for (const sc of CONSUME_SCENARIOS) {
      const rep = await attempt(`Runnel consume ${sc.key}`, () => runnelBench(BINARY, b.port, consumeArgs(sc)));
      if (rep?.consume) results.consume[sc.key] = rep.consume;
      step(`  Runnel consume ${sc.key}: ${brief(rep?.consume)}`);
    }
    await deleteTopics(b.port, PRODUCE_SCENARIOS.map((s) => scenarioTopic(s.key)));
    const e2e: BenchReport | null = await attempt("Runnel e2e", () =>
      runnelBench(BINARY, b.port, e2eArgs(E2E_SECONDS, E2E_WARMUP_SECONDS)),
    );
    if (e2e?.produce && e2e.e2eLatencyMs && e2e.consume) results.e2e = { produce: e2e.produce, e2eLatencyMs: e2e.e2eLatencyMs, received: e2e.consume.records };
    step(`  Runnel e2e at ${E2E_RATE} rec/s: ${e2e?.e2eLatencyMs ? `p50 ${e2e.e2eLatencyMs.p50} ms, p99 ${e2e.e2eLatencyMs.p99} ms, p99.9 ${e2e.e2eLatencyMs.p999} ms` : "no result"}`);
    await deleteTopics(b.port, ["e2e"]);

    step("sweep: batch.size x linger.ms x compression (1 KiB records, acks=1)");
    let n = 0;
    for (const batch of SWEEP_BATCH_SIZES) {
      for (const linger of SWEEP_LINGERS) {
        for (const codec of SWEEP_CODECS) {
          const topic = `sweep-${n++}`;
          const common = ["-t", topic, "-s", "1024", "--acks", "1", "--batch-size", String(batch), "--linger-ms", String(linger), "-z", codec, "--duration", String(SWEEP_SECONDS)];
          const max = await attempt(`sweep ${batch}/${linger}/${codec}`, () => runnelBench(BINARY, b.port, ["produce", ...common, "--buffer-memory", "67108864", "--latency-every", "16"]));
          const paced = await attempt(`sweep paced ${batch}/${linger}/${codec}`, () => runnelBench(BINARY, b.port, ["produce", ...common, "--throughput", String(SWEEP_RATE)]));
          await deleteTopics(b.port, [topic]);
          if (max?.produce && paced?.produce) sweep.push({ batchSize: batch, lingerMs: linger, compression: codec, max: max.produce, paced: paced.produce });
          step(`  ${batch}/${linger}ms/${codec}: max ${brief(max?.produce)}; paced p99 ${paced?.produce?.latencyMs?.p99 ?? "?"} ms`);
        }
      }
    }
  } finally {
    await broker.stop();
    broker = null;
  }
  return { results, sweep };
}

async function redisRuns(): Promise<SystemResults> {
  const results: SystemResults = { produce: {}, consume: {}, e2e: null };
  for (const mode of ["memory", "fsync-always"] as const) {
    const server = await attempt(`starting redis-server (${mode})`, () => startRedis(mode));
    if (server === null) continue;
    try {
      const acks = mode === "memory" ? "1" : "all";
      for (const sc of PRODUCE_SCENARIOS.filter((s) => s.acks === acks)) {
        const rep = await attempt(`Redis produce ${sc.key}`, () => redisProduce(server.port, `p${sc.recordSize}`, sc.recordSize, PRODUCE_SECONDS));
        if (rep) results.produce[sc.key] = rep;
        step(`  Redis (${mode}) XADD ${sc.key}: ${brief(rep)}`);
      }
      if (mode === "memory") {
        for (const sc of CONSUME_SCENARIOS) {
          const rep = await attempt(`Redis consume ${sc.key}`, () => redisConsume(server.port, `p${sc.recordSize}`));
          if (rep) results.consume[sc.key] = rep;
          step(`  Redis XREAD ${sc.key}: ${brief(rep)}`);
        }
      } else {
        const e = await attempt("Redis e2e", () => redisE2e(server.port, "e2e", E2E_RECORD_SIZE, E2E_RATE, E2E_SECONDS, E2E_WARMUP_SECONDS));
        if (e) results.e2e = e;
        step(`  Redis (fsync always) e2e at ${E2E_RATE} rec/s: ${e ? `p50 ${e.e2eLatencyMs.p50} ms, p99 ${e.e2eLatencyMs.p99} ms` : "no result"}`);
      }
    } finally {
      await server.stop();
    }
  }
  return results;
}

async function natsRuns(): Promise<SystemResults> {
  const results: SystemResults = { produce: {}, consume: {}, e2e: null };
  const server = await attempt("starting nats-server", () => startNats());
  if (server === null) return results;
  try {
    for (const sc of PRODUCE_SCENARIOS.filter((s) => s.acks === "1")) {
      const rep = await attempt(`NATS produce ${sc.key}`, () => natsProduce(server.port, `p${sc.recordSize}`, sc.recordSize, PRODUCE_SECONDS));
      if (rep) results.produce[sc.key] = rep;
      step(`  NATS publish ${sc.key}: ${brief(rep)}`);
    }
    for (const sc of CONSUME_SCENARIOS) {
      const rep = await attempt(`NATS consume ${sc.key}`, () => natsConsume(server.port, `p${sc.recordSize}`));
      if (rep) results.consume[sc.key] = rep;
      step(`  NATS consume ${sc.key}: ${brief(rep)}`);
    }
    const e = await attempt("NATS e2e", () => natsE2e(server.port, "e2e", E2E_RECORD_SIZE, E2E_RATE, E2E_SECONDS, E2E_WARMUP_SECONDS));
    if (e) results.e2e = e;
    step(`  NATS e2e at ${E2E_RATE} rec/s: ${e ? `p50 ${e.e2eLatencyMs.p50} ms, p99 ${e.e2eLatencyMs.p99} ms (received ${e.received} of ${e.produce.records})` : "no result"}`);
  } finally {
    await server.stop();
  }
  return results;
}

function writeCharts(r: SuiteResults): void {
  const systems = [
    ["runnel", "Runnel"],
    ["redis", "Redis Streams"],
    ["nats", "NATS JetStream"],
  ] as const;
  const cats = [...PRODUCE_SCENARIOS.map((s) => `produce ${s.key}`), ...CONSUME_SCENARIOS.map((s) => `consume ${s.key}`)];
  const series = systems.map(([key, name]) => ({
    name,
    values: [...PRODUCE_SCENARIOS.map((s) => r.systems[key]?.produce[s.key]?.recordsPerSec ?? null), ...CONSUME_SCENARIOS.map((s) => r.systems[key]?.consume[s.key]?.recordsPerSec ?? null)],
  }));
  fs.writeFileSync(path.join(RESULTS, "produce-throughput.svg"), barChart({ title: "Records/s: Runnel vs Redis Streams vs NATS JetStream (4 partitions/streams)", yLabel: "records/s", categories: cats, series, valueLabels: true }));
  const pcts = [
    ["p50", "p50"],
    ["p90", "p90"],
    ["p99", "p99"],
    ["p99.9", "p999"],
  ] as const;
  fs.writeFileSync(
    path.join(RESULTS, "e2e-latency.svg"),
    barChart({
      title: `End-to-end latency at ${E2E_RATE.toLocaleString("en-US")} records/s of ${E2E_RECORD_SIZE} B`,
      yLabel: "ms",
      categories: pcts.map(([name]) => name),
      series: systems.map(([key, name]) => ({ name, values: pcts.map(([, k]) => r.systems[key]?.e2e?.e2eLatencyMs[k] ?? null) })),
      valueLabels: true,
    }),
  );
  const combos = SWEEP_BATCH_SIZES.flatMap((b) => SWEEP_LINGERS.map((l) => ({ b, l })));
  const label = (b: number, l: number) => `${b >= 1048576 ? `${b / 1048576}M` : `${b / 1024}K`}/${l}ms`;
  fs.writeFileSync(
    path.join(RESULTS, "sweep-throughput.svg"),
    barChart({
      title: "Produce throughput by batch.size / linger.ms and compression (1 KiB records, acks=1)",
      yLabel: "MB/s",
      categories: combos.map((c) => label(c.b, c.l)),
      series: SWEEP_CODECS.map((codec) => ({ name: codec, values: combos.map((c) => r.sweep.find((s) => s.batchSize === c.b && s.lingerMs === c.l && s.compression === codec)?.max.mbPerSec ?? null) })),
    }),
  );
  fs.writeFileSync(
    path.join(RESULTS, "sweep-tradeoff.svg"),
    scatterChart({
      title: `Throughput (flat out) vs p99 send-to-ack latency at ${SWEEP_RATE.toLocaleString("en-US")} rec/s`,
      xLabel: "max MB/s",
      yLabel: "p99 latency at fixed rate (ms, log scale)",
      logY: true,
      series: SWEEP_CODECS.map((codec) => ({
        name: codec,
        points: r.sweep.filter((s) => s.compression === codec).map((s) => ({ x: s.max.mbPerSec, y: s.paced.latencyMs?.p99 ?? NaN, label: label(s.batchSize, s.lingerMs) })),
      })),
    }),
  );
}

async function main(): Promise<void> {
  fs.mkdirSync(RESULTS, { recursive: true });
  const loadAvgStart = os.loadavg();
  step(`bench suite${QUICK ? " (quick)" : ""}: load average ${loadAvgStart.map((x) => x.toFixed(2)).join(" ")}`);
  if (values.binary === undefined) {
    step("building dist/runnel (npm run build)");
    const build = await runCommand("npm", ["run", "build"], { cwd: ROOT, timeoutMs: 300_000 });
    if (build.code !== 0 || !fs.existsSync(BINARY)) throw new Error(`npm run build failed: ${build.stderr.trim().split("\n").slice(-5).join("\n")}`);
  } else if (!fs.existsSync(BINARY)) throw new Error(`${BINARY} is missing`);

  if (values["produce-only"]) {
    const results: SystemResults = { produce: {}, consume: {}, e2e: null };
    const broker = await startRunnel(BINARY);
    try {
      await runnelProduceRows(broker, results);
    } finally {
      await broker.stop();
    }
    console.log(JSON.stringify({ binary: BINARY, loadavg: [loadAvgStart, os.loadavg()], produce: results.produce, notes }));
    return;
  }
  step("checking peers (redis-server, nats-server, iperf3, fio)");
  const tools = await ensureTools(ROOT);
  notes.push(...tools.notes);

  const versions: Record<string, string> = {
    runnel: (await versionOf(BINARY, ["--version"])).replace(/^runnel /, ""),
    bun: process.versions.bun ?? "?",
  };
  if (tools.have["redis-server"]) versions["redis-server"] = (await versionOf("redis-server", ["--version"])).replace(/^Redis server v=(\S+).*/, "$1");
  if (tools.have["nats-server"]) versions["nats-server"] = (await versionOf("nats-server", ["--version"])).replace(/^nats-server: v?/, "");
  if (tools.have.iperf3) versions.iperf3 = (await versionOf("iperf3", ["--version"])).split(" ")[1] ?? "?";
  if (tools.have.fio) versions.fio = (await versionOf("fio", ["--version"])).replace(/^fio-/, "");

  step("start-up time and idle RSS");
  const startup: Record<string, StartupFigures | null> = {};
  startup.runnel = await attempt("Runnel start-up", () => measureStartup(runnelStartCommand(BINARY), STARTS, IDLE_MS));
  if (tools.have["redis-server"]) {
    startup.redis = await attempt("redis start-up", () =>
      measureStartup((port, dir) => ({ cmd: "redis-server", args: ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", "--daemonize", "no"] }), STARTS, IDLE_MS),
    );
  }
  if (tools.have["nats-server"]) startup.nats = await attempt("nats start-up", () => measureStartup((port, dir) => ({ cmd: "nats-server", args: ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", dir] }), STARTS, IDLE_MS));
  for (const [k, v] of Object.entries(startup)) if (v) step(`  ${k}: ready in ${v.readyMs.toFixed(1)} ms (${v.readyAllMs.join(", ")}), idle RSS ${v.idleRssMB.toFixed(1)} MB`);

  // The acceptance command's own run: as long as `bun bench/ingest.ts` runs by default, and before the fio step,
  // whose 1 GiB written and deleted would otherwise hand the ingest run memory the host still backs (on this VM a new
  // page-cache page costs ~10x more once it comes from memory reported to the host as free; ingest-profile.md).
  step("broker-only ingest and fetch with 1 MiB batches (bench/ingest.ts)");
  const ingest = await attempt("bench/ingest.ts", () => runIngest(ROOT, BUN, QUICK ? 2 : INGEST_SECONDS, BINARY, RESULTS));
  if (ingest) step(`  ingest ${ingest.ingestMBps.toFixed(0)} MB/s, fetch ${ingest.fetchMBps.toFixed(0)} MB/s, TCP sink ${ingest.sinkMBps.toFixed(0)} MB/s, new page-cache pages ${ingest.newPageCpuPerGB.toFixed(2)} CPU s/GB`);

  step("physical limits (iperf3, fio)");
  const limits: Limits = await measureLimits(tools.have);
  step(`  loopback TCP ${limits.tcpMBps?.toFixed(0)} MB/s; disk write ${limits.diskWriteMBps?.toFixed(0)} MB/s; fdatasync p50 ${limits.fdatasyncMs?.p50.toFixed(3)} ms p99 ${limits.fdatasyncMs?.p99.toFixed(3)} ms`);

  step("Runnel: produce, consume, end to end");
  const runnel = await runnelRuns();
  const systems: Record<string, SystemResults> = { runnel: runnel.results };
  if (tools.have["redis-server"]) {
    step("Redis Streams");
    systems.redis = await redisRuns();
  } else notes.push("redis-server missing: Redis runs skipped");
  if (tools.have["nats-server"] && tools.natsClient) {
    step("NATS JetStream");
    systems.nats = await natsRuns();
  } else notes.push("nats-server or the nats client missing: NATS runs skipped");

  if (tools.have["redis-server"]) versions["redis-server"] = versions["redis-server"] ?? "?";
  const results: SuiteResults = {
    when: new Date().toISOString(),
    suiteSeconds: (performance.now() - started) / 1000,
    commit: values.binary === undefined ? await treeCommit(ROOT) : undefined,
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? "?", memGiB: Math.round(os.totalmem() / 2 ** 30), kernel: os.release(), loadAvgStart, loadAvgEnd: os.loadavg() },
    versions,
    settings: {
      produceSeconds: PRODUCE_SECONDS,
      consumeMaxRecords: CONSUME_MAX_RECORDS,
      produceFlags: PRODUCE_FLAGS.join(" "),
      consumeFlags: CONSUME_FLAGS.join(" "),
      e2eFlags: E2E_FLAGS.join(" "),
      e2eRate: E2E_RATE,
      e2eSeconds: E2E_SECONDS,
      e2eWarmupSeconds: E2E_WARMUP_SECONDS,
      e2eRecordSize: E2E_RECORD_SIZE,
      sweepSeconds: SWEEP_SECONDS,
      sweepRate: SWEEP_RATE,
    },
    limits,
    startup,
    ingest,
    systems,
    sweep: runnel.sweep,
    notes,
  };
  fs.writeFileSync(path.join(RESULTS, "suite.json"), JSON.stringify(results, null, 2) + "\n");
  writeCharts(results);
  fs.writeFileSync(path.join(RESULTS, "REPORT.md"), renderReport(results));
  step(`wrote ${path.relative(ROOT, RESULTS) || "."}/REPORT.md, suite.json, produce-throughput.svg, e2e-latency.svg, sweep-throughput.svg, sweep-tradeoff.svg`);
  if (!values["no-kafka"]) {
    step("Apache Kafka head to head (bench/kafka.ts)");
    // Not through attempt(): the head to head takes minutes; each of its measurements is bounded on its own.
    await kafkaSuite(QUICK).catch((e) => step(`  the Kafka head to head failed: ${(e as Error).message}`));
  }
}

await runBenchMain("bench suite", main);
