/**
 * Leader elections on three `runnel start` processes on one etcd:
 * - after a failover and the old leader's return, Kafka's own `kafka-leader-election --election-type PREFERRED`
 *   puts every leadership back on its first replica; asked again, `runnel cluster elect-leaders` answers
 *   ELECTION_NOT_NEEDED; with the preferred replica down it answers PREFERRED_LEADER_NOT_AVAILABLE;
 * - an UNCLEAN election gives a leaderless partition its live out-of-sync replica, and answers
 *   ELIGIBLE_LEADERS_NOT_AVAILABLE when no replica is live;
 * - with auto.leader.rebalance.enable and a one-second check interval the controller gives leaderships back to
 *   their preferred replicas by itself.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { startCluster, until, type TestCluster } from "../support/cluster-processes.ts";
import { RawClient } from "../support/raw-client.ts";
import { javaSkip, KAFKA_TOOL, runJava } from "../support/java.ts";
import { runnel } from "../cli/run-cli.ts";
import type { MetadataResponse } from "../../src/protocol/generated/03_metadata.ts";

const BASE = ["-o", "broker.session.timeout.ms=2000", "-o", "replica.lag.time.max.ms=2000"];

type Partition = { topic: string; partition: number; leader: number; replicas: number[]; isr: number[] };

async function partitions(cluster: TestCluster, topic: string): Promise<Partition[]> {
  for (const b of cluster.brokers) {
    if (b.child.exitCode !== null || b.child.signalCode !== null) continue;
    const c = await RawClient.connect(b.port).catch(() => null);
    if (c === null) continue;
    try {
      c.timeoutMs = 10_000;
      const md = await c.request<MetadataResponse>(3, 12, { topics: [{ name: topic, topicId: new Uint8Array(16) }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      return md.topics[0].partitions.map((p) => ({ topic, partition: p.partitionIndex, leader: p.leaderId, replicas: p.replicaNodes, isr: p.isrNodes })).sort((a, b) => a.partition - b.partition);
    } finally {
      c.close();
    }
  }
  throw new Error("no live broker answered Metadata");
}

const allPreferred = (ps: Partition[]) => ps.every((p) => p.leader === p.replicas[0]);
const allInSync = (ps: Partition[]) => ps.every((p) => p.leader >= 0 && p.isr.length === p.replicas.length);

async function createTopic(cluster: TestCluster, topic: string, partitionsCount: number, rf: number): Promise<void> {
  const kafka = new Kafka({ clientId: "elections", brokers: cluster.brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitionsCount, replicationFactor: rf }] });
  await admin.disconnect();
}

/** Kills broker `id`, waits for its leaderships to move, restarts it and waits for every ISR to be full again. */
async function failOverAndReturn(cluster: TestCluster, topic: string, id: number): Promise<void> {
  await cluster.brokers[id - 1].stop("SIGKILL");
  await until(`broker ${id}'s leaderships to move`, 60_000, async () => (await partitions(cluster, topic)).every((p) => p.leader !== id && p.leader >= 0));
  await cluster.restart(id, { samePort: true });
  await until(`every ISR of ${topic} to be full again`, 60_000, async () => allInSync(await partitions(cluster, topic)));
}

