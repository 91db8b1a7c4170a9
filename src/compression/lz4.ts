/**
 * Kafka codec 3: the LZ4 *frame* format (lz4_Frame_format.md), as Kafka magic-2 batches carry it.
 *
 * Frame: magic 0x184D2204 (LE) | FLG | BD | [content size u64 LE] | [dict id u32 LE] | HC | blocks | end mark
 * (u32 0) | [content checksum u32 LE]. HC = (xxh32(FLG..last descriptor byte, seed 0) >> 8) & 0xFF. Each block
 * is a u32 LE size whose high bit marks an uncompressed block, the data, and an optional xxh32 of the data.
 *
 * Writing: 64 KiB blocks, independent, no content size, no checksums, correct HC; the form librdkafka (LZ4F
 * defaults + block independence) and Java's KafkaLZ4BlockOutputStream write. A block whose compressed form is
 * not smaller than its input is stored uncompressed. Block compression is lz4-wasm (lz4-wasm.ts).
 *
 * Reading: any block size (64 KiB-4 MiB), independent or linked blocks, with or without block/content checksums
 * and content size, concatenated frames and skippable frames; all checksums are verified. Block decoding is
 * lz4-block.ts. Old Kafka (magic 0/1) computed HC over the magic too; magic-2 data never does, so that legacy
 * checksum is rejected. Frames that need a dictionary are rejected (Kafka never uses one).
 */
import {
  assertMaxOutputBytes,
  type CompressionCodec,
  CorruptCompressedDataError,
  DecompressionLimitError,
} from "./codec.ts";
import { decodeLz4Block, LZ4_OUTPUT_OVERFLOW, Lz4BlockError } from "./lz4-block.ts";
import { compressLz4BlockInto, initLz4Wasm } from "./lz4-wasm.ts";
import { initXxhash32, xxhash32 } from "./xxhash32.ts";

/** Kafka codec id of lz4. */
export const LZ4_CODEC_ID = 3;
/** LZ4 frame magic number (stored little-endian). */
export const LZ4_FRAME_MAGIC = 0x184d2204;
/** Skippable frames use magics 0x184D2A50..0x184D2A5F. */
const LZ4_SKIPPABLE_MAGIC_MASK = 0xfffffff0;
/** Base of the skippable frame magics. */
const LZ4_SKIPPABLE_MAGIC = 0x184d2a50;
/** Uncompressed bytes per block that {@link compressLz4Frame} writes. */
export const LZ4_WRITE_BLOCK_SIZE = 64 * 1024;
/** FLG written: version 01, block independence. */
const FLG_WRITTEN = 0x60;
/** BD written: block max size id 4 (64 KiB). */
const BD_WRITTEN = 0x40;
/** FLG bits. */
const FLG_VERSION_MASK = 0xc0;
const FLG_VERSION_01 = 0x40;
const FLG_BLOCK_INDEPENDENCE = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_RESERVED = 0x02;
const FLG_DICT_ID = 0x01;
/** BD bits other than the block max size id must be zero. */
const BD_RESERVED = 0x8f;
/** High bit of a block size: the block is stored uncompressed. */
const BLOCK_UNCOMPRESSED_FLAG = 0x8000_0000;
/** Magic + FLG + BD + HC: the smallest frame header. */
const MIN_HEADER_SIZE = 7;
/** Bytes of a block size field, the end mark, and each checksum. */
const U32_SIZE = 4;
/** Output scratch kept between calls up to this size; larger scratch is dropped after use. */
const SCRATCH_RETAIN_BYTES = 8 * 1024 * 1024;

/** Block max size in bytes for a BD block-max-size id (4..7). */
function blockMaxSize(id: number): number {
  return 1 << (8 + 2 * id); // 4 -> 64 KiB, 5 -> 256 KiB, 6 -> 1 MiB, 7 -> 4 MiB
}

/** Throws the lz4 corruption error. */
function corrupt(detail: string, cause?: unknown): never {
  throw new CorruptCompressedDataError("lz4", detail, cause === undefined ? undefined : { cause });
}

/** Reads a little-endian u32. */
function readU32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

/** Writes a little-endian u32. */
function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
}

let initPromise: Promise<void> | null = null;

/** Instantiates lz4-wasm and the xxHash32 hasher once. */
export function initLz4(): Promise<void> {
  if (initPromise === null) initPromise = Promise.all([initLz4Wasm(), initXxhash32()]).then(() => undefined);
  return initPromise;
}

