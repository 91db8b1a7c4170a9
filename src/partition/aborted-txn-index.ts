/**
 * The aborted transactions of one partition, for read_committed fetches: which producer's records from which
 * offset a consumer must drop. Kept in memory as four int64 columns (no object per entry) and on disk in Kafka's
 * `.txnindex` layout, one file per segment named like the segment (`<20-digit base offset>.txnindex`), each entry
 * 34 bytes: version int16 (0), producerId int64, firstOffset int64, lastOffset int64 (the ABORT marker),
 * lastStableOffset int64 (the LSO right after the marker).
 *
 * Entries are ordered by lastOffset (markers are appended in offset order). A fetch of [from, upper) collects the
 * entries with lastOffset >= from and firstOffset < upper, and stops at the first entry whose lastStableOffset
 * reaches `upper`: every later transaction began at or after that LSO.
 */
import type { FileSystem } from "../platform/fs.ts";
import { dataViewOf } from "../protocol/batch-layout.ts";
import { TXN_INDEX_SUFFIX } from "../storage/log-file-names.ts";

export { TXN_INDEX_SUFFIX };
/** Bytes of one entry. */
export const TXN_INDEX_ENTRY_SIZE = 34;
/** Entry version written. */
export const TXN_INDEX_VERSION = 0;
/** Most entries kept in memory per partition; the oldest are dropped beyond it (with a warning). */
export const MAX_ABORTED_TXNS_PER_PARTITION = 1_000_000;
/** Initial capacity (entries) of the in-memory columns. */
const INITIAL_CAPACITY = 16;

/** One aborted transaction. */
export interface AbortedTxn {
  /** The producer. */
  producerId: bigint;
  /** Offset of its first record in this partition. */
  firstOffset: bigint;
  /** Offset of its ABORT marker. */
  lastOffset: bigint;
  /** Last stable offset right after the marker. */
  lastStableOffset: bigint;
}

/** What the index needs from the partition log (PartitionLog satisfies it). */
export interface TxnIndexLog {
  /** The partition directory. */
  readonly dir: string;
  /** First offset kept. */
  readonly logStartOffset: bigint;
  /** Next offset to be written. */
  readonly logEndOffset: bigint;
  /** Base offsets of the segments, ascending. */
  segmentBaseOffsets(): bigint[];
}

/** An aborted transaction as a Fetch response carries it. */
export interface FetchAbortedTxn {
  /** The producer. */
  producerId: bigint;
  /** First offset of its aborted records. */
  firstOffset: bigint;
}

/** The aborted-transaction index of one partition. */
export class AbortedTxnIndex {
  private readonly fs: FileSystem;
  private readonly log: TxnIndexLog;
  private readonly warn: (msg: string) => void;
  private cols = new BigInt64Array(INITIAL_CAPACITY * 4);
  private start = 0;
  private end = 0;
  private readonly entry = new Uint8Array(TXN_INDEX_ENTRY_SIZE);
  private readonly unsynced = new Set<string>();
  /**
   * Files whose asynchronous fdatasync is in flight (how many per file): not durable until it completes, so every
   * sync (and syncNow) fdatasyncs them again itself. Waiting for the fdatasync in flight instead needs a chain of
   * its own: the descriptor cache's (CachedFile's latest sync) does not span two syncs here, since each sync opens
   * the file anew.
   */
  private readonly syncing = new Map<string, number>();
  /**
   * The first fdatasync of this index that failed, or null. Its pages may have been dropped and marked clean, and a
   * descriptor opened after the error was reported does not see it: no later sync may answer that the entries are
   * durable (a roll snapshot above them would hide their aborted transactions after a power cut).
   */
  private failure: unknown = null;

  private constructor(fs: FileSystem, log: TxnIndexLog, warn: (msg: string) => void) {
    this.fs = fs;
    this.log = log;
    this.warn = warn;
  }

