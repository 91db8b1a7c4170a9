/**
 * Broker-only ingest and fetch throughput (issue 3): a load generator in its own process sends pre-built Produce
 * requests (1 MiB batches of 1 KiB records, acks=1) over several connections to a Runnel broker started from the
 * compiled executable, then reads everything back with Fetch requests (from page cache). For scale the same run
 * measures loopback TCP bandwidth (same generator, a sink server that discards) and sequential file writes.
 *
 * Usage: bun bench/ingest.ts [--seconds 5] [--connections 4] [--inflight 4] [--partitions 4] [--profile] [--ingest-only]
 *   [--binary dist/runnel]
 * (`--binary` runs another build of the broker, for A/B runs.) The fetch row is compared with iperf3 loopback
 * (`-l 1M`, bench/iperf3.ts) measured right after it, with the consumer's CPU seconds per GB too.
 * With --profile the broker runs from the sources under `bun --cpu-prof-md` and writes its CPU profile as
 * Markdown under bench/results/profiles/. With --ingest-only the run stops after the produce phase (for a profile
 * of ingest alone) and writes no results file. Right after the produce phase, in both modes, it measures what writing
 * to new page-cache pages costs right now (and overwriting cached ones), the machine-state part of the figure.
 * The bench report's ingest row (bench/run.ts) is this script with its default duration.
 *
 * Besides wall throughput, each phase reports the broker's CPU seconds (user + system, from /proc) per GB moved and
 * the load average: on a shared machine wall figures swing with the load, CPU per GB much less. The ingest phase
 * also reports the broker's and the generator's page faults as MB per GB ingested: fresh memory touched besides
 * the page cache (the generator sends the same frames again and should touch almost none).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { listen } from "../src/platform/net.ts";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import type { Writer } from "../src/protocol/wire.ts";
import { writeProduceRequest } from "../src/protocol/generated/00_produce.ts";
import { fetchPartitionToEnd } from "./fetch-stream.ts";
import { LISTENING_LINE } from "../tests/support/broker-process.ts";
import { writeMetadataRequest } from "../src/protocol/generated/03_metadata.ts";
import { ZERO_UUID } from "../src/protocol/wire.ts";
import { initCrc32c } from "../src/protocol/crc32c.ts";
import { ROOT, RawKafkaConnection, benchBatch, printTable, requestFrame, writeResults } from "./support.ts";
import { measureIperf3 } from "./iperf3.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    connections: { type: "string", default: "4" },
    inflight: { type: "string", default: "4" },
    partitions: { type: "string", default: "4" },
    profile: { type: "boolean", default: false },
    binary: { type: "string", default: "dist/runnel" },
    out: { type: "string", default: path.join(ROOT, "bench", "results") },
    "ingest-only": { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log("usage: bun bench/ingest.ts [--seconds 5] [--connections 4] [--inflight 4] [--partitions 4] [--profile] [--ingest-only] [--binary dist/runnel] [--out bench/results]");
  console.log("  --binary       the broker executable to run (for A/B runs of two builds)");
  console.log("  --out          the directory ingest.json is written to");
  console.log("  --profile      run the broker from the sources under `bun --cpu-prof-md` (profile in bench/results/profiles/)");
  console.log("  --ingest-only  stop after the produce phase (profile ingest alone); writes no results file");
  process.exit(0);
}
const SECONDS = Number(values.seconds);
const CONNS = Number(values.connections);
const INFLIGHT = Number(values.inflight);
const PARTITIONS = Number(values.partitions);
const BATCH_BYTES = 1 << 20;
/** Bytes written by the page-cache probe that follows an --ingest-only run. */
const PAGE_CACHE_PROBE_BYTES = 256 * 1024 * 1024;
const RECORD_BYTES = 1024;

await initCrc32c();

const frame = (apiKey: number, version: number, headerVersion: number, body: (w: Writer) => void) => requestFrame(apiKey, version, headerVersion, body, BATCH_BYTES + 4096);
const buildBatch = () => benchBatch(BATCH_BYTES, RECORD_BYTES);

const { batch, records: recordsPerBatch } = buildBatch();
const produceFrames = Array.from({ length: PARTITIONS }, (_, p) =>
  frame(0, 9, 2, (w) =>
    writeProduceRequest(w, 9, { transactionalId: null, acks: 1, timeoutMs: 30000, topicData: [{ name: "ingest", partitionData: [{ index: p, records: batch }] }] }),
  ),
);

