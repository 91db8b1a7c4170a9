/**
 * A failed log dir on a partition's leader, in a cluster of three `runnel start` brokers on a real etcd (KIP-112 with
 * KIP-858's controller side): broker 1 leads a partition (replication factor 3, min.insync.replicas 2) from one of
 * its two log dirs, both on the forgetful disk. While confluent-kafka produces to it with acks=all, that dir's writes
 * and fsyncs fail with EIO. Broker 1 keeps running (its other dir is healthy) and publishes the replica as offline;
 * the controller elects a leader from the rest of the ISR in a new leader epoch and takes broker 1 out of the ISR;
 * Metadata and DescribeTopicPartitions list it in offlineReplicas. The producer keeps getting acknowledgements, and
 * every acknowledged record is at its offset on the new leader. Once broker 1 restarts with the disk healthy, its
 * replica catches up, rejoins the ISR, and, elected leader again, serves every acknowledged record. A follower's
 * failed log dir takes its replica out of the ISR at once (not after replica.lag.time.max.ms), so acks=all goes on
 * (DeleteRecords, which waits for every live replica, answers REQUEST_TIMED_OUT),
 * and its `/v1/ready` names the failed log dir as the reason, not a catching up that can never end. A replica
 * reassigned away from the failed dir and back is created anew on the healthy dir: online again, it joins the ISR.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { Kafka, logLevel } from "kafkajs";
import { PYTHON } from "../support/proc.ts";
import { RawClient, requestOnce } from "../support/raw-client.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { metadataOf, printBrokerLogs, startCluster, until, type TestCluster } from "../support/cluster-processes.ts";
import { forgetfulDiskForPowerCutTests, type ForgetfulDisk } from "./forgetful-disk.ts";
import { ackedNotPresent, brokerLogLine, parseAcks, readPartition } from "./read-partition.ts";
import { HTTP_LINE, httpJson } from "../support/http-broker.ts";

const TOPIC = "dirfail";
const VALUE_BYTES = 512;
const forgetful = await forgetfulDiskForPowerCutTests();

/** Leader, leader epoch, ISR and offline replicas of `TOPIC`-0 in Metadata v12 at `port`. */
async function stateAt(port: number): Promise<{ leader: number; epoch: number; isr: number[]; offline: number[] }> {
  const md = await metadataOf(port);
  const p = md.topics.find((t) => t.name === TOPIC)!.partitions[0];
  return { leader: p.leaderId, epoch: p.leaderEpoch ?? -1, isr: [...p.isrNodes].sort(), offline: [...(p.offlineReplicas ?? [])].sort() };
}

/** Offline replicas of `TOPIC`-0 in DescribeTopicPartitions v0 at `port`. */
async function describedOffline(port: number): Promise<number[]> {
  const c = await RawClient.connect(port);
  try {
    const r = await c.request(75, 0, { topics: [{ name: TOPIC }], responsePartitionLimit: 100, cursor: null });
    return [...r.topics[0].partitions[0].offlineReplicas].sort();
  } finally {
    c.close();
  }
}

/**
 * Runs `body` on three brokers on etcd (no automatic leader rebalance, `extra` settings, `perBroker(id)` arguments),
 * broker 1's log dirs `PREFIX-a` and `PREFIX-b` on a fresh forgetful disk; prints the brokers' logs when it fails, and
 * always heals the disk and stops the cluster.
 */
async function withBroker1OnDisk(prefix: string, extra: string[], perBroker: (id: number) => string[], body: (c: TestCluster, dirs: string[], disk: ForgetfulDisk) => Promise<void>): Promise<void> {
  const disk = forgetful.disk();
  const dirs = [path.join(disk.dir, `${prefix}-a`), path.join(disk.dir, `${prefix}-b`)];
  let cluster: TestCluster | null = null;
  try {
    cluster = await startCluster(["-o", "auto.leader.rebalance.enable=false", ...extra], perBroker, () => "bun", (id, base) => (id === 1 ? dirs.join(",") : path.join(base, `b${id}`)));
    await body(cluster, dirs, disk);
  } catch (e) {
    if (cluster !== null) printBrokerLogs(cluster.brokers);
    throw e;
  } finally {
    disk.failWithEio(null);
    await cluster?.close();
  }
}