  /**
   * Loads every `.txnindex` file of the partition directory: drops a torn last entry, entries at or past the log
   * end (a log truncated by recovery; the files are rewritten without them) and entries below the log start.
   * Every file read counts as unsynced: after a killed process its entries may be only in the page cache, and the
   * next {@link AbortedTxnIndex.sync} (before any producer snapshot) must make them durable.
   */
  static open(fs: FileSystem, log: TxnIndexLog, warn: (msg: string) => void = () => {}): AbortedTxnIndex {
    const idx = new AbortedTxnIndex(fs, log, warn);
    const files = fs.list(log.dir).filter((f) => f.endsWith(TXN_INDEX_SUFFIX) && /^\d{20}\./.test(f)).sort();
    for (const f of files) {
      const path = `${log.dir}/${f}`;
      idx.loadFile(path, (e) => e.lastOffset < log.logEndOffset && e.lastOffset >= log.logStartOffset, (e) => e.lastOffset < log.logEndOffset);
      idx.unsynced.add(path);
    }
    return idx;
  }

  /** Entries held in memory. */
  get size(): number {
    return this.end - this.start;
  }

  /** Whether an entry with this marker offset is known. */
  has(lastOffset: bigint): boolean {
    const i = this.lowerBound(lastOffset);
    return i < this.end && this.cols[i * 4 + 2] === lastOffset;
  }

  /**
   * Records an aborted transaction (memory and the `.txnindex` of the segment holding its marker); an entry whose
   * marker offset is already known is ignored (a replay after a crash). Also drops entries below the log start.
   */
  add(e: AbortedTxn): void {
    if (e.firstOffset < 0n || e.firstOffset > e.lastOffset || e.lastStableOffset < 0n || e.lastStableOffset > e.lastOffset + 1n) {
      throw new RangeError(`bad aborted transaction ${e.producerId}: first ${e.firstOffset}, last ${e.lastOffset}, lso ${e.lastStableOffset}`);
    }
    if (this.has(e.lastOffset)) return;
    this.insert(e);
    const dv = dataViewOf(this.entry);
    dv.setInt16(0, TXN_INDEX_VERSION);
    dv.setBigInt64(2, e.producerId);
    dv.setBigInt64(10, e.firstOffset);
    dv.setBigInt64(18, e.lastOffset);
    dv.setBigInt64(26, e.lastStableOffset);
    const bases = this.log.segmentBaseOffsets();
    let base = bases[0] ?? 0n;
    for (const b of bases) if (b <= e.lastOffset) base = b;
    const path = `${this.log.dir}/${base.toString().padStart(20, "0")}${TXN_INDEX_SUFFIX}`;
    const h = this.fs.open(path, true);
    try {
      const size = h.size();
      h.write(this.entry, size - (size % TXN_INDEX_ENTRY_SIZE));
    } finally {
      h.close();
    }
    this.unsynced.add(path);
    this.prune(bases);
  }

  /**
   * Makes the entries written so far durable. A producer snapshot must not be durable before them: recovery
   * replays the log only from the snapshot, so an entry below it that a power cut took would be gone for good and
   * read_committed consumers would see that aborted transaction (found by the deterministic simulation, tests/sim).
   * Files an earlier sync is still fdatasyncing are synced again: this one must not answer before they are durable
   * (tests/partition/aborted-txn-index-sync-answers-after-an-earlier-sync-in-flight). Once any fdatasync of the
   * index failed, every sync fails with that error, also one whose own fdatasyncs succeeded (tests/partition/
   * partition-write-paths, 'a roll snapshot is not written when an earlier sync ... failed').
   */
  sync(): Promise<void> {
    return this.syncPaths(this.notDurable());
  }

  /** The files with entries that may not be durable: written since their last sync, or in an fdatasync in flight. */
  private notDurable(): string[] {
    return [...new Set([...this.unsynced, ...this.syncing.keys()])];
  }

  /** fdatasyncs `paths` (taken out of the unsynced set, put back if one fails), counted as in flight meanwhile. */
  private async syncPaths(paths: string[]): Promise<void> {
    if (this.failure !== null) throw this.failure;
    for (const path of paths) {
      this.unsynced.delete(path);
      this.syncing.set(path, (this.syncing.get(path) ?? 0) + 1);
    }
    try {
      for (const path of paths) {
        if (!this.fs.exists(path)) continue;
        const h = this.fs.open(path, false);
        try {
          await h.datasync();
        } finally {
          h.close();
        }
      }
      if (this.failure !== null) throw this.failure; // an overlapping sync's fdatasync failed meanwhile
    } catch (e) {
      if (this.failure === null) this.failure = e;
      for (const path of paths) this.unsynced.add(path);
      throw e;
    } finally {
      for (const path of paths) {
        const n = this.syncing.get(path)! - 1;
        if (n === 0) this.syncing.delete(path);
        else this.syncing.set(path, n);
      }
    }
  }

