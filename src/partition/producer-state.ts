/**
 * Idempotent-producer state of one partition: for each producer id, its epoch, last sequence and the last few
 * batches written, so that a retried batch is recognised and answered with its original offset instead of being
 * written twice (Kafka keeps the last 5, matching max.in.flight.requests.per.connection <= 5).
 *
 * Transactions: the first offset of each producer's ongoing transaction in this partition, in first-offset order,
 * which gives the last stable offset (LSO): the high watermark, or the first offset of the oldest ongoing
 * transaction if lower. A COMMIT/ABORT marker ends the producer's transaction.
 */
import { ErrorCode } from "../protocol/errors.ts";

/** How many recent batches per producer are remembered for duplicate detection. */
export const PRODUCER_BATCH_HISTORY = 5;
/** Most producer ids remembered per partition before the least recently used is dropped. */
export const MAX_PRODUCERS_PER_PARTITION = 10_000;
/** Default `producer.id.expiration.ms` (Kafka's): how long a producer's {@link ProducerStateTable.startJoining} guard lasts at most. */
export const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000;

/** What a {@link ProducerStateTable} needs: a clock and `producer.id.expiration.ms`. */
export interface ProducerStateOptions {
  /** Milliseconds on a monotonic clock (default: always 0, so nothing expires). */
  nowMs?: () => number;
  /** `producer.id.expiration.ms`: a joining guard older than this is dropped (default {@link DEFAULT_PRODUCER_ID_EXPIRATION_MS}). */
  producerIdExpirationMs?: number;
}

interface BatchMeta {
  firstSeq: number;
  lastSeq: number;
  baseOffset: bigint;
  offsetDelta: number;
  timestamp: number;
}

interface ProducerEntry {
  epoch: number;
  lastSeq: number;
  batches: BatchMeta[];
  /** Epoch of the transaction coordinator whose last marker ended a transaction of this producer (-1: none). */
  coordinatorEpoch: number;
  /** Max timestamp of its last batch, or the timestamp of its last marker if that came later (-1: none). */
  lastTimestamp: number;
}

/**
 * What a snapshot keeps of one producer: its last batch (as Kafka's producer snapshots do), or lastSequence -1 and
 * lastOffset -1 when it has none here (only markers, or none since its epoch was bumped by a marker).
 */
export interface ProducerSnapshotEntry {
  /** Producer id. */
  producerId: bigint;
  /** Producer epoch. */
  epoch: number;
  /** Sequence of the last record written. */
  lastSequence: number;
  /** Offset of the last record written. */
  lastOffset: bigint;
  /** lastOffset minus the last batch's base offset. */
  offsetDelta: number;
  /** Max timestamp of the last batch, or the last marker's timestamp if that came later. */
  timestamp: number;
  /** First offset of the producer's ongoing transaction in this partition (absent or -1 = none). */
  currentTxnFirstOffset?: bigint;
  /** Epoch of the coordinator that wrote the producer's last marker here (absent or -1 = none). */
  coordinatorEpoch?: number;
}

/** What {@link ProducerStateTable.check} decided about a batch. */
export type SequenceCheck =
  | { kind: "append" }
  | { kind: "duplicate"; baseOffset: bigint; timestamp: number }
  | { kind: "error"; code: number; message: string };

