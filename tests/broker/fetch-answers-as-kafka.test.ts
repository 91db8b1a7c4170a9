/**
 * A consumer's Fetch is answered as Kafka 4.4 answers it where the request is odd (found by the randomized
 * differential test tests/oracle/fetch-random-match-kafka): a partition named twice is read once, at its first place
 * with its last settings; unknown topic ids and then unknown topics and partitions come after the partitions read;
 * a negative byte limit fails a partition that has records to read (UNKNOWN_SERVER_ERROR), and a negative request
 * maxBytes only the first partition read; a too-new current leader epoch and a last fetched epoch the log cannot
 * place report no offsets; a last fetched epoch ending before the fetch offset is answered with the diverging epoch;
 * read_committed answers without an aborted transactions list where the read failed or a first batch was over the
 * limit.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";

await initCrc32c();

const T0 = 1_700_000_000_000;

/** A batch of `n` records of `size` bytes each. */
function batch(n: number, size = 10): Uint8Array {
  const bb = new BatchBuilder(1 << 20);
  bb.reset({});
  for (let i = 0; i < n; i++) bb.append(T0 + i, new TextEncoder().encode(`k${i}`), new Uint8Array(size).fill(97 + i));
  return bb.finish();
}

/**
 * A broker with topic "t" of two partitions: partition 0 holds batches at offsets 0..2 and 3..5, partition 1 one
 * batch of 3 records of 2000 bytes at 0..2.
 */
async function withTopic(body: (c: RawClient, topicId: Uint8Array) => Promise<void>): Promise<void> {
  const b: TestBroker = await startTestBroker({ "auto.create.topics.enable": "false" });
  const c = await RawClient.connect(b.port);
  try {
    const created = await c.request(19, 7, { topics: [{ name: "t", numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10000, validateOnly: false });
    assert.equal(created.topics[0].errorCode, 0);
    for (const [p, records] of [[0, batch(3)], [0, batch(3)], [1, batch(3, 2000)]] as const) {
      const r = await c.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 10000, topicData: [{ name: "t", partitionData: [{ index: p, records }] }] });
      assert.equal(r.responses[0].partitionResponses[0].errorCode, 0);
    }
    await body(c, created.topics[0].topicId);
  } finally {
    c.close();
    await b.stop();
  }
}

interface Part {
  partition: number;
  fetchOffset?: bigint;
  partitionMaxBytes?: number;
  currentLeaderEpoch?: number;
  lastFetchedEpoch?: number;
}

/** A sessionless Fetch at `version` of `topics` (by name, or by id from v13), maxWaitMs 0. */
async function fetch(c: RawClient, version: number, topics: { topic: string; topicId?: Uint8Array; partitions: Part[] }[], opts: { maxBytes?: number; isolationLevel?: number } = {}): Promise<any> {
  return c.request(1, version, {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: opts.maxBytes ?? 1 << 20, isolationLevel: opts.isolationLevel ?? 0, sessionId: 0, sessionEpoch: -1, rackId: "", forgottenTopicsData: [],
    topics: topics.map((t) => ({
      topic: t.topic,
      topicId: t.topicId ?? new Uint8Array(16),
      partitions: t.partitions.map((p) => ({ partition: p.partition, currentLeaderEpoch: p.currentLeaderEpoch ?? -1, fetchOffset: p.fetchOffset ?? 0n, lastFetchedEpoch: p.lastFetchedEpoch ?? -1, logStartOffset: -1n, partitionMaxBytes: p.partitionMaxBytes ?? 1 << 20 })),
    })),
  });
}

/** Each answered partition as [index, error, first batch's base offset or null, record bytes]. */
function shape(r: any): [number, number, bigint | null, number][] {
  return r.responses.flatMap((t: any) => t.partitions.map((p: any) => [p.partitionIndex, p.errorCode, p.records?.length >= 8 ? Buffer.from(p.records).readBigInt64BE(0) : null, p.records?.length ?? 0]));
}

test("a partition named twice is read once, at its first place with its last settings (Kafka's fetchData map)", { timeout: 60_000 }, async () => {
  await withTopic(async (c) => {
    const r = await fetch(c, 12, [{ topic: "t", partitions: [{ partition: 0, fetchOffset: 0n }, { partition: 1 }, { partition: 0, fetchOffset: 4n }] }]);
    const got = shape(r);
    assert.deepEqual(got.map(([p, e, base]) => [p, e, base]), [[0, 0, 3n], [1, 0, 0n]]);
  });
});

