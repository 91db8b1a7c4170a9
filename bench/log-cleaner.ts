/**
 * Log cleaner cost: CPU milliseconds per MB of segment data one compaction pass reads, over a partition (a
 * PartitionLog with its Partition above it, as the broker has them) holding keyed batches of an idempotent
 * producer (100 records each, 1000 distinct keys, 100-byte values) in 1 MiB segments; optionally
 * (`BENCH_CLEANER_TXN=1`) every other batch in a transaction, committed or aborted in turn.
 *
 * Run: `node_modules/.bin/bun bench/log-cleaner.ts`. `BENCH_MB` sets the data volume (default 64), `BENCH_REPEAT` the
 * passes measured (default 5, each over a fresh copy of the log), `BENCH_SRC` another checkout's `src` directory
 * (for an A/B against an older cleaner: the same script, that tree's code). Prints one JSON line.
 */
import * as nodeFs from "node:fs";
import * as os from "node:os";
import * as nodePath from "node:path";

const src = process.env.BENCH_SRC ? nodePath.resolve(process.env.BENCH_SRC) : nodePath.resolve(import.meta.dirname, "../src");
const { ManualClock } = await import(`${src}/platform/clock.ts`);
const { nodeFileSystem } = await import(`${src}/platform/fs.ts`);
const { initCrc32c } = await import(`${src}/protocol/crc32c.ts`);
const { BatchBuilder } = await import(`${src}/protocol/record-batch.ts`);
const { buildControlBatch } = await import(`${src}/protocol/control-record.ts`);
const { logConfigWith } = await import(`${src}/storage/log-config.ts`);
const { PartitionLog } = await import(`${src}/storage/partition-log.ts`);
const { silentStorageLogger } = await import(`${src}/storage/storage-deps.ts`);
const { Partition } = await import(`${src}/partition/partition.ts`);

await initCrc32c();
const MB = Number(process.env.BENCH_MB ?? 64);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 5);
const TXN = process.env.BENCH_CLEANER_TXN === "1";
const enc = new TextEncoder();

/** Fills a partition under `dir` with about MB megabytes and seals it; returns the open log. */
function fill(dir: string, clock: InstanceType<typeof ManualClock>) {
  const config = logConfigWith({ cleanupPolicy: ["compact"], segmentBytes: 1 << 20 });
  const deps = { fs: nodeFileSystem, clock, logger: silentStorageLogger };
  const log = PartitionLog.open(dir, { topic: "bench", partition: 0 }, config, deps);
  const p = Partition.open({ name: "bench" }, 0, log, { ...deps, localBrokerId: 1 }, { leader: 1, leaderEpoch: 0, replicas: [1], isr: [1] });
  const bb = new BatchBuilder(1 << 20);
  const value = new Uint8Array(100).fill(120);
  let seq = 0;
  let txnSeq = 0;
  let key = 0;
  for (let i = 0; log.size < MB * (1 << 20); i++) {
    const txn = TXN && i % 2 === 1;
    bb.reset(txn ? { producerId: 2n, producerEpoch: 0, baseSequence: txnSeq, isTransactional: true } : { producerId: 1n, producerEpoch: 0, baseSequence: seq });
    for (let r = 0; r < 100; r++) bb.append(clock.nowMs(), enc.encode(`key-${key++ % 1000}`), value);
    p.appendAsLeader(bb.finish().slice());
    if (txn) {
      txnSeq += 100;
      p.appendAsLeader(buildControlBatch({ type: i % 4 === 1 ? 1 : 0, producerId: 2n, producerEpoch: 0, coordinatorEpoch: 0, timestampMs: clock.nowMs() }));
    } else seq += 100;
  }
  log.rollActive();
  p.appendAsLeader(buildControlBatch({ type: 1, producerId: 3n, producerEpoch: 0, coordinatorEpoch: 0, timestampMs: clock.nowMs() }));
  return { log, p };
}

const rows: { cpuMs: number; mbRead: number; msPerMb: number }[] = [];
for (let k = 0; k < REPEAT; k++) {
  const root = nodeFs.mkdtempSync(nodePath.join(os.tmpdir(), "txncompact-bench-"));
  const clock = new ManualClock(1_700_000_000_000);
  const { log, p } = fill(`${root}/bench-0`, clock);
  try {
    const before = process.cpuUsage();
    const r = await log.compact(clock.nowMs(), {});
    const used = process.cpuUsage(before);
    if (r === null || r.abandoned !== null) throw new Error(`no pass: ${JSON.stringify(r, (_, v) => (typeof v === "bigint" ? String(v) : v))}`);
    const mbRead = r.bytesBefore / (1 << 20);
    const cpuMs = (used.user + used.system) / 1000;
    rows.push({ cpuMs, mbRead, msPerMb: cpuMs / mbRead });
  } finally {
    p.close();
    await log.close();
    nodeFs.rmSync(root, { recursive: true, force: true });
  }
}
const sorted = rows.map((r) => r.msPerMb).sort((a, b) => a - b);
console.log(JSON.stringify({ src, txn: TXN, mb: MB, cpuMsPerMbMedian: Number(sorted[sorted.length >> 1].toFixed(3)), cpuMsPerMb: rows.map((r) => Number(r.msPerMb.toFixed(3))), load: os.loadavg().map((x) => Number(x.toFixed(1))) }));
