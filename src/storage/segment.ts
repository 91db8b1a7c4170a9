/**
 * One log segment: `<20-digit base offset>.log` (record batches back to back, exactly as on the wire) with its
 * sparse `.index` and `.timeindex`. The active segment appends; sealed segments are read-only, served from a
 * memory map where the runtime has one (Bun) or by one pread per read call otherwise. The active segment is served
 * from a map of the prefix it had when last mapped (remapped after every {@link ACTIVE_REMAP_BYTES} appended), and
 * by pread beyond it, so tail reads copy and catch-up reads do not. A truncation below bytes handed out as views
 * replaces the `.log` with a copy of the kept prefix instead of cutting it, so queued views never change.
 *
 * Index files are not preallocated: entries are appended as they are made, so a file always holds whole entries
 * and nothing has to be trimmed on roll or close. Indexes of sealed segments load lazily on first use, are checked
 * against the log then, and are rebuilt from the log if they are missing or corrupt.
 */
import { setImmediate } from "node:timers";
import { type FileHandle, type FileSystem, ZERO_APPEND_MAX_BYTES } from "../platform/fs.ts";
import {
  BASE_OFFSET_OFFSET,
  BATCH_HEADER_SIZE,
  batchCrcValid,
  batchSizeAt,
  CURRENT_MAGIC,
  dataViewOf,
  LAST_OFFSET_DELTA_OFFSET,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
} from "../protocol/batch-layout.ts";
import { INDEX_SUFFIX, LOG_SUFFIX, offsetFileStem, TIME_INDEX_SUFFIX, DELETED_SUFFIX } from "./log-file-names.ts";
import { MAX_RELATIVE_OFFSET, OFFSET_INDEX_ENTRY_BYTES, OffsetIndex } from "./offset-index.ts";
import type { StorageLogger } from "./storage-deps.ts";
import { isDeletionAftermath } from "./storage-errors.ts";
import { NO_TIMESTAMP, TIME_INDEX_ENTRY_BYTES, TimeIndex } from "./time-index.ts";

/** Initial size of the shared scan buffer; recovery reads as much as it holds per syscall. */
const SCAN_WINDOW_BYTES = 256 * 1024;
/** Bytes read per syscall when a scan only walks batch headers. */
const HEADER_READAHEAD_BYTES = 16 * 1024;
/** Largest the shared scan buffer may grow to hold one batch; bigger batches get a buffer of their own. */
const MAX_SHARED_SCAN_BYTES = 64 * 1024 * 1024;
/** Bytes copied per step when a truncation rewrites the kept prefix of a `.log` into a new file. */
const TRUNCATE_COPY_BYTES = 8 * 1024 * 1024;
/** Suffix of that new file until it is renamed over the `.log` (a leftover is removed at open, as `.tmp`). */
const TRUNCATE_TMP_SUFFIX = ".tmp";
/**
 * Batch headers an index rebuild during reads walks per event-loop turn: each costs at most one pread of
 * HEADER_READAHEAD_BYTES from the page cache and a few field reads, so a turn stays around a few milliseconds even
 * for a 1 GiB segment of large batches; a segment of small batches needs fewer preads per step.
 */
export const INDEX_REBUILD_BATCHES_PER_STEP = 1024;
/** Bytes the active segment grows past its last map before a read maps it again (bounds maps per segment). */
const ACTIVE_REMAP_BYTES = 16 * 1024 * 1024;
/** Largest segment position: positions are int32 in the offset index. */
export const MAX_SEGMENT_POSITION = 2147483647;

/** Settings shared by all segments of a log; the log updates them when its config changes. */
export interface SegmentContext {
  /** File access. */
  fs: FileSystem;
  /** Where index rebuilds are reported. */
  logger: StorageLogger;
  /** `<topic>-<partition>`, for messages. */
  label: string;
  /** `segment.index.bytes`. */
  indexBytes: number;
  /** `index.interval.bytes`. */
  indexIntervalBytes: number;
}

/** Facts about one batch, filled in place by scans. */
export interface BatchInfo {
  /** Byte position in the `.log`. */
  position: number;
  /** Total batch size in bytes. */
  size: number;
  /** First offset. */
  baseOffset: bigint;
  /** Last offset. */
  lastOffset: bigint;
  /** Largest timestamp in the batch. */
  maxTimestamp: number;
}

/** Where a scan stopped and why. */
interface ScanStop {
  /** Position after the last good batch. */
  position: number;
  /** Offset after the last good batch (the scan's `minBaseOffset` if none). */
  nextOffset: bigint;
  /** Why the scan stopped before the end, or null if it reached the end (or the visitor stopped it). */
  reason: string | null;
}

/** What recovering a segment found. */
export interface SegmentRecovery {
  /** Bytes cut from the end of the `.log`. */
  truncatedBytes: number;
  /** Why the scan stopped early, or null if every batch was good. */
  stopReason: string | null;
  /** Position of the first bad batch. */
  stopPosition: number;
  /** Whether the index files were missing, corrupt or out of date with a cut log, and were rewritten. */
  indexRebuilt: boolean;
}

/** Result of reading one segment. */
export interface SegmentRead {
  /** Whole batches (a view into a map or into one fresh buffer), or null if none. */
  chunk: Uint8Array | null;
  /** Base offset of the first batch returned. */
  firstOffset: bigint;
  /** Offset after the last batch returned. */
  nextOffset: bigint;
  /** Batches returned. */
  batches: number;
  /** Whether the read consumed the segment to its end, so the next segment may continue it. */
  endOfSegment: boolean;
  /**
   * Whether the read stopped only because the map of the active segment (a prefix of it) ended: the segment holds
   * more, and a read from {@link SegmentRead.nextOffset} of the same segment continues it (by pread).
   */
  mapEnded: boolean;
}

/** Shared scan buffer: scans are synchronous, and a window re-reads if another window used the buffer since. */
let sharedScan = new Uint8Array(SCAN_WINDOW_BYTES);
let sharedScanView = dataViewOf(sharedScan);
let sharedScanOwner: FileWindow | null = null;

/** A sliding read window over a file, for walking batches without a syscall per batch. */
class FileWindow {
  buf: Uint8Array = sharedScan;
  dv: DataView = sharedScanView;
  private start = 0;
  private end = 0;
  constructor(
    private readonly file: FileHandle,
    private readonly limit: number,
  ) {}

