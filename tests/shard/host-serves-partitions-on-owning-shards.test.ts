/**
 * A node of 2 shards (worker threads, and the in-thread variant): a topic created through shard 0 is placed by
 * shardOf, each partition served by its owner only (the other answers NOT_LEADER_OR_FOLLOWER), and Runnel's own
 * client produces and consumes across both shards over the port connections, with the real Kafka protocol.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Admin } from "../../src/client/admin.ts";
import { Producer } from "../../src/client/producer.ts";
import { Consumer, type ConsumerRecord } from "../../src/client/consumer.ts";
import { ApiKey } from "../../src/protocol/generated/index.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { shardOf } from "../../src/shard/placement.ts";
import { shardDialer, startShards, tempDataDir } from "./support.ts";

for (const inThread of [true, false]) {
  test(`2 shards (${inThread ? "in one thread" : "worker threads"}): partitions live on their owners, clients reach them all`, { timeout: 120_000 }, async () => {
    const set = await startShards(tempDataDir(), 2, inThread);
    const opts = { bootstrap: "shard-0:9092", dial: shardDialer(set) };
    const admin = new Admin(opts);
    try {
      await admin.connect();
      await admin.createTopics([{ name: "orders", numPartitions: 6 }]);
      const [info] = await admin.describeTopics(["orders"]);
      assert.deepEqual(info.partitions.map((p) => p.leader), [0, 1, 2, 3, 4, 5].map((p) => shardOf("orders", p, 2)));
      assert.ok(new Set(info.partitions.map((p) => p.leader)).size === 2, "both shards own some");
      assert.deepEqual(set.metadata.partitionState("orders", 0)?.replicas, [shardOf("orders", 0, 2)]);

      // The shard that does not own partition 0 refuses to serve it.
      const other = 1 - shardOf("orders", 0, 2);
      const ch = await set.open(other, { remote: "probe:1", remoteIp: "probe" });
      const fetch = { replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: "", topics: [{ topic: "orders", topicId: info.id, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }] };
      const r = await ch.request<{ responses: { partitions: { errorCode: number }[] }[] }>(ApiKey.Fetch, fetch);
      assert.equal(r.responses[0].partitions[0].errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
      ch.close();

      const producer = new Producer({ ...opts, lingerMs: 1 });
      await producer.connect();
      await Promise.all(Array.from({ length: 600 }, (_, i) => producer.send({ topic: "orders", partition: i % 6, key: `k${i}`, value: `v${i}` })));
      await producer.close();
      const consumer = new Consumer({ ...opts, autoOffsetReset: "earliest", fetchMaxWaitMs: 100 });
      await consumer.connect();
      consumer.assign([0, 1, 2, 3, 4, 5].map((partition) => ({ topic: "orders", partition })));
      const got: ConsumerRecord[] = [];
      while (got.length < 600) got.push(...(await consumer.poll(200)));
      await consumer.close();
      assert.deepEqual(got.map((r) => new TextDecoder().decode(r.value!)).sort(), Array.from({ length: 600 }, (_, i) => `v${i}`).sort());
    } finally {
      await admin.close();
      await set.stop();
    }
  });
}
