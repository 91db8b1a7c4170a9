/**
 * Kafka codec 1: gzip (RFC 1952) through the runtime's `node:zlib`, which Bun and Deno both provide.
 * Decompression passes `maxOutputLength`, so zlib stops inflating at the limit instead of allocating
 * whatever a zip bomb asks for. Concatenated gzip members decode as one stream, as in Java's GZIPInputStream.
 */
import { gunzipSync, gzipSync } from "node:zlib";
import {
  assertMaxOutputBytes,
  checkLevel,
  type CompressionCodec,
  CorruptCompressedDataError,
  DecompressionLimitError,
} from "./codec.ts";

/** Kafka codec id of gzip. */
export const GZIP_CODEC_ID = 1;
/** Lowest gzip level (-1 is zlib's default, which is 6). */
export const GZIP_MIN_LEVEL = -1;
/** Highest gzip level. */
export const GZIP_MAX_LEVEL = 9;
/** Level used when none is given: zlib's default, as Kafka's `compression.gzip.level` default. */
export const GZIP_DEFAULT_LEVEL = -1;

/** Node's error code when output would pass `maxOutputLength`. */
const ERR_BUFFER_TOO_LARGE = "ERR_BUFFER_TOO_LARGE";

/** A plain Uint8Array over a Buffer's memory, so callers never meet Buffer's view-returning `slice`. */
function plainView(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** The gzip codec (id 1). Needs no initialisation. */
export const gzipCodec: CompressionCodec = {
  id: GZIP_CODEC_ID,
  name: "gzip",

  compress(data: Uint8Array, level?: number): Uint8Array {
    const lvl = checkLevel("gzip", level, GZIP_MIN_LEVEL, GZIP_MAX_LEVEL, GZIP_DEFAULT_LEVEL);
    return plainView(gzipSync(data, { level: lvl }));
  },

  decompress(data: Uint8Array, maxOutputBytes: number): Uint8Array {
    assertMaxOutputBytes(maxOutputBytes);
    let out: Uint8Array;
    try {
      // zlib rejects a maxOutputLength of 0, so a zero limit is enforced by the length check below.
      out = gunzipSync(data, { maxOutputLength: Math.max(1, maxOutputBytes) });
    } catch (err) {
      if ((err as { code?: unknown }).code === ERR_BUFFER_TOO_LARGE) {
        throw new DecompressionLimitError("gzip", maxOutputBytes);
      }
      throw new CorruptCompressedDataError("gzip", (err as Error).message ?? String(err), { cause: err });
    }
    if (out.byteLength > maxOutputBytes) throw new DecompressionLimitError("gzip", maxOutputBytes);
    return plainView(out);
  },
};
