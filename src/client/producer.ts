/**
 * Runnel's producer. Records go through the partitioner into the {@link RecordAccumulator}, which encodes them
 * straight into per-partition batch buffers; the sender sends sendable batches to partition leaders, at most
 * `max.in.flight.requests.per.connection` Produce requests per broker, and retries retriable failures with
 * exponential back-off (refreshing metadata on NOT_LEADER_OR_FOLLOWER and the like) until `retries` or
 * `delivery.timeout.ms` runs out. With `enable.idempotence` it obtains a producer id (InitProducerId) and numbers
 * each partition's batches so the broker drops duplicates of retried batches.
 *
 * Three ways to send:
 * - awaited: `await producer.send(record)` resolves with the record's offset once acknowledged;
 * - callback: `producer.send(record, (err, meta) => ...)`;
 * - fire-and-forget: `producer.sendAndForget(record)`; failures are counted in {@link Producer.failedRecords}.
 *
 * Back-pressure: when `buffer.memory` is used up (or the topic's metadata is not known yet) a record waits, up to
 * `max.block.ms`; `sendAndForget` then returns false and the caller should `await producer.waitForCapacity()`.
 */
import type { Clock } from "../platform/clock.ts";
import { systemClock } from "../platform/clock.ts";
import { initCrc32c } from "../protocol/crc32c.ts";
import { ErrorCode, KafkaError, errorName, isRetriable } from "../protocol/errors.ts";
import { ApiKey } from "../protocol/generated/index.ts";
import type { ProduceRequest, ProduceResponse } from "../protocol/generated/00_produce.ts";
import type { InitProducerIdRequest, InitProducerIdResponse } from "../protocol/generated/22_init_producer_id.ts";
import type { BatchCompressor, RecordHeader } from "../protocol/record-batch.ts";
import { codecByName, initCompression } from "../compression/index.ts";
import { ClientClosedError, ClientTimeoutError } from "./client-errors.ts";
import { Cluster, type ClusterOptions, isZeroId, type TopicInfo } from "./cluster-metadata.ts";
import type { BrokerChannel } from "./connection.ts";
import { DefaultPartitioner, type Partitioner } from "./partitioner.ts";
import { type AccumulatorOptions, AppendResult, type PartitionQueue, type ProducerBatch, RecordAccumulator } from "./record-accumulator.ts";

/** Default `batch.size`. */
export const DEFAULT_BATCH_SIZE = 16_384;
/** Default `linger.ms` (Kafka 4.0's default). */
export const DEFAULT_LINGER_MS = 5;
/** Default `buffer.memory`. */
export const DEFAULT_BUFFER_MEMORY = 32 * 1024 * 1024;
/** Default `max.block.ms`. */
export const DEFAULT_MAX_BLOCK_MS = 60_000;
/** Default `delivery.timeout.ms`. */
export const DEFAULT_DELIVERY_TIMEOUT_MS = 120_000;
/** Default `max.request.size`. */
export const DEFAULT_MAX_REQUEST_SIZE = 1_048_576;
/**
 * How early a sender pass treats a batch's linger.ms (or retry back-off) as over (ms). Timers fire in whole
 * milliseconds: Bun truncates a fractional delay (1.5 ms fires after 1) and waits at least 1 ms even for 0, so a
 * batch whose linger ends 0.4 ms after a pass (another batch's timer, a batch filling up) would otherwise wait for a
 * timer of its own that fires up to 1.1 ms late. Sending it with that pass keeps batches within about half a
 * millisecond of their linger.ms, early or late; the Java producer, which counts linger in whole milliseconds,
 * sends up to 1 ms early. The timer itself is armed for the exact end of the earliest linger.
 */
export const LINGER_TIMER_SLACK_MS = 0.5;
/** Most records that may wait for buffer memory or metadata at once. */
export const MAX_WAITING_RECORDS = 100_000;
/** Errors after which partition leadership is likely stale. */
const METADATA_ERRORS: ReadonlySet<number> = new Set([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.NETWORK_EXCEPTION,
  ErrorCode.REQUEST_TIMED_OUT,
]);

