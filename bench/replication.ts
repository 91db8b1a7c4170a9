/**
 * Replication on three brokers (three `runnel start` processes on one etcd, loopback, one machine): produce
 * throughput with `runnel bench produce --acks all` to a topic of replication factor 3 (min.insync.replicas=2)
 * against replication factor 1, and follower catch-up: one broker is stopped while records are written with
 * acks=1, then restarted; the time until it is back in the ISR of every partition gives the catch-up rate.
 * Bounded well under 60 s.
 *
 *   bun bench/replication.ts [--records 200000] [--record-size 100]
 */
import { parseArgs } from "node:util";
import * as path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { ETCD_SKIP_REASON } from "../tests/support/etcd.ts";
import { startCluster, until } from "../tests/support/cluster-processes.ts";
import { runProc } from "../tests/support/proc.ts";
import { ROOT, printTable, writeResults } from "./support.ts";

const { values } = parseArgs({ options: { records: { type: "string" }, "record-size": { type: "string" } } });
const RECORDS = Number(values.records ?? 200_000);
const SIZE = Number(values["record-size"] ?? 100);
const PARTITIONS = 3;

if (ETCD_SKIP_REASON) {
  console.log(ETCD_SKIP_REASON);
  process.exit(0);
}

/** Runs `runnel bench produce` against the cluster; its JSON report. */
async function benchProduce(bootstrap: string, topic: string, acks: string, records: number): Promise<Record<string, unknown>> {
  const bun = path.join(ROOT, "node_modules", ".bin", "bun");
  const r = await runProc(bun, [path.join(ROOT, "src/cli/main.ts"), "bench", "produce", "-b", bootstrap, "-t", topic, "-n", String(records), "-s", String(SIZE), "--acks", acks, "--json", "--progress-ms", "0"], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`bench produce failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

const cluster = await startCluster(["-o", "replica.lag.time.max.ms=2000"]);
try {
  const bootstrap = cluster.brokers.map((b) => b.bootstrap).join(",");
  const kafka = new Kafka({ clientId: "bench-replication", brokers: cluster.brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: "rf1", numPartitions: PARTITIONS, replicationFactor: 1 },
      { topic: "rf3", numPartitions: PARTITIONS, replicationFactor: 3, configEntries: [{ name: "min.insync.replicas", value: "2" }] },
      { topic: "catch-up", numPartitions: PARTITIONS, replicationFactor: 3 },
    ],
  });
  const rf1 = await benchProduce(bootstrap, "rf1", "all", RECORDS);
  const rf3 = await benchProduce(bootstrap, "rf3", "all", RECORDS);

  // catch-up: broker 3 misses RECORDS records written with acks=1, then comes back
  await cluster.brokers[2].stop("SIGTERM");
  const isr = async () => (await admin.fetchTopicMetadata({ topics: ["catch-up"] })).topics[0].partitions.map((p) => p.isr.length);
  await until("broker 3 to leave the ISRs", 30_000, async () => (await isr()).every((n) => n === 2));
  await benchProduce(cluster.brokers[0].bootstrap, "catch-up", "1", RECORDS);
  const restartedAt = performance.now();
  await cluster.restart(3);
  await until("broker 3 back in every ISR", 60_000, async () => (await isr()).every((n) => n === 3));
  const catchUpMs = performance.now() - restartedAt;
  await admin.disconnect();

  const row = (name: string, r: Record<string, unknown>) => {
    const p = r.produce as { recordsPerSec: number; mbPerSec: number; errors: number; latencyMs: { p50: number; p99: number } };
    return { run: name, "records/s": Math.round(p.recordsPerSec), "MB/s": p.mbPerSec.toFixed(1), "p50 ms": p.latencyMs.p50.toFixed(1), "p99 ms": p.latencyMs.p99.toFixed(1), errors: p.errors };
  };
  const rows = [row("RF=1 acks=all", rf1), row("RF=3 acks=all (min.insync.replicas=2)", rf3)];
  printTable(`Produce, ${RECORDS} records of ${SIZE} B, ${PARTITIONS} partitions, three brokers on loopback`, rows);
  const catchUp = { records: RECORDS, recordSize: SIZE, msFromRestartToFullIsr: Math.round(catchUpMs), recordsPerSec: Math.round(RECORDS / (catchUpMs / 1000)) };
  printTable("Follower catch-up (restart to back in every ISR, includes process start and registration)", [catchUp]);
  console.log(`wrote ${writeResults("replication", { rf1, rf3, catchUp })}`);
} finally {
  await cluster.close();
}
