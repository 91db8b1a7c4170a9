/**
 * Compression throughput: MB/s (of uncompressed bytes) to compress and decompress 1 MiB of realistic
 * JSON-ish Kafka record values with each codec at its default level, plus the compression ratio.
 * Prints a table and writes bench/results/compression.json.
 *
 *   node_modules/.bin/bun bench/compression.ts
 *   node_modules/.bin/deno run -A bench/compression.ts
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as zlib from "node:zlib";
import { ALL_CODECS, initCompression } from "../src/compression/index.ts";

/** Bytes of input per operation. */
const INPUT_BYTES = 1024 * 1024;
/** Each measurement runs at least this long... */
const MIN_MEASURE_MS = 700;
/** ...and at most this many iterations. */
const MAX_ITERATIONS = 2000;
/** Untimed iterations first, to warm up the JIT and WASM heaps. */
const WARMUP_ITERATIONS = 3;

/** One codec's result. */
interface BenchRow {
  codec: string;
  compressedBytes: number;
  ratio: number;
  compressMBps: number;
  decompressMBps: number;
}

/** About `length` bytes of JSON event records, one per line, deterministic. */
function jsonRecords(length: number): Uint8Array {
  const users = ["alice", "bob", "carol", "dave", "erin", "frank"];
  const events = ["page_view", "click", "add_to_cart", "checkout", "login"];
  let s = 0x2545f491;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < length; i++) {
    const line = JSON.stringify({
      id: `evt-${i}`,
      ts: 1_700_000_000_000 + i * 13 + (next() % 500),
      user: users[next() % users.length],
      event: events[next() % events.length],
      session: next().toString(16).padStart(8, "0"),
      cart: { items: next() % 7, total: (next() % 50_000) / 100, currency: "EUR" },
      ua: next() % 2 === 0 ? "Mozilla/5.0 (X11; Linux x86_64)" : "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)",
    }) + "\n";
    lines.push(line);
    size += line.length;
  }
  return new TextEncoder().encode(lines.join("")).subarray(0, length);
}

/** MB/s for running `op` on `bytes` uncompressed bytes repeatedly. */
function throughput(bytes: number, op: () => void): number {
  for (let i = 0; i < WARMUP_ITERATIONS; i++) op();
  const start = performance.now();
  let iterations = 0;
  let elapsed = 0;
  while (iterations < MAX_ITERATIONS && elapsed < MIN_MEASURE_MS) {
    op();
    iterations++;
    elapsed = performance.now() - start;
  }
  return (bytes * iterations) / (1024 * 1024) / (elapsed / 1000);
}

/** Measures one compress/decompress pair. */
function measure(codec: string, input: Uint8Array, compress: () => Uint8Array, decompress: (c: Uint8Array) => Uint8Array): BenchRow {
  const compressed = compress();
  const back = decompress(compressed);
  if (back.length !== input.length) throw new Error(`${codec}: round trip lost bytes`);
  return {
    codec,
    compressedBytes: compressed.length,
    ratio: Number((input.length / compressed.length).toFixed(2)),
    compressMBps: Number(throughput(input.length, compress).toFixed(1)),
    decompressMBps: Number(throughput(input.length, () => decompress(compressed)).toFixed(1)),
  };
}

/** "bun 1.x", "deno 2.x" or "unknown". */
function runtimeName(): string {
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  if (g.Bun !== undefined) return `bun ${g.Bun.version}`;
  if (g.Deno !== undefined) return `deno ${g.Deno.version.deno}`;
  return "unknown";
}

await initCompression();
const input = jsonRecords(INPUT_BYTES);
const rows: BenchRow[] = [];
for (const codec of ALL_CODECS) {
  rows.push(measure(codec.name, input, () => codec.compress(input), (c) => codec.decompress(c, INPUT_BYTES)));
}
// Reference only: the runtime's native zstd (not used by Runnel's codecs), when node:zlib has it.
const native = zlib as unknown as { zstdCompressSync?: (d: Uint8Array) => Uint8Array; zstdDecompressSync?: (d: Uint8Array) => Uint8Array };
if (native.zstdCompressSync !== undefined && native.zstdDecompressSync !== undefined) {
  const c = native.zstdCompressSync;
  const d = native.zstdDecompressSync;
  rows.push(measure("zstd (native node:zlib, reference)", input, () => c(input), (x) => d(x)));
}

const pad = (s: string, n: number) => s.padEnd(n);
console.log(`runtime: ${runtimeName()}, input: ${INPUT_BYTES} bytes of JSON records`);
console.log(`${pad("codec", 36)}${pad("ratio", 8)}${pad("compress MB/s", 16)}decompress MB/s`);
for (const r of rows) {
  console.log(`${pad(r.codec, 36)}${pad(String(r.ratio), 8)}${pad(String(r.compressMBps), 16)}${r.decompressMBps}`);
}

const resultsDir = new URL("./results/", import.meta.url);
mkdirSync(resultsDir, { recursive: true });
writeFileSync(
  new URL("compression.json", resultsDir),
  JSON.stringify({ runtime: runtimeName(), inputBytes: INPUT_BYTES, date: new Date().toISOString(), rows }, null, 2) + "\n",
);
