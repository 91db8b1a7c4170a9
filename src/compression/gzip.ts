/**
 * Kafka codec 1: gzip (RFC 1952) through the runtime's `node:zlib`, which Bun and Deno both provide.
 * Decompression passes `maxOutputLength`, so zlib stops inflating at the limit instead of allocating
 * whatever a zip bomb asks for. Concatenated gzip members decode as one stream, as in Java's GZIPInputStream.
 * The `*Async` variants feed a zlib stream one {@link STREAM_CHUNK_BYTES} slice at a time and give the event loop
 * a turn (setImmediate) after each, so a large batch never holds the loop: Bun runs each slice on its thread
 * pool; Deno's node:zlib runs on the loop itself (one-shot `gzip(buf, cb)` and a stream written all at once from
 * a socket callback both measured stalling 0.4-2 s), so there the turns between slices are what keeps it live.
 */
import { Buffer } from "node:buffer";
import { setImmediate } from "node:timers";
import { createGunzip, createGzip, gunzipSync, gzipSync, type Gunzip, type Gzip } from "node:zlib";
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

/** Input bytes handed to a zlib stream at a time: one slice is a few ms of codec work at most (level 9). */
export const STREAM_CHUNK_BYTES = 64 * 1024;

/** Node's error code when output would pass `maxOutputLength`. */
const ERR_BUFFER_TOO_LARGE = "ERR_BUFFER_TOO_LARGE";

/** A plain Uint8Array over a Buffer's memory, so callers never meet Buffer's view-returning `slice`. */
function plainView(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** zlib options for inflating at most `maxOutputBytes` (zlib rejects 0, so a zero limit is checked afterwards). */
function inflateOptions(maxOutputBytes: number): { maxOutputLength: number } {
  assertMaxOutputBytes(maxOutputBytes);
  return { maxOutputLength: Math.max(1, maxOutputBytes) };
}

/** The codec error for a zlib failure while inflating. */
function inflateError(err: unknown, maxOutputBytes: number): Error {
  if ((err as { code?: unknown }).code === ERR_BUFFER_TOO_LARGE) return new DecompressionLimitError("gzip", maxOutputBytes);
  return new CorruptCompressedDataError("gzip", (err as Error).message ?? String(err), { cause: err });
}

/** Inflated output, checked against `maxOutputBytes`. */
function inflated(out: Uint8Array, maxOutputBytes: number): Uint8Array {
  if (out.byteLength > maxOutputBytes) throw new DecompressionLimitError("gzip", maxOutputBytes);
  return plainView(out);
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
    const options = inflateOptions(maxOutputBytes);
    let out: Uint8Array;
    try {
      out = gunzipSync(data, options);
    } catch (err) {
      throw inflateError(err, maxOutputBytes);
    }
    return inflated(out, maxOutputBytes);
  },

  compressAsync(data: Uint8Array, level?: number): Promise<Uint8Array> {
    const lvl = checkLevel("gzip", level, GZIP_MIN_LEVEL, GZIP_MAX_LEVEL, GZIP_DEFAULT_LEVEL);
    return throughStream(createGzip({ level: lvl }), data, Infinity, (err) => err as Error);
  },

  decompressAsync(data: Uint8Array, maxOutputBytes: number): Promise<Uint8Array> {
    assertMaxOutputBytes(maxOutputBytes);
    return throughStream(createGunzip(), data, maxOutputBytes, (err) => inflateError(err, maxOutputBytes));
  },
};

/**
 * Feeds `data` through a zlib stream slice by slice, a loop turn between slices, and joins its output; rejects with DecompressionLimitError once
 * the output passes `maxOutputBytes` (the stream is destroyed there), or with `failure(err)` on a zlib error.
 */
function throughStream(z: Gzip | Gunzip, data: Uint8Array, maxOutputBytes: number, failure: (err: unknown) => Error): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const parts: Uint8Array[] = [];
    let total = 0;
    let settled = false;
    const fail = (e: Error): void => {
      if (settled) return;
      settled = true;
      z.destroy();
      reject(e);
    };
    z.on("data", (chunk: Uint8Array) => {
      total += chunk.byteLength;
      if (total > maxOutputBytes) fail(new DecompressionLimitError("gzip", maxOutputBytes));
      else parts.push(chunk);
    });
    z.on("error", (err) => fail(failure(err)));
    z.on("end", () => {
      if (settled) return;
      settled = true;
      resolve(plainView(Buffer.concat(parts, total)));
    });
    let at = 0;
    const feed = (): void => {
      if (settled) return;
      if (at >= data.length) {
        z.end();
        return;
      }
      const slice = data.subarray(at, at + STREAM_CHUNK_BYTES);
      at += slice.length;
      z.write(slice, () => setImmediate(feed));
    };
    feed();
  });
}
