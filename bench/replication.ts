/**
 * Replication on three brokers (three `runnel start` processes on one etcd, loopback, one machine):
 * - produce throughput with `runnel bench produce --acks all` to a topic of replication factor 3
 *   (min.insync.replicas=2) against replication factor 1: `--repeats` alternating runs of each, the median kept;
 * - follower catch-up: one broker is stopped while `--catch-up-records` records of 1 KiB are written with acks=1,
 *   then restarted; the bytes its logs grow by until it is back in the ISR of every partition, over the time from
 *   its restart (and from its listener being up), give the catch-up rate in MB/s;
 * - failover: an idempotent confluent-kafka producer sends with acks=all to an RF=3 partition while its leader is
 *   SIGKILLed `--kills` times at seeded random moments (tests/support/leader-kills.ts, as the acceptance test) and
 *   restarted each time; median and maximum time from kill to the next acknowledged record, and from kill to a
 *   survivor's Metadata naming the new leader (the broker side; the rest is the producer finding it: it refreshes
 *   metadata every 1000 ms, PRODUCER_METADATA_REFRESH_MS). The brokers run with broker.session.timeout.ms=2000
 *   (etcd's lease TTL floor is about 2 s; Kafka's default is 9000), which bounds the election.
 * Bounded at about 2 minutes.
 *
 *   bun bench/replication.ts [--records 200000] [--record-size 100] [--repeats 3] [--catch-up-records 100000] [--kills 10] [--seed N]
 */
import { parseArgs } from "node:util";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { ETCD_SKIP_REASON } from "../tests/support/etcd.ts";
import { startCluster, until } from "../tests/support/cluster-processes.ts";
import { havePythonModule, runProc } from "../tests/support/proc.ts";
import { IdempotentProducer, PRODUCER_METADATA_REFRESH_MS, killLeaders, median } from "../tests/support/leader-kills.ts";
import { ROOT, printTable, writeResults } from "./support.ts";

const { values } = parseArgs({ options: { records: { type: "string" }, "record-size": { type: "string" }, "catch-up-records": { type: "string" }, kills: { type: "string" }, seed: { type: "string" }, repeats: { type: "string" } } });
const RECORDS = Number(values.records ?? 200_000);
const SIZE = Number(values["record-size"] ?? 100);
const CATCH_UP_RECORDS = Number(values["catch-up-records"] ?? 100_000);
const CATCH_UP_SIZE = 1024;
const KILLS = Number(values.kills ?? 10);
const REPEATS = Number(values.repeats ?? 3);
const SEED = Number(values.seed ?? 1);
const PARTITIONS = 3;
const SETTINGS = ["-o", "replica.lag.time.max.ms=2000", "-o", "broker.session.timeout.ms=2000"];

if (ETCD_SKIP_REASON) {
  console.log(ETCD_SKIP_REASON);
  process.exit(0);
}

