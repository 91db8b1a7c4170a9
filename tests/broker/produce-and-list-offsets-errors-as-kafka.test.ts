/**
 * Produce and ListOffsets answer their error cases as Kafka 4.4 does (found by the randomized differential test
 * tests/oracle/produce-random-match-kafka): the checks Kafka makes of a whole Produce request before any partition
 * (a corrupt first-batch header, transactional batches without a transactional id, an unknown codec id below v7),
 * the request-level shape of a partition's records (one whole v2 batch, no zstd below v7) before acks, an unknown
 * codec id at v7+ failing only its partition, the log start offset in a failed partition's answer, no timestamp
 * limits on a LogAppendTime topic; ListOffsets' special timestamps per version and the max-timestamp offset only
 * below the last fetchable offset.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { BatchBuilder, sealBatch } from "../../src/protocol/record-batch.ts";
import { ATTRIBUTES_OFFSET, MAGIC_OFFSET } from "../../src/protocol/batch-layout.ts";
import { initCompression, zstdCodec } from "../../src/compression/index.ts";

await initCrc32c();
await initCompression();

const T0 = 1_700_000_000_000;

function batch(n: number, opts: { at?: (i: number) => number; zstd?: boolean; producerId?: bigint; transactional?: boolean } = {}): Uint8Array {
  const bb = new BatchBuilder(1 << 16);
  bb.reset(opts.producerId === undefined ? {} : { producerId: opts.producerId, producerEpoch: 0, baseSequence: 0, isTransactional: opts.transactional });
  for (let i = 0; i < n; i++) bb.append(opts.at?.(i) ?? T0 + i, new TextEncoder().encode(`k${i}`), new TextEncoder().encode(`v${i}`));
  return opts.zstd ? bb.finish({ codecId: zstdCodec.id, compress: (s) => zstdCodec.compress(s) }) : bb.finish();
}

/** The batch with codec id `codec` in its attributes (CRC sealed again). */
function withCodec(b: Uint8Array, codec: number): Uint8Array {
  const x = b.slice();
  const dv = new DataView(x.buffer);
  dv.setInt16(ATTRIBUTES_OFFSET, (dv.getInt16(ATTRIBUTES_OFFSET) & ~7) | codec);
  sealBatch(x, 0, x.length);
  return x;
}

async function withBroker(body: (c: RawClient, b: TestBroker) => Promise<void>): Promise<void> {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  try {
    await body(c, b);
  } finally {
    c.close();
    await b.stop();
  }
}

async function createTopic(c: RawClient, name: string, configs: { name: string; value: string }[] = []): Promise<void> {
  const r = await c.request(19, 5, { topics: [{ name, numPartitions: 3, replicationFactor: 1, assignments: [], configs }], timeoutMs: 10000, validateOnly: false });
  assert.equal(r.topics[0].errorCode, 0);
}

type Answer = { index: number; errorCode: number; baseOffset: bigint; logStartOffset: bigint };

async function produce(c: RawClient, version: number, topic: string, parts: [number, Uint8Array | null][], acks = -1, transactionalId: string | null = null): Promise<Answer[]> {
  const r = await c.request(0, version, { transactionalId, acks, timeoutMs: 10000, topicData: [{ name: topic, partitionData: parts.map(([index, records]) => ({ index, records })) }] });
  return r.responses[0].partitionResponses.sort((a: Answer, b: Answer) => a.index - b.index);
}

async function highWatermarks(c: RawClient, topic: string): Promise<bigint[]> {
  const r = await c.request(2, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [0, 1, 2].map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: -1n })) }] });
  return r.topics[0].partitions.map((p: any) => p.offset);
}

const codes = (a: Answer[]) => a.map((x) => [x.index, x.errorCode]);

