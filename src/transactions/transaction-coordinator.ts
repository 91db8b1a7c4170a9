/**
 * The transaction coordinator: one state machine per transactional id (see {@link TxnMetadata}), persisted to
 * `__transaction_state` and replayed on start. It hands out producer ids and epochs (InitProducerId, fencing
 * older instances by bumping the epoch), records the partitions of the ongoing transaction (AddPartitionsToTxn,
 * AddOffsetsToTxn), and ends transactions (EndTxn): PrepareCommit/PrepareAbort is written first, then the
 * COMMIT/ABORT markers go to every partition of the transaction through a {@link TxnMarkerWriter}, then
 * CompleteCommit/CompleteAbort. A transaction open longer than its timeout is aborted with a bumped epoch, so its
 * producer is fenced; idle transactional ids expire after `transactional.id.expiration.ms`.
 *
 * Every transition is written before it becomes current; while one is being written (or while a transaction's
 * markers are being written) other requests for that id get CONCURRENT_TRANSACTIONS. Time comes from the injected
 * {@link Clock}, so unit tests drive timeouts with a ManualClock.
 *
 * Transaction version 2 (KIP-890 part 2: EndTxn v5 bumps the epoch at the end of every transaction) is followed
 * when the caller says so; Runnel does not advertise the `transaction.version` feature, so clients normally use
 * the classic protocol.
 */
import type { Clock } from "../platform/clock.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { ATTR_COMPRESSION_MASK, ATTR_CONTROL, ATTRIBUTES_OFFSET, BATCH_HEADER_SIZE, BATCH_LENGTH_OFFSET, LOG_OVERHEAD, dataViewOf } from "../protocol/batch-layout.ts";
import { BatchBuilder, RecordCursor } from "../protocol/record-batch.ts";
import type { TransactionConfig, TransactionLogger } from "./transaction-config.ts";
import { TRANSACTION_STATE_TOPIC, type TransactionLogStorage } from "./transaction-log.ts";
import { decodeTxnKey, decodeTxnValue, encodeTxnKey, encodeTxnValue } from "./transaction-state-records.ts";
import {
  MAX_PARTITIONS_PER_TRANSACTION,
  MAX_PRODUCER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  TXN_STATES,
  TxnMetadata,
  isEpochExhausted,
  withPartitions,
  type TopicPartition,
  type TxnRecord,
  type TxnState,
} from "./transaction-state.ts";
import type { TxnMarkerWriter } from "./txn-markers.ts";
import { OwnedPartitions, finishSteps, replayInSteps, untilLogCommitted, type LoadStep } from "../storage/owned-partitions.ts";

/** Most transactional ids one coordinator keeps. */
export const MAX_TRANSACTIONAL_IDS = 1_000_000;
/** Delay before retrying markers or a Complete record that failed. */
export const COMPLETION_RETRY_BACKOFF_MS = 1000;
/** Capacity of the batch builder for state records (a larger record gets its own buffer). */
const RECORDS_BATCH_BYTES = 64 * 1024;
/** Coordinator epoch written on markers when the storage cannot tell the partition's leader epoch (unit tests). */
export const COORDINATOR_EPOCH = 0;

/** Hands out producer ids (the broker's durable allocator). */
export interface ProducerIdSource {
  /** The next unused producer id. */
  next(): bigint;
}

/** What a coordinator is built from. */
export interface TransactionCoordinatorOptions {
  /** Settings. */
  config: TransactionConfig;
  /** Time and timers. */
  clock: Clock;
  /** `__transaction_state`. */
  storage: TransactionLogStorage;
  /** Writes COMMIT/ABORT markers. */
  markers: TxnMarkerWriter;
  /** Producer ids. */
  producerIds: ProducerIdSource;
  /** Logger (default: silent). */
  logger?: TransactionLogger;
}

/** An InitProducerId with a transactional id. */
export interface InitProducerIdInput {
  /** The transactional id. */
  transactionalId: string;
  /** `transaction.timeout.ms` of the producer. */
  transactionTimeoutMs: number;
  /** v3+: the producer id the client has (-1 = none). */
  producerId: bigint;
  /** v3+: its epoch (-1 = none). */
  producerEpoch: number;
}

/** A producer id and epoch, or an error. */
export interface ProducerIdOutcome {
  /** Error code (NONE on success). */
  errorCode: number;
  /** Producer id (-1 on error). */
  producerId: bigint;
  /** Producer epoch (-1 on error). */
  producerEpoch: number;
}

/** Per-partition outcome of a verify-only AddPartitionsToTxn. */
export interface VerifyOutcome {
  /** Transaction-level error (NONE when the partitions were checked). */
  errorCode: number;
  /** One code per input partition, in order. */
  partitionErrors: number[];
}

/** DescribeTransactions for one id. */
export interface TxnDescription {
  /** Error code. */
  errorCode: number;
  /** The transactional id. */
  transactionalId: string;
  /** State name. */
  state: string;
  /** Timeout (ms). */
  timeoutMs: number;
  /** Start of the current transaction (ms since epoch) or -1. */
  startTimestamp: number;
  /** Producer id. */
  producerId: bigint;
  /** Producer epoch. */
  producerEpoch: number;
  /** Partitions of the current transaction, by topic. */
  topics: { topic: string; partitions: number[] }[];
}

/** One row of ListTransactions. */
export interface ListedTxn {
  /** The transactional id. */
  transactionalId: string;
  /** Producer id. */
  producerId: bigint;
  /** State name. */
  state: string;
}

