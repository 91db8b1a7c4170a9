/**
 * Turns an embedded WASM string (see embed-wasm.ts) back into module bytes: base64 -> gzip -> .wasm.
 * Uses only `node:buffer` and `node:zlib`, which Bun, Deno and `bun build --compile` executables all provide.
 */
import { Buffer } from "node:buffer";
import { gunzipSync } from "node:zlib";

/** Decodes `gzipBase64` into the original .wasm bytes and checks they are `byteLength` long. */
export function decodeEmbeddedWasm(gzipBase64: string, byteLength: number): Uint8Array<ArrayBuffer> {
  const gz = Buffer.from(gzipBase64, "base64");
  const wasm = gunzipSync(gz, { maxOutputLength: Math.max(1, byteLength) });
  if (wasm.byteLength !== byteLength) {
    throw new Error(`embedded wasm decodes to ${wasm.byteLength} bytes, expected ${byteLength}`);
  }
  return new Uint8Array(wasm.buffer as ArrayBuffer, wasm.byteOffset, wasm.byteLength);
}
