/**
 * The producer's record accumulator: per partition, a queue of batches. Records are encoded straight into the
 * open batch's preallocated `batch.size` buffer (a {@link BatchBuilder}); a batch becomes sendable when it is full,
 * when `linger.ms` has passed since it was opened, when a flush is in progress, or when appends are waiting for
 * `buffer.memory`. Every open or unacknowledged batch holds `batch.size` bytes (more for one oversized record) of
 * `buffer.memory`; an append that would exceed it is refused so the producer can make its caller wait.
 *
 * Nothing here allocates per record except the completion bookkeeping of records that asked for one; records
 * without a completion (fire-and-forget) cost nothing after encoding, and only their number is reported when their
 * batch fails ({@link AccumulatorOptions.onUntrackedFailure}).
 */
import type { Clock } from "../platform/clock.ts";
import { BATCH_HEADER_SIZE } from "../protocol/batch-layout.ts";
import { BatchBuilder, type BatchCompressor, RECORD_WITHOUT_HEADERS_MAX_OVERHEAD, type RecordHeader, recordSize } from "../protocol/record-batch.ts";
import { ClientTimeoutError, RecordTooLargeError } from "./client-errors.ts";

/**
 * Called once per record when its batch is acknowledged (error null) or fails, with the argument given to
 * {@link RecordAccumulator.append} for the record and its batch: one handler can serve every record (no closure
 * per record).
 */
export type RecordCompletion = (error: Error | null, offset: bigint, timestampMs: number, arg: unknown, batch: ProducerBatch) => void;

/** Builders kept for reuse once their batch is sealed. */
const MAX_POOLED_BUILDERS = 64;
/**
 * Bytes of batch buffers kept for reuse: an uncompressed batch is sealed in its builder's buffer (no copy) and the
 * buffer comes back once the broker has answered the only request that carried it.
 */
const MAX_POOLED_BUFFER_BYTES = 16 * 1024 * 1024;
/** Largest sequence number before it wraps to 0 (int32). */
const MAX_SEQUENCE = 0x7fffffff;

/** Results of {@link RecordAccumulator.append}. */
export const AppendResult = {
  /** Added to the open batch. */
  Appended: 0,
  /** Added to a newly opened batch (the sender should arm its linger timer). */
  NewBatch: 1,
  /** Added, and a batch is now full and sendable. */
  BatchFull: 2,
  /** Not added: `buffer.memory` is exhausted; retry after {@link RecordAccumulator.whenMemoryFreed}. */
  NoMemory: 3,
  /**
   * Not added (only with `abortOnNewBatch`): the record would open a new batch; the open batch it did not fit, if
   * any, was sealed and is sendable.
   */
  NewBatchNeeded: 4,
} as const;

/** One of {@link AppendResult}. */
export type AppendResult = (typeof AppendResult)[keyof typeof AppendResult];

/** One batch of one partition, open (a builder) or sealed (bytes). */
export class ProducerBatch {
  /** Creation order across the accumulator (retries are re-queued by it). */
  readonly id: number;
  /** Topic. */
  readonly topic: string;
  /** Partition. */
  readonly partition: number;
  /** Monotonic ms when the batch was opened. */
  readonly createdMs: number;
  /** Bytes of buffer.memory the batch holds until it completes. */
  readonly reserved: number;
  /** The builder while the batch is open; null once sealed. */
  builder: BatchBuilder | null;
  /** The sealed batch bytes; null while open. */
  bytes: Uint8Array | null = null;
  /** Records in the batch. */
  recordCount = 0;
  /** Uncompressed size of the records section plus header. */
  uncompressedBytes = 0;
  /** Send attempts that failed so far. */
  attempts = 0;
  /** Monotonic ms before which the batch must not be retried. */
  retryAtMs = 0;
  /** Sequence of the first record (idempotent producer), or -1. */
  baseSequence = -1;
  /** Whether the batch is in a request that has not been answered. */
  inFlight = false;
  /** Whether the batch completed (acknowledged or failed). */
  done = false;
  private readonly completionIndex: number[] = [];
  private readonly completionTimestamp: number[] = [];
  private readonly completions: RecordCompletion[] = [];
  private readonly completionArgs: unknown[] = [];

  constructor(id: number, topic: string, partition: number, createdMs: number, reserved: number, builder: BatchBuilder) {
    this.id = id;
    this.topic = topic;
    this.partition = partition;
    this.createdMs = createdMs;
    this.reserved = reserved;
    this.builder = builder;
  }

