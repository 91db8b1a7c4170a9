/**
 * Record payloads for load tests: a fixed pool of distinct values made from a seeded generator, so every run
 * (and every system compared) sends the same bytes. Values are drawn from a 32-letter alphabet: about 5 bits of
 * entropy per byte, so compression helps somewhat, as with text-like data, without the pool being trivially
 * compressible. Send-time stamps for end-to-end latency live in the first 8 bytes.
 */

/** Most bytes a payload pool holds (values are reused round-robin beyond it). */
export const MAX_POOL_BYTES = 8 * 1024 * 1024;
/** Most values in a pool. */
export const MAX_POOL_VALUES = 65_536;
/** Fewest values in a pool (large records). */
export const MIN_POOL_VALUES = 4;
/** Bytes of the send-time stamp at the start of a stamped payload. */
export const STAMP_BYTES = 8;

const ALPHABET = new TextEncoder().encode("abcdefghijklmnopqrstuvwxyz .,-_:");

/** A deterministic xorshift32 generator in [0, 2^32). */
function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** A pool of `recordSize`-byte values (deterministic for a given size and seed). */
export function payloadPool(recordSize: number, seed = 42): Uint8Array[] {
  if (!Number.isSafeInteger(recordSize) || recordSize < 0) throw new RangeError(`record size must be an integer >= 0, got ${recordSize}`);
  const values = Math.max(MIN_POOL_VALUES, Math.min(MAX_POOL_VALUES, Math.ceil(MAX_POOL_BYTES / Math.max(1, recordSize))));
  const next = xorshift(seed ^ recordSize);
  const all = new Uint8Array(values * recordSize);
  for (let i = 0; i < all.length; i += 4) {
    const r = next();
    all[i] = ALPHABET[r & 31];
    if (i + 1 < all.length) all[i + 1] = ALPHABET[(r >>> 8) & 31];
    if (i + 2 < all.length) all[i + 2] = ALPHABET[(r >>> 16) & 31];
    if (i + 3 < all.length) all[i + 3] = ALPHABET[(r >>> 24) & 31];
  }
  const pool: Uint8Array[] = [];
  for (let v = 0; v < values; v++) pool.push(all.subarray(v * recordSize, (v + 1) * recordSize));
  return pool;
}

const stampScratch = new Float64Array(1);
const stampBytes = new Uint8Array(stampScratch.buffer);

/** Writes `timeMs` (a performance.now() reading of this process) into the first 8 bytes of `value`. */
export function stampTime(value: Uint8Array, timeMs: number): void {
  if (value.length < STAMP_BYTES) throw new RangeError(`stamped payloads need at least ${STAMP_BYTES} bytes`);
  stampScratch[0] = timeMs;
  value.set(stampBytes, 0);
}

/** Reads the stamp that {@link stampTime} wrote (NaN when `value` is too short). */
export function readStamp(value: Uint8Array): number {
  if (value.length < STAMP_BYTES) return NaN;
  for (let i = 0; i < STAMP_BYTES; i++) stampBytes[i] = value[i];
  return stampScratch[0];
}
