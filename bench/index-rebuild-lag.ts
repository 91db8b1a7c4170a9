/**
 * Event-loop stall of a lazy index rebuild (issue 15): writes one sealed segment of small batches, removes its
 * `.index`, and reads from its middle after a clean reopen, twice: the blocking way (PartitionLog.read rebuilds
 * the index at once, as every read did before) and the way Fetch and ListOffsets now do it (indexesReadyFor, a
 * stepwise rebuild with loop turns between steps, then the read). Prints, for each, the longest gap between ticks
 * of a 1 ms interval timer and the time until the read was answered, with the load average.
 *
 * Run: `node_modules/.bin/bun bench/index-rebuild-lag.ts [--mib 256] [--batch-bytes 1024]`.
 */
import * as nodeFs from "node:fs";
import * as os from "node:os";
import * as nodePath from "node:path";
import { ManualClock } from "../src/platform/clock.ts";
import { nodeFileSystem } from "../src/platform/fs.ts";
import { initCrc32c } from "../src/protocol/crc32c.ts";
import { BatchBuilder } from "../src/protocol/record-batch.ts";
import { logConfigWith } from "../src/storage/log-config.ts";
import { PartitionLog } from "../src/storage/partition-log.ts";
import { silentStorageLogger } from "../src/storage/storage-deps.ts";
import { longestTimerGap } from "./loop-stall.ts";

const MIB = 1024 * 1024;
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const segmentMiB = arg("--mib", 256);
const batchBytes = arg("--batch-bytes", 1024);

await initCrc32c();
const root = nodeFs.mkdtempSync(nodePath.join(os.tmpdir(), "runnel-ixlag-"));
const dir = `${root}/ix-0`;
const tp = { topic: "ix", partition: 0 };
const config = logConfigWith({ segmentBytes: segmentMiB * MIB, indexIntervalBytes: 4096 });
const deps = { fs: nodeFileSystem, clock: new ManualClock(Date.now()), logger: silentStorageLogger };

/** Longest gap between ticks of a 1 ms interval timer while `work` runs, and how long `work` took. */
async function stall(work: () => Promise<void>): Promise<{ gapMs: number; tookMs: number }> {
  let tookMs = 0;
  const gapMs = await longestTimerGap(async () => {
    const start = performance.now();
    await work();
    tookMs = performance.now() - start;
  });
  return { gapMs, tookMs };
}

try {
  let log = PartitionLog.open(dir, tp, config, deps);
  const bb = new BatchBuilder(batchBytes + 256);
  const value = new Uint8Array(batchBytes - 90).fill(7);
  const chunk: Uint8Array[] = [];
  let chunkBytes = 0;
  while (log.segmentCount < 2) {
    bb.reset();
    bb.append(Date.now(), null, value);
    const b = bb.finish();
    chunk.push(b);
    chunkBytes += b.length;
    if (chunkBytes >= 4 * MIB) {
      const all = new Uint8Array(chunkBytes);
      let at = 0;
      for (const c of chunk) {
        all.set(c, at);
        at += c.length;
      }
      log.append(all, { leaderEpoch: 0 });
      chunk.length = 0;
      chunkBytes = 0;
    }
  }
  const end = log.logEndOffset;
  const sealedBatches = log.segmentBaseOffsets()[1];
  const middle = sealedBatches / 2n;
  await log.close();
  const index = `${dir}/00000000000000000000.index`;
  const rows: string[] = [];
  for (const mode of ["blocking read", "stepwise rebuild, then read"] as const) {
    nodeFs.rmSync(index);
    log = PartitionLog.open(dir, tp, config, deps, { cleanShutdown: true, recoveryPoint: end });
    const l = log;
    const r = await stall(async () => {
      if (mode !== "blocking read") await l.indexesReadyFor(middle);
      const got = l.read(middle, 1 << 20, false);
      if (got.batches === 0) throw new Error("read nothing");
    });
    rows.push(`${mode}: longest timer gap ${r.gapMs.toFixed(1)} ms, answered after ${r.tookMs.toFixed(1)} ms`);
    await log.close();
  }
  console.log(`sealed segment of ${segmentMiB} MiB, ${sealedBatches} batches of ${batchBytes} bytes, read at offset ${middle}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  for (const r of rows) console.log(r);
} finally {
  nodeFs.rmSync(root, { recursive: true, force: true });
}
