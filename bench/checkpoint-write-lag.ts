/**
 * Event-loop stall of writing an offset checkpoint file (issue 15; the cleaner's `cleaner-offset-checkpoint` after a
 * pass): ROUNDS writes of a 1000-entry checkpoint the blocking way (writeFileAtomic: temp file, fdatasync, rename,
 * directory fsync, all on the loop) and the asynchronous way the log manager now uses (asynchronous fdatasync and
 * directory fsync). Prints, for each, the longest gap between ticks of a 1 ms interval timer and the median write
 * time, with the load average. The temp dir is on the disk of `os.tmpdir()` (TMPDIR picks another).
 *
 * Run: `node_modules/.bin/bun bench/checkpoint-write-lag.ts`.
 */
import * as nodeFs from "node:fs";
import * as os from "node:os";
import * as nodePath from "node:path";
import { nodeFileSystem } from "../src/platform/fs.ts";
import { type CheckpointEntry, writeOffsetCheckpoint, writeOffsetCheckpointAsync } from "../src/storage/checkpoint.ts";
import { longestTimerGap } from "./loop-stall.ts";

const ROUNDS = 20;
const dir = nodeFs.mkdtempSync(nodePath.join(os.tmpdir(), "runnel-cplag-"));
const entries: CheckpointEntry[] = Array.from({ length: 1000 }, (_, i) => ({ topic: `topic-${i % 50}`, partition: i, offset: BigInt(i * 1000) }));
const path = `${dir}/cleaner-offset-checkpoint`;
try {
  const rows: string[] = [];
  for (const mode of ["blocking", "asynchronous"] as const) {
    const times: number[] = [];
    const gap = await longestTimerGap(async () => {
      for (let i = 0; i < ROUNDS; i++) {
        const t = performance.now();
        if (mode === "blocking") writeOffsetCheckpoint(nodeFileSystem, path, entries);
        else {
          await writeOffsetCheckpointAsync(nodeFileSystem, path, entries);
          await nodeFileSystem.syncDirAsync(dir);
        }
        times.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 1));
      }
    });
    times.sort((a, b) => a - b);
    rows.push(`${mode}: longest timer gap ${gap.toFixed(1)} ms, median write ${times[times.length >> 1].toFixed(1)} ms over ${ROUNDS} writes`);
  }
  console.log(`load average ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}; dir ${dir}`);
  for (const r of rows) console.log(r);
} finally {
  nodeFs.rmSync(dir, { recursive: true, force: true });
}
