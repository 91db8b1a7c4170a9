/**
 * Differential: Produce errors (bad CRC, wrong magic, oversized, unknown topic and partition, acks=2, null keys on a
 * compacted topic with per-record errors (KIP-467), idempotent sequence gaps and duplicates, a transactional write
 * outside a transaction) and Fetch (below the log start, above the end, at the end, unknown partitions with empty
 * records, isolation levels, fetch sessions): Runnel answers as Apache Kafka does, at every version both serve.
 */
import { test } from "node:test";
import { assertSame, oracleSuite, type Side } from "./differential.ts";
import { batch, createTopic, initProducer, produce } from "./scenario-helpers.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";

/** A batch of `n` records whose timestamps `at(i)` chooses. */
function timestampBatch(n: number, at: (i: number) => number): Uint8Array {
  const bb = new BatchBuilder(1 << 16);
  bb.reset({});
  for (let i = 0; i < n; i++) bb.append(at(i), new Uint8Array([i]), new Uint8Array([i]));
  return bb.finish();
}

/** Produce at `version`: name and topic id both given (v13+ addresses topics by id; the writer drops what a version cannot carry). */
async function produceAt(s: Side, version: number, topic: string, topicId: Uint8Array, partition: number, records: Uint8Array | null, acks = -1, transactionalId: string | null = null): Promise<any> {
  const r = await s.client.request(0, version, { transactionalId, acks, timeoutMs: 10000, topicData: [{ name: topic, topicId, partitionData: [{ index: partition, records }] }] });
  return r.responses.map((t: any) => ({ partitions: t.partitionResponses }));
}

async function fetchAt(s: Side, version: number, topic: string, topicId: Uint8Array, parts: { partition: number; fetchOffset: bigint }[], extra: Record<string, unknown> = {}): Promise<any> {
  return s.client.request(1, version, {
    replicaId: -1, maxWaitMs: 10, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, rackId: "",
    topics: [{ topic, topicId, partitions: parts.map((p) => ({ partition: p.partition, currentLeaderEpoch: -1, fetchOffset: p.fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 })) }],
    forgottenTopicsData: [],
    ...extra,
  });
}

