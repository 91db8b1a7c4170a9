/**
 * Replication cost of sharded brokers in an etcd cluster (docs/sharding.md, "A sharded broker of an etcd cluster"):
 * three `runnel start` nodes on one etcd, each with `--shards S` for each S of `--modes` (default 1,2), a topic of
 * `--partitions` partitions with replication factor 3 and min.insync.replicas=2, and `runnel bench produce --acks
 * all` of `--records` records of `--record-size` bytes in batches of up to `--batch-size` bytes. A mode `S-noaccept`
 * runs S shards with only the main thread's front accepting (runnel.shards.accept=false). Modes alternate for `--repeat` rounds, each round on a fresh
 * cluster. Per run:
 * - produce MB/s and the producer's p50/p99 latency (acks=all: an answer waits for the ISR);
 * - CPU seconds per MB produced of each node (utime + stime of all its threads, /proc/PID/task/TID/stat, over the
 *   produce), and of all three together (each MB is written by three replicas); the main thread's share of each
 *   node's (the main front, the control plane; one shard: the whole broker);
 * - Fetch requests the three nodes answered per MB produced (replica fetches, from each node's /metrics);
 * - replication lag: every 100 ms during the produce, each node's `kafka_log_log_logendoffset` of every partition
 *   (its /metrics, `--http`), and per partition the leader's log end minus the slowest replica's, in records; the
 *   mean and maximum over samples and partitions, and the time from the producer's last answer until every replica
 *   of every partition has the same log end ("drain");
 * - each node's CPU while idle (the 3 s before the produce, ISRs full, no client): what its replica fetchers' long
 *   polls cost at rest, in CPU ms per second;
 * - the established TCP connections into each node's Kafka port once the ISRs are full and the admin client has
 *   left (replica fetchers and inter-broker channels; one shard per node: one fetcher per leader node).
 *
 * `--replica-wait-ms` sets every node's `replica.fetch.wait.max.ms` (default 100, the cluster tests' value; Kafka's
 * default is 500): at rest each replica fetcher sends one Fetch per that many ms.
 *
 *   bun bench/shards-replication.ts [--modes 1,2,2-noaccept] [--repeat 2] [--records 40000] [--record-size 1024] [--batch-size 16384] [--partitions 6] [--replica-wait-ms 100]
 */
import { parseArgs } from "node:util";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { Kafka, logLevel } from "kafkajs";
import { ETCD_SKIP_REASON } from "../tests/support/etcd.ts";
import { startCluster, until, type TestCluster } from "../tests/support/cluster-processes.ts";
import { HTTP_LINE } from "../tests/support/http-broker.ts";
import { cpuOf, fetchRequests } from "./node-stats.ts";
import { runProc } from "../tests/support/proc.ts";
import { ROOT, printTable, writeResults } from "./support.ts";

const { values } = parseArgs({ options: { modes: { type: "string", default: "1,2" }, repeat: { type: "string", default: "2" }, records: { type: "string", default: "40000" }, "record-size": { type: "string", default: "1024" }, partitions: { type: "string", default: "6" }, "batch-size": { type: "string", default: "16384" }, "replica-wait-ms": { type: "string", default: "100" } } });
/** A mode: a shard count, with `-noaccept` only the main thread's front accepting (runnel.shards.accept=false). */
const MODES = values.modes.split(",").map((m) => ({ name: m, shards: Number(m.replace(/-noaccept$/, "")), accept: !m.endsWith("-noaccept") }));
const REPEAT = Number(values.repeat);
const RECORDS = Number(values.records);
const SIZE = Number(values["record-size"]);
const PARTITIONS = Number(values.partitions);
const TOPIC = "rf3";
/** `replica.fetch.wait.max.ms` of every node: 100 as in the cluster tests by default; Kafka's default is 500. */
const REPLICA_WAIT_MS = Number(values["replica-wait-ms"]);
/** How often the nodes' log end offsets are sampled during the produce. */
const SAMPLE_MS = 100;
/** How long each node's CPU at rest is measured before the produce. */
const IDLE_MS = 3000;
for (const m of MODES) if (!Number.isInteger(m.shards) || m.shards < 1) throw new Error(`--modes: ${m.name} is not a shard count (with -noaccept or not)`);
if (!Number.isInteger(REPLICA_WAIT_MS) || REPLICA_WAIT_MS < 0) throw new Error(`--replica-wait-ms: ${values["replica-wait-ms"]} is not a number of milliseconds`);