  /** Makes bytes [pos, pos+n) available; returns their index in `buf`, or -1 if the limit comes first. */
  load(pos: number, n: number, readahead: number): number {
    if (sharedScanOwner === this && this.buf === sharedScan && pos >= this.start && pos + n <= this.end) return pos - this.start;
    if (pos + n > this.limit) return -1;
    if (n > MAX_SHARED_SCAN_BYTES) {
      this.buf = new Uint8Array(n);
      this.dv = dataViewOf(this.buf);
    } else {
      if (n > sharedScan.length) {
        let size = sharedScan.length;
        while (size < n) size *= 2;
        sharedScan = new Uint8Array(size);
        sharedScanView = dataViewOf(sharedScan);
      }
      this.buf = sharedScan;
      this.dv = sharedScanView;
      sharedScanOwner = this;
    }
    const want = Math.min(this.buf.length, Math.max(n, readahead), this.limit - pos);
    const got = this.file.read(this.buf.subarray(0, want), pos);
    this.start = pos;
    this.end = pos + got;
    return got < n ? -1 : 0;
  }
}

/** Takes whole batches from `buf[from, from+avail)` within `maxBytes` (one at least if `minOne`), stopping at `upperBound`. */
function takeBatches(buf: Uint8Array, dv: DataView, from: number, avail: number, maxBytes: number, minOne: boolean, upperBound: bigint, out: SegmentRead): number {
  let at = from;
  const end = from + avail;
  while (at + BATCH_HEADER_SIZE <= end) {
    const size = batchSizeAt(dv, at);
    if (size < BATCH_HEADER_SIZE || at + size > end) break;
    const base = dv.getBigInt64(at + BASE_OFFSET_OFFSET);
    const last = base + BigInt(dv.getInt32(at + LAST_OFFSET_DELTA_OFFSET));
    if (last >= upperBound) break;
    const taken = at - from;
    if (taken + size > maxBytes && !(minOne && out.batches === 0)) break;
    if (out.batches === 0) out.firstOffset = base;
    out.nextOffset = last + 1n;
    out.batches++;
    at += size;
  }
  return at - from;
}

/**
 * A file opened on its first write, read or sync (the active segment's index files); until then its size is the
 * size it will have when opened (`sizeWhenOpened`), and closing it unopened does nothing.
 */
class DeferredFile implements FileHandle {
  readonly path: string;
  private file: FileHandle | null = null;
  constructor(
    path: string,
    private readonly openNow: () => FileHandle,
    private readonly sizeWhenOpened: () => number,
  ) {
    this.path = path;
  }
  private opened(): FileHandle {
    if (this.file === null) this.file = this.openNow();
    return this.file;
  }
  size(): number {
    return this.file === null ? this.sizeWhenOpened() : this.file.size();
  }
  read(buf: Uint8Array, position: number): number {
    return this.opened().read(buf, position);
  }
  write(buf: Uint8Array, position: number): void {
    this.opened().write(buf, position);
  }
  writev(bufs: readonly Uint8Array[], position: number): number {
    return this.opened().writev(bufs, position);
  }
  datasync(): Promise<void> {
    return this.opened().datasync();
  }
  datasyncNow(): void {
    this.opened().datasyncNow();
  }
  truncate(length: number): void {
    this.opened().truncate(length);
  }
  close(): void {
    this.file?.close();
    this.file = null;
  }
}

/**
 * With `preallocate`: bytes zero-filled at a time ahead of the active segment's end (one write, then an
 * fdatasync off the event loop), and how few zeroed bytes may remain ahead before the next fill starts.
 */
export const PREALLOCATE_CHUNK_BYTES = 1 << 20;
/** See {@link PREALLOCATE_CHUNK_BYTES}. */
export const PREALLOCATE_REFILL_BELOW_BYTES = 256 * 1024;
const ZEROS = new Uint8Array(PREALLOCATE_CHUNK_BYTES);
/** With `runnel.log.pretouch.bytes`: most zero appends of one segment in flight at once (when they land late). */
const PRETOUCH_WRITES_IN_FLIGHT = 16;
/** Default of `runnel.log.pretouch.min.append.bytes`: smallest append that keeps zeros coming ahead (bulk ingest, see {@link Segment.pretouchAhead}). */
export const PRETOUCH_MIN_APPEND_BYTES = 32 * 1024;

/** One segment of a partition log. */
export class Segment {
  /** First offset the segment may hold (its file name). */
  readonly baseOffset: bigint;
  /** Path of the `.log` file. */
  readonly logPath: string;
  /** Path of the `.index` file. */
  readonly indexPath: string;
  /** Path of the `.timeindex` file. */
  readonly timeIndexPath: string;
  /** Bytes of whole batches in the `.log`. */
  size = 0;
  /** Offset after the last batch; for a sealed segment that was not scanned, the next segment's base offset. */
  nextOffset: bigint;
  /** Clock time the segment started taking appends (`segment.ms` when its first append has no timestamp), or -1 before its first append. */
  rollStartMs = -1;
  /**
   * Largest timestamp of the segment's first append (Kafka's `rollingBasedTimestamp`), or -1 before it or when it
   * has none: `segment.ms` counts from it to the largest timestamp of a new append, as Kafka's LogSegment.timeWaitedForRoll.
   */
  rollTimestamp = -1;
  /** Random part of `segment.jitter.ms` chosen for this segment. */
  rollJitterMs = 0;
  /** Clock time of the last append (or of opening): the age of a segment whose batches carry no timestamps. */
  lastAppendMs = 0;
  private readonly ctx: SegmentContext;
  private log: FileHandle;
  private maxTs = NO_TIMESTAMP;
  private offsetOfMaxTs = -1n;
  private timestampsKnown = false;
  private bytesSinceIndexEntry = 0;
  /** Batches counted in {@link bytesSinceIndexEntry}: 1 when the last batch is the last indexed one. */
  private batchesSinceIndexEntry = 0;
  private offsetIdx: OffsetIndex | null = null;
  private timeIdx: TimeIndex | null = null;
  private mapped: Uint8Array | null | undefined = undefined;
  /**
   * End of the bytes of this `.log` file handed out as views of a map: a response queued on a socket may still
   * send them, so a truncation below it must not cut or overwrite this file (see {@link truncateTo}).
   */
  private viewedEnd = 0;
  private sealedFlag = true;
  private unsyncedIndexFiles: FileHandle[] = [];
  /** `.log` files replaced by {@link replaceWithPrefix} while an fdatasync used them: closed when the syncs finish. */
  private retiredLogs: FileHandle[] = [];
  /** The files were deleted ({@link deleteFiles}). */
  private deleted = false;
  /** Asynchronous work on the `.log` in flight (fdatasyncs, zero appends): closing waits for it. */
  private syncing = 0;
  private closeWhenIdle = false;
  private closed = false;
  /** The stepwise index rebuild under way ({@link prepareIndexes}), or null. */
  private rebuilding: Promise<void> | null = null;
  /** With `preallocate`: [size, zeroedEnd) of the `.log` holds zeros that an fdatasync made durable. */
  private zeroedEnd = 0;
  /** With `preallocate`: a zero fill's fdatasync is running. */
  private zeroing = false;
  /** Bumped whenever the zero tail is cut off, so a zero fill that completes afterwards does not count. */
  private zeroGeneration = 0;
  /** With `runnel.log.pretouch.bytes`: zeros asked for reach at least this far (0 after a cut). */
  private touchedEnd = 0;
  /** Zero appends of {@link pretouchAhead} in flight (counted in {@link syncing} too). */
  private touching = 0;
  /** Waiting for {@link touching} to reach 0. */
  private readonly zeroWaiters: (() => void)[] = [];

