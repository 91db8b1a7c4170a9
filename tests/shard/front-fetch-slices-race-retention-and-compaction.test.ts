/**
 * Fetches through a sharded node's front (shards in worker threads, records passed as file slices) while retention
 * deletes segments and the cleaner swaps compacted ones in, every 100 ms: every answer is whole, CRC-valid batches
 * at the offsets asked for, or OFFSET_OUT_OF_RANGE once retention passed the offset asked; never other bytes, and
 * the node keeps serving.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { readBatchHeader, verifyBatchIntegrity } from "../../src/protocol/record-batch.ts";
import { RawClient } from "../support/raw-client.ts";
import { startFrontOverShards } from "./front-fixture.ts";

const VERSION = 12;
const RUN_MS = 4000;
const OFFSET_OUT_OF_RANGE = 1;

/** A Fetch (no wait) of `topic`-`partition` from `fetchOffset` through the front. */
function fetchAt(raw: RawClient, topic: string, partition: number, fetchOffset: bigint): Promise<any> {
  return raw.request(1, VERSION, {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 22, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [], rackId: "",
  });
}

/** The log start offset of `topic`-`partition` (ListOffsets, earliest). */
async function logStart(raw: RawClient, topic: string, partition: number): Promise<bigint> {
  const lo = await raw.request(2, 5, { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -2n }] }] });
  return lo.topics[0].partitions[0].offset as bigint;
}

/** Checks `records` (a Fetch answer's) against a fetch from `fetchOffset`; returns the next offset to fetch. */
function checkRecords(topic: string, records: Uint8Array, fetchOffset: bigint): bigint {
  let at = 0;
  let next = fetchOffset;
  let first = true;
  while (at < records.length) {
    const h = readBatchHeader(records, at);
    const size = h.batchLength + 12;
    assert.ok(at + size <= records.length, `${topic}: a whole batch at ${at}`);
    assert.equal(verifyBatchIntegrity(records, at, size), null, `${topic}: batch at offset ${h.baseOffset} is intact`);
    const last = h.baseOffset + BigInt(h.lastOffsetDelta);
    if (first) assert.ok(last >= fetchOffset, `${topic}: the first batch (${h.baseOffset}..${last}) holds or follows ${fetchOffset}`);
    else assert.ok(h.baseOffset >= next, `${topic}: batches in offset order (${h.baseOffset} after ${next})`);
    first = false;
    next = last + 1n;
    at += size;
  }
  return next;
}

test("fetches through the front racing retention and compaction get intact records at their offsets or OFFSET_OUT_OF_RANGE", { timeout: 180_000 }, async () => {
  await initCrc32c();
  const node = await startFrontOverShards({ extra: { "log.retention.check.interval.ms": "100", "log.cleaner.backoff.ms": "100" } });
  const kafka = new Kafka({ clientId: "race", brokers: [node.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  const admin = kafka.admin();
  let raw: RawClient | null = null;
  try {
    await admin.connect();
    await producer.connect();
    const settings = { "segment.ms": "100", "file.delete.delay.ms": "0" };
    await admin.createTopics({
      topics: [
        { topic: "retained", numPartitions: 2, configEntries: Object.entries({ ...settings, "retention.bytes": "200000" }).map(([name, value]) => ({ name, value })) },
        { topic: "compacted", numPartitions: 2, configEntries: Object.entries({ ...settings, "cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0" }).map(([name, value]) => ({ name, value })) },
      ],
      waitForLeaders: true,
    });
    raw = await RawClient.connect(node.port);
    const until = Date.now() + RUN_MS;
    let sent = 0;
    let produceFailed: unknown = null;
    const produce = (async () => {
      for (let b = 0; Date.now() < until; b++) {
        for (const topic of ["retained", "compacted"]) {
          await producer.send({ topic, acks: -1, messages: Array.from({ length: 8 }, (_, i) => ({ partition: b % 2, key: `k${i}`, value: `${topic}-${b}-${i}-`.padEnd(1500, "x") })) });
          sent++;
        }
      }
    })().catch((e) => void (produceFailed = e));
    const next = new Map<string, bigint>();
    let answers = 0;
    let withRecords = 0;
    let outOfRange = 0;
    while (Date.now() < until || answers < 20) {
      for (const topic of ["retained", "compacted"]) {
        for (const partition of [0, 1]) {
          const key = `${topic}-${partition}`;
          const fetchOffset = next.get(key) ?? 0n;
          const res = await fetchAt(raw, topic, partition, fetchOffset);
          answers++;
          const p = res.responses[0].partitions[0];
          if (p.errorCode === OFFSET_OUT_OF_RANGE) {
            outOfRange++;
            assert.ok(p.logStartOffset === -1n || p.logStartOffset > fetchOffset || p.highWatermark < fetchOffset, `${key}: out of range at ${fetchOffset}`);
            // As a client resetting to earliest.
            next.set(key, await logStart(raw, topic, partition));
            continue;
          }
          assert.equal(p.errorCode, 0, `${key}: fetch at ${fetchOffset} answered error ${p.errorCode}`);
          const records = new Uint8Array(p.records ?? new Uint8Array(0));
          if (records.length > 0) withRecords++;
          // Read each partition again from its start now and then, so retired segments are asked for too.
          const after = checkRecords(key, records, fetchOffset);
          next.set(key, answers % 7 === 0 ? 0n : after);
        }
      }
    }
    await produce;
    assert.equal(produceFailed, null, "every produce was acknowledged");
    assert.ok(sent > 0 && withRecords > 0, `records were read (${withRecords} answers with records, ${sent} batches sent)`);
    const maps = node.front.router.deps.segmentMaps!;
    assert.ok(maps.counts.served > 0, "the front served slices");
    // Still serving: a fresh fetch of each partition from its log start answers without error.
    for (const topic of ["retained", "compacted"]) {
      const start = await logStart(raw, topic, 0);
      const res = await fetchAt(raw, topic, 0, start);
      const p = res.responses[0].partitions[0];
      assert.ok(p.errorCode === 0 || p.errorCode === OFFSET_OUT_OF_RANGE, `${topic}-0 from its start: error ${p.errorCode}`);
      if (p.errorCode === 0) checkRecords(`${topic}-0`, new Uint8Array(p.records ?? new Uint8Array(0)), start);
    }
    console.log(`race: ${answers} fetches, ${withRecords} with records, ${outOfRange} out of range; slices served ${maps.counts.served}, refused ${maps.counts.refused}, maps taken ${maps.counts.mapped}`);
  } catch (e) {
    console.error("race test failed:", e);
    throw e;
  } finally {
    raw?.close();
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
    await node.close();
  }
});