/** Producer settings (Kafka names in camelCase). */
export interface ProducerConfig extends ClusterOptions {
  /** `acks`: 0, 1 or -1/"all" (default "all"). */
  acks?: 0 | 1 | -1 | "all";
  /** `batch.size` in bytes (default 16384). */
  batchSize?: number;
  /** `linger.ms` (default 5). */
  lingerMs?: number;
  /** `compression.type` (default none). */
  compressionType?: "none" | "gzip" | "snappy" | "lz4" | "zstd";
  /** Codec-specific compression level. */
  compressionLevel?: number;
  /** `max.in.flight.requests.per.connection` (default 5). */
  maxInFlightRequestsPerConnection?: number;
  /** `retries` (default: effectively unlimited, bounded by delivery.timeout.ms). */
  retries?: number;
  /** `delivery.timeout.ms` (default 120000). */
  deliveryTimeoutMs?: number;
  /** `buffer.memory` in bytes (default 32 MiB). */
  bufferMemory?: number;
  /** `max.block.ms`: longest a record waits for memory or metadata (default 60000). */
  maxBlockMs?: number;
  /** `max.request.size` (default 1 MiB). */
  maxRequestSize?: number;
  /** `enable.idempotence` (default false; needs acks=all). */
  enableIdempotence?: boolean;
  /** Partitioner (default: murmur2 keys, sticky null keys). */
  partitioner?: Partitioner;
  /** Observer of the sender's timing (benchmarks); none by default, and then nothing is measured. */
  instrument?: ProducerInstrument;
}

/** Timing callbacks of the sender, for load generators that break latency into parts. */
export interface ProducerInstrument {
  /** A Produce request with `batches` was handed to the connection at monotonic `nowMs`. */
  requestSent(batches: readonly ProducerBatch[], nowMs: number): void;
  /** The sender's timer (linger, back-off) ran `lateMs` after it was due. */
  timerFired(lateMs: number): void;
  /** At monotonic `nowMs` batches were ready for a broker but max.in.flight.requests.per.connection were unanswered. */
  windowFull(nowMs: number): void;
}

/** A record to send. Strings are encoded as UTF-8. */
export interface ProducerRecord {
  /** Topic. */
  topic: string;
  /** Value, or null (a tombstone). */
  value: Uint8Array | string | null;
  /** Key, or null/undefined. */
  key?: Uint8Array | string | null;
  /** Partition; chosen by the partitioner when absent. */
  partition?: number;
  /** Headers, as a list or an object. */
  headers?: readonly RecordHeader[] | Record<string, Uint8Array | string | null>;
  /** Timestamp in ms (default: now). */
  timestamp?: number;
}

/** Where a record was written. */
export interface RecordMetadata {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** Offset, or -1 when unknown (acks=0). */
  offset: bigint;
  /** The record's timestamp (the broker's LogAppendTime when the topic uses it). */
  timestamp: number;
}

/** Callback style completion. */
export type SendCallback = (error: Error | null, metadata: RecordMetadata | null) => void;

/** A record waiting for memory or metadata. */
interface WaitingRecord {
  topic: string;
  partition: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: readonly RecordHeader[] | undefined;
  done: SendCallback | undefined;
  deadlineMs: number;
}

const encoder = new TextEncoder();

function toBytes(v: Uint8Array | string | null | undefined): Uint8Array | null {
  if (v === null || v === undefined) return null;
  return typeof v === "string" ? encoder.encode(v) : v;
}

function toHeaders(h: ProducerRecord["headers"]): readonly RecordHeader[] | undefined {
  if (h === undefined) return undefined;
  if (Array.isArray(h)) return h as readonly RecordHeader[];
  const out: RecordHeader[] = [];
  for (const [key, value] of Object.entries(h as Record<string, Uint8Array | string | null>)) out.push({ key, value: toBytes(value) });
  return out;
}

