/**
 * Client quota accuracy over long windows: a kcat producer with `producer_byte_rate` and a kcat consumer with
 * `consumer_byte_rate` (client ids `limited` and `limited-reader`), each next to an unthrottled kcat doing the same
 * job, on one broker with Kafka's default quota windows (`quota.window.num=11` x `quota.window.size.seconds=1`: a
 * new client may first burst 10 windows' worth). The throttled client's progress is sampled every 100 ms (the
 * partition's end offset for the producer, records printed for the consumer); its steady rate (see steadyRate) is
 * compared with the quota. Record values
 * are `--size` bytes; the quota counts record batch bytes, which add about 1% at 1000-byte values.
 *
 *   bun bench/client-quotas.ts [--quota-mb 1] [--seconds 15] [--size 1000]
 *
 * Prints a table and writes bench/results/client-quotas.json.
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { startTestBroker } from "../tests/support/broker.ts";
import { runProc } from "../tests/support/proc.ts";

const { values } = parseArgs({ options: { "quota-mb": { type: "string", default: "1" }, seconds: { type: "string", default: "15" }, size: { type: "string", default: "1000" } } });
const QUOTA = Number(values["quota-mb"]) * 1024 * 1024;
const SECONDS = Number(values.seconds);
const SIZE = Number(values.size);
const WINDOWS = 11;
const BURST = QUOTA * (WINDOWS - 1);
const RECORDS = Math.ceil((BURST + QUOTA * SECONDS) / SIZE);
const FREE_RECORDS = RECORDS * 2;
const SAMPLE_MS = 100;

type Sample = [ms: number, records: number];

/**
 * Steady rate in bytes/s: the least-squares slope of progress over the samples from two quotas' worth past the burst
 * allowance (by then the debt run up while the burst was spent is repaid and progress has resumed) to one quota's
 * worth before the end.
 */
function steadyRate(samples: Sample[], total: number): { rate: number; fromS: number; toS: number } {
  const window = samples.filter(([, n]) => n * SIZE >= BURST + 2 * QUOTA && (total - n) * SIZE >= QUOTA);
  if (window.length < 20) throw new Error("no steady window: raise --seconds");
  const mt = window.reduce((a, [t]) => a + t, 0) / window.length;
  const mn = window.reduce((a, [, n]) => a + n, 0) / window.length;
  let num = 0;
  let den = 0;
  for (const [t, n] of window) {
    num += (t - mt) * (n - mn);
    den += (t - mt) ** 2;
  }
  const t0 = samples[0][0];
  return { rate: (num / den) * SIZE * 1000, fromS: (window[0][0] - t0) / 1000, toS: (window[window.length - 1][0] - t0) / 1000 };
}

/** Runs kcat with `args`, feeding `input`, calling `onOut` with each stdout chunk; resolves when it exits 0. */
function kcat(args: string[], input: string | null, onOut?: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("kcat", args, { stdio: ["pipe", "pipe", "pipe"] });
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => onOut?.(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`kcat ${args.join(" ")} exited ${code}: ${Buffer.concat(err).toString()}`))));
    child.stdin.on("error", () => {});
    child.stdin.end(input ?? undefined);
  });
}

