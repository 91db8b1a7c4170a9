/**
 * Time of the producer-state replay at start (loadProducerState with no snapshot) over 1 GiB of idempotent batches of
 * one size, in one active segment, as after an unclean stop with a whole segment since the last roll snapshot. The
 * log is written once into a temp dir (TMPDIR picks another disk), reopened, and replayed RUNS times with a fresh
 * table; the page cache is warm. Prints each run's time and the replay's log line.
 *
 * Run: `node_modules/.bin/bun bench/producer-state-replay.ts <batchBytes>` (e.g. 1048576, 16384, 1024).
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
import { ProducerStateTable } from "../src/partition/producer-state.ts";
import { loadProducerState } from "../src/partition/producer-snapshot.ts";

const RUNS = 3;
const LOG_BYTES = 2 ** 30;
const PRODUCERS = 4;
await initCrc32c();
const batchBytes = Number(process.argv[2] ?? 16384);
if (!(batchBytes >= 128)) throw new RangeError(`batch size ${batchBytes}: at least 128 bytes`);
const root = nodeFs.mkdtempSync(nodePath.join(os.tmpdir(), "runnel-replay-"));
const dir = `${root}/t-0`;
const deps = { fs: nodeFileSystem, clock: new ManualClock(), logger: { info: () => {}, warn: () => {}, error: () => {} } };
const config = logConfigWith({ cleanupPolicy: ["delete"], segmentBytes: 2 ** 31 - 1 });
try {
  const writer = PartitionLog.open(dir, { topic: "t", partition: 0 }, config, deps);
  const value = new Uint8Array(batchBytes - 61 - 20);
  for (let total = 0, n = 0; total < LOG_BYTES; n++) {
    const bb = new BatchBuilder(batchBytes + 64);
    bb.reset({ producerId: BigInt(n % PRODUCERS), producerEpoch: 0, baseSequence: Math.floor(n / PRODUCERS) });
    bb.append(1_700_000_000_000, null, value);
    const b = bb.finish();
    writer.append(b, { leaderEpoch: 0 });
    total += b.length;
  }
  await writer.sync();
  await writer.close();
  const log = PartitionLog.open(dir, { topic: "t", partition: 0 }, config, deps);
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const line = loadProducerState(nodeFileSystem, log, new ProducerStateTable({ nowMs: () => 0 }), 0);
    console.log(`${batchBytes}-byte batches: ${(performance.now() - t0).toFixed(1)} ms: ${line}`);
  }
  await log.close();
} finally {
  nodeFs.rmSync(root, { recursive: true, force: true });
}
