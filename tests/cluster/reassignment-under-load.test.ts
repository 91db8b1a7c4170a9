/**
 * Partition reassignment under load (issue 10, acceptance 2), on real processes and one etcd:
 * - a 6-partition RF=1 topic is moved to RF=3 over brokers {1,2,3} (kafkajs AlterPartitionReassignments) while an
 *   idempotent producer sends with acks=all; the new replicas' segment bytes equal the old replica's;
 * - a fourth broker joins with only its own settings, and Kafka's own `kafka-reassign-partitions --execute
 *   --throttle` moves the topic from {1,2,3} to {2,3,4} while producing; the replication throttle
 *   (`leader/follower.replication.throttled.rate` and `.replicas`, set by the tool) keeps the move observable, and
 *   ListPartitionReassignments shows the adding and removing replicas while it runs; `--verify` sees it complete and
 *   removes the throttle;
 * - afterwards broker 1 holds no file of the topic, every replica on {2,3,4} has the same segment bytes, and every
 *   acknowledged record is read back exactly once, in order per partition.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Kafka, logLevel, type Admin } from "kafkajs";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { startCluster, until } from "../support/cluster-processes.ts";
import { haveCommand, runProc } from "../support/proc.ts";
import { javaSkip, KAFKA_TOOL, runJava } from "../support/java.ts";
import { partitionLogBytes } from "../support/segment-batches.ts";

const skip = ETCD_SKIP_REASON || (haveCommand("kcat") ? false : "SKIPPED: no kcat (bash tests/setup.d/*kcat*.sh)") || (javaSkip ? `SKIPPED: ${javaSkip}` : false);
/** The throttle the move runs under, bytes/s (with replication.quota.window.num=2 the first second passes freely). */
const THROTTLE = 1_000_000;
const TOPIC = "moving";
const PARTITIONS = 6;


/** Whether the shorter of two byte strings is a prefix of the longer (replicas still catching up). */
function samePrefix(a: Buffer, b: Buffer): boolean {
  const n = Math.min(a.length, b.length);
  return a.subarray(0, n).equals(b.subarray(0, n));
}

async function placement(admin: Admin): Promise<{ partitionId: number; leader: number; replicas: number[]; isr: number[] }[]> {
  return (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0].partitions.sort((a, b) => a.partitionId - b.partitionId);
}