/** The producer. */
export class Producer {
  /** The cluster view and connections. */
  readonly cluster: Cluster;
  /** Records whose delivery failed with no callback or promise to report to (fire-and-forget). */
  failedRecords = 0;
  /** The last error of a fire-and-forget record, or null. */
  lastError: Error | null = null;
  private readonly clock: Clock;
  private readonly acks: number;
  private readonly retries: number;
  private readonly maxInFlight: number;
  private readonly maxBlockMs: number;
  private readonly maxRequestSize: number;
  private readonly requestTimeoutMs: number;
  private readonly idempotent: boolean;
  private readonly partitioner: Partitioner;
  private readonly instrument: ProducerInstrument | null;
  private readonly compressionType: string;
  private readonly compressionLevel: number | undefined;
  private accumulator: RecordAccumulator;
  private readonly accumulatorOptions: Omit<AccumulatorOptions, "compressor" | "clock">;
  private readonly waiting: WaitingRecord[] = [];
  /**
   * Set by {@link tryAppend} when a keyless record could not be appended after the partitioner moved on for it
   * (onNewBatch): the partition it then waits on, so that its retry appends there without telling the partitioner
   * again (Java's producer calls onNewBatch once per record and then blocks on that partition); -1 otherwise.
   */
  private placedPastNewBatch = -1;
  private readonly nodeInFlight = new Map<number, number>();
  private readonly nodeChannels = new Map<number, BrokerChannel>();
  private readonly dialing = new Set<number>();
  private readonly availableCache = new WeakMap<TopicInfo, number[]>();
  private readonly topicWaits = new Map<string, Promise<void>>();
  private sendScheduled = false;
  private sending = false;
  private timer: unknown = null;
  private timerAtMs = Infinity;
  private metadataRefreshing = false;
  private metadataFailures = 0;
  private nextMetadataAtMs = 0;
  private pumping = false;
  private memoryWaitArmed = false;
  private capacityListeners: (() => void)[] = [];
  private connected = false;
  private isClosed = false;

  constructor(config: ProducerConfig) {
    const acks = config.acks === "all" || config.acks === undefined ? -1 : config.acks;
    if (acks !== 0 && acks !== 1 && acks !== -1) throw new RangeError(`acks must be 0, 1, -1 or "all", got ${config.acks}`);
    this.idempotent = config.enableIdempotence ?? false;
    this.maxInFlight = config.maxInFlightRequestsPerConnection ?? 5;
    if (!Number.isInteger(this.maxInFlight) || this.maxInFlight < 1) throw new RangeError("max.in.flight.requests.per.connection must be >= 1");
    if (this.idempotent) {
      if (acks !== -1) throw new RangeError("enable.idempotence requires acks=all");
      if (this.maxInFlight > 5) throw new RangeError("enable.idempotence requires max.in.flight.requests.per.connection <= 5");
      if (config.retries === 0) throw new RangeError("enable.idempotence requires retries > 0");
    }
    this.acks = acks;
    this.instrument = config.instrument ?? null;
    this.clock = config.clock ?? systemClock;
    this.retries = config.retries ?? Number.MAX_SAFE_INTEGER;
    if (!(this.retries >= 0)) throw new RangeError("retries must be >= 0");
    this.maxBlockMs = config.maxBlockMs ?? DEFAULT_MAX_BLOCK_MS;
    this.maxRequestSize = config.maxRequestSize ?? DEFAULT_MAX_REQUEST_SIZE;
    this.requestTimeoutMs = config.requestTimeoutMs ?? 30_000;
    const batchSize = config.batchSize ?? DEFAULT_BATCH_SIZE;
    this.partitioner = config.partitioner ?? new DefaultPartitioner(batchSize, config.random);
    this.compressionType = config.compressionType ?? "none";
    this.compressionLevel = config.compressionLevel;
    const deliveryTimeoutMs = config.deliveryTimeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS;
    const lingerMs = config.lingerMs ?? DEFAULT_LINGER_MS;
    this.cluster = new Cluster({ ...config, clock: this.clock, maxInFlight: this.maxInFlight + 1 });
    this.accumulatorOptions = { batchSize, lingerMs, bufferMemory: config.bufferMemory ?? DEFAULT_BUFFER_MEMORY, deliveryTimeoutMs, onUntrackedFailure: this.fireAndForgetFailures };
    // Replaced in connect() by one with the compressor, once the codecs' WASM is instantiated.
    this.accumulator = new RecordAccumulator({ ...this.accumulatorOptions, compressor: null, clock: this.clock });
  }

