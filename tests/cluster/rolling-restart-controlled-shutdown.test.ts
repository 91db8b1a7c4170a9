/**
 * Rolling restart with controlled shutdown (three `runnel start` processes on one etcd). While an idempotent
 * acks=all confluent-kafka producer and a confluent-kafka consumer group run without pause, each broker in turn gets
 * SIGTERM, exits, is started again on its port, and the test waits for every ISR to be back to three. Checked:
 * - each broker led partitions before its SIGTERM, and Metadata (asked of another broker in a tight loop) showed
 *   it leading none before its process exited: the leaderships moved during the shutdown, not after;
 * - the producer saw no failed delivery and no fatal error;
 * - the topic holds every acknowledged record exactly once, in order per partition;
 * - the consumer group received every record exactly once (it commits synchronously after each batch).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { startCluster, until, metadataOf, type TestCluster } from "../support/cluster-processes.ts";
import { PYTHON, havePythonModule, runProc } from "../support/proc.ts";
import { startProcess, type RunningProcess } from "../client/subprocess.ts";
import { RawClient } from "../support/raw-client.ts";
import type { MetadataResponse } from "../../src/protocol/generated/03_metadata.ts";

const TOPIC = "rolling";
const FIXTURE = path.join(import.meta.dirname, "fixtures", "rolling_clients.py");
const skip = ETCD_SKIP_REASON || ((await havePythonModule("confluent_kafka")) ? false : "SKIPPED: no confluent-kafka for /usr/bin/python3 (bash tests/setup.d/10-interop-peers.sh)");

const metadata = (port: number) => metadataOf(port);

/**
 * Replicated partitions (of every topic, internal ones included) led by `id`, and whether every partition has a
 * leader and all its replicas in sync. A single-replica partition cannot move and is led until its broker is gone.
 */
function leadsAndIsr(md: MetadataResponse, id: number): { leads: number; allInSync: boolean } {
  let leads = 0;
  let allInSync = true;
  for (const t of md.topics) {
    for (const p of t.partitions) {
      if (p.leaderId === id && p.replicaNodes.length > 1) leads++;
      if (p.isrNodes.length !== p.replicaNodes.length || p.leaderId < 0) allInSync = false;
    }
  }
  return { leads, allInSync };
}

/**
 * Sends SIGTERM to broker `id` and asks another broker for Metadata in a tight loop until the process exits:
 * the number of partitions it led at SIGTERM, and whether Metadata showed it leading none before the exit.
 */