/** ListTransactions filters (empty = any). */
export interface ListTxnFilters {
  /** States (exact names). */
  states?: readonly string[];
  /** Producer ids. */
  producerIds?: readonly bigint[];
  /** Only transactions running at least this long (ms); < 0 = any. */
  minDurationMs?: number;
  /** Only transactional ids matching this regular expression; null or "" = any. */
  pattern?: RegExp | null;
}

/** Kafka's `Utils.abs(transactionalId.hashCode()) % partitions`, with Java's String.hashCode over UTF-16 units. */
export function transactionPartitionFor(transactionalId: string, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions <= 0) throw new RangeError(`bad partition count ${partitions}`);
  let h = 0;
  for (let i = 0; i < transactionalId.length; i++) h = (Math.imul(h, 31) + transactionalId.charCodeAt(i)) | 0;
  return (h === -2147483648 ? 0 : Math.abs(h)) % partitions;
}

/** PRODUCER_FENCED for a request version that knows it, else the older INVALID_PRODUCER_EPOCH (Kafka's mapping). */
export function fencedErrorCode(code: number, versionKnowsProducerFenced: boolean): number {
  return code === ErrorCode.PRODUCER_FENCED && !versionKnowsProducerFenced ? ErrorCode.INVALID_PRODUCER_EPOCH : code;
}

const fail = (errorCode: number): ProducerIdOutcome => ({ errorCode, producerId: NO_PRODUCER_ID, producerEpoch: NO_PRODUCER_EPOCH });

/** The transaction coordinator of one broker (a single node coordinates every transactional id). */
export class TransactionCoordinator {
  private readonly config: TransactionConfig;
  private readonly clock: Clock;
  private readonly storage: TransactionLogStorage;
  private readonly markers: TxnMarkerWriter;
  private readonly producerIds: ProducerIdSource;
  private readonly log: TransactionLogger;
  private readonly txns = new Map<string, TxnMetadata>();
  private readonly byProducerId = new Map<bigint, TxnMetadata>();
  private readonly builder = new BatchBuilder(RECORDS_BATCH_BYTES);
  private abortTimer: unknown = null;
  private expiryTimer: unknown = null;
  private stopped = false;
  /**
   * The `__transaction_state` partitions this coordinator serves (cluster mode: those this broker leads), each
   * loading or loaded; null on a single node, which serves every partition from {@link TransactionCoordinator.load}.
   */
  private owned: OwnedPartitions | null = null;

  constructor(opts: TransactionCoordinatorOptions) {
    this.config = opts.config;
    this.clock = opts.clock;
    this.storage = opts.storage;
    this.markers = opts.markers;
    this.producerIds = opts.producerIds;
    this.log = opts.logger ?? { info: () => {}, warn: () => {}, error: () => {} };
  }

  // -------------------------------------------------------------------------------------------------------------
  // Lifecycle

  /**
   * Replays `__transaction_state` (when it exists), resumes transactions caught between Prepare and Complete
   * (their markers are written again) and starts the timeout and expiry timers.
   */
  load(): void {
    const n = this.storage.partitionCount();
    let records = 0;
    const loaded = new Map<string, TxnRecord>();
    for (let p = 0; p < n; p++) records += finishSteps(this.replayPartition(p, loaded));
    this.install(loaded);
    if (n > 0) this.log.info(`transaction coordinator loaded ${this.txns.size} transactional id(s) from ${records} record(s) in ${n} partition(s) of ${TRANSACTION_STATE_TOPIC}`);
    this.scheduleAbortCheck();
    this.scheduleExpiry();
  }

  /** Makes replayed transactional ids current; those caught between Prepare and Complete get their markers again. */
  private install(loaded: Map<string, TxnRecord>): void {
    const resumed: TxnMetadata[] = [];
    for (const [id, r] of loaded) {
      if (r.state === "Dead" || r.state === "PrepareEpochFence") continue;
      const meta = new TxnMetadata(id, r);
      this.txns.set(id, meta);
      this.byProducerId.set(meta.producerId, meta);
      if (meta.state === "PrepareCommit" || meta.state === "PrepareAbort") resumed.push(meta);
    }
    for (const meta of resumed) {
      this.log.info(`transactional id ${meta.transactionalId}: completing ${meta.state} left by the previous coordinator`);
      meta.pendingMarkers = meta.partitionList();
      void this.completeTransaction(meta);
    }
  }

  /**
   * Cluster mode: serve only the partitions handed over with {@link TransactionCoordinator.loadPartitionOwnership}
   * (those this broker leads); other transactional ids are answered NOT_COORDINATOR. Starts the timers.
   */
  followLeadership(): void {
    if (this.owned !== null) return;
    this.owned = new OwnedPartitions(this.clock);
    this.scheduleAbortCheck();
    this.scheduleExpiry();
  }

  /** Whether this coordinator serves (or is loading) the partition of `transactionalId` (always on a single node). */
  ownsTransactionalId(transactionalId: string): boolean {
    return this.owned === null || this.owned.has(this.partitionFor(transactionalId));
  }

  /**
   * This broker became the leader of `partition`: its transactional ids are replayed on the next turn of the event
   * loop (requests meanwhile get COORDINATOR_LOAD_IN_PROGRESS); transactions left between Prepare and Complete
   * by the previous coordinator are completed (their markers written again).
   */
  loadPartitionOwnership(partition: number): void {
    if (this.owned === null || this.stopped) return;
    this.owned.add(partition, () => this.loadSteps(partition));
  }