  private constructor(ctx: SegmentContext, dir: string, baseOffset: bigint, log: FileHandle) {
    this.ctx = ctx;
    this.baseOffset = baseOffset;
    const stem = `${dir}/${offsetFileStem(baseOffset)}`;
    this.logPath = stem + LOG_SUFFIX;
    this.indexPath = stem + INDEX_SUFFIX;
    this.timeIndexPath = stem + TIME_INDEX_SUFFIX;
    this.log = log;
    this.size = log.size();
    this.nextOffset = baseOffset;
  }

  /** Creates a new, empty, active segment at `baseOffset` (files are created now). */
  static create(ctx: SegmentContext, dir: string, baseOffset: bigint): Segment {
    const stem = `${dir}/${offsetFileStem(baseOffset)}`;
    const log = ctx.fs.open(stem + LOG_SUFFIX, true);
    if (log.size() !== 0) log.truncate(0);
    const seg = new Segment(ctx, dir, baseOffset, log);
    seg.offsetIdx = new OffsetIndex(baseOffset, ctx.indexBytes);
    seg.timeIdx = new TimeIndex(baseOffset, ctx.indexBytes);
    seg.timestampsKnown = true;
    seg.activate();
    return seg;
  }

  /** Opens an existing segment as sealed; the log decides what to recover or activate. */
  static open(ctx: SegmentContext, dir: string, baseOffset: bigint): Segment {
    const log = ctx.fs.open(`${dir}/${offsetFileStem(baseOffset)}${LOG_SUFFIX}`, false);
    return new Segment(ctx, dir, baseOffset, log);
  }

  /** Whether the segment no longer takes appends. */
  get sealed(): boolean {
    return this.sealedFlag;
  }

  /** Largest batch max timestamp in the segment, or -1 if none has one. */
  largestTimestamp(): number {
    this.loadTimestamps();
    return this.maxTs;
  }

  /** Last offset of the batch holding {@link largestTimestamp}, or -1n. */
  offsetOfLargestTimestamp(): bigint {
    this.loadTimestamps();
    return this.offsetOfMaxTs;
  }

  /** The offset index, loaded (and checked, or rebuilt) on first use. */
  offsetIndex(): OffsetIndex {
    if (this.offsetIdx === null) this.loadIndexes();
    return this.offsetIdx!;
  }

  /** The time index, loaded (and checked, or rebuilt) on first use. */
  timeIndex(): TimeIndex {
    if (this.timeIdx === null) this.loadIndexes();
    return this.timeIdx!;
  }

  /**
   * Makes both indexes ready without holding the event loop: null when they are loaded, or load now from their
   * files (small; checked against the log); otherwise (missing or corrupt) a promise that settles once they have
   * been rebuilt from the log's batch headers INDEX_REBUILD_BATCHES_PER_STEP per loop turn. A synchronous use
   * meanwhile ({@link offsetIndex}) still rebuilds them at once; the stepwise rebuild then stops.
   */
  prepareIndexes(): Promise<void> | null {
    if (this.offsetIdx !== null && this.timeIdx !== null) return null;
    if (this.rebuilding !== null) return this.rebuilding;
    if (this.loadIndexFiles()) return null;
    const rebuild = this.rebuildIndexesStepwise().finally(() => {
      if (this.rebuilding === rebuild) this.rebuilding = null;
    });
    this.rebuilding = rebuild;
    return rebuild;
  }

  /** Whether `batches` more batches could overflow either index (the segment must roll first). */
  indexWouldOverflow(batches: number): boolean {
    return this.offsetIndex().wouldOverflow(batches) || this.timeIndex().wouldOverflow(batches + 1);
  }

  /**
   * Appends whole batches (offsets already assigned) with one write, then indexes them: an offset index entry
   * (batch last offset, batch position) once `index.interval.bytes` have been appended since the last one.
   */
  append(records: Uint8Array, dv: DataView, nowMs: number): void {
    if (this.sealedFlag) throw new Error(`append to sealed segment ${this.logPath}`);
    const position = this.size;
    if (position + records.length > MAX_SEGMENT_POSITION) throw new Error(`segment ${this.logPath} would pass 2 GiB`);
    this.log.write(records, position);
    this.size = position + records.length;
    if (this.rollStartMs < 0) this.rollStartMs = nowMs;
    this.lastAppendMs = nowMs;
    const off = this.offsetIndex();
    const time = this.timeIndex();
    let at = 0;
    while (at < records.length) {
      const size = batchSizeAt(dv, at);
      const last = dv.getBigInt64(at + BASE_OFFSET_OFFSET) + BigInt(dv.getInt32(at + LAST_OFFSET_DELTA_OFFSET));
      this.indexBatch(off, time, position + at, size, last, Number(dv.getBigInt64(at + MAX_TIMESTAMP_OFFSET)));
      this.nextOffset = last + 1n;
      at += size;
    }
  }