/** Compresses `data` into one LZ4 frame: 64 KiB independent blocks, no content size, no checksums. */
export function compressLz4Frame(data: Uint8Array): Uint8Array {
  const blockCount = Math.ceil(data.length / LZ4_WRITE_BLOCK_SIZE);
  // Every block is stored compressed only if smaller, so it never takes more than its input.
  const bound = MIN_HEADER_SIZE + blockCount * U32_SIZE + data.length + U32_SIZE;
  const out = new Uint8Array(bound);
  writeU32(out, 0, LZ4_FRAME_MAGIC);
  out[4] = FLG_WRITTEN;
  out[5] = BD_WRITTEN;
  out[6] = (xxhash32(out.subarray(4, 6)) >>> 8) & 0xff;
  let op = MIN_HEADER_SIZE;
  for (let start = 0; start < data.length; start += LZ4_WRITE_BLOCK_SIZE) {
    const block = data.subarray(start, Math.min(start + LZ4_WRITE_BLOCK_SIZE, data.length));
    const n = compressLz4BlockInto(block, out, op + U32_SIZE, block.length - 1);
    if (n >= 0) {
      writeU32(out, op, n);
      op += U32_SIZE + n;
    } else {
      writeU32(out, op, (block.length | BLOCK_UNCOMPRESSED_FLAG) >>> 0);
      out.set(block, op + U32_SIZE);
      op += U32_SIZE + block.length;
    }
  }
  writeU32(out, op, 0); // end mark
  op += U32_SIZE;
  return op === out.length ? out : out.slice(0, op);
}

/** Reusable output buffer for decompression; grows up to the caller's limit. */
let scratch = new Uint8Array(0);

/** Makes `scratch` at least `needed` bytes (never more than `limit`), keeping its first `keep` bytes. */
function growScratch(needed: number, keep: number, limit: number): Uint8Array {
  if (scratch.length >= needed) return scratch;
  const size = Math.min(limit, Math.max(needed, scratch.length * 2));
  const next = new Uint8Array(size);
  next.set(scratch.subarray(0, keep));
  scratch = next;
  return next;
}

/**
 * Decodes one frame starting at `pos` (just past its magic) into `scratch` from `op`.
 * Returns the input position after the frame; stores the new output position in `cursor[0]`.
 */
function decodeFrame(data: Uint8Array, pos: number, op: number, maxOutputBytes: number, cursor: Int32Array): number {
  const frameStart = pos - U32_SIZE;
  if (data.length - pos < MIN_HEADER_SIZE - U32_SIZE) corrupt("truncated frame header");
  const flg = data[pos];
  const bd = data[pos + 1];
  if ((flg & FLG_VERSION_MASK) !== FLG_VERSION_01) corrupt(`unsupported frame version in FLG 0x${flg.toString(16)}`);
  if ((flg & FLG_RESERVED) !== 0 || (bd & BD_RESERVED) !== 0) corrupt("reserved frame descriptor bits set");
  const maxId = (bd >>> 4) & 0x07;
  if (maxId < 4) corrupt(`invalid block max size id ${maxId}`);
  const blockMax = blockMaxSize(maxId);
  const descriptorLength = 2 + ((flg & FLG_CONTENT_SIZE) !== 0 ? 8 : 0) + ((flg & FLG_DICT_ID) !== 0 ? 4 : 0);
  if (data.length - pos < descriptorLength + 1) corrupt("truncated frame header");
  const hc = data[pos + descriptorLength];
  const expectedHc = (xxhash32(data.subarray(pos, pos + descriptorLength)) >>> 8) & 0xff;
  if (hc !== expectedHc) {
    const legacyHc = (xxhash32(data.subarray(frameStart, pos + descriptorLength)) >>> 8) & 0xff;
    corrupt(hc === legacyHc ? "legacy (magic 0/1) header checksum" : "header checksum mismatch");
  }
  if ((flg & FLG_DICT_ID) !== 0) corrupt("frame needs a dictionary");
  let contentSize = -1;
  if ((flg & FLG_CONTENT_SIZE) !== 0) {
    const lo = readU32(data, pos + 2);
    const hi = readU32(data, pos + 6);
    if (hi !== 0 || lo > maxOutputBytes - op) throw new DecompressionLimitError("lz4", maxOutputBytes);
    contentSize = lo;
  }
  pos += descriptorLength + 1;

  const independent = (flg & FLG_BLOCK_INDEPENDENCE) !== 0;
  const blockChecksum = (flg & FLG_BLOCK_CHECKSUM) !== 0;
  const outStart = op;
  // Each block takes at least its 4-byte size field, which bounds the loop by the input length.
  const maxBlocks = Math.floor((data.length - pos) / U32_SIZE);
  let ended = false;
  for (let blocks = 0; blocks <= maxBlocks; blocks++) {
    if (data.length - pos < U32_SIZE) corrupt("truncated block size (missing end mark)");
    const sizeField = readU32(data, pos);
    pos += U32_SIZE;
    if (sizeField === 0) {
      ended = true;
      break;
    }
    const stored = (sizeField & BLOCK_UNCOMPRESSED_FLAG) !== 0;
    const size = sizeField & ~BLOCK_UNCOMPRESSED_FLAG;
    if (size > blockMax) corrupt(`block of ${size} bytes exceeds the frame's ${blockMax}-byte maximum`);
    if (data.length - pos < size + (blockChecksum ? U32_SIZE : 0)) corrupt("truncated block");
    if (blockChecksum && xxhash32(data.subarray(pos, pos + size)) !== readU32(data, pos + size)) {
      corrupt("block checksum mismatch");
    }
    if (stored) {
      if (size > maxOutputBytes - op) throw new DecompressionLimitError("lz4", maxOutputBytes);
      const out = growScratch(op + size, op, maxOutputBytes);
      out.set(data.subarray(pos, pos + size), op);
      op += size;
    } else {
      const outLimit = Math.min(op + blockMax, maxOutputBytes);
      const out = growScratch(outLimit, op, maxOutputBytes);
      let next: number;
      try {
        next = decodeLz4Block(data, pos, pos + size, out, op, outLimit, independent ? op : outStart);
      } catch (err) {
        if (err instanceof Lz4BlockError) corrupt(err.message, err);
        throw err;
      }
      if (next === LZ4_OUTPUT_OVERFLOW) {
        if (outLimit === maxOutputBytes) throw new DecompressionLimitError("lz4", maxOutputBytes);
        corrupt(`block decodes to more than the frame's ${blockMax}-byte maximum`);
      }
      op = next;
    }
    pos += size + (blockChecksum ? U32_SIZE : 0);
  }
  if (!ended) corrupt("missing end mark");

  if ((flg & FLG_CONTENT_CHECKSUM) !== 0) {
    if (data.length - pos < U32_SIZE) corrupt("truncated content checksum");
    if (xxhash32(scratch.subarray(outStart, op)) !== readU32(data, pos)) corrupt("content checksum mismatch");
    pos += U32_SIZE;
  }
  if (contentSize >= 0 && op - outStart !== contentSize) {
    corrupt(`frame decoded to ${op - outStart} bytes, header declared ${contentSize}`);
  }
  cursor[0] = op;
  return pos;
}

