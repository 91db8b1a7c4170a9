/**
 * The durable log of one partition: a directory `<topic>-<partition>/` of segments in Kafka's layout. Appends
 * assign offsets in place and go to the active segment with one write; reads return whole batches as views
 * (memory maps of sealed segments on Bun, one pread per segment otherwise); `sync()` group-commits fdatasyncs.
 *
 * Offsets: `logStartOffset` <= `highWatermark` <= `logEndOffset` (the next offset to assign); `recoveryPoint` is
 * the offset below which everything is known to be on stable storage. Opening the log recovers every segment
 * from the one holding the recovery point (all of them when there is no checkpoint), unless the log was
 * closed cleanly.
 */
import {
  ATTR_TIMESTAMP_TYPE,
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BATCH_HEADER_SIZE,
  batchCrcValid,
  batchSizeAt,
  computeBatchCrc,
  CRC_OFFSET,
  CURRENT_MAGIC,
  dataViewOf,
  LAST_OFFSET_DELTA_OFFSET,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
} from "../protocol/batch-layout.ts";
import { crc32c } from "../protocol/crc32c.ts";
import { completeInterruptedSwaps, swapInCleanedSegment } from "./cleaner-swap.ts";
import {
  type CleanableSection,
  type CleanerTarget,
  type CleanerTransactions,
  type CleanerWorkspace,
  type CompactionOptions,
  CompactionPass,
  type CompactionResult,
  findCleanableSection,
  newCleanerWorkspace,
} from "./log-cleaner.ts";
import type { LogConfig } from "./log-config.ts";
import {
  DELETE_DIR_SUFFIX,
  INDEX_SUFFIX,
  LEFTOVER_SUFFIXES,
  LOG_SUFFIX,
  parseSegmentFileName,
  partitionDirName,
  TIME_INDEX_SUFFIX,
  type TopicPartition,
} from "./log-file-names.ts";
import { MAX_RELATIVE_OFFSET } from "./offset-index.ts";
import { firstRecordAtOrAfter, type TimestampHit } from "./record-timestamps.ts";
import { MAX_SEGMENT_POSITION, PRETOUCH_MIN_APPEND_BYTES, Segment, type BatchInfo, type SegmentContext, type SegmentRead } from "./segment.ts";
import type { StorageDeps } from "./storage-deps.ts";
import { systemRandom } from "../platform/random.ts";
import { InvalidBatchError, LogStorageError, OffsetOutOfRangeError, isDeletionAftermath, isIoError } from "./storage-errors.ts";

/**
 * Default of StorageDeps.maxOverlappingFlushes: one flush of a log at a time. With more, a flush asked for while one
 * runs starts at once instead of after it (on ext4 every fdatasync after an append waits for a journal commit, and
 * one that starts while the earlier one is still writing can join the same commit); it counts (moves the recovery
 * point, answers acks=all) only once every earlier flush has completed too. Asks beyond the limit wait for the
 * latest running flush, then start one.
 */
const DEFAULT_MAX_OVERLAPPING_FLUSHES = 1;
/**
 * Default of StorageDeps.pretouchPauseMs: how long after a flush was asked for (acks=all, flush.messages, flush.ms)
 * appends start no zeros ahead, since an fdatasync would also write out zeros that no append has overwritten yet.
 */
export const DEFAULT_PRETOUCH_PAUSE_MS = 1000;
/** Longest delay one timer may be armed for (setTimeout's int32 limit); longer flush.ms re-arms. */
const MAX_TIMER_DELAY_MS = 2147483647;

/** What the LogManager knows about a log from its checkpoints. */
export interface LogOpenState {
  /** Offset below which data was flushed (`recovery-point-offset-checkpoint`); absent = recover everything. */
  recoveryPoint?: bigint;
  /** `log-start-offset-checkpoint` value. */
  logStartOffset?: bigint;
  /** High watermark to start from (defaults to the log end offset, right for a single node). */
  highWatermark?: bigint;
  /** The log dir was shut down cleanly: skip recovery. */
  cleanShutdown?: boolean;
  /** `cleaner-offset-checkpoint` value: offsets below it were compacted. */
  cleanerCheckpoint?: bigint;
}

/** Per-append options. */
export interface AppendOptions {
  /** Leader epoch written into each batch's partitionLeaderEpoch. */
  leaderEpoch: number;
  /** Append time for LogAppendTime topics (defaults to the clock). */
  logAppendTimeMs?: number;
}

/** Outcome of an append. */
export interface AppendResult {
  /** Offset of the first record appended. */
  baseOffset: bigint;
  /** Offset of the last record appended. */
  lastOffset: bigint;
  /** The append time written for LogAppendTime topics, else -1. */
  logAppendTimeMs: number;
  /** Largest batch max timestamp appended. */
  maxTimestamp: number;
  /** Last offset of the batch carrying {@link AppendResult.maxTimestamp}. */
  offsetOfMaxTimestamp: bigint;
  /** Batches appended. */
  batches: number;
  /** Log start offset after the append. */
  logStartOffset: bigint;
}

/** Outcome of a read: whole batches only. */
export interface ReadResult {
  /** Views of whole batches, back to back (at most one per segment touched). */
  chunks: Uint8Array[];
  /** Total bytes in `chunks`. */
  bytes: number;
  /** Base offset of the first batch returned (may be below the fetch offset), or the fetch offset if none. */
  firstOffset: bigint;
  /** Offset after the last batch returned (the next fetch offset), or the fetch offset if none. */
  nextOffset: bigint;
  /** Batches returned. */
  batches: number;
  /** High watermark at the time of the read. */
  highWatermark: bigint;
  /** Log start offset at the time of the read. */
  logStartOffset: bigint;
  /** Log end offset at the time of the read. */
  logEndOffset: bigint;
}

/** Outcome of a retention pass. */
export interface RetentionResult {
  /** Segments deleted. */
  deletedSegments: number;
  /** Bytes deleted. */
  deletedBytes: number;
  /** Log start offset afterwards. */
  logStartOffset: bigint;
}

/** Facts gathered while walking the batches of an append. */
interface PreparedAppend {
  baseOffset: bigint;
  lastOffset: bigint;
  batches: number;
  maxTimestamp: number;
  offsetOfMaxTimestamp: bigint;
}

const noop = (): void => {};

/** Throws a clear error unless `initCrc32c()` has run (recovery and LogAppendTime need the CRC). */
function assertCrc32cReady(): void {
  try {
    crc32c(new Uint8Array(0));
  } catch {
    throw new Error("PartitionLog.open needs CRC-32C: await initCrc32c() once before opening logs");
  }
}

/**
 * Removes partition directory `dir` as Kafka does: renamed to `<dir>.<id>-delete` first, so a crash mid-way leaves
 * a name the LogManager removes at the next start, then removed.
 */
export function removePartitionDir(deps: StorageDeps, dir: string): void {
  const doomed = `${dir}.${(deps.random ?? systemRandom).uuid().replaceAll("-", "")}${DELETE_DIR_SUFFIX}`;
  deps.fs.rename(dir, doomed);
  deps.fs.removeTree(doomed);
}

