/**
 * The front's pure routing pieces on generated codec objects: a Produce request decoded from the wire splits by
 * owning shard into sub-requests that encode and decode back to exactly their partitions; answers merge per topic;
 * groups and transactional ids go to the shard leading their coordinator partition; shard ids become the node's.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { API_CODECS } from "../../src/protocol/generated/index.ts";
import { Reader, Writer } from "../../src/protocol/wire.ts";
import type { ProduceRequest, ProduceResponse } from "../../src/protocol/generated/00_produce.ts";
import type { MetadataResponse } from "../../src/protocol/generated/03_metadata.ts";
import type { FrontMetadata } from "../../src/shard/front/front-shards.ts";
import type { PartitionStateRecord, TopicRecord } from "../../src/cluster/metadata-store.ts";
import { ShardRouting, CoordinatorKind } from "../../src/shard/front/shard-routing.ts";
import { mergeTopics, soleOwner, splitTopics, PARTITION_SHAPES } from "../../src/shard/front/partition-split.ts";
import { rewriteMetadata } from "../../src/shard/front/node-rewrite.ts";
import { offsetsPartitionFor } from "../../src/group/group-partitioning.ts";
import { transactionPartitionFor } from "../../src/transactions/transaction-coordinator.ts";

/** Metadata with topics whose partitions are led by the shards given per partition. */
function metadataOf(leaders: Record<string, number[]>): FrontMetadata {
  const topics: TopicRecord[] = Object.entries(leaders).map(([name, l], i) => ({ name, idHex: String(i).padStart(32, "0"), partitions: l.length, replicationFactor: 1, configs: {}, createdAtMs: 0 }));
  const state = (topic: string, partition: number): PartitionStateRecord | undefined => {
    const leader = leaders[topic]?.[partition];
    return leader === undefined ? undefined : { topic, partition, replicas: [leader], leader, leaderEpoch: 0, isr: [leader], partitionEpoch: 0 };
  };
  return { version: 1, topics: () => topics, topic: (n) => topics.find((t) => t.name === n), partitionState: state };
}

/** Encodes a request body at `version` and decodes it again (what a shard receives). */
function wire(apiKey: number, version: number, body: unknown): any {
  const w = new Writer(1024);
  w.beginMessage();
  API_CODECS[apiKey]!.writeRequest(w, version, body);
  const bytes = w.finishContiguous().slice();
  return API_CODECS[apiKey]!.readRequest(new Reader(bytes), version);
}

const batch = (n: number) => new Uint8Array(70).fill(n);

test("a Produce request splits by owning shard and each part survives the wire", () => {
  const routing = new ShardRouting(metadataOf({ a: [0, 1, 0, 1], b: [1, 1] }), 2);
  const req: ProduceRequest = wire(0, 9, {
    transactionalId: null, acks: -1, timeoutMs: 30_000,
    topicData: [
      { name: "a", partitionData: [0, 1, 2, 3].map((index) => ({ index, records: batch(index) })) },
      { name: "b", partitionData: [{ index: 1, records: batch(9) }] },
      { name: "unknown", partitionData: [{ index: 0, records: batch(8) }] },
    ],
  });
  const shape = PARTITION_SHAPES[0];
  const split = splitTopics(req.topicData, shape.reqParts, shape.reqIndex, routing);
  assert.deepEqual([...split.keys()].sort(), [0, 1]);
  const parts = (s: number) => (wire(0, 9, { ...req, topicData: split.get(s)! }) as ProduceRequest).topicData.map((t) => [t.name, t.partitionData.map((p) => [p.index, (p.records as Uint8Array)[0]])]);
  // An unknown topic goes to shard 0, which answers UNKNOWN_TOPIC_OR_PARTITION.
  assert.deepEqual(parts(0), [["a", [[0, 0], [2, 2]]], ["unknown", [[0, 8]]]]);
  assert.deepEqual(parts(1), [["a", [[1, 1], [3, 3]]], ["b", [[1, 9]]]]);
  // Spanning both shards: no sole owner; one shard's partitions only: that shard, and the request goes on unsplit.
  assert.equal(soleOwner(req.topicData, shape.reqParts, shape.reqIndex, routing), null);
  assert.equal(soleOwner(split.get(1)!, shape.reqParts, shape.reqIndex, routing), 1);
  assert.equal(soleOwner([], shape.reqParts, shape.reqIndex, routing), 0);
});

test("shards' answers merge per topic, keeping the longest throttle", () => {
  const answer = (throttle: number, parts: [string, number][]): ProduceResponse => ({
    throttleTimeMs: throttle,
    responses: [...new Set(parts.map(([t]) => t))].map((name) => ({ name, partitionResponses: parts.filter(([t]) => t === name).map(([, index]) => ({ index, errorCode: 0, baseOffset: 5n, logAppendTimeMs: -1n, logStartOffset: 0n, recordErrors: [], errorMessage: null })) })),
  });
  const merged = mergeTopics([answer(0, [["a", 0], ["a", 2]]), answer(30, [["a", 1], ["b", 1]])], "responses", "partitionResponses");
  assert.equal(merged.throttleTimeMs, 30);
  assert.deepEqual(merged.responses.map((t) => [t.name, t.partitionResponses.map((p) => p.index)]), [["a", [0, 2, 1]], ["b", [1]]]);
  const w = new Writer(1024);
  w.beginMessage();
  API_CODECS[0]!.writeResponse(w, 9, merged);
  const back = API_CODECS[0]!.readResponse(new Reader(w.finishContiguous().slice()), 9) as ProduceResponse;
  assert.equal(back.responses[0].partitionResponses.length, 3);
});

test("coordinators: the shard leading the group's or transactional id's partition; shard 0 before the topic exists", () => {
  const offsets = [0, 1, 1, 0, 1];
  const txns = [1, 0, 0];
  const routing = new ShardRouting(metadataOf({ __consumer_offsets: offsets, __transaction_state: txns }), 2);
  for (const g of ["readers", "g1", "another-group", ""]) assert.equal(routing.coordinator(CoordinatorKind.Group, g), offsets[offsetsPartitionFor(g, 5)], g);
  for (const t of ["tx", "front-tx", "x"]) assert.equal(routing.coordinator(CoordinatorKind.Transaction, t), txns[transactionPartitionFor(t, 3)], t);
  assert.equal(new ShardRouting(metadataOf({}), 2).coordinator(CoordinatorKind.Group, "g"), 0);
  assert.equal(routing.topicName("0".repeat(32)), "__consumer_offsets");
});

test("Metadata from a shard names only the node", () => {
  const res: MetadataResponse = {
    throttleTimeMs: 0, clusterId: "c", controllerId: 1,
    brokers: [{ nodeId: 0, host: "shard0", port: 1, rack: null }, { nodeId: 1, host: "shard1", port: 2, rack: null }],
    topics: [{ errorCode: 0, name: "a", isInternal: false, partitions: [
      { errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 0, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] },
      { errorCode: 5, partitionIndex: 1, leaderId: -1, leaderEpoch: 0, replicaNodes: [0], isrNodes: [], offlineReplicas: [0] },
    ] }],
  };
  const out = rewriteMetadata(res, { nodeId: 7, host: "h", port: 9092, rack: "r" });
  assert.deepEqual(out.brokers, [{ nodeId: 7, host: "h", port: 9092, rack: "r" }]);
  assert.equal(out.controllerId, 7);
  assert.deepEqual(out.topics[0].partitions.map((p) => [p.leaderId, p.replicaNodes, p.isrNodes, p.offlineReplicas]), [[7, [7], [7], []], [-1, [7], [], [7]]]);
});
