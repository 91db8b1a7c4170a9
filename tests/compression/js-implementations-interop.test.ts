/**
 * Interop with the other compression implementations that run inside Bun/Deno here: @platformatic/wasm-utils
 * (the Rust lz4 frame and snappy codecs that the @platformatic/kafka client uses) and the runtime's native
 * zstd in `node:zlib`. Skips with a message when one is unavailable.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as zlib from "node:zlib";
import { initCompression, lz4Codec, snappyCodec, zstdCodec } from "../../src/compression/index.ts";
import { compressRawSnappy } from "../../src/compression/snappy.ts";
import { jsonRecords, randomBytes, sameBytes } from "./sample-payloads.ts";

await initCompression();

/** The @platformatic/wasm-utils functions used here. */
interface WasmUtils {
  lz4Compress(data: Buffer): Buffer;
  lz4Decompress(data: Buffer): Buffer;
  snappyCompress(data: Buffer): Buffer;
  snappyDecompress(data: Buffer): Buffer;
}

let wasmUtils: WasmUtils | null = null;
let wasmUtilsSkip: string | false = false;
try {
  wasmUtils = (await import("@platformatic/wasm-utils")) as unknown as WasmUtils;
} catch (err) {
  wasmUtilsSkip = `@platformatic/wasm-utils unavailable: ${(err as Error).message}`;
  console.log(wasmUtilsSkip);
}

/** Native zstd from node:zlib, if this runtime has it. */
const nativeZstd = zlib as unknown as {
  zstdCompressSync?: (data: Uint8Array) => Buffer;
  zstdDecompressSync?: (data: Uint8Array) => Buffer;
};
const nativeZstdSkip = typeof nativeZstd.zstdCompressSync === "function" && typeof nativeZstd.zstdDecompressSync === "function"
  ? false
  : "node:zlib has no zstd in this runtime";
if (nativeZstdSkip !== false) console.log(nativeZstdSkip);

const PAYLOADS: [string, Uint8Array][] = [
  ["1 byte", new Uint8Array([9])],
  ["random 100 KB", randomBytes(100_000, 41)],
  ["json 2 MB", jsonRecords(2_000_000, 42)],
];

test("lz4 frames: @platformatic/wasm-utils reads ours and we read theirs", { skip: wasmUtilsSkip }, () => {
  const w = wasmUtils as WasmUtils;
  for (const [label, payload] of PAYLOADS) {
    assert.ok(sameBytes(w.lz4Decompress(Buffer.from(lz4Codec.compress(payload))), payload), `theirs reads ours: ${label}`);
    assert.ok(sameBytes(lz4Codec.decompress(w.lz4Compress(Buffer.from(payload)), payload.length), payload), `ours reads theirs: ${label}`);
  }
});

test("raw snappy: @platformatic/wasm-utils and we read each other's raw blocks", { skip: wasmUtilsSkip }, () => {
  // @platformatic/kafka writes plain raw snappy (like librdkafka) and does not read xerial framing.
  const w = wasmUtils as WasmUtils;
  for (const [label, payload] of PAYLOADS) {
    assert.ok(sameBytes(w.snappyDecompress(Buffer.from(compressRawSnappy(payload))), payload), `theirs reads ours: ${label}`);
    assert.ok(sameBytes(snappyCodec.decompress(w.snappyCompress(Buffer.from(payload)), payload.length), payload), `ours reads theirs: ${label}`);
  }
});

test("zstd: the runtime's native node:zlib zstd reads ours and we read its frames", { skip: nativeZstdSkip }, () => {
  for (const [label, payload] of PAYLOADS) {
    const compress = nativeZstd.zstdCompressSync as (d: Uint8Array) => Buffer;
    const decompress = nativeZstd.zstdDecompressSync as (d: Uint8Array) => Buffer;
    assert.ok(sameBytes(decompress(zstdCodec.compress(payload)), payload), `native reads ours: ${label}`);
    assert.ok(sameBytes(zstdCodec.decompress(compress(payload), payload.length), payload), `ours reads native: ${label}`);
  }
});