  /** Loads codecs, connects to the cluster and (with idempotence) obtains a producer id. */
  async connect(): Promise<void> {
    if (this.isClosed) throw new ClientClosedError();
    if (this.connected) return;
    await Promise.all([initCrc32c(), initCompression()]);
    const codec = codecByName(this.compressionType);
    const level = this.compressionLevel;
    const compressor: BatchCompressor | null = codec === null ? null : { codecId: codec.id, compress: (s) => codec.compress(s, level) };
    this.accumulator = new RecordAccumulator({ ...this.accumulatorOptions, compressor, clock: this.clock });
    await this.cluster.connect();
    if (this.idempotent) await this.initProducerId();
    this.connected = true;
  }

  private async initProducerId(): Promise<void> {
    const deadline = this.clock.monotonicMs() + this.maxBlockMs;
    for (let attempt = 0; ; attempt++) {
      const req: InitProducerIdRequest = { transactionalId: null, transactionTimeoutMs: 0x7fffffff, producerId: -1n, producerEpoch: -1 };
      let code: number;
      try {
        const ch = await this.cluster.anyChannel();
        const res = await ch.request<InitProducerIdResponse>(ApiKey.InitProducerId, req);
        code = res.errorCode;
        if (code === ErrorCode.NONE) {
          this.accumulator.setProducerIdentity(res.producerId, res.producerEpoch);
          return;
        }
      } catch (e) {
        if (!(e instanceof KafkaError) || !isRetriable(e.code)) throw e;
        code = e.code;
      }
      if (!isRetriable(code)) throw new KafkaError(code, `InitProducerId failed: ${errorName(code)}`);
      if (this.clock.monotonicMs() >= deadline) throw new ClientTimeoutError(`InitProducerId did not succeed within max.block.ms (${errorName(code)})`);
      await this.cluster.sleep(this.cluster.backoff.backoffMs(attempt));
    }
  }

  /** Sends and resolves with where the record was written (awaited style). */
  send(record: ProducerRecord): Promise<RecordMetadata>;
  /** Sends and calls `callback` once acknowledged or failed (callback style). */
  send(record: ProducerRecord, callback: SendCallback): void;
  send(record: ProducerRecord, callback?: SendCallback): Promise<RecordMetadata> | void {
    if (callback !== undefined) {
      try {
        this.enqueue(record, callback);
      } catch (e) {
        queueMicrotask(() => callback(e as Error, null));
      }
      return;
    }
    return new Promise<RecordMetadata>((resolve, reject) => {
      this.enqueue(record, (err, meta) => (err !== null ? reject(err) : resolve(meta!)));
    });
  }

  /**
   * Sends without waiting for or reporting the outcome (fire-and-forget). Returns false when the record had to
   * wait for buffer memory or metadata; then `await waitForCapacity()` before sending more.
   */
  sendAndForget(record: ProducerRecord): boolean {
    return this.enqueue(record, undefined);
  }

  /** Records waiting for buffer memory or metadata (callers doing their own back-pressure check this). */
  get blockedRecords(): number {
    return this.waiting.length;
  }

  /** Resolves when no record waits for buffer memory or metadata. */
  waitForCapacity(): Promise<void> {
    if (this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.capacityListeners.push(resolve));
  }

  /** Sends every buffered record now and resolves once all records sent so far are acknowledged or failed. */
  async flush(): Promise<void> {
    this.accumulator.beginFlush();
    try {
      this.wake();
      for (let round = 0; round < MAX_WAITING_RECORDS && (this.waiting.length > 0 || this.accumulator.incomplete > 0); round++) {
        if (this.waiting.length > 0) await this.waitForCapacity();
        await this.accumulator.whenIdle();
      }
    } finally {
      this.accumulator.endFlush();
    }
  }

  /** Flushes (unless `timeoutMs` is 0, which fails unsent records) and closes every connection. */
  async close(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (this.isClosed) return;
    const timeoutMs = opts.timeoutMs ?? Infinity;
    this.accumulator.beginClose();
    if (timeoutMs > 0) {
      let timer: unknown = null;
      const timedOut = new Promise<void>((resolve) => {
        if (timeoutMs !== Infinity) timer = this.clock.setTimer(resolve, timeoutMs);
      });
      await Promise.race([this.flush(), timedOut]);
      this.clock.clearTimer(timer);
    }
    this.isClosed = true;
    const err = new ClientClosedError("the producer was closed before the record was sent");
    for (const w of this.waiting.splice(0)) this.finishRecord(w.done, err, null);
    this.accumulator.abortUnsent(err);
    this.clock.clearTimer(this.timer);
    await this.cluster.close();
  }

