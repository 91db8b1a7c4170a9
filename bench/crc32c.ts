/**
 * CRC-32C throughput of each candidate implementation, in MB/s of input, on 1 MiB buffers (a large produce batch)
 * and 1 KiB buffers (a small one), each read at an unaligned offset. Writes bench/results/crc32c.json.
 *
 *   node_modules/.bin/bun bench/crc32c.ts
 *   node_modules/.bin/deno run -A bench/crc32c.ts
 *
 * Candidates: hash-wasm's WASM CRC-32 with the Castagnoli polynomial (the portable fallback), a TypeScript
 * slicing-by-8 (bench/crc32c-sliced.ts), and, where they load, the Node-API addons aws-crt (aws-checksums) and
 * @node-rs/crc32 (SSE4.2), the first of which the broker uses when it can (src/platform/native-crc32c.ts).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { crc32cWasm, initCrc32c, nativeCrc32cImplementations } from "../src/protocol/crc32c.ts";
import { crc32cSliced } from "./crc32c-sliced.ts";

/** Each measurement runs at least this long. */
const MIN_MEASURE_MS = 600;

type Impl = { name: string; crc: (buf: Uint8Array) => number };

/** MB/s of `crc` over `buf` (best of three timed runs). */
function measure(crc: (buf: Uint8Array) => number, buf: Uint8Array): number {
  let sink = 0;
  for (let i = 0; i < 20; i++) sink ^= crc(buf);
  let best = 0;
  for (let run = 0; run < 3; run++) {
    let n = 0;
    const start = performance.now();
    let elapsed = 0;
    do {
      for (let i = 0; i < 8; i++) sink ^= crc(buf);
      n += 8;
      elapsed = performance.now() - start;
    } while (elapsed < MIN_MEASURE_MS / 3);
    best = Math.max(best, (n * buf.length) / 1e6 / (elapsed / 1000));
  }
  if (sink === 0.5) console.log(sink); // keep the results alive
  return best;
}

await initCrc32c("now");
const impls: Impl[] = [
  { name: "wasm hash-wasm", crc: (b) => crc32cWasm(b) },
  { name: "ts slicing-by-8", crc: (b) => crc32cSliced(b) },
];
for (const n of nativeCrc32cImplementations()) impls.push({ name: n.name, crc: n.crc });
if (nativeCrc32cImplementations().length === 0) console.log("napi CRC-32C addons: none loaded on this runtime (Deno needs --allow-ffi)");

const backing = new Uint8Array(1024 * 1024 + 3);
for (let i = 0; i < backing.length; i++) backing[i] = (i * 2654435761) >>> 24;
const sizes = [1024 * 1024, 1024];
const ref = crc32cSliced(backing, 3, 3 + 1024);
const rows: { impl: string; bytes: number; mbPerS: number }[] = [];
for (const impl of impls) {
  if (impl.crc(backing.subarray(3, 3 + 1024)) !== ref) throw new Error(`${impl.name} disagrees with the reference`);
  for (const size of sizes) {
    const mbPerS = measure(impl.crc, backing.subarray(3, 3 + size));
    rows.push({ impl: impl.name, bytes: size, mbPerS: Math.round(mbPerS) });
    console.log(`${impl.name.padEnd(32)} ${String(size).padStart(8)} B  ${Math.round(mbPerS).toString().padStart(7)} MB/s`);
  }
}
const runtime = (globalThis as { Deno?: unknown }).Deno ? "deno" : (globalThis as { Bun?: unknown }).Bun ? "bun" : "node";
mkdirSync("bench/results", { recursive: true });
const load = (await import("node:os")).loadavg()[0];
writeFileSync(`bench/results/crc32c${runtime === "bun" ? "" : `-${runtime}`}.json`, JSON.stringify({ runtime, loadAverage1m: load, command: runtime === "bun" ? "node_modules/.bin/bun bench/crc32c.ts" : "node_modules/.bin/deno run -A bench/crc32c.ts", rows }, null, 1) + "\n");
console.log(`load average ${load.toFixed(2)}`);
