/**
 * ListOffsets checks leadership as Kafka does, on a node of 2 shards (each a cluster-mode broker whose node id is its
 * shard number, one owning the partition): the shard that does not lead it answers NOT_LEADER_OR_FOLLOWER to a
 * consumer (replica_id -1), a follower id (>= 0) and, holding no replica, a debugging tool (-2), instead of the
 * offsets of its empty stand-in; the leader answers all of them. A current_leader_epoch mismatch is checked first.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Admin } from "../../src/client/admin.ts";
import { Producer } from "../../src/client/producer.ts";
import { ApiKey } from "../../src/protocol/generated/index.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { shardOf } from "../../src/shard/placement.ts";
import { shardDialer, startShards, tempDataDir } from "./support.ts";

interface Answer { errorCode: number; offset: bigint; leaderEpoch: number }

test("2 shards: ListOffsets to the shard that does not lead the partition answers NOT_LEADER_OR_FOLLOWER", { timeout: 120_000 }, async () => {
  const set = await startShards(tempDataDir(), 2, true);
  const opts = { bootstrap: "shard-0:9092", dial: shardDialer(set) };
  const admin = new Admin(opts);
  const channels: { close(): void }[] = [];
  try {
    await admin.connect();
    await admin.createTopics([{ name: "prices", numPartitions: 1 }]);
    const producer = new Producer({ ...opts, lingerMs: 1 });
    await producer.connect();
    await Promise.all(Array.from({ length: 5 }, (_, i) => producer.send({ topic: "prices", partition: 0, value: `v${i}` })));
    await producer.close();

    const leader = shardOf("prices", 0, 2);
    const ask = async (shard: number, replicaId: number, timestamp: bigint, currentLeaderEpoch = -1): Promise<Answer> => {
      const ch = await set.open(shard, { remote: "probe:1", remoteIp: "probe" });
      channels.push(ch);
      const r = await ch.request<{ topics: { partitions: Answer[] }[] }>(ApiKey.ListOffsets, { replicaId, isolationLevel: 0, timeoutMs: 5000, topics: [{ name: "prices", partitions: [{ partitionIndex: 0, currentLeaderEpoch, timestamp }] }] });
      return r.topics[0].partitions[0];
    };
    for (const replicaId of [-1, -2, leader]) {
      for (const timestamp of [-1n, -2n]) {
        const elsewhere = await ask(1 - leader, replicaId, timestamp);
        assert.equal(elsewhere.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER, `replica_id ${replicaId}, timestamp ${timestamp} at the non-leader`);
        assert.equal(elsewhere.offset, -1n);
        assert.equal(elsewhere.leaderEpoch, -1);
      }
    }
    for (const replicaId of [-1, -2]) {
      const latest = await ask(leader, replicaId, -1n);
      assert.equal(latest.errorCode, ErrorCode.NONE);
      assert.equal(latest.offset, 5n, `replica_id ${replicaId}: latest at the leader`);
      const earliest = await ask(leader, replicaId, -2n);
      assert.deepEqual([earliest.errorCode, earliest.offset], [ErrorCode.NONE, 0n]);
    }
    // The epoch check comes first, at the leader and elsewhere alike.
    const epoch = (await ask(leader, -1, -1n)).leaderEpoch;
    assert.equal((await ask(leader, -1, -1n, epoch + 1)).errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
    assert.equal((await ask(1 - leader, -1, -1n, epoch + 1)).errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
  } finally {
    for (const ch of channels) ch.close();
    await admin.close();
    await set.stop();
  }
});
