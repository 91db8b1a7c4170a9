/**
 * Records named by where they lie instead of carried: the form a shard gives a Fetch answer's records field for its
 * node's front (src/shard), which reads the bytes through its own read-only map of the same segment file and
 * writes those views to the client's socket, as a plain broker writes its own map's views. A view of a segment map
 * (`mappedFileOf`, src/platform/fs.ts) becomes a slice: the file's path and identity (device, inode), the byte
 * position and length, and the slice's first {@link SLICE_CHECK_BYTES} bytes (its first batch's offset, length,
 * leader epoch, magic and CRC) for the reader to compare; any other chunk (a pread of the active segment's tail,
 * a short view) is carried inline. The reader must check that the file it maps is the one named and fall back to
 * asking for the bytes when it is not.
 *
 * Layout (big-endian): magic u32, part count u32, then each part: kind u8; inline: length u32, bytes; slice:
 * dev u64, ino u64, position u32, length u32, the check bytes, path length u16, path (UTF-8).
 */
import { mappedFileOf } from "../platform/fs.ts";

/** First bytes of a slice the reader compares with what its map holds there. */
export const SLICE_CHECK_BYTES = 21;
/** Chunks shorter than this are carried inline (copying them costs less than the reader's lookup). */
export const MIN_SLICE_BYTES = 4096;
/** Marks a records field holding slices. */
const MAGIC = 0x52534c31; // "RSL1"
const INLINE = 0;
const SLICE = 1;
const SLICE_FIXED_BYTES = 1 + 8 + 8 + 4 + 4 + SLICE_CHECK_BYTES + 2;

/** One part of a records value in slice form. */
export type RecordSlicePart =
  | { kind: "inline"; bytes: Uint8Array }
  | { kind: "slice"; path: string; dev: bigint; ino: bigint; position: number; length: number; check: Uint8Array };

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** `records` (whole batches, back to back) in slice form. */
export function encodeRecordSlices(records: Uint8Array | readonly Uint8Array[]): Uint8Array {
  const chunks = records instanceof Uint8Array ? [records] : records;
  let size = 8;
  const parts: ({ chunk: Uint8Array; path: Uint8Array | null; dev: bigint; ino: bigint; position: number })[] = [];
  for (const chunk of chunks) {
    if (chunk.length === 0) continue;
    const at = chunk.length >= MIN_SLICE_BYTES ? mappedFileOf(chunk) : null;
    if (at === null) {
      parts.push({ chunk, path: null, dev: 0n, ino: 0n, position: 0 });
      size += 5 + chunk.length;
    } else {
      const path = utf8.encode(at.file.path);
      if (path.length > 0xffff) throw new RangeError(`segment path too long: ${at.file.path}`);
      parts.push({ chunk, path, dev: at.file.dev, ino: at.file.ino, position: at.position });
      size += SLICE_FIXED_BYTES + path.length;
    }
  }
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC);
  dv.setUint32(4, parts.length);
  let p = 8;
  for (const part of parts) {
    if (part.path === null) {
      out[p] = INLINE;
      dv.setUint32(p + 1, part.chunk.length);
      out.set(part.chunk, p + 5);
      p += 5 + part.chunk.length;
      continue;
    }
    out[p] = SLICE;
    dv.setBigUint64(p + 1, part.dev);
    dv.setBigUint64(p + 9, part.ino);
    dv.setUint32(p + 17, part.position);
    dv.setUint32(p + 21, part.chunk.length);
    out.set(part.chunk.subarray(0, SLICE_CHECK_BYTES), p + 25);
    dv.setUint16(p + 25 + SLICE_CHECK_BYTES, part.path.length);
    out.set(part.path, p + SLICE_FIXED_BYTES);
    p += SLICE_FIXED_BYTES + part.path.length;
  }
  return out;
}

/**
 * The parts of a records value in slice form (inline parts are views of `blob`); an empty value has none. Throws
 * a RangeError when `blob` is not in slice form.
 */
export function decodeRecordSlices(blob: Uint8Array): RecordSlicePart[] {
  if (blob.length === 0) return [];
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.length);
  if (blob.length < 8 || dv.getUint32(0) !== MAGIC) throw new RangeError("records are not in slice form");
  const count = dv.getUint32(4);
  const parts: RecordSlicePart[] = [];
  let p = 8;
  const need = (n: number) => {
    if (p + n > blob.length) throw new RangeError("records in slice form end early");
  };
  for (let i = 0; i < count; i++) {
    need(5);
    const kind = blob[p];
    if (kind === INLINE) {
      const length = dv.getUint32(p + 1);
      need(5 + length);
      parts.push({ kind: "inline", bytes: blob.subarray(p + 5, p + 5 + length) });
      p += 5 + length;
    } else if (kind === SLICE) {
      need(SLICE_FIXED_BYTES);
      const pathLength = dv.getUint16(p + 25 + SLICE_CHECK_BYTES);
      need(SLICE_FIXED_BYTES + pathLength);
      parts.push({
        kind: "slice",
        dev: dv.getBigUint64(p + 1),
        ino: dv.getBigUint64(p + 9),
        position: dv.getUint32(p + 17),
        length: dv.getUint32(p + 21),
        check: blob.subarray(p + 25, p + 25 + SLICE_CHECK_BYTES),
        path: fromUtf8.decode(blob.subarray(p + SLICE_FIXED_BYTES, p + SLICE_FIXED_BYTES + pathLength)),
      });
      p += SLICE_FIXED_BYTES + pathLength;
    } else {
      throw new RangeError(`unknown part kind ${kind} in records in slice form`);
    }
  }
  if (p !== blob.length) throw new RangeError("records in slice form have bytes after their parts");
  return parts;
}
