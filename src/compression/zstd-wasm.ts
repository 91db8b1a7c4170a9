/**
 * Our glue over the zstd WASM build from @bokuweb/zstd-wasm (zstd compiled by emscripten), loaded from the
 * embedded copy in wasm/zstd-wasm-binary.ts. The package's own loaders read zstd.wasm from disk next to the JS
 * (`__dirname` or `import.meta.url`), which a `bun build --compile` executable does not have, and its
 * `decompress` helper mallocs a fixed 1 MiB when a frame has no content size. So we instantiate the module
 * ourselves and call the C API directly, with one compression context, one decompression context, and input
 * and output buffers in the WASM heap that are reused across calls.
 *
 * The emscripten build exports minified names; embed-wasm.ts reads them from the package's glue at generation
 * time and records them next to the bytes, so the names always match the embedded module.
 */
import { decodeEmbeddedWasm } from "./wasm/embedded.ts";
import { ZSTD_WASM } from "./wasm/zstd-wasm-binary.ts";

/** WASM page size. */
const WASM_PAGE = 65536;
/** Emscripten's heap ceiling for this build (2 GiB). */
const HEAP_MAX = 2 * 1024 * 1024 * 1024;
/** ZSTD error code for "destination buffer too small" (zstd_errors.h ZSTD_error_dstSize_tooSmall). */
export const ZSTD_ERROR_DST_SIZE_TOO_SMALL = 70;

/** The C functions the glue calls, bound to their minified exports. */
interface ZstdFunctions {
  isError(code: number): number;
  compressBound(srcSize: number): number;
  createCCtx(): number;
  compressUsingDict(cctx: number, dst: number, cap: number, src: number, size: number, dict: number, dictSize: number, level: number): number;
  createDCtx(): number;
  decompressUsingDict(dctx: number, dst: number, cap: number, src: number, size: number, dict: number, dictSize: number): number;
  getFrameContentSize(src: number, size: number): number;
  malloc(size: number): number;
  free(ptr: number): void;
}

/** Result of {@link zstdDecompressInto}: output length, or a negative ZSTD error code. */
export type ZstdResult = number;

/** A region of the WASM heap owned by the glue. */
interface HeapBuffer {
  ptr: number;
  capacity: number;
}

let fns: ZstdFunctions | null = null;
let memory: WebAssembly.Memory | null = null;
let cctx = 0;
let dctx = 0;
const input: HeapBuffer = { ptr: 0, capacity: 0 };
const output: HeapBuffer = { ptr: 0, capacity: 0 };

/** Grows the WASM memory to at least `requested` bytes, as emscripten's resize_heap does. Returns 1 on success. */
function resizeHeap(requested: number): number {
  const mem = memory;
  if (mem === null) return 0;
  requested >>>= 0;
  if (requested > HEAP_MAX) return 0;
  const old = mem.buffer.byteLength;
  // Over-grow by 20% (capped at +96 MiB) to amortise growth, falling back to the exact request.
  const generous = Math.min(HEAP_MAX, Math.max(requested, Math.min(old * 1.2, requested + 96 * 1024 * 1024)));
  for (const target of [generous, requested]) {
    const pages = Math.ceil((Math.ceil(target / WASM_PAGE) * WASM_PAGE - old) / WASM_PAGE);
    try {
      if (pages > 0) mem.grow(pages);
      return 1;
    } catch {
      // try the exact size next
    }
  }
  return 0;
}

/** The embedded module's bytes. */
function zstdWasmBytes(): Uint8Array<ArrayBuffer> {
  return decodeEmbeddedWasm(ZSTD_WASM.gzipBase64, ZSTD_WASM.byteLength);
}

/**
 * Compiles the embedded zstd module off this thread and instantiates it, once. Optional: the first zstd call
 * builds the module itself if this has not run (see {@link zstd}), so a process that never sees zstd never holds
 * its compiled code (about 3 MB of a broker's idle RSS).
 */
export async function initZstdWasm(): Promise<void> {
  if (fns !== null) return;
  const module = await WebAssembly.compile(zstdWasmBytes());
  if (fns === null) instantiateZstd(module);
}