if (ETCD_SKIP_REASON) {
  console.log(ETCD_SKIP_REASON);
  process.exit(0);
}

/** Established TCP connections whose local port is `port`. */
function connectionsInto(port: number): number {
  const out = execFileSync("ss", ["-Htn", "state", "established", `( sport = :${port} )`], { encoding: "utf8" });
  return out.split("\n").filter((l) => l.trim() !== "").length;
}

/** Log end offset of every partition of TOPIC that node `url` holds a replica of. */
async function logEnds(url: string): Promise<Map<number, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<number, number>();
  const re = new RegExp(`^kafka_log_log_logendoffset\\{[^}]*partition="(\\d+)"[^}]*\\} (\\d+)`, "gm");
  for (const line of text.split("\n")) {
    if (!line.startsWith("kafka_log_log_logendoffset{") || !line.includes(`topic="${TOPIC}"`)) continue;
    re.lastIndex = 0;
    const m = re.exec(line);
    if (m) out.set(Number(m[1]), Number(m[2]));
  }
  return out;
}

/** Per partition: the largest log end of its replicas minus the smallest (records the slowest replica lacks). */
async function lags(urls: readonly string[]): Promise<number[]> {
  const ends = await Promise.all(urls.map(logEnds));
  const out: number[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    const e = ends.map((m) => m.get(p)).filter((x): x is number => x !== undefined);
    out.push(e.length === 0 ? 0 : Math.max(...e) - Math.min(...e));
  }
  return out;
}

interface Run {
  mode: string;
  mbPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  cpuMsPerMbByNode: number[];
  cpuMsPerMbAll: number;
  mainThreadShareByNode: number[];
  fetchRequestsPerMb: number;
  lagMeanRecords: number;
  lagMaxRecords: number;
  drainMs: number;
  connectionsInto: number[];
  idleCpuMsPerSecByNode: number[];
  load1: number;
}