  // ---------------------------------------------------------------------------------------------------------
  // Appending

  private enqueue(record: ProducerRecord, done: SendCallback | undefined): boolean {
    if (this.isClosed) throw new ClientClosedError();
    if (!this.connected) throw new Error("Producer.connect() must complete before sending");
    const key = toBytes(record.key);
    const value = toBytes(record.value);
    const headers = toHeaders(record.headers);
    RecordAccumulator.checkRecordSize(key, value, headers, this.maxRequestSize);
    const timestamp = record.timestamp ?? this.clock.nowMs();
    const partition = record.partition ?? -1;
    if (!Number.isInteger(partition) || partition < -1) throw new RangeError(`invalid partition ${record.partition}`);
    this.placedPastNewBatch = -1;
    if (this.waiting.length === 0 && this.tryAppend(record.topic, partition, timestamp, key, value, headers, done)) return true;
    if (this.waiting.length >= MAX_WAITING_RECORDS) {
      throw new ClientTimeoutError(`more than ${MAX_WAITING_RECORDS} records are waiting for buffer memory or metadata`);
    }
    // A record the partitioner already moved on for waits for memory on the partition it moved to (as Java's does).
    const waitOn = this.placedPastNewBatch >= 0 ? this.placedPastNewBatch : partition;
    this.waiting.push({ topic: record.topic, partition: waitOn, timestamp, key, value, headers, done, deadlineMs: this.clock.monotonicMs() + this.maxBlockMs });
    this.pump();
    return false;
  }

