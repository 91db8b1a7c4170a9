/**
 * Memory of codec worker threads (issue 15; docs/sharding.md, "Not done yet"): starts a CodecPool of THREADS
 * workers (src/compression/codec-pool.ts), runs enough concurrent lz4 compressions of 1 MiB to start each, and
 * prints the process's RSS before and after (each after a full GC) and the difference per thread, with the load.
 * What N shards' own pools cost against one node-wide pool.
 *
 * Run: `node_modules/.bin/bun bench/codec-pool-rss.ts [THREADS=1]` (Bun: it calls Bun.gc).
 */
import * as os from "node:os";
import { CodecPool, MAX_CODEC_POOL_THREADS } from "../src/compression/codec-pool.ts";

/** LZ4's Kafka codec id. */
const LZ4 = 3;
const threads = Number(process.argv[2] ?? 1);
if (!Number.isInteger(threads) || threads < 1 || threads > MAX_CODEC_POOL_THREADS) throw new Error(`THREADS must be 1-${MAX_CODEC_POOL_THREADS}`);
const data = new Uint8Array(1 << 20);
for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 251;
const rssMb = () => {
  Bun.gc(true);
  return process.memoryUsage().rss / 1048576;
};
const before = rssMb();
const pool = new CodecPool(threads);
for (let round = 0; round < 5; round++) await Promise.all(Array.from({ length: threads * 2 }, () => pool.run(LZ4, false, data, undefined)));
await new Promise((r) => setTimeout(r, 500));
const after = rssMb();
await pool.close();
console.log(`codec threads ${threads}: RSS ${before.toFixed(1)} -> ${after.toFixed(1)} MB, ${((after - before) / threads).toFixed(1)} MB per thread (load ${os.loadavg()[0].toFixed(1)})`);