/** The log of one partition. */
export class PartitionLog {
  /** The partition directory. */
  readonly dir: string;
  /** Topic and partition. */
  readonly topicPartition: TopicPartition;
  /** `<topic>-<partition>`. */
  readonly name: string;
  private cfg: LogConfig;
  private readonly deps: StorageDeps;
  private readonly ctx: SegmentContext;
  private segments: Segment[] = [];
  private leo = 0n;
  private logStart = 0n;
  private hw = 0n;
  private flushedTo = 0n;
  private flushRequestedTo = 0n;
  private flushInFlight: Promise<void> | null = null;
  private flushInFlightTarget = -1n;
  private flushQueued: Promise<void> | null = null;
  /** Flushes started and not settled (at most StorageDeps.maxOverlappingFlushes). */
  private flushesRunning = 0;
  private pendingSealed: Segment[] = [];
  private flushTimer: unknown = null;
  private lastFlushMs = 0;
  private offline: unknown = null;
  private closed = false;
  /** {@link delete} ran: the files are gone on purpose, so an error of work still in flight on them is no disk failure. */
  private deleted = false;
  /** A segment file was created since the partition directory was last fsynced (the next flush syncs it). */
  private dirUnsynced = false;
  /** What must be durable before any flush of this log counts (a new partition's directory entry), or null. */
  private flushGate: Promise<void> | null = null;
  private cleanedTo = 0n;
  private truncations = 0;
  private compacting = false;
  /**
   * The offset at which opening restarted the log with every segment deleted, because the recovered log end lay
   * below the checkpointed log start offset ({@link load}); null when it did not. What the partition keeps beside the
   * segments about their records (producer snapshots, the aborted-transaction index) goes too, as in Kafka's
   * ProducerStateManager.truncateFullyAndStartAt (Partition.open).
   */
  restartedAt: bigint | null = null;
  /**
   * Whether this log was opened after a clean shutdown of its log dir (its segments trusted, not recovered): its
   * producer snapshot, if the stop found one worth writing, is on disk (Partition.open replays nothing without one).
   */
  openedClean = false;
  /**
   * Base offset of the first segment {@link load} recovered (batches validated from there to the log end: an unclean
   * start), or null when none was (a clean start, a new log, or a log restarted empty). The partition takes the
   * leader epochs of the recovered batches from it (Partition.open), as Kafka's LogSegment.recover does.
   */
  recoveredFrom: bigint | null = null;
  /**
   * The offset the recovery point may not pass now, or null for no bound: the start of a leader epoch whose
   * checkpoint write is not durable yet (LeaderEpochCache.undurableFrom), which only a recovery from below it
   * brings back after a power cut.
   */
  recoveryPointLimit: (() => bigint | null) | null = null;
  /** Told the new log start offset after retention or DeleteRecords moved it (epoch history, snapshots, aborted transactions). */
  onLogStartMoved: ((logStartOffset: bigint) => void) | null = null;
  /** Called once when an I/O error takes this log offline (the LogManager then takes its whole log dir offline). */
  onIoError: ((e: unknown) => void) | null = null;
  /** Called once when the log goes offline, by its own I/O error or its log dir's (KIP-112). */
  onOffline: (() => void) | null = null;
  /** Told the base offset of each new active segment, before the append that rolled is written (producer snapshots). */
  onRoll: ((baseOffset: bigint) => void) | null = null;
  /**
   * The offset of a producer's last record in this log (-1: only markers; null: no state here), from the producer
   * state above the log; null when no partition keeps producer state over this log (the cleaner then estimates).
   */
  producerLastDataOffset: ((producerId: bigint) => bigint | null) | null = null;
  /**
   * The transaction state of the partition above this log (last stable offset, aborted transactions), for the
   * cleaner; null when none is kept here (the cleaner then keeps transactional and control batches whole).
   */
  transactions: CleanerTransactions | null = null;
  /** Called after a flush made rolled (sealed) segments durable: the recovery point passed them. */
  onSealedDurable: (() => void) | null = null;
  private readonly readOut: SegmentRead = { chunk: null, firstOffset: 0n, nextOffset: 0n, batches: 0, endOfSegment: false, mapEnded: false };
  /** `runnel.log.pretouch.bytes` (StorageDeps.pretouchBytes). */
  private readonly pretouchBytes: number;
  /** `runnel.log.pretouch.pause.ms` (StorageDeps.pretouchPauseMs). */
  private readonly pretouchPauseMs: number;
  /** `runnel.log.pretouch.min.append.bytes` (StorageDeps.pretouchMinAppendBytes). */
  private readonly pretouchMinAppendBytes: number;
  /** Monotonic time {@link sync} was last called (acks=all, flush.messages, flush.ms): pretouch pauses after it. */
  private lastSyncAskedMs = Number.NEGATIVE_INFINITY;

  private constructor(dir: string, tp: TopicPartition, config: LogConfig, deps: StorageDeps) {
    this.dir = dir;
    this.topicPartition = tp;
    this.name = partitionDirName(tp);
    this.cfg = config;
    this.deps = deps;
    this.pretouchBytes = deps.pretouchBytes ?? 0;
    this.pretouchPauseMs = deps.pretouchPauseMs ?? DEFAULT_PRETOUCH_PAUSE_MS;
    this.pretouchMinAppendBytes = deps.pretouchMinAppendBytes ?? PRETOUCH_MIN_APPEND_BYTES;
    this.ctx = {
      fs: deps.fs,
      logger: deps.logger,
      label: this.name,
      indexBytes: config.segmentIndexBytes,
      indexIntervalBytes: config.indexIntervalBytes,
    };
  }

  /**
   * Opens (creating if needed) the log in `dir`, recovering unflushed segments. Synchronous; CRC-32C must be
   * ready (`await initCrc32c()` once per process), since recovery checks batch CRCs.
   */
  static open(dir: string, topicPartition: TopicPartition, config: LogConfig, deps: StorageDeps, state: LogOpenState = {}): PartitionLog {
    assertCrc32cReady();
    const log = new PartitionLog(dir, topicPartition, config, deps);
    log.load(state);
    log.openedClean = state.cleanShutdown === true;
    return log;
  }

  /** First offset still in the log. */
  get logStartOffset(): bigint {
    return this.logStart;
  }

  /** Offset the next appended record gets. */
  get logEndOffset(): bigint {
    return this.leo;
  }

  /** Offset below which records are committed and visible to consumers. */
  get highWatermark(): bigint {
    return this.hw;
  }

  /** Sets the high watermark (the broker's job; single-node sets it to the log end offset). */
  set highWatermark(offset: bigint) {
    if (offset < this.logStart || offset > this.leo) {
      throw new RangeError(`high watermark ${offset} outside [${this.logStart}, ${this.leo}] for ${this.name}`);
    }
    this.hw = offset;
  }

  /**
   * The recovery point the `recovery-point-offset-checkpoint` records: the offset below which all data has been
   * fdatasynced, held back by {@link recoveryPointLimit} (what the partition keeps beside the segments and a start
   * rebuilds only from the batches it recovers).
   */
  get recoveryPoint(): bigint {
    const limit = this.recoveryPointLimit?.() ?? null;
    return limit !== null && limit < this.flushedTo ? limit : this.flushedTo;
  }

  /** The config in force. */
  get config(): LogConfig {
    return this.cfg;
  }

  /** Bytes in all segments. */
  get size(): number {
    let total = 0;
    for (const s of this.segments) total += s.size;
    return total;
  }

  /** Number of segments. */
  get segmentCount(): number {
    return this.segments.length;
  }

  /** Base offsets of the segments, oldest first. */
  segmentBaseOffsets(): bigint[] {
    return this.segments.map((s) => s.baseOffset);
  }

  /** Whether an I/O error took the log offline. */
  get isOffline(): boolean {
    return this.offline !== null;
  }

  /** Offset below which the log has been compacted (`cleaner-offset-checkpoint`, at least the log start offset). */
  get cleanerCheckpoint(): bigint {
    return this.cleanedTo < this.logStart ? this.logStart : this.cleanedTo > this.leo ? this.leo : this.cleanedTo;
  }

  /** Where the log's cleanable section lies and how dirty it is at `nowMs` (null when nothing may be compacted). */
  cleanableSection(nowMs: number): CleanableSection | null {
    if (this.closed || this.offline !== null) return null;
    return findCleanableSection(this.cleanerTarget(), nowMs);
  }

