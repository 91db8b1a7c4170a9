/**
 * DeleteRecords at a follower in a cluster of three `runnel start` processes, as Kafka's
 * Partition.deleteRecordsOnLeader answers it: NOT_LEADER_OR_FOLLOWER before any check of the offset against the log
 * (a client with stale metadata refreshes and retries at the leader; OFFSET_OUT_OF_RANGE would fail its request),
 * and the follower's log start does not move; the leader still answers an offset past its high watermark with
 * OFFSET_OUT_OF_RANGE and deletes with a valid one.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { createReplicatedPartition, printBrokerLogs, startCluster, until } from "../support/cluster-processes.ts";
import { requestOnce } from "../support/raw-client.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { makeRecordsBatch } from "../storage/batch-fixture.ts";

const TOPIC = "stale";

const ask = requestOnce;

test("DeleteRecords at a follower answers NOT_LEADER_OR_FOLLOWER whatever the offset, as Kafka", { skip: ETCD_SKIP_REASON, timeout: 240_000 }, async () => {
  await initCrc32c();
  const cluster = await startCluster();
  const portOf = (id: number) => cluster.brokers[id - 1].port;
  let ok = false;
  try {
    const leader = await createReplicatedPartition(cluster, TOPIC);
    const produced = await ask(portOf(leader), 0, 9, { transactionalId: null, acks: -1, timeoutMs: 30_000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: makeRecordsBatch(20, Date.now()) }] }] });
    assert.equal(produced.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    const deleteAt = async (id: number, offset: bigint) => (await ask(portOf(id), 21, 2, { topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, offset }] }], timeoutMs: 30_000 })).topics[0].partitions[0];
    const earliestAt = async (id: number) => (await ask(portOf(id), 2, 7, { replicaId: -2, isolationLevel: 0, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -2n }] }] })).topics[0].partitions[0].offset;
    const latestAt = async (id: number) => (await ask(portOf(id), 2, 7, { replicaId: -2, isolationLevel: 0, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }] })).topics[0].partitions[0].offset;
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    await until("the follower to hold the twenty records", 60_000, async () => (await latestAt(follower)) === 20n);

    for (const offset of [1_000n, 10n, -1n]) {
      const a = await deleteAt(follower, offset);
      assert.deepEqual([a.errorCode, a.lowWatermark], [ErrorCode.NOT_LEADER_OR_FOLLOWER, -1n], `offset ${offset} at follower ${follower}`);
    }
    assert.equal(await earliestAt(follower), 0n, "the follower's log start stays");
    assert.equal((await deleteAt(leader, 1_000n)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE, "past the leader's high watermark");
    const done = await deleteAt(leader, 10n);
    assert.deepEqual([done.errorCode, done.lowWatermark], [ErrorCode.NONE, 10n]);
    ok = true;
  } finally {
    if (!ok) printBrokerLogs(cluster.brokers);
    await cluster.close();
  }
});