  /** Replays `partition` in steps, then makes its transactional ids current; ends with whether it loaded. */
  private *loadSteps(partition: number): Generator<LoadStep, boolean, void> {
    const loaded = new Map<string, TxnRecord>();
    let records: number;
    try {
      records = yield* this.replayPartition(partition, loaded);
    } catch (e) {
      this.log.error(`loading ${TRANSACTION_STATE_TOPIC}-${partition} failed: ${(e as Error).stack ?? e}`);
      return false;
    }
    // answer only from state on the ISR (a restarted leader's own tail is not the partition's state)
    const storage = this.storage;
    if (storage.whenLogCommitted !== undefined) yield* untilLogCommitted(() => storage.whenLogCommitted!(partition), this.clock);
    this.install(loaded);
    this.log.info(`transaction coordinator loaded ${TRANSACTION_STATE_TOPIC}-${partition}: ${loaded.size} transactional id(s) from ${records} record(s)`);
    return true;
  }

  /** This broker no longer leads `partition`: its transactional ids are dropped (the new coordinator completes them). */
  unloadPartitionOwnership(partition: number): void {
    if (this.owned === null || !this.owned.remove(partition)) return;
    let dropped = 0;
    for (const meta of [...this.txns.values()]) {
      if (this.partitionFor(meta.transactionalId) !== partition) continue;
      this.forget(meta);
      dropped++;
    }
    this.log.info(`transaction coordinator unloaded ${TRANSACTION_STATE_TOPIC}-${partition} (${dropped} transactional id(s))`);
  }

  /** Drops a transactional id from memory (not from the log) with its retry timer. */
  private forget(meta: TxnMetadata): void {
    if (meta.retryTimer !== null) this.clock.clearTimer(meta.retryTimer);
    meta.retryTimer = null;
    if (this.txns.get(meta.transactionalId) === meta) this.txns.delete(meta.transactionalId);
    if (this.byProducerId.get(meta.producerId) === meta) this.byProducerId.delete(meta.producerId);
  }

  /**
   * The coordinator epoch of a transactional id's partition (its leader epoch on this broker, as Kafka's): a
   * coordinator elected later writes markers with a higher one, and partitions refuse the older one's after that.
   */
  private coordinatorEpochOf(transactionalId: string): number {
    try {
      return this.storage.coordinatorEpoch?.(this.partitionFor(transactionalId)) ?? COORDINATOR_EPOCH;
    } catch {
      return COORDINATOR_EPOCH; // the partition is gone: its markers are retried and the next try tells
    }
  }

  /** Whether `meta` is still the current state of its id here (not unloaded, expired or replaced). */
  private isCurrent(meta: TxnMetadata): boolean {
    return !this.stopped && this.txns.get(meta.transactionalId) === meta;
  }

  /** NONE when this coordinator serves the id now, else NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS. */
  availability(transactionalId: string): number {
    if (this.stopped) return ErrorCode.NOT_COORDINATOR;
    return this.owned === null ? ErrorCode.NONE : this.owned.errorFor(this.partitionFor(transactionalId));
  }

  /** Cancels every timer; later requests get NOT_COORDINATOR. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.abortTimer !== null) this.clock.clearTimer(this.abortTimer);
    if (this.expiryTimer !== null) this.clock.clearTimer(this.expiryTimer);
    this.abortTimer = this.expiryTimer = null;
    this.owned?.clear();
    for (const meta of this.txns.values()) {
      if (meta.retryTimer !== null) this.clock.clearTimer(meta.retryTimer);
      meta.retryTimer = null;
    }
  }

  /** Creates `__transaction_state` when missing; returns its partition count (throws when it cannot be created). */
  ensureStateTopic(): number {
    const n = this.storage.partitionCount();
    if (n > 0) return n;
    const created = this.storage.ensureTopic(this.config.stateLogPartitions, {
      "cleanup.policy": "compact",
      "compression.type": "producer",
      "segment.bytes": String(this.config.stateLogSegmentBytes),
    });
    this.log.info(`created ${TRANSACTION_STATE_TOPIC} with ${created} partition(s)`);
    return created;
  }

  /** The `__transaction_state` partition of a transactional id. */
  partitionFor(transactionalId: string): number {
    const n = this.storage.partitionCount();
    return transactionPartitionFor(transactionalId, n > 0 ? n : this.config.stateLogPartitions);
  }

  /** The metadata of a transactional id (tests and tools; do not modify). */
  metadata(transactionalId: string): Readonly<TxnMetadata> | undefined {
    return this.txns.get(transactionalId);
  }

  // -------------------------------------------------------------------------------------------------------------
  // InitProducerId

