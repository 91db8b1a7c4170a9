/**
 * Produce latency during a rolling restart against steady state (three `runnel start` processes on one etcd,
 * loopback, one machine): `runnel bench produce --acks all` at a fixed rate to a topic of replication factor 3
 * (min.insync.replicas=2), first with nothing happening, then while brokers 1, 2, 3, 1, ... in turn get SIGTERM
 * (controlled shutdown), are started again on their port and rejoin every ISR, back to back for the whole run. Reports p50/p99/max send-to-ack latency and
 * errors for both runs, and how long each broker took from SIGTERM to exit and from restart to full ISR.
 * Bounded well under 60 s.
 *
 *   bun bench/rolling-restart.ts [--rate 3000] [--seconds 15] [--record-size 100]
 */
import { parseArgs } from "node:util";
import * as path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { ETCD_SKIP_REASON } from "../tests/support/etcd.ts";
import { startCluster, until } from "../tests/support/cluster-processes.ts";
import { runProc } from "../tests/support/proc.ts";
import { ROOT, printTable, writeResults } from "./support.ts";

const { values } = parseArgs({ options: { rate: { type: "string" }, seconds: { type: "string" }, "record-size": { type: "string" } } });
const RATE = Number(values.rate ?? 3000);
const SECONDS = Number(values.seconds ?? 15);
const SIZE = Number(values["record-size"] ?? 100);
const PARTITIONS = 3;

if (ETCD_SKIP_REASON) {
  console.log(ETCD_SKIP_REASON);
  process.exit(0);
}

/** Runs `runnel bench produce` at RATE for SECONDS; its JSON report. */
async function benchProduce(bootstrap: string, topic: string): Promise<Record<string, unknown>> {
  const bun = path.join(ROOT, "node_modules", ".bin", "bun");
  const r = await runProc(bun, [path.join(ROOT, "src/cli/main.ts"), "bench", "produce", "-b", bootstrap, "-t", topic, "--throughput", String(RATE), "--duration", String(SECONDS), "-s", String(SIZE), "--acks", "all", "--json", "--progress-ms", "0"], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`bench produce failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

const cluster = await startCluster(["-o", "replica.lag.time.max.ms=2000", "-o", "broker.session.timeout.ms=3000", "-o", "auto.leader.rebalance.enable=false"]);
try {
  const bootstrap = cluster.brokers.map((b) => b.bootstrap).join(",");
  const kafka = new Kafka({ clientId: "bench-rolling", brokers: cluster.brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const topics = ["steady", "rolling"];
  await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: PARTITIONS, replicationFactor: 3, configEntries: [{ name: "min.insync.replicas", value: "2" }] })) });
  await admin.disconnect();
  const fullIsr = async () => {
    const a = new Kafka({ clientId: "bench-rolling-isr", brokers: cluster.brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING }).admin();
    await a.connect();
    try {
      return (await a.fetchTopicMetadata({ topics })).topics.every((t) => t.partitions.every((p) => p.isr.length === 3 && p.leader >= 0));
    } finally {
      await a.disconnect();
    }
  };

  const steady = await benchProduce(bootstrap, "steady");
  const restarts: Record<string, number>[] = [];
  let finished = false;
  const during = benchProduce(bootstrap, "rolling").finally(() => (finished = true));
  await new Promise((r) => setTimeout(r, 1_000)); // the producer is sending before the first SIGTERM
  // brokers 1, 2, 3, 1, ... restarted back to back for as long as the producer runs
  for (let i = 0; !finished; i++) {
    const id = (i % 3) + 1;
    const t0 = performance.now();
    await cluster.brokers[id - 1].stop("SIGTERM");
    const stoppedMs = performance.now() - t0;
    const t1 = performance.now();
    await cluster.restart(id, { samePort: true });
    await until(`every ISR full after broker ${id} restarted`, 60_000, fullIsr);
    restarts.push({ broker: id, "SIGTERM to exit ms": Math.round(stoppedMs), "restart to full ISR ms": Math.round(performance.now() - t1) });
  }
  const rolling = await during;

  const row = (name: string, r: Record<string, unknown>) => {
    const p = r.produce as { records: number; recordsPerSec: number; errors: number; firstError: string | null; latencyMs: { p50: number; p99: number; p999: number; max: number } };
    return { run: name, records: p.records, "records/s": Math.round(p.recordsPerSec), "p50 ms": p.latencyMs.p50.toFixed(1), "p99 ms": p.latencyMs.p99.toFixed(1), "p99.9 ms": p.latencyMs.p999.toFixed(1), "max ms": p.latencyMs.max.toFixed(1), errors: p.errors, "first error": p.firstError ?? "" };
  };
  printTable(`Produce acks=all at ${RATE} records/s for ${SECONDS} s, ${SIZE} B records, RF=3 min.insync.replicas=2, ${PARTITIONS} partitions, three brokers on loopback`, [row("steady state", steady), row(`rolling restarts (${restarts.length} SIGTERM + restart, back to back)`, rolling)]);
  printTable("Rolling restart steps", restarts);
  console.log(`wrote ${writeResults("rolling-restart", { command: `bun bench/rolling-restart.ts --rate ${RATE} --seconds ${SECONDS} --record-size ${SIZE}`, steady, rolling, restarts })}`);
} finally {
  await cluster.close();
}