  /**
   * Starts a compaction pass over the cleanable section (see log-cleaner.ts), to be driven with
   * {@link CompactionPass.step}; null when nothing may be compacted or a pass is already running on this log.
   * `min.cleanable.dirty.ratio` is the caller's business (the LogCleaner checks it).
   */
  beginCompaction(nowMs: number, workspace: CleanerWorkspace, opts: CompactionOptions = {}): CompactionPass | null {
    if (this.compacting) return null;
    const section = this.cleanableSection(nowMs);
    if (section === null) return null;
    const pass = new CompactionPass(this.cleanerTarget(), workspace, section, nowMs, opts);
    this.compacting = true;
    return pass;
  }

  /**
   * Compacts the cleanable section now in one pass (whatever the dirty ratio), for tests and tools; resolves to
   * what the pass did, or null when nothing could be compacted. The broker's LogCleaner runs passes in steps instead.
   */
  async compact(nowMs: number = this.deps.clock.nowMs(), opts: CompactionOptions & { dedupeBufferBytes?: number } = {}): Promise<CompactionResult | null> {
    const pass = this.beginCompaction(nowMs, newCleanerWorkspace(opts.dedupeBufferBytes, this.deps.random), opts);
    if (pass === null) return null;
    while (!(await pass.step()));
    return pass.result;
  }

  /** Applies a changed topic config (takes effect for new appends, rolls and retention). */
  updateConfig(config: LogConfig): void {
    this.cfg = config;
    this.ctx.indexBytes = config.segmentIndexBytes;
    this.ctx.indexIntervalBytes = config.indexIntervalBytes;
  }

  /**
   * Appends `records`: one or more whole, validated batches back to back. Assigns offsets in place (baseOffset,
   * partitionLeaderEpoch; outside the CRC), stamps LogAppendTime topics (re-computing the CRC), rolls first if
   * needed, and writes with one call.
   */
  append(records: Uint8Array, opts: AppendOptions): AppendResult {
    this.checkWritable();
    const now = this.deps.clock.nowMs();
    const appendTime = this.cfg.messageTimestampType === "LogAppendTime" ? (opts.logAppendTimeMs ?? now) : -1;
    const dv = dataViewOf(records);
    const prep = this.walkBatches(records, dv, this.leo, opts.leaderEpoch, appendTime);
    return this.write(records, dv, prep, now, appendTime);
  }

  /**
   * Appends batches whose offsets are already set (replication): the first base offset must be >= the log end
   * offset and offsets must increase; leader epochs are kept as given.
   */
  appendWithOffsets(records: Uint8Array): AppendResult {
    this.checkWritable();
    const dv = dataViewOf(records);
    const prep = this.walkBatches(records, dv, null, 0, -1);
    // A replica checks each batch's CRC as Kafka's follower does: a bit flipped on the leader's disk read or on the
    // wire must not be stored and passed on (found by the deterministic simulation, tests/sim). The fetch is retried.
    for (let at = 0; at < records.length; at += batchSizeAt(dv, at)) {
      if (!batchCrcValid(records, dv, at, batchSizeAt(dv, at))) throw new InvalidBatchError(`${this.name}: replicated batch at offset ${dv.getBigInt64(at + BASE_OFFSET_OFFSET)} fails its CRC`);
    }
    if (prep.baseOffset < this.leo) {
      throw new InvalidBatchError(`${this.name}: append at offset ${prep.baseOffset} is below the log end offset ${this.leo}`);
    }
    return this.write(records, dv, prep, this.deps.clock.nowMs(), -1);
  }

  /**
   * Reads whole batches from the one holding `fetchOffset`: at most `maxBytes` (but the first batch even if larger
   * when `minOneBatch`), never a batch reaching `upperBound` (the high watermark) or past the log end. Throws
   * {@link OffsetOutOfRangeError} when `fetchOffset` is outside [logStartOffset, logEndOffset].
   */
  read(fetchOffset: bigint, maxBytes: number, minOneBatch: boolean, upperBound?: bigint): ReadResult {
    this.checkOnline();
    if (fetchOffset < this.logStart || fetchOffset > this.leo) {
      throw new OffsetOutOfRangeError(this.name, fetchOffset, this.logStart, this.leo);
    }
    const bound = upperBound === undefined || upperBound > this.leo ? this.leo : upperBound;
    const result: ReadResult = {
      chunks: [],
      bytes: 0,
      firstOffset: fetchOffset,
      nextOffset: fetchOffset,
      batches: 0,
      highWatermark: this.hw,
      logStartOffset: this.logStart,
      logEndOffset: this.leo,
    };
    if (fetchOffset >= bound || maxBytes < 0) return result;
    const out = this.readOut;
    // Below the high watermark nothing is truncated (short of an unclean election): views of the active map are safe.
    const mapActive = upperBound !== undefined && upperBound <= this.hw;
    let offset = fetchOffset;
    for (let i = this.segmentIndexFor(fetchOffset); i < this.segments.length; i++) {
      try {
        this.segments[i].read(offset, maxBytes - result.bytes, minOneBatch && result.batches === 0, bound, out, mapActive);
      } catch (e) {
        // As Kafka (KIP-112): an I/O error on a read takes the log, and through onIoError its log dir, offline.
        if (!isIoError(e)) throw e;
        out.chunk = null;
        this.goOffline(e);
        throw new LogStorageError(this.name, e);
      }
      if (out.chunk !== null) {
        if (result.batches === 0) result.firstOffset = out.firstOffset;
        result.chunks.push(out.chunk);
        result.bytes += out.chunk.length;
        result.batches += out.batches;
        result.nextOffset = out.nextOffset;
        offset = out.nextOffset;
      }
      if (result.batches > 0 && result.bytes >= maxBytes) break;
      if (out.mapEnded) i--; // the same segment goes on past its map
      else if (!out.endOfSegment) break;
    }
    out.chunk = null;
    return result;
  }

  /**
   * Walks every batch from the one holding `from` (within [logStartOffset, logEndOffset]) to the log end, reading
   * headers only (a small pread window per batch, not the records): `visit` gets each batch's header at
   * `buf[at, at + BATCH_HEADER_SIZE)` (`dv` views `buf`), valid during the call, and `whole()` reads that whole batch
   * for use at once. Synchronous. Throws when a segment's batches stop before its end (a damaged batch recovery did
   * not check), and, taking the log offline, on an I/O error.
   */
  forEachBatchHeader(from: bigint, visit: (buf: Uint8Array, dv: DataView, at: number, whole: () => Uint8Array) => void): void {
    this.checkOnline();
    if (from < this.logStart || from > this.leo) throw new OffsetOutOfRangeError(this.name, from, this.logStart, this.leo);
    if (from === this.leo) return;
    for (let i = this.segmentIndexFor(from); i < this.segments.length; i++) {
      const seg = this.segments[i];
      let batch: BatchInfo | null = null;
      const whole = (): Uint8Array => seg.readBatch(batch!);
      let stopped: string | null;
      try {
        stopped = seg.forEachBatchHeaderFrom(from > seg.baseOffset ? from : seg.baseOffset, (b, buf, dv, at) => {
          batch = b;
          visit(buf, dv, at, whole);
        });
      } catch (e) {
        if (!isIoError(e)) throw e;
        this.goOffline(e);
        throw new LogStorageError(this.name, e);
      }
      if (stopped !== null) throw new Error(`${this.name}: batch walk from offset ${from} stopped in segment ${seg.baseOffset}: ${stopped}`);
    }
  }

