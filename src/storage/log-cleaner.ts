/**
 * Log compaction for topics whose `cleanup.policy` includes `compact` (`__consumer_offsets` among them), after
 * Kafka's LogCleaner:
 *
 * - The **cleanable section** runs from the cleaner checkpoint (`cleaner-offset-checkpoint`, the offset below which
 *   the log was already compacted) to the **first uncleanable offset**: the smallest of the active segment's base
 *   offset, the high watermark, and the base offset of the first segment holding a record newer than
 *   `min.compaction.lag.ms`. Only sealed segments are ever rewritten.
 * - A pass first builds a {@link KeyOffsetMap} (key digest -> latest offset) over that dirty section, bounded by
 *   `log.cleaner.dedupe.buffer.size`; when the map fills, the pass cleans only up to where it stopped and the next
 *   pass goes on from there. Then it rewrites the segments from the log start to that offset, group by group:
 *   consecutive segments whose sizes sum to at most `segment.bytes` become one cleaned segment (Kafka's grouping),
 *   keeping what {@link BatchFilter} keeps. Each group is written as `.cleaned` files, made durable, and swapped in
 *   crash-safely (cleaner-swap.ts); then the checkpoint moves.
 * - Batches keep their offsets. An emptied batch is dropped unless it is the last batch of a group (the swap's
 *   offset range depends on it) or carries producer state: as Kafka, the batch holding the last record of a
 *   producer the partition's producer state has; over a log without producer state, the last batch of a producer
 *   seen in the dirty section, or a batch of a producer not seen there that is younger than the producer-state
 *   retention.
 * - Work is cut into steps of at most {@link CLEANER_STEP_BYTES} read, so the single-threaded broker is never held
 *   for long; {@link LogCleaner} runs one pass at a time on the clock's timers (`log.cleaner.backoff.ms` between
 *   looks when nothing is dirty enough), choosing the log with the highest dirty ratio above
 *   `min.cleanable.dirty.ratio` (strictly, as Kafka's LogCleanerManager), or whose oldest dirty record is older
 *   than `max.compaction.lag.ms`.
 * - Transactions, as Kafka's cleaner (CleanedTransactionMetadata), when the log's transaction state is known
 *   ({@link CleanerTarget.transactions}): the cleanable section ends at the last stable offset; both phases walk the
 *   aborted transactions of the aborted-transaction index alongside the batches (cleaner-txn-state.ts); records of
 *   aborted transactions are not mapped and are removed; committed transactional records are compacted like any
 *   other; a COMMIT/ABORT marker stays while a batch of its transaction is left, then gets a delete horizon (now +
 *   `delete.retention.ms`, KIP-534's attribute bit) and goes in a pass after that horizon; each cleaned segment gets
 *   a `.txnindex` with the aborted transactions whose markers it keeps and whose batches were still there, swapped
 *   in with it. Without that state (a bare log), transactional and control batches are kept whole and never shadow
 *   other records.
 */
import {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_DELETE_HORIZON,
  ATTR_TRANSACTIONAL,
  BASE_OFFSET_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_HEADER_SIZE,
  batchCrcValid,
  MAX_TIMESTAMP_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORDS_COUNT_OFFSET,
} from "../protocol/batch-layout.ts";
import type { RandomSource } from "../platform/random.ts";
import { readTxnMarker } from "../protocol/control-record.ts";
import { RecordCursor } from "../protocol/record-batch.ts";
import { MalformedFrameError } from "../protocol/wire.ts";
import { BatchFileReader } from "./cleaner-batch-reader.ts";
import { BatchFilter, CorruptBatchError, FILTER_DROP, FILTER_KEEP, FILTER_REBUILT } from "./cleaner-batch-filter.ts";
import { KeyOffsetMap } from "./cleaner-offset-map.ts";
import { type CleanerAbortedTxn, CleanerTxnState } from "./cleaner-txn-state.ts";
import { CLEANER_WRITE_CHUNK_BYTES, CleanedSegmentWriter, txnIndexPathOf } from "./cleaner-segment-writer.ts";
import type { LogConfig } from "./log-config.ts";
import { MAX_RELATIVE_OFFSET } from "./offset-index.ts";
import type { PartitionLog } from "./partition-log.ts";
import { MAX_SEGMENT_POSITION, type Segment, type SegmentContext } from "./segment.ts";
import type { StorageDeps } from "./storage-deps.ts";

/** Kafka's default `log.cleaner.backoff.ms`: the pause between looks for dirty logs when none is due. */
export const DEFAULT_CLEANER_BACKOFF_MS = 15_000;
/** Bytes of segment data one step reads before it yields to the event loop. */
export const CLEANER_STEP_BYTES = 2 * 1024 * 1024;
/** How long an emptied batch of a producer not seen in the dirty section is kept for its producer state (Kafka's `producer.id.expiration.ms` default). */
export const DEFAULT_PRODUCER_STATE_RETENTION_MS = 86_400_000;
/** Most producers a pass tracks; past that every emptied batch of an untracked producer is kept. */
export const MAX_TRACKED_PRODUCERS = 65_536;

/** Where a log's cleanable section lies and how dirty it is. */
export interface CleanableSection {
  /** The cleaner checkpoint (at least the log start offset): everything below was compacted. */
  firstDirtyOffset: bigint;
  /** End of what may be cleaned now (exclusive). */
  firstUncleanableOffset: bigint;
  /** Bytes of segments wholly below the dirty section. */
  cleanBytes: number;
  /** Bytes of sealed segments from the one holding the first dirty offset up to the first uncleanable offset. */
  dirtyBytes: number;
  /** dirtyBytes / (cleanBytes + dirtyBytes). */
  dirtyRatio: number;
  /** Whether the oldest dirty record is older than `max.compaction.lag.ms`. */
  overdue: boolean;
}