async function runOnce(mode: (typeof MODES)[number]): Promise<Run> {
  const cluster: TestCluster = await startCluster(["--shards", String(mode.shards), "--http", "http://127.0.0.1:0", "-o", "log.segment.bytes=1073741824", "-o", `runnel.shards.accept=${mode.accept}`, "-o", `replica.fetch.wait.max.ms=${REPLICA_WAIT_MS}`]);
  try {
    await until("every node's HTTP line", 30_000, () => cluster.brokers.every((b) => HTTP_LINE.test(b.log())));
    const urls = cluster.brokers.map((b) => HTTP_LINE.exec(b.log())![1]);
    const admin = new Kafka({ clientId: "bench-shards-replication", brokers: cluster.brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, configEntries: [{ name: "min.insync.replicas", value: "2" }] }] });
    await until("full ISRs", 60_000, async () => (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0].partitions.every((p) => p.isr.length === 3));
    await admin.disconnect();
    await new Promise((r) => setTimeout(r, 500)); // the admin's sockets close
    const conns = cluster.brokers.map((b) => connectionsInto(b.port));

    const pids = cluster.brokers.map((b) => b.child.pid!);
    const idle0 = pids.map((p) => cpuOf(p));
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const idle = pids.map((p, i) => ((cpuOf(p) - idle0[i]) * 1000) / (IDLE_MS / 1000));
    const fetches0 = await Promise.all(urls.map(fetchRequests));
    const cpu0 = pids.map((p) => cpuOf(p));
    const main0 = pids.map((p) => cpuOf(p, true));
    const samples: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        samples.push(...(await lags(urls).catch(() => [])));
        await new Promise((r) => setTimeout(r, SAMPLE_MS));
      }
    })();
    const bun = path.join(ROOT, "node_modules", ".bin", "bun");
    const load1 = os.loadavg()[0];
    const r = await runProc(bun, [path.join(ROOT, "src/cli/main.ts"), "bench", "produce", "-b", cluster.brokers.map((b) => b.bootstrap).join(","), "-t", TOPIC, "-n", String(RECORDS), "-s", String(SIZE), "--acks", "all", "--batch-size", values["batch-size"], "--json", "--progress-ms", "0"], { timeoutMs: 180_000 });
    const producedAt = performance.now();
    sampling = false;
    await sampler;
    if (r.code !== 0) throw new Error(`bench produce failed: ${r.stderr}`);
    await until("every replica at the same log end", 60_000, async () => (await lags(urls)).every((l) => l === 0));
    const drainMs = performance.now() - producedAt;
    const cpu = pids.map((p, i) => cpuOf(p) - cpu0[i]);
    const fetches = (await Promise.all(urls.map(fetchRequests))).reduce((a, b, i) => a + b - fetches0[i], 0);
    const main = pids.map((p, i) => cpuOf(p, true) - main0[i]);
    const p = (JSON.parse(r.stdout) as { produce: { mbPerSec: number; errors: number; latencyMs: { p50: number; p99: number } } }).produce;
    const mb = (RECORDS * SIZE) / 1e6;
    return {
      mode: mode.name,
      mbPerSec: Number(p.mbPerSec.toFixed(1)),
      p50Ms: Number(p.latencyMs.p50.toFixed(1)),
      p99Ms: Number(p.latencyMs.p99.toFixed(1)),
      errors: p.errors,
      cpuMsPerMbByNode: cpu.map((c) => Number(((c * 1000) / mb).toFixed(2))),
      cpuMsPerMbAll: Number(((cpu.reduce((a, b) => a + b, 0) * 1000) / mb).toFixed(2)),
      fetchRequestsPerMb: Math.round(fetches / mb),
      mainThreadShareByNode: main.map((m, i) => Number((m / cpu[i]).toFixed(2))),
      lagMeanRecords: samples.length === 0 ? 0 : Math.round(samples.reduce((a, b) => a + b, 0) / samples.length),
      lagMaxRecords: samples.length === 0 ? 0 : Math.max(...samples),
      drainMs: Math.round(drainMs),
      connectionsInto: conns,
      idleCpuMsPerSecByNode: idle.map((x) => Math.round(x)),
      load1: Number(load1.toFixed(2)),
    };
  } finally {
    await cluster.close();
  }
}

const loadAtStart = os.loadavg().map((x) => Number(x.toFixed(2)));
const runs: Run[] = [];
for (let i = 0; i < REPEAT; i++) for (const m of MODES) runs.push(await runOnce(m));
printTable(`3 nodes, RF 3 (min.insync.replicas=2), ${PARTITIONS} partitions, acks=all, ${RECORDS} records of ${SIZE} B, modes alternating`, runs.map((r) => ({
  mode: r.mode,
  "MB/s": r.mbPerSec,
  "p50/p99 ms": `${r.p50Ms}/${r.p99Ms}`,
  "CPU ms/MB per node": r.cpuMsPerMbByNode.join(" "),
  "CPU ms/MB all": r.cpuMsPerMbAll,
  "main thread share": r.mainThreadShareByNode.join(" "),
  "fetch req/MB": r.fetchRequestsPerMb,
  "lag mean/max rec": `${r.lagMeanRecords}/${r.lagMaxRecords}`,
  "drain ms": r.drainMs,
  "conns into node": r.connectionsInto.join(" "),
  "idle CPU ms/s per node": r.idleCpuMsPerSecByNode.join(" "),
  load1: r.load1,
})));
const command = `bun bench/shards-replication.ts ${process.argv.slice(2).join(" ")}`.trim();
console.log(`wrote ${writeResults("shards-replication", { command, loadAverage: { atStart: loadAtStart, atEnd: os.loadavg().map((x) => Number(x.toFixed(2))) }, runs })}`);