  /**
   * Null when a {@link read} at `fetchOffset` needs no index work now; otherwise a promise that settles once the
   * indexes of the segment holding it (missing or corrupt files) have been rebuilt step by step, a loop turn
   * between steps, so that the read then does no rebuild. A read continuing into later segments needs no index
   * there. Failures are left for the read to report.
   */
  indexesReadyFor(fetchOffset: bigint): Promise<void> | null {
    if (this.offline !== null || this.closed || fetchOffset < this.logStart || fetchOffset >= this.leo) return null;
    try {
      return this.segments[this.segmentIndexFor(fetchOffset)].prepareIndexes()?.catch(noop) ?? null;
    } catch {
      return null;
    }
  }

  /**
   * {@link indexesReadyFor} for a timestamp lookup: {@link offsetForTimestamp} of `timestamp`, which uses the
   * indexes of the segments from the log start up to the first whose largest timestamp reaches it, or (null)
   * {@link maxTimestampOffset}, which uses every segment's. Null when none of those needs a rebuild, or a promise
   * that settles once those that do have been rebuilt step by step (then a later segment may still be loaded, from
   * its files, by the lookup). Segments are loaded no further than the lookup itself would load them.
   */
  indexesReadyForTimestamp(timestamp: number | null): Promise<void> | null {
    if (this.offline !== null || this.closed) return null;
    let pending: Promise<void>[] | null = null;
    try {
      for (let i = this.segmentIndexFor(this.logStart); i < this.segments.length; i++) {
        const seg = this.segments[i];
        const ready = seg.prepareIndexes();
        if (ready !== null) (pending ??= []).push(ready.catch(noop));
        else if (timestamp !== null && seg.largestTimestamp() >= timestamp) break;
      }
    } catch {
      // left for the lookup to report
    }
    return pending === null ? null : Promise.all(pending).then(noop);
  }

  /**
   * The first record with timestamp >= `timestamp` (and offset >= the log start offset), for ListOffsets:
   * finds the first segment and batch whose max timestamp reaches it through the time and offset indexes, then
   * walks that batch's records. Null if no record is that late.
   */
  offsetForTimestamp(timestamp: number): TimestampHit | null {
    this.checkOnline();
    const decompress = this.deps.decompress;
    for (let i = this.segmentIndexFor(this.logStart); i < this.segments.length; i++) {
      const seg = this.segments[i];
      if (seg.largestTimestamp() < timestamp) continue;
      const from = seg.offsetIndex().lookup(seg.timeIndex().offsetBefore(timestamp));
      let hit: TimestampHit | null = null;
      seg.forEachBatch(from, (b) => {
        if (b.lastOffset < this.logStart || b.maxTimestamp < timestamp) return true;
        hit = firstRecordAtOrAfter(seg.readBatch(b), timestamp, this.logStart, decompress);
        return hit === null;
      });
      if (hit !== null) return hit;
    }
    return null;
  }

  /** The record with the largest timestamp (ListOffsets MAX_TIMESTAMP, -3), or null for an empty log. */
  maxTimestampOffset(): TimestampHit | null {
    this.checkOpen();
    let best = -1;
    for (const seg of this.segments) best = Math.max(best, seg.largestTimestamp());
    return best < 0 ? null : this.offsetForTimestamp(best);
  }

  /**
   * DeleteRecords: moves the log start offset up to `offset` (at most the high watermark) and deletes segments
   * that lie wholly below it. Returns the new log start offset.
   */
  deleteRecordsBefore(offset: bigint): bigint {
    this.checkWritable();
    if (offset > this.hw || offset < 0n) {
      throw new OffsetOutOfRangeError(this.name, offset, this.logStart, this.hw);
    }
    const before = this.logStart;
    if (offset > this.logStart) this.logStart = offset;
    let k = 0;
    while (k + 1 < this.segments.length && this.segments[k + 1].baseOffset <= this.logStart) k++;
    this.deleteOldest(k, `log start offset ${this.logStart}`);
    if (this.logStart > before && k <= 0) this.onLogStartMoved?.(this.logStart);
    return this.logStart;
  }

  /**
   * Deletes whole segments by `retention.ms` (largest timestamp older than it) and then by `retention.bytes`
   * (oldest first while the rest still meets it), where `cleanup.policy` includes delete. Only segments below the high watermark go; if every segment
   * goes, a new empty active segment is rolled at the log end first. Moves the log start offset.
   */
  enforceRetention(nowMs: number): RetentionResult {
    this.checkWritable();
    const result: RetentionResult = { deletedSegments: 0, deletedBytes: 0, logStartOffset: this.logStart };
    // retention.ms and retention.bytes apply to "delete" policies only (Kafka: compact-only and empty policies keep
    // every segment; the log start offset still deletes below it)
    const deletes = this.cfg.cleanupPolicy.includes("delete");
    const retentionMs = deletes ? this.cfg.retentionMs : -1;
    if (retentionMs >= 0) {
      let k = 0;
      while (k < this.segments.length && this.deletable(k)) {
        const seg = this.segments[k];
        // A segment whose index files must be rebuilt first is rebuilt step by step and judged at the next check.
        if (seg.prepareIndexes() !== null) break;
        const ts = seg.largestTimestamp();
        if (nowMs - (ts >= 0 ? ts : seg.lastAppendMs) <= retentionMs) break;
        k++;
      }
      this.addDeleted(result, this.deleteOldest(k, `retention.ms ${retentionMs}`), k);
    }
    const retentionBytes = deletes ? this.cfg.retentionBytes : -1;
    if (retentionBytes >= 0) {
      let excess = this.size - retentionBytes;
      let k = 0;
      while (k < this.segments.length && this.deletable(k) && excess - this.segments[k].size >= 0) {
        excess -= this.segments[k].size;
        k++;
      }
      this.addDeleted(result, this.deleteOldest(k, `retention.bytes ${retentionBytes}`), k);
    }
    let k = 0;
    while (k + 1 < this.segments.length && this.segments[k + 1].baseOffset <= this.logStart && this.deletable(k)) k++;
    this.addDeleted(result, this.deleteOldest(k, `log start offset ${this.logStart}`), k);
    result.logStartOffset = this.logStart;
    return result;
  }

  /**
   * Removes every batch whose last offset is >= `offset` (a batch holding `offset` goes whole), deleting later
   * segments; the log end offset becomes the end of what remains. Below the log start offset the log is emptied
   * and restarted at `offset`; a cut that leaves nothing at or above the log start offset (the batch holding
   * `offset` began below it) restarts the log at the log start offset.
   */
  truncateTo(offset: bigint): void {
    this.checkWritable();
    if (offset < 0n) throw new RangeError(`negative truncation offset ${offset}`);
    if (offset >= this.leo) return;
    if (offset < this.logStart) {
      this.truncateFullyAndStartAt(offset);
      return;
    }
    const i = this.segmentIndexFor(offset);
    for (const seg of this.segments.splice(i + 1)) this.dropSegment(seg);
    const seg = this.segments[i];
    this.pendingSealed = this.pendingSealed.filter((s) => s !== seg);
    const removed = seg.truncateTo(offset);
    try {
      // The cut is made durable before anything is written after it: a power cut must not bring back the divergent
      // tail under records and an epoch history that came later (found by the deterministic simulation, tests/sim).
      if (removed > 0) seg.syncNow();
    } catch (e) {
      this.goOffline(e);
      throw new LogStorageError(this.name, e);
    }
    this.truncations++;
    this.flushInFlightTarget = -1n; // a flush running now covers none of what is appended after the cut
    this.leo = seg.nextOffset;
    if (this.leo < this.logStart) {
      // The batch holding `offset` began below the log start offset and went whole: nothing at or above the log
      // start is left. The log restarts at its log start offset, as Kafka's UnifiedLog.truncateTo keeps
      // min(target, logStartOffset) as the log start: offsets below it were reported deleted and are never reused.
      this.deps.logger.info(`${this.name}: truncation to offset ${offset} cut the batch holding the log start offset ${this.logStart}`);
      this.truncateFullyAndStartAt(this.logStart);
      return;
    }
    if (this.hw > this.leo) this.hw = this.leo;
    if (this.flushedTo > this.leo) this.flushedTo = this.leo;
    if (this.flushRequestedTo > this.leo) this.flushRequestedTo = this.leo;
    if (this.cleanedTo > this.leo) this.cleanedTo = this.leo;
    this.deps.logger.info(`${this.name}: truncated to offset ${offset} (${removed} bytes cut), log end offset ${this.leo}`);
  }

