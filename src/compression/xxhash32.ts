/**
 * xxHash32 with seed 0, the checksum of the LZ4 frame format (header, block and content checksums),
 * computed by hash-wasm. {@link initXxhash32} creates one hasher; after that {@link xxhash32} is synchronous.
 */
import { createXXHash32, type IHasher } from "hash-wasm";

/** Seed the LZ4 frame format uses for every checksum. */
export const LZ4_XXH32_SEED = 0;

let hasher: IHasher | null = null;

/** Instantiates the WASM hasher once. Must be awaited before {@link xxhash32} is called. */
export async function initXxhash32(): Promise<void> {
  if (hasher === null) hasher = await createXXHash32(LZ4_XXH32_SEED);
}

/** xxHash32 (seed 0) of `data` as an unsigned 32-bit integer. Requires {@link initXxhash32}. */
export function xxhash32(data: Uint8Array): number {
  const h = hasher;
  if (h === null) throw new Error("xxhash32 used before initXxhash32()");
  h.init();
  h.update(data);
  const d = h.digest("binary");
  return ((d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3]) >>> 0;
}
