/**
 * CRC-32C in native code where the runtime can load a Node-API addon: @node-rs/crc32 (SSE4.2 `crc32`
 * instructions on x86-64, the ARMv8 CRC instructions on arm64), a prebuilt binary from npm that
 * `bun build --compile` embeds in the executable. Deno loads it only when allowed to (`--allow-ffi`); where it
 * does not load, callers fall back to the portable WASM implementation.
 */

/** A CRC-32C function over a byte range: unsigned 32-bit result. */
export type Crc32cFunction = (data: Uint8Array) => number;

/** Loads the native CRC-32C; null when the addon is missing or the runtime refuses it. */
export async function loadNativeCrc32c(): Promise<Crc32cFunction | null> {
  try {
    const addon = (await import("@node-rs/crc32")) as { crc32c(input: Uint8Array, initial?: number): number };
    const f: Crc32cFunction = (data) => addon.crc32c(data) >>> 0;
    // Known answer of the CRC-32C check string "123456789" (RFC 3720 B.4): a wrong build is never used.
    return f(new TextEncoder().encode("123456789")) === 0xe3069283 ? f : null;
  } catch {
    return null;
  }
}
