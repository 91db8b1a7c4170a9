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
    const topic = await topicOnTwoShards(admin, node.shards, "busy");
    const busy = await RawClient.connect(node.port());
    busy.clientId = "busy";
    try {
      // The front opens the client's channel to each shard with an ApiVersions of its own, which the shard charges
      // to the client's request_percentage and, over the quota, answers after muting that channel: both channels
      // are opened before the quota, so shard B's answer below waits only on what mutes the client's connection.
      for (const p of [0, 1]) assert.equal((await produce(busy, topic, p, 16)).responses[0].partitionResponses[0].errorCode, 0);
      // 0.001% of a thread: a burst of 10 us of handler time, spent by any Produce (its throttle is the 2 s cap).
      await setQuota(admin, "busy", "request_percentage", 0.001);
      let sentA = 0;
      let throttle = 0;
      for (let i = 0; i < MAX_TRIES && throttle === 0; i++) {
        sentA = performance.now();
        const a = await produce(busy, topic, 0, 1024);
        assert.equal(a.responses[0].partitionResponses[0].errorCode, 0);
        throttle = a.throttleTimeMs as number;
      }
      assert.ok(throttle > 0, `no Produce of ${MAX_TRIES} to shard A was throttled`);

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
      let sentCreate = 0;
      let throttle = 0;
      for (let i = 0; i < MAX_TRIES && throttle === 0; i++) {
        sentCreate = performance.now();
        const created = await mut.request(19, 7, { topics: [{ name: `wide-${i}`, numPartitions: 20, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 30_000, validateOnly: false });
        assert.equal(created.topics[0].errorCode, 0);
        throttle = created.throttleTimeMs as number;
      }
      assert.ok(throttle > 0, `no CreateTopics of ${MAX_TRIES} was throttled`);

      const b = await produce(mut, topic, other, 16);
      const answeredB = performance.now();
      assert.equal(b.responses[0].partitionResponses[0].errorCode, 0);
      assert.ok(answeredB - sentCreate >= throttle, `shard ${node.shards.metadata.partitionState(topic, other)!.leader}'s answer came ${(answeredB - sentCreate).toFixed(1)} ms after the throttled CreateTopics was sent, within its throttle time ${throttle} ms`);
    } finally {
      mut.close();
    }
  });
});
