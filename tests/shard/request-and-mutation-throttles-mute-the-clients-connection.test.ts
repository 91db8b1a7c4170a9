/**
 * On a 2-shard node the throttle times of `request_percentage` (KIP-124) and `controller_mutation_rate` (KIP-599)
 * that a shard answers mute the client's own connection at the front, as one broker mutes it (KIP-219), as
 * shard-throttle-mutes-the-clients-connection shows for `producer_byte_rate`: the client's next request, to the
 * other shard and sent after the throttled answer arrived, is answered no earlier than the throttle time after the
 * throttled request was sent. Each quota is set (AlterClientQuotas) for a client id of its own, so the admin
 * connection that creates the topics is not throttled.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { BrokerConfig } from "../../src/broker/config.ts";
import { startShardedNode, type ShardedNode } from "../../src/shard/sharded-node.ts";
import { DEFAULT_SHARD } from "../../src/shard/front/shard-routing.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { RawClient } from "../support/raw-client.ts";
import { testLogger } from "../support/broker.ts";
import { topicOnTwoShards } from "./support.ts";

await initCrc32c();

/** Requests sent before the quota must have throttled one (the shards learn of the quota through the node's store). */
const MAX_TRIES = 50;

function batch(bytes: number): Uint8Array {
  const bb = new BatchBuilder(bytes + 4096);
  bb.reset({});
  bb.append(Date.now(), null, new Uint8Array(bytes));
  return bb.finish();
}

function produce(c: RawClient, topic: string, partition: number, bytes: number): Promise<any> {
  return c.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: partition, records: batch(bytes) }] }] });
}

/** Sets quota `key` = `value` for client id `clientId` over `admin`. */
async function setQuota(admin: RawClient, clientId: string, key: string, value: number): Promise<void> {
  const alter = await admin.request(49, 1, { entries: [{ entity: [{ entityType: "client-id", entityName: clientId }], ops: [{ key, value, remove: false }] }], validateOnly: false });
  assert.deepEqual(alter.entries.map((e: { errorCode: number }) => e.errorCode), [0]);
}

/**
 * Sends `request(i)` for i = 0, 1, ... until an answer carries a throttle time (the shards learn of a quota through the
 * node's store, so the first ones may come before it): when that request was sent, and its throttle time.
 */
async function firstThrottled(what: string, request: (i: number) => Promise<{ throttleTimeMs: number }>): Promise<{ sent: number; throttle: number }> {
  for (let i = 0; i < MAX_TRIES; i++) {
    const sent = performance.now();
    const throttle = (await request(i)).throttleTimeMs;
    if (throttle > 0) return { sent, throttle };
  }
  assert.fail(`no ${what} of ${MAX_TRIES} was throttled`);
}

/**
 * A topic on both shards, and a client `clientId` under `request_percentage` 0.001% of a thread (a burst of 10 us of
 * handler time, spent by any request: its throttle is the 2 s cap). The client's channels to both shards are open
 * before the quota, so what a later answer waits for is only what mutes the client's connection
 * (front-channels-open-without-api-versions: opening a channel costs the client nothing anyway).
 */
async function clientOverRequestQuota(node: ShardedNode, admin: RawClient, clientId: string): Promise<{ topic: string; client: RawClient }> {
  const topic = await topicOnTwoShards(admin, node.shards, clientId);
  const client = await RawClient.connect(node.port());
  client.clientId = clientId;
  for (const p of [0, 1]) assert.equal((await produce(client, topic, p, 16)).responses[0].partitionResponses[0].errorCode, 0);
  await setQuota(admin, clientId, "request_percentage", 0.001);
  return { topic, client };
}

