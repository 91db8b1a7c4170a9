/**
 * Storage benchmark: sequential append throughput with 1 MiB batches, append+fdatasync latency (alone and with
 * concurrent producers sharing fdatasyncs), and read throughput from the page cache (memory-mapped sealed
 * segments and the pread path). Prints a table and writes `bench/results/storage.json`.
 *
 * Run: `node_modules/.bin/bun bench/storage.ts` (or `deno run -A bench/storage.ts`). `BENCH_MB` sets the data
 * volume for the throughput rows (default 1024).
 */
import * as nodeFs from "node:fs";
import * as os from "node:os";
import * as nodePath from "node:path";
import { systemClock } from "../src/platform/clock.ts";
import { type FileSystem, nodeFileSystem } from "../src/platform/fs.ts";
import { crc32c, initCrc32c } from "../src/protocol/crc32c.ts";
import { logConfigWith } from "../src/storage/log-config.ts";
import { PartitionLog } from "../src/storage/partition-log.ts";
import { silentStorageLogger } from "../src/storage/storage-deps.ts";

const MIB = 1024 * 1024;
const PAGE_BYTES = 4096;
/** Sum of one byte per page read (kept so the page-touching loop has an observable result). */
let pageChecksum = 0;
const TOTAL_MB = Number(process.env.BENCH_MB ?? 1024);
const SYNC_ROUNDS = 300;
const CONCURRENT_PRODUCERS = 64;
const CONCURRENT_ROUNDS = 50;