  /** Deletes every segment and starts an empty log at `offset` (all offsets become `offset`). */
  truncateFullyAndStartAt(offset: bigint): void {
    this.checkWritable();
    if (offset < 0n) throw new RangeError(`negative start offset ${offset}`);
    for (const seg of this.segments) this.dropSegment(seg);
    this.segments = [this.newSegment(offset)];
    this.truncations++;
    this.flushInFlightTarget = -1n; // a flush running now covers none of what is appended from here
    this.cleanedTo = offset;
    this.pendingSealed = [];
    this.leo = offset;
    this.logStart = offset;
    this.hw = offset;
    this.flushedTo = offset;
    this.flushRequestedTo = offset;
    this.deps.logger.info(`${this.name}: emptied, restarting at offset ${offset}`);
  }

  /**
   * Flushes appended data to stable storage, with group commit: a caller whose data the latest running flush
   * covers shares it; otherwise a new flush starts at once if fewer than StorageDeps.maxOverlappingFlushes run
   * (see DEFAULT_MAX_OVERLAPPING_FLUSHES), or else callers share the next one, which starts when the latest
   * running one completes and covers their data. Moves the recovery point when done, in order.
   */
  sync(): Promise<void> {
    this.lastSyncAskedMs = this.deps.clock.monotonicMs();
    return this.flush();
  }

  /** {@link sync}, but for a roll: flushing the sealed segment does not pause the pretouch of the new one. */
  private flush(): Promise<void> {
    if (this.offline !== null) return Promise.reject(new LogStorageError(this.name, this.offline));
    if (this.leo > this.flushRequestedTo) this.flushRequestedTo = this.leo;
    const rounds = this.deps.flushRounds;
    if (rounds !== undefined) {
      // One broker-wide round at a time; close() waits for the round this log last joined.
      const joined = rounds.request(this);
      this.flushQueued = joined;
      const settled = () => {
        if (this.flushQueued === joined) this.flushQueued = null;
      };
      joined.then(settled, settled);
      return joined;
    }
    if (this.flushQueued !== null) return this.flushQueued;
    if (this.flushInFlight === null) return this.startFlush();
    if (this.leo <= this.flushInFlightTarget && this.pendingSealed.length === 0) return this.flushInFlight;
    if (this.flushesRunning < (this.deps.maxOverlappingFlushes ?? DEFAULT_MAX_OVERLAPPING_FLUSHES)) return this.startFlush();
    const queued = this.flushInFlight.then(noop, noop).then(() => {
      this.flushQueued = null;
      return this.startFlush();
    });
    this.flushQueued = queued;
    return queued;
  }

  /** Flushes and closes every file. The log cannot be used afterwards. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.cancelFlushTimer();
    await (this.flushQueued ?? this.flushInFlight ?? Promise.resolve()).catch(noop);
    this.closed = true;
    // No append can start more zeros now; those in flight must have landed before the seal below cuts them off.
    await Promise.all(this.segments.map((seg) => seg.zerosSettled()));
    if (this.offline === null) {
      try {
        this.active().seal();
        for (const seg of this.pendingSealed) seg.syncNow();
        this.active().syncNow();
        if (this.dirUnsynced) this.deps.fs.syncDir(this.dir);
        this.dirUnsynced = false;
        this.pendingSealed = [];
        this.flushedTo = this.leo;
      } catch (e) {
        this.goOffline(e);
      }
    }
    for (const seg of this.segments) seg.close();
  }

  /**
   * Closes the log without flushing and removes its directory: renamed to `<dir>.<id>-delete` first (as Kafka
   * does, so a crash mid-way leaves a name the LogManager removes at start), then removed. A flush still in
   * flight finishes on the open descriptors and is then discarded.
   */
  delete(): void {
    this.cancelFlushTimer();
    this.closed = true;
    this.deleted = true;
    for (const seg of this.segments) seg.close();
    this.segments = [];
    const fs = this.deps.fs;
    if (!fs.exists(this.dir)) return;
    removePartitionDir(this.deps, this.dir);
  }

  // ---- internals ----