/** Instantiates `module` and creates the contexts. */
function instantiateZstd(module: WebAssembly.Module): void {
  const names = ZSTD_WASM.imports;
  const env: Record<string, (...args: number[]) => number | void> = {
    [names.abort]: () => {
      throw new Error("zstd wasm aborted");
    },
    [names.keepaliveClear]: () => {},
    [names.setitimer]: () => 0,
    [names.resizeHeap]: resizeHeap,
    [names.procExit]: (code: number) => {
      throw new Error(`zstd wasm exited with ${code}`);
    },
  };
  const instance = new WebAssembly.Instance(module, { [ZSTD_WASM.importModule]: env });
  const x = instance.exports as Record<string, unknown>;
  const e = ZSTD_WASM.exports;
  const fn = (name: string) => {
    const f = x[name];
    if (typeof f !== "function") throw new Error(`zstd wasm lacks export ${name}`);
    return f as (...args: number[]) => number;
  };
  memory = x[e.memory] as WebAssembly.Memory;
  fn(e.wasm_call_ctors)();
  const bound: ZstdFunctions = {
    isError: fn(e.ZSTD_isError),
    compressBound: fn(e.ZSTD_compressBound),
    createCCtx: fn(e.ZSTD_createCCtx),
    compressUsingDict: fn(e.ZSTD_compress_usingDict),
    createDCtx: fn(e.ZSTD_createDCtx),
    decompressUsingDict: fn(e.ZSTD_decompress_usingDict),
    getFrameContentSize: fn(e.ZSTD_getFrameContentSize),
    malloc: fn(e.malloc),
    free: fn(e.free),
  };
  cctx = bound.createCCtx();
  dctx = bound.createDCtx();
  if (cctx === 0 || dctx === 0) throw new Error("zstd: cannot create contexts");
  fns = bound;
}

/** Whether the zstd module has been compiled and instantiated in this thread (by {@link initZstdWasm} or a first call). */
export function zstdCompiled(): boolean {
  return fns !== null;
}

/** The bound functions; the first call without {@link initZstdWasm} compiles the module here, once. */
function zstd(): ZstdFunctions {
  if (fns === null) instantiateZstd(new WebAssembly.Module(zstdWasmBytes()));
  return fns as ZstdFunctions;
}

/** Makes `buf` hold at least `size` bytes (contents are not kept). */
function reserve(buf: HeapBuffer, size: number): void {
  if (buf.capacity >= size) return;
  const f = zstd();
  if (buf.ptr !== 0) f.free(buf.ptr);
  buf.ptr = 0;
  buf.capacity = 0;
  const ptr = f.malloc(Math.max(size, 1));
  if (ptr === 0) throw new Error(`zstd: cannot allocate ${size} bytes in the wasm heap`);
  buf.ptr = ptr;
  buf.capacity = size;
}

/** A view of the current WASM heap (re-created because growth detaches the old buffer). */
function heap(): Uint8Array {
  return new Uint8Array((memory as WebAssembly.Memory).buffer);
}

/** The ZSTD error code of a result that {@link isZstdError} accepted (results are size_t, negated codes). */
function errorCode(result: number): number {
  return -(result | 0);
}

/** Whether a size_t result from the C API is an error. */
function isZstdError(result: number): boolean {
  return zstd().isError(result) !== 0;
}

/** Copies `src` into the reusable input buffer in the WASM heap. */
export function zstdLoadInput(src: Uint8Array): void {
  reserve(input, src.length);
  heap().set(src, input.ptr);
}

/** Compresses the loaded input (see {@link zstdLoadInput}) of `size` bytes at `level` into a new array. */
export function zstdCompressLoaded(size: number, level: number): Uint8Array {
  const f = zstd();
  const bound = f.compressBound(size);
  if (isZstdError(bound)) throw new Error(`zstd: input of ${size} bytes is too large`);
  reserve(output, bound);
  const n = f.compressUsingDict(cctx, output.ptr, bound, input.ptr, size, 0, 0, level);
  if (isZstdError(n)) throw new Error(`zstd: compression failed with error ${errorCode(n)}`);
  return heap().slice(output.ptr, output.ptr + (n >>> 0));
}

/**
 * Low 32 bits of the first frame's declared content size in the loaded input, or -1 if unknown and
 * -2 if the header is not a valid zstd frame header. Only a hint: values at or above 4 GiB are truncated.
 */
export function zstdContentSizeHint(size: number): number {
  return zstd().getFrameContentSize(input.ptr, size) | 0;
}

/**
 * Decompresses the loaded input of `size` bytes into the reusable output buffer with room for `capacity` bytes.
 * Returns the output length, or the negated ZSTD error code (e.g. -{@link ZSTD_ERROR_DST_SIZE_TOO_SMALL}).
 */
export function zstdDecompressInto(size: number, capacity: number): ZstdResult {
  const f = zstd();
  reserve(output, capacity);
  const r = f.decompressUsingDict(dctx, output.ptr, capacity, input.ptr, size, 0, 0);
  return isZstdError(r) ? -errorCode(r) : r >>> 0;
}

/** Copies the first `length` bytes of the output buffer into a new array. */
export function zstdTakeOutput(length: number): Uint8Array {
  return heap().slice(output.ptr, output.ptr + length);
}
