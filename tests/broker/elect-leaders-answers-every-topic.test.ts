/**
 * ElectLeaders answers as Kafka's controller (ReplicationControlManager.electLeaders): an entry for every topic the
 * request names, also one naming no partitions; with no topics named, an entry for every topic of the cluster, also
 * one whose partitions all needed no election (their results are left out). Found by
 * tests/oracle/cluster-random-match-kafka against a 3-node Kafka 4.4 cluster.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";

test("ElectLeaders lists every topic named (also with no partitions) and, for all partitions, every topic", async () => {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  try {
    const created = await c.request(19, 7, { topics: ["ea", "eb"].map((name) => ({ name, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] })), timeoutMs: 10000, validateOnly: false });
    assert.deepEqual(created.topics.map((t: any) => t.errorCode), [0, 0]);
    const named = await c.request(43, 2, { electionType: 0, topicPartitions: [{ topic: "ea", partitions: [] }, { topic: "eb", partitions: [1] }, { topic: "nope", partitions: [] }], timeoutMs: 10000 });
    assert.equal(named.errorCode, ErrorCode.NONE);
    const byTopic = new Map(named.replicaElectionResults.map((t: any) => [t.topic, t.partitionResult.map((p: any) => [p.partitionId, p.errorCode])]));
    assert.deepEqual(Object.fromEntries(byTopic), { ea: [], eb: [[1, ErrorCode.ELECTION_NOT_NEEDED]], nope: [] });
    const all = await c.request(43, 2, { electionType: 0, topicPartitions: null, timeoutMs: 10000 });
    const topics = all.replicaElectionResults.filter((t: any) => !t.topic.startsWith("__")).map((t: any) => [t.topic, t.partitionResult.length]);
    assert.deepEqual(topics.sort(), [["ea", 0], ["eb", 0]], "every topic, none of its partitions needing an election");
  } finally {
    c.close();
    await b.stop();
  }
});
