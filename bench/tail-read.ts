/**
 * A tailing consumer's reads in bench/e2e-tail-latency.sh's scenario, alone: 4 partition logs take 16 KiB batches
 * (130 records of 100 bytes) in turn; after each append the batch is read back as a woken Fetch reads it (fetch
 * offset = its base, 1 MiB, upper bound = the log end, the high watermark once acks=all has synced). Prints the CPU
 * µs per read (process.cpuUsage around each read; the first 200 rounds left out). For an A/B, copy this file into a
 * checkout of each version and run them in ABBA order (bench/results/tail-latency.md, ninth round).
 *
 *   node_modules/.bin/bun bench/tail-read.ts [LABEL]      (N=3000 rounds by default)
 */
import * as nodeFs from "node:fs";
import * as os from "node:os";
import { systemClock } from "../src/platform/clock.ts";
import { nodeFileSystem } from "../src/platform/fs.ts";
import { crc32c, initCrc32c } from "../src/protocol/crc32c.ts";
import { logConfigWith } from "../src/storage/log-config.ts";
import { PartitionLog } from "../src/storage/partition-log.ts";
import { silentStorageLogger } from "../src/storage/storage-deps.ts";

await initCrc32c("now");
/** One batch of `records` records of `valueBytes` each, with a valid CRC (as bench/storage.ts makes them). */
function makeBatch(records: number, valueBytes: number): Uint8Array {
  const recordBody = 1 + 1 + 3 + 1 + 3 + valueBytes + 1;
  const buf = new Uint8Array(61 + records * (3 + recordBody));
  const dv = new DataView(buf.buffer);
  dv.setInt32(8, buf.length - 12); dv.setInt8(16, 2); dv.setInt32(23, records - 1);
  const now = BigInt(Date.now()); dv.setBigInt64(27, now); dv.setBigInt64(35, now); dv.setBigInt64(43, -1n); dv.setInt16(51, -1); dv.setInt32(53, -1); dv.setInt32(57, records);
  let at = 61;
  const v3 = (v: number) => { const z = v * 2; buf[at++] = (z & 0x7f) | 0x80; buf[at++] = ((z >> 7) & 0x7f) | 0x80; buf[at++] = (z >> 14) & 0x7f; };
  for (let i = 0; i < records; i++) { v3(recordBody); buf[at++] = 0; buf[at++] = 0; v3(i); buf[at++] = 1; v3(valueBytes); at += valueBytes; buf[at++] = 0; }
  dv.setUint32(17, crc32c(buf.subarray(21)));
  return buf;
}
const root = nodeFs.mkdtempSync(`${os.tmpdir()}/e2ecpu-tail-`);
const config = logConfigWith({});
const logs = [0, 1, 2, 3].map((p) => PartitionLog.open(`${root}/t-${p}`, { topic: "t", partition: p }, config, { fs: nodeFileSystem, clock: systemClock, logger: silentStorageLogger }));
const N = Number(process.env.N ?? 3000);
let readCpu = 0;
let sink = 0;
for (let i = 0; i < N; i++) {
  for (const log of logs) {
    const r = log.append(makeBatch(130, 100), { leaderEpoch: 0 });
    const c0 = process.cpuUsage();
    const got = log.read(r.baseOffset, 1 << 20, true, r.lastOffset + 1n);
    const c = process.cpuUsage(c0);
    if (i >= 200) readCpu += c.user + c.system;
    sink += got.bytes;
  }
}
console.log(`${process.argv[2] ?? ""} ${(readCpu / ((N - 200) * 4)).toFixed(2)} CPU us per read (${sink} bytes)`);
for (const log of logs) await log.close();
nodeFs.rmSync(root, { recursive: true, force: true });