test("a 6-partition RF=1 topic moves to RF=3, then from brokers {1,2,3} to {2,3,4}, while producing", { skip, timeout: 400_000 }, async () => {
  const cluster = await startCluster(["-o", "replica.lag.time.max.ms=2000", "-o", "log.segment.bytes=1048576", "-o", "replication.quota.window.num=2"]);
  const { brokers, dataDirs } = cluster;
  const bootstrap = () => brokers.filter((b) => b !== undefined).map((b) => b.bootstrap);
  try {
    const kafka = new Kafka({ clientId: "reassign", brokers: bootstrap(), logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 1000 } });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1 }] });
    const initial = await placement(admin);
    assert.ok(initial.every((p) => p.replicas.length === 1), JSON.stringify(initial));

    // an idempotent acks=all producer runs through both moves
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    const acked: string[][] = Array.from({ length: PARTITIONS }, () => []);
    const payload = "x".repeat(1000);
    let producing = true;
    let sent = 0;
    let pauseMs = 0;
    // One partition per send: kafkajs retries a send only to brokers that have not answered yet, so a send spanning
    // several leaders loses the partitions whose leader moved to a broker that had already answered.
    const load = (async () => {
      while (producing) {
        const partition = (sent / 20) % PARTITIONS;
        const batch = Array.from({ length: 20 }, (_, j) => ({ partition, value: `v${sent + j}|${payload}` }));
        await producer.send({ topic: TOPIC, acks: -1, messages: batch });
        for (const m of batch) acked[m.partition].push(m.value);
        sent += batch.length;
        if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      }
    })();
    await until("some records before the first move", 60_000, () => sent >= 3000);

    // RF 1 -> 3: each partition keeps its replica first (its leader) and adds the other two brokers
    await admin.alterPartitionReassignments({ topics: [{ topic: TOPIC, partitionAssignment: initial.map((p) => ({ partition: p.partitionId, replicas: [p.replicas[0], ...[1, 2, 3].filter((b) => b !== p.replicas[0])] })) }] });
    await until("the RF=3 move to complete", 120_000, async () => (await admin.listPartitionReassignments({})).topics.length === 0);
    const rf3 = await placement(admin);
    for (const p of rf3) {
      assert.deepEqual([...p.replicas].sort(), [1, 2, 3], JSON.stringify(p));
      assert.equal(p.leader, initial[p.partitionId].replicas[0], "leadership stayed on the original replica");
      assert.deepEqual([...p.isr].sort(), [1, 2, 3]);
      // the new replicas hold the old replica's bytes (a prefix while the producer keeps appending)
      const [a, b, c] = [1, 2, 3].map((id) => partitionLogBytes(dataDirs[id - 1], TOPIC, p.partitionId));
      assert.ok(a.length > 0 && samePrefix(a, b) && samePrefix(a, c), `replicas of ${TOPIC}-${p.partitionId} agree`);
    }
    await until("more records after the first move", 60_000, () => sent >= 9000);
    pauseMs = 50; // from here on the producer runs slower than the throttle, so the moving replicas can catch up

    // a fourth broker joins with only its own settings; Kafka's tool moves the topic from {1,2,3} to {2,3,4}
    await cluster.add(4);
    await until("broker 4 to be registered", 60_000, async () => (await admin.describeCluster()).brokers.length === 4);
    const plan = path.join(cluster.dataDirs[0], "..", "plan.json");
    fs.writeFileSync(plan, JSON.stringify({ version: 1, partitions: rf3.map((p) => ({ topic: TOPIC, partition: p.partitionId, replicas: [2, 3, 4] })) }));
    const tool = (...args: string[]) => runJava(KAFKA_TOOL.reassignPartitions, ["--bootstrap-server", bootstrap().join(","), "--reassignment-json-file", plan, ...args]);
    const executed = await tool("--execute", "--throttle", String(THROTTLE));
    assert.equal(executed.code, 0, executed.stdout + executed.stderr);
    assert.match(executed.stdout, /Successfully started partition reassignments/);
    // the tool set Kafka's throttle configs: the rates on the brokers, the replica lists on the topic
    const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 4, name: "4" }, { type: 2, name: TOPIC }] });
    const value = (i: number, key: string) => described.resources[i].configEntries.find((e) => e.configName === key)?.configValue;
    assert.equal(value(0, "follower.replication.throttled.rate"), String(THROTTLE));
    assert.equal(value(0, "leader.replication.throttled.rate"), String(THROTTLE));
    assert.match(value(1, "follower.replication.throttled.replicas") ?? "", /0:4/);
    assert.match(value(1, "leader.replication.throttled.replicas") ?? "", /0:[123]/);
    // ListPartitionReassignments while the move runs: every moving partition adds 4 and removes 1
    let observed = 0;
    await until("the move to {2,3,4} to complete", 180_000, async () => {
      const progress = await admin.listPartitionReassignments({});
      // (kafkajs types say `topic`; it hands over the response's `name`)
      const moving = progress.topics.find((t) => (t as unknown as { name: string }).name === TOPIC)?.partitions ?? [];
      for (const p of moving) {
        assert.deepEqual(p.addingReplicas, [4], JSON.stringify(p));
        assert.deepEqual(p.removingReplicas, [1], JSON.stringify(p));
        assert.deepEqual([...p.replicas].sort(), [1, 2, 3, 4]);
      }
      if (moving.length > 0) observed++;
      return moving.length === 0;
    });
    assert.ok(observed > 0, "ListPartitionReassignments showed the move in progress");
    console.error(`ListPartitionReassignments showed the move in progress ${observed} time(s)`);
    const verified = await tool("--verify");
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /Reassignment of partition moving-0 is completed/);
    assert.match(verified.stdout, /Clearing broker-level throttles on brokers 1,2,3,4/);
    producing = false;
    await load;
    await producer.disconnect();
    const after = await placement(admin);
    for (const p of after) {
      assert.deepEqual(p.replicas, [2, 3, 4], JSON.stringify(p));
      assert.ok([2, 3, 4].includes(p.leader));
    }
    await admin.disconnect();

    // broker 1 deletes the topic's files; the three replicas converge on the same bytes
    await until("broker 1 to hold no file of the topic", 60_000, () => !fs.readdirSync(dataDirs[0]).some((f) => f.startsWith(`${TOPIC}-`)));
    for (let p = 0; p < PARTITIONS; p++) {
      await until(`the replicas of ${TOPIC}-${p} on 2, 3 and 4 to be identical`, 60_000, () => {
        const [a, b, c] = [2, 3, 4].map((id) => partitionLogBytes(dataDirs[id - 1], TOPIC, p));
        return a.length > 0 && a.equals(b) && a.equals(c);
      });
    }

    // every acknowledged record exactly once, in order, per partition
    for (let p = 0; p < PARTITIONS; p++) {
      const kc = await runProc("kcat", ["-C", "-b", bootstrap().join(","), "-t", TOPIC, "-p", String(p), "-o", "beginning", "-e", "-q", "-f", "%s\\n"], { timeoutMs: 120_000 });
      assert.equal(kc.code, 0, kc.stderr);
      const read = kc.stdout.split("\n").filter((l) => l.length > 0);
      assert.equal(read.length, acked[p].length, `partition ${p}: read ${read.length}, acknowledged ${acked[p].length}`);
      assert.ok(read.every((v, i) => v === acked[p][i]), `partition ${p}: every acknowledged record once, in order`);
    }
  } finally {
    await cluster.close();
  }
});