/** Per-partition idempotence state. */
export class ProducerStateTable {
  private readonly producers = new Map<bigint, ProducerEntry>();
  /** Ongoing transactions: producer id -> first offset, in first-offset order (Map insertion order). */
  private readonly ongoingTxns = new Map<bigint, bigint>();
  private lastTxnFirstOffset = -1n;
  /**
   * Producers whose first transactional batch here is waiting to join the transaction (KIP-890 verification, as
   * Kafka's VerificationStateEntry): the epoch, the lowest first sequence among those batches and when the entry
   * was made, by producer id, oldest first (Map insertion order). An entry expires after `producer.id.expiration.ms`,
   * as Kafka drops its verification state with the producer id's expiry: a batch refused for good (its partition never
   * joined, no marker comes here) does not hold the producer's later sequences back, nor its memory, for ever.
   */
  private readonly joining = new Map<bigint, { epoch: number; lowestSeq: number; sinceMs: number }>();
  private readonly nowMs: () => number;
  private expirationMs: number;
  /**
   * End offset (last offset + 1) of the latest batch with a producer id (data or marker) applied since the last
   * {@link clear}, by an append or a replay; -1 when none. A clean stop uses it to tell whether the log holds producer
   * batches that a replay from the log start would turn back into state, even when the table is empty now.
   */
  private producerBatchEndOffset = -1n;

  constructor(opts: ProducerStateOptions = {}) {
    this.nowMs = opts.nowMs ?? (() => 0);
    this.expirationMs = opts.producerIdExpirationMs ?? DEFAULT_PRODUCER_ID_EXPIRATION_MS;
    if (!(this.expirationMs >= 1)) throw new RangeError(`producer.id.expiration.ms must be at least 1, got ${this.expirationMs}`);
  }

  /**
   * A transactional batch of `pid` at `epoch` starting at `baseSeq` waits for this partition to join the
   * producer's transaction (nothing is noted when its transaction is already open here). Until a transactional
   * batch or marker of `pid` is appended here, a batch starting above the lowest such sequence is out of order: a
   * later request that joined first must not overtake an earlier one refused meanwhile (even from a producer this
   * partition does not know, whose first sequence is otherwise taken as it comes).
   */
  startJoining(pid: bigint, epoch: number, baseSeq: number): void {
    if (this.ongoingTxns.has(pid)) return;
    const now = this.nowMs();
    this.expireJoining(now);
    const j = this.joining.get(pid);
    if (j !== undefined && epoch === j.epoch) {
      if (baseSeq < j.lowestSeq) j.lowestSeq = baseSeq;
      return;
    }
    if (j !== undefined && epoch < j.epoch) return;
    if (j !== undefined) this.joining.delete(pid); // a newer epoch: a new entry, at the end (oldest-first order)
    else if (this.joining.size >= MAX_PRODUCERS_PER_PARTITION) this.joining.delete(this.joining.keys().next().value!);
    this.joining.set(pid, { epoch, lowestSeq: baseSeq, sinceMs: now });
  }

  /** Takes a new `producer.id.expiration.ms` (a dynamic broker config change); it applies to the guards already kept too. */
  setExpirationMs(ms: number): void {
    if (!(ms >= 1)) throw new RangeError(`producer.id.expiration.ms must be at least 1, got ${ms}`);
    this.expirationMs = ms;
  }

  /** Producers with a {@link startJoining} guard now (expired ones not dropped yet included). */
  get joiningCount(): number {
    return this.joining.size;
  }

  /** Drops the joining guards older than `producer.id.expiration.ms` (they are oldest first). */
  private expireJoining(now: number): void {
    for (const [pid, j] of this.joining) {
      if (now - j.sinceMs < this.expirationMs) return;
      this.joining.delete(pid);
    }
  }

