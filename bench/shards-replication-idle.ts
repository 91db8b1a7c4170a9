/**
 * What a sharded cluster node costs at rest (docs/sharding.md, "A sharded broker of an etcd cluster"): three
 * `runnel start` nodes on one etcd for each configuration `SHARDS:WAIT_MS` of `--configs` (each on a fresh cluster,
 * in the order given, the list run `--repeat` times), a 6-partition topic with replication factor 3, and once
 * every ISR is full and the admin client has left, over `--seconds`: each node's CPU (all threads, /proc) per second
 * and the Fetch requests it answered per second (replica fetches only: no client is connected). WAIT_MS is every
 * node's `replica.fetch.wait.max.ms`: each replica fetcher long-polls the leader once per WAIT_MS at rest, so two
 * configurations of one shard count give the CPU of one fetch round (answered here, sent by the follower there) and
 * what runs at rest without it (the straight line through both).
 *
 *   bun bench/shards-replication-idle.ts [--configs 1:100,2:100,1:500,2:500] [--repeat 2] [--seconds 6]
 */
import { parseArgs } from "node:util";
import * as os from "node:os";
import { Kafka, logLevel } from "kafkajs";
import { ETCD_SKIP_REASON } from "../tests/support/etcd.ts";
import { startCluster, until } from "../tests/support/cluster-processes.ts";
import { HTTP_LINE } from "../tests/support/http-broker.ts";
import { cpuOf, fetchRequests } from "./node-stats.ts";

const { values } = parseArgs({ options: { configs: { type: "string", default: "1:100,2:100,1:500,2:500" }, repeat: { type: "string", default: "2" }, seconds: { type: "string", default: "6" } } });
const CONFIGS = values.configs.split(",").map((c) => ({ shards: Number(c.split(":")[0]), waitMs: Number(c.split(":")[1]) }));
const REPEAT = Number(values.repeat);
const SECONDS = Number(values.seconds);
for (const c of CONFIGS) if (!Number.isInteger(c.shards) || c.shards < 1 || !Number.isInteger(c.waitMs) || c.waitMs < 1) throw new Error(`--configs: each entry is SHARDS:WAIT_MS, got ${values.configs}`);
/** Quiet time after the admin client leaves, before measuring (its connections close, ISR writes settle). */
const SETTLE_MS = 3000;

if (ETCD_SKIP_REASON) {
  console.log(ETCD_SKIP_REASON);
  process.exit(0);
}

for (let round = 0; round < REPEAT; round++) {
  for (const c of CONFIGS) {
    const cluster = await startCluster(["--shards", String(c.shards), "--http", "http://127.0.0.1:0", "-o", `replica.fetch.wait.max.ms=${c.waitMs}`]);
    try {
      await until("every node's HTTP line", 30_000, () => cluster.brokers.every((b) => HTTP_LINE.test(b.log())));
      const urls = cluster.brokers.map((b) => HTTP_LINE.exec(b.log())![1]);
      const admin = new Kafka({ clientId: "bench-shards-replication-idle", brokers: cluster.brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic: "rf3", numPartitions: 6, replicationFactor: 3, configEntries: [{ name: "min.insync.replicas", value: "2" }] }] });
      await until("full ISRs", 60_000, async () => (await admin.fetchTopicMetadata({ topics: ["rf3"] })).topics[0].partitions.every((p) => p.isr.length === 3));
      await admin.disconnect();
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const pids = cluster.brokers.map((b) => b.child.pid!);
      const cpu0 = pids.map((p) => cpuOf(p));
      const fetches0 = await Promise.all(urls.map(fetchRequests));
      await new Promise((r) => setTimeout(r, SECONDS * 1000));
      const cpu = pids.map((p, i) => Math.round(((cpuOf(p) - cpu0[i]) * 1000) / SECONDS));
      const fetches = (await Promise.all(urls.map(fetchRequests))).map((f, i) => ((f - fetches0[i]) / SECONDS).toFixed(1));
      console.log(`shards=${c.shards} replica.fetch.wait.max.ms=${c.waitMs}: CPU at rest ms/s per node ${cpu.join(" ")}, Fetch requests answered/s per node ${fetches.join(" ")}, load1 ${os.loadavg()[0].toFixed(2)}`);
    } finally {
      await cluster.close();
    }
  }
}
