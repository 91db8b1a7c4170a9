/**
 * Kafka codec 4: zstd (RFC 8878), over the zstd WASM build of @bokuweb/zstd-wasm (zstd-wasm.ts).
 *
 * Compression writes one frame with the content size in its header (ZSTD_compress semantics) at Kafka's
 * default level 3. Decompression accepts one or more frames, with or without the content size: Java's
 * ZstdOutputStream and librdkafka's streaming writers omit it. When the size is declared and larger than the
 * limit we stop at once; otherwise we decompress into a buffer that starts at the declared size (or a guess)
 * and doubles on "destination too small", never past `maxOutputBytes`.
 */
import {
  assertMaxOutputBytes,
  checkLevel,
  type CompressionCodec,
  CorruptCompressedDataError,
  DecompressionLimitError,
} from "./codec.ts";
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
};
