/**
 * Admin requests that name a broker id, at a sharded broker of an etcd cluster (`runnel start --shards 2` on etcd):
 * its shards run with the node's own id among the cluster's real broker ids (src/shard/cluster-siblings.ts), so the
 * node's id in a request is meant as it is (on a sharded single node the front renames it to a shard's index).
 * kafkajs' admin creates a topic and adds a partition with manual assignments naming the node, moves a partition
 * onto the node's own replica (a reassignment that keeps it), and alters and describes the node's broker configs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigResourceTypes, Kafka, logLevel } from "kafkajs";
import { ETCD_SKIP_REASON, sharedTestEtcd } from "../support/etcd.ts";
import { startBrokerProcess } from "../support/broker-process.ts";
import { until } from "../support/cluster-processes.ts";

const skip = ETCD_SKIP_REASON;
const ctx = sharedTestEtcd();
const NODE_ID = 43;

test("a sharded broker of an etcd cluster takes its own node id in manual assignments, reassignments and broker configs", { skip, timeout: 180_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-sharded-admin-ids-"));
  const node = await startBrokerProcess("bun", ["--port", "0", "--data-dir", dir, "--shards", "2", "-o", `node.id=${NODE_ID}`, "-o", `metadata.etcd.endpoints=${ctx.etcd.endpoint}`], 90_000);
  const admin = new Kafka({ clientId: "sharded-admin-ids", brokers: [node.bootstrap], logLevel: logLevel.NOTHING }).admin();
  try {
    await admin.connect();
    await until("the node to be the active controller", 30_000, async () => (await admin.describeCluster()).controller === NODE_ID);
    assert.equal(await admin.createTopics({ waitForLeaders: true, topics: [{ topic: "manual", replicaAssignment: [0, 1, 2, 3].map((partition) => ({ partition, replicas: [NODE_ID] })) }] }), true);
    await admin.createPartitions({ topicPartitions: [{ topic: "manual", count: 5, assignments: [[NODE_ID]] }] });
    await admin.alterPartitionReassignments({ topics: [{ topic: "manual", partitionAssignment: [{ partition: 1, replicas: [NODE_ID] }] }] });
    const partitions = (await admin.fetchTopicMetadata({ topics: ["manual"] })).topics[0].partitions;
    assert.deepEqual(partitions.map((p) => [p.partitionId, p.leader, p.replicas]).sort(), [0, 1, 2, 3, 4].map((p) => [p, NODE_ID, [NODE_ID]]));

    const broker = { type: ConfigResourceTypes.BROKER, name: String(NODE_ID) };
    await admin.alterConfigs({ validateOnly: false, resources: [{ ...broker, configEntries: [{ name: "log.cleaner.backoff.ms", value: "12345" }] }] });
    const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ ...broker, configNames: ["log.cleaner.backoff.ms"] }] });
    assert.equal(described.resources[0].errorCode, 0, JSON.stringify(described.resources[0]));
    assert.equal(described.resources[0].resourceName, String(NODE_ID));
    assert.deepEqual(described.resources[0].configEntries.map((e) => [e.configName, e.configValue]), [["log.cleaner.backoff.ms", "12345"]]);
  } finally {
    await admin.disconnect().catch(() => {});
    assert.equal(await node.stop("SIGTERM"), 0, node.log().slice(-3000));
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
