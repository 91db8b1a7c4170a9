/**
 * A sharded node's front merges the shards' answers to a request it split as one broker answers it (found by
 * tests/shard/sharded-node-answers-as-a-plain-broker.test.ts):
 * - ListOffsets and Produce answers keep the request's order: one topic entry per request entry (a topic named
 *   twice stays twice) and its partitions in request order, not grouped by shard;
 * - a Fetch answer's records keep the limits as one broker reads them: a partition is cut to whole batches within its
 *   `partition_max_bytes` and what is left of `max_bytes`, only the first partition with records past them (a shard
 *   reads its own first partition past `partition_max_bytes`, and spends `max_bytes` on its partitions only).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startBrokerProcess } from "../support/broker-process.ts";
import { BrokerConnection } from "../../src/client/connection.ts";
import { ApiKey } from "../../src/protocol/generated/index.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { recordsLength } from "../../src/protocol/wire.ts";
import { shardOf } from "../../src/shard/placement.ts";
import type { ListOffsetsResponse } from "../../src/protocol/generated/02_list_offsets.ts";
import type { ProduceResponse } from "../../src/protocol/generated/00_produce.ts";
import type { FetchResponse } from "../../src/protocol/generated/01_fetch.ts";

const TOPIC = "merged";
const PARTITIONS = 8;

/** One batch of `count` records of `size` bytes. */
function batch(count: number, size: number): Uint8Array {
  const bb = new BatchBuilder(count * (size + 32) + 128);
  bb.reset();
  for (let i = 0; i < count; i++) bb.append(1_700_000_000_000 + i, null, new Uint8Array(size).fill(i));
  return bb.finish();
}

async function withNode(run: (c: BrokerConnection) => Promise<void>): Promise<void> {
  await initCrc32c();
  // The partitions spread over both shards (else nothing is split).
  const owners = new Set(Array.from({ length: PARTITIONS }, (_, p) => shardOf(TOPIC, p, 2)));
  assert.equal(owners.size, 2);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-merged-"));
  const node = await startBrokerProcess("bun", ["--port", "0", "--data-dir", dir, "--shards", "2", "-o", "auto.create.topics.enable=false"], 90_000);
  const c = await BrokerConnection.open("127.0.0.1", node.port, -1);
  try {
    await c.request(ApiKey.CreateTopics, { topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
    await run(c);
  } finally {
    c.close();
    const exit = await node.stop("SIGTERM");
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(exit, 0);
  }
}

test("ListOffsets and Produce answers spanning shards keep the request's topic entries and partition order", { timeout: 120_000 }, async () => {
  await withNode(async (c) => {
    const order = [5, 0, 3, 6, 1, 7, 2, 4];
    // the topic named again names other partitions (a partition named twice is one INVALID_REQUEST answer, as Kafka's)
    const first = order.filter((p) => p !== 3 && p !== 2);
    const lo = await c.request<ListOffsetsResponse>(ApiKey.ListOffsets, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [
        { name: TOPIC, partitions: first.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: -1n })) },
        { name: "unknown", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] },
        { name: TOPIC, partitions: [3, 2].map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: -2n })) },
      ],
    }, { version: 7 });
    assert.deepEqual(lo.topics.map((t) => [t.name, t.partitions.map((p) => p.partitionIndex)]), [[TOPIC, first], ["unknown", [0]], [TOPIC, [3, 2]]]);
    const pr = await c.request<ProduceResponse>(ApiKey.Produce, { transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: order.map((index) => ({ index, records: batch(1, 10) })) }] }, { version: 9 });
    assert.deepEqual(pr.responses.map((t) => [t.name, t.partitionResponses.map((p) => [p.index, p.errorCode])]), [[TOPIC, order.map((p) => [p, 0])]]);
  });
});

test("a Fetch spanning shards reads each partition within its own and the request's max bytes, as one broker", { timeout: 120_000 }, async () => {
  await withNode(async (c) => {
    // Two batches of ~3 KB on every partition.
    for (let i = 0; i < 2; i++) await c.request(ApiKey.Produce, { transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: Array.from({ length: PARTITIONS }, (_, index) => ({ index, records: batch(10, 290) })) }] }, { version: 9 });
    const one = recordsLength(batch(10, 290));
    // Partition 0 first, then one of the other shard, then the rest.
    const other = Array.from({ length: PARTITIONS }, (_, p) => p).find((p) => shardOf(TOPIC, p, 2) !== shardOf(TOPIC, 0, 2))!;
    const order = [0, other, ...Array.from({ length: PARTITIONS }, (_, p) => p).filter((p) => p !== 0 && p !== other)];
    const fetch = (maxBytes: number, partitionMaxBytes: (i: number) => number) =>
      c.request<FetchResponse>(ApiKey.Fetch, {
        replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: "",
        topics: [{ topic: TOPIC, partitions: order.map((partition, i) => ({ partition, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: partitionMaxBytes(i) })) }],
      }, { version: 12 });
    const sizes = (r: FetchResponse) => r.responses.flatMap((t) => t.partitions.map((p) => recordsLength(p.records)));
    const rest = order.slice(2).map(() => 0);
    // partition_max_bytes of 1 byte: only the first partition brings a batch past it, not the other shard's first.
    assert.deepEqual(sizes(await fetch(1024 * 1024, () => 1)), [one, 0, ...rest]);
    // max_bytes of 2.5 batches, the first partition's limit one batch: the second brings the one whole batch left
    // room for (not nothing, as when its shard's two batches were dropped whole), the others none.
    assert.deepEqual(sizes(await fetch(Math.floor(2.5 * one), (i) => (i === 0 ? one : 1024 * 1024))), [one, one, ...rest]);
    // Within every limit: both batches of every partition.
    assert.deepEqual(sizes(await fetch(1024 * 1024, () => 1024 * 1024)), order.map(() => 2 * one));
  });
});
