/**
 * Read-only shared file maps on Deno, through its FFI and libc's `mmap` (Bun has `Bun.mmap`; see fs.ts). A map
 * becomes one ArrayBuffer over the mapped pages; it is unmapped only once that buffer has been garbage-collected
 * (a FinalizationRegistry), so no view of it, such as one still queued on a socket, can outlive the pages. Where
 * FFI is not permitted (no `--allow-ffi`) or libc cannot be opened, {@link denoMmap} returns null and reads fall
 * back to pread.
 */
import * as nodeFs from "node:fs";

/** The part of Deno's FFI used here. */
interface DenoFfi {
  dlopen(
    path: string,
    symbols: Record<string, { parameters: string[]; result: string }>,
  ): { symbols: Record<string, (...args: unknown[]) => unknown> };
  UnsafePointer: { value(p: unknown): bigint };
  UnsafePointerView: { getArrayBuffer(p: unknown, byteLength: number): ArrayBuffer };
  permissions: { querySync(d: { name: string }): { state: string } };
}

/** mmap(2) arguments: pages may be read; changes to the file are seen (and never made) through the map. */
const PROT_READ = 1;
const MAP_SHARED = 1;
/** mmap's failure value, (void *) -1. */
const MAP_FAILED = 0xffffffffffffffffn;
/** Shared libraries tried for mmap/munmap, in order. */
const LIBC_NAMES = ["libc.so.6", "libc.dylib", "libSystem.dylib"];

type Libc = { mmap(...a: unknown[]): unknown; munmap(...a: unknown[]): unknown };
let libc: Libc | null | undefined;
let unmapper: FinalizationRegistry<{ ptr: unknown; length: number }> | null = null;

function openLibc(deno: DenoFfi): Libc | null {
  for (const name of LIBC_NAMES) {
    try {
      const lib = deno.dlopen(name, {
        mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
        munmap: { parameters: ["pointer", "usize"], result: "i32" },
      });
      return lib.symbols as unknown as Libc;
    } catch {
      // not this name, or FFI not permitted
    }
  }
  return null;
}

/** Whether {@link denoMmap} can map files here (Deno with FFI granted and libc found). */
export function denoMmapSupported(): boolean {
  const deno = (globalThis as { Deno?: DenoFfi }).Deno;
  if (deno === undefined || typeof deno.dlopen !== "function") return false;
  if (libc === undefined) libc = deno.permissions.querySync({ name: "ffi" }).state === "granted" ? openLibc(deno) : null;
  return libc !== null;
}

/** Maps the whole of `path` read-only on Deno; null elsewhere, for an empty file, or when mapping fails. */
export function denoMmap(path: string): Uint8Array | null {
  const deno = (globalThis as { Deno?: DenoFfi }).Deno;
  if (deno === undefined || typeof deno.dlopen !== "function") return null;
  // Only when FFI is already granted: asking would prompt on a terminal.
  if (libc === undefined) libc = deno.permissions.querySync({ name: "ffi" }).state === "granted" ? openLibc(deno) : null;
  if (libc === null) return null;
  let fd: number;
  try {
    fd = nodeFs.openSync(path, "r");
  } catch {
    return null;
  }
  try {
    const length = nodeFs.fstatSync(fd).size;
    if (length === 0) return null;
    const ptr = libc.mmap(null, BigInt(length), PROT_READ, MAP_SHARED, fd, 0n);
    if (ptr === null || deno.UnsafePointer.value(ptr) === MAP_FAILED) return null;
    const buffer = deno.UnsafePointerView.getArrayBuffer(ptr, length);
    const lib = libc;
    unmapper ??= new FinalizationRegistry(({ ptr: p, length: n }) => void lib.munmap(p, BigInt(n)));
    unmapper.register(buffer, { ptr, length });
    return new Uint8Array(buffer);
  } catch {
    return null;
  } finally {
    nodeFs.closeSync(fd); // the map keeps the file's pages; the descriptor is not needed
  }
}
