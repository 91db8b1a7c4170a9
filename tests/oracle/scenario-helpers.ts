/** Steps shared by the differential scenarios: create a topic and wait for its leader, produce, build batches. */
import assert from "node:assert/strict";
import type { ScenarioClient, Side } from "./differential.ts";
import { BatchBuilder, readBatchHeader, type BatchBuilderOptions } from "../../src/protocol/record-batch.ts";

/** A fixed base timestamp, so that both brokers store byte-identical batches. */
export const T0 = 1_700_000_000_000;

/** Creates a topic and waits until Metadata lists a leader for every partition (Kafka creates asynchronously). */
export async function createTopic(s: Side, name: string, partitions = 1, configs: { name: string; value: string }[] = []): Promise<Uint8Array> {
  const r = await s.client.request(19, 5, { topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs }], timeoutMs: 30000, validateOnly: false });
  assert.equal(r.topics[0].errorCode, 0, `${s.name}: create ${name}: ${r.topics[0].errorMessage}`);
  for (let i = 0; i < 200; i++) {
    const md = await s.client.request(3, 12, { topics: [{ name, topicId: new Uint8Array(16) }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    const t = md.topics[0];
    if (t.errorCode === 0 && t.partitions.length === partitions && t.partitions.every((p: any) => p.leaderId >= 0)) {
      // Metadata lists the leader before the partition serves (Kafka): wait until ListOffsets answers on each.
      const lo = await s.client.request(2, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name, partitions: Array.from({ length: partitions }, (_, i) => ({ partitionIndex: i, currentLeaderEpoch: -1, timestamp: -1n })) }] });
      if (lo.topics[0].partitions.every((p: any) => p.errorCode === 0)) return t.topicId;
    }
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`${s.name}: topic ${name} never got leaders`);
}

/** A batch of `n` keyed records at T0 + i seconds. */
export function batch(n: number, opts: BatchBuilderOptions & { key?: (i: number) => Uint8Array | null; t0?: number } = {}): Uint8Array {
  const bb = new BatchBuilder(1 << 20);
  bb.reset(opts);
  const key = opts.key ?? ((i: number) => new TextEncoder().encode(`k${i}`));
  for (let i = 0; i < n; i++) bb.append((opts.t0 ?? T0) + i * 1000, key(i), new TextEncoder().encode(`value ${i}`));
  return bb.finish();
}

/** Produces `records` to one partition at `version`, retrying while Kafka's new partition has no leader yet. */
export async function produce(s: Side, topic: string, partition: number, records: Uint8Array | null, opts: { acks?: number; version?: number; transactionalId?: string | null } = {}): Promise<any> {
  for (let i = 0; ; i++) {
    const r = await s.client.request(0, opts.version ?? 9, { transactionalId: opts.transactionalId ?? null, acks: opts.acks ?? -1, timeoutMs: 10000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
    const p = r.responses[0]?.partitionResponses[0] ?? r;
    if (p.errorCode !== 6 || i === 100) return p;
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** InitProducerId (v4), first finding the transaction coordinator for a transactional id; retries while Kafka's coordinator loads. */
export async function initProducer(s: Side, transactionalId: string | null, timeoutMs = 60000): Promise<any> {
  if (transactionalId !== null) {
    for (let i = 0; i < 200; i++) {
      const fc = await s.client.request(10, 4, { keyType: 1, coordinatorKeys: [transactionalId] });
      if (fc.coordinators[0].errorCode === 0) break;
      await new Promise((res) => setTimeout(res, 50));
    }
  }
  for (let i = 0; ; i++) {
    const r = await s.client.request(22, 4, { transactionalId, transactionTimeoutMs: timeoutMs, producerId: -1n, producerEpoch: -1 });
    // COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR, CONCURRENT_TRANSACTIONS: retriable while Kafka starts its coordinator.
    if (![14, 15, 16, 51].includes(r.errorCode) || i === 200) return r;
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** What {@link fetchBatchHeaders} read of a partition. */
export interface FetchedHeaders {
  /** The last answer's partition error. */
  errorCode: number;
  /** The last answer's high watermark. */
  highWatermark: bigint;
  /** The last answer's last stable offset. */
  lastStableOffset: bigint;
  /** First offsets of the aborted transactions that start before the end of the records answered. */
  aborted: string[];
  /** Aborted transactions listed past the records answered (Kafka's bound is its sparse index: compared apart). */
  abortedPastRecords: string[];
  /** Every batch header as `base+count attrs=… epoch=… seq=…` (each broker's own producer id left out). */
  batches: string[];
}

/**
 * Reads a partition with Fetch (`version`) from `from` to its high watermark (read_uncommitted) or last stable offset
 * (read_committed), at most 30 fetches: the batch headers (those ending before `from`, which a broker may return
 * from the segment's start, left out) and the aborted transactions a consumer would use.
 */
export async function fetchBatchHeaders(client: ScenarioClient, version: number, topic: string, partition: number, isolationLevel: number, from = 0n): Promise<FetchedHeaders> {
  const batches: string[] = [];
  const aborted = new Set<string>();
  const abortedPastRecords = new Set<string>();
  let fetchOffset = from;
  let last: any = null;
  for (let round = 0; round < 30; round++) {
    const r = await client.request(1, version, {
      replicaId: -1, maxWaitMs: 10, minBytes: 1, maxBytes: 1 << 20, isolationLevel, sessionId: 0, sessionEpoch: -1, rackId: "",
      topics: [{ topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [],
    });
    const pd = r.responses[0].partitions[0];
    last = pd;
    const rec = (pd.records ?? new Uint8Array(0)) as Uint8Array;
    const start = fetchOffset;
    for (let at = 0; at + 61 <= rec.length; ) {
      const h = readBatchHeader(rec, at);
      const end = h.baseOffset + BigInt(h.lastOffsetDelta) + 1n;
      // by header: each broker's own producer id is in the bytes; compare offsets, counts, bits, epoch and sequence
      if (end > from) batches.push(`${h.baseOffset}+${h.lastOffsetDelta + 1} attrs=${h.attributes} epoch=${h.producerEpoch} seq=${h.baseSequence}`);
      fetchOffset = end;
      at += 12 + h.batchLength;
    }
    // The aborted transactions a consumer uses: those starting before the end of the records answered. Kafka may
    // list more (its bound comes from the sparse offset index), compared apart (INTENTIONAL_DIFFERENCES).
    for (const a of pd.abortedTransactions ?? []) (a.firstOffset < fetchOffset && fetchOffset > start ? aborted : abortedPastRecords).add(String(a.firstOffset));
    if (rec.length === 0 || pd.errorCode !== 0 || fetchOffset >= (isolationLevel === 1 ? pd.lastStableOffset : pd.highWatermark)) break;
  }
  return { errorCode: last.errorCode, highWatermark: last.highWatermark, lastStableOffset: last.lastStableOffset, aborted: [...aborted], abortedPastRecords: [...abortedPastRecords].filter((x) => !aborted.has(x)), batches };
}

/** Deterministic incompressible bytes (xorshift from `seed`), so both brokers get the same records. */
export function noise(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed | 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * Polls DescribeTransactions (at `version`, bounded: 5 s) until `transactionalId`'s transaction has left
 * PrepareCommit/PrepareAbort: its markers are written (Kafka completes a transaction after EndTxn answers).
 */
export async function settleTransaction(s: Side, transactionalId: string, version: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const d = await s.client.request(65, version, { transactionalIds: [transactionalId] });
    if (!String(d.transactionStates[0].transactionState).startsWith("Prepare")) return;
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error(`${s.name}: the transaction stayed in Prepare* for 5 s`);
}