/** Runs `body` against a fresh 2-shard node with `extra` settings (quota windows of 2 x 1 s: no throttle is longer than 2 s). */
async function withNode(name: string, extra: [string, string][], body: (node: ShardedNode, admin: RawClient) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `runnel-shard-${name}-`));
  const config = new BrokerConfig(new Map([...extra, ["listeners", "PLAINTEXT://127.0.0.1:0"], ["log.dirs", dir], ["runnel.shards", "2"], ["quota.window.num", "2"], ["quota.window.size.seconds", "1"], ["controller.quota.window.num", "2"], ["controller.quota.window.size.seconds", "1"]]));
  const node = await startShardedNode(config, { logger: testLogger() });
  const admin = await RawClient.connect(node.port());
  try {
    await body(node, admin);
  } finally {
    admin.close();
    await node.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test("request_percentage: a shard's throttle mutes the client's connection, its next request to the other shard waits the throttle time", { timeout: 120_000 }, async () => {
  await withNode("request-quota", [], async (node, admin) => {
    const { topic, client: busy } = await clientOverRequestQuota(node, admin, "busy");
    try {
      const { sent: sentA, throttle } = await firstThrottled("Produce to shard A", async () => {
        const a = await produce(busy, topic, 0, 1024);
        assert.equal(a.responses[0].partitionResponses[0].errorCode, 0);
        return a;
      });

      const b = await produce(busy, topic, 1, 16);
      const answeredB = performance.now();
      assert.equal(b.responses[0].partitionResponses[0].errorCode, 0);
      assert.ok(answeredB - sentA >= throttle, `shard B's answer came ${(answeredB - sentA).toFixed(1)} ms after the throttled Produce to shard A was sent, within its throttle time ${throttle} ms`);
    } finally {
      busy.close();
    }
  });
});

test("controller_mutation_rate: the home shard's throttle of CreateTopics mutes the client's connection, its next request to the other shard waits", { timeout: 120_000 }, async () => {
  // Only the main thread accepts clients: its front's home shard (where CreateTopics goes) is shard 0, while a shard
  // thread's front's home is its own shard, which a client cannot tell.
  await withNode("mutation-quota", [["runnel.shards.accept", "false"]], async (node, admin) => {
    const topic = await topicOnTwoShards(admin, node.shards, "other");
    // The Produce after the throttled CreateTopics goes to the partition on the shard that is not the home shard.
    const other = [0, 1].find((p) => node.shards.metadata.partitionState(topic, p)!.leader !== DEFAULT_SHARD)!;
    // 1 partition per second, a burst of 1: a topic of 20 partitions takes the bucket 19 into debt (the 2 s cap).
    await setQuota(admin, "mut", "controller_mutation_rate", 1);
    const mut = await RawClient.connect(node.port());
    mut.clientId = "mut";
    try {
      // The client's channel to the other shard is open before its CreateTopics is throttled (as in the test above).
      assert.equal((await produce(mut, topic, other, 16)).responses[0].partitionResponses[0].errorCode, 0);
      const { sent: sentCreate, throttle } = await firstThrottled("CreateTopics", async (i) => {
        const created = await mut.request(19, 7, { topics: [{ name: `wide-${i}`, numPartitions: 20, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 30_000, validateOnly: false });
        assert.equal(created.topics[0].errorCode, 0);
        return created;
      });

      const b = await produce(mut, topic, other, 16);
      const answeredB = performance.now();
      assert.equal(b.responses[0].partitionResponses[0].errorCode, 0);
      assert.ok(answeredB - sentCreate >= throttle, `shard ${node.shards.metadata.partitionState(topic, other)!.leader}'s answer came ${(answeredB - sentCreate).toFixed(1)} ms after the throttled CreateTopics was sent, within its throttle time ${throttle} ms`);
    } finally {
      mut.close();
    }
  });
});

/** A sessionless Fetch (v12) of partitions 0 and 1 of `topic` from `offset`, long-polling `maxWaitMs` for 1 byte. */
function fetchBoth(topic: string, offset: bigint, maxWaitMs: number): unknown {
  return {
    replicaId: -1, maxWaitMs, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, rackId: "", forgottenTopicsData: [],
    topics: [{ topic, partitions: [0, 1].map((partition) => ({ partition, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 })) }],
  };
}

// A Fetch over both shards with nothing to read is answered in two rounds: one without a wait on the client's
// channels, then a long poll on channels of its own (front-fetch.ts longPoll). The long poll's throttle time mutes the
// client's connection from its answer on, which comes no earlier than the wait after the Fetch was sent.
test("request_percentage: the throttle of a long poll over both shards mutes the client's connection from its answer on", { timeout: 120_000 }, async () => {
  await withNode("poll-quota", [], async (node, admin) => {
    const { topic, client: poller } = await clientOverRequestQuota(node, admin, "poller");
    try {
      const waitMs = 500;
      const { sent, throttle } = await firstThrottled("Fetch", async () => {
        const f = await poller.request(1, 12, fetchBoth(topic, 1n, waitMs));
        assert.equal(f.errorCode, 0);
        assert.deepEqual(f.responses[0].partitions.map((p: { records: Uint8Array | null }) => p.records?.length ?? 0), [0, 0], "nothing to read: the Fetch long-polled");
        return f;
      });

      const next = await produce(poller, topic, 1, 16);
      const answered = performance.now();
      assert.equal(next.responses[0].partitionResponses[0].errorCode, 0);
      assert.ok(answered - sent >= waitMs + throttle, `the next request was answered ${(answered - sent).toFixed(1)} ms after the Fetch was sent: before its long poll's answer (>= ${waitMs} ms) plus its throttle time ${throttle} ms`);
    } finally {
      poller.close();
    }
  });
});