  /**
   * Reads whole batches starting with the one that holds `offset`: at most `maxBytes` (but the first batch even if
   * larger when `minOne`), none whose last offset is >= `upperBound`. `mapActive` lets the active segment answer
   * with views of its map: only for reads below the high watermark, as truncation (a follower's, to the leader's
   * log) would make a view still queued on a socket fault; other reads of the active segment copy.
   */
  read(offset: bigint, maxBytes: number, minOne: boolean, upperBound: bigint, out: SegmentRead, mapActive = false): void {
    out.chunk = null;
    out.batches = 0;
    out.firstOffset = offset;
    out.nextOffset = offset;
    out.endOfSegment = false;
    out.mapEnded = false;
    const view = this.sealedFlag || mapActive ? this.mappedView() : null;
    if (view !== null) {
      // `view` covers the whole of a sealed segment, and a prefix of the active one (pread serves the rest).
      const end = view.length;
      const dv = dataViewOf(view);
      let pos = this.positionFor(offset);
      while (pos + BATCH_HEADER_SIZE <= end) {
        const size = batchSizeAt(dv, pos);
        if (size < BATCH_HEADER_SIZE) throw new Error(`bad batch length at ${pos} in ${this.logPath}`);
        if (dv.getBigInt64(pos + BASE_OFFSET_OFFSET) + BigInt(dv.getInt32(pos + LAST_OFFSET_DELTA_OFFSET)) >= offset) break;
        pos += size;
      }
      const took = takeBatches(view, dv, pos, end - pos, maxBytes, minOne, upperBound, out);
      if (took > 0) {
        out.chunk = view.subarray(pos, pos + took);
        if (pos + took > this.viewedEnd) this.viewedEnd = pos + took;
      }
      // Stopped inside the map (a limit was reached), or the map covers the whole segment: the read is answered.
      if (pos + took < end || end === this.size) {
        out.endOfSegment = pos + took >= this.size;
        return;
      }
      // The map ended before the read did: the caller goes on in this segment, past the map, by pread.
      if (took > 0) {
        out.mapEnded = true;
        return;
      }
    }
    // The index may know where the batch starts: read from there at once, without first walking headers from the
    // entry before (a pread of up to HEADER_READAHEAD_BYTES of a batch the read does not want).
    const start = maxBytes >= BATCH_HEADER_SIZE ? this.offsetIndex().batchStartFor(offset) : -1;
    if (start >= 0) return this.readAt(start, offset, maxBytes, minOne, upperBound, out);
    const info = this.locate(offset);
    if (info === null) {
      out.endOfSegment = true;
      return;
    }
    if (info.lastOffset >= upperBound) return;
    let n: number;
    if (info.size > maxBytes) {
      if (!minOne) return;
      n = info.size;
    } else {
      n = Math.min(maxBytes, this.size - info.position);
    }
    const buf = new Uint8Array(n);
    const got = this.log.read(buf, info.position);
    if (got !== n) throw new Error(`short read of ${this.logPath}: ${got} of ${n} bytes at ${info.position}`);
    const took = takeBatches(buf, dataViewOf(buf), 0, n, maxBytes, minOne, upperBound, out);
    if (took > 0) out.chunk = buf.subarray(0, took);
    out.endOfSegment = info.position + took >= this.size;
  }

  /**
   * {@link read} by pread from `position`, where the first batch whose last offset is >= `offset` starts (as
   * {@link locate} would find it); `maxBytes` is at least a batch header. Reads no further than the start of the
   * batch that reaches `upperBound` where the index knows it (acks=all: batches past the high watermark are not sent).
   */
  private readAt(position: number, offset: bigint, maxBytes: number, minOne: boolean, upperBound: bigint, out: SegmentRead): void {
    const bound = upperBound < this.nextOffset ? this.offsetIndex().batchStartFor(upperBound) : -1;
    const end = bound >= 0 ? bound : this.size;
    if (end <= position) return; // the first batch reaches upperBound
    let n = Math.min(maxBytes, end - position);
    let buf = new Uint8Array(n);
    if (this.log.read(buf, position) !== n) throw new Error(`short read of ${this.logPath}: ${n} bytes at ${position}`);
    let dv = dataViewOf(buf);
    const size = batchSizeAt(dv, 0);
    const last = dv.getBigInt64(BASE_OFFSET_OFFSET) + BigInt(dv.getInt32(LAST_OFFSET_DELTA_OFFSET));
    if (size < BATCH_HEADER_SIZE || position + size > this.size || last < offset) {
      throw new Error(`offset index of ${this.logPath} points at position ${position} for offset ${offset}: batch of ${size} bytes, last offset ${last}`);
    }
    if (size > n) {
      // Larger than maxBytes: only a read that must return one batch takes it, whole.
      if (!minOne || last >= upperBound) return;
      n = size;
      buf = new Uint8Array(n);
      if (this.log.read(buf, position) !== n) throw new Error(`short read of ${this.logPath}: ${n} bytes at ${position}`);
      dv = dataViewOf(buf);
    }
    const took = takeBatches(buf, dv, 0, n, maxBytes, minOne, upperBound, out);
    if (took > 0) out.chunk = buf.subarray(0, took);
    out.endOfSegment = position + took >= this.size;
  }

  /** The batch holding `offset` or the first one after it (first with last offset >= `offset`), or null. */
  locate(offset: bigint): BatchInfo | null {
    let found: BatchInfo | null = null;
    this.scan(this.positionFor(offset), this.size, this.baseOffset, false, (b) => {
      if (b.lastOffset < offset) return true;
      found = { ...b };
      return false;
    });
    return found;
  }

  /** Calls `visit` for each batch from `position` (headers only) until it returns false or the segment ends. */
  forEachBatch(position: number, visit: (b: BatchInfo) => boolean): void {
    this.scan(position, this.size, this.baseOffset, false, visit);
  }

  /**
   * Walks the batches from the one holding `offset` (first with last offset >= `offset`) to the segment's end,
   * reading headers only: `visit` gets each batch's facts and its header at `buf[at, at + BATCH_HEADER_SIZE)` (`dv`
   * views `buf`), valid during the call. Returns why the walk stopped before the end (a batch that fails the framing
   * checks), or null when it reached the end.
   */
  forEachBatchHeaderFrom(offset: bigint, visit: (b: BatchInfo, buf: Uint8Array, dv: DataView, at: number) => void): string | null {
    return this.scan(this.positionFor(offset), this.size, this.baseOffset, false, (b, buf, dv, at) => {
      if (b.lastOffset >= offset) visit(b, buf, dv, at);
      return true;
    }).reason;
  }

  /**
   * Reads the whole batch described by `b` (from the map where there is one), for use at once: unlike {@link read},
   * the view is not counted as handed out, so it must not be kept past a truncation.
   */
  readBatch(b: BatchInfo): Uint8Array {
    const view = this.mappedView();
    if (view !== null && b.position + b.size <= view.length) return view.subarray(b.position, b.position + b.size);
    const buf = new Uint8Array(b.size);
    if (this.log.read(buf, b.position) !== b.size) throw new Error(`short read of ${this.logPath} at ${b.position}`);
    return buf;
  }