  private active(): Segment {
    return this.segments[this.segments.length - 1];
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`log ${this.name} is closed`);
  }

  /** Throws unless the log takes appends: closed (an Error), or offline after an I/O error (KAFKA_STORAGE_ERROR). */
  checkWritable(): void {
    this.checkOpen();
    if (this.offline !== null) throw new LogStorageError(this.name, this.offline);
  }

  /** Reads refuse too once the log is offline (KIP-112: an offline replica answers KAFKA_STORAGE_ERROR). */
  private checkOnline(): void {
    this.checkWritable();
  }

  private goOffline(e: unknown): void {
    if (this.offline !== null) return;
    if (this.deleted) {
      // A deleted log's in-flight flush fails on what delete() closed and removed (ENOENT syncing its directory, EBADF
      // on a closed descriptor): no failure of its log dir. Taken for one, a replica reassigned away was published
      // offline (Metadata's offlineReplicas named a broker that no longer held the partition) and its whole log dir
      // taken offline. Any other error (EIO of an fdatasync issued before the delete) is the disk's and still reaches
      // the log dir, as in Kafka (LocalLog.flush swallows only the directory flush's NoSuchFileException); the log,
      // no replica any more, is not reported offline.
      if (!isDeletionAftermath(e)) this.onIoError?.(e);
      return;
    }
    this.offline = e;
    this.deps.logger.error(`${this.name}: I/O error, log taken offline: ${String(e)}`);
    this.onIoError?.(e);
    this.onOffline?.();
  }

  /**
   * An I/O error in a file of the partition beside the log's own (its `.txnindex`): the log goes offline, and
   * through onIoError its log dir as the error says, as an error in the log's files does (Kafka's
   * LogDirFailureChannel takes every I/O error of a log's files so).
   */
  ioFailed(e: unknown): void {
    this.goOffline(e);
  }

  /** Takes the log offline because its log dir failed (another log's I/O error); reads and writes refuse from now on. */
  takeOffline(cause: unknown): void {
    if (this.offline !== null) return;
    this.offline = cause;
    this.onOffline?.();
  }

  /** The view of this log a compaction pass works through. */
  private cleanerTarget(): CleanerTarget {
    return {
      name: this.name,
      dir: this.dir,
      ctx: this.ctx,
      deps: this.deps,
      config: () => this.cfg,
      segments: () => this.segments,
      logStartOffset: () => this.logStart,
      highWatermark: () => this.hw,
      cleanerCheckpoint: () => this.cleanerCheckpoint,
      truncations: () => this.truncations,
      usable: () => !this.closed && this.offline === null,
      producerLastDataOffset: (producerId) => (this.producerLastDataOffset === null ? undefined : this.producerLastDataOffset(producerId)),
      transactions: () => this.transactions,
      installCleaned: (old, baseOffset) => this.installCleaned(old, baseOffset),
      completePass: (cleanedUpTo) => {
        if (cleanedUpTo > this.cleanedTo) this.cleanedTo = cleanedUpTo;
      },
      endPass: () => {
        this.compacting = false;
      },
    };
  }

  /**
   * Swaps the durable cleaned segment at `baseOffset` in for `old` (consecutive sealed segments, the first with that
   * base offset): files first (crash-safe, see cleaner-swap.ts), then the segment list. Readers holding views of the
   * old segments keep them (files are renamed and unlinked, never truncated). An I/O failure takes the log offline.
   */
  private installCleaned(old: readonly Segment[], baseOffset: bigint): void {
    this.checkWritable();
    const i = this.segments.indexOf(old[0]);
    if (i < 0 || i + old.length >= this.segments.length || old[0].baseOffset !== baseOffset) {
      throw new Error(`${this.name}: cleaned segment ${baseOffset} does not replace sealed segments of the log`);
    }
    for (let k = 1; k < old.length; k++) {
      if (this.segments[i + k] !== old[k]) throw new Error(`${this.name}: segments replaced by cleaned segment ${baseOffset} are not consecutive`);
    }
    try {
      swapInCleanedSegment(this.deps.fs, this.dir, baseOffset, old);
      const fresh = Segment.open(this.ctx, this.dir, baseOffset);
      fresh.nextOffset = this.segments[i + old.length].baseOffset;
      fresh.lastAppendMs = Math.max(...old.map((s) => s.lastAppendMs));
      this.segments.splice(i, old.length, fresh);
      this.pendingSealed = this.pendingSealed.filter((s) => !old.includes(s));
    } catch (e) {
      this.goOffline(e);
      throw new LogStorageError(this.name, e);
    }
  }

  /** Index of the segment holding `offset`: the last whose base offset is <= it (0 if none). */
  private segmentIndexFor(offset: bigint): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.segments[mid].baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /**
   * Checks framing of each batch (length, magic, whole batches filling `records`) and, when `assignFrom` is set,
   * writes offsets and leader epoch in place; stamps LogAppendTime when `appendTime` >= 0.
   */
  private walkBatches(records: Uint8Array, dv: DataView, assignFrom: bigint | null, leaderEpoch: number, appendTime: number): PreparedAppend {
    if (records.length < BATCH_HEADER_SIZE) throw new InvalidBatchError(`${this.name}: append of ${records.length} bytes holds no batch`);
    const prep: PreparedAppend = { baseOffset: -1n, lastOffset: -1n, batches: 0, maxTimestamp: -1, offsetOfMaxTimestamp: -1n };
    let next = assignFrom ?? -1n;
    let at = 0;
    while (at < records.length) {
      const size = batchSizeAt(dv, at);
      if (size < BATCH_HEADER_SIZE || at + size > records.length) {
        throw new InvalidBatchError(`${this.name}: batch at byte ${at} has length ${size}, ${records.length - at} bytes left`);
      }
      if (dv.getInt8(at + MAGIC_OFFSET) !== CURRENT_MAGIC) throw new InvalidBatchError(`${this.name}: batch at byte ${at} is not magic 2`);
      const delta = dv.getInt32(at + LAST_OFFSET_DELTA_OFFSET);
      if (delta < 0) throw new InvalidBatchError(`${this.name}: batch at byte ${at} has lastOffsetDelta ${delta}`);
      let base: bigint;
      if (assignFrom !== null) {
        base = next;
        dv.setBigInt64(at + BASE_OFFSET_OFFSET, base);
        dv.setInt32(at + PARTITION_LEADER_EPOCH_OFFSET, leaderEpoch);
      } else {
        base = dv.getBigInt64(at + BASE_OFFSET_OFFSET);
        if (prep.batches > 0 && base < next) throw new InvalidBatchError(`${this.name}: batch offset ${base} goes backwards (expected >= ${next})`);
      }
      if (appendTime >= 0) this.stampLogAppendTime(records, dv, at, size, appendTime);
      const last = base + BigInt(delta);
      const maxTs = Number(dv.getBigInt64(at + MAX_TIMESTAMP_OFFSET));
      if (prep.batches === 0) prep.baseOffset = base;
      if (maxTs > prep.maxTimestamp) {
        prep.maxTimestamp = maxTs;
        prep.offsetOfMaxTimestamp = last;
      }
      prep.lastOffset = last;
      prep.batches++;
      next = last + 1n;
      at += size;
    }
    return prep;
  }

  /** Marks a batch LogAppendTime with max timestamp `time`; the CRC covers both, so it is recomputed. */
  private stampLogAppendTime(records: Uint8Array, dv: DataView, at: number, size: number, time: number): void {
    const attributes = dv.getInt16(at + ATTRIBUTES_OFFSET);
    if ((attributes & ATTR_TIMESTAMP_TYPE) !== 0 && Number(dv.getBigInt64(at + MAX_TIMESTAMP_OFFSET)) === time) return;
    dv.setInt16(at + ATTRIBUTES_OFFSET, attributes | ATTR_TIMESTAMP_TYPE);
    dv.setBigInt64(at + MAX_TIMESTAMP_OFFSET, BigInt(time));
    dv.setUint32(at + CRC_OFFSET, computeBatchCrc(records, at, size));
  }

  private write(records: Uint8Array, dv: DataView, prep: PreparedAppend, now: number, appendTime: number): AppendResult {
    this.maybeRoll(records.length, prep, now);
    const seg = this.active();
    if (seg.size === 0) seg.rollTimestamp = prep.maxTimestamp >= 0 ? prep.maxTimestamp : -1;
    try {
      seg.append(records, dv, now);
    } catch (e) {
      this.goOffline(e);
      throw new LogStorageError(this.name, e);
    }
    this.leo = prep.lastOffset + 1n;
    if (this.cfg.preallocate) seg.preallocateAhead(this.cfg.segmentBytes);
    else if (records.length >= this.pretouchMinAppendBytes && this.pretouchBytes > 0 && this.deps.clock.monotonicMs() - this.lastSyncAskedMs >= this.pretouchPauseMs) {
      seg.pretouchAhead(this.pretouchBytes, this.cfg.segmentBytes);
    }
    this.afterAppend();
    return {
      baseOffset: prep.baseOffset,
      lastOffset: prep.lastOffset,
      logAppendTimeMs: appendTime,
      maxTimestamp: prep.maxTimestamp,
      offsetOfMaxTimestamp: prep.offsetOfMaxTimestamp,
      batches: prep.batches,
      logStartOffset: this.logStart,
    };
  }

  /**
   * Rolls a new active segment when the append would pass segment.bytes, segment.ms has passed, an index is full,
   * or offsets no longer fit. segment.ms counts in record time as Kafka's LogSegment.shouldRoll: from the largest
   * timestamp of the segment's first append to the largest of this one (so records stamped days apart go to
   * different segments however fast they arrive), or by the clock when that first append had no timestamp; on a
   * compacted topic it is at most max.compaction.lag.ms (Kafka's LogConfig.maxSegmentMs).
   */
  private maybeRoll(bytes: number, prep: PreparedAppend, now: number): void {
    const seg = this.active();
    const offsetsOverflow = prep.lastOffset - seg.baseOffset >= BigInt(MAX_RELATIVE_OFFSET) || prep.baseOffset < seg.baseOffset;
    if (seg.size === 0 && !offsetsOverflow) return;
    const tooBig = seg.size + bytes > this.cfg.segmentBytes || seg.size + bytes > MAX_SEGMENT_POSITION;
    const waited = seg.rollTimestamp >= 0 ? prep.maxTimestamp - seg.rollTimestamp : seg.rollStartMs >= 0 ? now - seg.rollStartMs : -Infinity;
    // Kafka's LogConfig.maxSegmentMs: a compacted topic's segments roll by max.compaction.lag.ms too (KIP-354); the
    // policy is looked at only once that much time has passed
    const maxLag = this.cfg.maxCompactionLagMs;
    const tooOld = waited > this.cfg.segmentMs - seg.rollJitterMs || (maxLag > 0 && waited > maxLag - seg.rollJitterMs && this.cfg.cleanupPolicy.includes("compact"));
    if (offsetsOverflow || tooBig || tooOld || seg.indexWouldOverflow(prep.batches)) this.roll(this.rollBaseFor(prep));
  }

  /**
   * The base offset of the segment an append rolls: the log end offset, even when the append starts past it (a
   * follower's batches after a compacted leader's gap), so that every segment starts where the one before it ends
   * and recovery can tell a legitimate gap from a lost tail (see {@link load}); the gap lies inside the new segment,
   * as in a cleaned one. Only when the append's offsets would not fit the index relative to the log end does the
   * segment start at the append's first offset (Kafka's choice for every roll).
   */
  private rollBaseFor(prep: PreparedAppend): bigint {
    if (this.leo !== this.active().nextOffset || prep.baseOffset < this.leo) {
      throw new Error(`${this.name}: broken invariant at a roll: log end ${this.leo}, active segment's end ${this.active().nextOffset}, append at ${prep.baseOffset}`);
    }
    return prep.lastOffset - this.leo < BigInt(MAX_RELATIVE_OFFSET) ? this.leo : prep.baseOffset;
  }

  /**
   * Rolls a new, empty active segment at the log end now, unless the active one is empty (Kafka's UnifiedLog.roll):
   * for tests and tools that need sealed segments whatever the records' times.
   */
  rollActive(): void {
    this.checkWritable();
    if (this.active().size > 0) this.roll(this.leo);
  }

  private roll(newBase: bigint): void {
    const old = this.active();
    try {
      if (old.size === 0) {
        this.segments.pop();
        old.deleteFiles();
      } else {
        old.seal();
        this.pendingSealed.push(old);
      }
      this.segments.push(this.newSegment(newBase));
    } catch (e) {
      this.goOffline(e);
      throw new LogStorageError(this.name, e);
    }
    if (this.pendingSealed.length > 0) this.flush().catch(noop);
    this.onRoll?.(newBase);
  }

  private newSegment(base: bigint): Segment {
    const seg = Segment.create(this.ctx, this.dir, base);
    this.dirUnsynced = true;
    const jitter = Math.min(this.cfg.segmentJitterMs, this.cfg.segmentMs);
    seg.rollJitterMs = jitter > 0 && Number.isFinite(jitter) ? Math.floor((this.deps.random ?? systemRandom).float() * jitter) : 0;
    seg.lastAppendMs = this.deps.clock.nowMs();
    return seg;
  }

  /** flush.messages and flush.ms. */
  private afterAppend(): void {
    if (this.leo - this.flushRequestedTo >= BigInt(Math.min(this.cfg.flushMessages, Number.MAX_SAFE_INTEGER))) {
      this.sync().catch(noop);
      return;
    }
    if (this.flushTimer === null && Number.isFinite(this.cfg.flushMs)) this.armFlushTimer(this.cfg.flushMs);
  }

  private armFlushTimer(delayMs: number): void {
    const clock = this.deps.clock;
    this.flushTimer = clock.setTimer(() => {
      this.flushTimer = null;
      if (this.closed || this.offline !== null || this.leo <= this.flushedTo) return;
      const waited = clock.nowMs() - this.lastFlushMs;
      if (waited >= this.cfg.flushMs) this.sync().catch(noop);
      else this.armFlushTimer(this.cfg.flushMs - waited);
    }, Math.min(Math.max(0, delayMs), MAX_TIMER_DELAY_MS));
  }

  private cancelFlushTimer(): void {
    if (this.flushTimer !== null) this.deps.clock.clearTimer(this.flushTimer);
    this.flushTimer = null;
  }

  /**
   * Makes every flush from now on wait for `gate` before its fsyncs (a new partition: its directory entry in the
   * log dir, fsynced asynchronously, must be durable before an acknowledged record counts as durable). A failing
   * gate fails the flush like a failing fsync.
   */
  holdFlushesUntil(gate: Promise<void>): void {
    this.flushGate = gate;
    gate.then(
      () => {
        if (this.flushGate === gate) this.flushGate = null;
      },
      () => {}, // reported by the flush that waited on it, and by its owner
    );
  }

  /** Whether the flush started last covers everything appended so far (for FlushRounds). */
  flushCoversAppended(): boolean {
    return this.leo <= (this.flushInFlightTarget > this.flushedTo ? this.flushInFlightTarget : this.flushedTo) && this.pendingSealed.length === 0 && !this.dirUnsynced;
  }

  /**
   * Starts one flush of everything appended so far: fdatasyncs of the sealed segments waiting for one and of the
   * active segment, then of the directory when a file was created. Called by {@link sync} (or by FlushRounds, one
   * round at a time); the recovery point moves when it completes.
   */
  startFlush(): Promise<void> {
    if (this.offline !== null) return Promise.reject(new LogStorageError(this.name, this.offline));
    if (this.closed) return this.flushedTo >= this.leo ? Promise.resolve() : Promise.reject(new Error(`log ${this.name} is closed`));
    const target = this.leo;
    const sealed = this.pendingSealed;
    if (target <= this.flushedTo && sealed.length === 0 && !this.dirUnsynced) return Promise.resolve();
    this.pendingSealed = [];
    // New files are durable only once their directory entries are: a power cut must lose neither a rolled segment
    // nor the index files a seal writes (they open lazily), so the directory is fsynced after them.
    const syncDir = this.dirUnsynced || sealed.length > 0;
    this.dirUnsynced = false;
    const active = this.active();
    this.flushInFlightTarget = target;
    // A truncation while this flush runs makes its target stale: offsets up to it may be written anew, unsynced.
    const truncationsAtStart = this.truncations;
    const gate = this.flushGate;
    const fsyncs = () => Promise.all([...sealed.map((s) => s.sync()), active.sync()]);
    const files = gate === null ? fsyncs() : gate.then(fsyncs);
    const own = syncDir ? files.then(() => this.deps.fs.syncDirAsync(this.dir)) : files;
    // A flush overlapping an earlier one counts only once that one has completed too.
    const earlier = this.flushInFlight;
    const ordered = earlier === null ? own : Promise.all([own, earlier]);
    this.flushesRunning++;
    const done = ordered.then(
      () => {
        this.flushesRunning--;
        if (target > this.flushedTo && this.truncations === truncationsAtStart) this.flushedTo = target;
        this.lastFlushMs = this.deps.clock.nowMs();
        if (this.flushInFlight === done) this.flushInFlight = null;
        if (sealed.length > 0) this.onSealedDurable?.();
      },
      (e: unknown) => {
        this.flushesRunning--;
        if (e instanceof LogStorageError && earlier !== null) {
          // The earlier flush failed and took the log offline; this one fails with it.
          if (this.flushInFlight === done) this.flushInFlight = null;
          throw e;
        }
        this.goOffline(e);
        if (this.flushInFlight === done) this.flushInFlight = null;
        throw new LogStorageError(this.name, e);
      },
    );
    this.flushInFlight = done;
    return done;
  }

  /** Whether segment `k` may be deleted: it lies wholly below the high watermark and is not the empty active segment. */
  private deletable(k: number): boolean {
    const seg = this.segments[k];
    const isLast = k === this.segments.length - 1;
    if (isLast && seg.size === 0) return false;
    const upper = isLast ? this.leo : this.segments[k + 1].baseOffset;
    return upper <= this.hw;
  }

  private addDeleted(result: RetentionResult, bytes: number, k: number): void {
    result.deletedSegments += k;
    result.deletedBytes += bytes;
  }

  /** Deletes the `k` oldest segments (rolling first if that is all of them); returns the bytes deleted. */
  private deleteOldest(k: number, reason: string): number {
    if (k <= 0) return 0;
    if (k >= this.segments.length) this.roll(this.leo);
    let bytes = 0;
    for (const seg of this.segments.splice(0, k)) {
      bytes += seg.size;
      this.dropSegment(seg);
    }
    if (this.segments[0].baseOffset > this.logStart) this.logStart = this.segments[0].baseOffset;
    if (this.hw < this.logStart) this.hw = this.logStart;
    this.deps.logger.info(`${this.name}: deleted ${k} segment(s), ${bytes} bytes, by ${reason}; log start offset ${this.logStart}`);
    this.onLogStartMoved?.(this.logStart);
    return bytes;
  }

  private dropSegment(seg: Segment): void {
    this.pendingSealed = this.pendingSealed.filter((s) => s !== seg);
    seg.deleteFiles();
  }

  /**
   * Whether segment `i`, starting past the recovered end of segment `i - 1`, shows that `i - 1` lost its tail. A
   * roll names the new segment after the log end ({@link rollBaseFor}), so a segment starts exactly where the one
   * before it ended when it was rolled, however far its first batch lies beyond (a replicated gap). Only a segment
   * rolled for offsets that could not fit after that end starts at its first batch; its base then lies beyond
   * anything segment `i - 1` could hold, and the gap is taken as it stands (as Kafka takes every gap).
   */
  private lostTailBefore(i: number): boolean {
    return this.segments[i].baseOffset <= this.segments[i - 1].baseOffset + BigInt(MAX_RELATIVE_OFFSET);
  }

  /** Lists segment files, removes leftovers, recovers from the recovery point, and sets the offsets. */
  private load(state: LogOpenState): void {
    const fs = this.deps.fs;
    fs.mkdirp(this.dir);
    const notes: string[] = [];
    const swapped = completeInterruptedSwaps(fs, this.dir);
    if (swapped > 0) notes.push(`finished ${swapped} interrupted compaction swap(s)`);
    const bases: bigint[] = [];
    const names = fs.list(this.dir);
    let removed = 0;
    for (const name of names) {
      if (LEFTOVER_SUFFIXES.some((s) => name.endsWith(s))) {
        fs.remove(`${this.dir}/${name}`);
        removed++;
        continue;
      }
      const base = parseSegmentFileName(name, LOG_SUFFIX);
      if (base !== null) bases.push(base);
    }
    const known = new Set(bases.map((b) => b.toString()));
    for (const name of names) {
      const base = parseSegmentFileName(name, INDEX_SUFFIX) ?? parseSegmentFileName(name, TIME_INDEX_SUFFIX);
      if (base !== null && !known.has(base.toString())) {
        fs.remove(`${this.dir}/${name}`);
        removed++;
      }
    }
    if (removed > 0) notes.push(`removed ${removed} leftover file(s)`);
    bases.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

    if (bases.length === 0) {
      const start = state.logStartOffset ?? state.recoveryPoint ?? 0n;
      this.segments = [this.newSegment(start < 0n ? 0n : start)];
      this.leo = this.logStart = this.flushedTo = this.segments[0].baseOffset;
      // The new partition's first segment files become durable with the first flush (asynchronous, off the event
      // loop): LogManager.syncCreated runs it before a created topic is recorded, and an ack waits for one anyway.
      this.dirUnsynced = true;
    } else {
      this.segments = bases.map((b) => Segment.open(this.ctx, this.dir, b));
      for (let i = 0; i + 1 < this.segments.length; i++) this.segments[i].nextOffset = this.segments[i + 1].baseOffset;
      let from = this.segments.length;
      if (!state.cleanShutdown) from = state.recoveryPoint === undefined ? 0 : this.segmentIndexFor(state.recoveryPoint);
      if (from < this.segments.length) this.recoveredFrom = this.segments[from].baseOffset;
      let minBase = 0n;
      for (let i = from; i < this.segments.length; i++) {
        const seg = this.segments[i];
        if (i > from && seg.baseOffset > minBase && this.lostTailBefore(i) && !this.cfg.cleanupPolicy.includes("compact")) {
          // A gap before this segment that was not there when it was rolled (its base offset is the log end at the
          // roll): a power cut kept a later segment but lost the synced-too-late tail of the one before it. Nothing
          // past the gap is a log; it goes (found by the deterministic simulation, tests/sim).
          const later = this.segments.splice(i);
          for (const s of later) s.deleteFiles();
          notes.push(`deleted ${later.length} segment(s) after a gap at offset ${minBase}`);
          break;
        }
        const r = seg.recover(minBase);
        const parts: string[] = [];
        if (r.truncatedBytes > 0) parts.push(`truncated ${r.truncatedBytes} bytes (${r.stopReason ?? "a zero-filled tail ahead of the log: preallocate, pretouch"})`);
        if (r.indexRebuilt) parts.push("rebuilt index");
        if (parts.length > 0) notes.push(`segment ${seg.baseOffset}: ${parts.join(", ")}`);
        if (r.stopReason !== null) {
          const later = this.segments.splice(i + 1);
          for (const s of later) s.deleteFiles();
          if (later.length > 0) notes.push(`deleted ${later.length} later segment(s)`);
          break;
        }
        minBase = seg.nextOffset;
      }
      const active = this.active();
      if (from >= this.segments.length && !active.loadTail()) {
        const r = active.recover(active.baseOffset);
        this.recoveredFrom = active.baseOffset;
        notes.push(`segment ${active.baseOffset}: unclean tail, ${r.truncatedBytes > 0 ? `truncated ${r.truncatedBytes} bytes (${r.stopReason ?? "a zero-filled tail ahead of the log: preallocate, pretouch"}), ` : ""}rebuilt index`);
      }
      active.activate();
      if (active.size > 0) {
        const now = this.deps.clock.nowMs();
        const first = active.firstBatchTimestamp();
        active.rollStartMs = first >= 0 && first <= now ? first : now;
        active.rollTimestamp = first >= 0 ? first : -1;
      }
      const now = this.deps.clock.nowMs();
      for (const seg of this.segments) seg.lastAppendMs = now;
      this.leo = active.nextOffset;
      const first = this.segments[0].baseOffset;
      let start = state.logStartOffset ?? first;
      if (start < first) start = first;
      if (start > this.leo) {
        // The recovered log ends below the checkpointed log start offset: a power cut lost the unsynced tail that
        // DeleteRecords (up to the high watermark, which on a single replica is the log end) had moved the start
        // past. As Kafka's LogLoader, every segment goes and the log restarts at the log start offset, so offsets
        // below it, reported deleted, are never given to new records (a consumer at the reported low watermark
        // would skip them). Found by the deterministic simulation (tests/sim, cleaning workload seed 121).
        const lost = this.leo;
        for (const seg of this.segments) seg.deleteFiles();
        this.segments = [this.newSegment(start)];
        this.leo = start;
        this.restartedAt = start;
        this.recoveredFrom = null;
        notes.push(`deleted every segment: the log end offset ${lost} is below the log start offset ${start}, where the log restarts`);
      }
      this.logStart = start;
      this.flushedTo = this.leo;
    }
    const cleaned = state.cleanerCheckpoint ?? 0n;
    this.cleanedTo = cleaned > this.leo ? this.leo : cleaned;
    let hw = state.highWatermark ?? this.leo;
    if (hw < this.logStart) hw = this.logStart;
    if (hw > this.leo) hw = this.leo;
    this.hw = hw;
    this.flushRequestedTo = this.flushedTo;
    this.lastFlushMs = this.deps.clock.nowMs();
    if (notes.length > 0) this.deps.logger.info(`recovered ${this.name}: ${notes.join("; ")}`);
  }
}
