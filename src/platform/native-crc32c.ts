/**
 * CRC-32C in native code where the runtime can load a Node-API addon; prebuilt binaries from npm that
 * `bun build --compile` embeds in the executable. Two addons, fastest first:
 * - aws-crt's `checksums_crc32c` (aws-checksums: interleaved SSE4.2 `crc32` streams folded with carry-less
 *   multiplies), for linux-x64 with glibc only (its other platforms' binaries would all be embedded too);
 * - @node-rs/crc32 (one SSE4.2 `crc32` stream on x86-64, the ARMv8 CRC instructions on arm64), everywhere else.
 * The first costs more to load (a 7 MB library: 50-100 ms, ~15 MB of resident memory, one thread of its own), so
 * it is loaded only on request ({@link loadBulkNativeCrc32c}), by processes that checksum bulk data.
 * bench/crc32c.ts measures them. Deno loads an addon only when allowed to (`--allow-ffi`); where none loads,
 * callers fall back to the portable WASM implementation.
 */

/** A CRC-32C function over a byte range: unsigned 32-bit result. */
export type Crc32cFunction = (data: Uint8Array) => number;

/** One native implementation that loaded and gave the known answer. */
export interface NativeCrc32c {
  /** Which addon (for benches and tests). */
  name: string;
  /** The function. */
  crc: Crc32cFunction;
}

/** Known answer of the CRC-32C check string "123456789" (RFC 3720 B.4): a wrong build is never used. */
function knownAnswer(f: Crc32cFunction): boolean {
  return f(new TextEncoder().encode("123456789")) === 0xe3069283;
}

import { spawnWorker } from "./worker.ts";

/** CommonJS `require` where the runtime gives ES modules one (Bun); `bun build --compile` embeds what it names. */
declare const require: ((id: string) => unknown) | undefined;

/** Whether the bulk addon can load in this runtime and platform (Bun on linux-x64; glibc is checked by loading). */
function bulkAddonMayLoad(): boolean {
  const g = globalThis as { process?: { platform?: string; arch?: string } };
  return g.process?.platform === "linux" && g.process.arch === "x64" && typeof require === "function";
}

/** Loads the faster, bigger addon (synchronously: it blocks the calling thread while it loads); null where it cannot. */
export function loadBulkNativeCrc32c(): NativeCrc32c | null {
  if (!bulkAddonMayLoad()) return null;
  try {
    // Node-API modules load through require (an import of a .node file is refused).
    const binding = require!("aws-crt/dist/bin/linux-x64-glibc/aws-crt-nodejs.node") as AwsCrtBinding;
    const f: Crc32cFunction = (data) => binding.checksums_crc32c(data, 0) >>> 0;
    return knownAnswer(f) ? { name: "napi aws-crt (aws-checksums)", crc: f } : null;
  } catch {
    return null;
  }
}

/** The part of aws-crt's native binding used here. */
interface AwsCrtBinding {
  checksums_crc32c(data: Uint8Array, previous: number): number;
}

/** The small native implementation, or null when it does not load or the runtime refuses addons. */
export async function loadNativeCrc32c(): Promise<NativeCrc32c | null> {
  try {
    const addon = (await import("@node-rs/crc32")) as { crc32c(input: Uint8Array, initial?: number): number };
    const f: Crc32cFunction = (data) => addon.crc32c(data) >>> 0;
    return knownAnswer(f) ? { name: "napi @node-rs/crc32 (SSE4.2)", crc: f } : null;
  } catch {
    return null;
  }
}

/**
 * Loads the bulk addon with the expensive part off this thread: a worker thread loads it first
 * (native-crc32c-preload-worker.ts), then this thread does, quickly. Null where it cannot load.
 */
export async function loadBulkNativeCrc32cOffThread(): Promise<NativeCrc32c | null> {
  if (!bulkAddonMayLoad()) return null;
  try {
    const worker = spawnWorker<never, boolean>("platform/native-crc32c-preload-worker.ts", null);
    const loaded = await new Promise<boolean>((resolve) => {
      worker.onMessage(resolve);
      worker.onExit(() => resolve(false));
    });
    await worker.terminate();
    return loaded ? loadBulkNativeCrc32c() : null;
  } catch {
    return null;
  }
}
