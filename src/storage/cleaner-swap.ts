/**
 * Replacing old segments by a cleaned one so that a crash at any point leaves either the old segment set or the
 * new one, and finishing an interrupted replacement when the log is opened again.
 *
 * The cleaned segment has the base offset of the first segment it replaces, so its live names are that segment's
 * names. Steps, each made durable with a directory fsync before the next:
 * 1. the index files (`.index`, `.timeindex`, and `.txnindex` when the cleaner wrote one) `.cleaned` -> `.swap`;
 *    then the log `.cleaned` -> `.swap`: **the commit point**;
 * 2. every file of every old segment (its `.txnindex` too) -> `.deleted` (old readers keep their open descriptors
 *    and maps);
 * 3. `.swap` -> live names, indexes first, log last;
 * 4. the `.deleted` files are removed (never truncated: a fetch may still hold a map of them).
 *
 * Before the commit, the old segments are untouched and opening the log deletes the `.cleaned` files. After it,
 * opening the log runs {@link completeInterruptedSwaps}: the `<base>.log.swap` file is complete and durable (one
 * that does not frame to its end, or holds no batch, was not committed by the cleaner and is deleted), so
 * the live segments whose base offsets fall in its offset range are the old ones; they go and the swap files take
 * their place. The cleaner always writes the last batch of the old range into the cleaned segment (as an empty
 * batch if all its records went), so that range covers every old segment that held data.
 */
import type { FileSystem } from "../platform/fs.ts";
import { BatchFileReader, CorruptSegmentError } from "./cleaner-batch-reader.ts";
import { CLEANED_SUFFIX, segmentFilePaths, txnIndexPathOf } from "./cleaner-segment-writer.ts";
import { DELETED_SUFFIX, INDEX_SUFFIX, LOG_SUFFIX, parseSegmentFileName, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX } from "./log-file-names.ts";

/** Suffix of a committed cleaned file waiting to take its live name. */
export const SWAP_SUFFIX = ".swap";
/** Suffixes of the live files of a segment. */
const SEGMENT_FILE_SUFFIXES = [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX];
/** Most `.log.swap` files one partition directory may hold when it is opened (one per interrupted swap). */
const MAX_SWAPS_PER_OPEN = 10_000;

/** The files of an old segment being replaced (a Segment fits). */
export interface RetiredSegment {
  /** Path of the `.log`. */
  readonly logPath: string;
  /** Path of the `.index`. */
  readonly indexPath: string;
  /** Path of the `.timeindex`. */
  readonly timeIndexPath: string;
  /** Releases the segment's descriptors (maps stay valid for readers holding them). */
  close(): void;
}

/**
 * Swaps the finished, durable cleaned segment at `baseOffset` (its `.cleaned` files) in for `old`, oldest first,
 * whose first segment must have the same base offset. Synchronous: renames and directory fsyncs only.
 */
export function swapInCleanedSegment(fs: FileSystem, dir: string, baseOffset: bigint, old: readonly RetiredSegment[]): void {
  const cleaned = segmentFilePaths(dir, baseOffset, CLEANED_SUFFIX);
  const swap = segmentFilePaths(dir, baseOffset, SWAP_SUFFIX);
  const live = segmentFilePaths(dir, baseOffset, "");
  if (old.length === 0 || old[0].logPath !== live.log) throw new Error(`cleaned segment ${live.log} does not start the segments it replaces`);
  fs.rename(cleaned.index, swap.index);
  fs.rename(cleaned.timeIndex, swap.timeIndex);
  const withTxnIndex = fs.exists(cleaned.txnIndex);
  if (withTxnIndex) fs.rename(cleaned.txnIndex, swap.txnIndex);
  fs.syncDir(dir);
  fs.rename(cleaned.log, swap.log);
  fs.syncDir(dir);
  const retired: string[] = [];
  for (const seg of old) {
    seg.close();
    // a cleaned segment without a .txnindex leaves the old ones (the cleaner writes one whenever an old one exists)
    for (const path of withTxnIndex ? [seg.logPath, seg.indexPath, seg.timeIndexPath, txnIndexPathOf(seg.logPath)] : [seg.logPath, seg.indexPath, seg.timeIndexPath]) {
      if (!fs.exists(path)) continue;
      fs.rename(path, path + DELETED_SUFFIX);
      retired.push(path + DELETED_SUFFIX);
    }
  }
  fs.syncDir(dir);
  fs.rename(swap.index, live.index);
  fs.rename(swap.timeIndex, live.timeIndex);
  if (withTxnIndex) fs.rename(swap.txnIndex, live.txnIndex);
  fs.rename(swap.log, live.log);
  fs.syncDir(dir);
  for (const path of retired) fs.remove(path);
}