  /**
   * Appends now if metadata is known and memory is free; false if it must wait (then {@link placedPastNewBatch} names
   * the partition when the partitioner already moved on for this record). Throws for bad partitions.
   */
  private tryAppend(
    topic: string,
    partitionIn: number,
    timestamp: number,
    key: Uint8Array | null,
    value: Uint8Array | null,
    headers: readonly RecordHeader[] | undefined,
    done: SendCallback | undefined,
  ): boolean {
    const info = this.cluster.topics.get(topic);
    if (info === undefined) return false;
    const n = info.partitions.length;
    let partition = partitionIn;
    if (partition >= 0) {
      if (partition >= n) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `partition ${partition} of topic '${topic}' does not exist (${n} partitions)`);
    } else {
      partition = this.partitioner.partition(topic, key, n, this.availablePartitions(info));
    }
    // A keyless record the partitioner placed is not added where it would open a new batch: the accumulator seals
    // the batch it did not fit and the partitioner may move on first (KIP-794; the Java producer's abortOnNewBatch).
    const abortOnNewBatch = key === null && partitionIn < 0 && this.partitioner.onNewBatch !== undefined;
    // Fire-and-forget records carry no completion: their batch reports how many failed (fireAndForgetFailures).
    // The others share one handler, which gets the record's callback and its batch (topic, partition).
    const completion = done === undefined ? undefined : this.recordCompletion;
    let r = this.accumulator.append(topic, partition, timestamp, key, value, headers, completion, abortOnNewBatch, done);
    if (r === AppendResult.NewBatchNeeded) {
      this.wake();
      if (this.partitioner.onNewBatch!(topic, partition)) partition = this.partitioner.partition(topic, key, n, this.availablePartitions(info));
      r = this.accumulator.append(topic, partition, timestamp, key, value, headers, completion, false, done);
      // The partitioner heard onNewBatch for this record once: when it waits for memory, it waits on `partition`.
      if (r === AppendResult.NoMemory) this.placedPastNewBatch = partition;
    }
    if (r === AppendResult.NoMemory) return false;
    // Appended and NewBatch leave room in the record's batch; BatchFull may also mean an older batch was sealed.
    const batchesFull = r === AppendResult.BatchFull && this.accumulator.batchesFull(topic, partition);
    this.partitioner.onAppend(topic, partition, (key?.length ?? 0) + (value?.length ?? 0), batchesFull);
    if (r === AppendResult.BatchFull || r === AppendResult.NewBatch) this.wake();
    return true;
  }

  private readonly fireAndForgetFailures = (records: number, error: Error): void => {
    this.failedRecords += records;
    this.lastError = error;
  };

  /** The completion of every record sent with a callback: `done` is the record's, `batch` says where it went. */
  private readonly recordCompletion = (error: Error | null, offset: bigint, timestamp: number, done: unknown, batch: ProducerBatch): void => {
    this.finishRecord(done as SendCallback, error, error === null ? { topic: batch.topic, partition: batch.partition, offset, timestamp } : null);
  };

  private finishRecord(done: SendCallback | undefined, error: Error | null, meta: RecordMetadata | null): void {
    if (done === undefined) {
      if (error !== null) this.fireAndForgetFailures(1, error);
      return;
    }
    try {
      done(error, meta);
    } catch {
      // User callbacks must not break the producer.
    }
  }

  private availablePartitions(info: TopicInfo): number[] {
    let a = this.availableCache.get(info);
    if (a === undefined) {
      a = [];
      for (const p of info.partitions) if (p.leader >= 0) a.push(p.partition);
      this.availableCache.set(info, a);
    }
    return a;
  }

  /** Appends waiting records in order while metadata and memory allow. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      const now = this.clock.monotonicMs();
      while (this.waiting.length > 0) {
        const w = this.waiting[0];
        if (this.isClosed) break;
        if (now >= w.deadlineMs) {
          this.waiting.shift();
          const why = this.cluster.topics.has(w.topic) ? "buffer memory" : `metadata of topic '${w.topic}'`;
          this.finishRecord(w.done, new ClientTimeoutError(`record waited more than max.block.ms (${this.maxBlockMs} ms) for ${why}`), null);
          continue;
        }
        if (!this.cluster.topics.has(w.topic)) {
          this.waitForTopic(w.topic);
          break;
        }
        let appended: boolean;
        this.placedPastNewBatch = -1;
        try {
          appended = this.tryAppend(w.topic, w.partition, w.timestamp, w.key, w.value, w.headers, w.done);
        } catch (e) {
          this.waiting.shift();
          this.finishRecord(w.done, e as Error, null);
          continue;
        }
        if (!appended) {
          if (this.placedPastNewBatch >= 0) w.partition = this.placedPastNewBatch;
          this.armMemoryWait(w.deadlineMs - now);
          break;
        }
        this.waiting.shift();
      }
    } finally {
      this.pumping = false;
    }
    if (this.waiting.length === 0 && this.capacityListeners.length > 0) {
      const ls = this.capacityListeners;
      this.capacityListeners = [];
      for (const l of ls) l();
    }
  }

  private armMemoryWait(timeoutMs: number): void {
    if (this.memoryWaitArmed) return;
    this.memoryWaitArmed = true;
    this.accumulator.addMemoryWaiter(1);
    this.wake();
    let timer: unknown = null;
    const resume = () => {
      if (!this.memoryWaitArmed) return;
      this.memoryWaitArmed = false;
      this.accumulator.addMemoryWaiter(-1);
      this.clock.clearTimer(timer);
      this.pump();
    };
    timer = this.clock.setTimer(resume, Math.max(0, timeoutMs));
    void this.accumulator.whenMemoryFreed().then(resume);
  }

  private waitForTopic(topic: string): void {
    if (this.topicWaits.has(topic)) return;
    const p = this.cluster.waitForTopic(topic, this.maxBlockMs).then(
      () => {},
      (e: Error) => {
        // Fail every waiting record of this topic.
        for (let i = 0; i < this.waiting.length; ) {
          if (this.waiting[i].topic === topic) {
            const [w] = this.waiting.splice(i, 1);
            this.finishRecord(w.done, e, null);
          } else i++;
        }
      },
    );
    this.topicWaits.set(topic, p);
    void p.finally(() => {
      this.topicWaits.delete(topic);
      this.pump();
    });
  }

  // ---------------------------------------------------------------------------------------------------------
  // Sending

  /** Schedules a sender pass (coalesced into one microtask). */
  private wake(): void {
    if (this.sendScheduled || this.isClosed) return;
    this.sendScheduled = true;
    queueMicrotask(() => {
      this.sendScheduled = false;
      this.runSender();
    });
  }

  private runSender(): void {
    if (this.sending || this.isClosed) return;
    this.sending = true;
    try {
      const now = this.clock.monotonicMs();
      const expiryIn = this.accumulator.expire(now);
      // Batches due within the slack go now (see LINGER_TIMER_SLACK_MS).
      const due = now + LINGER_TIMER_SLACK_MS;
      const check = this.accumulator.ready(due);
      let needMetadata = false;
      const byNode = new Map<number, PartitionQueue[]>();
      for (const q of check.ready) {
        const leader = this.cluster.leaderOf(q.topic, q.partition);
        if (leader < 0) {
          needMetadata = true;
          continue;
        }
        let list = byNode.get(leader);
        if (list === undefined) byNode.set(leader, (list = []));
        list.push(q);
      }
      for (const [node, queues] of byNode) this.drainNode(node, queues, due);
      if (needMetadata || this.cluster.needsRefresh()) this.refreshMetadata();
      this.armTimer(Math.min(check.nextDelayMs + LINGER_TIMER_SLACK_MS, expiryIn));
    } finally {
      this.sending = false;
    }
  }

  private armTimer(delayMs: number): void {
    if (delayMs === Infinity) return;
    const at = this.clock.monotonicMs() + Math.max(0, delayMs);
    if (this.timer !== null && this.timerAtMs <= at) return;
    this.clock.clearTimer(this.timer);
    this.timerAtMs = at;
    this.timer = this.clock.setTimer(() => {
      if (this.instrument !== null) this.instrument.timerFired(this.clock.monotonicMs() - this.timerAtMs);
      this.timer = null;
      this.timerAtMs = Infinity;
      this.runSender();
    }, Math.max(0, delayMs));
  }

  /** Sends the batches of `queues` that are sendable at monotonic `dueMs`, as the in-flight window allows. */
  private drainNode(node: number, queues: PartitionQueue[], dueMs: number): void {
    const ch = this.nodeChannels.get(node);
    if (ch === undefined || ch.closed) {
      this.nodeChannels.delete(node);
      this.connectNode(node);
      return;
    }
    // Each request carries at most one batch per partition; keep going while the in-flight window allows.
    for (let round = 0; ; round++) {
      if ((this.nodeInFlight.get(node) ?? 0) >= this.maxInFlight) {
        if (this.instrument !== null && queues.some((q) => q.batches.length > 0 && this.accumulator.waitMs(q, dueMs) <= 0)) this.instrument.windowFull(this.clock.monotonicMs());
        return;
      }
      if (round >= this.maxInFlight) return;
      const batches: ProducerBatch[] = [];
      let size = 0;
      for (const q of queues) {
        if (q.batches.length === 0 || this.accumulator.waitMs(q, dueMs) > 0) continue;
        const head = q.batches[0];
        const estimate = head.bytes?.length ?? head.builder?.sizeInBytes ?? 0;
        if (batches.length > 0 && size + estimate > this.maxRequestSize) continue;
        const b = this.accumulator.take(q);
        size += b.bytes!.length;
        batches.push(b);
      }
      if (batches.length === 0) return;
      this.sendBatches(node, ch, batches);
    }
  }

  private connectNode(node: number): void {
    if (this.dialing.has(node)) return;
    this.dialing.add(node);
    this.cluster.channel(node).then(
      (ch) => {
        this.dialing.delete(node);
        this.nodeChannels.set(node, ch);
        this.metadataFailures = 0;
        this.wake();
      },
      () => {
        this.dialing.delete(node);
        this.cluster.requestRefresh();
        this.refreshMetadata();
      },
    );
  }

  private refreshMetadata(): void {
    if (this.metadataRefreshing || this.isClosed) return;
    this.metadataRefreshing = true;
    const now = this.clock.monotonicMs();
    const delay = Math.max(0, this.nextMetadataAtMs - now);
    const run = () => {
      this.cluster.refresh().then(
        () => {
          this.metadataFailures = 0;
        },
        () => {
          this.metadataFailures++;
        },
      ).finally(() => {
        this.metadataRefreshing = false;
        this.nextMetadataAtMs = this.clock.monotonicMs() + this.cluster.backoff.backoffMs(Math.min(this.metadataFailures, 30));
        this.wake();
        this.pump();
      });
    };
    if (delay > 0) this.clock.setTimer(run, delay);
    else run();
  }

  private sendBatches(node: number, ch: BrokerChannel, batches: ProducerBatch[]): void {
    const version = this.produceVersion(ch, batches);
    const byTopic = new Map<string, { name: string; topicId: Uint8Array | undefined; partitionData: { index: number; records: Uint8Array }[] }>();
    for (const b of batches) {
      let t = byTopic.get(b.topic);
      if (t === undefined) {
        t = { name: b.topic, topicId: this.cluster.topics.get(b.topic)?.id, partitionData: [] };
        byTopic.set(b.topic, t);
      }
      t.partitionData.push({ index: b.partition, records: b.bytes! });
    }
    const req: ProduceRequest = { transactionalId: null, acks: this.acks, timeoutMs: this.requestTimeoutMs, topicData: [...byTopic.values()] };
    this.nodeInFlight.set(node, (this.nodeInFlight.get(node) ?? 0) + 1);
    ch.request<ProduceResponse | undefined>(ApiKey.Produce, req, { version, noResponse: this.acks === 0 }).then(
      (res) => this.onProduceResponse(node, batches, res),
      (e: Error) => this.onProduceFailure(node, batches, e),
    );
    if (this.instrument !== null) this.instrument.requestSent(batches, this.clock.monotonicMs());
  }

  private produceVersion(ch: BrokerChannel, batches: ProducerBatch[]): number {
    const v = ch.version(ApiKey.Produce);
    if (v < 13) return v;
    // Version 13 addresses topics by id; fall back to 12 when an id is unknown.
    for (const b of batches) if (isZeroId(this.cluster.topics.get(b.topic)?.id)) return 12;
    return v;
  }

  private onProduceResponse(node: number, batches: ProducerBatch[], res: ProduceResponse | undefined): void {
    this.nodeInFlight.set(node, (this.nodeInFlight.get(node) ?? 1) - 1);
    const now = this.clock.monotonicMs();
    if (res === undefined) {
      for (const b of batches) this.accumulator.complete(b, null, -1n, -1);
    } else {
      const results = new Map<string, { errorCode: number; baseOffset: bigint; logAppendTimeMs: bigint; errorMessage?: string | null }>();
      for (const t of res.responses) {
        const name = t.name !== undefined && t.name !== "" ? t.name : t.topicId !== undefined ? this.cluster.topicNameById(t.topicId) : undefined;
        if (name === undefined) continue;
        for (const p of t.partitionResponses) results.set(`${name}\u0000${p.index}`, p);
      }
      for (const b of batches) {
        const r = results.get(`${b.topic}\u0000${b.partition}`);
        if (r === undefined) {
          this.retryOrFail(b, ErrorCode.UNKNOWN_SERVER_ERROR, "no result for the partition in the Produce response", now);
          continue;
        }
        if (r.errorCode === ErrorCode.NONE || r.errorCode === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) {
          // The answer came after the broker read the whole request: no socket holds the batch's bytes any more.
          this.accumulator.complete(b, null, r.baseOffset, Number(r.logAppendTimeMs), true);
        } else {
          this.retryOrFail(b, r.errorCode, r.errorMessage ?? null, now);
        }
      }
    }
    this.wake();
    this.pump();
  }

  private onProduceFailure(node: number, batches: ProducerBatch[], e: Error): void {
    this.nodeInFlight.set(node, (this.nodeInFlight.get(node) ?? 1) - 1);
    const now = this.clock.monotonicMs();
    const code = e instanceof KafkaError ? e.code : ErrorCode.UNKNOWN_SERVER_ERROR;
    for (const b of batches) this.retryOrFail(b, code, e.message, now);
    this.wake();
    this.pump();
  }

  private retryOrFail(b: ProducerBatch, code: number, message: string | null, now: number): void {
    // With idempotence, batches behind a failed one come back out of sequence; they are retried in order.
    const retriable = isRetriable(code) || (this.accumulator.idempotent && code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    if (METADATA_ERRORS.has(code)) {
      this.cluster.requestRefresh();
      this.refreshMetadata();
    }
    if (retriable && b.attempts < this.retries && this.accumulator.withinDeliveryTimeout(b, now) && !this.isClosed) {
      this.accumulator.reenqueue(b, now + this.cluster.backoff.backoffMs(b.attempts));
      return;
    }
    const detail = message !== null && message !== "" ? `: ${message}` : "";
    this.accumulator.complete(b, new KafkaError(code, `producing to ${b.topic}-${b.partition} failed with ${errorName(code)}${detail}`), -1n, -1);
  }
}