  /** Records of the batch that have a completion. */
  get trackedRecords(): number {
    return this.completions.length;
  }

  /** Remembers that record `index` (timestamp `timestampMs`) wants `completion`, called with `arg`. */
  addCompletion(index: number, timestampMs: number, completion: RecordCompletion, arg: unknown): void {
    this.completionIndex.push(index);
    this.completionTimestamp.push(timestampMs);
    this.completions.push(completion);
    this.completionArgs.push(arg);
  }

  /** Calls every completion: success with offsets from `baseOffset` (-1: unknown), or `error`. */
  fire(error: Error | null, baseOffset: bigint, logAppendTimeMs: number): void {
    for (let i = 0; i < this.completions.length; i++) {
      const offset = error !== null || baseOffset < 0n ? -1n : baseOffset + BigInt(this.completionIndex[i]);
      const ts = logAppendTimeMs >= 0 ? logAppendTimeMs : this.completionTimestamp[i];
      try {
        this.completions[i](error, offset, ts, this.completionArgs[i], this);
      } catch {
        // A throwing user callback must not break the producer.
      }
    }
    this.completions.length = 0;
    this.completionArgs.length = 0;
    this.completionIndex.length = 0;
    this.completionTimestamp.length = 0;
  }
}

/** Batches of one partition, oldest first. */
export interface PartitionQueue {
  /** Topic. */
  readonly topic: string;
  /** Partition. */
  readonly partition: number;
  /** Batches waiting to be sent (the last may be open). */
  readonly batches: ProducerBatch[];
  /** Batches of this partition in requests not yet answered. */
  inFlight: number;
  /** Next sequence number to give (idempotent producer). */
  nextSequence: number;
}

/** Settings of the accumulator. */
export interface AccumulatorOptions {
  /** `batch.size`: capacity of each batch buffer, header included. */
  batchSize: number;
  /** `linger.ms`. */
  lingerMs: number;
  /** `buffer.memory`. */
  bufferMemory: number;
  /** Compressor for sealed batches, or null for none. */
  compressor: BatchCompressor | null;
  /** `delivery.timeout.ms`: a batch not acknowledged this long after it opened fails. */
  deliveryTimeoutMs: number;
  /** Clock (monotonic time drives linger and retries). */
  clock: Clock;
  /** Called when a batch fails with the number of its records that were appended without a completion. */
  onUntrackedFailure?: (records: number, error: Error) => void;
}

/** Partitions with a sendable batch and when to look again. */
export interface ReadyCheck {
  /** Queues whose first batch can be sent now. */
  ready: PartitionQueue[];
  /** Ms until the next batch becomes sendable by time (linger, back-off, expiry), or Infinity. */
  nextDelayMs: number;
}

/** The accumulator. */
export class RecordAccumulator {
  private readonly opts: AccumulatorOptions;
  private readonly queues = new Map<string, PartitionQueue[]>();
  private readonly pool: BatchBuilder[] = [];
  private readonly buffers: Uint8Array[] = [];
  private usedMemory = 0;
  private nextBatchId = 0;
  private incompleteBatches = 0;
  private flushes = 0;
  private closing = false;
  private memoryWaiters = 0;
  private producerId = -1n;
  private producerEpoch = -1;
  private memoryListeners: (() => void)[] = [];
  private idleListeners: (() => void)[] = [];

