/**
 * `runnel cluster describe` against three `runnel start` processes on one etcd: it names the three brokers, the
 * controller and the partitions each leads; after one broker is killed it lists the partitions that lost a replica
 * as under-replicated and the killed broker as down.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { startCluster, until, waitForRegistrations } from "../support/cluster-processes.ts";
import { runnel } from "../cli/run-cli.ts";
import type { ClusterDescription } from "../../src/cli/cluster-describe.ts";

async function describe(bootstrap: string): Promise<ClusterDescription> {
  const r = await runnel(["cluster", "describe", "--json", "-b", bootstrap]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as ClusterDescription;
}

test("runnel cluster describe: brokers, controller, leaders per broker, then under-replicated partitions after a kill", { skip: ETCD_SKIP_REASON, timeout: 240_000 }, async () => {
  const cluster = await startCluster(["-o", "broker.session.timeout.ms=2000", "-o", "replica.lag.time.max.ms=2000"]);
  try {
    const kafka = new Kafka({ clientId: "describe", brokers: cluster.brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING });
      const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: "described", numPartitions: 3, replicationFactor: 3 }] });
    await admin.disconnect();

    const d = await describe(cluster.brokers[0].bootstrap);
    assert.deepEqual(d.brokers.map((b) => b.nodeId), [1, 2, 3]);
    assert.ok([1, 2, 3].includes(d.controllerId), `controller ${d.controllerId}`);
    assert.equal(d.partitions, 3);
    assert.equal(d.brokers.reduce((n, b) => n + b.leaders, 0), 3);
    assert.deepEqual(d.brokers.map((b) => b.replicas), [3, 3, 3]);
    assert.deepEqual(d.underReplicated, []);
    assert.deepEqual(d.offline, []);

    await cluster.brokers[2].stop("SIGKILL");
    await until("describe to show the three partitions under-replicated", 60_000, async () => (await describe(cluster.brokers[0].bootstrap)).underReplicated.length === 3);
    const after = await describe(cluster.brokers[1].bootstrap);
    assert.deepEqual(after.brokers.map((b) => [b.nodeId, b.offline]), [[1, false], [2, false], [3, true]], "the killed broker is listed as down");
    for (const p of after.underReplicated) assert.ok(!p.isr.includes(3) && p.replicas.includes(3), JSON.stringify(p));
    const text = await runnel(["cluster", "describe", "-b", cluster.brokers[0].bootstrap]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /Under-replicated partitions: 3\n/);
    assert.match(text.stdout, /Offline partitions: 0\n/);
    assert.match(text.stdout, /2 broker\(s\) up, 1 down/);
    assert.match(text.stdout, /\n3 \(down\)\s+-\s/);
  } finally {
    await cluster.close();
  }
});