  /**
   * Checks every batch from the start (length, magic, CRC, offsets increasing from `minBaseOffset`), cuts the
   * `.log` at the first bad one, and rebuilds both indexes from the good batches, rewriting the index files when
   * they differ. Called at open for segments at or after the recovery point.
   */
  recover(minBaseOffset: bigint): SegmentRecovery {
    const fileSize = this.log.size();
    const oldOffsetBytes = this.readIfExists(this.indexPath);
    const oldTimeBytes = this.readIfExists(this.timeIndexPath);
    const off = new OffsetIndex(this.baseOffset, this.ctx.indexBytes);
    const time = new TimeIndex(this.baseOffset, this.ctx.indexBytes);
    this.maxTs = NO_TIMESTAMP;
    this.offsetOfMaxTs = -1n;
    this.bytesSinceIndexEntry = 0;
    this.batchesSinceIndexEntry = 0;
    const stop = this.scan(0, fileSize, minBaseOffset > this.baseOffset ? minBaseOffset : this.baseOffset, true, (b) => {
      this.indexBatch(off, time, b.position, b.size, b.lastOffset, b.maxTimestamp);
      return true;
    });
    time.maybeAppend(this.maxTs, this.offsetOfMaxTs);
    // Zeros to the end of the file are a preallocated tail (`preallocate`), not damage: the log simply ends there.
    if (stop.reason !== null && this.zerosFrom(stop.position, fileSize)) stop.reason = null;
    const truncatedBytes = fileSize - stop.position;
    if (truncatedBytes > 0) this.log.truncate(stop.position);
    this.log.datasyncNow();
    this.size = stop.position;
    this.nextOffset = this.size === 0 ? this.baseOffset : stop.nextOffset;
    this.timestampsKnown = true;
    const relLimit = this.relLimit();
    const offsetOk = oldOffsetBytes !== null && typeof OffsetIndex.decode(this.baseOffset, oldOffsetBytes, this.ctx.indexBytes, Math.max(1, this.size), relLimit) !== "string";
    const timeOk = oldTimeBytes !== null && typeof TimeIndex.decode(this.baseOffset, oldTimeBytes, this.ctx.indexBytes, relLimit) !== "string";
    this.writeIndexIfChanged(this.indexPath, oldOffsetBytes, off.encode());
    this.writeIndexIfChanged(this.timeIndexPath, oldTimeBytes, time.encode());
    this.offsetIdx = off;
    this.timeIdx = time;
    return {
      truncatedBytes,
      stopReason: stop.reason,
      stopPosition: stop.position,
      indexRebuilt: !offsetOk || !timeOk || truncatedBytes > 0,
    };
  }

  /**
   * Prepares a segment that was cleanly closed and not recovered to take appends: finds the log end by walking
   * headers from the last index entry. Returns false if that walk finds damage (the caller recovers instead).
   */
  loadTail(): boolean {
    const off = this.offsetIndex();
    const time = this.timeIndex();
    this.maxTs = time.lastTimestamp();
    this.offsetOfMaxTs = time.lastOffset();
    this.timestampsKnown = true;
    const start = off.lastPosition();
    this.bytesSinceIndexEntry = 0;
    this.batchesSinceIndexEntry = 0;
    const stop = this.scan(start, this.size, this.baseOffset, false, (b) => {
      this.noteBatch(b, start);
      return true;
    });
    if (stop.reason !== null || stop.position !== this.size) return false;
    this.nextOffset = this.size === 0 ? this.baseOffset : stop.nextOffset;
    return time.lastOffset() < this.nextOffset;
  }

  /** Reads the first batch's max timestamp (the start of `segment.ms` for a reopened segment), or -1. */
  firstBatchTimestamp(): number {
    let ts = NO_TIMESTAMP;
    this.scan(0, this.size, this.baseOffset, false, (b) => {
      ts = b.maxTimestamp;
      return false;
    });
    return ts;
  }

  /**
   * Makes this segment take appends. Its index files open lazily, on the first index entry or at seal (rewritten
   * then if they differ from memory): a partition that never writes `index.interval.bytes` holds one file, not three.
   */
  activate(): void {
    const off = this.offsetIndex();
    const time = this.timeIndex();
    this.loadTimestamps();
    this.dropMap();
    off.attach(new DeferredFile(this.indexPath, () => this.openIndexFile(this.indexPath, off.encode()), () => off.entries * OFFSET_INDEX_ENTRY_BYTES));
    time.attach(new DeferredFile(this.timeIndexPath, () => this.openIndexFile(this.timeIndexPath, time.encode()), () => time.entries * TIME_INDEX_ENTRY_BYTES));
    this.sealedFlag = false;
  }

  /** Stops appends: records the final max timestamp in the time index; index files stay open until {@link sync}. */
  seal(): void {
    if (this.sealedFlag) return;
    this.dropPreallocated();
    this.timeIdx!.maybeAppend(this.maxTs, this.offsetOfMaxTs);
    for (const f of [this.offsetIdx!.detach(), this.timeIdx!.detach()]) if (f !== null) this.unsyncedIndexFiles.push(f);
    this.sealedFlag = true;
    this.dropMap(); // a map taken while active covers only a prefix: the next read maps the whole segment
  }

  /**
   * `preallocate`: keeps zeros ahead of the end of this active segment, up to `limit` (segment.bytes), so that an
   * append overwrites blocks that are already allocated and durable and its fdatasync writes only data (on ext4 an
   * append that grows the file makes every fdatasync wait for a journal commit shared with the whole disk). When
   * fewer than PREALLOCATE_REFILL_BELOW_BYTES remain, the next PREALLOCATE_CHUNK_BYTES are written with zeros now and
   * count once their fdatasync completes. Recovery reads a zero tail as the end of the log; seal cuts it off.
   */
  preallocateAhead(limit: number): void {
    if (this.sealedFlag || this.closed || this.zeroing || this.zeroedEnd - this.size >= PREALLOCATE_REFILL_BELOW_BYTES) return;
    const from = this.zeroedEnd > this.size ? this.zeroedEnd : this.size;
    const to = Math.min(from + PREALLOCATE_CHUNK_BYTES, limit, MAX_SEGMENT_POSITION);
    if (to <= from) return;
    this.log.write(ZEROS.subarray(0, to - from), from);
    this.zeroing = true;
    this.syncing++;
    const generation = this.zeroGeneration;
    this.log.datasync().then(
      () => {
        this.zeroing = false;
        this.syncing--;
        if (!this.sealedFlag && generation === this.zeroGeneration && this.zeroedEnd < to) this.zeroedEnd = to;
        if (this.closeWhenIdle && this.syncing === 0) this.closeFiles();
      },
      () => {
        // A failing disk shows on the next flush, which takes the log offline.
        this.zeroing = false;
        this.syncing--;
        if (this.closeWhenIdle && this.syncing === 0) this.closeFiles();
      },
    );
  }

