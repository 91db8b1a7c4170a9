/**
 * Reassignment rate: three `runnel start` processes on one etcd (loopback, one machine). A topic whose partitions
 * all sit on broker 1 (RF=1) is filled with `--records` records of `--record-size` bytes, then moved to broker 2
 * with no throttle, and from broker 2 to broker 3 under Kafka's replication throttle (`--throttle` bytes/s as
 * leader.replication.throttled.rate and follower.replication.throttled.rate on both brokers, the partitions in the
 * topic's throttled-replica lists, as `kafka-reassign-partitions --throttle` sets them). Each move is timed from the
 * AlterPartitionReassignments answer to ListPartitionReassignments showing none (polled every 50 ms); the rate is
 * the bytes of log segments the destination holds afterwards over that time. The brokers run with
 * replication.quota.window.num=2 so the throttle's initial allowance is one second (Kafka's default of 11 windows
 * lets ten seconds' worth pass before it bites). Bounded at about a minute.
 *
 *   bun bench/reassignment.ts [--records 150000] [--record-size 1024] [--partitions 3] [--throttle 10000000]
 */
import { parseArgs } from "node:util";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ETCD_SKIP_REASON } from "../tests/support/etcd.ts";
import { startCluster } from "../tests/support/cluster-processes.ts";
import { runProc } from "../tests/support/proc.ts";
import { Admin, ConfigResourceType } from "../src/client/admin.ts";
import { alterPartitionReassignments, listPartitionReassignments } from "../src/client/reassignments.ts";
import { ROOT, printTable, writeResults } from "./support.ts";

const { values } = parseArgs({ options: { records: { type: "string" }, "record-size": { type: "string" }, partitions: { type: "string" }, throttle: { type: "string" } } });
const RECORDS = Number(values.records ?? 150_000);
const SIZE = Number(values["record-size"] ?? 1024);
const PARTITIONS = Number(values.partitions ?? 3);
const THROTTLE = Number(values.throttle ?? 10_000_000);
const SETTINGS = ["-o", "replica.lag.time.max.ms=2000", "-o", "replication.quota.window.num=2"];
const TOPIC = "moving";

if (ETCD_SKIP_REASON) {
  console.log(ETCD_SKIP_REASON);
  process.exit(0);
}

/** Bytes of the `.log` segments of the topic in one data dir. */
function logBytes(dataDir: string): number {
  let total = 0;
  for (let p = 0; p < PARTITIONS; p++) {
    const dir = path.join(dataDir, `${TOPIC}-${p}`);
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir)) if (f.endsWith(".log")) total += fs.statSync(path.join(dir, f)).size;
  }
  return total;
}

/** Moves every partition to `to`; the time from the accepted request to no move left, ms. */
async function timedMove(admin: Admin, to: number): Promise<number> {
  await alterPartitionReassignments(admin, Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: TOPIC, partition, replicas: [to] })));
  const started = performance.now();
  while ((await listPartitionReassignments(admin)).length > 0) await new Promise((r) => setTimeout(r, 50));
  return performance.now() - started;
}

const loadAtStart = os.loadavg().map((x) => Number(x.toFixed(2)));
const cluster = await startCluster(SETTINGS);
const admin = new Admin({ bootstrap: cluster.brokers.map((b) => b.bootstrap).join(","), clientId: "bench-reassignment" });
try {
  await admin.connect();
  await admin.createTopics([{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1 }]);
  await alterPartitionReassignments(admin, Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: TOPIC, partition, replicas: [1] })));
  while ((await listPartitionReassignments(admin)).length > 0) await new Promise((r) => setTimeout(r, 50));
  const bun = path.join(ROOT, "node_modules", ".bin", "bun");
  const fill = await runProc(bun, [path.join(ROOT, "src/cli/main.ts"), "bench", "produce", "-b", cluster.brokers[0].bootstrap, "-t", TOPIC, "-n", String(RECORDS), "-s", String(SIZE), "--acks", "1", "--json", "--progress-ms", "0"], { timeoutMs: 120_000 });
  if (fill.code !== 0) throw new Error(`bench produce failed: ${fill.stderr}`);

  const freeMs = await timedMove(admin, 2);
  const freeBytes = logBytes(cluster.dataDirs[1]);

  for (const id of [2, 3]) {
    await admin.alterConfigs(ConfigResourceType.BROKER, String(id), [
      { name: "leader.replication.throttled.rate", value: String(THROTTLE) },
      { name: "follower.replication.throttled.rate", value: String(THROTTLE) },
    ]);
  }
  const all = (broker: number) => Array.from({ length: PARTITIONS }, (_, p) => `${p}:${broker}`).join(",");
  await admin.alterConfigs(ConfigResourceType.TOPIC, TOPIC, [
    { name: "leader.replication.throttled.replicas", value: all(2) },
    { name: "follower.replication.throttled.replicas", value: all(3) },
  ]);
  const throttledMs = await timedMove(admin, 3);
  const throttledBytes = logBytes(cluster.dataDirs[2]);

  const row = (run: string, bytes: number, ms: number) => ({ run, "MB moved": Number((bytes / 1e6).toFixed(1)), seconds: Number((ms / 1000).toFixed(2)), "MB/s": Number((bytes / 1e6 / (ms / 1000)).toFixed(1)) });
  const rows = [row("no throttle (broker 1 -> 2)", freeBytes, freeMs), row(`throttle ${THROTTLE / 1e6} MB/s (broker 2 -> 3)`, throttledBytes, throttledMs)];
  printTable(`Reassignment of ${PARTITIONS} RF=1 partitions (${RECORDS} records of ${SIZE} B), three brokers on loopback`, rows);
  const command = `bun bench/reassignment.ts ${process.argv.slice(2).join(" ")}`.trim();
  const loadAverage = { atStart: loadAtStart, atEnd: os.loadavg().map((x) => Number(x.toFixed(2))), note: "1/5/15 min; the machine is shared, figures move with it" };
  console.log(`wrote ${writeResults("reassignment", { command, loadAverage, brokerSettings: ["replica.fetch.wait.max.ms=100", "replica.fetch.backoff.ms=100", ...SETTINGS.filter((a) => a !== "-o")], throttleBytesPerSec: THROTTLE, rows })}`);
} finally {
  await admin.close().catch(() => {});
  await cluster.close();
}
