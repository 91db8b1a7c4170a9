/**
 * Test support for transactions over raw requests: transactional batches, Produce, read_committed/uncommitted
 * Fetch and a walk over the fetched batches (offsets, control markers, producer ids).
 */
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { ATTR_CONTROL, ATTR_TRANSACTIONAL, ATTRIBUTES_OFFSET, BATCH_LENGTH_OFFSET, LAST_OFFSET_DELTA_OFFSET, LOG_OVERHEAD, PRODUCER_ID_OFFSET, dataViewOf } from "../../src/protocol/batch-layout.ts";
import { readTxnMarker } from "../../src/protocol/control-record.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import type { RawClient } from "../support/raw-client.ts";

await initCrc32c();

/** A batch of `values`, transactional when `pid` >= 0 and `transactional`. */
export function batchOf(values: string[], pid = -1n, epoch = -1, baseSequence = -1, transactional = pid >= 0n): Uint8Array {
  const bb = new BatchBuilder(64 * 1024);
  bb.reset({ producerId: pid, producerEpoch: epoch, baseSequence, isTransactional: transactional });
  for (const v of values) bb.append(Date.now(), null, new TextEncoder().encode(v));
  return bb.finish();
}

/** A batch of `n` records at `ts` from idempotent producer `pid` (epoch 0), sequences from `seq`. */
export function idempotentBatch(pid: bigint, seq: number, n: number, ts: number): Uint8Array {
  const bb = new BatchBuilder(64 * 1024);
  bb.reset({ producerId: pid, producerEpoch: 0, baseSequence: seq });
  for (let i = 0; i < n; i++) bb.append(ts, null, new TextEncoder().encode(`v${seq + i}`));
  return bb.finish();
}

/** InitProducerId v4 with no transactional id: a new idempotent producer's id. */
export async function initIdempotent(c: RawClient): Promise<bigint> {
  const r = await c.request(22, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
  if (r.errorCode !== 0) throw new Error(`InitProducerId failed with error ${r.errorCode}`);
  return r.producerId;
}

/** Produce v9 of one batch to one partition; the partition response. */
export async function produce(c: RawClient, topic: string, partition: number, records: Uint8Array, transactionalId: string | null = null): Promise<{ errorCode: number; baseOffset: bigint; errorMessage: string | null }> {
  const r = await c.request(0, 9, { transactionalId, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
  return r.responses[0].partitionResponses[0];
}

/** One fetched batch. */
export interface FetchedBatch {
  /** First offset. */
  baseOffset: bigint;
  /** Last offset. */
  lastOffset: bigint;
  /** Producer id. */
  producerId: bigint;
  /** Whether it is transactional. */
  transactional: boolean;
  /** "COMMIT"/"ABORT" for a marker, else null. */
  marker: "COMMIT" | "ABORT" | null;
}

/** Fetch v12 of one partition from `offset`: the partition data and its batches. */
export async function fetchPartition(c: RawClient, topic: string, partition: number, offset: bigint, readCommitted: boolean, version = 12) {
  const r = await c.request(1, version, {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: readCommitted ? 1 : 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [],
    rackId: "",
  });
  const p = r.responses[0].partitions[0];
  return { data: p, batches: batchesIn(p.records as Uint8Array | null) };
}

/** The batches in a records field. */
export function batchesIn(records: Uint8Array | null): FetchedBatch[] {
  const out: FetchedBatch[] = [];
  if (records === null) return out;
  const dv = dataViewOf(records);
  for (let at = 0; at + LOG_OVERHEAD <= records.length; ) {
    const size = dv.getInt32(at + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
    const attributes = dv.getInt16(at + ATTRIBUTES_OFFSET);
    const baseOffset = dv.getBigInt64(at);
    let marker: FetchedBatch["marker"] = null;
    if ((attributes & ATTR_CONTROL) !== 0) marker = readTxnMarker(records, at, size)?.type === 1 ? "COMMIT" : "ABORT";
    out.push({
      baseOffset,
      lastOffset: baseOffset + BigInt(dv.getInt32(at + LAST_OFFSET_DELTA_OFFSET)),
      producerId: dv.getBigInt64(at + PRODUCER_ID_OFFSET),
      transactional: (attributes & ATTR_TRANSACTIONAL) !== 0,
      marker,
    });
    at += size;
  }
  return out;
}

/** ListOffsets v7 latest for one partition at an isolation level. */
export async function latestOffset(c: RawClient, topic: string, partition: number, readCommitted: boolean): Promise<bigint> {
  const r = await c.request(2, 7, { replicaId: -1, isolationLevel: readCommitted ? 1 : 0, topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1n }] }] });
  return r.topics[0].partitions[0].offset;
}