/** Output position handed back by {@link decodeFrame}; avoids an allocation per call. */
const frameCursor = new Int32Array(1);

/** Decompresses one or more concatenated LZ4 frames (skippable frames are skipped). */
export function decompressLz4Frame(data: Uint8Array, maxOutputBytes: number): Uint8Array {
  assertMaxOutputBytes(maxOutputBytes);
  if (data.length < MIN_HEADER_SIZE) corrupt("input shorter than a frame header");
  let pos = 0;
  let op = 0;
  try {
    // Every frame consumes at least 8 bytes, which bounds the loop.
    const maxFrames = Math.ceil(data.length / 8);
    for (let frames = 0; pos < data.length; frames++) {
      if (frames >= maxFrames) corrupt("too many frames");
      if (data.length - pos < U32_SIZE) corrupt("trailing bytes after the frame");
      const magic = readU32(data, pos);
      pos += U32_SIZE;
      if (((magic & LZ4_SKIPPABLE_MAGIC_MASK) >>> 0) === LZ4_SKIPPABLE_MAGIC) {
        if (data.length - pos < U32_SIZE) corrupt("truncated skippable frame");
        const skip = readU32(data, pos);
        if (skip > data.length - pos - U32_SIZE) corrupt("truncated skippable frame");
        pos += U32_SIZE + skip;
        continue;
      }
      if (magic !== LZ4_FRAME_MAGIC) corrupt(`bad frame magic 0x${magic.toString(16)}`);
      pos = decodeFrame(data, pos, op, maxOutputBytes, frameCursor);
      op = frameCursor[0];
    }
    return scratch.slice(0, op);
  } finally {
    if (scratch.length > SCRATCH_RETAIN_BYTES) scratch = new Uint8Array(0);
  }
}

/** The lz4 codec (id 3). Needs {@link initLz4}; `level` is ignored (lz4-wasm has one level). */
export const lz4Codec: CompressionCodec = {
  id: LZ4_CODEC_ID,
  name: "lz4",
  compress(data: Uint8Array, _level?: number): Uint8Array {
    return compressLz4Frame(data);
  },
  decompress(data: Uint8Array, maxOutputBytes: number): Uint8Array {
    return decompressLz4Frame(data, maxOutputBytes);
  },
};
