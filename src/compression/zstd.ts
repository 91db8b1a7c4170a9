/**
 * Kafka codec 4: zstd (RFC 8878), over the zstd WASM build of @bokuweb/zstd-wasm (zstd-wasm.ts).
 *
 * Compression writes one frame with the content size in its header (ZSTD_compress semantics) at Kafka's
 * default level 3. Decompression accepts one or more frames, with or without the content size: Java's
 * ZstdOutputStream and librdkafka's streaming writers omit it. When the size is declared and larger than the
 * limit we stop at once; otherwise we decompress into a buffer that starts at the declared size (or a guess)
 * and doubles on "destination too small", never past `maxOutputBytes`.
 *
 * The `*Async` variants use the runtime's node:zlib zstd streams (Bun and Deno have them), slice by slice with
 * loop turns (zlib-stream.ts), so a large batch never holds the event loop.
 */
import { Buffer } from "node:buffer";
import { constants as zlibConstants, createZstdCompress, createZstdDecompress } from "node:zlib";
import {
  assertMaxOutputBytes,
  checkLevel,
  type CompressionCodec,
  CorruptCompressedDataError,
  DecompressionLimitError,
} from "./codec.ts";
import { throughStream } from "./zlib-stream.ts";
import {
  initZstdWasm,
  ZSTD_ERROR_DST_SIZE_TOO_SMALL,
  zstdCompressLoaded,
  zstdContentSizeHint,
  zstdDecompressInto,
  zstdLoadInput,
  zstdTakeOutput,
} from "./zstd-wasm.ts";

/** Kafka codec id of zstd. */
export const ZSTD_CODEC_ID = 4;
/** Lowest zstd level (negative levels are zstd's fast modes). */
export const ZSTD_MIN_LEVEL = -131072;
/** Highest zstd level. */
export const ZSTD_MAX_LEVEL = 22;
/** Level used when none is given: Kafka's `compression.zstd.level` default. */
export const ZSTD_DEFAULT_LEVEL = 3;
/** First output capacity tried for a frame without a content size: this many times the input... */
const UNKNOWN_SIZE_RATIO_GUESS = 8;
/** ...but at least this many bytes. */
const UNKNOWN_SIZE_MIN_GUESS = 64 * 1024;
/** Doublings from the smallest guess to the 2 GiB ceiling, with room to spare. */
const MAX_DECOMPRESS_ATTEMPTS = 32;

/** Names of the ZSTD error codes worth naming in messages (zstd_errors.h). */
const ZSTD_ERROR_NAMES: Record<number, string> = {
  1: "generic",
  10: "unknown frame magic",
  12: "unsupported frame version",
  14: "unsupported frame parameter",
  16: "window too large",
  20: "corruption detected",
  22: "checksum mismatch",
  30: "dictionary corrupted",
  32: "wrong dictionary",
  64: "memory allocation failed",
  72: "wrong source size (truncated input?)",
};

/** Instantiates the zstd WASM module once. */
export function initZstd(): Promise<void> {
  return initZstdWasm();
}

/** Compresses `data` into one zstd frame at `level`. */
export function compressZstd(data: Uint8Array, level?: number): Uint8Array {
  const lvl = checkLevel("zstd", level, ZSTD_MIN_LEVEL, ZSTD_MAX_LEVEL, ZSTD_DEFAULT_LEVEL);
  zstdLoadInput(data);
  return zstdCompressLoaded(data.length, lvl);
}

/** Decompresses zstd frames in `data`, producing at most `maxOutputBytes` bytes. */
export function decompressZstd(data: Uint8Array, maxOutputBytes: number): Uint8Array {
  assertMaxOutputBytes(maxOutputBytes);
  // zstd itself decodes zero bytes as zero frames; a Kafka batch always carries at least one frame.
  if (data.length === 0) throw new CorruptCompressedDataError("zstd", "empty input");
  zstdLoadInput(data);
  const hint = zstdContentSizeHint(data.length);
  if (hint > maxOutputBytes) throw new DecompressionLimitError("zstd", maxOutputBytes);
  let capacity = hint >= 0
    ? hint
    : Math.min(maxOutputBytes, Math.max(UNKNOWN_SIZE_MIN_GUESS, data.length * UNKNOWN_SIZE_RATIO_GUESS));
  for (let attempt = 0; attempt < MAX_DECOMPRESS_ATTEMPTS; attempt++) {
    const r = zstdDecompressInto(data.length, capacity);
    if (r >= 0) return zstdTakeOutput(r);
    const code = -r;
    if (code !== ZSTD_ERROR_DST_SIZE_TOO_SMALL) {
      throw new CorruptCompressedDataError("zstd", ZSTD_ERROR_NAMES[code] ?? `zstd error ${code}`);
    }
    if (capacity >= maxOutputBytes) throw new DecompressionLimitError("zstd", maxOutputBytes);
    capacity = Math.min(maxOutputBytes, Math.max(UNKNOWN_SIZE_MIN_GUESS, capacity * 2));
  }
  throw new Error("zstd: output capacity did not converge");
}

