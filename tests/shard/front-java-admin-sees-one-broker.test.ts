/**
 * Kafka's Java AdminClient and tools (4.4) against a front over two shards: the AdminClient story of
 * tests/java/src/runnel/AdminCalls.java runs to its end and sees one broker with the node's id (cluster, topics,
 * group coordinator), groups and transactions of both shards, and one log dir holding both shards' partitions;
 * kafka-broker-api-versions lists that one broker.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { KAFKA_TOOL, javaSkip, runJava } from "../support/java.ts";
import { storySteps } from "../support/json-process.ts";
import { FRONT_NODE_ID, startFrontOverShards } from "./front-fixture.ts";

test("Java AdminClient story and kafka-broker-api-versions through the front", { skip: javaSkip ? `SKIPPED: ${javaSkip}` : false, timeout: 240_000 }, async () => {
  const node = await startFrontOverShards({ inThread: true });
  try {
    const r = await runJava("runnel.AdminCalls", ["--bootstrap", node.bootstrap]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const { result, error } = storySteps(r.stdout);
    assert.deepEqual(result("describeCluster"), { clusterIdSet: true, controller: FRONT_NODE_ID, nodes: [FRONT_NODE_ID], host: "127.0.0.1", port: node.port });
    const replica = { leader: FRONT_NODE_ID, replicas: [FRONT_NODE_ID], isr: [FRONT_NODE_ID] };
    assert.deepEqual(result("describeTopics"), { name: "adm-a", internal: false, topicIdSet: true, partitions: [0, 1, 2].map((partition) => ({ partition, ...replica })) });
    assert.equal(error("describeTopics-missing"), "UnknownTopicOrPartitionException");
    assert.equal(result("describeConsumerGroups").coordinator, FRONT_NODE_ID);
    assert.equal(result("deleteRecords"), 4);
    assert.deepEqual(result("listOffsets").latest, { offset: 10, timestamp: -1, leaderEpoch: 0 });
    assert.deepEqual(Object.keys(result("listTransactions")).sort(), ["adm-done", "adm-open"]);
    assert.deepEqual(result("describeTransactions")["adm-open"].partitions, ["adm-a-1"]);
    assert.deepEqual(result("listConsumerGroups").map((g: { groupId: string }) => g.groupId), ["adm-g"]);
    // Every partition of adm-b (spread over both shards) is reported, adm-b-0 with its records.
    const dirs = result("describeLogDirs") as { error: null; hasAdmB0: boolean; replicaCount: number }[];
    // The shards share the log dir: the front merges their answers into one.
    assert.equal(dirs.length, 1);
    assert.equal(dirs[0].error, null);
    assert.ok(dirs[0].hasAdmB0);

    const versions = await runJava(KAFKA_TOOL.brokerApiVersions, ["--bootstrap-server", node.bootstrap]);
    assert.equal(versions.code, 0, versions.stderr);
    const brokers = versions.stdout.split("\n").filter((l) => / \(id: -?\d+ /.test(l));
    assert.deepEqual(brokers, [`127.0.0.1:${node.port} (id: ${FRONT_NODE_ID} rack: null isFenced: false) -> (`]);
    assert.match(versions.stdout, /Produce\(0\): 0 to \d+ \[usable: \d+\]/);
    assert.match(versions.stdout, /WriteTxnMarkers\(27\): 1 to 2 \[usable: 2\]/);
  } finally {
    await node.close();
  }
});