/**
 * Finishes every swap in `dir` that a crash interrupted after its commit point (see the module doc); returns how
 * many. Runs before the log's leftover files (`.cleaned`, other `.swap`, `.deleted`) are removed.
 */
export function completeInterruptedSwaps(fs: FileSystem, dir: string): number {
  const swaps: bigint[] = [];
  for (const name of fs.list(dir)) {
    if (!name.endsWith(LOG_SUFFIX + SWAP_SUFFIX)) continue;
    const base = parseSegmentFileName(name.slice(0, -SWAP_SUFFIX.length), LOG_SUFFIX);
    if (base !== null) swaps.push(base);
    if (swaps.length > MAX_SWAPS_PER_OPEN) throw new Error(`${dir} holds more than ${MAX_SWAPS_PER_OPEN} interrupted swaps`);
  }
  if (swaps.length === 0) return 0;
  const reader = new BatchFileReader();
  let completed = 0;
  for (const base of swaps) {
    const swap = segmentFilePaths(dir, base, SWAP_SUFFIX);
    const live = segmentFilePaths(dir, base, "");
    const last = lastOffsetIn(fs, reader, swap.log);
    if (last === null) continue; // not a file the cleaner committed: the leftover sweep removes it
    // every file of an old segment, whichever of them step 2 had not retired yet (a `.txnindex` left alone would
    // still be loaded: an aborted transaction whose records are gone, or listed twice)
    const covered = new Set<bigint>();
    for (const name of fs.list(dir)) {
      for (const suffix of SEGMENT_FILE_SUFFIXES) {
        const b = parseSegmentFileName(name, suffix);
        if (b !== null && b > base && b <= last) covered.add(b);
      }
    }
    for (const b of covered) {
      const paths = segmentFilePaths(dir, b, "");
      for (const p of [paths.log, paths.index, paths.timeIndex, paths.txnIndex]) if (fs.exists(p)) fs.remove(p);
    }
    // A live index of `base` is the new one unless its `.swap` is still there (the old one went to .deleted first).
    if (fs.exists(swap.index)) fs.rename(swap.index, live.index);
    if (fs.exists(swap.timeIndex)) fs.rename(swap.timeIndex, live.timeIndex);
    if (fs.exists(swap.txnIndex)) fs.rename(swap.txnIndex, live.txnIndex);
    fs.rename(swap.log, live.log);
    completed++;
  }
  reader.close();
  fs.syncDir(dir);
  return completed;
}

/**
 * Last offset of a committed swap file, or null when the file is not one: the cleaner makes it durable before the
 * commit and always writes at least one batch, so a committed file frames to its end.
 */
function lastOffsetIn(fs: FileSystem, reader: BatchFileReader, path: string): bigint | null {
  const f = fs.openRead(path);
  const size = f.size();
  f.close();
  let last: bigint | null = null;
  reader.open(fs, path, size, 0);
  try {
    while (reader.next()) last = reader.lastOffset;
  } catch (e) {
    if (!(e instanceof CorruptSegmentError)) throw e;
    return null;
  } finally {
    reader.close();
  }
  return last;
}
