/**
 * Sequential reading of the batches of one segment file for the log cleaner: one read call per chunk into a buffer
 * that is reused for every segment (and grows only for a batch larger than a chunk), framing checked per batch.
 * The cleaner reads through its own descriptor, so it never touches the maps or windows that serve fetches.
 */
import type { FileHandle, FileSystem } from "../platform/fs.ts";
import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BATCH_HEADER_SIZE,
  batchSizeAt,
  CURRENT_MAGIC,
  dataViewOf,
  LAST_OFFSET_DELTA_OFFSET,
  MAGIC_OFFSET,
} from "../protocol/batch-layout.ts";

/** Bytes read per call. */
export const CLEANER_READ_CHUNK_BYTES = 1024 * 1024;

/** A segment file whose batches do not frame (the cleaner stops and leaves the log alone). */
export class CorruptSegmentError extends Error {
  constructor(path: string, position: number, detail: string) {
    super(`${path}: ${detail} at position ${position}`);
    this.name = "CorruptSegmentError";
  }
}

/** Walks the batches of a segment file; after {@link next} returns true the fields describe the current batch. */
export class BatchFileReader {
  /** Buffer holding the current batch at {@link at}. */
  buf: Uint8Array = new Uint8Array(CLEANER_READ_CHUNK_BYTES);
  /** DataView over {@link buf}. */
  dv: DataView = dataViewOf(this.buf);
  /** Index of the current batch in {@link buf}. */
  at = 0;
  /** Size of the current batch in bytes. */
  size = 0;
  /** File position of the current batch. */
  position = 0;
  /** First offset of the current batch. */
  baseOffset = 0n;
  /** Last offset of the current batch. */
  lastOffset = 0n;
  /** Attributes of the current batch. */
  attributes = 0;
  private file: FileHandle | null = null;
  private path = "";
  private limit = 0;
  private bufStart = 0;
  private bufEnd = 0;
  private nextPosition = 0;

  /** Starts reading `path` at byte `from`, never past `limit` (the segment's size). */
  open(fs: FileSystem, path: string, limit: number, from: number): void {
    this.close();
    this.file = fs.openRead(path);
    this.path = path;
    this.limit = limit;
    this.bufStart = 0;
    this.bufEnd = 0;
    this.nextPosition = from;
  }

  /** Advances to the next batch; false at the end. Throws {@link CorruptSegmentError} on bad framing. */
  next(): boolean {
    if (this.file === null) throw new Error("BatchFileReader.next before open");
    const pos = this.nextPosition;
    if (pos >= this.limit) return false;
    if (pos + BATCH_HEADER_SIZE > this.limit) throw new CorruptSegmentError(this.path, pos, "torn batch header");
    this.load(pos, BATCH_HEADER_SIZE);
    let at = pos - this.bufStart;
    const size = batchSizeAt(this.dv, at);
    if (size < BATCH_HEADER_SIZE || pos + size > this.limit) throw new CorruptSegmentError(this.path, pos, `bad batch length ${size}`);
    if (this.dv.getInt8(at + MAGIC_OFFSET) !== CURRENT_MAGIC) throw new CorruptSegmentError(this.path, pos, "batch magic is not 2");
    this.load(pos, size);
    at = pos - this.bufStart;
    const delta = this.dv.getInt32(at + LAST_OFFSET_DELTA_OFFSET);
    if (delta < 0) throw new CorruptSegmentError(this.path, pos, `bad lastOffsetDelta ${delta}`);
    this.at = at;
    this.size = size;
    this.position = pos;
    this.baseOffset = this.dv.getBigInt64(at + BASE_OFFSET_OFFSET);
    this.lastOffset = this.baseOffset + BigInt(delta);
    this.attributes = this.dv.getInt16(at + ATTRIBUTES_OFFSET);
    this.nextPosition = pos + size;
    return true;
  }

  /** The current batch as a view (valid until the next call). */
  batch(): Uint8Array {
    return this.buf.subarray(this.at, this.at + this.size);
  }

  /** Closes the file (the buffer is kept for the next segment). */
  close(): void {
    this.file?.close();
    this.file = null;
  }

  /** Makes file bytes [pos, pos+n) available in the buffer. */
  private load(pos: number, n: number): void {
    if (pos >= this.bufStart && pos + n <= this.bufEnd) return;
    if (n > this.buf.length) {
      let size = this.buf.length;
      while (size < n) size *= 2;
      this.buf = new Uint8Array(size);
      this.dv = dataViewOf(this.buf);
    }
    const want = Math.min(this.buf.length, this.limit - pos);
    const got = this.file!.read(this.buf.subarray(0, want), pos);
    if (got < n) throw new CorruptSegmentError(this.path, pos, `short read (${got} of ${n} bytes)`);
    this.bufStart = pos;
    this.bufEnd = pos + got;
  }
}
