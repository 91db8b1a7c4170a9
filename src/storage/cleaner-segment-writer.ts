/**
 * Writes one cleaned segment: `<base>.log.cleaned` with its `.index.cleaned` and `.timeindex.cleaned` (and, for a log
 * with transactions, `.txnindex.cleaned`: the aborted transactions it keeps, in Kafka's layout), built as the
 * batches go by (the same sparse rules as an appended segment: an offset index entry once `index.interval.bytes`
 * were written since the last, the time index tracking the largest timestamp). Batches are gathered in a reused
 * buffer and written a chunk at a time. {@link CleanedSegmentWriter.finish} makes all three files durable; nothing
 * is visible under a segment name until the swap (cleaner-swap.ts).
 */
import type { FileHandle, FileSystem } from "../platform/fs.ts";
import { BASE_OFFSET_OFFSET, dataViewOf, LAST_OFFSET_DELTA_OFFSET, MAX_TIMESTAMP_OFFSET } from "../protocol/batch-layout.ts";
import type { CleanerAbortedTxn } from "./cleaner-txn-state.ts";
import { INDEX_SUFFIX, LOG_SUFFIX, offsetFileStem, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX } from "./log-file-names.ts";
import { OffsetIndex } from "./offset-index.ts";
import { MAX_SEGMENT_POSITION } from "./segment.ts";
import { NO_TIMESTAMP, TimeIndex } from "./time-index.ts";

/** Suffix of a cleaned file not yet swapped in. */
export const CLEANED_SUFFIX = ".cleaned";
/** Bytes gathered before a write call. */
export const CLEANER_WRITE_CHUNK_BYTES = 1024 * 1024;

/** Bytes of one `.txnindex` entry: version int16 (0), producerId, firstOffset, lastOffset, lastStableOffset (int64s). */
const TXN_INDEX_ENTRY_BYTES = 34;

/** The file paths of a segment with a given suffix appended (`""` for the live names). */
export function segmentFilePaths(dir: string, baseOffset: bigint, suffix: string): { log: string; index: string; timeIndex: string; txnIndex: string } {
  const stem = `${dir}/${offsetFileStem(baseOffset)}`;
  return { log: stem + LOG_SUFFIX + suffix, index: stem + INDEX_SUFFIX + suffix, timeIndex: stem + TIME_INDEX_SUFFIX + suffix, txnIndex: stem + TXN_INDEX_SUFFIX + suffix };
}

/** The `.txnindex` path of the segment whose `.log` is at `logPath`. */
export function txnIndexPathOf(logPath: string): string {
  if (!logPath.endsWith(LOG_SUFFIX)) throw new Error(`not a segment log path: ${logPath}`);
  return logPath.slice(0, -LOG_SUFFIX.length) + TXN_INDEX_SUFFIX;
}

/** Index settings of the log being cleaned. */
export interface CleanedIndexSettings {
  /** `segment.index.bytes`. */
  indexBytes: number;
  /** `index.interval.bytes`. */
  indexIntervalBytes: number;
}

/** Writer of one cleaned segment. */
export class CleanedSegmentWriter {
  /** Base offset of the new segment (that of the first segment it replaces). */
  readonly baseOffset: bigint;
  /** Paths of the `.cleaned` files. */
  readonly paths: { log: string; index: string; timeIndex: string; txnIndex: string };
  /** Bytes of batches written so far. */
  size = 0;
  /** Batches written so far. */
  batches = 0;
  private readonly fs: FileSystem;
  private readonly settings: CleanedIndexSettings;
  private log: FileHandle | null;
  private readonly gather: Uint8Array;
  private gathered = 0;
  private flushedTo = 0;
  private readonly offsetIdx: OffsetIndex;
  private readonly timeIdx: TimeIndex;
  private maxTs = NO_TIMESTAMP;
  private offsetOfMaxTs = -1n;
  private bytesSinceIndexEntry = 0;

  /** Creates the `.cleaned` log file (replacing any leftover) for a segment at `baseOffset`; `gather` is a reused buffer. */
  constructor(fs: FileSystem, dir: string, baseOffset: bigint, settings: CleanedIndexSettings, gather: Uint8Array) {
    this.fs = fs;
    this.baseOffset = baseOffset;
    this.settings = settings;
    this.paths = segmentFilePaths(dir, baseOffset, CLEANED_SUFFIX);
    for (const p of [this.paths.log, this.paths.index, this.paths.timeIndex, this.paths.txnIndex]) if (fs.exists(p)) fs.remove(p);
    this.log = fs.open(this.paths.log, true);
    this.gather = gather;
    this.offsetIdx = new OffsetIndex(baseOffset, settings.indexBytes);
    this.timeIdx = new TimeIndex(baseOffset, settings.indexBytes);
  }