  /**
   * {@link AbortedTxnIndex.sync}, blocking (clean shutdown): also the files whose asynchronous fdatasync is still in
   * flight, which the producer snapshot written next must not overtake (a roll's sync had taken them out of the
   * unsynced set, so the clean stop found nothing to sync and a power cut lost them; tests/sim kafka seed 52 with
   * log.roll.ms=200). Fails, as sync does, once any fdatasync of the index failed.
   */
  syncNow(): void {
    if (this.failure !== null) throw this.failure;
    for (const path of this.notDurable()) {
      if (!this.fs.exists(path)) continue;
      const h = this.fs.open(path, false);
      try {
        h.datasyncNow();
      } catch (e) {
        if (this.failure === null) this.failure = e;
        throw e;
      } finally {
        h.close();
      }
    }
    this.unsynced.clear();
  }

  /**
   * The aborted transactions a read_committed fetch returning offsets [from, upper) must carry: lastOffset >=
   * `from` and firstOffset < `upper`, in marker order.
   */
  collect(from: bigint, upper: bigint): FetchAbortedTxn[] {
    const out: FetchAbortedTxn[] = [];
    if (upper <= from) return out;
    const c = this.cols;
    for (let i = this.lowerBound(from); i < this.end; i++) {
      if (c[i * 4 + 1] < upper) out.push({ producerId: c[i * 4], firstOffset: c[i * 4 + 1] });
      if (c[i * 4 + 3] >= upper) break;
    }
    return out;
  }

  /**
   * The aborted transactions whose markers lie at or after `from` and whose first offsets lie below `upper`, in
   * marker order, up to the first whose LSO reaches `upper` (Kafka's collectAbortedTransactions, for the cleaner).
   */
  between(from: bigint, upper: bigint): AbortedTxn[] {
    const out: AbortedTxn[] = [];
    const c = this.cols;
    for (let i = this.lowerBound(from); i < this.end; i++) {
      if (c[i * 4 + 1] < upper) out.push({ producerId: c[i * 4], firstOffset: c[i * 4 + 1], lastOffset: c[i * 4 + 2], lastStableOffset: c[i * 4 + 3] });
      if (c[i * 4 + 3] >= upper) break;
    }
    return out;
  }

  /**
   * The cleaner swapped in a segment covering [from, to) whose `.txnindex` holds `kept` (entries of that range):
   * forgets the other entries with markers there (their transactions left no batch), in memory only.
   */
  forgetCleaned(from: bigint, to: bigint, kept: readonly AbortedTxn[]): void {
    const keep = new Set(kept.map((e) => e.lastOffset));
    const c = this.cols;
    let w = this.lowerBound(from);
    const first = w;
    let r = first;
    for (; r < this.end && c[r * 4 + 2] < to; r++) {
      if (!keep.has(c[r * 4 + 2])) continue;
      if (w !== r) c.copyWithin(w * 4, r * 4, r * 4 + 4);
      w++;
    }
    if (w === r) return;
    c.copyWithin(w * 4, r * 4, this.end * 4);
    this.end -= r - w;
  }

  /** Every entry in memory, in marker order (tests and tools). */
  entries(): AbortedTxn[] {
    const out: AbortedTxn[] = [];
    const c = this.cols;
    for (let i = this.start; i < this.end; i++) out.push({ producerId: c[i * 4], firstOffset: c[i * 4 + 1], lastOffset: c[i * 4 + 2], lastStableOffset: c[i * 4 + 3] });
    return out;
  }

  /** Drops entries below the log start and `.txnindex` files of segments deleted from the front of the log. */
  prune(bases: readonly bigint[] = this.log.segmentBaseOffsets()): void {
    const logStart = this.log.logStartOffset;
    while (this.start < this.end && this.cols[this.start * 4 + 2] < logStart) this.start++;
    const first = bases[0];
    if (first === undefined) return;
    for (const f of this.fs.list(this.log.dir)) {
      if (!f.endsWith(TXN_INDEX_SUFFIX) || !/^\d{20}\./.test(f)) continue;
      if (BigInt(f.slice(0, 20)) < first) this.fs.remove(`${this.log.dir}/${f}`);
    }
  }