async function drive(host: string, port: number, frames: Uint8Array[], seconds: number): Promise<{ requests: number; bytes: number; seconds: number }> {
  const conns = await Promise.all(Array.from({ length: CONNS }, () => RawKafkaConnection.connect(host, port)));
  const end = performance.now() + seconds * 1000;
  let requests = 0;
  let bytes = 0;
  const start = performance.now();
  await Promise.all(
    conns.map(async (c, ci) => {
      const lanes = Array.from({ length: INFLIGHT }, async (_, li) => {
        let k = ci * INFLIGHT + li;
        while (performance.now() < end) {
          const f = frames[k++ % frames.length];
          // The same pre-encoded frame is written again each time (no copy here: the broker stamps offsets into the
          // bytes it received, not into ours), so the generator's CPU is almost all the kernel's send copy.
          await c.request(f);
          requests++;
          bytes += f.length;
        }
      });
      await Promise.all(lanes);
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  for (const c of conns) c.close();
  return { requests, bytes, seconds: elapsed };
}

/** A TCP server that reads and discards, answering each frame with an empty response (platform sockets). */
async function sinkServer(): Promise<{ port: number; close(): void }> {
  const resp = new Uint8Array([0, 0, 0, 4, 0, 0, 0, 1]);
  const l = await listen("127.0.0.1", 0, (conn) => {
    let need = -1;
    let have = 0;
    let head = new Uint8Array(0);
    return {
      onData(b: Uint8Array) {
        let at = 0;
        while (at < b.length) {
          if (need < 0) {
            const take = Math.min(4 - head.length, b.length - at);
            const h = new Uint8Array(head.length + take);
            h.set(head);
            h.set(b.subarray(at, at + take), head.length);
            head = h;
            at += take;
            if (head.length < 4) return;
            need = new DataView(head.buffer).getInt32(0);
            have = 0;
            head = new Uint8Array(0);
          }
          const take = Math.min(need - have, b.length - at);
          have += take;
          at += take;
          if (have === need) {
            conn.write([resp]);
            need = -1;
          }
        }
      },
      onDrain() {},
      onClose() {},
    };
  });
  return { port: l.port, close: () => void l.close() };
}

/** The fields of /proc/PID/stat after the command name (Linux); null elsewhere. */
function procStat(pid: number): string[] | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}
/** CPU seconds (user + system) a process has used so far, from /proc/PID/stat (Linux); NaN elsewhere. */
function cpuSeconds(pid: number): number {
  return userSeconds(pid) + systemSeconds(pid);
}
/** CPU seconds a process has used so far in user space (JavaScript, Bun's copies, CRC-32C); NaN elsewhere. */
function userSeconds(pid: number): number {
  const fields = procStat(pid);
  return fields === null ? NaN : Number(fields[11]) / CLOCK_TICKS_PER_SECOND;
}
/**
 * CPU seconds a process has used so far in the kernel (socket reads, the copy into the page cache, page faults); NaN
 * elsewhere. A host fault taken while the kernel copies into a page the host had reclaimed is counted here.
 */
function systemSeconds(pid: number): number {
  const fields = procStat(pid);
  return fields === null ? NaN : Number(fields[12]) / CLOCK_TICKS_PER_SECOND;
}
/**
 * Minor page faults a process has taken so far (/proc/PID/stat); NaN elsewhere. Each is a first touch of a page the
 * process had not used (mostly fresh anonymous memory: Bun's buffer for each socket read, the heap growing), so
 * faults x 4 KiB per GB ingested is the fresh memory the broker touches besides the page cache the data goes to.
 */
function minorFaults(pid: number): number {
  const fields = procStat(pid);
  return fields === null ? NaN : Number(fields[7]);
}
/** Bytes per page fault counted by {@link minorFaults} (x86-64 and arm64 base pages). */
const PAGE_BYTES = 4096;
/** USER_HZ of /proc/PID/stat on Linux. */
const CLOCK_TICKS_PER_SECOND = 100;

function sequentialWrite(dir: string, totalBytes: number): { mbps: number; syncMbps: number } {
  const file = path.join(dir, "seq.bin");
  const fd = fs.openSync(file, "w");
  const chunk = new Uint8Array(BATCH_BYTES).fill(7);
  let t = performance.now();
  for (let done = 0; done < totalBytes; done += chunk.length) fs.writeSync(fd, chunk);
  const writeSecs = (performance.now() - t) / 1000;
  fs.fdatasyncSync(fd);
  const syncSecs = (performance.now() - t) / 1000;
  fs.closeSync(fd);
  fs.rmSync(file);
  return { mbps: totalBytes / 1e6 / writeSecs, syncMbps: totalBytes / 1e6 / syncSecs };
}

/**
 * CPU seconds per GB this process spends writing `totalBytes` in 1 MiB writes to new page-cache pages (appending
 * to a fresh file), and then overwriting the same, already cached pages. On this VM the first moves with what else
 * runs (fresh guest pages are slow to touch under load) and the second hardly at all; the broker's log append is
 * the first kind, so the pair tells how much of an ingest figure is the machine's state.
 */
function pageCacheProbe(dir: string, totalBytes: number): { appendCpuPerGB: number; overwriteCpuPerGB: number } {
  const file = path.join(dir, "probe.bin");
  const fd = fs.openSync(file, "w+");
  const chunk = new Uint8Array(BATCH_BYTES).fill(7);
  const pass = (): number => {
    const c0 = process.cpuUsage();
    for (let at = 0; at < totalBytes; at += chunk.length) fs.writeSync(fd, chunk, 0, chunk.length, at);
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1e6 / (totalBytes / 1e9);
  };
  const appendCpuPerGB = pass();
  const overwriteCpuPerGB = pass();
  fs.closeSync(fd);
  fs.rmSync(file);
  return { appendCpuPerGB, overwriteCpuPerGB };
}

/** The fetch row next to iperf3 measured right after it, with CPU per GB and the load average. */
function printFetchVsIperf3(f: { fetchMBps: number; iperf3: Awaited<ReturnType<typeof measureIperf3>>; ratio: number | null; brokerSecondsPerGB: number; consumerSecondsPerGB: number; loadAverage1m: number[] }): void {
  const load = f.loadAverage1m.map((l) => l.toFixed(2)).join(" -> ");
  if ("skipped" in f.iperf3) {
    console.log(`\nfetch vs iperf3: SKIPPED (${f.iperf3.skipped}); fetch ${f.fetchMBps.toFixed(0)} MB/s, load ${load}`);
    return;
  }
  printTable(`fetch vs iperf3 loopback (same run; load average 1 min ${load})`, [
    { measure: "Runnel fetch from page cache", "MB/s": f.fetchMBps, "CPU s/GB": `broker ${f.brokerSecondsPerGB.toFixed(2)}, consumer ${f.consumerSecondsPerGB.toFixed(2)}` },
    { measure: f.iperf3.command.replace(/ -p \d+/, ""), "MB/s": f.iperf3.mbps, "CPU s/GB": `both ends ${f.iperf3.cpuSecondsPerGB.toFixed(2)}` },
    { measure: "fetch / iperf3", "MB/s": `${(f.ratio! * 100).toFixed(0)}%`, "CPU s/GB": "" },
  ]);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-bench-"));
const binary = path.resolve(ROOT, values.binary);
if (!values.profile && !fs.existsSync(binary)) throw new Error(`${binary} is missing: run \`npm run build\` first`);
const brokerCmd = values.profile
  ? [path.join(ROOT, "node_modules", ".bin", "bun"), ["--cpu-prof-md", `--cpu-prof-dir=${path.join(ROOT, "bench", "results", "profiles")}`, path.join(ROOT, "src", "cli", "main.ts")]] as const
  : [binary, []] as const;
const broker = spawn(brokerCmd[0], [...brokerCmd[1], "start", "--port", "0", "--data-dir", tmp, "-o", `num.partitions=${PARTITIONS}`, "-o", "log.segment.bytes=1073741824"], { stdio: ["ignore", "ignore", "pipe"] });
const port: number = await new Promise((resolve, reject) => {
  let log = "";
  broker.stderr!.on("data", (b) => {
    log += b;
    // The node's own line, not a shard thread's (a `--binary` may start a sharded node).
    const m = LISTENING_LINE.exec(log);
    if (m) resolve(Number(m[1]));
  });
  broker.on("exit", () => reject(new Error(`broker exited: ${log}`)));
});

try {
  // Create the topic through a Metadata request with auto-creation (num.partitions above).
  const meta = await RawKafkaConnection.connect("127.0.0.1", port);
  await meta.request(frame(3, 12, 2, (w) => writeMetadataRequest(w, 12, { topics: [{ topicId: ZERO_UUID, name: "ingest" }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false })));
  meta.close();

  const loadBefore = os.loadavg()[0];
  let cpu0 = cpuSeconds(broker.pid!);
  const sys0 = systemSeconds(broker.pid!);
  const faults0 = minorFaults(broker.pid!);
  const genCpu0 = process.cpuUsage();
  const genFaults0 = process.resourceUsage().minorPageFault;
  const ingest = await drive("127.0.0.1", port, produceFrames, SECONDS);
  const genCpu = process.cpuUsage(genCpu0);
  const generatorFaultMBPerGB = ((process.resourceUsage().minorPageFault - genFaults0) * PAGE_BYTES) / 1e6 / (ingest.bytes / 1e9);
  const ingestMBps = ingest.bytes / 1e6 / ingest.seconds;
  const ingestCpuPerGB = (cpuSeconds(broker.pid!) - cpu0) / (ingest.bytes / 1e9);
  const ingestSystemCpuPerGB = (systemSeconds(broker.pid!) - sys0) / (ingest.bytes / 1e9);
  const brokerFreshMBPerGB = ((minorFaults(broker.pid!) - faults0) * PAGE_BYTES) / 1e6 / (ingest.bytes / 1e9);
  const generatorCpuPerGB = (genCpu.user + genCpu.system) / 1e6 / (ingest.bytes / 1e9);
  const ingestLoad = `${loadBefore.toFixed(2)} -> ${os.loadavg()[0].toFixed(2)}`;
  // Right after the ingest phase, in both modes: what a new page-cache page costs now (see ingest-profile.md: on this
  // VM it is 0.15-0.25 CPU s/GB while the kernel can hand out memory the host still backs, 1.5-3.5 once it must take
  // blocks it has reported to the host as free), so each ingest figure carries the machine state it was taken in.
  const probe = pageCacheProbe(tmp, PAGE_CACHE_PROBE_BYTES);
  const probeLine = `page-cache probe right after (256 MiB of 1 MiB writes): new pages ${probe.appendCpuPerGB.toFixed(2)} CPU s/GB, overwriting cached pages ${probe.overwriteCpuPerGB.toFixed(2)} CPU s/GB`;
  if (values["ingest-only"]) {
    printTable(`ingest only: ${CONNS} connections x ${INFLIGHT} in flight, ${PARTITIONS} partitions, ${SECONDS}s, ${recordsPerBatch} records/batch`, [
      { measure: "Runnel ingest (acks=1, 1 MiB batches)", "MB/s": ingestMBps, "broker CPU s/GB": ingestCpuPerGB.toFixed(2), "of which kernel": ingestSystemCpuPerGB.toFixed(2), "generator CPU s/GB": generatorCpuPerGB.toFixed(2), "broker page faults MB/GB": brokerFreshMBPerGB.toFixed(0), "generator page faults MB/GB": generatorFaultMBPerGB.toFixed(0), "load avg 1m": ingestLoad },
    ]);
    console.log(probeLine);
    process.exitCode = 0;
  } else {

  // Fetch everything back from page cache: one connection per partition, from offset 0, 16 MiB per response.
  // With the broker's CPU (from /proc), this consumer's and the load average, for the fetch-vs-iperf3 table.
  const fetchLoadBefore = os.loadavg()[0];
  const consumerCpuBefore = process.cpuUsage();
  cpu0 = cpuSeconds(broker.pid!);
  const fetchStart = performance.now();
  let fetched = 0;
  let fetchedRecords = 0;
  await Promise.all(
    Array.from({ length: PARTITIONS }, async (_, p) => {
      // Streamed: batch headers are read as they pass, the response is never assembled (bench/fetch-stream.ts).
      const got = await fetchPartitionToEnd("127.0.0.1", port, "ingest", p);
      fetched += got.bytes;
      fetchedRecords += got.records;
    }),
  );
  const fetchSecs = (performance.now() - fetchStart) / 1000;
  const fetchMBps = fetched / 1e6 / fetchSecs;
  const fetchCpuPerGB = (cpuSeconds(broker.pid!) - cpu0) / (fetched / 1e9);
  const consumerCpu = process.cpuUsage(consumerCpuBefore);
  // The yardstick, right after the fetch: iperf3 over loopback with 1 MiB writes.
  const iperf = await measureIperf3(Math.min(SECONDS, 3));
  const fetchVsIperf3 = {
    fetchMBps,
    iperf3: iperf,
    ratio: "skipped" in iperf ? null : fetchMBps / iperf.mbps,
    brokerSecondsPerGB: fetchCpuPerGB,
    consumerSecondsPerGB: (consumerCpu.user + consumerCpu.system) / 1e6 / (fetched / 1e9),
    loadAverage1m: [fetchLoadBefore, os.loadavg()[0]],
  };

  const sink = await sinkServer();
  const tcp = await drive("127.0.0.1", sink.port, produceFrames, Math.min(SECONDS, 3));
  sink.close();
  const tcpMBps = tcp.bytes / 1e6 / tcp.seconds;
  const seq = sequentialWrite(tmp, 2 * 1024 * 1024 * 1024);

  const rows = [
    { measure: "Runnel ingest (acks=1, 1 MiB batches)", "MB/s": ingestMBps, "records/s": Math.round((ingest.requests * recordsPerBatch) / ingest.seconds), "vs loopback TCP": `${((ingestMBps / tcpMBps) * 100).toFixed(0)}%`, "broker CPU s/GB": ingestCpuPerGB.toFixed(2), "load avg 1m": ingestLoad },
    { measure: "Runnel fetch from page cache", "MB/s": fetchMBps, "records/s": Math.round(fetchedRecords / fetchSecs), "vs loopback TCP": `${((fetchMBps / tcpMBps) * 100).toFixed(0)}%`, "broker CPU s/GB": fetchCpuPerGB.toFixed(2), "load avg 1m": "" },
    { measure: "loopback TCP (same generator, discarding sink)", "MB/s": tcpMBps, "records/s": 0, "vs loopback TCP": "100%", "broker CPU s/GB": "", "load avg 1m": "" },
    { measure: "sequential file write (page cache)", "MB/s": seq.mbps, "records/s": 0, "vs loopback TCP": "", "broker CPU s/GB": "", "load avg 1m": "" },
    { measure: "sequential file write + fdatasync", "MB/s": seq.syncMbps, "records/s": 0, "vs loopback TCP": "", "broker CPU s/GB": "", "load avg 1m": "" },
  ];
  printTable(`ingest: ${CONNS} connections x ${INFLIGHT} in flight, ${PARTITIONS} partitions, ${SECONDS}s, ${recordsPerBatch} records/batch`, rows);
  console.log(`broker during ingest: ${ingestSystemCpuPerGB.toFixed(2)} of the ${ingestCpuPerGB.toFixed(2)} CPU s/GB in the kernel, page faults ${brokerFreshMBPerGB.toFixed(0)} MB per GB ingested; ${probeLine}`);
  printFetchVsIperf3(fetchVsIperf3);
  const pageCacheProbeCpuSecondsPerGB = { newPages: probe.appendCpuPerGB, overwrite: probe.overwriteCpuPerGB };
  console.log(`\nwrote ${writeResults("ingest", { connections: CONNS, inflight: INFLIGHT, partitions: PARTITIONS, seconds: SECONDS, recordsPerBatch, brokerCpuSecondsPerGB: { ingest: ingestCpuPerGB, ingestKernel: ingestSystemCpuPerGB, fetch: fetchCpuPerGB }, generatorCpuSecondsPerGB: generatorCpuPerGB, brokerPageFaultMBPerGB: brokerFreshMBPerGB, pageCacheProbeCpuSecondsPerGB, rows, fetchVsIperf3 }, values.out)}`);
  }
} finally {
  broker.kill("SIGTERM");
  await new Promise((r) => broker.on("exit", r));
  fs.rmSync(tmp, { recursive: true, force: true });
}
