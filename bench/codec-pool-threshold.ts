/**
 * Where the codec pool (src/compression/codec-pool.ts) starts to pay: for lz4 and snappy, compress and decompress
 * of word-like records at several sizes, the median time of the call on the event loop (what the loop is held)
 * and the median round trip through a one-thread pool (what the caller waits; the loop is held only for the input
 * copy and the message). Prints one row per codec, direction and size, with the load average; then, for a 16 MiB
 * compress of each codec, the longest gap between ticks of a 1 ms interval timer with the call on the loop and
 * through the pool.
 *
 * Run: `node_modules/.bin/bun bench/codec-pool-threshold.ts` (or `deno run -A bench/codec-pool-threshold.ts`).
 */
import * as os from "node:os";
import { CodecPool } from "../src/compression/codec-pool.ts";
import { initCompression, lz4Codec, snappyCodec } from "../src/compression/index.ts";
import { longestTimerGap } from "./loop-stall.ts";

const ROUNDS = 31;
const SIZES = [8, 16, 32, 64, 128, 256, 1024, 4096].map((k) => k * 1024);

function words(n: number): Uint8Array {
  const list = ["stream", "broker", "offset", "replica", "segment", "commit", "leader", "record", "fetch", "epoch"];
  const out = new Uint8Array(n);
  let seed = 7;
  let at = 0;
  while (at < n) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const w = list[seed % list.length] + (seed >>> 22).toString(36) + " ";
    for (let i = 0; i < w.length && at < n; i++) out[at++] = w.charCodeAt(i);
  }
  return out;
}

const median = (xs: number[]): number => xs.sort((a, b) => a - b)[xs.length >> 1];

await initCompression();
const pool = new CodecPool(1);
try {
  // Start the worker and warm both sides.
  for (let i = 0; i < 5; i++) await pool.run(lz4Codec.id, false, words(1024), undefined);
  console.log(`load average ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  console.log("codec  op          size     on-loop µs  pool round trip µs");
  for (const codec of [lz4Codec, snappyCodec]) {
    for (const size of SIZES) {
      const plain = words(size);
      const packed = codec.compress(plain);
      for (const decompress of [false, true]) {
        const input = decompress ? packed : plain;
        const inline: number[] = [];
        const pooled: number[] = [];
        for (let r = 0; r < ROUNDS; r++) {
          let t = performance.now();
          if (decompress) codec.decompress(input, size);
          else codec.compress(input);
          inline.push(performance.now() - t);
          t = performance.now();
          await pool.run(codec.id, decompress, input, decompress ? size : undefined);
          pooled.push(performance.now() - t);
        }
        const op = decompress ? "decompress" : "compress  ";
        console.log(`${codec.name.padEnd(6)} ${op}  ${String(size / 1024).padStart(5)} KiB ${(median(inline) * 1000).toFixed(0).padStart(10)} ${(median(pooled) * 1000).toFixed(0).padStart(19)}`);
      }
    }
  }
  const big = words(16 * 1024 * 1024);
  for (const codec of [lz4Codec, snappyCodec]) {
    const onLoop = await longestTimerGap(async () => void codec.compress(big));
    const pooled = await longestTimerGap(async () => void (await pool.run(codec.id, false, big, undefined)));
    console.log(`${codec.name} compress 16 MiB: longest 1 ms timer gap ${onLoop.toFixed(1)} ms on the loop, ${pooled.toFixed(1)} ms through the pool`);
  }
} finally {
  await pool.close();
}