test("preferred election (kafka-leader-election, runnel cluster elect-leaders) and unclean election", { skip: ETCD_SKIP_REASON || (javaSkip ? `SKIPPED: ${javaSkip}` : false), timeout: 300_000 }, async () => {
  const cluster = await startCluster([...BASE, "-o", "auto.leader.rebalance.enable=false"]);
  try {
    await createTopic(cluster, "elect", 3, 3);
    const before = await partitions(cluster, "elect");
    assert.ok(allPreferred(before), JSON.stringify(before));
    const victim = before[0].replicas[0];
    await failOverAndReturn(cluster, "elect", victim);
    const skewed = await partitions(cluster, "elect");
    assert.ok(!allPreferred(skewed), `after the failover broker ${victim} should lead nothing: ${JSON.stringify(skewed)}`);

    const bootstrap = cluster.brokers.map((b) => b.bootstrap).join(",");
    const tool = await runJava(KAFKA_TOOL.leaderElection, ["--bootstrap-server", bootstrap, "--election-type", "PREFERRED", "--all-topic-partitions"]);
    assert.equal(tool.code, 0, tool.stdout + tool.stderr);
    assert.match(tool.stdout, /Successfully completed leader election \(PREFERRED\) for partitions .*elect-0/);
    assert.ok(allPreferred(await partitions(cluster, "elect")), "every partition led by its first replica");

    const again = await runnel(["cluster", "elect-leaders", "-b", bootstrap, "--topic", "elect", "--partition", "0"]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /elect\s+0\s+ELECTION_NOT_NEEDED/);
    const none = await runnel(["cluster", "elect-leaders", "-b", bootstrap]);
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stdout, /No partition needed a preferred election/);

    await cluster.brokers[victim - 1].stop("SIGKILL");
    await until(`broker ${victim} to lose partition 0`, 60_000, async () => (await partitions(cluster, "elect"))[0].leader !== victim);
    const live = cluster.brokers.filter((_, i) => i !== victim - 1).map((b) => b.bootstrap).join(",");
    const unavailable = await runnel(["cluster", "elect-leaders", "-b", live, "--topic", "elect", "--partition", "0"]);
    assert.equal(unavailable.code, 1, unavailable.stdout + unavailable.stderr);
    assert.match(unavailable.stdout, /elect\s+0\s+PREFERRED_LEADER_NOT_AVAILABLE/);
    await cluster.restart(victim, { samePort: true });

    // UNCLEAN: partition 0 of a two-replica topic loses its follower, then its leader; the follower returns out of sync.
    await createTopic(cluster, "dirty", 1, 2);
    const [p] = await partitions(cluster, "dirty");
    const [leader, follower] = p.replicas;
    await cluster.brokers[follower - 1].stop("SIGKILL");
    await until("the ISR to shrink to the leader", 60_000, async () => (await partitions(cluster, "dirty"))[0].isr.join() === String(leader));
    await cluster.brokers[leader - 1].stop("SIGKILL");
    await until("the partition to be offline", 60_000, async () => (await partitions(cluster, "dirty"))[0].leader === -1);
    await cluster.restart(follower, { samePort: true });
    const up = cluster.brokers.filter((_, i) => i !== leader - 1).map((b) => b.bootstrap).join(",");
    const clean = await runnel(["cluster", "elect-leaders", "-b", up, "--topic", "dirty", "--partition", "0"]);
    assert.equal(clean.code, 1, "the out-of-sync follower is not the preferred leader in the ISR");
    const unclean = await runnel(["cluster", "elect-leaders", "-b", up, "--type", "unclean", "--topic", "dirty", "--partition", "0"]);
    assert.equal(unclean.code, 0, unclean.stdout + unclean.stderr);
    assert.match(unclean.stdout, /dirty\s+0\s+ELECTED/);
    const elected = (await partitions(cluster, "dirty"))[0];
    assert.equal(elected.leader, follower);
    assert.deepEqual(elected.isr, [follower]);
    await cluster.brokers[follower - 1].stop("SIGKILL");
    await until("the partition to be offline again", 60_000, async () => (await partitions(cluster, "dirty"))[0].leader === -1);
    const none2 = await runnel(["cluster", "elect-leaders", "-b", cluster.brokers.filter((_, i) => i !== leader - 1 && i !== follower - 1).map((b) => b.bootstrap).join(","), "--type", "unclean", "--topic", "dirty", "--partition", "0"]);
    assert.equal(none2.code, 1);
    assert.match(none2.stdout, /dirty\s+0\s+ELIGIBLE_LEADERS_NOT_AVAILABLE/);
  } finally {
    await cluster.close();
  }
});

test("auto.leader.rebalance.enable: the controller gives leaderships back to their preferred replicas by itself", { skip: ETCD_SKIP_REASON, timeout: 300_000 }, async () => {
  const cluster = await startCluster([...BASE, "-o", "auto.leader.rebalance.enable=true", "-o", "leader.imbalance.check.interval.seconds=1"]);
  try {
    await createTopic(cluster, "rebalanced", 3, 3);
    const victim = (await partitions(cluster, "rebalanced"))[0].replicas[0];
    await cluster.brokers[victim - 1].stop("SIGKILL");
    await until(`broker ${victim}'s leaderships to move`, 60_000, async () => (await partitions(cluster, "rebalanced")).every((p) => p.leader !== victim && p.leader >= 0));
    await cluster.restart(victim, { samePort: true });
    await until("every partition to be led by its first replica again", 60_000, async () => allPreferred(await partitions(cluster, "rebalanced")));
    // the controller logs once its election is written, and its output reaches this process through a pipe: the
    // line may come after the brokers already answer with the preferred leaders
    await until("a controller to log the rebalance", 30_000, async () => cluster.brokers.some((b) => /automatic leader rebalance: preferred leaders elected for .*rebalanced-/.test(b.log())));
  } finally {
    await cluster.close();
  }
});