  /** Decides whether a batch from `pid` with `epoch` and sequences [baseSeq, baseSeq+count) may be appended. */
  check(pid: bigint, epoch: number, baseSeq: number, count: number): SequenceCheck {
    let j = this.joining.get(pid);
    if (j !== undefined && this.nowMs() - j.sinceMs >= this.expirationMs) {
      this.joining.delete(pid);
      j = undefined;
    }
    if (j !== undefined && baseSeq > j.lowestSeq) {
      return { kind: "error", code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, message: `Out of order sequence number for producer ${pid}: its batch at sequence ${j.lowestSeq} has not joined the transaction yet, got ${baseSeq}` };
    }
    const e = this.producers.get(pid);
    if (e === undefined) return { kind: "append" };
    if (epoch < e.epoch) {
      return { kind: "error", code: ErrorCode.INVALID_PRODUCER_EPOCH, message: `Epoch ${epoch} is older than current epoch ${e.epoch} of producer ${pid}` };
    }
    if (epoch > e.epoch) {
      if (baseSeq !== 0) {
        return { kind: "error", code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, message: `New epoch ${epoch} of producer ${pid} must start at sequence 0, got ${baseSeq}` };
      }
      return { kind: "append" };
    }
    const lastSeq = incrementSequence(baseSeq, count - 1);
    for (const b of e.batches) {
      if (b.firstSeq === baseSeq && b.lastSeq === lastSeq) return { kind: "duplicate", baseOffset: b.baseOffset, timestamp: b.timestamp };
    }
    const expected = e.lastSeq === 0x7fffffff ? 0 : e.lastSeq + 1;
    if (baseSeq !== expected) {
      return { kind: "error", code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, message: `Out of order sequence number for producer ${pid}: expected ${expected}, got ${baseSeq}` };
    }
    return { kind: "append" };
  }

  /** Records an appended batch. */
  record(pid: bigint, epoch: number, baseSeq: number, count: number, baseOffset: bigint, offsetDelta = count - 1, timestamp = -1): void {
    const e = this.touch(pid, epoch);
    e.lastTimestamp = timestamp;
    const lastSeq = incrementSequence(baseSeq, count - 1);
    e.lastSeq = lastSeq;
    e.batches.push({ firstSeq: baseSeq, lastSeq, baseOffset, offsetDelta, timestamp });
    if (e.batches.length > PRODUCER_BATCH_HISTORY) e.batches.shift();
  }

  /**
   * `pid`'s entry made most recently used, a new one (keeping its coordinator epoch) when it has none or another
   * epoch; the least recently used producer not in a transaction goes when the table is full.
   */
  private touch(pid: bigint, epoch: number): ProducerEntry {
    let e = this.producers.get(pid);
    if (e === undefined || epoch !== e.epoch) {
      e = { epoch, lastSeq: -1, batches: [], coordinatorEpoch: e?.coordinatorEpoch ?? -1, lastTimestamp: e?.lastTimestamp ?? -1 };
      if (!this.producers.has(pid) && this.producers.size >= MAX_PRODUCERS_PER_PARTITION) {
        // The least recently used producer goes, unless it is in a transaction (its state is needed for the LSO).
        for (const oldest of this.producers.keys()) {
          if (this.ongoingTxns.has(oldest)) continue;
          this.producers.delete(oldest);
          break;
        }
      }
    }
    this.producers.delete(pid); // re-insert to keep Map order = recency
    this.producers.set(pid, e);
    return e;
  }

  /** `pid`'s current epoch here, or null when it has no state here. */
  epochOf(pid: bigint): number | null {
    return this.producers.get(pid)?.epoch ?? null;
  }

  /**
   * The offset of `pid`'s last record here (its last batch's last offset), -1 when only markers of its epoch came
   * here, null when it has no state here. The cleaner keeps the batch holding that offset, even emptied, as Kafka's
   * LogCleaner keeps the last batch of each active producer (its sequence and epoch must survive compaction).
   */
  lastDataOffset(pid: bigint): bigint | null {
    const e = this.producers.get(pid);
    if (e === undefined) return null;
    const last = e.batches[e.batches.length - 1];
    return last === undefined ? -1n : last.baseOffset + BigInt(last.offsetDelta);
  }

  /**
   * Every producer with state here, for a snapshot and DescribeProducers: its last batch, or none (lastSequence and
   * lastOffset -1) when only markers of its current epoch came here, as Kafka keeps such producers.
   */
  entries(): ProducerSnapshotEntry[] {
    const out: ProducerSnapshotEntry[] = [];
    for (const [producerId, e] of this.producers) {
      const last = e.batches[e.batches.length - 1];
      out.push({
        producerId,
        epoch: e.epoch,
        lastSequence: last === undefined ? -1 : last.lastSeq,
        lastOffset: last === undefined ? -1n : last.baseOffset + BigInt(last.offsetDelta),
        offsetDelta: last === undefined ? 0 : last.offsetDelta,
        timestamp: e.lastTimestamp,
        currentTxnFirstOffset: this.ongoingTxns.get(producerId) ?? -1n,
        coordinatorEpoch: e.coordinatorEpoch,
      });
    }
    return out;
  }