  /**
   * InitProducerId with a transactional id: a new id gets a fresh producer id at epoch 0; a known one gets its
   * epoch bumped (fencing older instances), or a new producer id when the epoch is exhausted. An ongoing
   * transaction is aborted first (with a bumped epoch) and CONCURRENT_TRANSACTIONS returned, so the client retries
   * once the abort is complete, as Kafka does. With `producerId`/`producerEpoch` (v3+, KIP-360) a producer resumes
   * its own id; a retried bump gets the same answer again.
   */
  async initProducerId(req: InitProducerIdInput): Promise<ProducerIdOutcome> {
    const unavailable = this.availability(req.transactionalId);
    if (unavailable !== ErrorCode.NONE) return fail(unavailable);
    if (req.transactionalId === "") return fail(ErrorCode.INVALID_REQUEST);
    if (req.transactionTimeoutMs <= 0 || req.transactionTimeoutMs > this.config.maxTimeoutMs) return fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    let meta = this.txns.get(req.transactionalId);
    if (meta === undefined) {
      if (this.txns.size >= MAX_TRANSACTIONAL_IDS) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      meta = new TxnMetadata(req.transactionalId, {
        producerId: this.producerIds.next(),
        previousProducerId: NO_PRODUCER_ID,
        nextProducerId: NO_PRODUCER_ID,
        producerEpoch: NO_PRODUCER_EPOCH,
        timeoutMs: req.transactionTimeoutMs,
        state: "Empty",
        partitions: new Map(),
        lastUpdateTimestamp: this.clock.nowMs(),
        startTimestamp: -1,
        clientTransactionVersion: 0,
      });
      this.txns.set(meta.transactionalId, meta);
      this.byProducerId.set(meta.producerId, meta);
    }
    const expected = req.producerId >= 0n ? { producerId: req.producerId, epoch: req.producerEpoch } : null;
    if (meta.pending !== null || meta.completing) return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
    if (expected !== null) {
      const valid =
        meta.producerEpoch === NO_PRODUCER_EPOCH ||
        expected.producerId === meta.producerId ||
        (expected.producerId === meta.previousProducerId && isEpochExhausted(expected.epoch));
      if (!valid) return fail(ErrorCode.PRODUCER_FENCED);
    }
    switch (meta.state) {
      case "PrepareCommit":
      case "PrepareAbort":
        return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
      case "Ongoing": {
        this.log.info(`transactional id ${meta.transactionalId}: a new producer instance fences epoch ${meta.producerEpoch} and aborts its open transaction`);
        const code = await this.fenceAndAbort(meta);
        return fail(code === ErrorCode.NONE ? ErrorCode.CONCURRENT_TRANSACTIONS : code);
      }
      case "Empty":
      case "CompleteCommit":
      case "CompleteAbort":
        break;
      default:
        return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
    }
    const now = this.clock.nowMs();
    const base: Partial<TxnRecord> = { timeoutMs: req.transactionTimeoutMs, state: "Empty", partitions: new Map(), startTimestamp: -1, lastUpdateTimestamp: now, nextProducerId: NO_PRODUCER_ID };
    let next: TxnRecord;
    let lastEpoch: number;
    if (isEpochExhausted(meta.producerEpoch) && (expected === null || expected.epoch === meta.producerEpoch)) {
      next = meta.with({ ...base, producerId: this.producerIds.next(), previousProducerId: meta.producerId, producerEpoch: 0 });
      lastEpoch = expected !== null ? meta.producerEpoch : NO_PRODUCER_EPOCH;
    } else {
      const bumped = meta.producerEpoch + 1;
      let epoch: number;
      if (expected === null) {
        epoch = bumped;
        lastEpoch = NO_PRODUCER_EPOCH;
      } else if (meta.producerEpoch === NO_PRODUCER_EPOCH || expected.epoch === meta.producerEpoch) {
        epoch = bumped;
        lastEpoch = meta.producerEpoch;
      } else if (expected.epoch === meta.lastProducerEpoch) {
        // A retry of a bump whose answer was lost: answer the same again.
        epoch = meta.producerEpoch;
        lastEpoch = meta.lastProducerEpoch;
      } else {
        return fail(ErrorCode.PRODUCER_FENCED);
      }
      next = meta.with({ ...base, producerEpoch: epoch });
    }
    const code = await this.write(meta, next);
    if (code !== ErrorCode.NONE) return fail(code);
    meta.lastProducerEpoch = lastEpoch;
    this.log.info(`transactional id ${meta.transactionalId}: producer id ${meta.producerId}, epoch ${meta.producerEpoch}`);
    return { errorCode: ErrorCode.NONE, producerId: meta.producerId, producerEpoch: meta.producerEpoch };
  }

  // -------------------------------------------------------------------------------------------------------------
  // AddPartitionsToTxn / AddOffsetsToTxn

