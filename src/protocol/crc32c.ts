/**
 * CRC-32C (Castagnoli), the checksum of Kafka record batches, computed by hash-wasm's WASM CRC-32 with the
 * Castagnoli polynomial. The WASM module is instantiated once by {@link initCrc32c}; after that every call is
 * synchronous and allocates nothing but the 4-byte digest.
 */
import { createCRC32, type IHasher } from "hash-wasm";

/** The reflected CRC-32C polynomial. */
export const CRC32C_POLYNOMIAL = 0x82f63b78;

let hasher: IHasher | null = null;

/** Instantiates the WASM hasher. Must be awaited once before {@link crc32c} is called. */
export async function initCrc32c(): Promise<void> {
  if (hasher === null) hasher = await createCRC32(CRC32C_POLYNOMIAL);
}

/** Returns the CRC-32C of `data` as an unsigned 32-bit integer. Requires {@link initCrc32c}. */
export function crc32c(data: Uint8Array): number {
  const h = hasher;
  if (h === null) throw new Error("crc32c used before initCrc32c()");
  h.init();
  h.update(data);
  const d = h.digest("binary");
  return ((d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3]) >>> 0;
}