  /**
   * Replaces the state with snapshot entries. With `wallNowMs` (the wall clock, as record timestamps), a producer
   * with no open transaction whose last write is `producer.id.expiration.ms` or more before it is left out, as
   * Kafka's snapshot load drops expired producers (ProducerStateManager.loadFromSnapshot).
   */
  restore(entries: readonly ProducerSnapshotEntry[], wallNowMs?: number): void {
    this.clear();
    const txns: { pid: bigint; first: bigint }[] = [];
    for (const s of entries) {
      if (wallNowMs !== undefined && (s.currentTxnFirstOffset ?? -1n) < 0n && this.expiredAt(wallNowMs, s.timestamp)) continue;
      const baseOffset = s.lastOffset - BigInt(s.offsetDelta);
      const firstSeq = decrementSequence(s.lastSequence, s.offsetDelta);
      // lastOffset -1: a producer known here by its markers only
      const batches = s.lastOffset < 0n ? [] : [{ firstSeq, lastSeq: s.lastSequence, baseOffset, offsetDelta: s.offsetDelta, timestamp: s.timestamp }];
      this.producers.set(s.producerId, { epoch: s.epoch, lastSeq: s.lastOffset < 0n ? -1 : s.lastSequence, batches, coordinatorEpoch: s.coordinatorEpoch ?? -1, lastTimestamp: s.timestamp });
      const first = s.currentTxnFirstOffset ?? -1n;
      if (first >= 0n) txns.push({ pid: s.producerId, first });
    }
    txns.sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
    for (const t of txns) this.beginTxn(t.pid, t.first);
  }

  /**
   * Drops the producers expired at `wallNowMs` (the wall clock, as record timestamps): no transaction open here and a
   * last write `producer.id.expiration.ms` or more before it, as Kafka's periodic removeExpiredProducers (every
   * `producer.id.expiration.check.interval.ms`). A batch such a producer sends later is taken as a new producer's
   * (its sequence is not checked against the forgotten one). Returns how many were dropped.
   */
  removeExpired(wallNowMs: number): number {
    let dropped = 0;
    for (const [pid, e] of this.producers) {
      if (this.ongoingTxns.has(pid) || !this.expiredAt(wallNowMs, e.lastTimestamp)) continue;
      this.producers.delete(pid);
      dropped++;
    }
    this.expireJoining(this.nowMs());
    return dropped;
  }

  /** Whether a producer whose last write was at `lastTimestamp` is expired at `wallNowMs` (producer.id.expiration.ms), open transactions aside. */
  private expiredAt(wallNowMs: number, lastTimestamp: number): boolean {
    return wallNowMs - lastTimestamp >= this.expirationMs;
  }

  /** Notes that a batch with a producer id (data or marker) ending at `endOffset` (its last offset + 1) was applied. */
  noteProducerBatch(endOffset: bigint): void {
    if (endOffset > this.producerBatchEndOffset) this.producerBatchEndOffset = endOffset;
  }

  /** End offset of the latest batch with a producer id applied since the last {@link clear} (-1: none). */
  get producerBatchEnd(): bigint {
    return this.producerBatchEndOffset;
  }