async function shutDownWatchingMetadata(cluster: TestCluster, id: number): Promise<{ ledBefore: number; movedBeforeExit: boolean; exitCode: number | string | null }> {
  const survivor = cluster.brokers[(id % 3)];
  const ledBefore = leadsAndIsr(await metadata(survivor.port), id).leads;
  const watcher = await RawClient.connect(survivor.port);
  watcher.timeoutMs = 10_000;
  let exited = false;
  let movedBeforeExit = false;
  const exit = cluster.brokers[id - 1].stop("SIGTERM").then((code) => {
    exited = true;
    return code;
  });
  try {
    while (!exited) {
      const md = await watcher.request<MetadataResponse>(3, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      if (!exited && leadsAndIsr(md, id).leads === 0) movedBeforeExit = true;
    }
  } finally {
    watcher.close();
  }
  return { ledBefore, movedBeforeExit, exitCode: await exit };
}

test("rolling restart with SIGTERM: leaderships move before each exit, no record lost or duplicated, no fatal producer error", { skip, timeout: 400_000 }, async () => {
  const cluster = await startCluster([
    "-o", "broker.session.timeout.ms=3000",
    "-o", "replica.lag.time.max.ms=10000",
    "-o", "offsets.topic.replication.factor=3",
    "-o", "offsets.topic.num.partitions=3",
    "-o", "auto.leader.rebalance.enable=false",
  ]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-rolling-"));
  const stopFile = path.join(dir, "stop");
  const countFile = path.join(dir, "count");
  let producer: RunningProcess | null = null;
  let consumer: RunningProcess | null = null;
  try {
    const bootstrap = cluster.brokers.map((b) => b.bootstrap).join(",");
    const kafka = new Kafka({ clientId: "rolling", brokers: cluster.brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING });
      const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 3, configEntries: [{ name: "min.insync.replicas", value: "2" }] }] });
    await admin.disconnect();

    consumer = startProcess(PYTHON, [FIXTURE, "consume", bootstrap, TOPIC, "rolling-group", stopFile, countFile], { timeoutMs: 360_000 });
    producer = startProcess(PYTHON, [FIXTURE, "produce", bootstrap, TOPIC, stopFile], { timeoutMs: 360_000 });
    const acked = () => Number(/acked (\d+)\n(?![\s\S]*acked)/.exec(producer!.stdout())?.[1] ?? 0);
    await until("the producer to have 300 records acknowledged", 60_000, () => acked() >= 300);
    let last: MetadataResponse | null = null;
    await until("every partition to be in sync", 60_000, async () => leadsAndIsr((last = await metadata(cluster.brokers[0].port)), 0).allInSync).catch((e) => {
      throw new Error(`${(e as Error).message}: ${JSON.stringify(last?.topics.map((t) => [t.name, t.partitions.map((p) => [p.leaderId, p.replicaNodes, p.isrNodes])]))}\n${consumer!.stdout()}`);
    });

    for (const id of [1, 2, 3]) {
      const before = acked();
      const t0 = Date.now();
      const r = await shutDownWatchingMetadata(cluster, id);
      console.log(`broker ${id}: led ${r.ledBefore} replicated partition(s), stopped in ${Date.now() - t0} ms after SIGTERM`);
      assert.equal(r.exitCode, 0, `broker ${id} exit code\n${cluster.brokers[id - 1].log().slice(-3000)}`);
      assert.ok(r.ledBefore > 0, `broker ${id} led nothing before its SIGTERM`);
      assert.ok(r.movedBeforeExit, `Metadata still named broker ${id} leader when it exited\n${cluster.brokers[id - 1].log().slice(-3000)}`);
      assert.match(cluster.brokers[id - 1].log(), /controlled shutdown: leaderships moved/);
      await cluster.restart(id, { samePort: true });
      await until(`every ISR back to three after broker ${id} restarted`, 90_000, async () => leadsAndIsr(await metadata(cluster.brokers[id - 1].port), -1).allInSync);
      await until(`the producer to carry on after broker ${id}`, 60_000, () => acked() >= before + 200);
    }

    fs.writeFileSync(stopFile, "");
    const p = await producer.done;
    const summary = JSON.parse(p.stdout.trim().split("\n").pop()!) as { sent: number; acked: number; unflushed: number; failureCount: number; failures: string[]; fatal: string[] };
    assert.equal(summary.failureCount, 0, `failed deliveries: ${summary.failures.join("; ")}`);
    assert.deepEqual(summary.fatal, []);
    assert.equal(summary.unflushed, 0);
    assert.equal(summary.acked, summary.sent);
    fs.writeFileSync(countFile, String(summary.acked));
    const c = await consumer.done;
    assert.equal(c.code, 0, c.stderr);
    const group = JSON.parse(c.stdout.trim().split("\n").pop()!) as { distinct: number; duplicates: number; duplicateSample: number[]; values: number[] };

    const read = await runProc(PYTHON, [FIXTURE, "read", bootstrap, TOPIC], { timeoutMs: 120_000 });
    assert.equal(read.code, 0, read.stderr);
    const byPartition = JSON.parse(read.stdout.trim().split("\n").pop()!) as Record<string, [number, number][]>;
    const all = Object.values(byPartition).flatMap((pairs) => pairs.map(([, value]) => value));
    for (const [p, pairs] of Object.entries(byPartition)) {
      for (let i = 1; i < pairs.length; i++) {
        const [[o1, v1], [o2, v2]] = [pairs[i - 1], pairs[i]];
        assert.ok(v2 > v1, `partition ${p} out of order at ${i}: ${v1} (offset ${o1}) then ${v2} (offset ${o2})`);
      }
    }
    assert.equal(all.length, summary.acked, "the topic holds each acknowledged record once");
    assert.deepEqual([...new Set(all)].sort((a, b) => a - b), Array.from({ length: summary.acked }, (_, i) => i));
    assert.equal(group.duplicates, 0, `the group received duplicates: ${group.duplicateSample.join(",")}`);
    assert.deepEqual(group.values, Array.from({ length: summary.acked }, (_, i) => i), "the group received every record");
    console.log(`rolling restart: ${summary.acked} records acknowledged, all read back once; the group received ${group.distinct}`);
  } finally {
    fs.writeFileSync(stopFile, "");
    if (producer) await Promise.race([producer.done, new Promise((r) => setTimeout(r, 5_000))]).then(() => producer!.kill("SIGKILL")).catch(() => {});
    if (consumer) {
      fs.writeFileSync(countFile, "0");
      await Promise.race([consumer.done, new Promise((r) => setTimeout(r, 5_000))]).then(() => consumer!.kill("SIGKILL")).catch(() => {});
    }
    await cluster.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