oracleSuite("produce and fetch match Apache Kafka", (pair) => {
  test("Produce errors: bad CRC, wrong magic, oversized, unknown topic/partition, acks=2, null keys on a compacted topic (per-record errors)", async () => {
    const p = await pair();
    const diffs = await p.compare("Produce", async (s) => {
      const out: Record<string, unknown> = {};
      const id = await createTopic(s, "pe-topic", 2, [{ name: "max.message.bytes", value: "2000" }]);
      const cid = await createTopic(s, "pe-compact", 1, [{ name: "cleanup.policy", value: "compact" }]);
      const tsid = await createTopic(s, "pe-ts", 1, [{ name: "message.timestamp.after.max.ms", value: "3600000" }]);
      out.first = await produce(s, "pe-topic", 0, batch(3));
      for (const v of p.versions(0)) {
        const good = batch(2);
        const badCrc = good.slice();
        badCrc[badCrc.length - 1] ^= 0xff;
        const badMagic = good.slice();
        badMagic[16] = 1;
        out[`v${v} ok`] = await produceAt(s, v, "pe-topic", id, 0, good, 1);
        out[`v${v} bad crc`] = await produceAt(s, v, "pe-topic", id, 0, badCrc);
        out[`v${v} wrong magic`] = await produceAt(s, v, "pe-topic", id, 0, badMagic);
        out[`v${v} oversized`] = await produceAt(s, v, "pe-topic", id, 0, batch(100));
        out[`v${v} unknown partition`] = await produceAt(s, v, "pe-topic", id, 7, good);
        out[`v${v} acks=2`] = await produceAt(s, v, "pe-topic", id, 0, good, 2).catch((e) => `error ${e.message.slice(0, 40)}`);
        out[`v${v} null keys`] = await produceAt(s, v, "pe-compact", cid, 0, batch(5, { key: (i) => (i % 2 === 0 ? null : new Uint8Array([i])) }));
        out[`v${v} empty records`] = await produceAt(s, v, "pe-topic", id, 1, new Uint8Array(0));
        // Records 2 and 4 are a day in the future, past message.timestamp.after.max.ms (one hour): per-record errors.
        const future = (i: number) => (i === 2 || i === 4 ? Date.now() + 86_400_000 : Date.now());
        out[`v${v} timestamps`] = await produceAt(s, v, "pe-ts", tsid, 0, timestampBatch(5, future));
      }
      return out;
    });
    assertSame("Produce errors", diffs);
  });

  test("Idempotent produce: sequence gap, duplicate, stale epoch, unknown producer; transactional batch outside a transaction", async () => {
    const p = await pair();
    const diffs = await p.compare("Produce idempotent", async (s) => {
      const out: Record<string, unknown> = {};
      const id = await createTopic(s, "idem-topic", 1);
      for (const v of p.versions(0).filter((x) => x >= 3)) {
        const init = await initProducer(s, null);
        out[`v${v} init`] = init.errorCode;
        const pid: bigint = init.producerId;
        const epoch: number = init.producerEpoch;
        out[`v${v} seq 0`] = await produceAt(s, v, "idem-topic", id, 0, batch(3, { producerId: pid, producerEpoch: epoch, baseSequence: 0 }));
        out[`v${v} duplicate`] = await produceAt(s, v, "idem-topic", id, 0, batch(3, { producerId: pid, producerEpoch: epoch, baseSequence: 0 }));
        out[`v${v} gap`] = await produceAt(s, v, "idem-topic", id, 0, batch(2, { producerId: pid, producerEpoch: epoch, baseSequence: 7 }));
        out[`v${v} next`] = await produceAt(s, v, "idem-topic", id, 0, batch(2, { producerId: pid, producerEpoch: epoch, baseSequence: 3 }));
        out[`v${v} stale epoch`] = await produceAt(s, v, "idem-topic", id, 0, batch(1, { producerId: pid, producerEpoch: epoch - 1 < 0 ? 32767 : epoch - 1, baseSequence: 5 }));
        out[`v${v} unknown producer`] = await produceAt(s, v, "idem-topic", id, 0, batch(1, { producerId: 987654321n, producerEpoch: 0, baseSequence: 3 }));
        out[`v${v} not from seq 0`] = await produceAt(s, v, "idem-topic", id, 0, batch(1, { producerId: pid + 1000n, producerEpoch: 0, baseSequence: 5 }));
      }
      return out;
    });
    assertSame("Produce idempotent", diffs);
    const txDiffs = await p.compare("Produce transactional", async (s) => {
      const out: Record<string, unknown> = {};
      const id = await createTopic(s, "txo-topic", 1);
      for (const v of p.versions(0).filter((x) => x >= 3)) {
        const txInit = await initProducer(s, `tx-outside-${v}`);
        out[`v${v} txn init`] = txInit.errorCode;
        out[`v${v} txn outside`] = await produceAt(s, v, "txo-topic", id, 0, batch(1, { producerId: txInit.producerId, producerEpoch: txInit.producerEpoch, baseSequence: 0, isTransactional: true }), -1, `tx-outside-${v}`);
      }
      return out;
    });
    assertSame("Produce transactional", txDiffs);
  });

  test("Fetch: below the log start, above the end, at the end, unknown partition (empty records beside an error), isolation levels", async () => {
    const p = await pair();
    const diffs = await p.compare("Fetch", async (s) => {
      const out: Record<string, unknown> = {};
      const id = await createTopic(s, "fe-topic", 2);
      out.produce = await produce(s, "fe-topic", 0, batch(10));
      out.deleteRecords = (await s.client.request(21, 2, { topics: [{ name: "fe-topic", partitions: [{ partitionIndex: 0, offset: 3n }] }], timeoutMs: 10000 })).topics;
      for (const v of p.versions(1).filter((x) => x >= 4)) {
        const one = async (fetchOffset: bigint, partition = 0, isolationLevel = 0) => {
          const r = await fetchAt(s, v, "fe-topic", id, [{ partition, fetchOffset }], { isolationLevel });
          return { errorCode: r.errorCode, responses: r.responses };
        };
        out[`v${v} from start`] = await one(3n);
        out[`v${v} below start`] = await one(0n);
        out[`v${v} middle`] = await one(5n);
        out[`v${v} at end`] = await one(10n);
        out[`v${v} above end`] = await one(11n);
        out[`v${v} unknown partition`] = await one(0n, 9);
        out[`v${v} read_committed`] = await one(3n, 0, 1);
        out[`v${v} empty partition`] = await one(0n, 1);
      }
      return out;
    });
    assertSame("Fetch", diffs);
  });

  test("Fetch: a long poll on a topic deleted while it waits", async () => {
    const p = await pair();
    const diffs = await p.compare("Fetch deleted topic", async (s) => {
      const out: Record<string, unknown> = {};
      for (const v of [12, 13, Math.max(...p.versions(1))]) {
        const name = `fd-topic-${v}`;
        const id = await createTopic(s, name, 1);
        const waiting = fetchAt(s, v, name, id, [{ partition: 0, fetchOffset: 0n }], { maxWaitMs: 2000 });
        // The fetch is parked on the empty partition; delete the topic from another connection meanwhile.
        const admin = await s.connect();
        await new Promise((res) => setTimeout(res, 300));
        out[`v${v} delete`] = (await admin.request(20, 4, { topicNames: [name], topics: [{ name, topicId: id }], timeoutMs: 10000 })).responses.map((r: any) => r.errorCode);
        const r = await waiting;
        out[`v${v} fetch`] = { errorCode: r.errorCode, responses: r.responses };
      }
      return out;
    });
    assertSame("Fetch deleted topic", diffs);
  });

  test("Fetch sessions: full, incremental with and without news, forgotten partitions, unknown session, stale epoch", async () => {
    const p = await pair();
    const diffs = await p.compare("Fetch sessions", async (s) => {
      const out: Record<string, unknown> = {};
      const id = await createTopic(s, "fs-topic", 2);
      await produce(s, "fs-topic", 0, batch(4));
      const v = Math.max(...p.versions(1));
      const parts = [{ partition: 0, fetchOffset: 0n }, { partition: 1, fetchOffset: 0n }];
      const full = await fetchAt(s, v, "fs-topic", id, parts, { sessionId: 0, sessionEpoch: 0 });
      out.full = { errorCode: full.errorCode, opened: full.sessionId !== 0, responses: full.responses };
      const sid = full.sessionId;
      const inc1 = await fetchAt(s, v, "fs-topic", id, [{ partition: 0, fetchOffset: 4n }], { sessionId: sid, sessionEpoch: 1 });
      out.incrementalNoNews = { errorCode: inc1.errorCode, responses: inc1.responses };
      await produce(s, "fs-topic", 1, batch(2));
      const inc2 = await fetchAt(s, v, "fs-topic", id, [], { sessionId: sid, sessionEpoch: 2 });
      out.incrementalNews = { errorCode: inc2.errorCode, responses: inc2.responses };
      const inc3 = await fetchAt(s, v, "fs-topic", id, [], { sessionId: sid, sessionEpoch: 3, forgottenTopicsData: [{ topic: "fs-topic", topicId: id, partitions: [1] }] });
      out.forgotten = { errorCode: inc3.errorCode, responses: inc3.responses };
      const stale = await fetchAt(s, v, "fs-topic", id, [], { sessionId: sid, sessionEpoch: 3 });
      out.staleEpoch = { errorCode: stale.errorCode, responses: stale.responses };
      const unknown = await fetchAt(s, v, "fs-topic", id, [], { sessionId: 123456, sessionEpoch: 1 });
      out.unknownSession = { errorCode: unknown.errorCode, responses: unknown.responses };
      const close = await fetchAt(s, v, "fs-topic", id, [], { sessionId: sid, sessionEpoch: -1 });
      out.close = { errorCode: close.errorCode };
      return out;
    });
    assertSame("Fetch sessions", diffs);
  });
});