  /** Forgets every transaction whose ABORT marker is at or past `offset` (the log was truncated to it), in memory and on disk. */
  truncateTo(offset: bigint): void {
    this.end = this.lowerBound(offset);
    for (const f of this.fs.list(this.log.dir)) {
      if (f.endsWith(TXN_INDEX_SUFFIX) && /^\d{20}\./.test(f)) this.rewriteFile(`${this.log.dir}/${f}`, (e) => e.lastOffset < offset);
    }
  }

  /** Reads one `.txnindex` file: entries passing `inMemory` are held; the file is rewritten with those passing `onDisk`. */
  private loadFile(path: string, inMemory: (e: AbortedTxn) => boolean, onDisk: (e: AbortedTxn) => boolean): void {
    for (const e of this.rewriteFile(path, onDisk)) if (inMemory(e)) this.insert(e);
  }

  /**
   * Keeps in the file only the whole, current-version entries passing `keep` (rewriting it atomically when any
   * goes, removing it when none is left); returns the entries kept.
   */
  private rewriteFile(path: string, keep: (e: AbortedTxn) => boolean): AbortedTxn[] {
    const bytes = this.fs.readFile(path);
    const dv = dataViewOf(bytes);
    const whole = bytes.length - (bytes.length % TXN_INDEX_ENTRY_SIZE);
    const kept: AbortedTxn[] = [];
    const keptAt: number[] = [];
    for (let at = 0; at < whole; at += TXN_INDEX_ENTRY_SIZE) {
      const e: AbortedTxn = { producerId: dv.getBigInt64(at + 2), firstOffset: dv.getBigInt64(at + 10), lastOffset: dv.getBigInt64(at + 18), lastStableOffset: dv.getBigInt64(at + 26) };
      if (dv.getInt16(at) !== TXN_INDEX_VERSION || !keep(e)) continue;
      kept.push(e);
      keptAt.push(at);
    }
    if (kept.length * TXN_INDEX_ENTRY_SIZE === bytes.length) return kept;
    if (kept.length === 0) {
      this.fs.remove(path);
      return kept;
    }
    const out = new Uint8Array(kept.length * TXN_INDEX_ENTRY_SIZE);
    keptAt.forEach((at, i) => out.set(bytes.subarray(at, at + TXN_INDEX_ENTRY_SIZE), i * TXN_INDEX_ENTRY_SIZE));
    this.fs.writeFileAtomic(path, out);
    return kept;
  }

  /** Forgets everything in memory (the partition was emptied); files go with their segments. */
  clear(): void {
    this.start = this.end = 0;
  }

  /** Index of the first entry whose lastOffset >= `offset`. */
  private lowerBound(offset: bigint): number {
    let lo = this.start;
    let hi = this.end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cols[mid * 4 + 2] < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Inserts in lastOffset order (normally at the end). */
  private insert(e: AbortedTxn): void {
    if (this.size >= MAX_ABORTED_TXNS_PER_PARTITION) {
      this.start++;
      this.warn(`${this.log.dir}: more than ${MAX_ABORTED_TXNS_PER_PARTITION} aborted transactions; the oldest is no longer reported to read_committed fetches`);
    }
    if (this.end * 4 >= this.cols.length) {
      const live = this.end - this.start;
      const grown = new BigInt64Array(Math.max(INITIAL_CAPACITY, live * 2) * 4);
      grown.set(this.cols.subarray(this.start * 4, this.end * 4));
      this.cols = grown;
      this.start = 0;
      this.end = live;
    }
    let i = this.end;
    const c = this.cols;
    while (i > this.start && c[(i - 1) * 4 + 2] > e.lastOffset) {
      c.copyWithin(i * 4, (i - 1) * 4, i * 4);
      i--;
    }
    c[i * 4] = e.producerId;
    c[i * 4 + 1] = e.firstOffset;
    c[i * 4 + 2] = e.lastOffset;
    c[i * 4 + 3] = e.lastStableOffset;
    this.end++;
  }
}