/** A transactional producer driven by raw requests. */
export class RawTxnProducer {
  /** Producer id. */
  pid = -1n;
  /** Epoch. */
  epoch = -1;
  private seq = new Map<string, number>();

  constructor(private readonly c: RawClient, readonly transactionalId: string, private readonly timeoutMs = 60_000) {}

  /** InitProducerId after FindCoordinator, as a Kafka client does (retrying CONCURRENT_TRANSACTIONS and a loading coordinator); returns the error code. */
  async init(version = 4): Promise<number> {
    await this.c.findCoordinator(this.transactionalId, 1);
    for (let i = 0; i < 50; i++) {
      const r = await this.c.requestWhileCoordinatorLoads(22, version, { transactionalId: this.transactionalId, transactionTimeoutMs: this.timeoutMs, producerId: -1n, producerEpoch: -1 }, (r) => r.errorCode);
      if (r.errorCode === 51) {
        await new Promise((res) => setTimeout(res, 20));
        continue;
      }
      if (r.errorCode === 0) {
        this.pid = r.producerId;
        this.epoch = r.producerEpoch;
        this.seq.clear();
      }
      return r.errorCode;
    }
    throw new Error("InitProducerId kept answering CONCURRENT_TRANSACTIONS");
  }

  /** AddPartitionsToTxn v3; the partition error codes. */
  async add(topic: string, partitions: number[]): Promise<number[]> {
    const r = await this.c.request(24, 3, { v3AndBelowTransactionalId: this.transactionalId, v3AndBelowProducerId: this.pid, v3AndBelowProducerEpoch: this.epoch, v3AndBelowTopics: [{ name: topic, partitions }] });
    return r.resultsByTopicV3AndBelow[0].resultsByPartition.map((p: { partitionErrorCode: number }) => p.partitionErrorCode);
  }

  /** Produces `values` in one transactional batch. */
  async send(topic: string, partition: number, values: string[]) {
    const key = `${topic}-${partition}`;
    const seq = this.seq.get(key) ?? 0;
    const r = await produce(this.c, topic, partition, batchOf(values, this.pid, this.epoch, seq), this.transactionalId);
    if (r.errorCode === 0) this.seq.set(key, seq + values.length);
    return r;
  }

  /** AddOffsetsToTxn v3; the error code. */
  async addOffsets(groupId: string): Promise<number> {
    const r = await this.c.request(25, 3, { transactionalId: this.transactionalId, producerId: this.pid, producerEpoch: this.epoch, groupId });
    return r.errorCode;
  }

  /** TxnOffsetCommit v3 of one partition; its error code. */
  async commitOffset(groupId: string, topic: string, partition: number, offset: bigint): Promise<number> {
    await this.c.findCoordinator(groupId, 0);
    const r = await this.c.requestWhileCoordinatorLoads(28, 3, {
      transactionalId: this.transactionalId,
      groupId,
      producerId: this.pid,
      producerEpoch: this.epoch,
      generationId: -1,
      memberId: "",
      groupInstanceId: null,
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: "" }] }],
    }, (r) => r.topics[0].partitions[0].errorCode);
    return r.topics[0].partitions[0].errorCode;
  }

  /** EndTxn v3 (asked again while the coordinator loads, e.g. after a restart); the error code. */
  async end(commit: boolean): Promise<number> {
    const r = await this.c.requestWhileCoordinatorLoads(26, 3, { transactionalId: this.transactionalId, producerId: this.pid, producerEpoch: this.epoch, committed: commit }, (r) => r.errorCode);
    return r.errorCode;
  }
}