/** One batch of `records` records of `valueBytes` each, with a valid CRC. */
function makeBatch(records: number, valueBytes: number): Uint8Array {
  const recordBody = 1 + 1 + 3 + 1 + 3 + valueBytes + 1; // attrs, tsDelta, offsetDelta(3), key -1, len(3), value, headers
  const recordSize = 3 + recordBody;
  const buf = new Uint8Array(61 + records * recordSize);
  const dv = new DataView(buf.buffer);
  dv.setInt32(8, buf.length - 12);
  dv.setInt8(16, 2);
  dv.setInt32(23, records - 1);
  const now = BigInt(Date.now());
  dv.setBigInt64(27, now);
  dv.setBigInt64(35, now);
  dv.setBigInt64(43, -1n);
  dv.setInt16(51, -1);
  dv.setInt32(53, -1);
  dv.setInt32(57, records);
  let at = 61;
  const varint3 = (v: number) => {
    // zigzag, always 3 bytes (values below 2^20; a non-minimal varint still decodes)
    const z = v * 2;
    buf[at++] = (z & 0x7f) | 0x80;
    buf[at++] = ((z >> 7) & 0x7f) | 0x80;
    buf[at++] = (z >> 14) & 0x7f;
  };
  for (let i = 0; i < records; i++) {
    varint3(recordBody);
    buf[at++] = 0; // attributes
    buf[at++] = 0; // timestampDelta
    varint3(i); // offsetDelta
    buf[at++] = 1; // key length -1
    varint3(valueBytes);
    at += valueBytes;
    buf[at++] = 0; // headers
  }
  dv.setUint32(17, crc32c(buf.subarray(21)));
  return buf;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface Row {
  name: string;
  value: number;
  unit: string;
  detail: string;
}

async function main(): Promise<void> {
  await initCrc32c();
  const root = nodeFs.mkdtempSync(nodePath.join(os.tmpdir(), "runnel-bench-storage-"));
  const rows: Row[] = [];
  const deps = (fs: FileSystem) => ({ fs, clock: systemClock, logger: silentStorageLogger });
  const noMmap: FileSystem = { ...nodeFileSystem, mmap: () => null };
  try {
    // 1. Sequential append, 1 MiB batches.
    const big = makeBatch(1024, 1000); // ~1 MiB
    const config = logConfigWith({ segmentBytes: 128 * MIB });
    const log = PartitionLog.open(`${root}/seq-0`, { topic: "seq", partition: 0 }, config, deps(nodeFileSystem));
    const batches = Math.max(1, Math.floor((TOTAL_MB * MIB) / big.length));
    let t0 = performance.now();
    for (let i = 0; i < batches; i++) log.append(big, { leaderEpoch: 0 });
    let ms = performance.now() - t0;
    const appendMBs = (batches * big.length) / MIB / (ms / 1000);
    rows.push({ name: "append 1 MiB batches (page cache)", value: appendMBs, unit: "MB/s", detail: `${batches} batches, ${log.segmentCount} segments` });
    t0 = performance.now();
    await log.sync();
    const finalSync = performance.now() - t0;
    rows.push({ name: "fdatasync after sequential append", value: finalSync, unit: "ms", detail: `${(log.size / MIB).toFixed(0)} MiB written` });

    // 2. Read from page cache: whole log twice, 1 MiB max per read, through fresh logs (pread first, then mmap).
    log.highWatermark = log.logEndOffset;
    const end = log.logEndOffset;
    await log.close();
    const probePath = `${root}/seq-0/${"0".repeat(20)}.log`;
    const readers: [string, FileSystem][] = [["pread only", noMmap]];
    if (nodeFileSystem.mmap(probePath) !== null) readers.push(["mmap sealed + pread active", nodeFileSystem]);
    for (const [label, fs] of readers) {
      const readLog = PartitionLog.open(`${root}/seq-0`, { topic: "seq", partition: 0 }, config, deps(fs), { cleanShutdown: true, recoveryPoint: end });
      let bytes = 0;
      let reads = 0;
      let touched = 0;
      t0 = performance.now();
      for (let pass = 0; pass < 2; pass++) {
        let offset = 0n;
        while (offset < readLog.logEndOffset) {
          const r = readLog.read(offset, MIB, true);
          for (const c of r.chunks) {
            // Touch every page, as a socket write would: a map faults pages in only when they are read.
            for (let i = 0; i < c.length; i += PAGE_BYTES) touched += c[i];
            bytes += c.length;
          }
          offset = r.nextOffset;
          reads++;
        }
      }
      ms = performance.now() - t0;
      rows.push({ name: `read 1 MiB fetches (${label})`, value: bytes / MIB / (ms / 1000), unit: "MB/s", detail: `${reads} reads, ${(bytes / MIB).toFixed(0)} MiB` });
      pageChecksum += touched;
      await readLog.close();
    }

    // 3. append + fdatasync latency, one producer at a time.
    for (const [label, batch] of [
      ["1 KiB batch", makeBatch(1, 1000)],
      ["1 MiB batch", big],
    ] as const) {
      const slog = PartitionLog.open(`${root}/sync-${label.replace(/\W/g, "")}-0`, { topic: "sync", partition: 0 }, config, deps(nodeFileSystem));
      const lat: number[] = [];
      const rounds = batch.length > MIB / 2 ? Math.min(SYNC_ROUNDS, 100) : SYNC_ROUNDS;
      for (let i = 0; i < rounds; i++) {
        const s = performance.now();
        slog.append(batch, { leaderEpoch: 0 });
        await slog.sync();
        lat.push(performance.now() - s);
      }
      lat.sort((a, b) => a - b);
      rows.push({ name: `append+fdatasync ${label} p50`, value: percentile(lat, 50), unit: "ms", detail: `${rounds} rounds` });
      rows.push({ name: `append+fdatasync ${label} p99`, value: percentile(lat, 99), unit: "ms", detail: `${rounds} rounds` });
      await slog.close();
    }

    // 4. Group commit: concurrent producers, each appending then awaiting sync().
    let datasyncs = 0;
    const counting: FileSystem = {
      ...nodeFileSystem,
      open(path, create) {
        const h = nodeFileSystem.open(path, create);
        const inner = h.datasync.bind(h);
        h.datasync = () => {
          datasyncs++;
          return inner();
        };
        return h;
      },
    };
    const glog = PartitionLog.open(`${root}/group-0`, { topic: "group", partition: 0 }, config, deps(counting));
    const small = makeBatch(1, 1000);
    const lat: number[] = [];
    t0 = performance.now();
    for (let round = 0; round < CONCURRENT_ROUNDS; round++) {
      await Promise.all(
        Array.from({ length: CONCURRENT_PRODUCERS }, async () => {
          const s = performance.now();
          glog.append(small, { leaderEpoch: 0 });
          await glog.sync();
          lat.push(performance.now() - s);
        }),
      );
    }
    ms = performance.now() - t0;
    lat.sort((a, b) => a - b);
    const acks = CONCURRENT_PRODUCERS * CONCURRENT_ROUNDS;
    rows.push({ name: `group commit: ${CONCURRENT_PRODUCERS} producers append+sync`, value: acks / (ms / 1000), unit: "acks/s", detail: `${acks} acks, ${datasyncs} fdatasyncs, p50 ${percentile(lat, 50).toFixed(2)} ms, p99 ${percentile(lat, 99).toFixed(2)} ms` });
    await glog.close();
  } finally {
    nodeFs.rmSync(root, { recursive: true, force: true });
  }

  const runtime = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : typeof (globalThis as { Deno?: unknown }).Deno !== "undefined" ? "deno" : "node";
  console.log(`\nstorage bench (${runtime}, ${os.cpus().length} CPUs, tmpdir ${os.tmpdir()})`);
  const w = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows) console.log(`${r.name.padEnd(w)}  ${r.value.toFixed(r.unit === "ms" ? 3 : 1).padStart(10)} ${r.unit.padEnd(6)}  ${r.detail}`);
  const out = nodePath.join(import.meta.dirname ?? "bench", "results", "storage.json");
  nodeFs.mkdirSync(nodePath.dirname(out), { recursive: true });
  nodeFs.writeFileSync(out, JSON.stringify({ runtime, date: new Date().toISOString(), totalMB: TOTAL_MB, rows, pageChecksum }, null, 2) + "\n");
  console.log(`wrote ${out}`);
}

await main();