test("Produce: a corrupt first-batch header or transactional batches without a transactional id fail the whole request; nothing is written", async () => {
  await withBroker(async (c) => {
    await createTopic(c, "whole");
    const badMagic = batch(1);
    badMagic[MAGIC_OFFSET] = 3;
    const corrupt = await produce(c, 9, "whole", [[0, batch(2)], [1, badMagic], [2, batch(1)]]);
    assert.deepEqual(codes(corrupt), [[0, ErrorCode.CORRUPT_MESSAGE], [1, ErrorCode.CORRUPT_MESSAGE], [2, ErrorCode.CORRUPT_MESSAGE]]);
    assert.ok(corrupt.every((x) => x.baseOffset === -1n && x.logStartOffset === -1n));
    const init = await c.request(22, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
    const txn = await produce(c, 9, "whole", [[0, batch(2)], [1, batch(1, { producerId: init.producerId, transactional: true })], [7, batch(1)]]);
    assert.deepEqual(codes(txn), [[0, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED], [1, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED], [7, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED]]);
    assert.deepEqual(await highWatermarks(c, "whole"), [0n, 0n, 0n]);
  });
});

test("Produce: unknown codec id 6 fails the whole request below v7 (UNKNOWN_SERVER_ERROR, nothing written), only its partition from v7", async () => {
  await withBroker(async (c) => {
    await createTopic(c, "codec");
    const old = await produce(c, 6, "codec", [[0, batch(2)], [1, withCodec(batch(1), 6)]]);
    assert.deepEqual(codes(old), [[0, ErrorCode.UNKNOWN_SERVER_ERROR], [1, ErrorCode.UNKNOWN_SERVER_ERROR]]);
    assert.ok(old.every((x) => x.baseOffset === -1n && x.logStartOffset === -1n), JSON.stringify(old, (_, v) => (typeof v === "bigint" ? String(v) : v)));
    assert.deepEqual(await highWatermarks(c, "codec"), [0n, 0n, 0n]);
    const v7 = await produce(c, 7, "codec", [[0, batch(2)], [1, withCodec(batch(1), 6)]]);
    assert.deepEqual(codes(v7), [[0, ErrorCode.NONE], [1, ErrorCode.UNKNOWN_SERVER_ERROR]]);
    assert.equal(v7[1].logStartOffset, 0n, "a partition the log refused reports its log start offset");
    assert.deepEqual(await highWatermarks(c, "codec"), [2n, 0n, 0n]);
  });
});

test("Produce: one whole v2 batch per partition and no zstd below v7 (checked before acks); unknown partitions before acks too", async () => {
  await withBroker(async (c) => {
    await createTopic(c, "shape");
    const two = new Uint8Array([...batch(1), ...batch(1)]);
    const cut = batch(2).subarray(0, 40);
    const r = await produce(c, 6, "shape", [[0, two], [1, cut], [2, batch(1, { zstd: true })], [7, batch(1)]]);
    assert.deepEqual(codes(r), [[0, ErrorCode.INVALID_RECORD], [1, ErrorCode.INVALID_RECORD], [2, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE], [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]);
    assert.ok(r.every((x) => x.logStartOffset === -1n));
    const acks2 = await produce(c, 9, "shape", [[0, two], [1, batch(1)]], 2);
    assert.deepEqual(codes(acks2), [[0, ErrorCode.INVALID_RECORD], [1, ErrorCode.INVALID_REQUIRED_ACKS]]);
    assert.deepEqual(await highWatermarks(c, "shape"), [0n, 0n, 0n]);
  });
});

test("Produce: LogAppendTime topics take any producer timestamp; CreateTime ones refuse those past the limit with the log start offset", async () => {
  await withBroker(async (c) => {
    const limit = [{ name: "message.timestamp.after.max.ms", value: "3600000" }];
    await createTopic(c, "lat", [...limit, { name: "message.timestamp.type", value: "LogAppendTime" }]);
    await createTopic(c, "ct", limit);
    const ahead = batch(2, { at: (i) => Date.now() + 2 * 86_400_000 + i });
    assert.deepEqual(codes(await produce(c, 9, "lat", [[0, ahead]])), [[0, ErrorCode.NONE]]);
    const refused = await produce(c, 9, "ct", [[0, ahead]]);
    assert.deepEqual(codes(refused), [[0, ErrorCode.INVALID_TIMESTAMP]]);
    assert.equal(refused[0].logStartOffset, 0n);
  });
});

test("ListOffsets: special timestamps from their versions only (UNSUPPORTED_VERSION first); max timestamp only below the last stable offset", async () => {
  await withBroker(async (c) => {
    await createTopic(c, "lo");
    const list = async (version: number, timestamp: bigint, partitionIndex = 0, isolationLevel = 0) =>
      (await c.request(2, version, { replicaId: -1, isolationLevel, topics: [{ name: "lo", partitions: [{ partitionIndex, currentLeaderEpoch: -1, timestamp }] }] })).topics[0].partitions[0];
    assert.equal((await list(6, -3n)).errorCode, ErrorCode.UNSUPPORTED_VERSION);
    assert.equal((await list(7, -4n, 9)).errorCode, ErrorCode.UNSUPPORTED_VERSION, "before the partition is looked up");
    assert.equal((await list(8, -5n)).errorCode, ErrorCode.UNSUPPORTED_VERSION);
    assert.equal((await list(9, -7n)).errorCode, ErrorCode.UNSUPPORTED_VERSION, "a negative timestamp Kafka does not know");
    assert.equal((await list(8, -4n)).errorCode, ErrorCode.NONE);
    // an open transaction holds the last stable offset at 0: its batch is the max timestamp, not yet fetchable read_committed
    const tid = "lo-tx";
    await c.findCoordinator(tid, 1);
    const init = await c.requestWhileCoordinatorLoads(22, 4, { transactionalId: tid, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 }, (r: any) => r.errorCode);
    const add = await c.request(24, 3, { v3AndBelowTransactionalId: tid, v3AndBelowProducerId: init.producerId, v3AndBelowProducerEpoch: init.producerEpoch, v3AndBelowTopics: [{ name: "lo", partitions: [0] }] });
    assert.equal(add.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode, 0);
    assert.deepEqual(codes(await produce(c, 9, "lo", [[0, batch(2, { producerId: init.producerId, transactional: true })]], -1, tid)), [[0, ErrorCode.NONE]]);
    const committed = await list(9, -3n, 0, 1);
    assert.deepEqual([committed.errorCode, committed.offset, committed.timestamp, committed.leaderEpoch], [ErrorCode.NONE, -1n, -1n, -1]);
    const uncommitted = await list(9, -3n, 0, 0);
    assert.deepEqual([uncommitted.offset, uncommitted.timestamp], [1n, BigInt(T0 + 1)]);
  });
});

test("Produce: a transactional batch the coordinator did not verify is refused before acks and before the batch is validated", async () => {
  await withBroker(async (c) => {
    await createTopic(c, "verify");
    const tid = "verify-tx";
    await c.findCoordinator(tid, 1);
    const init = await c.requestWhileCoordinatorLoads(22, 4, { transactionalId: tid, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 }, (r: any) => r.errorCode);
    const notAdded = batch(2, { producerId: init.producerId, transactional: true });
    const badCount = notAdded.slice();
    new DataView(badCount.buffer).setInt32(57, 3); // recordsCount 3 for 2 records
    sealBatch(badCount, 0, badCount.length);
    const r = await produce(c, 9, "verify", [[0, notAdded], [1, badCount], [2, batch(1)]], 2, tid);
    assert.deepEqual(codes(r), [[0, ErrorCode.INVALID_TXN_STATE], [1, ErrorCode.INVALID_TXN_STATE], [2, ErrorCode.INVALID_REQUIRED_ACKS]]);
    assert.ok(r.every((x) => x.logStartOffset === -1n));
  });
});

test("Produce: a duplicate idempotent batch is answered with the first copy's offset and max timestamp as its append time", async () => {
  await withBroker(async (c) => {
    await createTopic(c, "dup");
    const init = await c.request(22, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
    const b = batch(3, { producerId: init.producerId });
    const first = await produce(c, 9, "dup", [[0, b]]);
    const again = await produce(c, 9, "dup", [[0, b]]);
    assert.deepEqual([first[0].errorCode, again[0].errorCode, again[0].baseOffset], [0, 0, 0n]);
    assert.equal((again[0] as any).logAppendTimeMs, BigInt(T0 + 2), "CreateTime topic: the batch's max timestamp");
  });
});

test("DeleteRecords past an open transaction's first offset: the last stable offset counts from the new log start's batch (as Kafka)", async () => {
  await withBroker(async (c) => {
    await createTopic(c, "lso");
    const tid = "lso-tx";
    await c.findCoordinator(tid, 1);
    const init = await c.requestWhileCoordinatorLoads(22, 4, { transactionalId: tid, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 }, (r: any) => r.errorCode);
    await c.request(24, 3, { v3AndBelowTransactionalId: tid, v3AndBelowProducerId: init.producerId, v3AndBelowProducerEpoch: init.producerEpoch, v3AndBelowTopics: [{ name: "lso", partitions: [0] }] });
    assert.deepEqual(codes(await produce(c, 9, "lso", [[0, batch(2, { producerId: init.producerId, transactional: true })]], -1, tid)), [[0, ErrorCode.NONE]]);
    const deleted = await c.request(21, 2, { topics: [{ name: "lso", partitions: [{ partitionIndex: 0, offset: 1n }] }], timeoutMs: 10000 });
    assert.deepEqual([deleted.topics[0].partitions[0].errorCode, deleted.topics[0].partitions[0].lowWatermark], [0, 1n]);
    const f = await c.request(1, 12, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 1, sessionId: 0, sessionEpoch: -1, rackId: "",
      topics: [{ topic: "lso", partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 1n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [],
    });
    // inside the transaction's one batch (offsets 0-1): Kafka's LSO is that batch's base offset, 0; past it, the log start
    const pd = f.responses[0].partitions[0];
    assert.deepEqual([pd.errorCode, pd.highWatermark, pd.lastStableOffset, pd.logStartOffset], [0, 2n, 0n, 1n]);
    const past = await c.request(21, 2, { topics: [{ name: "lso", partitions: [{ partitionIndex: 0, offset: 2n }] }], timeoutMs: 10000 });
    assert.equal(past.topics[0].partitions[0].lowWatermark, 2n);
    const lo = await c.request(2, 7, { replicaId: -1, isolationLevel: 1, topics: [{ name: "lso", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }] });
    assert.equal(lo.topics[0].partitions[0].offset, 2n);
  });
});