  /** Forgets everything (partition truncated or deleted). */
  clear(): void {
    this.producerBatchEndOffset = -1n;
    this.producers.clear();
    this.ongoingTxns.clear();
    this.joining.clear();
    this.lastTxnFirstOffset = -1n;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Transactions

  /** Notes that `pid` wrote a transactional batch at `offset`; the first one opens its transaction here (and ends its {@link startJoining} wait). */
  beginTxn(pid: bigint, offset: bigint): void {
    this.joining.delete(pid);
    if (this.ongoingTxns.has(pid)) return;
    // Appends are in offset order, so Map insertion order stays first-offset order.
    if (offset < this.lastTxnFirstOffset) throw new Error(`transaction of producer ${pid} starts at ${offset}, before ${this.lastTxnFirstOffset}`);
    this.ongoingTxns.set(pid, offset);
    this.lastTxnFirstOffset = offset;
  }

  /**
   * A COMMIT/ABORT marker of `pid` at `epoch` was written: ends its ongoing transaction and returns that
   * transaction's first offset here (null when it wrote nothing here). A marker with a newer epoch (the coordinator
   * fenced the producer or bumped its epoch) makes that epoch current, so older batches are refused and the new
   * epoch starts at sequence 0. The marker's `coordinatorEpoch` is remembered for {@link markerProblem}, its
   * `timestamp` as the producer's last. A producer that never wrote here gets an entry all the same (Kafka's
   * ProducerStateEntry.update): DescribeProducers lists it, and its later batches start at sequence 0.
   */
  completeTxn(pid: bigint, epoch: number, coordinatorEpoch = -1, timestamp = -1): bigint | null {
    this.joining.delete(pid); // the transaction is over: what waited to join it is refused or retried in the next
    const first = this.ongoingTxns.get(pid);
    this.ongoingTxns.delete(pid);
    const known = this.producers.get(pid);
    // an older marker epoch than the producer's (a zombie coordinator's) leaves the epoch as it is
    const e = this.touch(pid, known !== undefined && epoch < known.epoch ? known.epoch : epoch);
    if (coordinatorEpoch > e.coordinatorEpoch) e.coordinatorEpoch = coordinatorEpoch;
    e.lastTimestamp = timestamp;
    return first ?? null;
  }

  /**
   * Whether a marker for `pid` from a coordinator at `coordinatorEpoch` may be written: TRANSACTION_COORDINATOR_FENCED
   * when a newer coordinator already wrote one here (a stale coordinator still finishing transactions), else NONE.
   */
  markerProblem(pid: bigint, coordinatorEpoch: number): number {
    const e = this.producers.get(pid);
    return e !== undefined && coordinatorEpoch < e.coordinatorEpoch ? ErrorCode.TRANSACTION_COORDINATOR_FENCED : ErrorCode.NONE;
  }

  /** First offset of `pid`'s ongoing transaction here, or null. */
  ongoingTxnFirstOffset(pid: bigint): bigint | null {
    return this.ongoingTxns.get(pid) ?? null;
  }

  /** First offset of the oldest ongoing transaction, or null when none is open. */
  firstUnstableOffset(): bigint | null {
    for (const first of this.ongoingTxns.values()) return first;
    return null;
  }

  /** Number of ongoing transactions. */
  get ongoingTxnCount(): number {
    return this.ongoingTxns.size;
  }
}

/** The largest sequence number; the one after it is 0. */
const SEQUENCE_MAX = 0x7fffffff;

/**
 * `seq` plus `by` (0 <= by), wrapping from {@link SEQUENCE_MAX} to 0 as Kafka's DefaultRecordBatch.incrementSequence
 * does: a batch's last sequence is its base sequence plus its lastOffsetDelta, also across the wrap.
 */
export function incrementSequence(seq: number, by: number): number {
  return seq > SEQUENCE_MAX - by ? by - (SEQUENCE_MAX - seq) - 1 : seq + by;
}

/** `seq` minus `by` (0 <= by), wrapping below 0 to {@link SEQUENCE_MAX} (Kafka's DefaultRecordBatch.decrementSequence). */
export function decrementSequence(seq: number, by: number): number {
  return seq < by ? SEQUENCE_MAX - (by - seq) + 1 : seq - by;
}