  /**
   * Adds partitions to the producer's transaction (opening it when none is ongoing); resolves to NONE once the
   * new state is durable, or an error: INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED, CONCURRENT_TRANSACTIONS.
   */
  async addPartitions(transactionalId: string, producerId: bigint, producerEpoch: number, partitions: readonly TopicPartition[]): Promise<number> {
    const unavailable = this.availability(transactionalId);
    if (unavailable !== ErrorCode.NONE) return unavailable;
    if (transactionalId === "") return ErrorCode.INVALID_REQUEST;
    const meta = this.txns.get(transactionalId);
    if (meta === undefined || meta.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (meta.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED;
    if (meta.pending !== null || meta.completing) return ErrorCode.CONCURRENT_TRANSACTIONS;
    if (meta.state === "PrepareCommit" || meta.state === "PrepareAbort") return ErrorCode.CONCURRENT_TRANSACTIONS;
    if (meta.state === "Ongoing" && partitions.every((tp) => meta.hasPartition(tp.topic, tp.partition))) return ErrorCode.NONE;
    if (meta.state !== "Ongoing" && meta.state !== "Empty" && meta.state !== "CompleteCommit" && meta.state !== "CompleteAbort") return ErrorCode.INVALID_TXN_STATE;
    const current = meta.state === "Ongoing" ? meta.partitions : new Map<string, Set<number>>();
    const merged = withPartitions(current, partitions);
    let count = 0;
    for (const s of merged.values()) count += s.size;
    if (count > MAX_PARTITIONS_PER_TRANSACTION) return ErrorCode.INVALID_REQUEST;
    const now = this.clock.nowMs();
    const next = meta.with({ state: "Ongoing", partitions: merged, startTimestamp: meta.state === "Ongoing" ? meta.startTimestamp : now, lastUpdateTimestamp: now });
    return this.write(meta, next);
  }

  /**
   * AddPartitionsToTxn with verifyOnly (v4+), and the check Kafka 4 applies to transactional Produce and
   * TxnOffsetCommit: is each partition in the producer's ongoing transaction at this epoch?
   */
  verifyPartitions(transactionalId: string, producerId: bigint, producerEpoch: number, partitions: readonly TopicPartition[]): VerifyOutcome {
    const all = (errorCode: number): VerifyOutcome => ({ errorCode, partitionErrors: partitions.map(() => errorCode) });
    const unavailable = this.availability(transactionalId);
    if (unavailable !== ErrorCode.NONE) return all(unavailable);
    const meta = this.txns.get(transactionalId);
    if (meta === undefined || meta.producerId !== producerId) return all(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    if (meta.producerEpoch !== producerEpoch) return all(ErrorCode.PRODUCER_FENCED);
    const ongoing = meta.state === "Ongoing";
    return {
      errorCode: ErrorCode.NONE,
      partitionErrors: partitions.map((tp) => (ongoing && meta.hasPartition(tp.topic, tp.partition) ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE)),
    };
  }

  /**
   * The check for a transactional Produce batch (by producer id, as the batch carries it): NONE when the
   * partition is in the producer's ongoing transaction at this epoch; INVALID_PRODUCER_EPOCH for another epoch;
   * INVALID_TXN_STATE when the producer has no transaction holding the partition. (In a cluster, a write whose
   * transactional id another broker coordinates is verified there instead: src/broker/remote-txn-verification.ts.)
   */
  verifyProduce(producerId: bigint, producerEpoch: number, topic: string, partition: number): number {
    if (this.stopped) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    const meta = this.byProducerId.get(producerId);
    if (meta === undefined) return ErrorCode.INVALID_TXN_STATE;
    if (meta.producerEpoch !== producerEpoch) return ErrorCode.INVALID_PRODUCER_EPOCH;
    if (meta.state !== "Ongoing" || !meta.hasPartition(topic, partition)) return ErrorCode.INVALID_TXN_STATE;
    return ErrorCode.NONE;
  }

  // -------------------------------------------------------------------------------------------------------------
  // EndTxn

  /**
   * Commits or aborts the producer's transaction: PrepareCommit/PrepareAbort is made durable, the markers are
   * written to every partition of the transaction and CompleteCommit/CompleteAbort follows; resolves once the
   * transaction is complete (or, if markers cannot be written now, once the decision is durable: they are retried).
   * A retry of an EndTxn that already completed answers NONE. With `epochBump` (transaction version 2, EndTxn v5)
   * the epoch is bumped at the end of every transaction and the new producer id/epoch are returned.
   */
  async endTransaction(transactionalId: string, producerId: bigint, producerEpoch: number, commit: boolean, epochBump = false): Promise<ProducerIdOutcome> {
    const unavailable = this.availability(transactionalId);
    if (unavailable !== ErrorCode.NONE) return fail(unavailable);
    if (transactionalId === "") return fail(ErrorCode.INVALID_REQUEST);
    const meta = this.txns.get(transactionalId);
    if (meta === undefined) return fail(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    const ok = (): ProducerIdOutcome => ({ errorCode: ErrorCode.NONE, producerId: meta.producerId, producerEpoch: meta.producerEpoch });
    const completed: TxnState = commit ? "CompleteCommit" : "CompleteAbort";
    const preparing: TxnState = commit ? "PrepareCommit" : "PrepareAbort";
    const retry =
      epochBump &&
      meta.lastProducerEpoch !== NO_PRODUCER_EPOCH &&
      producerEpoch === meta.lastProducerEpoch &&
      (producerId === meta.producerId || producerId === meta.previousProducerId);
    if (!retry && producerId !== meta.producerId) return fail(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    if (!retry && producerEpoch !== meta.producerEpoch) return fail(ErrorCode.PRODUCER_FENCED);
    if (meta.pending !== null || meta.completing) return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
    switch (meta.state) {
      case "Ongoing": {
        if (retry) return fail(ErrorCode.PRODUCER_FENCED);
        const now = this.clock.nowMs();
        let changes: Partial<TxnRecord> = { state: preparing, lastUpdateTimestamp: now };
        if (epochBump) {
          const bumped = meta.producerEpoch + 1;
          changes = { ...changes, producerEpoch: bumped, clientTransactionVersion: 2, nextProducerId: isEpochExhausted(bumped) ? this.producerIds.next() : NO_PRODUCER_ID };
        }
        const lastEpoch = meta.producerEpoch;
        const code = await this.prepareAndComplete(meta, meta.with(changes));
        if (code !== ErrorCode.NONE) return fail(code);
        if (epochBump) meta.lastProducerEpoch = lastEpoch;
        return ok();
      }
      case "CompleteCommit":
      case "CompleteAbort":
        if (meta.state === completed && (retry || !epochBump)) return ok();
        if (epochBump && !commit && !retry) return this.bumpWithoutTransaction(meta);
        return fail(ErrorCode.INVALID_TXN_STATE);
      case "Empty":
        if (epochBump && !commit && !retry) return this.bumpWithoutTransaction(meta);
        return fail(ErrorCode.INVALID_TXN_STATE);
      case "PrepareCommit":
      case "PrepareAbort":
        return fail(meta.state === preparing ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE);
      default:
        return fail(ErrorCode.INVALID_TXN_STATE);
    }
  }

  /** Transaction version 2: aborting with no transaction open only bumps the epoch (a new producer id when exhausted). */
  private async bumpWithoutTransaction(meta: TxnMetadata): Promise<ProducerIdOutcome> {
    const now = this.clock.nowMs();
    const bumped = meta.producerEpoch + 1;
    const rotate = isEpochExhausted(bumped);
    const lastEpoch = meta.producerEpoch;
    const next = meta.with({
      state: "CompleteAbort",
      partitions: new Map(),
      lastUpdateTimestamp: now,
      clientTransactionVersion: 2,
      producerId: rotate ? this.producerIds.next() : meta.producerId,
      previousProducerId: rotate ? meta.producerId : meta.previousProducerId,
      producerEpoch: rotate ? 0 : bumped,
    });
    const code = await this.write(meta, next);
    if (code !== ErrorCode.NONE) return fail(code);
    meta.lastProducerEpoch = lastEpoch;
    return { errorCode: ErrorCode.NONE, producerId: meta.producerId, producerEpoch: meta.producerEpoch };
  }

  /** Fences the producer (epoch + 1, unless already the largest) and aborts its ongoing transaction with that epoch. */
  private fenceAndAbort(meta: TxnMetadata): Promise<number> {
    const epoch = meta.producerEpoch < MAX_PRODUCER_EPOCH ? meta.producerEpoch + 1 : meta.producerEpoch;
    return this.prepareAndComplete(meta, meta.with({ state: "PrepareAbort", producerEpoch: epoch, lastUpdateTimestamp: this.clock.nowMs() }));
  }

  /** Writes a PrepareCommit/PrepareAbort record, then completes the transaction; resolves to the prepare's code. */
  private async prepareAndComplete(meta: TxnMetadata, prepare: TxnRecord): Promise<number> {
    if (prepare.state !== "PrepareCommit" && prepare.state !== "PrepareAbort") throw new Error(`prepareAndComplete with ${prepare.state}`);
    const code = await this.write(meta, prepare);
    if (code !== ErrorCode.NONE) return code;
    meta.pendingMarkers = meta.partitionList();
    await this.completeTransaction(meta);
    return ErrorCode.NONE;
  }

  /**
   * Writes the markers a PrepareCommit/PrepareAbort transaction still owes, then its Complete record. On failure
   * the rest is retried after {@link COMPLETION_RETRY_BACKOFF_MS}.
   */
  private async completeTransaction(meta: TxnMetadata): Promise<void> {
    if (!this.isCurrent(meta) || meta.completing) return;
    if (meta.state !== "PrepareCommit" && meta.state !== "PrepareAbort") return;
    const commit = meta.state === "PrepareCommit";
    meta.completing = true;
    try {
      if (meta.pendingMarkers.length > 0) {
        let failed: TopicPartition[];
        try {
          failed = await this.markers.writeMarkers({
            producerId: meta.producerId,
            producerEpoch: meta.producerEpoch,
            commit,
            coordinatorEpoch: this.coordinatorEpochOf(meta.transactionalId),
            partitions: meta.pendingMarkers,
          });
        } catch (e) {
          this.log.error(`transactional id ${meta.transactionalId}: writing markers failed: ${(e as Error).stack ?? e}`);
          failed = meta.pendingMarkers;
        }
        meta.pendingMarkers = failed;
        if (!this.isCurrent(meta)) return; // unloaded meanwhile: the new coordinator completes it
        if (failed.length > 0) {
          this.scheduleCompletionRetry(meta);
          return;
        }
      }
      const rotate = meta.nextProducerId !== NO_PRODUCER_ID;
      const next = meta.with({
        state: commit ? "CompleteCommit" : "CompleteAbort",
        partitions: new Map(),
        lastUpdateTimestamp: this.clock.nowMs(),
        producerId: rotate ? meta.nextProducerId : meta.producerId,
        previousProducerId: rotate ? meta.producerId : meta.previousProducerId,
        producerEpoch: rotate ? 0 : meta.producerEpoch,
        nextProducerId: NO_PRODUCER_ID,
      });
      meta.completing = false;
      const code = await this.write(meta, next);
      if (code !== ErrorCode.NONE) this.scheduleCompletionRetry(meta);
      else this.log.info(`transactional id ${meta.transactionalId}: ${commit ? "committed" : "aborted"} (producer ${meta.producerId}, epoch ${meta.producerEpoch})`);
    } finally {
      meta.completing = false;
    }
  }

  private scheduleCompletionRetry(meta: TxnMetadata): void {
    if (!this.isCurrent(meta) || meta.retryTimer !== null) return;
    meta.retryTimer = this.clock.setTimer(() => {
      meta.retryTimer = null;
      if (!this.isCurrent(meta)) return;
      if (meta.state === "PrepareCommit" || meta.state === "PrepareAbort") {
        if (meta.pending === null) void this.completeTransaction(meta);
        else this.scheduleCompletionRetry(meta);
      }
    }, COMPLETION_RETRY_BACKOFF_MS);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Timeouts and expiry

  /**
   * Aborts every ongoing transaction open longer than its timeout, fencing its producer (epoch + 1); resolves to
   * the number aborted once they are complete. Runs every `transaction.abort.timed.out.transaction.cleanup.interval.ms`.
   */
  async abortTimedOutTransactions(): Promise<number> {
    if (this.stopped) return 0;
    const now = this.clock.nowMs();
    const aborts: Promise<number>[] = [];
    for (const meta of this.txns.values()) {
      if (meta.state !== "Ongoing" || meta.pending !== null || meta.completing) continue;
      if (meta.startTimestamp + meta.timeoutMs >= now) continue;
      this.log.info(`transactional id ${meta.transactionalId}: aborting the transaction open since ${new Date(meta.startTimestamp).toISOString()} (timeout ${meta.timeoutMs} ms)`);
      aborts.push(this.fenceAndAbort(meta));
    }
    const codes = await Promise.all(aborts);
    return codes.filter((c) => c === ErrorCode.NONE).length;
  }

  /**
   * Removes transactional ids idle (Empty or complete) for `transactional.id.expiration.ms`, writing tombstones;
   * resolves to the number removed. Runs every `transaction.remove.expired.transaction.cleanup.interval.ms`.
   */
  async expireTransactionalIds(): Promise<number> {
    if (this.stopped) return 0;
    const now = this.clock.nowMs();
    const waits: Promise<boolean>[] = [];
    for (const meta of this.txns.values()) {
      if (meta.pending !== null || meta.completing) continue;
      if (meta.state !== "Empty" && meta.state !== "CompleteCommit" && meta.state !== "CompleteAbort") continue;
      if (meta.lastUpdateTimestamp + this.config.transactionalIdExpirationMs > now) continue;
      waits.push(this.writeTombstone(meta));
    }
    const done = await Promise.all(waits);
    return done.filter((d) => d).length;
  }

  private scheduleAbortCheck(): void {
    if (this.stopped) return;
    this.abortTimer = this.clock.setTimer(() => {
      this.abortTimer = null;
      void this.abortTimedOutTransactions().catch((e) => this.log.error(`aborting timed-out transactions failed: ${(e as Error).stack ?? e}`));
      this.scheduleAbortCheck();
    }, this.config.abortTimedOutIntervalMs);
  }

  private scheduleExpiry(): void {
    if (this.stopped) return;
    this.expiryTimer = this.clock.setTimer(() => {
      this.expiryTimer = null;
      void this.expireTransactionalIds().catch((e) => this.log.error(`expiring transactional ids failed: ${(e as Error).stack ?? e}`));
      this.scheduleExpiry();
    }, this.config.removeExpiredIntervalMs);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Admin

  /** DescribeTransactions for one id. */
  describe(transactionalId: string): TxnDescription {
    // As Kafka: an id it cannot describe carries the schema's default epoch (0), not NO_PRODUCER_EPOCH.
    const empty = (errorCode: number): TxnDescription => ({ errorCode, transactionalId, state: "", timeoutMs: 0, startTimestamp: -1, producerId: NO_PRODUCER_ID, producerEpoch: 0, topics: [] });
    const unavailable = this.availability(transactionalId);
    if (unavailable !== ErrorCode.NONE) return empty(unavailable);
    if (transactionalId === "") return empty(ErrorCode.INVALID_REQUEST);
    const meta = this.txns.get(transactionalId);
    if (meta === undefined || meta.state === "Dead" || meta.producerEpoch === NO_PRODUCER_EPOCH) return empty(ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
    const topics = [...meta.partitions.keys()].sort().map((topic) => ({ topic, partitions: [...meta.partitions.get(topic)!].sort((a, b) => a - b) }));
    return {
      errorCode: ErrorCode.NONE,
      transactionalId,
      state: meta.state,
      timeoutMs: meta.timeoutMs,
      startTimestamp: meta.startTimestamp,
      producerId: meta.producerId,
      producerEpoch: meta.producerEpoch,
      topics,
    };
  }

  /** ListTransactions: the ids matching every filter, and the state filters that name no state. */
  list(filters: ListTxnFilters = {}): { errorCode: number; unknownStates: string[]; transactions: ListedTxn[] } {
    if (this.stopped) return { errorCode: ErrorCode.NOT_COORDINATOR, unknownStates: [], transactions: [] };
    const known = new Set<string>(TXN_STATES);
    const states = new Set(filters.states ?? []);
    const unknownStates = [...states].filter((s) => !known.has(s));
    const pids = new Set(filters.producerIds ?? []);
    const minDuration = filters.minDurationMs ?? -1;
    const now = this.clock.nowMs();
    const transactions: ListedTxn[] = [];
    for (const meta of this.txns.values()) {
      if (meta.state === "Dead" || meta.producerEpoch === NO_PRODUCER_EPOCH) continue;
      if (states.size > 0 && !states.has(meta.state)) continue;
      if (pids.size > 0 && !pids.has(meta.producerId)) continue;
      if (minDuration >= 0 && (meta.state !== "Ongoing" || now - meta.startTimestamp < minDuration)) continue;
      if (filters.pattern && !filters.pattern.test(meta.transactionalId)) continue;
      transactions.push({ transactionalId: meta.transactionalId, producerId: meta.producerId, state: meta.state });
    }
    return { errorCode: ErrorCode.NONE, unknownStates, transactions };
  }

  // -------------------------------------------------------------------------------------------------------------
  // Persistence

  /** Writes `next` for `meta`; on durability it becomes current. Resolves to NONE or a response error code. */
  private write(meta: TxnMetadata, next: TxnRecord): Promise<number> {
    if (meta.pending !== null) throw new Error(`transactional id ${meta.transactionalId}: a second transition while ${meta.pending} is written`);
    const appended = this.append(meta.transactionalId, encodeTxnValue(next));
    if (!appended.ok) return Promise.resolve(appended.errorCode);
    meta.pending = next.state;
    return appended.durable.then((code) => {
      meta.pending = null;
      if (code === ErrorCode.NONE) this.applyRecord(meta, next);
      return code;
    });
  }

  private writeTombstone(meta: TxnMetadata): Promise<boolean> {
    const appended = this.append(meta.transactionalId, null);
    if (!appended.ok) return Promise.resolve(false);
    meta.pending = "Dead";
    return appended.durable.then((code) => {
      meta.pending = null;
      if (code !== ErrorCode.NONE) return false;
      meta.state = "Dead";
      if (this.txns.get(meta.transactionalId) === meta) this.txns.delete(meta.transactionalId);
      if (this.byProducerId.get(meta.producerId) === meta) this.byProducerId.delete(meta.producerId);
      this.log.info(`transactional id ${meta.transactionalId}: expired`);
      return true;
    });
  }

  private applyRecord(meta: TxnMetadata, r: TxnRecord): void {
    if (r.producerId !== meta.producerId) {
      if (this.byProducerId.get(meta.producerId) === meta) this.byProducerId.delete(meta.producerId);
      this.byProducerId.set(r.producerId, meta);
    }
    meta.apply(r);
  }

  private append(transactionalId: string, value: Uint8Array | null): { ok: true; durable: Promise<number> } | { ok: false; errorCode: number } {
    let partition: number;
    try {
      this.ensureStateTopic();
      partition = this.partitionFor(transactionalId);
    } catch (e) {
      this.log.warn(`${TRANSACTION_STATE_TOPIC} unavailable: ${(e as Error).message}`);
      return { ok: false, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    }
    const b = this.builder.reset();
    b.append(this.clock.nowMs(), encodeTxnKey(transactionalId), value);
    const batch = b.finish();
    let durable: Promise<void>;
    try {
      durable = this.storage.append(partition, batch);
    } catch (e) {
      this.log.error(`append to ${TRANSACTION_STATE_TOPIC}-${partition} failed: ${(e as Error).message}`);
      return { ok: false, errorCode: appendErrorCode(e) };
    }
    return {
      ok: true,
      durable: durable.then(
        () => ErrorCode.NONE as number,
        (e) => {
          this.log.error(`${TRANSACTION_STATE_TOPIC}-${partition} did not become durable: ${(e as Error).message}`);
          return appendErrorCode(e);
        },
      ),
    };
  }

  /**
   * Replays one partition into `out` (later records win, tombstones delete) and ends with the records applied;
   * pauses after each read of about `REPLAY_READ_BYTES` (see `OwnedPartitions`).
   */
  private replayPartition(partition: number, out: Map<string, TxnRecord>): Generator<void, number, void> {
    return replayInSteps(
      `${TRANSACTION_STATE_TOPIC}-${partition}`,
      (offset, maxBytes) => this.storage.read(partition, offset, maxBytes),
      (chunk, cursor) => this.replayChunk(partition, chunk, cursor, out),
    );
  }

  private replayChunk(partition: number, chunk: Uint8Array, cursor: RecordCursor, out: Map<string, TxnRecord>): number {
    const dv = dataViewOf(chunk);
    let records = 0;
    for (let at = 0; at + LOG_OVERHEAD <= chunk.length; ) {
      const size = dv.getInt32(at + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
      if (size < BATCH_HEADER_SIZE || at + size > chunk.length) throw new Error(`${TRANSACTION_STATE_TOPIC}-${partition}: bad batch size ${size} at ${at}`);
      const attributes = dv.getInt16(at + ATTRIBUTES_OFFSET);
      if ((attributes & ATTR_CONTROL) === 0) {
        if ((attributes & ATTR_COMPRESSION_MASK) !== 0) {
          this.log.warn(`${TRANSACTION_STATE_TOPIC}-${partition}: skipping a compressed batch`);
        } else {
          cursor.resetBatch(chunk, at, size);
          while (cursor.next()) {
            const key = cursor.key();
            if (key === null) continue;
            try {
              const id = decodeTxnKey(key);
              if (id === null) continue;
              const value = cursor.value();
              if (value === null) out.delete(id);
              else out.set(id, decodeTxnValue(value));
              records++;
            } catch (e) {
              this.log.warn(`${TRANSACTION_STATE_TOPIC}-${partition}: skipping an unreadable record: ${(e as Error).message}`);
            }
          }
        }
      }
      at += size;
    }
    return records;
  }
}

/** Kafka's mapping from an append failure to the error a transaction response carries. */
function appendErrorCode(e: unknown): number {
  const code = e instanceof KafkaError ? e.code : ErrorCode.KAFKA_STORAGE_ERROR;
  switch (code) {
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return ErrorCode.NOT_COORDINATOR;
    default:
      return ErrorCode.UNKNOWN_SERVER_ERROR;
  }
}