/** Tuning of one pass. */
export interface CompactionOptions {
  /** Segment bytes read per {@link CompactionPass.step} (default {@link CLEANER_STEP_BYTES}). */
  stepBytes?: number;
  /** See {@link DEFAULT_PRODUCER_STATE_RETENTION_MS}. */
  producerStateRetentionMs?: number;
}

/** What a pass did. */
export interface CompactionResult {
  /** Start of the dirty section the pass mapped. */
  firstDirtyOffset: bigint;
  /** The cleaner checkpoint after the pass (offsets below are compacted); unchanged if the pass was abandoned. */
  cleanedUpTo: bigint;
  /** Why the pass stopped before the end (the log changed under it), or null. */
  abandoned: string | null;
  /** Distinct keys in the offset map. */
  keys: number;
  /** Segments replaced. */
  segmentsBefore: number;
  /** Segments written in their place. */
  segmentsAfter: number;
  /** Bytes of the replaced segments. */
  bytesBefore: number;
  /** Bytes of the segments written. */
  bytesAfter: number;
  /** Records removed (superseded, keyless, or expired tombstones). */
  recordsRemoved: number;
  /** Tombstones removed because their delete horizon had passed. */
  tombstonesRemoved: number;
  /** Batches removed whole. */
  batchesRemoved: number;
}

/** The transaction state of a log, as the cleaner needs it (the partition above the log provides it). */
export interface CleanerTransactions {
  /** The last stable offset: nothing at or past it is cleaned (an open transaction may still abort). */
  lastStableOffset(): bigint;
  /**
   * The aborted transactions whose markers lie at or after `from` and whose first offsets lie below `upper`, in
   * marker order (Kafka's UnifiedLog.collectAbortedTransactions).
   */
  abortedTransactions(from: bigint, upper: bigint): CleanerAbortedTxn[];
  /**
   * A cleaned segment covering [from, to) was swapped in with `kept` (a subset of the aborted transactions whose
   * markers lie there) as its `.txnindex`: the others of that range are forgotten.
   */
  cleanedAborted(from: bigint, to: bigint, kept: readonly CleanerAbortedTxn[]): void;
  /** A producer's current epoch, or null when it has no state here. */
  producerEpoch(producerId: bigint): number | null;
}

/** What a pass needs of a PartitionLog; the log builds it over its private state. */
export interface CleanerTarget {
  /** `<topic>-<partition>`. */
  readonly name: string;
  /** The partition directory. */
  readonly dir: string;
  /** Shared segment settings (index sizes). */
  readonly ctx: SegmentContext;
  /** File system, clock, logger, codecs. */
  readonly deps: StorageDeps;
  /** The config in force. */
  config(): LogConfig;
  /** The live segment list, oldest first; the last is the active one. */
  segments(): readonly Segment[];
  /** First offset still in the log. */
  logStartOffset(): bigint;
  /** The high watermark. */
  highWatermark(): bigint;
  /** The cleaner checkpoint (clamped to the log start offset). */
  cleanerCheckpoint(): bigint;
  /** Counts truncations; a pass that saw another count is void (its map may name offsets that are gone). */
  truncations(): number;
  /** Open and online. */
  usable(): boolean;
  /**
   * The offset of an active producer's last record (-1: only markers; null: not an active producer), or undefined
   * when the log does not know its producers (then {@link DEFAULT_PRODUCER_STATE_RETENTION_MS} and the dirty
   * section stand in).
   */
  producerLastDataOffset(producerId: bigint): bigint | null | undefined;
  /** The log's transaction state, or null when no partition keeps it (then transactional and control batches stay whole). */
  transactions(): CleanerTransactions | null;
  /** Swaps the durable cleaned segment at `baseOffset` in for `old` (consecutive sealed segments) on disk and in memory. */
  installCleaned(old: readonly Segment[], baseOffset: bigint): void;
  /** Records a finished pass: the checkpoint moves to `cleanedUpTo`. */
  completePass(cleanedUpTo: bigint): void;
  /** The pass is over (done, abandoned or failed): another may start. */
  endPass(): void;
}

/** Buffers a cleaner reuses from pass to pass. */
export interface CleanerWorkspace {
  /** The offset map (`log.cleaner.dedupe.buffer.size`). */
  map: KeyOffsetMap;
  /** Segment reader. */
  reader: BatchFileReader;
  /** Write-gathering buffer for cleaned segments. */
  gather: Uint8Array;
}

/** A workspace whose map may grow to `dedupeBufferBytes`. */
export function newCleanerWorkspace(dedupeBufferBytes?: number, random?: RandomSource): CleanerWorkspace {
  return { map: new KeyOffsetMap(dedupeBufferBytes, random), reader: new BatchFileReader(), gather: new Uint8Array(CLEANER_WRITE_CHUNK_BYTES) };
}