  /**
   * `runnel.log.pretouch.bytes`: keeps about `bytes` of written zeros (up to `limit`, segment.bytes) ahead of this
   * active segment's end, so the event loop's appends overwrite page-cache pages that exist (and are dirty) already
   * instead of allocating new ones: on a VM whose freed memory goes back to the host, the first touch of a page costs
   * several times its copy, and the thread pool pays it instead. The zeros are appended by the runtime's thread
   * pool (FileHandle.appendZeros, O_APPEND: each lands at the file's end as it is then, never over an append, even
   * one that overtook it), ZERO_APPEND_MAX_BYTES (or `bytes`, if less) at a time, at most PRETOUCH_WRITES_IN_FLIGHT
   * at once. They are not fdatasynced. Like preallocate's zeros they are cut off at seal (roll, close) and
   * truncation; zeros that land on a sealed segment are cut when they land, and its {@link sync} waits for them
   * first. Recovery reads a zero tail as the end of the log.
   */
  pretouchAhead(bytes: number, limit: number): void {
    if (this.sealedFlag || this.closed || this.log.appendZeros === undefined) return;
    const cap = Math.min(limit, MAX_SEGMENT_POSITION);
    const want = Math.min(this.size + bytes, cap);
    const chunk = Math.min(ZERO_APPEND_MAX_BYTES, bytes);
    while (this.touching < PRETOUCH_WRITES_IN_FLIGHT) {
      const from = Math.max(this.touchedEnd, this.size);
      const n = Math.min(chunk, want - from);
      // Whole writes only, but for the last piece before the segment's limit.
      if (n <= 0 || (n < chunk && want < cap)) return;
      let landing: Promise<void>;
      try {
        landing = this.log.appendZeros(n);
      } catch {
        return; // the file cannot be reopened now (an evicted descriptor): the append itself is done, zeros are optional
      }
      this.touchedEnd = from + n;
      this.touching++;
      this.syncing++;
      void landing.then(() => this.zerosLanded());
    }
  }

  /**
   * Settles a zero append of {@link pretouchAhead}: zeros that landed after a seal are cut off again, unless the
   * segment is closing: its files are then deleted, or renamed away by a compaction swap, and its path may name the
   * cleaned segment that replaced it, which an evicted descriptor reopened by path would cut (records lost, and a
   * map of it faulting past the cut). A log that closes waits for its zeros first, so they never stay in a live file.
   */
  private zerosLanded(): void {
    this.touching--;
    this.syncing--;
    if (this.sealedFlag && !this.closed && !this.closeWhenIdle) {
      try {
        if (this.log.size() > this.size) this.log.truncate(this.size);
      } catch {
        // A failing disk shows on the segment's next flush, which takes the log offline.
      }
    }
    if (this.touching === 0) for (const resolve of this.zeroWaiters.splice(0)) resolve();
    if (this.closeWhenIdle && this.syncing === 0) this.closeFiles();
  }

  /** Settles once no zero append of {@link pretouchAhead} is in flight. */
  zerosSettled(): Promise<void> {
    if (this.touching === 0) return Promise.resolve();
    return new Promise((resolve) => this.zeroWaiters.push(resolve));
  }

  /** Cuts preallocated or pretouched zeros off the `.log` (seal, truncation): the file ends at the last batch again. */
  private dropPreallocated(): void {
    this.zeroedEnd = 0;
    this.touchedEnd = 0;
    this.zeroGeneration++;
    if (this.log.size() > this.size) this.log.truncate(this.size);
  }

  /** Flushes the `.log` (and index files of a freshly sealed segment) to stable storage. */
  async sync(): Promise<void> {
    if (this.closed) return;
    // Zeros still landing on a sealed segment are cut when they land: only then may the cut be made durable.
    if (this.sealedFlag && this.touching > 0) await this.zerosSettled();
    if (this.closed) return;
    const indexFiles = this.unsyncedIndexFiles;
    this.unsyncedIndexFiles = [];
    this.syncing++;
    try {
      // An index file opens on first use (DeferredFile) and may throw then: as a rejection, after the .log's
      // fdatasync has been awaited too (thrown at once, it left that promise's failure unhandled: the process died).
      await Promise.all([this.log, ...indexFiles].map(async (f) => f.datasync()));
    } catch (e) {
      // Deleted meanwhile (retention, truncation): nothing of it is to be made durable, and a file closed to make
      // room cannot be reopened (found by tests/storage/partition-log-property.test.ts: the log went offline). An error
      // the deletion did not cause (EIO of an fdatasync issued before it) is still the disk's failure.
      if (!this.deleted || !isDeletionAftermath(e)) throw e;
    } finally {
      for (const f of indexFiles) f.close();
      this.syncing--;
      if (this.syncing === 0) this.closeRetiredLogs();
      if (this.closeWhenIdle && this.syncing === 0) this.closeFiles();
    }
  }

  /** Flushes synchronously (shutdown). */
  syncNow(): void {
    if (this.closed) return;
    this.log.datasyncNow();
    for (const f of this.unsyncedIndexFiles) {
      f.datasyncNow();
      f.close();
    }
    this.unsyncedIndexFiles = [];
  }

  /**
   * Cuts the segment so that no batch with last offset >= `offset` remains (a batch holding `offset` goes
   * whole); returns the bytes removed. Leaves the segment active.
   */
  truncateTo(offset: bigint): number {
    const info = this.locate(offset);
    if (!this.sealedFlag) {
      this.offsetIdx!.detach()?.close();
      this.timeIdx!.detach()?.close();
    }
    this.sealedFlag = true;
    this.dropMap();
    this.dropPreallocated();
    let removed = 0;
    if (info !== null) {
      removed = this.size - info.position;
      if (info.position < this.viewedEnd) this.replaceWithPrefix(info.position);
      else this.log.truncate(info.position);
      this.size = info.position;
      this.offsetIndex().truncateToPosition(info.position);
      this.timeIndex().truncateToOffset(info.baseOffset);
    }
    this.maxTs = NO_TIMESTAMP;
    this.offsetOfMaxTs = -1n;
    this.nextOffset = this.baseOffset;
    this.bytesSinceIndexEntry = 0;
    this.batchesSinceIndexEntry = 0;
    const last = this.offsetIndex().lastPosition();
    this.scan(0, this.size, this.baseOffset, false, (b) => {
      this.noteBatch(b, last);
      this.nextOffset = b.lastOffset + 1n;
      return true;
    });
    this.timestampsKnown = true;
    if (this.size === 0) {
      this.rollStartMs = -1;
      this.rollTimestamp = -1;
    }
    this.activate();
    return removed;
  }

