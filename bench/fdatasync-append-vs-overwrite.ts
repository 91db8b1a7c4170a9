/**
 * Why acks=all's fdatasync has a long tail on this machine (issue 15, "Tail latency"): on ext4 an fdatasync after
 * an append that grows the file must commit the file system's journal (the new size and block allocation are
 * metadata), and that journal is shared with every other process writing to the same disk; an fdatasync after
 * overwriting blocks that were already written and synced only writes the data. This writes 16 KiB (one
 * producer batch) and fdatasyncs, N times, into three files in a temp dir on the same disk as the broker's data:
 * - append: each write extends the file (what a segment file does today);
 * - sparse: the file was extended with ftruncate beforehand (what Kafka's `log.preallocate` does on Linux);
 * - prezeroed: the file was written with zeros and synced beforehand (the best a zero-filled preallocation can do);
 * - preallocate: what `log.preallocate=true` does: zeros written 1 MiB at a time ahead of the writes, each chunk
 *   fdatasynced in the background when fewer than 256 KiB of zeros remain (the same constants as the broker);
 * - preallocate-8m: the same with 8 MiB chunks, refilled below 2 MiB (fewer fills, each longer).
 * Prints p50/p90/p99/max per file and round; for the preallocate files also split by whether a zero fill's
 * fdatasync was in flight when the write's fdatasync started (a fill extends the file, so an fdatasync of the same
 * file meanwhile waits for the fill's journal commit and its zeros' writeback).
 * Usage: bun bench/fdatasync-append-vs-overwrite.ts [N=1500] [ROUNDS=2]
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PREALLOCATE_CHUNK_BYTES, PREALLOCATE_REFILL_BELOW_BYTES } from "../src/storage/segment.ts";

/** Bytes written before each fdatasync (one default batch.size). */
const WRITE_BYTES = 16_384;
/** Size of the zero blocks used to prefill. */
const PREFILL_CHUNK = 1 << 20;

const n = Number(process.argv[2] ?? 1500);
const rounds = Number(process.argv[3] ?? 2);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fdatasync-tail-"));
const data = new Uint8Array(WRITE_BYTES).fill(7);

function percentile(sorted: number[], p: number): string {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))].toFixed(2);
}

type Kind = "append" | "sparse" | "prezeroed" | "preallocate" | "preallocate-8m";

function stats(ms: number[]): string {
  if (ms.length === 0) return "none";
  ms.sort((a, b) => a - b);
  return `p50 ${percentile(ms, 50)} p90 ${percentile(ms, 90)} p99 ${percentile(ms, 99)} max ${percentile(ms, 100)} ms`;
}

async function run(kind: Kind, round: number): Promise<void> {
  const fd = fs.openSync(path.join(dir, `${kind}-${round}`), "w+");
  const total = n * WRITE_BYTES;
  if (kind === "sparse") fs.ftruncateSync(fd, total);
  if (kind === "prezeroed") {
    const zeros = new Uint8Array(PREFILL_CHUNK);
    for (let at = 0; at < total; at += PREFILL_CHUNK) fs.writeSync(fd, zeros, 0, PREFILL_CHUNK, at);
  }
  fs.fsyncSync(fd);
  const ms: number[] = [];
  const duringFill: number[] = [];
  const noFill: number[] = [];
  let zeroedEnd = 0;
  let zeroing = false;
  const chunk = kind === "preallocate-8m" ? 8 << 20 : PREALLOCATE_CHUNK_BYTES;
  const refillBelow = kind === "preallocate-8m" ? 2 << 20 : PREALLOCATE_REFILL_BELOW_BYTES;
  const zeros = new Uint8Array(chunk);
  for (let i = 0; i < n; i++) {
    const end = (i + 1) * WRITE_BYTES;
    if (kind.startsWith("preallocate") && !zeroing && zeroedEnd - end < refillBelow) {
      const from = Math.max(zeroedEnd, end);
      fs.writeSync(fd, zeros, 0, chunk, from);
      zeroing = true;
      fs.fdatasync(fd, () => {
        zeroing = false;
        zeroedEnd = from + chunk;
      });
    }
    fs.writeSync(fd, data, 0, WRITE_BYTES, i * WRITE_BYTES);
    const filling = zeroing;
    const t = performance.now();
    await new Promise<void>((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve())));
    const took = performance.now() - t;
    ms.push(took);
    (filling ? duringFill : noFill).push(took);
  }
  fs.closeSync(fd);
  console.log(`${kind.padEnd(14)} round ${round}: ${n} fdatasyncs, ${stats(ms)}`);
  if (kind.startsWith("preallocate")) {
    console.log(`${"".padEnd(14)}   ${duringFill.length} with a fill in flight: ${stats(duringFill)}; ${noFill.length} without: ${stats(noFill)}`);
  }
}

try {
  console.log(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  for (let r = 1; r <= rounds; r++) for (const kind of ["append", "sparse", "prezeroed", "preallocate", "preallocate-8m"] as const) await run(kind, r);
  console.log(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
