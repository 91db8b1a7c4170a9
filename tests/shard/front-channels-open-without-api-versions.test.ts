/**
 * A sharded node's front learns the shards' API versions once, at its start, and opens each client's channels to the
 * shards (its own, and a long poll's extra ones) without an ApiVersions of their own: a shard counts the time it spends
 * on a request against the client's `request_percentage`, and over the quota answers after muting that channel, so
 * a handshake the client never sent made its first request to each shard wait a throttle time. A new client produces
 * to the partitions on both shards and long-polls both; each shard's request counts (its `/metrics` scrape) show the
 * Produce and both Fetch rounds, and no ApiVersions more than before the client came.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { startShardedNode, type ShardedNode } from "../../src/shard/sharded-node.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { RawClient } from "../support/raw-client.ts";
import { testLogger } from "../support/broker.ts";
import { nodeConfig, tempDataDir, topicOnTwoShards } from "./support.ts";

await initCrc32c();

/** Requests of each API each shard's broker answered, from the shards' scrapes: shard -> API name -> count. */
async function shardRequests(node: ShardedNode): Promise<Map<string, number>[]> {
  const scrapes = await node.shards.callEach<{ text: string }>("metrics", [], 10_000);
  return scrapes.map((s, k) => {
    if (s instanceof Error) throw s;
    const counts = new Map<string, number>();
    for (const m of s.text.matchAll(/^runnel_shard_requests_total\{shard="(\d+)",request="(\w+)"\} (\d+)$/gm)) {
      assert.equal(Number(m[1]), k);
      counts.set(m[2], Number(m[3]));
    }
    return counts;
  });
}

test("a client's channels to the shards, a long poll's included, open without an ApiVersions", { timeout: 120_000 }, async () => {
  const dir = tempDataDir();
  const node = await startShardedNode(nodeConfig(dir, 2, { listeners: "PLAINTEXT://127.0.0.1:0", "http.listeners": "http://127.0.0.1:0" }), { logger: testLogger() });
  const admin = await RawClient.connect(node.port());
  let client: RawClient | undefined;
  try {
    const topic = await topicOnTwoShards(admin, node.shards, "handshake");
    const before = await shardRequests(node);
    const c = (client = await RawClient.connect(node.port()));
    for (const partition of [0, 1]) {
      const bb = new BatchBuilder(4096);
      bb.reset({});
      bb.append(Date.now(), null, new Uint8Array(16));
      const res = await c.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: partition, records: bb.finish() }] }] });
      assert.equal(res.responses[0].partitionResponses[0].errorCode, 0);
    }
    // Nothing past offset 1 on either shard: a first round on the client's channels, then a long poll on new ones.
    const polled = await c.request(1, 12, {
      replicaId: -1, maxWaitMs: 100, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, rackId: "", forgottenTopicsData: [],
      topics: [{ topic, partitions: [0, 1].map((partition) => ({ partition, currentLeaderEpoch: -1, fetchOffset: 1n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 })) }],
    });
    assert.equal(polled.errorCode, 0);
    const after = await shardRequests(node);
    for (const k of [0, 1]) {
      const delta = (api: string) => (after[k].get(api) ?? 0) - (before[k].get(api) ?? 0);
      assert.equal(delta("Produce"), 1, `shard ${k} answered the client's Produce`);
      assert.equal(delta("Fetch"), 2, `shard ${k} answered the Fetch's first round and its long poll`);
      assert.equal(delta("ApiVersions"), 0, `shard ${k} was sent ApiVersions for the client's channels`);
    }
  } finally {
    client?.close();
    admin.close();
    await node.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