  /**
   * Truncation below bytes handed out as views (an unclean election; a follower read of a sealed segment): the
   * kept prefix is copied into a new file renamed over the `.log`, so the old file, still mapped, keeps what the
   * queued views send; cutting it in place would make them fault, or send the batches appended after the cut.
   */
  private replaceWithPrefix(length: number): void {
    const tmp = this.logPath + TRUNCATE_TMP_SUFFIX;
    const f = this.ctx.fs.open(tmp, true);
    try {
      f.truncate(0);
      const buf = new Uint8Array(Math.min(TRUNCATE_COPY_BYTES, length));
      for (let at = 0; at < length; ) {
        const n = Math.min(buf.length, length - at);
        const got = this.log.read(buf.subarray(0, n), at);
        if (got !== n) throw new Error(`short read of ${this.logPath}: ${got} of ${n} bytes at ${at}`);
        f.write(buf.subarray(0, n), at);
        at += n;
      }
      f.datasyncNow();
    } finally {
      f.close();
    }
    this.ctx.fs.rename(tmp, this.logPath);
    this.ctx.fs.syncDir(this.logPath.slice(0, this.logPath.lastIndexOf("/")));
    const old = this.log;
    this.log = this.ctx.fs.open(this.logPath, false);
    // An fdatasync in flight still uses the old file: it is closed once the syncs finish (closing it under them
    // failed the flush and took the log offline; found by tests/storage/partition-log-property.test.ts).
    if (this.syncing > 0) this.retiredLogs.push(old);
    else old.close();
    this.viewedEnd = 0;
  }

  /** Closes the files (once in-flight syncs finish). */
  close(): void {
    this.dropMap();
    if (this.syncing > 0) this.closeWhenIdle = true;
    else this.closeFiles();
  }

  /** Closes the segment and deletes its files: each is renamed to `.deleted` first, then removed. */
  deleteFiles(): void {
    this.deleted = true;
    this.close();
    const fs = this.ctx.fs;
    for (const path of [this.logPath, this.indexPath, this.timeIndexPath]) {
      if (!fs.exists(path)) continue;
      fs.rename(path, path + DELETED_SUFFIX);
      fs.remove(path + DELETED_SUFFIX);
    }
  }

  private closeRetiredLogs(): void {
    for (const f of this.retiredLogs) f.close();
    this.retiredLogs = [];
  }

  private closeFiles(): void {
    if (this.closed) return;
    this.closed = true;
    this.closeRetiredLogs();
    this.log.close();
    this.offsetIdx?.detach()?.close();
    this.timeIdx?.detach()?.close();
    for (const f of this.unsyncedIndexFiles) f.close();
    this.unsyncedIndexFiles = [];
  }

  /** Tracks the largest timestamp and the bytes appended since the index entry at `lastIndexedPosition`. */
  private noteBatch(b: BatchInfo, lastIndexedPosition: number): void {
    if (b.maxTimestamp > this.maxTs) {
      this.maxTs = b.maxTimestamp;
      this.offsetOfMaxTs = b.lastOffset;
    }
    if (b.position >= lastIndexedPosition) {
      this.bytesSinceIndexEntry += b.size;
      this.batchesSinceIndexEntry++;
    }
  }

  private indexBatch(off: OffsetIndex, time: TimeIndex, position: number, size: number, lastOffset: bigint, maxTimestamp: number): void {
    if (maxTimestamp > this.maxTs) {
      this.maxTs = maxTimestamp;
      this.offsetOfMaxTs = lastOffset;
    }
    if (this.bytesSinceIndexEntry >= this.ctx.indexIntervalBytes) {
      off.append(lastOffset, position, off.entries > 0 && this.batchesSinceIndexEntry === 1);
      time.maybeAppend(this.maxTs, this.offsetOfMaxTs);
      this.bytesSinceIndexEntry = 0;
      this.batchesSinceIndexEntry = 0;
    }
    this.bytesSinceIndexEntry += size;
    this.batchesSinceIndexEntry++;
  }

  /** Exclusive bound on relative offsets in this segment's indexes. */
  private relLimit(): number {
    const rel = this.nextOffset - this.baseOffset;
    if (this.nextOffset <= this.baseOffset) return this.sealedFlag ? MAX_RELATIVE_OFFSET : 1;
    return rel > BigInt(MAX_RELATIVE_OFFSET) ? MAX_RELATIVE_OFFSET : Number(rel);
  }

  private loadTimestamps(): void {
    if (this.timestampsKnown) return;
    const time = this.timeIndex();
    this.maxTs = time.lastTimestamp();
    this.offsetOfMaxTs = time.lastOffset();
    this.timestampsKnown = true;
  }

  /**
   * Where to start looking for `offset`: the offset index's entry, or the segment's start when the indexes are not
   * loaded and `offset` is at or below the base offset (a read that continues from the previous segment needs no
   * index, so it never triggers a rebuild).
   */
  private positionFor(offset: bigint): number {
    if (this.offsetIdx === null && offset <= this.baseOffset) return 0;
    return this.offsetIndex().lookup(offset);
  }

  /** Loads both index files, checking them against the log; rebuilds them from the log if either is bad. */
  private loadIndexes(): void {
    if (this.loadIndexFiles()) return;
    const steps = this.rebuildSteps();
    while (!steps.next().done);
  }

  /** Loads both index files if both are present and agree with the log; otherwise reports why and returns false. */
  private loadIndexFiles(): boolean {
    const relLimit = this.sealedFlag && this.nextOffset > this.baseOffset ? this.relLimit() : MAX_RELATIVE_OFFSET;
    const offBytes = this.readIfExists(this.indexPath);
    const timeBytes = this.readIfExists(this.timeIndexPath);
    const off = offBytes === null ? "missing" : OffsetIndex.decode(this.baseOffset, offBytes, this.ctx.indexBytes, Math.max(1, this.size), relLimit);
    const time = timeBytes === null ? "missing" : TimeIndex.decode(this.baseOffset, timeBytes, this.ctx.indexBytes, relLimit);
    if (typeof off !== "string" && typeof time !== "string") {
      this.offsetIdx = off;
      this.timeIdx = time;
      return true;
    }
    this.ctx.logger.warn(
      `${this.ctx.label}: rebuilding indexes of segment ${this.baseOffset} (${typeof off === "string" ? `.index ${off}` : `.timeindex ${time}`})`,
    );
    return false;
  }