/** Index of the segment holding `offset` (the last with base <= it; 0 if none). */
function segmentIndexFor(segs: readonly Segment[], offset: bigint): number {
  let lo = 0;
  let hi = segs.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (segs[mid].baseOffset <= offset) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/** Newest time of a segment: its largest timestamp, or its last append time when no batch has one. */
function segmentTime(seg: Segment): number {
  const ts = seg.largestTimestamp();
  return ts >= 0 ? ts : seg.lastAppendMs;
}

/** The cleanable section of a log at `nowMs`, or null when nothing may be cleaned. */
export function findCleanableSection(t: CleanerTarget, nowMs: number): CleanableSection | null {
  const segs = t.segments();
  if (segs.length < 2) return null;
  const cfg = t.config();
  const active = segs[segs.length - 1];
  const firstDirty = t.cleanerCheckpoint();
  let firstUncleanable = active.baseOffset;
  const hw = t.highWatermark();
  if (hw < firstUncleanable) firstUncleanable = hw;
  const lso = t.transactions()?.lastStableOffset();
  if (lso !== undefined && lso < firstUncleanable) firstUncleanable = lso;
  const dirtyIdx = segmentIndexFor(segs, firstDirty);
  if (cfg.minCompactionLagMs > 0) {
    for (let i = dirtyIdx; i < segs.length - 1 && segs[i].baseOffset < firstUncleanable; i++) {
      if (nowMs - segmentTime(segs[i]) < cfg.minCompactionLagMs) {
        if (segs[i].baseOffset < firstUncleanable) firstUncleanable = segs[i].baseOffset;
        break;
      }
    }
  }
  if (firstDirty >= firstUncleanable) return null;
  let cleanBytes = 0;
  for (let i = segmentIndexFor(segs, t.logStartOffset()); i < dirtyIdx; i++) cleanBytes += segs[i].size;
  let dirtyBytes = 0;
  for (let i = dirtyIdx; i < segs.length - 1 && segs[i].baseOffset < firstUncleanable; i++) dirtyBytes += segs[i].size;
  if (dirtyBytes === 0) return null;
  let overdue = false;
  if (Number.isFinite(cfg.maxCompactionLagMs)) {
    const first = segs[dirtyIdx].firstBatchTimestamp();
    const oldest = first >= 0 ? first : segs[dirtyIdx].lastAppendMs;
    overdue = nowMs - oldest > cfg.maxCompactionLagMs;
  }
  return { firstDirtyOffset: firstDirty, firstUncleanableOffset: firstUncleanable, cleanBytes, dirtyBytes, dirtyRatio: dirtyBytes / (cleanBytes + dirtyBytes), overdue };
}

/** Marks a pass given up because the log changed under it (not an error). */
class PassAbandoned extends Error {}

/**
 * One compaction pass over a log, run in bounded steps: map the dirty section, then rewrite and swap one segment
 * group after another. Start it with `PartitionLog.beginCompaction`; call {@link step} until it returns true.
 */
export class CompactionPass {
  /** What the pass did (complete once {@link step} returned true). */
  readonly result: CompactionResult;
  /** Segment bytes read so far (map and rewrite phases), for `log.cleaner.io.max.bytes.per.second`. */
  bytesRead = 0;
  private readonly t: CleanerTarget;
  private readonly ws: CleanerWorkspace;
  private readonly section: CleanableSection;
  private readonly nowMs: number;
  private readonly stepBytes: number;
  private readonly producerStateRetentionMs: number;
  private readonly truncationsAtStart: number;
  private readonly filter: BatchFilter;
  private readonly cursor = new RecordCursor();
  /** Sealed segments from the one holding the log start offset to the last below the first uncleanable offset. */
  private readonly plan: Segment[];
  /** Base offset of the segment after the plan's last (a bound on offsets of the last group). */
  private readonly planNextBase: bigint;
  private phase: "map" | "rewrite" | "done" = "map";
  private mapIdx: number;
  private readerOpen = false;
  private cleanUpTo = -1n;
  private groups: Segment[][] = [];
  private groupIdx = 0;
  private segInGroup = 0;
  private writer: CleanedSegmentWriter | null = null;
  private readonly producers = new Map<bigint, bigint>();
  private producersOverflowed = false;
  private readonly lastDroppedHeader = new Uint8Array(BATCH_HEADER_SIZE);
  private lastDropped = false;
  /** The log's transaction state (null: transactional and control batches stay whole). */
  private readonly txns: CleanerTransactions | null;
  /** Transactions as the map phase walks them. */
  private readonly mapTxns = new CleanerTxnState();
  /** Transactions as the rewrite phase walks them (from the log start). */
  private readonly rewriteTxns = new CleanerTxnState();
  /** Whether any segment of the group being written had a `.txnindex` (then the cleaned one gets one, maybe empty). */
  private groupHadTxnIndex = false;

  /** Plans a pass over `section` (from {@link findCleanableSection}); the log calls this. */
  constructor(target: CleanerTarget, ws: CleanerWorkspace, section: CleanableSection, nowMs: number, opts: CompactionOptions = {}) {
    this.t = target;
    this.ws = ws;
    this.section = section;
    this.nowMs = nowMs;
    this.stepBytes = Math.max(BATCH_HEADER_SIZE, opts.stepBytes ?? CLEANER_STEP_BYTES);
    this.producerStateRetentionMs = opts.producerStateRetentionMs ?? DEFAULT_PRODUCER_STATE_RETENTION_MS;
    this.truncationsAtStart = target.truncations();
    this.filter = new BatchFilter(ws.map, target.deps.decompress, target.deps.compress);
    this.txns = target.transactions();
    this.filter.configure(nowMs, target.config().deleteRetentionMs, this.txns !== null);
    const segs = target.segments();
    const from = segmentIndexFor(segs, target.logStartOffset());
    let to = from;
    while (to < segs.length - 1 && segs[to].baseOffset < section.firstUncleanableOffset) to++;
    this.plan = segs.slice(from, to);
    this.planNextBase = segs[to].baseOffset;
    if (this.plan.length === 0) throw new Error(`${target.name}: compaction planned over no segment`);
    this.mapIdx = segmentIndexFor(this.plan, section.firstDirtyOffset);
    if (this.txns !== null) this.mapTxns.addAborted(this.txns.abortedTransactions(section.firstDirtyOffset, section.firstUncleanableOffset));
    ws.map.reset(Number(section.firstUncleanableOffset - section.firstDirtyOffset));
    this.result = {
      firstDirtyOffset: section.firstDirtyOffset,
      cleanedUpTo: section.firstDirtyOffset,
      abandoned: null,
      keys: 0,
      segmentsBefore: 0,
      segmentsAfter: 0,
      bytesBefore: 0,
      bytesAfter: 0,
      recordsRemoved: 0,
      tombstonesRemoved: 0,
      batchesRemoved: 0,
    };
  }

  /** Whether the pass is over. */
  get done(): boolean {
    return this.phase === "done";
  }

  /**
   * Does at most {@link CompactionOptions.stepBytes} of reading (and at most one swap); true when the pass is over.
   * Throws on corrupt data or I/O failure (the pass is then over too, its `.cleaned` files removed).
   */
  async step(): Promise<boolean> {
    if (this.phase === "done") return true;
    try {
      this.checkLog();
      if (this.phase === "map") {
        const rebuilding = this.indexOfNextMappedSegment();
        if (rebuilding !== null) {
          await rebuilding;
          this.checkLog();
        }
        this.mapStep();
      } else await this.rewriteStep();
    } catch (e) {
      this.release();
      if (e instanceof PassAbandoned) {
        this.result.abandoned = e.message;
        this.t.deps.logger.info(`${this.t.name}: compaction pass abandoned: ${e.message}`);
        return true;
      }
      throw e;
    }
    return this.done;
  }

  /** Stops the pass now, removing its unfinished files. */
  abort(reason: string): void {
    if (this.phase === "done") return;
    this.result.abandoned = reason;
    this.release();
    this.t.deps.logger.info(`${this.t.name}: compaction pass abandoned: ${reason}`);
  }

  // ---- map phase ----

  /**
   * The stepwise index rebuild the next map step would otherwise do at once: mapping starts inside the segment
   * holding the first dirty offset, found through its offset index, which may be missing or corrupt. Null if none.
   */
  private indexOfNextMappedSegment(): Promise<void> | null {
    if (this.readerOpen || this.mapIdx >= this.plan.length) return null;
    const seg = this.plan[this.mapIdx];
    return seg.baseOffset < this.section.firstDirtyOffset ? seg.prepareIndexes() : null;
  }

  private mapStep(): void {
    const reader = this.ws.reader;
    const map = this.ws.map;
    const firstDirty = this.section.firstDirtyOffset;
    const end = this.section.firstUncleanableOffset;
    let budget = this.stepBytes;
    while (budget > 0) {
      if (!this.readerOpen) {
        if (this.mapIdx >= this.plan.length) return this.finishMap(end);
        const seg = this.plan[this.mapIdx];
        this.checkPresent([seg]);
        const from = seg.baseOffset < firstDirty ? seg.offsetIndex().lookup(firstDirty) : 0;
        reader.open(this.t.deps.fs, seg.logPath, seg.size, from);
        this.readerOpen = true;
      }
      if (!reader.next()) {
        reader.close();
        this.readerOpen = false;
        this.mapIdx++;
        continue;
      }
      budget -= reader.size;
      this.bytesRead += reader.size;
      if (reader.lastOffset >= end) return this.finishMap(reader.baseOffset < end ? reader.baseOffset : end);
      const dv = reader.dv;
      const at = reader.at;
      const producerId = dv.getBigInt64(at + PRODUCER_ID_OFFSET);
      const attributes = reader.attributes;
      // Kafka's buildOffsetMapForSegment walks transactions from where the index lookup put it, mapping from firstDirty
      const aborted = this.txns !== null && this.walkTxn(this.mapTxns, attributes, producerId);
      if (reader.lastOffset < firstDirty) continue;
      if (producerId >= 0n) this.noteProducer(producerId, reader.baseOffset);
      if (aborted) continue;
      if ((attributes & ATTR_CONTROL) !== 0 || ((attributes & ATTR_TRANSACTIONAL) !== 0 && this.txns === null)) continue;
      const codec = attributes & ATTR_COMPRESSION_MASK;
      if (codec !== 0 && this.t.deps.decompress === undefined) continue;
      const count = dv.getInt32(at + RECORDS_COUNT_OFFSET);
      if (map.size > 0 && map.size + count > map.maxEntries) return this.finishMap(reader.baseOffset);
      this.mapBatch(reader.buf, at, reader.size, codec, count);
    }
  }

  /** Puts every keyed record of a data batch into the map. */
  private mapBatch(buf: Uint8Array, at: number, size: number, codec: number, count: number): void {
    const dv = this.ws.reader.dv;
    const baseOffset = Number(dv.getBigInt64(at + BASE_OFFSET_OFFSET));
    if (!batchCrcValid(buf, dv, at, size)) throw new CorruptBatchError(`${this.t.name}: bad CRC in batch at offset ${baseOffset}`);
    let src = buf;
    let start = at + BATCH_HEADER_SIZE;
    let end = at + size;
    if (codec !== 0) {
      try {
        src = this.t.deps.decompress!(codec, buf.subarray(start, end));
      } catch (e) {
        throw new CorruptBatchError(`${this.t.name}: cannot decompress batch at offset ${baseOffset}: ${(e as Error).message}`);
      }
      start = 0;
      end = src.length;
    }
    const map = this.ws.map;
    const cursor = this.cursor;
    try {
      cursor.resetRange(src, start, end, count, Number(dv.getBigInt64(at + BASE_TIMESTAMP_OFFSET)), 0);
      while (cursor.next()) {
        if (cursor.keyLength < 0) continue;
        map.hashKey(src, cursor.keyStart, cursor.keyLength);
        if (!map.put(baseOffset + cursor.offsetDelta)) throw new Error(`${this.t.name}: offset map full (${map.size} keys)`);
      }
    } catch (e) {
      if (!(e instanceof MalformedFrameError)) throw e;
      throw new CorruptBatchError(`${this.t.name}: malformed records in batch at offset ${baseOffset}: ${e.message}`);
    } finally {
      cursor.release();
    }
  }

  /**
   * Feeds the reader's current batch to `state`; for a data batch, returns whether it belongs to an aborted
   * transaction, for a control batch whether its marker may go (once its delete horizon has passed).
   */
  private walkTxn(state: CleanerTxnState, attributes: number, producerId: bigint): boolean {
    const reader = this.ws.reader;
    if ((attributes & ATTR_CONTROL) === 0) return state.onDataBatch(producerId, (attributes & ATTR_TRANSACTIONAL) !== 0, reader.lastOffset);
    let type = -1;
    if (reader.dv.getInt32(reader.at + RECORDS_COUNT_OFFSET) > 0) {
      try {
        type = readTxnMarker(reader.buf, reader.at, reader.size)?.type ?? Number.MAX_SAFE_INTEGER; // another control type: kept
      } catch (e) {
        if (!(e instanceof MalformedFrameError)) throw e;
        throw new CorruptBatchError(`${this.t.name}: malformed control batch at offset ${reader.baseOffset}: ${e.message}`);
      }
    }
    return state.onControlBatch(producerId, type, reader.lastOffset);
  }

  private noteProducer(producerId: bigint, baseOffset: bigint): void {
    if (!this.producers.has(producerId) && this.producers.size >= MAX_TRACKED_PRODUCERS) {
      this.producersOverflowed = true;
      return;
    }
    this.producers.set(producerId, baseOffset);
  }

  /** Ends the map phase: the pass cleans below `cleanUpTo`; groups the segments to rewrite. */
  private finishMap(cleanUpTo: bigint): void {
    this.ws.reader.close();
    this.readerOpen = false;
    if (cleanUpTo <= this.section.firstDirtyOffset) throw new Error(`${this.t.name}: the first dirty batch does not fit log.cleaner.dedupe.buffer.size`);
    this.cleanUpTo = cleanUpTo;
    this.result.keys = this.ws.map.size;
    const maxBytes = Math.min(this.t.config().segmentBytes, MAX_SEGMENT_POSITION);
    const segs = this.plan.filter((s) => s.baseOffset < cleanUpTo);
    const nextBase = (k: number): bigint => (k + 1 < this.plan.length ? this.plan[k + 1].baseOffset : this.planNextBase);
    for (let i = 0; i < segs.length; ) {
      const group = [segs[i]];
      let bytes = segs[i].size;
      let j = i + 1;
      while (j < segs.length && bytes + segs[j].size <= maxBytes && nextBase(j) - segs[i].baseOffset <= BigInt(MAX_RELATIVE_OFFSET)) {
        group.push(segs[j]);
        bytes += segs[j].size;
        j++;
      }
      this.groups.push(group);
      i = j;
    }
    this.phase = "rewrite";
  }

  // ---- rewrite phase ----

  private async rewriteStep(): Promise<void> {
    const reader = this.ws.reader;
    let budget = this.stepBytes;
    for (;;) {
      if (this.writer === null) {
        if (this.groupIdx >= this.groups.length) return this.finishPass();
        const group = this.groups[this.groupIdx];
        this.checkPresent(group);
        this.writer = new CleanedSegmentWriter(this.t.deps.fs, this.t.dir, group[0].baseOffset, this.t.ctx, this.ws.gather);
        this.segInGroup = 0;
        this.lastDropped = false;
        this.groupHadTxnIndex = false;
        this.openForRewrite(group[0]);
      }
      if (budget <= 0) return;
      if (!reader.next()) {
        reader.close();
        this.readerOpen = false;
        const group = this.groups[this.groupIdx];
        this.segInGroup++;
        if (this.segInGroup < group.length) {
          this.openForRewrite(group[this.segInGroup]);
          continue;
        }
        await this.finishGroup(group);
        return;
      }
      budget -= reader.size;
      this.bytesRead += reader.size;
      this.rewriteBatch();
    }
  }

  /** Starts reading `seg` for the rewrite; feeds the aborted transactions of its offset range first (as Kafka's cleanSegments). */
  private openForRewrite(seg: Segment): void {
    if (this.txns !== null) {
      const k = this.plan.indexOf(seg);
      const upper = k + 1 < this.plan.length ? this.plan[k + 1].baseOffset : this.planNextBase;
      this.rewriteTxns.addAborted(this.txns.abortedTransactions(seg.baseOffset, upper));
      if (this.t.deps.fs.exists(txnIndexPathOf(seg.logPath))) this.groupHadTxnIndex = true;
    }
    this.ws.reader.open(this.t.deps.fs, seg.logPath, seg.size, 0);
    this.readerOpen = true;
  }

  /** Writes what survives of the reader's current batch. */
  private rewriteBatch(): void {
    const reader = this.ws.reader;
    const writer = this.writer!;
    const buf = reader.buf;
    const at = reader.at;
    const attributes = reader.attributes;
    const producerId = reader.dv.getBigInt64(at + PRODUCER_ID_OFFSET);
    // every batch of the walk counts for the transactions, those past the cleaned section too (a marker there keeps
    // its index entry while batches of its transaction are left)
    const discardable = this.txns !== null && this.walkTxn(this.rewriteTxns, attributes, producerId);
    if (reader.lastOffset >= this.cleanUpTo) {
      writer.append(reader.batch());
      this.lastDropped = false;
      return;
    }
    if (this.txns !== null && ((attributes & ATTR_CONTROL) !== 0 || discardable)) return this.rewriteTxnBatch(attributes, discardable);
    const verdict = this.filter.filter(buf, at, reader.size);
    this.result.recordsRemoved += this.filter.recordsRemoved;
    this.result.tombstonesRemoved += this.filter.tombstonesRemoved;
    if (verdict === FILTER_KEEP) {
      writer.append(reader.batch());
      this.lastDropped = false;
    } else if (verdict === FILTER_REBUILT) {
      writer.append(this.filter.output);
      this.lastDropped = false;
    } else if (verdict === FILTER_DROP) {
      if (this.keepsProducerState(at, reader.baseOffset, reader.lastOffset)) {
        writer.append(this.filter.emptyBatch(buf, at));
        this.lastDropped = false;
      } else {
        this.lastDroppedHeader.set(buf.subarray(at, at + BATCH_HEADER_SIZE));
        this.lastDropped = true;
        this.result.batchesRemoved++;
      }
    }
  }

  /**
   * Writes what stays of the reader's current batch when it is a control batch or aborted data (Kafka's
   * checkBatchRetention): aborted data loses every record; a marker whose transaction left no batch gets a delete
   * horizon, and goes once that has passed; either stays as an empty batch when it holds its producer's last state.
   */
  private rewriteTxnBatch(attributes: number, discardable: boolean): void {
    const reader = this.ws.reader;
    const buf = reader.buf;
    const at = reader.at;
    const count = reader.dv.getInt32(at + RECORDS_COUNT_OFFSET);
    const control = (attributes & ATTR_CONTROL) !== 0;
    let discardRecords = discardable;
    if (control) {
      const horizon = (attributes & ATTR_DELETE_HORIZON) !== 0 ? Number(reader.dv.getBigInt64(at + BASE_TIMESTAMP_OFFSET)) : null;
      discardRecords = count === 0 || (discardable && horizon !== null && horizon <= this.nowMs);
      if (!discardRecords) {
        const verdict = discardable ? this.filter.markForDeletion(buf, at, reader.size) : FILTER_KEEP;
        this.writer!.append(verdict === FILTER_REBUILT ? this.filter.output : reader.batch());
        this.lastDropped = false;
        return;
      }
    }
    this.result.recordsRemoved += count;
    if (this.keepsProducerState(at, reader.baseOffset, reader.lastOffset, control)) {
      this.writer!.append(count === 0 ? reader.batch() : this.filter.emptyBatch(buf, at));
      this.lastDropped = false;
    } else {
      this.lastDroppedHeader.set(buf.subarray(at, at + BATCH_HEADER_SIZE));
      this.lastDropped = true;
      this.result.batchesRemoved++;
    }
  }

  /**
   * Whether the emptied batch at `at` of the reader's buffer must stay (as an empty batch) for its producer's state:
   * as Kafka's LogCleaner, when it holds the last record of a producer the log's producer state still has (its
   * sequence and epoch must survive). A log without producer state estimates: the producer's last batch in the
   * dirty section, or any batch of a producer not seen there that is younger than the producer-state retention.
   */
  private keepsProducerState(at: number, baseOffset: bigint, lastOffset: bigint, control = false): boolean {
    const dv = this.ws.reader.dv;
    const producerId = dv.getBigInt64(at + PRODUCER_ID_OFFSET);
    if (producerId < 0n) return false;
    const live = this.t.producerLastDataOffset(producerId);
    // Kafka: the batch holding the producer's last record, or, when it has only markers, a marker of its epoch
    if (live !== undefined) return live === lastOffset || (control && live === -1n && this.txns?.producerEpoch(producerId) === dv.getInt16(at + PRODUCER_EPOCH_OFFSET));
    const last = this.producers.get(producerId);
    if (last !== undefined) return last === baseOffset;
    if (this.producersOverflowed) return true;
    return Number(dv.getBigInt64(at + MAX_TIMESTAMP_OFFSET)) >= this.nowMs - this.producerStateRetentionMs;
  }

  /** Closes the group's cleaned segment (keeping its last batch), makes it durable and swaps it in. */
  private async finishGroup(group: Segment[]): Promise<void> {
    const writer = this.writer!;
    if (this.lastDropped) {
      writer.append(this.filter.emptyBatch(this.lastDroppedHeader, 0, false));
      this.result.batchesRemoved--;
      this.lastDropped = false;
    }
    const kept = this.txns !== null ? this.rewriteTxns.takeKept() : [];
    await writer.finish(this.txns !== null && (kept.length > 0 || this.groupHadTxnIndex) ? kept : null);
    this.checkLog();
    this.checkPresent(group);
    this.t.installCleaned(group, writer.baseOffset);
    if (this.txns !== null) {
      const k = this.plan.indexOf(group[group.length - 1]);
      this.txns.cleanedAborted(writer.baseOffset, k + 1 < this.plan.length ? this.plan[k + 1].baseOffset : this.planNextBase, kept);
    }
    this.writer = null;
    this.result.segmentsBefore += group.length;
    this.result.segmentsAfter++;
    for (const s of group) this.result.bytesBefore += s.size;
    this.result.bytesAfter += writer.size;
    this.groupIdx++;
  }

  private finishPass(): void {
    this.t.completePass(this.cleanUpTo);
    this.result.cleanedUpTo = this.cleanUpTo;
    this.phase = "done";
    this.t.endPass();
    const r = this.result;
    this.t.deps.logger.info(
      `${this.t.name}: compacted offsets below ${r.cleanedUpTo} (dirty from ${r.firstDirtyOffset}, ${r.keys} keys): ` +
        `${r.segmentsBefore} segment(s) of ${r.bytesBefore} bytes -> ${r.segmentsAfter} of ${r.bytesAfter} bytes, ` +
        `${r.recordsRemoved} record(s) removed (${r.tombstonesRemoved} tombstones), ${r.batchesRemoved} batch(es) removed`,
    );
  }

  // ---- checks and cleanup ----

  /** Abandons the pass if the log closed, went offline or was truncated since it started. */
  private checkLog(): void {
    if (!this.t.usable()) throw new PassAbandoned("the log is closed or offline");
    if (this.t.truncations() !== this.truncationsAtStart) throw new PassAbandoned("the log was truncated");
  }

  /** Abandons the pass unless `segs` are still consecutive sealed segments of the log. */
  private checkPresent(segs: readonly Segment[]): void {
    const live = this.t.segments();
    const i = live.indexOf(segs[0]);
    if (i < 0 || i + segs.length >= live.length) throw new PassAbandoned("segments were deleted (retention or DeleteRecords)");
    for (let k = 1; k < segs.length; k++) if (live[i + k] !== segs[k]) throw new PassAbandoned("the segment list changed");
  }

  private release(): void {
    this.ws.reader.close();
    this.readerOpen = false;
    this.writer?.abort();
    this.writer = null;
    if (this.phase !== "done") {
      this.phase = "done";
      this.t.endPass();
    }
  }
}

/** How the LogManager runs the cleaner. */
export interface LogCleanerOptions extends CompactionOptions {
  /** `log.cleaner.backoff.ms` (default {@link DEFAULT_CLEANER_BACKOFF_MS}). */
  backoffMs?: number;
  /** `log.cleaner.dedupe.buffer.size` (default 128 MiB). */
  dedupeBufferBytes?: number;
  /** `log.cleaner.io.max.bytes.per.second`: segment bytes the cleaner reads per second at most (default unlimited). */
  ioMaxBytesPerSecond?: number;
}

/**
 * The broker's cleaner: one pass at a time, one bounded step per timer tick, over the log due for cleaning with
 * the highest dirty ratio. A log whose pass fails (corrupt data) is left alone until the broker restarts.
 */
export class LogCleaner {
  private readonly deps: StorageDeps;
  private readonly logs: () => Iterable<PartitionLog>;
  private opts: LogCleanerOptions;
  private readonly onCleaned: (log: PartitionLog, result: CompactionResult) => void | Promise<void>;
  private ws: CleanerWorkspace;
  /** A dedupe buffer size changed while a pass ran: the workspace is rebuilt once it ends. */
  private newWorkspacePending = false;
  /** Total time the cleaner waited to keep under `log.cleaner.io.max.bytes.per.second` (ms). */
  throttledMs = 0;
  private readonly uncleanable = new WeakSet<PartitionLog>();
  private timer: unknown = null;
  private wake: (() => void) | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  /** A cleaner over `logs()`; `onCleaned` runs (and is awaited) after each finished pass (the LogManager writes the checkpoint). */
  constructor(deps: StorageDeps, logs: () => Iterable<PartitionLog>, opts: LogCleanerOptions = {}, onCleaned: (log: PartitionLog, result: CompactionResult) => void | Promise<void> = () => {}) {
    this.deps = deps;
    this.logs = logs;
    this.opts = opts;
    this.onCleaned = onCleaned;
    this.ws = newCleanerWorkspace(opts.dedupeBufferBytes, deps.random);
  }

  /**
   * Applies changed settings at once, as Kafka's dynamic cleaner configs (KIP-226): the backoff re-arms an idle
   * cleaner, the I/O cap counts from the next step, a new dedupe buffer size takes effect from the next pass.
   */
  reconfigure(opts: LogCleanerOptions): void {
    const resize = (opts.dedupeBufferBytes ?? null) !== (this.opts.dedupeBufferBytes ?? null);
    const rearm = opts.backoffMs !== this.opts.backoffMs && this.timer !== null && this.running === null;
    this.opts = { ...this.opts, ...opts };
    if (resize) {
      if (this.running === null) this.ws = newCleanerWorkspace(this.opts.dedupeBufferBytes, this.deps.random);
      else this.newWorkspacePending = true;
    }
    if (rearm && !this.stopped) {
      this.deps.clock.clearTimer(this.timer);
      this.arm(this.opts.backoffMs ?? DEFAULT_CLEANER_BACKOFF_MS);
    }
  }

  /** Most keys the next pass can map (from `log.cleaner.dedupe.buffer.size`). */
  get dedupeMaxKeys(): number {
    return this.ws.map.maxEntriesLimit;
  }

  /** Starts looking for dirty logs every `log.cleaner.backoff.ms`. */
  start(): void {
    if (this.stopped || this.timer !== null || this.running !== null) return;
    this.arm(this.opts.backoffMs ?? DEFAULT_CLEANER_BACKOFF_MS);
  }

  /** The log most in need of cleaning now: overdue ones first, then the highest dirty ratio above its minimum (Kafka: strictly above). */
  chooseLog(nowMs: number): PartitionLog | null {
    let best: PartitionLog | null = null;
    let bestScore = -1;
    for (const log of this.logs()) {
      if (!log.config.cleanupPolicy.includes("compact") || log.isOffline || this.uncleanable.has(log)) continue;
      const s = log.cleanableSection(nowMs);
      if (s === null) continue;
      if (!s.overdue && s.dirtyRatio <= log.config.minCleanableDirtyRatio) continue;
      const score = s.overdue ? 2 + s.dirtyRatio : s.dirtyRatio;
      if (score > bestScore) {
        best = log;
        bestScore = score;
      }
    }
    return best;
  }

  /** Cleans the log {@link chooseLog} picks with one whole pass, without yielding between steps; null if none is due. */
  async cleanOnce(nowMs: number = this.deps.clock.nowMs()): Promise<CompactionResult | null> {
    while (this.running !== null) await this.running;
    const log = this.chooseLog(nowMs);
    if (log === null) return null;
    let result: CompactionResult | null = null;
    this.running = (async () => {
      result = await this.runPass(log, nowMs, false);
    })();
    try {
      await this.running;
    } finally {
      this.running = null;
    }
    return result;
  }

  /** Stops the timers and abandons a pass in progress at its next step (its `.cleaned` files are removed); waits for it. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) this.deps.clock.clearTimer(this.timer);
    this.timer = null;
    const wake = this.wake;
    this.wake = null;
    wake?.();
    while (this.running !== null) await this.running.catch(() => {});
  }

  private arm(delayMs: number): void {
    if (this.stopped) return;
    this.timer = this.deps.clock.setTimer(() => {
      this.timer = null;
      this.tick();
    }, delayMs);
  }

  /** Looks for a due log; cleans it step by step, then looks again at once (or after the backoff when none was due). */
  private tick(): void {
    if (this.stopped) return;
    if (this.running !== null) {
      this.arm(this.opts.backoffMs ?? DEFAULT_CLEANER_BACKOFF_MS);
      return;
    }
    const nowMs = this.deps.clock.nowMs();
    let log: PartitionLog | null;
    try {
      log = this.chooseLog(nowMs);
    } catch (e) {
      this.deps.logger.error(`log cleaner: choosing a log failed: ${String(e)}`);
      log = null;
    }
    if (log === null) {
      this.arm(this.opts.backoffMs ?? DEFAULT_CLEANER_BACKOFF_MS);
      return;
    }
    const run = this.runPass(log, nowMs, true).then(() => {
      if (this.running === run) this.running = null;
      if (this.newWorkspacePending) {
        this.newWorkspacePending = false;
        this.ws = newCleanerWorkspace(this.opts.dedupeBufferBytes, this.deps.random);
      }
      this.arm(0);
    });
    this.running = run;
  }

  /** Runs one pass over `log`; never throws (a failing log is marked uncleanable). */
  private async runPass(log: PartitionLog, nowMs: number, yieldBetweenSteps: boolean): Promise<CompactionResult | null> {
    let pass: CompactionPass | null = null;
    try {
      pass = log.beginCompaction(nowMs, this.ws, this.opts);
      if (pass === null) return null;
      const started = this.deps.clock.monotonicMs();
      while (!(await pass.step())) {
        if (yieldBetweenSteps) await this.yieldTurn(this.throttleDelayMs(pass.bytesRead, this.deps.clock.monotonicMs() - started));
        if (this.stopped) pass.abort("the cleaner is stopping");
      }
      if (pass.result.abandoned === null) await this.onCleaned(log, pass.result);
      return pass.result;
    } catch (e) {
      this.uncleanable.add(log);
      this.deps.logger.error(`${log.name}: compaction failed, leaving the log uncompacted until restart: ${String(e)}`);
      pass?.abort("failed");
      return null;
    }
  }

  /**
   * How long to wait before the next step so that `bytesRead` over the pass so far stays within
   * `log.cleaner.io.max.bytes.per.second` (Kafka's cleaner Throttler does the same over its checks).
   */
  private throttleDelayMs(bytesRead: number, elapsedMs: number): number {
    const cap = this.opts.ioMaxBytesPerSecond;
    if (cap === undefined || !(cap > 0) || !Number.isFinite(cap)) return 0;
    const due = (bytesRead / cap) * 1000 - elapsedMs;
    if (due <= 0) return 0;
    this.throttledMs += due;
    return due;
  }

  /** Lets the event loop run (other requests) before the next step, after `delayMs` when throttled. */
  private yieldTurn(delayMs = 0): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = this.deps.clock.setTimer(() => {
        this.timer = null;
        this.wake = null;
        resolve();
      }, delayMs);
    });
  }
}