/** Creates `topic` with `partitions` partitions (default 1), each on `replicas` (kafkajs admin), waiting for the leaders. */
async function createTopic(c: TestCluster, topic: string, replicas: number[], configEntries: { name: string; value: string }[] = [], partitions = 1): Promise<void> {
  const admin = new Kafka({ clientId: topic, brokers: c.brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const replicaAssignment = Array.from({ length: partitions }, (_, partition) => ({ partition, replicas }));
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, replicaAssignment, configEntries }] });
  } finally {
    await admin.disconnect();
  }
}

/** The one of broker 1's `dirs` holding `topic`-`partition`. */
function dirHolding(dirs: readonly string[], topic: string, partition = 0): string {
  const dir = dirs.find((d) => fs.existsSync(path.join(d, `${topic}-${partition}`)));
  assert.ok(dir !== undefined, `${topic}-${partition} has a directory in one of broker 1's log dirs`);
  return dir;
}

/** confluent-kafka producing to `TOPIC`-0 of `c` with acks=all (acked_producer.py); `acked(n)` waits for n acknowledgements. */
function ackedProducer(c: TestCluster, topic = TOPIC) {
  const child = spawn(PYTHON, [path.join(import.meta.dirname, "acked_producer.py"), c.brokers.map((b) => b.bootstrap).join(","), topic, "k", String(VALUE_BYTES), "0"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let acks = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  child.stdout!.on("data", (d) => {
    out += d.toString();
    acks = out.split("\n").length - 1;
    for (const w of waiters.splice(0)) if (acks >= w.n) w.resolve();
    else waiters.push(w);
  });
  const closed = new Promise<void>((resolve) => child.on("close", () => resolve()));
  return {
    acks: () => acks,
    out: () => out,
    acked: (n: number, what: string) =>
      Promise.race([
        new Promise<void>((resolve) => (acks >= n ? resolve() : waiters.push({ n, resolve }))),
        closed.then(() => {
          throw new Error(`the producer exited after ${acks} acknowledgements, waiting for ${what}`);
        }),
      ]),
    async stop() {
      child.kill("SIGKILL");
      await closed;
    },
  };
}

test("EIO under the leader's log dir moves the leadership to another in-sync replica; acks=all goes on and nothing acknowledged is lost", { skip: forgetful.skip, timeout: 400_000 }, async () => {
  await withBroker1OnDisk("b1", [], () => [], async (c, dirs, disk) => {
    await createTopic(c, TOPIC, [1, 2, 3], [{ name: "min.insync.replicas", value: "2" }]);
    await until(`${TOPIC}-0 led by broker 1 with all three in sync`, 60_000, async () => {
      const s = await stateAt(c.brokers[1].port);
      return s.leader === 1 && s.isr.length === 3;
    });
    const failing = dirHolding(dirs, TOPIC);
    const before = await stateAt(c.brokers[1].port);

    const producer = ackedProducer(c);
    const { acked } = producer;
    let failedAt = 0;
    try {
      await acked(300, "300 acknowledgements before the disk fails");
      disk.failWithEio(failing);
      await brokerLogLine(c.brokers[0], new RegExp(`log dir ${failing} is offline`), 60_000, "log dir offline line");
      failedAt = producer.acks();
      // the controller moves the leadership off the failed replica, in a new leader epoch, and out of the ISR
      await until("a new leader of the partition", 60_000, async () => {
        const s = await stateAt(c.brokers[1].port);
        return s.leader !== 1 && s.leader >= 0;
      });
      const after = await stateAt(c.brokers[1].port);
      assert.ok(after.epoch > before.epoch, `leader epoch ${before.epoch} -> ${after.epoch}`);
      assert.deepEqual(after.isr, [2, 3], "the failed replica leaves the ISR");
      assert.deepEqual(after.offline, [1], "Metadata lists broker 1's replica as offline");
      assert.deepEqual(await describedOffline(c.brokers[2].port), [1], "DescribeTopicPartitions lists it as offline");
      assert.equal(c.brokers[0].child.exitCode, null, "broker 1 keeps running on its healthy log dir");
      // the producer goes on: acknowledgements from the new leader
      await acked(failedAt + 300, "300 acknowledgements after the leader moved");
    } finally {
      await producer.stop();
    }
    const ackedRecords = parseAcks(producer.out());
    const leader = (await stateAt(c.brokers[1].port)).leader;
    const present = await readPartition(c.brokers[leader - 1].port, TOPIC, 0, VALUE_BYTES);
    const lost = ackedNotPresent(ackedRecords, present);
    assert.deepEqual(lost.slice(0, 10), [], `${lost.length} of ${ackedRecords.size} acknowledged records lost on the new leader ${leader}`);

    // broker 1 restarts with the disk healthy: its replica catches up and rejoins the ISR
    disk.failWithEio(null);
    await c.brokers[0].stop("SIGKILL");
    await c.restart(1);
    await until("broker 1 back in the ISR, no replica offline", 90_000, async () => {
      const s = await stateAt(c.brokers[1].port);
      return s.isr.length === 3 && s.offline.length === 0;
    });
    const raw = await RawClient.connect(c.brokers[0].port);
    try {
      raw.timeoutMs = 30_000;
      const r = await raw.request(43, 2, { electionType: 0, topicPartitions: [{ topic: TOPIC, partitions: [0] }], timeoutMs: 30_000 });
      assert.equal(r.replicaElectionResults[0].partitionResult[0].errorCode, 0, "preferred election of broker 1");
    } finally {
      raw.close();
    }
    await until("broker 1 leads again", 60_000, async () => (await stateAt(c.brokers[0].port)).leader === 1);
    const recovered = await readPartition(c.brokers[0].port, TOPIC, 0, VALUE_BYTES);
    const missing = ackedNotPresent(ackedRecords, recovered);
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} of ${ackedRecords.size} acknowledged records missing on the recovered broker 1`);
  });
});

test("EIO under a follower's log dir takes it out of the ISR at once; acks=all goes on without it; its /v1/ready says why", { skip: forgetful.skip, timeout: 400_000 }, async () => {
  const topic = "dirfail-follower";
  // a lagging follower leaves the ISR only after 10 minutes: what takes it out sooner is its offline report
  await withBroker1OnDisk("f1", ["-o", "replica.lag.time.max.ms=600000"], (id) => (id === 1 ? ["--http", "http://127.0.0.1:0"] : []), async (c, dirs, disk) => {
    await createTopic(c, topic, [2, 1, 3], [{ name: "min.insync.replicas", value: "2" }]);
    // more partitions on broker 1: those in its other log dir (each new one goes to the least loaded dir) stay online
    const healthy = "dirfail-healthy";
    await createTopic(c, healthy, [2, 1, 3], [], 4);
    const state = async (name = topic, partition = 0) => {
      const p = (await metadataOf(c.brokers[2].port)).topics.find((t) => t.name === name)!.partitions.find((x) => x.partitionIndex === partition)!;
      return { leader: p.leaderId, isr: [...p.isrNodes].sort(), offline: [...(p.offlineReplicas ?? [])].sort() };
    };
    await until(`${topic}-0 led by broker 2 with all three in sync`, 60_000, async () => {
      const s = await state();
      return s.leader === 2 && s.isr.length === 3;
    });
    const failing = dirHolding(dirs, topic);
    const inFailing = [0, 1, 2, 3].filter((p) => dirHolding(dirs, healthy, p) === failing);
    const inOther = [0, 1, 2, 3].filter((p) => !inFailing.includes(p));
    assert.ok(inOther.length > 0, `some of ${healthy}'s partitions are in broker 1's other log dir`);
    await until(`${healthy}-${inOther[0]} with all three in sync`, 60_000, async () => (await state(healthy, inOther[0])).isr.length === 3);
    const producer = ackedProducer(c, topic);
    try {
      await producer.acked(300, "300 acknowledgements before the disk fails");
      disk.failWithEio(failing);
      await brokerLogLine(c.brokers[0], new RegExp(`log dir ${failing} is offline`), 60_000, "log dir offline line");
      await until("broker 1 out of the ISR and listed offline", 60_000, async () => {
        const s = await state();
        return s.isr.join() === "2,3" && s.offline.join() === "1";
      });
      assert.equal((await state()).leader, 2, "the leader stays");
      // the failed dir's replicas are published in one record: the other dir's partition is not in it
      assert.deepEqual(await state(healthy, inOther[0]), { leader: 2, isr: [1, 2, 3], offline: [] }, `${healthy}-${inOther[0]} in the healthy dir stays online and in sync`);
      // broker 1 will never catch up on that disk: /v1/ready says so, not 'catching up'
      const url = HTTP_LINE.exec(c.brokers[0].log())?.[1];
      assert.ok(url !== undefined, "broker 1 logs its HTTP URL");
      const ready = await httpJson(`${url}/v1/ready`);
      assert.equal(ready.status, 503, JSON.stringify(ready.body));
      // it names replicas of the failed dir only, this one among them (under --shards, another shard's partitions in
      // that dir go offline at their own next write there: docs/sharding.md)
      const inDir = [`${topic}-0`, ...inFailing.map((p) => `${healthy}-${p}`)];
      const why = /^log dir failed: (\d+) replica\(s\) here are offline \((.*)\); restart the broker with a working disk$/.exec(ready.body.reason);
      assert.ok(why !== null, ready.body.reason);
      const named = why[2].split(", ");
      assert.equal(Number(why[1]), named.length, ready.body.reason);
      assert.ok(named.includes(`${topic}-0`) && named.every((n) => inDir.includes(n)), `${ready.body.reason}: expected ${topic}-0 and only replicas of the failed dir (${inDir.join(", ")})`);
      await producer.acked(producer.acks() + 300, "300 acknowledgements with broker 1 out of the ISR");
    } finally {
      await producer.stop();
    }
    const acked = parseAcks(producer.out());
    const present = await readPartition(c.brokers[1].port, topic, 0, VALUE_BYTES);
    const lost = ackedNotPresent(acked, present);
    assert.deepEqual(lost.slice(0, 10), [], `${lost.length} of ${acked.size} acknowledged records lost`);
    // DeleteRecords waits for every live replica's log start, broker 1's offline one too (as Kafka's
    // lowWatermarkIfLeader): it answers REQUEST_TIMED_OUT at its timeout, it does not hang
    const deleted = await requestOnce(c.brokers[1].port, 21, 2, { topics: [{ name: topic, partitions: [{ partitionIndex: 0, offset: 10n }] }], timeoutMs: 2_000 });
    assert.equal(deleted.topics[0].partitions[0].errorCode, ErrorCode.REQUEST_TIMED_OUT);
  });
});

test("a replica reassigned away from a failed log dir and back is a new replica in a healthy dir: it joins the ISR and the move completes", { skip: forgetful.skip, timeout: 400_000 }, async () => {
  const topic = "dirfail-back";
  await withBroker1OnDisk("r1", [], () => [], async (c, dirs, disk) => {
    await createTopic(c, topic, [2, 1, 3]);
    const admin = new Kafka({ clientId: "dirfail-back", brokers: c.brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const state = async () => {
        const p = (await metadataOf(c.brokers[2].port)).topics.find((t) => t.name === topic)!.partitions[0];
        return { replicas: [...p.replicaNodes].join(), isr: [...p.isrNodes].sort().join(), offline: [...(p.offlineReplicas ?? [])].join() };
      };
      await until(`${topic}-0 with all three in sync`, 60_000, async () => (await state()).isr === "1,2,3");
      const failing = dirHolding(dirs, topic);
      disk.failWithEio(failing);
      // the next produce's write fails on broker 1 (a follower) and takes the dir offline
      const producer = ackedProducer(c, topic);
      try {
        await producer.acked(50, "50 acknowledgements");
        await brokerLogLine(c.brokers[0], new RegExp(`log dir ${failing} is offline`), 60_000, "log dir offline line");
        await until("broker 1 out of the ISR and listed offline", 60_000, async () => {
          const s = await state();
          return s.isr === "2,3" && s.offline === "1";
        });
        // moved away from broker 1, then back: broker 1 creates the replica anew in its healthy dir
        await admin.alterPartitionReassignments({ topics: [{ topic, partitionAssignment: [{ partition: 0, replicas: [2, 3] }] }] });
        await until("the move away from broker 1 done", 60_000, async () => (await state()).replicas === "2,3");
        await admin.alterPartitionReassignments({ topics: [{ topic, partitionAssignment: [{ partition: 0, replicas: [2, 3, 1] }] }] });
        await until("broker 1's new replica in the ISR, nothing offline, the move done", 60_000, async () => {
          const s = await state();
          return s.replicas === "2,3,1" && s.isr === "1,2,3" && s.offline === "";
        });
        assert.ok(!fs.existsSync(path.join(failing, `${topic}-0`)), "the new replica is not in the failed dir");
      } finally {
        await producer.stop();
      }
    } finally {
      await admin.disconnect();
    }
  });
});