const b = await startTestBroker({ "quota.window.num": String(WINDOWS), "quota.window.size.seconds": "1" });
const rows: Array<Record<string, unknown>> = [];
try {
  await b.broker.clientQuotas.alter([["client-id", "limited"]], [{ key: "producer_byte_rate", value: QUOTA, remove: false }]);
  await b.broker.clientQuotas.alter([["client-id", "limited-reader"]], [{ key: "consumer_byte_rate", value: QUOTA, remove: false }]);
  const lines = (n: number) => Array.from({ length: n }, () => "q".repeat(SIZE)).join("\n") + "\n";
  for (const t of ["limited", "free", "read-limited", "read-free"]) await b.broker.createTopic(t, 1, 1, {}, false);
  const produceArgs = (topic: string, clientId: string) => ["-P", "-b", b.bootstrap, "-t", topic, "-X", `client.id=${clientId}`, "-X", "acks=1", "-X", "linger.ms=5"];

  // Producers: sample the throttled one's end offset while both run.
  const samples: Sample[] = [];
  const leo = () => Number(b.broker.topicsByName.get("limited")!.partitions[0].logEndOffset);
  const t0 = performance.now();
  const timer = setInterval(() => samples.push([performance.now(), leo()]), SAMPLE_MS);
  samples.push([t0, 0]);
  let freeMs = 0;
  await Promise.all([
    kcat(produceArgs("limited", "limited"), lines(RECORDS)),
    kcat(produceArgs("free", "free"), lines(FREE_RECORDS)).then(() => (freeMs = performance.now() - t0)),
  ]);
  clearInterval(timer);
  const limitedMs = performance.now() - t0;
  const p = steadyRate(samples, RECORDS);
  rows.push({ job: "produce", quotaBytesPerSec: QUOTA, steadyBytesPerSec: Math.round(p.rate), errorPct: +((p.rate / QUOTA - 1) * 100).toFixed(2), steadyWindowS: [+p.fromS.toFixed(1), +p.toS.toFixed(1)], wholeRunBytesPerSec: Math.round((RECORDS * SIZE * 1000) / limitedMs), unthrottledBytesPerSec: Math.round((FREE_RECORDS * SIZE * 1000) / freeMs) });

  // Consumers: preload both topics unthrottled, then read them at once; count the throttled reader's records as printed.
  for (const [topic, n] of [["read-limited", RECORDS], ["read-free", FREE_RECORDS]] as const) await kcat(produceArgs(topic, "loader"), lines(n));
  const consumeArgs = (topic: string, clientId: string, n: number) => ["-C", "-b", b.bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-c", String(n), "-f", "%S\n", "-X", `client.id=${clientId}`];
  const read: Sample[] = [];
  let count = 0;
  const c0 = performance.now();
  read.push([c0, 0]);
  const sampler = setInterval(() => read.push([performance.now(), count]), SAMPLE_MS);
  let freeReadMs = 0;
  await Promise.all([
    kcat(consumeArgs("read-limited", "limited-reader", RECORDS), null, (chunk) => {
      for (const byte of chunk) if (byte === 10) count++;
    }),
    kcat(consumeArgs("read-free", "free-reader", FREE_RECORDS), null).then(() => (freeReadMs = performance.now() - c0)),
  ]);
  clearInterval(sampler);
  const readMs = performance.now() - c0;
  if (count !== RECORDS) throw new Error(`the throttled reader printed ${count} of ${RECORDS} records`);
  const c = steadyRate(read, RECORDS);
  rows.push({ job: "consume", quotaBytesPerSec: QUOTA, steadyBytesPerSec: Math.round(c.rate), errorPct: +((c.rate / QUOTA - 1) * 100).toFixed(2), steadyWindowS: [+c.fromS.toFixed(1), +c.toS.toFixed(1)], wholeRunBytesPerSec: Math.round((RECORDS * SIZE * 1000) / readMs), unthrottledBytesPerSec: Math.round((FREE_RECORDS * SIZE * 1000) / freeReadMs) });
} finally {
  await b.stop();
}

const command = `bun bench/client-quotas.ts --quota-mb ${values["quota-mb"]} --seconds ${SECONDS} --size ${SIZE}`;
console.log(`${command}\nquota ${(QUOTA / 1048576).toFixed(2)} MiB/s, Kafka default windows (11 x 1 s: ${(BURST / 1048576).toFixed(0)} MiB burst), ${RECORDS} records of ${SIZE} bytes`);
console.log(`${"job".padEnd(9)}${"steady MiB/s".padEnd(14)}${"error".padEnd(9)}${"window s".padEnd(14)}${"whole run MiB/s".padEnd(17)}unthrottled MiB/s`);
const mib = (x: unknown) => ((x as number) / 1048576).toFixed(3);
for (const r of rows) {
  const w = r.steadyWindowS as number[];
  console.log(`${String(r.job).padEnd(9)}${mib(r.steadyBytesPerSec).padEnd(14)}${(`${r.errorPct}%`).padEnd(9)}${`${w[0]}-${w[1]}`.padEnd(14)}${mib(r.wholeRunBytesPerSec).padEnd(17)}${mib(r.unthrottledBytesPerSec)}`);
}
const dir = new URL("./results/", import.meta.url);
mkdirSync(dir, { recursive: true });
writeFileSync(new URL("client-quotas.json", dir), JSON.stringify({ command, date: new Date().toISOString(), runtime: `bun ${Bun.version}`, quotaWindowNum: WINDOWS, quotaWindowSizeSeconds: 1, recordBytes: SIZE, rows }, null, 2) + "\n");