/** The zstd codec (id 4). Needs {@link initZstd}. */
export const zstdCodec: CompressionCodec = {
  id: ZSTD_CODEC_ID,
  name: "zstd",
  compress(data: Uint8Array, level?: number): Uint8Array {
    return compressZstd(data, level);
  },
  decompress(data: Uint8Array, maxOutputBytes: number): Uint8Array {
    return decompressZstd(data, maxOutputBytes);
  },
  compressAsync(data: Uint8Array, level?: number): Promise<Uint8Array> {
    const lvl = checkLevel("zstd", level, ZSTD_MIN_LEVEL, ZSTD_MAX_LEVEL, ZSTD_DEFAULT_LEVEL);
    const z = createZstdCompress({ params: { [zlibConstants.ZSTD_c_compressionLevel]: lvl } });
    return throughStream("zstd", z, data, Infinity, (err) => err as Error);
  },
  decompressAsync(data: Uint8Array, maxOutputBytes: number): Promise<Uint8Array> {
    return decompressZstdFrames(data, maxOutputBytes);
  },
};

/**
 * Decompresses zstd frames through node:zlib streams, one stream per frame: node:zlib's zstd (Bun, Deno) answers a
 * truncated frame with what it decoded, and Deno's stops after the first frame, so frames are found first.
 */
async function decompressZstdFrames(data: Uint8Array, maxOutputBytes: number): Promise<Uint8Array> {
  assertMaxOutputBytes(maxOutputBytes);
  const frames = data.length === 0 ? "empty input" : zstdFrameBounds(data);
  if (typeof frames === "string") throw new CorruptCompressedDataError("zstd", frames);
  const corrupt = (err: unknown) => new CorruptCompressedDataError("zstd", (err as Error).message ?? String(err), { cause: err });
  const parts: Uint8Array[] = [];
  let total = 0;
  for (let i = 0; i < frames.length; i += 2) {
    let part: Uint8Array;
    try {
      part = await throughStream("zstd", createZstdDecompress(), data.subarray(frames[i], frames[i + 1]), maxOutputBytes - total, corrupt);
    } catch (e) {
      throw e instanceof DecompressionLimitError ? new DecompressionLimitError("zstd", maxOutputBytes) : e;
    }
    parts.push(part);
    total += part.length;
  }
  if (parts.length === 1) return parts[0];
  const out = Buffer.concat(parts, total);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** First 4 bytes of a zstd frame (little-endian). */
const ZSTD_FRAME_MAGIC = 0xfd2fb528;
/** Skippable frames: magic 0x184D2A50..0x184D2A5F, then a 4-byte length. */
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
/** Reserved block type (RFC 8878 3.1.1.2.2). */
const BLOCK_TYPE_RESERVED = 3;
/** RLE blocks carry one byte whatever their size field says. */
const BLOCK_TYPE_RLE = 1;

/**
 * Start and end (pairs, flattened) of each zstd frame in `data`, skippable frames left out (none: no output); or why `data` is not a
 * whole sequence of frames (RFC 8878: headers, block headers and sizes, checksum). Block contents are not checked
 * here; the decoder does that.
 */
export function zstdFrameBounds(data: Uint8Array): number[] | string {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const bounds: number[] = [];
  let pos = 0;
  while (pos < data.length) {
    const start = pos;
    if (data.length - pos < 4) return "truncated frame magic";
    const magic = dv.getUint32(pos, true);
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (data.length - pos < 8) return "truncated skippable frame";
      pos += 8 + dv.getUint32(pos + 4, true);
      continue;
    }
    if (magic !== ZSTD_FRAME_MAGIC) return "unknown frame magic";
    if (data.length - pos < 5) return "truncated frame header";
    const fhd = data[pos + 4];
    const singleSegment = (fhd >> 5) & 1;
    const fcsBytes = [singleSegment, 2, 4, 8][fhd >> 6];
    pos += 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][fhd & 3] + fcsBytes;
    for (let last = 0; last === 0; ) {
      if (data.length - pos < 3) return "truncated block header";
      const header = data[pos] | (data[pos + 1] << 8) | (data[pos + 2] << 16);
      last = header & 1;
      const type = (header >> 1) & 3;
      if (type === BLOCK_TYPE_RESERVED) return "reserved block type";
      pos += 3 + (type === BLOCK_TYPE_RLE ? 1 : header >>> 3);
    }
    if ((fhd >> 2) & 1) pos += 4; // content checksum
    if (pos > data.length) return "truncated frame";
    bounds.push(start, pos);
  }
  if (pos !== data.length) return "truncated skippable frame";
  return bounds;
}
