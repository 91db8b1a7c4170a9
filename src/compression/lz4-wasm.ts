/**
 * LZ4 *block* compression by lz4-wasm (lz4_flex compiled to WASM), driven by our own small glue instead of
 * the package's bundler-target JS (which imports the .wasm as an ES module, something neither a
 * `bun build --compile` executable nor Deno does for npm packages). The .wasm comes from the embedded copy in
 * wasm/lz4-wasm-binary.ts.
 *
 * lz4-wasm's `compress(retptr, ptr, len)` export is lz4_flex's `compress_prepend_size`: its output is a
 * 4-byte little-endian uncompressed length followed by a standard LZ4 block. We skip those 4 bytes and copy the
 * block straight into the caller's frame buffer. Its `decompress` export needs the exact uncompressed size up
 * front, which LZ4 frames do not carry per block, so decompression is done in TypeScript (lz4-block.ts).
 */
import { LZ4_WASM } from "./wasm/lz4-wasm-binary.ts";
import { decodeEmbeddedWasm } from "./wasm/embedded.ts";

/** Bytes lz4_flex prepends to its block output (uncompressed length, u32 LE). */
const SIZE_PREFIX_BYTES = 4;
/** wasm-bindgen's return area: two i32 (pointer, length) rounded up to 16 bytes. */
const RETURN_AREA_BYTES = 16;

/** The raw exports of lz4_wasm_bg.wasm that the glue uses. */
interface Lz4WasmExports {
  memory: WebAssembly.Memory;
  compress(retptr: number, ptr: number, len: number): void;
  __wbindgen_add_to_stack_pointer(delta: number): number;
  __wbindgen_malloc(size: number): number;
  __wbindgen_free(ptr: number, size: number): void;
}

let wasm: Lz4WasmExports | null = null;

/**
 * Compiles the embedded lz4-wasm module off this thread and instantiates it, once. Optional: the first
 * {@link compressLz4BlockInto} builds the module itself if this has not run, so a process that never compresses lz4
 * never holds its compiled code.
 */
export async function initLz4Wasm(): Promise<void> {
  if (wasm !== null) return;
  const module = await WebAssembly.compile(lz4WasmBytes());
  if (wasm === null) instantiateLz4(module);
}

/** The embedded module's bytes. */
function lz4WasmBytes(): Uint8Array<ArrayBuffer> {
  return decodeEmbeddedWasm(LZ4_WASM.gzipBase64, LZ4_WASM.byteLength);
}

/** Instantiates `module`. */
function instantiateLz4(module: WebAssembly.Module): Lz4WasmExports {
  const imports = {
    "./lz4_wasm_bg.js": {
      // Only reached from the `decompress` export (to build an error string), which the glue never calls.
      __wbindgen_string_new: (): number => {
        throw new Error("lz4-wasm: unexpected call to __wbindgen_string_new");
      },
    },
  };
  wasm = new WebAssembly.Instance(module, imports).exports as unknown as Lz4WasmExports;
  return wasm;
}

/** Whether the lz4-wasm module has been compiled and instantiated in this thread. */
export function lz4WasmCompiled(): boolean {
  return wasm !== null;
}

/**
 * Compresses `src` as one LZ4 block and writes it to `out` at `outPos` if it is at most `maxLength` bytes.
 * Returns the block's length, or -1 (nothing written) if it would be longer than `maxLength`.
 */
export function compressLz4BlockInto(src: Uint8Array, out: Uint8Array, outPos: number, maxLength: number): number {
  const w = wasm ?? instantiateLz4(new WebAssembly.Module(lz4WasmBytes()));
  const retptr = w.__wbindgen_add_to_stack_pointer(-RETURN_AREA_BYTES);
  try {
    // The Rust side takes ownership of (and frees) the input allocation.
    const inPtr = w.__wbindgen_malloc(src.length);
    new Uint8Array(w.memory.buffer, inPtr, src.length).set(src);
    w.compress(retptr, inPtr, src.length);
    const ret = new Int32Array(w.memory.buffer, retptr, 2);
    const resPtr = ret[0];
    const resLen = ret[1];
    try {
      if (resLen < SIZE_PREFIX_BYTES) throw new Error(`lz4-wasm returned ${resLen} bytes`);
      const blockLength = resLen - SIZE_PREFIX_BYTES;
      if (blockLength > maxLength) return -1;
      out.set(new Uint8Array(w.memory.buffer, resPtr + SIZE_PREFIX_BYTES, blockLength), outPos);
      return blockLength;
    } finally {
      w.__wbindgen_free(resPtr, resLen);
    }
  } finally {
    w.__wbindgen_add_to_stack_pointer(RETURN_AREA_BYTES);
  }
}