test("unknown topic ids, then unknown topics and partitions, are answered after the partitions read", { timeout: 60_000 }, async () => {
  await withTopic(async (c, topicId) => {
    const unknownId = new Uint8Array(16).fill(9);
    const byId = await fetch(c, 13, [{ topic: "", topicId: unknownId, partitions: [{ partition: 0 }] }, { topic: "t", topicId, partitions: [{ partition: 7 }, { partition: 0 }] }, { topic: "", topicId: unknownId, partitions: [{ partition: 1 }] }]);
    assert.deepEqual(byId.responses.map((t: any) => [Buffer.from(t.topicId).equals(Buffer.from(topicId)) ? "t" : "unknown", t.partitions.map((p: any) => [p.partitionIndex, p.errorCode])]), [
      ["t", [[0, 0]]],
      ["unknown", [[0, ErrorCode.UNKNOWN_TOPIC_ID], [1, ErrorCode.UNKNOWN_TOPIC_ID]]],
      ["t", [[7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
    ]);
    const byName = await fetch(c, 12, [{ topic: "nope", partitions: [{ partition: 0 }] }, { topic: "t", partitions: [{ partition: 1 }] }]);
    assert.deepEqual(byName.responses.map((t: any) => [t.topic, t.partitions.map((p: any) => p.errorCode)]), [["t", [0]], ["nope", [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]]);
  });
});

test("a negative byte limit fails a partition with records to read, and a negative maxBytes only the first one read", { timeout: 60_000 }, async () => {
  await withTopic(async (c) => {
    const r = await fetch(c, 12, [{ topic: "t", partitions: [{ partition: 0, partitionMaxBytes: -1 }, { partition: 1, fetchOffset: 3n, partitionMaxBytes: -1 }] }]);
    const [p0, p1] = r.responses[0].partitions;
    assert.deepEqual([p0.errorCode, p0.highWatermark, p0.lastStableOffset, p0.logStartOffset, p0.records.length], [ErrorCode.UNKNOWN_SERVER_ERROR, -1n, -1n, -1n, 0]);
    // at the high watermark there is nothing to read: no error
    assert.deepEqual([p1.errorCode, p1.highWatermark, p1.records.length], [0, 3n, 0]);
    // maxBytes -1: the first partition read fails, the next reads with 0 left (its first batch whole, KIP-74)
    const m = await fetch(c, 12, [{ topic: "t", partitions: [{ partition: 0 }, { partition: 1 }] }], { maxBytes: -1 });
    assert.deepEqual(shape(m).map(([p, e, base]) => [p, e, base]), [[0, ErrorCode.UNKNOWN_SERVER_ERROR, null], [1, 0, 0n]]);
  });
});

test("a too-new current leader epoch and an unplaceable last fetched epoch report no offsets; an epoch ending earlier diverges", { timeout: 60_000 }, async () => {
  await withTopic(async (c) => {
    const r = await fetch(c, 12, [{ topic: "t", partitions: [{ partition: 0, currentLeaderEpoch: 1 }, { partition: 1, lastFetchedEpoch: 5 }] }]);
    const [p0, p1] = r.responses[0].partitions;
    assert.deepEqual([p0.errorCode, p0.highWatermark, p0.lastStableOffset, p0.logStartOffset], [ErrorCode.UNKNOWN_LEADER_EPOCH, -1n, -1n, -1n]);
    assert.deepEqual([p1.errorCode, p1.highWatermark, p1.lastStableOffset, p1.logStartOffset], [ErrorCode.OFFSET_OUT_OF_RANGE, -1n, -1n, -1n]);
    // epoch 0 ends at the log end offset 6, before the fetch offset 8: the diverging epoch, no records, no error
    const d = (await fetch(c, 12, [{ topic: "t", partitions: [{ partition: 0, fetchOffset: 8n, lastFetchedEpoch: 0 }] }])).responses[0].partitions[0];
    assert.deepEqual([d.errorCode, d.highWatermark, d.divergingEpoch.epoch, d.divergingEpoch.endOffset, d.records.length], [0, 6n, 0, 6n, 0]);
  });
});

test("read_committed answers no aborted transactions list where the read failed or a first batch was over the limit", { timeout: 60_000 }, async () => {
  await withTopic(async (c) => {
    const out = (await fetch(c, 12, [{ topic: "t", partitions: [{ partition: 0, fetchOffset: 9n }] }], { isolationLevel: 1 })).responses[0].partitions[0];
    assert.deepEqual([out.errorCode, out.abortedTransactions], [ErrorCode.OFFSET_OUT_OF_RANGE, null]);
    // partition 0 brings records (first, so whole); partition 1's first batch (6 KB) is over the 1000 bytes left
    const r = await fetch(c, 12, [{ topic: "t", partitions: [{ partition: 0, partitionMaxBytes: 1 }, { partition: 1, partitionMaxBytes: 1000 }] }], { isolationLevel: 1 });
    const [p0, p1] = r.responses[0].partitions;
    assert.ok(p0.records.length > 0);
    assert.deepEqual([p0.abortedTransactions, p1.records.length, p1.abortedTransactions], [[], 0, null]);
    // at the last stable offset: an empty read, with its (empty) list
    const atEnd = (await fetch(c, 12, [{ topic: "t", partitions: [{ partition: 1, fetchOffset: 3n }] }], { isolationLevel: 1 })).responses[0].partitions[0];
    assert.deepEqual([atEnd.errorCode, atEnd.abortedTransactions], [0, []]);
  });
});
