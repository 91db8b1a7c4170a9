/**
 * ListOffsets in a cluster of three `runnel start` processes, as Kafka answers it: at a follower of a replicated
 * partition (holding a copy of its log), a consumer's request (replica_id -1) and a broker's (>= 0) answer
 * NOT_LEADER_OR_FOLLOWER, no longer the follower's own offsets; a debugging request (-2) is answered there from the
 * follower's log; the leader answers consumers. Runnel's own client produces and asks.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { createReplicatedPartition, printBrokerLogs, startCluster, until } from "../support/cluster-processes.ts";
import { Producer } from "../../src/client/producer.ts";
import { BrokerConnection } from "../../src/client/connection.ts";
import { ApiKey } from "../../src/protocol/generated/index.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";

interface Answer { errorCode: number; offset: bigint; leaderEpoch: number }

test("ListOffsets at a follower answers NOT_LEADER_OR_FOLLOWER to consumers and brokers, offsets to a debugging tool", { skip: ETCD_SKIP_REASON, timeout: 240_000 }, async () => {
  const cluster = await startCluster();
  const conns: BrokerConnection[] = [];
  let ok = false;
  try {
    const leader = await createReplicatedPartition(cluster, "quotes");
    const producer = new Producer({ bootstrap: cluster.brokers[leader - 1].bootstrap, acks: "all", lingerMs: 1 });
    await producer.connect();
    await Promise.all(Array.from({ length: 5 }, (_, i) => producer.send({ topic: "quotes", partition: 0, value: `q${i}` })));
    await producer.close();

    const ask = async (id: number, replicaId: number, timestamp: bigint): Promise<Answer> => {
      const c = await BrokerConnection.open("127.0.0.1", cluster.brokers[id - 1].port, id);
      conns.push(c);
      const r = await c.request<{ topics: { partitions: Answer[] }[] }>(ApiKey.ListOffsets, { replicaId, isolationLevel: 0, timeoutMs: 5000, topics: [{ name: "quotes", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }] });
      c.close();
      return r.topics[0].partitions[0];
    };
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    // The follower has copied the five records once its own log ends at 5 (what a debugging request reads).
    await until("the follower to hold the five records", 60_000, async () => (await ask(follower, -2, -1n)).offset === 5n);
    assert.deepEqual([(await ask(follower, -2, -2n)).errorCode, (await ask(follower, -2, -2n)).offset], [ErrorCode.NONE, 0n]);
    for (const replicaId of [-1, leader]) {
      for (const timestamp of [-1n, -2n]) {
        const a = await ask(follower, replicaId, timestamp);
        assert.deepEqual([a.errorCode, a.offset, a.leaderEpoch], [ErrorCode.NOT_LEADER_OR_FOLLOWER, -1n, -1], `replica_id ${replicaId}, timestamp ${timestamp} at follower ${follower}`);
      }
    }
    const latest = await ask(leader, -1, -1n);
    assert.deepEqual([latest.errorCode, latest.offset], [ErrorCode.NONE, 5n]);
    ok = true;
  } finally {
    for (const c of conns) c.close();
    if (!ok) printBrokerLogs(cluster.brokers);
    await cluster.close();
  }
});
