/**
 * CRC-32C (Castagnoli), the checksum of Kafka record batches. {@link initCrc32c} picks the fastest implementation
 * the runtime can load: native code through a Node-API addon behind src/platform (aws-crt or @node-rs/crc32; Bun, and Deno with
 * `--allow-ffi`), else hash-wasm's WASM CRC-32 with the Castagnoli polynomial (portable: every runtime). After it
 * every call is synchronous; the native path reads the bytes in place, the WASM path copies them into its memory.
 * bench/crc32c.ts measures both; tests/protocol/crc32c-implementations-agree.test.ts checks that they agree.
 */
import { createCRC32, type IHasher } from "hash-wasm";
import { type Crc32cFunction, type NativeCrc32c, loadBulkNativeCrc32c, loadBulkNativeCrc32cOffThread, loadNativeCrc32c } from "../platform/native-crc32c.ts";

/** The reflected CRC-32C polynomial. */
export const CRC32C_POLYNOMIAL = 0x82f63b78;

/**
 * Bytes a bulk process ({@link initCrc32c} `"lazy"`) checksums before it loads the faster, bigger addon: enough
 * that a broker which never sees bulk traffic keeps its small footprint, little enough that the one load (~50 ms
 * of CPU, mostly on a worker thread) is paid back within seconds of bulk ingest.
 */
export const BULK_CRC32C_LOAD_AFTER_BYTES = 64 * 1024 * 1024;

let hasher: IHasher | null = null;
let native: Crc32cFunction | null = null;
let natives: NativeCrc32c[] = [];
let initialized = false;
/** Bytes counted toward {@link BULK_CRC32C_LOAD_AFTER_BYTES}, or -1 when not counting. */
let bulkBytes = -1;
let bulkTried = false;
/** The small addon's load, once started. */
let smallLoad: Promise<void> | null = null;

/**
 * Loads the implementations. Must be awaited once before {@link crc32c} is called. `bulk`: this process checksums
 * bulk data (the broker), so the fastest native addon (src/platform/native-crc32c.ts) is worth its bigger load:
 * `"now"` loads it here; `"lazy"` once {@link BULK_CRC32C_LOAD_AFTER_BYTES} have been checksummed, on a timer of
 * its own (never inside a caller's request; the bulk library is first loaded by a worker thread, then here in
 * ~1-20 ms), and until then loads no addon at all (WASM serves: an idle broker holds neither addon, about 3 MB of
 * RSS for @node-rs/crc32). A later call may ask for more than an earlier one did; `"no"` while a lazy load waits
 * for its bytes changes nothing.
 */
export async function initCrc32c(bulk: "no" | "lazy" | "now" = "no"): Promise<void> {
  if (!initialized) {
    hasher = await createCRC32(CRC32C_POLYNOMIAL);
    initialized = true;
  }
  if (bulk === "now" || (bulk === "no" && bulkBytes < 0)) await loadSmall();
  if (bulk === "now") loadBulk();
  else if (bulk === "lazy" && !bulkTried && bulkBytes < 0) bulkBytes = 0;
}

/** Loads the small addon (@node-rs/crc32) once; it serves unless the bulk addon has loaded. */
function loadSmall(): Promise<void> {
  smallLoad ??= loadNativeCrc32c().then((small) => {
    if (small === null) return;
    natives = [...natives, small];
    native ??= small.crc;
  });
  return smallLoad;
}

/** Loads the bulk addon once, here and now, and makes it the one {@link crc32c} uses when it loads. */
function loadBulk(): void {
  if (bulkTried) return;
  bulkTried = true;
  bulkBytes = -1;
  adopt(loadBulkNativeCrc32c());
}

/** Makes `fast` (when it loaded) the implementation {@link crc32c} uses. */
function adopt(fast: NativeCrc32c | null): void {
  if (fast === null || natives.includes(fast)) return;
  natives = [fast, ...natives];
  native = fast.crc;
}

/**
 * Counts bulk bytes; past the threshold, loads the small addon and then the bulk one, the bulk library's expensive
 * part on another thread, all on a timer (outside the caller's work).
 */
function countBulk(n: number): void {
  bulkBytes += n;
  if (bulkBytes < BULK_CRC32C_LOAD_AFTER_BYTES) return;
  bulkBytes = -1;
  bulkTried = true;
  setTimeout(() => void loadSmall().then(loadBulkNativeCrc32cOffThread).then(adopt, () => {}), 0);
}

/** Returns the CRC-32C of `data` as an unsigned 32-bit integer. Requires {@link initCrc32c}. */
export function crc32c(data: Uint8Array): number {
  if (bulkBytes >= 0) countBulk(data.length);
  const n = native;
  return n !== null ? n(data) : crc32cWasm(data);
}

/** The WASM implementation (the portable fallback), whatever {@link crc32c} uses. Requires {@link initCrc32c}. */
export function crc32cWasm(data: Uint8Array): number {
  const h = hasher;
  if (h === null) throw new Error("crc32c used before initCrc32c()");
  h.init();
  h.update(data);
  const d = h.digest("binary");
  return ((d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3]) >>> 0;
}

/** Every native implementation loaded so far, the one {@link crc32c} uses first. Requires {@link initCrc32c}. */
export function nativeCrc32cImplementations(): readonly NativeCrc32c[] {
  return natives;
}

/** The native implementation, or null where the runtime could not load it. Requires {@link initCrc32c}. */
export function nativeCrc32c(): Crc32cFunction | null {
  return native;
}