/** Runs `runnel bench produce` against the cluster; its JSON report. */
async function benchProduce(bootstrap: string, topic: string, acks: string, records: number, size: number): Promise<Record<string, unknown>> {
  const bun = path.join(ROOT, "node_modules", ".bin", "bun");
  const r = await runProc(bun, [path.join(ROOT, "src/cli/main.ts"), "bench", "produce", "-b", bootstrap, "-t", topic, "-n", String(records), "-s", String(size), "--acks", acks, "--json", "--progress-ms", "0"], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`bench produce failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** Bytes of the `.log` segments of `topic`'s partitions in one data dir. */
function logBytes(dataDir: string, topic: string): number {
  let total = 0;
  for (let p = 0; p < PARTITIONS; p++) {
    const dir = path.join(dataDir, `${topic}-${p}`);
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir)) if (f.endsWith(".log")) total += fs.statSync(path.join(dir, f)).size;
  }
  return total;
}

const loadAtStart = os.loadavg().map((x) => Number(x.toFixed(2)));
const cluster = await startCluster(SETTINGS);
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
      { topic: "failover", numPartitions: 1, replicationFactor: 3, configEntries: [{ name: "min.insync.replicas", value: "2" }] },
    ],
  });
  // alternating runs, the median of each kept: on a shared machine one run of each says little
  const rf1Runs: Record<string, unknown>[] = [];
  const rf3Runs: Record<string, unknown>[] = [];
  for (let i = 0; i < REPEATS; i++) {
    rf1Runs.push(await benchProduce(bootstrap, "rf1", "all", RECORDS, SIZE));
    rf3Runs.push(await benchProduce(bootstrap, "rf3", "all", RECORDS, SIZE));
  }
  const rate = (r: Record<string, unknown>) => (r.produce as { recordsPerSec: number }).recordsPerSec;
  const medianRun = (runs: Record<string, unknown>[]) => [...runs].sort((a, b) => rate(a) - rate(b))[(runs.length - 1) >> 1];
  const rf1 = medianRun(rf1Runs);
  const rf3 = medianRun(rf3Runs);

  // catch-up: broker 3 misses CATCH_UP_RECORDS records written with acks=1, then comes back
  await cluster.brokers[2].stop("SIGTERM");
  const isr = async () => (await admin.fetchTopicMetadata({ topics: ["catch-up"] })).topics[0].partitions.map((p) => p.isr.length);
  await until("broker 3 to leave the ISRs", 30_000, async () => (await isr()).every((n) => n === 2));
  await benchProduce(cluster.brokers[0].bootstrap, "catch-up", "1", CATCH_UP_RECORDS, CATCH_UP_SIZE);
  const bytesBefore = logBytes(cluster.dataDirs[2], "catch-up");
  const restartedAt = performance.now();
  await cluster.restart(3);
  const listeningAt = performance.now();
  await until("broker 3 back in every ISR", 60_000, async () => (await isr()).every((n) => n === 3));
  const caughtUpAt = performance.now();
  const caughtUpBytes = logBytes(cluster.dataDirs[2], "catch-up") - bytesBefore;
  await admin.disconnect();

  // failover: 10 SIGKILLs of the leader under an idempotent acks=all producer
  let failover: Record<string, unknown> | null = null;
  if (await havePythonModule("confluent_kafka")) {
    const producer = IdempotentProducer.start(cluster.brokers.map((b) => b.bootstrap).join(","), "failover");
    try {
      const rounds = await killLeaders(cluster, producer, { topic: "failover", rounds: KILLS, seed: SEED, minDelayMs: 200, maxDelayMs: 1500, tailEvery: 0, tailRecords: 0, quickRestartEvery: 0, log: (m) => console.error(m) });
      const done = await producer.stop();
      const ms = rounds.map((r) => r.failoverMs);
      const elected = rounds.map((r) => r.electedMs);
      failover = { kills: KILLS, seed: SEED, killToNextAckMs: ms, medianMs: median(ms), maxMs: Math.max(...ms), killToNewLeaderInMetadataMs: elected, electionMedianMs: median(elected), electionMaxMs: Math.max(...elected), producerMetadataRefreshMs: PRODUCER_METADATA_REFRESH_MS, restartToIsrMs: rounds.map((r) => r.rejoinMs), producer: done, failedOrFatal: producer.problems.filter((l) => l.startsWith("f ") || l.startsWith("E 1")).length };
    } finally {
      producer.kill();
    }
  } else console.log("SKIPPED failover: /usr/bin/python3 has no confluent_kafka (tests/setup.d/10-interop-peers.sh)");

  const row = (name: string, r: Record<string, unknown>) => {
    const p = r.produce as { recordsPerSec: number; mbPerSec: number; errors: number; latencyMs: { p50: number; p99: number } };
    return { run: name, "records/s": Math.round(p.recordsPerSec), "MB/s": p.mbPerSec.toFixed(1), "p50 ms": p.latencyMs.p50.toFixed(1), "p99 ms": p.latencyMs.p99.toFixed(1), errors: p.errors };
  };
  const rows = [row("RF=1 acks=all", rf1), row("RF=3 acks=all (min.insync.replicas=2)", rf3)];
  printTable(`Produce, ${RECORDS} records of ${SIZE} B, ${PARTITIONS} partitions, three brokers on loopback (median of ${REPEATS} alternating runs)`, rows);
  const allRates = (runs: Record<string, unknown>[]) => runs.map((r) => Math.round(rate(r)));
  console.log(`records/s of every run: RF=1 ${allRates(rf1Runs).join(", ")}; RF=3 ${allRates(rf3Runs).join(", ")}`);
  const mb = caughtUpBytes / 1e6;
  const catchUp = {
    records: CATCH_UP_RECORDS,
    recordSize: CATCH_UP_SIZE,
    mbCaughtUp: Number(mb.toFixed(1)),
    msFromRestartToFullIsr: Math.round(caughtUpAt - restartedAt),
    msFromListeningToFullIsr: Math.round(caughtUpAt - listeningAt),
    mbPerSecFromRestart: Number((mb / ((caughtUpAt - restartedAt) / 1000)).toFixed(1)),
    mbPerSecFromListening: Number((mb / ((caughtUpAt - listeningAt) / 1000)).toFixed(1)),
  };
  printTable("Follower catch-up (log bytes the restarted broker fetched until back in every ISR)", [catchUp]);
  if (failover !== null) printTable(`Failover: SIGKILL of the leader to the next acknowledged acks=all record, ${KILLS} kills (seed ${SEED})`, [
      { measure: "kill to next acknowledged record", "median ms": failover.medianMs as number, "max ms": failover.maxMs as number, "all ms": (failover.killToNextAckMs as number[]).join(" ") },
      { measure: "kill to new leader in Metadata", "median ms": failover.electionMedianMs as number, "max ms": failover.electionMaxMs as number, "all ms": (failover.killToNewLeaderInMetadataMs as number[]).join(" ") },
    ]);
  const command = `bun bench/replication.ts ${process.argv.slice(2).join(" ")}`.trim();
  console.log(`wrote ${writeResults("replication", { command, loadAverage: { atStart: loadAtStart, atEnd: os.loadavg().map((x) => Number(x.toFixed(2))), note: "1/5/15 min; the machine is shared, figures move with it" }, brokerSettings: ["replica.fetch.wait.max.ms=100", "replica.fetch.backoff.ms=100", ...SETTINGS.filter((a) => a !== "-o")], rf1, rf3, recordsPerSecEveryRun: { rf1: allRates(rf1Runs), rf3: allRates(rf3Runs) }, catchUp, failover })}`);
} finally {
  await cluster.close();
}
