/**
 * CRC-32C (Castagnoli), the checksum of Kafka record batches. {@link initCrc32c} picks the fastest implementation
 * the runtime can load: native code through a Node-API addon behind src/platform (aws-crt or @node-rs/crc32; Bun, and Deno with
 * `--allow-ffi`), else hash-wasm's WASM CRC-32 with the Castagnoli polynomial (portable: every runtime). After it
 * every call is synchronous; the native path reads the bytes in place, the WASM path copies them into its memory.
 * bench/crc32c.ts measures both; tests/protocol/crc32c-implementations-agree.test.ts checks that they agree.
 */
import { createCRC32, type IHasher } from "hash-wasm";
import { type Crc32cFunction, type NativeCrc32c, loadNativeCrc32cImplementations } from "../platform/native-crc32c.ts";

/** The reflected CRC-32C polynomial. */
export const CRC32C_POLYNOMIAL = 0x82f63b78;

let hasher: IHasher | null = null;
let native: Crc32cFunction | null = null;
let natives: NativeCrc32c[] = [];
let initialized = false;
let bulkLoaded = false;

/**
 * Loads the implementations. Must be awaited once before {@link crc32c} is called. `bulk`: this process checksums
 * bulk data (the broker), so the fastest native addon is worth its longer load too (src/platform/native-crc32c.ts);
 * a later call with `bulk` upgrades an earlier one without.
 */
export async function initCrc32c(bulk = false): Promise<void> {
  if (initialized && (bulkLoaded || !bulk)) return;
  if (hasher === null) hasher = await createCRC32(CRC32C_POLYNOMIAL);
  natives = await loadNativeCrc32cImplementations(bulk);
  native = natives[0]?.crc ?? null;
  bulkLoaded = bulk;
  initialized = true;
}

/** Returns the CRC-32C of `data` as an unsigned 32-bit integer. Requires {@link initCrc32c}. */
export function crc32c(data: Uint8Array): number {
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

/** Every native implementation that loaded, the one {@link crc32c} uses first. Requires {@link initCrc32c}. */
export function nativeCrc32cImplementations(): readonly NativeCrc32c[] {
  return natives;
}

/** The native implementation, or null where the runtime could not load it. Requires {@link initCrc32c}. */
export function nativeCrc32c(): Crc32cFunction | null {
  return native;
}