  constructor(opts: AccumulatorOptions) {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < BATCH_HEADER_SIZE + 8) throw new RangeError(`batch.size ${opts.batchSize} is too small`);
    if (!(opts.lingerMs >= 0)) throw new RangeError(`linger.ms ${opts.lingerMs} must be >= 0`);
    if (!(opts.bufferMemory >= opts.batchSize)) throw new RangeError(`buffer.memory ${opts.bufferMemory} must be >= batch.size ${opts.batchSize}`);
    this.opts = opts;
  }

  /** Bytes of buffer.memory in use. */
  get memoryInUse(): number {
    return this.usedMemory;
  }

  /** Batches opened and not yet completed. */
  get incomplete(): number {
    return this.incompleteBatches;
  }

  /** Stamps batches opened from now on with an idempotent producer id and epoch. */
  setProducerIdentity(producerId: bigint, producerEpoch: number): void {
    this.producerId = producerId;
    this.producerEpoch = producerEpoch;
  }

  /** Whether batches carry a producer id (then sequence numbers are assigned). */
  get idempotent(): boolean {
    return this.producerId >= 0n;
  }

  /** The queue of a partition (created on first use). */
  queue(topic: string, partition: number): PartitionQueue {
    let list = this.queues.get(topic);
    if (list === undefined) {
      list = [];
      this.queues.set(topic, list);
    }
    let q = list[partition];
    if (q === undefined) {
      q = { topic, partition, batches: [], inFlight: 0, nextSequence: 0 };
      list[partition] = q;
    }
    return q;
  }

  /** True when no batch of the partition has room left: none is open, or the open one has reached batch.size. */
  batchesFull(topic: string, partition: number): boolean {
    const q = this.queues.get(topic)?.[partition];
    const last = q === undefined || q.batches.length === 0 ? undefined : q.batches[q.batches.length - 1];
    return last === undefined || last.builder === null || last.builder.sizeInBytes >= this.opts.batchSize;
  }

  /**
   * Encodes a record into the partition's open batch (opening one if needed), sizing it once. With
   * `abortOnNewBatch`, a record that would open a new batch is not added: the open batch it does not fit (if any) is
   * sealed and {@link AppendResult.NewBatchNeeded} returned, so that a sticky partitioner can move on before the
   * record is placed (the Java producer's `abortOnNewBatch`). `completionArg` is passed to `completion`. Throws
   * RecordTooLargeError when the record alone could never fit in `buffer.memory`.
   */
  append(
    topic: string,
    partition: number,
    timestampMs: number,
    key: Uint8Array | null,
    value: Uint8Array | null,
    headers: readonly RecordHeader[] | undefined,
    completion: RecordCompletion | undefined,
    abortOnNewBatch = false,
    completionArg: unknown = undefined,
  ): AppendResult {
    const q = this.queue(topic, partition);
    const last = q.batches.length > 0 ? q.batches[q.batches.length - 1] : undefined;
    let sealed = false;
    if (last !== undefined && last.builder !== null) {
      if (this.appendTo(last, timestampMs, key, value, headers, completion, completionArg)) {
        return last.builder.sizeInBytes >= this.opts.batchSize ? AppendResult.BatchFull : AppendResult.Appended;
      }
      this.seal(last);
      sealed = true;
    }
    if (abortOnNewBatch) return AppendResult.NewBatchNeeded;
    // Worst-case size of the record as the first of a new batch (offset and timestamp deltas are 0).
    const size = BATCH_HEADER_SIZE + recordSize(0, 0, key, value, headers);
    if (size > this.opts.bufferMemory) {
      throw new RecordTooLargeError(`record of ${size} bytes is larger than buffer.memory (${this.opts.bufferMemory})`);
    }
    const reserve = Math.max(this.opts.batchSize, size);
    if (this.usedMemory + reserve > this.opts.bufferMemory) return AppendResult.NoMemory;
    const builder = this.pool.pop() ?? new BatchBuilder(this.opts.batchSize);
    if (!builder.hasBuffer) builder.giveBuffer(this.buffers.pop() ?? new Uint8Array(this.opts.batchSize));
    let baseSequence = -1;
    if (this.producerId >= 0n) baseSequence = q.nextSequence;
    builder.reset(this.producerId >= 0n ? { producerId: this.producerId, producerEpoch: this.producerEpoch, baseSequence } : {});
    const batch = new ProducerBatch(this.nextBatchId++, topic, partition, this.opts.clock.monotonicMs(), reserve, builder);
    batch.baseSequence = baseSequence;
    this.usedMemory += reserve;
    this.incompleteBatches++;
    q.batches.push(batch);
    const ok = this.appendTo(batch, timestampMs, key, value, headers, completion, completionArg);
    if (!ok) throw new Error("first record of an empty batch did not fit");
    if (batch.builder !== null && batch.builder.sizeInBytes >= this.opts.batchSize) return AppendResult.BatchFull;
    return sealed ? AppendResult.BatchFull : AppendResult.NewBatch;
  }

  private appendTo(
    batch: ProducerBatch,
    timestampMs: number,
    key: Uint8Array | null,
    value: Uint8Array | null,
    headers: readonly RecordHeader[] | undefined,
    completion: RecordCompletion | undefined,
    completionArg: unknown,
  ): boolean {
    const b = batch.builder!;
    if (!b.append(timestampMs, key, value, headers)) return false;
    if (completion !== undefined) batch.addCompletion(batch.recordCount, timestampMs, completion, completionArg);
    batch.recordCount++;
    return true;
  }

  /** Seals an open batch: writes its header, compresses it and returns its builder to the pool. */
  seal(batch: ProducerBatch): void {
    const b = batch.builder;
    if (b === null) return;
    batch.uncompressedBytes = b.sizeInBytes;
    batch.bytes = this.opts.compressor === null ? b.finishInPlace() : b.finish(this.opts.compressor);
    batch.builder = null;
    if (this.pool.length < MAX_POOLED_BUILDERS) this.pool.push(b);
    if (batch.baseSequence >= 0) {
      const q = this.queue(batch.topic, batch.partition);
      const next = batch.baseSequence + batch.recordCount;
      q.nextSequence = next > MAX_SEQUENCE ? next - MAX_SEQUENCE - 1 : next;
    }
  }

  /** Which partitions can send now, and when to check again. */
  ready(nowMs: number): ReadyCheck {
    const ready: PartitionQueue[] = [];
    let nextDelayMs = Infinity;
    const urgent = this.flushes > 0 || this.closing || this.memoryWaiters > 0;
    for (const list of this.queues.values()) {
      for (const q of list) {
        if (q === undefined || q.batches.length === 0) continue;
        const wait = this.waitMs(q, nowMs, urgent);
        if (wait <= 0) ready.push(q);
        else if (wait < nextDelayMs) nextDelayMs = wait;
      }
    }
    return { ready, nextDelayMs };
  }

  /** Ms until the head batch of `q` may be sent (<= 0: now; Infinity: blocked by in-flight ordering). */
  waitMs(q: PartitionQueue, nowMs: number, urgent = this.flushes > 0 || this.closing || this.memoryWaiters > 0): number {
    const head = q.batches[0];
    if (head === undefined) return Infinity;
    if (head.attempts > 0) {
      // A retried batch goes alone, after everything before it came back, so the partition stays in order.
      if (q.inFlight > 0) return Infinity;
      return head.retryAtMs - nowMs;
    }
    if (q.batches.length > 1 || head.builder === null || head.builder.sizeInBytes >= this.opts.batchSize || urgent) return 0;
    return head.createdMs + this.opts.lingerMs - nowMs;
  }

  /** Takes the first batch of `q` for sending: sealed and marked in flight. */
  take(q: PartitionQueue): ProducerBatch {
    const batch = q.batches.shift();
    if (batch === undefined) throw new Error(`no batch to take for ${q.topic}-${q.partition}`);
    this.seal(batch);
    batch.inFlight = true;
    q.inFlight++;
    return batch;
  }

  /** Puts a batch that failed retriably back at its place in the queue, sendable again at `retryAtMs`. */
  reenqueue(batch: ProducerBatch, retryAtMs: number): void {
    const q = this.queue(batch.topic, batch.partition);
    if (batch.inFlight) {
      batch.inFlight = false;
      q.inFlight--;
    }
    batch.attempts++;
    batch.retryAtMs = retryAtMs;
    // Keep creation (sequence) order among the waiting batches: earlier batches go first.
    let at = 0;
    while (at < q.batches.length && q.batches[at].id < batch.id) at++;
    q.batches.splice(at, 0, batch);
  }

  /**
   * Completes a batch: acknowledged (error null) with its base offset, or failed. Frees its memory. With
   * `bytesReleased` (the broker answered the only request that carried the batch, so no socket still holds a view of
   * its bytes) the batch's buffer is kept for a later batch.
   */
  complete(batch: ProducerBatch, error: Error | null, baseOffset: bigint, logAppendTimeMs: number, bytesReleased = false): void {
    if (batch.done) return;
    batch.done = true;
    const q = this.queue(batch.topic, batch.partition);
    if (batch.inFlight) {
      batch.inFlight = false;
      q.inFlight--;
    } else {
      const i = q.batches.indexOf(batch);
      if (i >= 0) q.batches.splice(i, 1);
      if (batch.builder !== null) {
        const b = batch.builder;
        batch.builder = null;
        if (this.pool.length < MAX_POOLED_BUILDERS) this.pool.push(b);
      }
    }
    if (bytesReleased && batch.attempts === 0) this.reuseBuffer(batch);
    const untracked = batch.recordCount - batch.trackedRecords;
    batch.fire(error, baseOffset, logAppendTimeMs);
    if (error !== null && untracked > 0) this.opts.onUntrackedFailure?.(untracked, error);
    this.usedMemory -= batch.reserved;
    this.incompleteBatches--;
    if (this.usedMemory < 0 || this.incompleteBatches < 0) throw new Error("accumulator accounting went negative");
    if (this.memoryListeners.length > 0) {
      const ls = this.memoryListeners;
      this.memoryListeners = [];
      for (const l of ls) l();
    }
    if (this.incompleteBatches === 0 && this.idleListeners.length > 0) {
      const ls = this.idleListeners;
      this.idleListeners = [];
      for (const l of ls) l();
    }
  }

  /** Keeps the whole batch.size buffer under a completed batch's bytes for a later batch; the batch lets go of its bytes. */
  private reuseBuffer(batch: ProducerBatch): void {
    const bytes = batch.bytes;
    if (bytes === null || bytes.byteOffset !== 0 || bytes.buffer.byteLength !== this.opts.batchSize) return;
    batch.bytes = null;
    if ((this.buffers.length + 1) * this.opts.batchSize <= MAX_POOLED_BUFFER_BYTES) this.buffers.push(new Uint8Array(bytes.buffer));
  }

  /** Fails batches (not in flight) older than `delivery.timeout.ms`; returns ms until the next would expire. */
  expire(nowMs: number): number {
    let next = Infinity;
    for (const list of this.queues.values()) {
      for (const q of list) {
        if (q === undefined) continue;
        for (let i = 0; i < q.batches.length; ) {
          const b = q.batches[i];
          const left = b.createdMs + this.opts.deliveryTimeoutMs - nowMs;
          if (left <= 0) {
            this.complete(b, new ClientTimeoutError(`${b.recordCount} record(s) for ${b.topic}-${b.partition} expired: ${nowMs - b.createdMs} ms passed since the batch was created (delivery.timeout.ms ${this.opts.deliveryTimeoutMs})`), -1n, -1);
            continue;
          }
          if (left < next) next = left;
          i++;
        }
      }
    }
    return next;
  }

  /** Whether `batch` may still be retried at `nowMs` (inside delivery.timeout.ms). */
  withinDeliveryTimeout(batch: ProducerBatch, nowMs: number): boolean {
    return nowMs < batch.createdMs + this.opts.deliveryTimeoutMs;
  }

  /** Fails every batch that is not in flight (used when the producer is closed without flushing). */
  abortUnsent(error: Error): void {
    for (const list of this.queues.values()) {
      for (const q of list) {
        if (q === undefined) continue;
        while (q.batches.length > 0) this.complete(q.batches[0], error, -1n, -1);
      }
    }
  }

  /** Makes every batch sendable until {@link RecordAccumulator.endFlush}. */
  beginFlush(): void {
    this.flushes++;
  }

  /** Ends one {@link RecordAccumulator.beginFlush}. */
  endFlush(): void {
    if (this.flushes <= 0) throw new Error("endFlush without beginFlush");
    this.flushes--;
  }

  /** Makes every batch sendable from now on (the producer is closing). */
  beginClose(): void {
    this.closing = true;
  }

  /** Records that an append is waiting for memory (makes every batch sendable, so memory frees up). */
  addMemoryWaiter(delta: 1 | -1): void {
    this.memoryWaiters += delta;
    if (this.memoryWaiters < 0) throw new Error("memory waiter count went negative");
  }

  /** Resolves the next time a batch completes and frees memory. */
  whenMemoryFreed(): Promise<void> {
    return new Promise((resolve) => this.memoryListeners.push(resolve));
  }

  /** Resolves when no batch is incomplete. */
  whenIdle(): Promise<void> {
    if (this.incompleteBatches === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleListeners.push(resolve));
  }

  /** Rejects a record bigger than `maxRequestSize` as a batch of its own. */
  static checkRecordSize(key: Uint8Array | null, value: Uint8Array | null, headers: readonly RecordHeader[] | undefined, maxRequestSize: number): void {
    // A record without headers that fits with every varint at its widest needs no sizing here (most records).
    if ((headers === undefined || headers.length === 0) && BATCH_HEADER_SIZE + (key?.length ?? 0) + (value?.length ?? 0) + RECORD_WITHOUT_HEADERS_MAX_OVERHEAD <= maxRequestSize) return;
    const size = BATCH_HEADER_SIZE + recordSize(0, 0, key, value, headers);
    if (size > maxRequestSize) {
      throw new RecordTooLargeError(`record of ${size} bytes (as a batch) is larger than max.request.size (${maxRequestSize})`);
    }
  }
}
