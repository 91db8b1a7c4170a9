/**
 * A partition whose only replica's broker stopped has no leader: Metadata answers it with LEADER_NOT_AVAILABLE and
 * leader -1 (replicas, ISR and offline replicas as they are), while DescribeTopicPartitions answers no error, as
 * Kafka's KRaftMetadataCache does; once the broker is back, both answer it with no error and its leader. Found by
 * tests/oracle/cluster-random-match-kafka (with CLUSTER_ORACLE_OUTAGES) against a 3-node Kafka 4.4 cluster.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { startCluster, until } from "../support/cluster-processes.ts";
import { RawClient } from "../support/raw-client.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";

test("Metadata answers LEADER_NOT_AVAILABLE for a partition whose only replica is down; DescribeTopicPartitions no error", { skip: ETCD_SKIP_REASON, timeout: 300_000 }, async () => {
  const cluster = await startCluster();
  let c: RawClient | null = null;
  try {
    c = await RawClient.connect(cluster.brokers[0].port);
    const created = await c.request(19, 7, { topics: [{ name: "solo", numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [3] }, { partitionIndex: 1, brokerIds: [1] }], configs: [] }], timeoutMs: 30000, validateOnly: false });
    assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
    const md = async () => (await c!.request(3, 12, { topics: [{ name: "solo", topicId: new Uint8Array(16) }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false })).topics[0].partitions.sort((a: any, b: any) => a.partitionIndex - b.partitionIndex);
    await until("both partitions to have leaders", 60_000, async () => (await md()).every((p: any) => p.leaderId >= 0));
    assert.deepEqual((await md()).map((p: any) => p.errorCode), [ErrorCode.NONE, ErrorCode.NONE]);

    await cluster.brokers[2].stop("SIGTERM");
    await until("broker 3's partition to lose its leader", 60_000, async () => (await md())[0].leaderEpoch > 0);
    const [down, up] = await md();
    assert.deepEqual([down.errorCode, down.leaderId, down.replicaNodes, down.isrNodes, down.offlineReplicas], [ErrorCode.LEADER_NOT_AVAILABLE, -1, [3], [3], [3]]);
    assert.deepEqual([up.errorCode, up.leaderId], [ErrorCode.NONE, 1]);
    const dtp = await c.request(75, 0, { topics: [{ name: "solo" }], responsePartitionLimit: 10, cursor: null });
    const p0 = dtp.topics[0].partitions.find((p: any) => p.partitionIndex === 0);
    assert.deepEqual([p0.errorCode, p0.leaderId], [ErrorCode.NONE, -1], "DescribeTopicPartitions has no error for it");

    await cluster.restart(3);
    await until("broker 3 to lead its partition again", 60_000, async () => (await md())[0].leaderId === 3);
    assert.equal((await md())[0].errorCode, ErrorCode.NONE);
  } finally {
    c?.close();
    await cluster.close();
  }
});
