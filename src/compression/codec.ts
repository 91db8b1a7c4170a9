/**
 * The one interface every Kafka compression codec implements, and the errors decompression throws.
 *
 * A record batch (magic 2) stores its records section compressed with the codec named by attribute
 * bits 0-2: 1 gzip, 2 snappy, 3 lz4, 4 zstd. Codecs are synchronous once {@link initCompression} (index.ts)
 * has instantiated their WASM; gzip also offers promise-returning variants that run on the runtime's zlib thread pool. Decompression is bounded: callers pass the most bytes they accept, and a
 * codec throws {@link DecompressionLimitError} before it would produce (or allocate) more than that.
 */

/** Kafka's name for a codec, as used in `compression.type`. */
export type CodecName = "gzip" | "snappy" | "lz4" | "zstd";

/** A block compressor/decompressor for one Kafka codec id. */
export interface CompressionCodec {
  /** Kafka codec id stored in batch attribute bits 0-2 (1 gzip, 2 snappy, 3 lz4, 4 zstd). */
  readonly id: number;
  /** Kafka's name for the codec. */
  readonly name: CodecName;
  /** Compresses `data` into a new buffer in the format Kafka clients read; `level` is codec specific. */
  compress(data: Uint8Array, level?: number): Uint8Array;
  /** Decompresses `data`; throws {@link DecompressionLimitError} past `maxOutputBytes` output bytes. */
  decompress(data: Uint8Array, maxOutputBytes: number): Uint8Array;
  /** {@link compress} off the event loop (the runtime's thread pool), where the codec has such a path. */
  compressAsync?(data: Uint8Array, level?: number): Promise<Uint8Array>;
  /** {@link decompress} off the event loop, where the codec has such a path; rejects with the same errors. */
  decompressAsync?(data: Uint8Array, maxOutputBytes: number): Promise<Uint8Array>;
}

/** Smallest input (bytes) worth sending off the loop: below it the hop costs more than the codec blocks. */
export const OFF_LOOP_CODEC_MIN_BYTES = 32 * 1024;

/** Largest `maxOutputBytes` a caller may ask for: Kafka sizes are int32, and so is a JS typed array index. */
export const MAX_DECOMPRESSED_BYTES = 0x7fff_ffff;

/** Thrown when compressed input is malformed: bad magic, checksum mismatch, truncation, bad back-reference. */
export class CorruptCompressedDataError extends Error {
  /** Codec that rejected the input. */
  readonly codec: CodecName;

  /** Creates the error for `codec` with a human-readable `detail`. */
  constructor(codec: CodecName, detail: string, options?: { cause?: unknown }) {
    super(`corrupt ${codec} data: ${detail}`, options);
    this.name = "CorruptCompressedDataError";
    this.codec = codec;
  }
}

/** Thrown when decompressed output would exceed the caller's `maxOutputBytes` (zip-bomb guard). */
export class DecompressionLimitError extends Error {
  /** Codec whose output hit the limit. */
  readonly codec: CodecName;
  /** The `maxOutputBytes` that was exceeded. */
  readonly limit: number;

  /** Creates the error for `codec` exceeding `limit` bytes of output. */
  constructor(codec: CodecName, limit: number) {
    super(`${codec} output exceeds the limit of ${limit} bytes`);
    this.name = "DecompressionLimitError";
    this.codec = codec;
    this.limit = limit;
  }
}

/** Throws a RangeError unless `maxOutputBytes` is an integer in [0, MAX_DECOMPRESSED_BYTES]. */
export function assertMaxOutputBytes(maxOutputBytes: number): void {
  if (!Number.isInteger(maxOutputBytes) || maxOutputBytes < 0 || maxOutputBytes > MAX_DECOMPRESSED_BYTES) {
    throw new RangeError(`maxOutputBytes must be an integer in [0, ${MAX_DECOMPRESSED_BYTES}], got ${maxOutputBytes}`);
  }
}

/** Throws a RangeError unless `level` is undefined or an integer in [min, max]; returns it or `fallback`. */
export function checkLevel(codec: CodecName, level: number | undefined, min: number, max: number, fallback: number): number {
  if (level === undefined) return fallback;
  if (!Number.isInteger(level) || level < min || level > max) {
    throw new RangeError(`${codec} level must be an integer in [${min}, ${max}], got ${level}`);
  }
  return level;
}

/** Thrown for a codec id or `compression.type` name Runnel does not know (Kafka: UNSUPPORTED_COMPRESSION_TYPE). */
export class UnsupportedCompressionTypeError extends Error {
  /** The id or name that was asked for. */
  readonly requested: number | string;

  /** Creates the error for `requested`. */
  constructor(requested: number | string, detail?: string) {
    super(`unsupported compression type ${JSON.stringify(requested)}${detail === undefined ? "" : `: ${detail}`}`);
    this.name = "UnsupportedCompressionTypeError";
    this.requested = requested;
  }
}
