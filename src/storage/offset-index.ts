/**
 * A segment's sparse offset index (`.index`): 8-byte entries of `relativeOffset:int32` (batch last offset minus
 * the segment base offset) and `position:int32` (byte position of that batch in the `.log`). Entries live in
 * typed arrays for binary search and are appended to the file as they are made. Unlike Kafka, the file is not
 * preallocated or memory-mapped: it only ever holds whole entries, so nothing has to be trimmed on roll.
 */
import type { FileHandle } from "../platform/fs.ts";

/** Bytes per offset index entry. */
export const OFFSET_INDEX_ENTRY_BYTES = 8;
/** Largest relative offset an index entry can hold. */
export const MAX_RELATIVE_OFFSET = 2147483647;
const INITIAL_CAPACITY = 64;

/** Binary search over the first `n` items of an ascending array: index of the last item <= `target`, or -1. */
export function lastAtOrBelow(items: Int32Array | Float64Array, n: number, target: number): number {
  let lo = 0;
  let hi = n - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (items[mid] <= target) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/** Relative offset of `offset` in a segment at `baseOffset`, clamped to the int32 range an index holds. */
export function relativeOffset(offset: bigint, baseOffset: bigint): number {
  const rel = offset - baseOffset;
  if (rel < 0n) return -1;
  if (rel > BigInt(MAX_RELATIVE_OFFSET)) return MAX_RELATIVE_OFFSET;
  return Number(rel);
}

/** The offset index of one segment. */
export class OffsetIndex {
  /** The segment's base offset. */
  readonly baseOffset: bigint;
  /** Entries allowed before the segment must roll (`segment.index.bytes` / 8). */
  readonly maxEntries: number;
  private rel: Int32Array;
  private pos: Int32Array;
  /** 1 where entry i's batch directly follows entry i-1's in the log (in memory only: a loaded file knows none). */
  private follows: Uint8Array;
  private count = 0;
  private file: FileHandle | null = null;
  private readonly entry = new Uint8Array(OFFSET_INDEX_ENTRY_BYTES);
  private readonly entryView = new DataView(this.entry.buffer);

  constructor(baseOffset: bigint, maxIndexBytes: number) {
    this.baseOffset = baseOffset;
    this.maxEntries = Math.max(1, Math.floor(maxIndexBytes / OFFSET_INDEX_ENTRY_BYTES));
    this.rel = new Int32Array(INITIAL_CAPACITY);
    this.pos = new Int32Array(INITIAL_CAPACITY);
    this.follows = new Uint8Array(INITIAL_CAPACITY);
  }

  /**
   * Parses index file bytes, checking them against the segment: whole entries only, offsets and positions
   * strictly increasing, positions inside the log, relative offsets below `relLimit`. Returns the reason on failure.
   */
  static decode(baseOffset: bigint, bytes: Uint8Array, maxIndexBytes: number, logSize: number, relLimit: number): OffsetIndex | string {
    if (bytes.length % OFFSET_INDEX_ENTRY_BYTES !== 0) return `size ${bytes.length} is not a multiple of ${OFFSET_INDEX_ENTRY_BYTES}`;
    const idx = new OffsetIndex(baseOffset, maxIndexBytes);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const n = bytes.length / OFFSET_INDEX_ENTRY_BYTES;
    for (let i = 0; i < n; i++) {
      const r = dv.getInt32(i * OFFSET_INDEX_ENTRY_BYTES);
      const p = dv.getInt32(i * OFFSET_INDEX_ENTRY_BYTES + 4);
      if (r < 0 || r >= relLimit) return `entry ${i} has relative offset ${r} outside the segment`;
      if (p < 0 || p >= logSize) return `entry ${i} points at position ${p} past the log end ${logSize}`;
      if (i > 0 && (r <= idx.rel[i - 1] || p <= idx.pos[i - 1])) return `entry ${i} is not increasing`;
      idx.push(r, p, false);
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

  /** Relative offset of entry `i`. */
  relativeOffsetAt(i: number): number {
    return this.rel[i];
  }

  /** Log position of entry `i`. */
  positionAt(i: number): number {
    return this.pos[i];
  }

  /** Starts appending new entries to `file`, which must already hold exactly {@link encode}'s bytes. */
  attach(file: FileHandle): void {
    if (file.size() !== this.count * OFFSET_INDEX_ENTRY_BYTES) throw new Error(`index file ${file.path} does not match memory`);
    this.file = file;
  }

  /** Stops writing to the file; returns the handle so the owner can sync and close it. */
  detach(): FileHandle | null {
    const f = this.file;
    this.file = null;
    return f;
  }

  /**
   * Adds an entry for the batch whose last offset is `offset`, starting at `position`; `followsPrevious`: that batch
   * comes right after the batch of the entry before (nothing unindexed between them), which {@link batchStartFor} uses.
   */
  append(offset: bigint, position: number, followsPrevious = false): void {
    const r = relativeOffset(offset, this.baseOffset);
    if (r < 0 || r >= MAX_RELATIVE_OFFSET) throw new Error(`offset ${offset} does not fit segment ${this.baseOffset}`);
    if (this.count > 0 && (r <= this.rel[this.count - 1] || position <= this.pos[this.count - 1])) {
      throw new Error(`offset index entry (${offset}, ${position}) is not increasing`);
    }
    if (this.file !== null) {
      this.entryView.setInt32(0, r);
      this.entryView.setInt32(4, position);
      this.file.write(this.entry, this.count * OFFSET_INDEX_ENTRY_BYTES);
    }
    this.push(r, position, followsPrevious);
  }

  /** Position of the last indexed batch whose last offset is <= `offset` (0 if none): where a scan for `offset` may start. */
  lookup(offset: bigint): number {
    const r = relativeOffset(offset, this.baseOffset);
    if (r < 0) return 0;
    const i = lastAtOrBelow(this.rel, this.count, r);
    return i < 0 ? 0 : this.pos[i];
  }

  /**
   * Position of the first batch whose last offset is >= `offset` when the index knows it, else -1: the first entry
   * at or above `offset` is that batch when its batch directly follows the entry before, which ends below `offset`.
   * (A read can start there at once instead of walking headers from the entry before.)
   */
  batchStartFor(offset: bigint): number {
    const r = relativeOffset(offset, this.baseOffset);
    if (r <= 0) return -1;
    const j = lastAtOrBelow(this.rel, this.count, r - 1) + 1;
    if (j === 0 || j >= this.count || this.follows[j] !== 1) return -1;
    return this.pos[j];
  }

  /** Position of the last entry, or 0 when empty. */
  lastPosition(): number {
    return this.count === 0 ? 0 : this.pos[this.count - 1];
  }

  /** Drops entries at or after log `position` (the log was cut there). */
  truncateToPosition(position: number): void {
    let n = this.count;
    while (n > 0 && this.pos[n - 1] >= position) n--;
    this.setCount(n);
  }

  /** Drops entries whose offset is >= `offset`. */
  truncateToOffset(offset: bigint): void {
    const r = relativeOffset(offset, this.baseOffset);
    let n = this.count;
    while (n > 0 && this.rel[n - 1] >= r) n--;
    this.setCount(n);
  }

  /** The file image of this index. */
  encode(): Uint8Array {
    const out = new Uint8Array(this.count * OFFSET_INDEX_ENTRY_BYTES);
    const dv = new DataView(out.buffer);
    for (let i = 0; i < this.count; i++) {
      dv.setInt32(i * OFFSET_INDEX_ENTRY_BYTES, this.rel[i]);
      dv.setInt32(i * OFFSET_INDEX_ENTRY_BYTES + 4, this.pos[i]);
    }
    return out;
  }

  private setCount(n: number): void {
    if (n === this.count) return;
    this.count = n;
    if (this.file !== null) this.file.truncate(n * OFFSET_INDEX_ENTRY_BYTES);
  }

  private push(r: number, p: number, follows: boolean): void {
    if (this.count === this.rel.length) {
      const rel = new Int32Array(this.rel.length * 2);
      rel.set(this.rel);
      this.rel = rel;
      const pos = new Int32Array(this.pos.length * 2);
      pos.set(this.pos);
      this.pos = pos;
      const fol = new Uint8Array(this.follows.length * 2);
      fol.set(this.follows);
      this.follows = fol;
    }
    this.rel[this.count] = r;
    this.pos[this.count] = p;
    this.follows[this.count] = follows ? 1 : 0;
    this.count++;
  }
}
