/**
 * Cancelling a reassignment (AlterPartitionReassignments with null replicas) on real processes: a move of a
 * partition from broker 1 to broker 2, held back by a replication throttle, is listed by ListPartitionReassignments
 * with its adding and removing replicas; the cancel puts the partition back on broker 1 alone, broker 2 deletes the
 * files it had copied, the move is no longer listed, and a second cancel answers NO_REASSIGNMENT_IN_PROGRESS; every
 * record is still read back from broker 1. A new replica joins the ISR on its catching-up fetch (no wait for the
 * periodic check). A broker moved off a partition while it was down deletes its stale copy when it starts again.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { startCluster, until } from "../support/cluster-processes.ts";
import { Admin, ConfigResourceType } from "../../src/client/admin.ts";
import { alterPartitionReassignments, listPartitionReassignments } from "../../src/client/reassignments.ts";
import { Producer } from "../../src/client/producer.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";

const skip = ETCD_SKIP_REASON;

test("a cancelled move returns the partition to its original replica and the new replica's files are deleted", { skip, timeout: 180_000 }, async () => {
  const cluster = await startCluster(["-o", "replica.lag.time.max.ms=2000", "-o", "replication.quota.window.num=2"]);
  const { brokers, dataDirs } = cluster;
  const admin = new Admin({ bootstrap: brokers.map((b) => b.bootstrap).join(","), clientId: "cancel" });
  try {
    await admin.connect();
    await admin.createTopics([{ name: "held", numPartitions: 1, replicationFactor: 1 }]);
    await alterPartitionReassignments(admin, [{ topic: "held", partition: 0, replicas: [1] }]);
    await until("the partition to sit on broker 1", 30_000, async () => (await listPartitionReassignments(admin)).length === 0);
    const producer = new Producer({ bootstrap: brokers[0].bootstrap, clientId: "cancel-fill", acks: -1 });
    await producer.connect();
    const value = new Uint8Array(1000).fill(120);
    for (let i = 0; i < 20; i++) await Promise.all(Array.from({ length: 200 }, () => producer.send({ topic: "held", partition: 0, value })));
    await producer.close();
    // 4 MB to copy at 50 kB/s: the move stays in progress
    for (const id of [1, 2]) {
      await admin.alterConfigs(ConfigResourceType.BROKER, String(id), [
        { name: "leader.replication.throttled.rate", value: "50000" },
        { name: "follower.replication.throttled.rate", value: "50000" },
      ]);
    }
    await admin.alterConfigs(ConfigResourceType.TOPIC, "held", [
      { name: "leader.replication.throttled.replicas", value: "0:1" },
      { name: "follower.replication.throttled.replicas", value: "0:2" },
    ]);
    await alterPartitionReassignments(admin, [{ topic: "held", partition: 0, replicas: [2] }]);
    const ongoing = await listPartitionReassignments(admin);
    assert.deepEqual(ongoing, [{ topic: "held", partition: 0, replicas: [2, 1], adding: [2], removing: [1] }]);
    await until("broker 2 to start copying", 30_000, () => fs.existsSync(`${dataDirs[1]}/held-0`));

    await alterPartitionReassignments(admin, [{ topic: "held", partition: 0, replicas: null }]);
    assert.deepEqual(await listPartitionReassignments(admin), []);
    const [t] = await admin.describeTopics(["held"]);
    assert.deepEqual(t.partitions[0].replicas, [1]);
    assert.equal(t.partitions[0].leader, 1);
    await until("broker 2 to delete its copy", 30_000, () => !fs.existsSync(`${dataDirs[1]}/held-0`));
    await assert.rejects(alterPartitionReassignments(admin, [{ topic: "held", partition: 0, replicas: null }]), (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.NO_REASSIGNMENT_IN_PROGRESS);
    const offsets = await admin.topicOffsets("held");
    assert.equal(offsets[0].latest, 4000n, "every record is still on broker 1");
  } finally {
    await admin.close().catch(() => {});
    await cluster.close();
  }
});

test("a new replica joins the ISR on the fetch that catches it up, so a move completes long before the periodic ISR check", { skip, timeout: 120_000 }, async () => {
  // the periodic ISR check runs every replica.lag.time.max.ms / 2 = 300 s here: only the fetch path can finish this move
  const cluster = await startCluster(["-o", "replica.lag.time.max.ms=600000"]);
  const admin = new Admin({ bootstrap: cluster.brokers.map((b) => b.bootstrap).join(","), clientId: "join" });
  try {
    await admin.connect();
    await admin.createTopics([{ name: "joining", numPartitions: 1, replicationFactor: 1 }]);
    const [before] = await admin.describeTopics(["joining"]);
    const from = before.partitions[0].replicas[0];
    const producer = new Producer({ bootstrap: cluster.brokers.map((b) => b.bootstrap).join(","), clientId: "join-fill", acks: -1 });
    await producer.connect();
    await Promise.all(Array.from({ length: 500 }, (_, i) => producer.send({ topic: "joining", partition: 0, value: `j${i}` })));
    await producer.close();
    const to = [1, 2, 3].find((b) => b !== from)!;
    await alterPartitionReassignments(admin, [{ topic: "joining", partition: 0, replicas: [from, to] }]);
    await until("the move to complete", 60_000, async () => (await listPartitionReassignments(admin)).length === 0);
    const [after] = await admin.describeTopics(["joining"]);
    assert.deepEqual(after.partitions[0].replicas, [from, to]);
    assert.deepEqual([...after.partitions[0].isr].sort(), [from, to].sort());
  } finally {
    await admin.close().catch(() => {});
    await cluster.close();
  }
});

test("a broker moved off a partition while it was down deletes its stale copy when it starts again", { skip, timeout: 120_000 }, async () => {
  const cluster = await startCluster(["-o", "replica.lag.time.max.ms=2000", "-o", "broker.session.timeout.ms=2000"]);
  const admin = new Admin({ bootstrap: cluster.brokers.map((b) => b.bootstrap).join(","), clientId: "stale" });
  try {
    await admin.connect();
    await admin.createTopics([{ name: "stale", numPartitions: 1, replicationFactor: 1 }]);
    await alterPartitionReassignments(admin, [{ topic: "stale", partition: 0, replicas: [1, 2] }]);
    await until("the partition on brokers 1 and 2, both in sync", 30_000, async () => (await listPartitionReassignments(admin)).length === 0);
    await until("broker 2 to hold a copy", 30_000, () => fs.existsSync(`${cluster.dataDirs[1]}/stale-0`));
    await cluster.brokers[1].stop("SIGKILL");
    await alterPartitionReassignments(admin, [{ topic: "stale", partition: 0, replicas: [1, 3] }]);
    await until("the move to {1,3} to complete without broker 2", 60_000, async () => (await listPartitionReassignments(admin)).length === 0);
    assert.ok(fs.existsSync(`${cluster.dataDirs[1]}/stale-0`), "the stopped broker's copy is still on disk");
    const restarted = await cluster.restart(2);
    await until("broker 2 to delete its stale copy", 30_000, () => !fs.existsSync(`${cluster.dataDirs[1]}/stale-0`));
    assert.match(restarted.log(), /stale-0: this broker is not one of its replicas 1,3; deleting its local log/);
  } finally {
    await admin.close().catch(() => {});
    await cluster.close();
  }
});