  /** Runs {@link rebuildSteps} with a loop turn between steps; stops early if the segment closes or a synchronous load won. */
  private async rebuildIndexesStepwise(): Promise<void> {
    const steps = this.rebuildSteps();
    while (!steps.next().done) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.closed || this.closeWhenIdle || this.offsetIdx !== null) {
        steps.return();
        return;
      }
    }
  }

  /**
   * Rebuilds both indexes from batch headers (no truncation) and rewrites their files, yielding after every
   * INDEX_REBUILD_BATCHES_PER_STEP headers; nothing is installed until the last step.
   */
  private *rebuildSteps(): Generator<void, void, void> {
    const off = new OffsetIndex(this.baseOffset, this.ctx.indexBytes);
    const time = new TimeIndex(this.baseOffset, this.ctx.indexBytes);
    this.maxTs = NO_TIMESTAMP;
    this.offsetOfMaxTs = -1n;
    this.bytesSinceIndexEntry = 0;
    this.batchesSinceIndexEntry = 0;
    let position = 0;
    let expected = this.baseOffset;
    for (;;) {
      let budget = INDEX_REBUILD_BATCHES_PER_STEP;
      const stop = this.scan(position, this.size, expected, false, (b) => {
        if (budget-- === 0) return false;
        this.indexBatch(off, time, b.position, b.size, b.lastOffset, b.maxTimestamp);
        return true;
      });
      if (budget >= 0 || stop.reason !== null) break;
      position = stop.position;
      expected = stop.nextOffset;
      yield;
    }
    if (this.sealedFlag) time.maybeAppend(this.maxTs, this.offsetOfMaxTs);
    this.timestampsKnown = true;
    this.writeIndexIfChanged(this.indexPath, null, off.encode(), false);
    this.writeIndexIfChanged(this.timeIndexPath, null, time.encode(), false);
    this.offsetIdx = off;
    this.timeIdx = time;
  }

  /**
   * Walks batches in [from, limit): checks framing (length >= 61 and inside the limit, magic 2, offsets not
   * going backwards, relative offsets fitting int32) and, when `verify`, the CRC. Stops at the first failure.
   */
  private scan(from: number, limit: number, minBaseOffset: bigint, verify: boolean, visit: (b: BatchInfo, buf: Uint8Array, dv: DataView, at: number) => boolean): ScanStop {
    const win = new FileWindow(this.log, limit);
    const b: BatchInfo = { position: 0, size: 0, baseOffset: 0n, lastOffset: 0n, maxTimestamp: 0 };
    const readahead = verify ? MAX_SHARED_SCAN_BYTES : HEADER_READAHEAD_BYTES;
    let pos = from;
    let expected = minBaseOffset;
    const stop = (reason: string | null): ScanStop => ({ position: pos, nextOffset: expected, reason });
    while (pos < limit) {
      // Past a batch larger than half the readahead the next header most likely lies beyond it too: read the header
      // alone rather than copying record bytes no one looks at (a header walk over 1 GiB of 1 MiB batches reads 61 KiB).
      const headerOnly = !verify && b.size > HEADER_READAHEAD_BYTES / 2;
      let at = win.load(pos, BATCH_HEADER_SIZE, headerOnly ? BATCH_HEADER_SIZE : readahead);
      if (at < 0) return stop(`torn batch header at position ${pos} (${limit - pos} bytes left)`);
      let dv = win.dv;
      const size = batchSizeAt(dv, at);
      if (size < BATCH_HEADER_SIZE) return stop(`bad batch length ${size} at position ${pos}`);
      if (pos + size > limit) return stop(`torn batch at position ${pos} (length ${size}, ${limit - pos} bytes left)`);
      const magic = dv.getInt8(at + MAGIC_OFFSET);
      if (magic !== CURRENT_MAGIC) return stop(`bad magic ${magic} at position ${pos}`);
      const base = dv.getBigInt64(at + BASE_OFFSET_OFFSET);
      const delta = dv.getInt32(at + LAST_OFFSET_DELTA_OFFSET);
      const maxTimestamp = Number(dv.getBigInt64(at + MAX_TIMESTAMP_OFFSET));
      if (delta < 0) return stop(`bad lastOffsetDelta ${delta} at position ${pos}`);
      if (base < expected) return stop(`offset ${base} at position ${pos} is below the expected ${expected}`);
      const last = base + BigInt(delta);
      if (last - this.baseOffset >= BigInt(MAX_RELATIVE_OFFSET)) return stop(`offset ${last} at position ${pos} does not fit the segment`);
      if (verify) {
        at = win.load(pos, size, readahead);
        if (at < 0) return stop(`torn batch at position ${pos}`);
        dv = win.dv;
        if (!batchCrcValid(win.buf, dv, at, size)) return stop(`bad CRC in batch at position ${pos}`);
      }
      b.position = pos;
      b.size = size;
      b.baseOffset = base;
      b.lastOffset = last;
      b.maxTimestamp = maxTimestamp;
      if (!visit(b, win.buf, dv, at)) return stop(null);
      expected = last + 1n;
      pos += size;
    }
    return stop(null);
  }

  /** Whether the `.log` holds only zero bytes in [from, to). */
  private zerosFrom(from: number, to: number): boolean {
    const buf = new Uint8Array(Math.min(PREALLOCATE_CHUNK_BYTES, Math.max(0, to - from)));
    for (let at = from; at < to; ) {
      const n = Math.min(buf.length, to - at);
      if (this.log.read(buf.subarray(0, n), at) !== n) return false;
      for (let i = 0; i < n; i++) if (buf[i] !== 0) return false;
      at += n;
    }
    return true;
  }

  private mappedView(): Uint8Array | null {
    if (this.size === 0) return null;
    const stale = this.mapped !== undefined && this.mapped !== null && this.size - this.mapped.length >= ACTIVE_REMAP_BYTES;
    if (this.mapped === undefined || stale) {
      const map = this.ctx.fs.mmap(this.logPath);
      this.mapped = map !== null && map.length >= this.size ? map.subarray(0, this.size) : null;
    }
    return this.mapped;
  }

  private dropMap(): void {
    this.mapped = undefined;
  }

  private readIfExists(path: string): Uint8Array | null {
    return this.ctx.fs.exists(path) ? this.ctx.fs.readFile(path) : null;
  }

  /**
   * Rewrites an index file unless it already holds `bytes`. `syncNow` (recovery at start) fsyncs before returning;
   * otherwise (a rebuild while serving a read) the fsync runs asynchronously, off the event loop: an index is
   * derived from the log, so one lost to a crash is only rebuilt again.
   */
  private writeIndexIfChanged(path: string, old: Uint8Array | null, bytes: Uint8Array, syncNow = true): void {
    if (old !== null && old.length === bytes.length && old.every((v, i) => v === bytes[i])) return;
    const f = this.ctx.fs.open(path, true);
    let closeNow = true;
    try {
      f.truncate(0);
      if (bytes.length > 0) f.write(bytes, 0);
      if (syncNow) f.datasyncNow();
      else {
        closeNow = false;
        f.datasync().then(
          () => f.close(),
          (e: unknown) => {
            f.close();
            this.ctx.logger.warn(`${this.ctx.label}: fsync of rebuilt ${path} failed (rebuilt again if needed): ${String(e)}`);
          },
        );
      }
    } finally {
      if (closeNow) f.close();
    }
  }

  private openIndexFile(path: string, bytes: Uint8Array): FileHandle {
    const f = this.ctx.fs.open(path, true);
    if (f.size() !== bytes.length) {
      f.truncate(0);
      if (bytes.length > 0) f.write(bytes, 0);
    }
    return f;
  }
}