  /** Appends one whole batch (its header read for indexing). */
  append(batch: Uint8Array): void {
    if (this.log === null) throw new Error("append to a finished cleaned segment");
    const position = this.size;
    if (position + batch.length > MAX_SEGMENT_POSITION) throw new Error(`cleaned segment ${this.paths.log} would pass 2 GiB`);
    const dv = dataViewOf(batch);
    const last = dv.getBigInt64(BASE_OFFSET_OFFSET) + BigInt(dv.getInt32(LAST_OFFSET_DELTA_OFFSET));
    const maxTimestamp = Number(dv.getBigInt64(MAX_TIMESTAMP_OFFSET));
    if (maxTimestamp > this.maxTs) {
      this.maxTs = maxTimestamp;
      this.offsetOfMaxTs = last;
    }
    // One slot of each index stays free for the final time index entry; past that the index just gets sparser.
    if (this.bytesSinceIndexEntry >= this.settings.indexIntervalBytes && !this.offsetIdx.wouldOverflow(1) && !this.timeIdx.wouldOverflow(2)) {
      this.offsetIdx.append(last, position);
      this.timeIdx.maybeAppend(this.maxTs, this.offsetOfMaxTs);
      this.bytesSinceIndexEntry = 0;
    }
    this.bytesSinceIndexEntry += batch.length;
    if (batch.length > this.gather.length - this.gathered) this.flushGathered();
    if (batch.length > this.gather.length) {
      this.log.write(batch, this.flushedTo);
      this.flushedTo += batch.length;
    } else {
      this.gather.set(batch, this.gathered);
      this.gathered += batch.length;
    }
    this.size = position + batch.length;
    this.batches++;
  }

  /**
   * Writes what is gathered and both index files, and `aborted` as the `.txnindex` unless null (an empty array
   * writes an empty one: the swap then replaces the old segments' files), and makes them all durable.
   */
  async finish(aborted: readonly CleanerAbortedTxn[] | null = null): Promise<void> {
    if (this.log === null) throw new Error("cleaned segment finished twice");
    this.flushGathered();
    this.timeIdx.maybeAppend(this.maxTs, this.offsetOfMaxTs);
    const log = this.log;
    const files = [log, this.writeFile(this.paths.index, this.offsetIdx.encode()), this.writeFile(this.paths.timeIndex, this.timeIdx.encode())];
    if (aborted !== null) files.push(this.writeFile(this.paths.txnIndex, encodeTxnIndex(aborted)));
    try {
      await Promise.all(files.map((f) => f.datasync()));
    } finally {
      for (const f of files) f.close();
      this.log = null;
    }
  }

  /** Closes and removes the `.cleaned` files (an abandoned pass). */
  abort(): void {
    this.log?.close();
    this.log = null;
    for (const p of [this.paths.log, this.paths.index, this.paths.timeIndex, this.paths.txnIndex]) {
      try {
        if (this.fs.exists(p)) this.fs.remove(p);
      } catch {
        // The directory may be gone (a deleted partition); nothing else to undo.
      }
    }
  }

  private flushGathered(): void {
    if (this.gathered === 0) return;
    this.log!.write(this.gather.subarray(0, this.gathered), this.flushedTo);
    this.flushedTo += this.gathered;
    this.gathered = 0;
  }

  private writeFile(path: string, bytes: Uint8Array): FileHandle {
    const f = this.fs.open(path, true);
    if (bytes.length > 0) f.write(bytes, 0);
    return f;
  }
}

/** Aborted transactions in the `.txnindex` layout (Kafka's TransactionIndex), in the order given. */
function encodeTxnIndex(aborted: readonly CleanerAbortedTxn[]): Uint8Array {
  const out = new Uint8Array(aborted.length * TXN_INDEX_ENTRY_BYTES);
  const dv = dataViewOf(out);
  for (const [i, e] of aborted.entries()) {
    const at = i * TXN_INDEX_ENTRY_BYTES;
    dv.setInt16(at, 0);
    dv.setBigInt64(at + 2, e.producerId);
    dv.setBigInt64(at + 10, e.firstOffset);
    dv.setBigInt64(at + 18, e.lastOffset);
    dv.setBigInt64(at + 26, e.lastStableOffset);
  }
  return out;
}
