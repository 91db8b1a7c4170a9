/**
 * Test support for the transaction coordinator state machine: an in-memory `__transaction_state` whose
 * durability can be held back, a marker writer that records markers (and can fail or hang), a coordinator on a
 * ManualClock, and helpers to let promises run.
 */
import { ManualClock } from "../../src/platform/clock.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { KafkaError } from "../../src/protocol/errors.ts";
import { BATCH_LENGTH_OFFSET, LAST_OFFSET_DELTA_OFFSET, LOG_OVERHEAD, dataViewOf } from "../../src/protocol/batch-layout.ts";
import { RecordCursor } from "../../src/protocol/record-batch.ts";
import { TransactionCoordinator } from "../../src/transactions/transaction-coordinator.ts";
import { DEFAULT_TRANSACTION_CONFIG, type TransactionConfig } from "../../src/transactions/transaction-config.ts";
import type { TransactionLogStorage } from "../../src/transactions/transaction-log.ts";
import type { TopicPartition } from "../../src/transactions/transaction-state.ts";
import type { TxnMarkerRequest, TxnMarkerWriter } from "../../src/transactions/txn-markers.ts";
import { decodeTxnKey, decodeTxnValue } from "../../src/transactions/transaction-state-records.ts";
import type { TxnRecord } from "../../src/transactions/transaction-state.ts";

await initCrc32c();

interface StoredBatch {
  baseOffset: bigint;
  count: number;
  bytes: Uint8Array;
}

/** `__transaction_state` in memory; `hold` keeps appends from becoming durable until {@link release}. */
export class MemoryTxnStorage implements TransactionLogStorage {
  /** Batches per partition. */
  readonly partitions: StoredBatch[][] = [];
  /** While true, append promises wait for {@link release}. */
  hold = false;
  /** When set, appends throw it. */
  failAppends: Error | null = null;
  private held: (() => void)[] = [];

  partitionCount(): number {
    return this.partitions.length;
  }
  ensureTopic(partitions: number): number {
    while (this.partitions.length < partitions) this.partitions.push([]);
    return this.partitions.length;
  }
  append(partition: number, batches: Uint8Array): Promise<void> {
    if (this.failAppends !== null) throw this.failAppends;
    const log = this.partitions[partition];
    if (log === undefined) throw new KafkaError(3, "no such partition");
    const dv = dataViewOf(batches);
    let next = log.length === 0 ? 0n : log[log.length - 1].baseOffset + BigInt(log[log.length - 1].count);
    for (let at = 0; at < batches.length; ) {
      const size = dv.getInt32(at + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
      const bytes = batches.slice(at, at + size);
      const count = dv.getInt32(at + LAST_OFFSET_DELTA_OFFSET) + 1;
      dataViewOf(bytes).setBigInt64(0, next);
      log.push({ baseOffset: next, count, bytes });
      next += BigInt(count);
      at += size;
    }
    if (!this.hold) return Promise.resolve();
    return new Promise((resolve) => this.held.push(resolve));
  }
  /** Makes every held append durable. */
  release(): void {
    for (const r of this.held.splice(0)) r();
  }
  read(partition: number, offset: bigint): { chunks: Uint8Array[]; nextOffset: bigint; endOffset: bigint } {
    const log = this.partitions[partition] ?? [];
    const end = log.length === 0 ? 0n : log[log.length - 1].baseOffset + BigInt(log[log.length - 1].count);
    const chunks = log.filter((b) => b.baseOffset >= offset).map((b) => b.bytes);
    return { chunks, nextOffset: chunks.length === 0 ? offset : end, endOffset: end };
  }
  /** Every record written for `transactionalId`, in order (null = tombstone). */
  recordsOf(transactionalId: string): (TxnRecord | null)[] {
    const out: (TxnRecord | null)[] = [];
    const c = new RecordCursor();
    for (const p of this.partitions) {
      for (const b of p) {
        c.resetBatch(b.bytes, 0, b.bytes.length);
        while (c.next()) {
          if (decodeTxnKey(c.key()!) !== transactionalId) continue;
          const v = c.value();
          out.push(v === null ? null : decodeTxnValue(v));
        }
      }
    }
    c.release();
    return out;
  }
}

/** Records marker requests; `fail` makes the listed topics fail, `hang` keeps the promise pending. */
export class RecordingMarkers implements TxnMarkerWriter {
  /** Every request, in order. */
  readonly requests: TxnMarkerRequest[] = [];
  /** Topics whose markers fail. */
  fail = new Set<string>();
  /** While true, writeMarkers never settles. */
  hang = false;

  writeMarkers(req: TxnMarkerRequest): Promise<TopicPartition[]> {
    this.requests.push({ ...req, partitions: [...req.partitions] });
    if (this.hang) return new Promise(() => {});
    return Promise.resolve(req.partitions.filter((tp) => this.fail.has(tp.topic)));
  }
}

/** A coordinator on a manual clock with in-memory state. */
export interface TxnHarness {
  clock: ManualClock;
  storage: MemoryTxnStorage;
  markers: RecordingMarkers;
  coord: TransactionCoordinator;
  config: TransactionConfig;
  logs: string[];
  /** A new coordinator over the same storage and clock (a broker restart). */
  restart(): TransactionCoordinator;
}

/** Builds a harness (3 state partitions unless overridden); producer ids count from 1000. */
export function txnHarness(overrides: Partial<TransactionConfig> = {}): TxnHarness {
  const clock = new ManualClock();
  const storage = new MemoryTxnStorage();
  const markers = new RecordingMarkers();
  const config: TransactionConfig = { ...DEFAULT_TRANSACTION_CONFIG, stateLogPartitions: 3, ...overrides };
  const logs: string[] = [];
  let nextPid = 1000n;
  const make = () => {
    const c = new TransactionCoordinator({
      config,
      clock,
      storage,
      markers,
      producerIds: { next: () => nextPid++ },
      logger: { info: (m) => logs.push(`INFO ${m}`), warn: (m) => logs.push(`WARN ${m}`), error: (m) => logs.push(`ERROR ${m}`) },
    });
    c.load();
    return c;
  };
  const h: TxnHarness = {
    clock,
    storage,
    markers,
    coord: make(),
    config,
    logs,
    restart() {
      h.coord.stop();
      h.coord = make();
      return h.coord;
    },
  };
  return h;
}

/** Lets pending promise callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setTimeout(r, 0));
}

/** A promise's settled value, observable after {@link flush}. */
export interface Tracked<T> {
  done: boolean;
  value: T | undefined;
}

/** Tracks `p` so tests can check whether it settled yet. */
export function track<T>(p: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { done: false, value: undefined };
  p.then((v) => {
    t.done = true;
    t.value = v;
  });
  return t;
}

/** InitProducerId for a new transactional id; returns the producer id and epoch (throws on an error). */
export async function init(h: TxnHarness, transactionalId: string, timeoutMs = 60_000): Promise<{ pid: bigint; epoch: number }> {
  const r = await h.coord.initProducerId({ transactionalId, transactionTimeoutMs: timeoutMs, producerId: -1n, producerEpoch: -1 });
  if (r.errorCode !== 0) throw new Error(`InitProducerId failed with ${r.errorCode}`);
  return { pid: r.producerId, epoch: r.producerEpoch };
}
