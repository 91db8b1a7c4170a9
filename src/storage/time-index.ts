/**
 * A segment's sparse time index (`.timeindex`): 12-byte entries of `timestamp:int64` and `relativeOffset:int32`.
 * Each entry records the largest timestamp seen so far in the segment and the (batch last) offset where it was
 * seen, so timestamps strictly increase. Kept in typed arrays for binary search, appended to the file as made;
 * not preallocated (see offset-index.ts).
 */
import type { FileHandle } from "../platform/fs.ts";
import { lastAtOrBelow, MAX_RELATIVE_OFFSET, relativeOffset } from "./offset-index.ts";

/** Bytes per time index entry. */
export const TIME_INDEX_ENTRY_BYTES = 12;
/** Timestamp of a batch without one. */
export const NO_TIMESTAMP = -1;
const INITIAL_CAPACITY = 32;

/** The time index of one segment. */
export class TimeIndex {
  /** The segment's base offset. */
  readonly baseOffset: bigint;
  /** Entries allowed before the segment must roll (`segment.index.bytes` / 12). */
  readonly maxEntries: number;
  private ts: Float64Array;
  private rel: Int32Array;
  private count = 0;
  private file: FileHandle | null = null;
  private readonly entry = new Uint8Array(TIME_INDEX_ENTRY_BYTES);
  private readonly entryView = new DataView(this.entry.buffer);

  constructor(baseOffset: bigint, maxIndexBytes: number) {
    this.baseOffset = baseOffset;
    this.maxEntries = Math.max(1, Math.floor(maxIndexBytes / TIME_INDEX_ENTRY_BYTES));
    this.ts = new Float64Array(INITIAL_CAPACITY);
    this.rel = new Int32Array(INITIAL_CAPACITY);
  }

  /**
   * Parses time index file bytes: whole entries, timestamps strictly increasing, relative offsets
   * non-decreasing and below `relLimit`. Returns the reason on failure.
   */
  static decode(baseOffset: bigint, bytes: Uint8Array, maxIndexBytes: number, relLimit: number): TimeIndex | string {
    if (bytes.length % TIME_INDEX_ENTRY_BYTES !== 0) return `size ${bytes.length} is not a multiple of ${TIME_INDEX_ENTRY_BYTES}`;
    const idx = new TimeIndex(baseOffset, maxIndexBytes);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const n = bytes.length / TIME_INDEX_ENTRY_BYTES;
    for (let i = 0; i < n; i++) {
      const t = Number(dv.getBigInt64(i * TIME_INDEX_ENTRY_BYTES));
      const r = dv.getInt32(i * TIME_INDEX_ENTRY_BYTES + 8);
      if (r < 0 || r >= relLimit) return `entry ${i} has relative offset ${r} outside the segment`;
      if (t < 0) return `entry ${i} has negative timestamp ${t}`;
      if (i > 0 && (t <= idx.ts[i - 1] || r < idx.rel[i - 1])) return `entry ${i} is not increasing`;
      idx.push(t, r);
    }
    return idx;
  }

  /** Number of entries. */
  get entries(): number {
    return this.count;
  }

  /** Whether `extra` more entries would exceed `segment.index.bytes`. */
  wouldOverflow(extra: number): boolean {
    return this.count + extra > this.maxEntries;
  }

  /** Timestamp of the last entry, or {@link NO_TIMESTAMP}. */
  lastTimestamp(): number {
    return this.count === 0 ? NO_TIMESTAMP : this.ts[this.count - 1];
  }

  /** Offset of the last entry, or -1n. */
  lastOffset(): bigint {
    return this.count === 0 ? -1n : this.baseOffset + BigInt(this.rel[this.count - 1]);
  }

  /** Starts appending new entries to `file`, which must already hold exactly {@link encode}'s bytes. */
  attach(file: FileHandle): void {
    if (file.size() !== this.count * TIME_INDEX_ENTRY_BYTES) throw new Error(`time index file ${file.path} does not match memory`);
    this.file = file;
  }

  /** Stops writing to the file; returns the handle so the owner can sync and close it. */
  detach(): FileHandle | null {
    const f = this.file;
    this.file = null;
    return f;
  }

  /** Adds (`timestamp`, `offset`) if `timestamp` is larger than the last entry's; otherwise does nothing. */
  maybeAppend(timestamp: number, offset: bigint): void {
    if (timestamp <= this.lastTimestamp()) return;
    const r = relativeOffset(offset, this.baseOffset);
    if (r < 0 || r >= MAX_RELATIVE_OFFSET) throw new Error(`offset ${offset} does not fit segment ${this.baseOffset}`);
    if (this.count > 0 && r < this.rel[this.count - 1]) throw new Error(`time index offset ${offset} goes backwards`);
    if (this.file !== null) {
      this.entryView.setBigInt64(0, BigInt(timestamp));
      this.entryView.setInt32(8, r);
      this.file.write(this.entry, this.count * TIME_INDEX_ENTRY_BYTES);
    }
    this.push(timestamp, r);
  }

  /**
   * Offset of the last entry whose timestamp is below `timestamp`: every record up to that offset is older, so a
   * search for `timestamp` may start at the batch holding it. Returns the base offset when there is none.
   */
  offsetBefore(timestamp: number): bigint {
    const i = lastAtOrBelow(this.ts, this.count, timestamp - 1);
    return i < 0 ? this.baseOffset : this.baseOffset + BigInt(this.rel[i]);
  }

  /** Drops entries whose offset is >= `offset`. */
  truncateToOffset(offset: bigint): void {
    const r = relativeOffset(offset, this.baseOffset);
    let n = this.count;
    while (n > 0 && this.rel[n - 1] >= r) n--;
    if (n === this.count) return;
    this.count = n;
    if (this.file !== null) this.file.truncate(n * TIME_INDEX_ENTRY_BYTES);
  }

  /** The file image of this index. */
  encode(): Uint8Array {
    const out = new Uint8Array(this.count * TIME_INDEX_ENTRY_BYTES);
    const dv = new DataView(out.buffer);
    for (let i = 0; i < this.count; i++) {
      dv.setBigInt64(i * TIME_INDEX_ENTRY_BYTES, BigInt(this.ts[i]));
      dv.setInt32(i * TIME_INDEX_ENTRY_BYTES + 8, this.rel[i]);
    }
    return out;
  }

  private push(t: number, r: number): void {
    if (this.count === this.ts.length) {
      const ts = new Float64Array(this.ts.length * 2);
      ts.set(this.ts);
      this.ts = ts;
      const rel = new Int32Array(this.rel.length * 2);
      rel.set(this.rel);
      this.rel = rel;
    }
    this.ts[this.count] = t;
    this.rel[this.count] = r;
    this.count++;
  }
}
