/**
 * Shard scaling (issue 15, docs/sharding.md): produce and fetch throughput of one node run as a plain single broker
 * and with `runnel.shards=N`, the broker process's CPU time per MB split by thread (main thread = the front when
 * sharded, worker threads = the shards, the rest = GC/JIT helpers), the load average around every figure, and a
 * projection for more cores from the per-MB CPU costs. Codec pool threads are worker threads too; they stay idle
 * here (the batches are uncompressed).
 *
 * The load generator (this process) sends pre-built Produce v9 requests (acks=1, `--batch-kib` batches of 1 KiB
 * records, `--per-request` partitions per request) over `--connections` x `--inflight`, checks every partition answer
 * for an error, then reads everything back with Fetch v12 (one partition per request, from page cache) and checks
 * that it got every record it was acknowledged.
 *
 * Usage: bun bench/shards.ts [--modes plain,2] [--seconds 5] [--partitions 8] [--batch-kib 256] [--per-request 1]
 *        [--connections 4] [--inflight 4] [--acks 1] [--source] [--repeat 1] [-o key=value ...]
 * `--broker-log FILE` appends every broker's standard error to FILE (e.g. with `BUN_JSC_logGC=1` in the environment),
 * with a line `=== bench: produce start MODE` (and produce end, fetch start, fetch end) around each phase: `bun
 * bench/gc-log.ts FILE` counts the collections of each phase by heap.
 * `--acks 0` sends the Produce requests with acks=0, each followed on its connection by an ApiVersions request whose
 * answer (given in order, after the Produce was handled) paces the sender; the fetch phase checks every record arrived.
 * `-o key=value` passes a broker setting to every node (e.g. `-o runnel.shards.accept=false`).
 * With `--repeat N` the modes run N times, interleaved, and the per-MB costs and projections are taken from each
 * mode's median run (on a shared machine one run's CPU per MB can be off by a factor of three).
 * `plain` runs `runnel start` as the single-node broker; a number N runs `runnel start --shards N`; `front1` runs one
 * shard behind the front (bench/front-one-shard.ts, from the sources), which isolates the front's cost. The broker is
 * dist/runnel (npm run build) unless `--source` (bun src/cli/main.ts).
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { Reader, type Writer, ZERO_UUID } from "../src/protocol/wire.ts";
import { readResponseHeader } from "../src/protocol/generated/headers.ts";
import { readProduceResponse, writeProduceRequest } from "../src/protocol/generated/00_produce.ts";
import { readMetadataResponse, writeMetadataRequest } from "../src/protocol/generated/03_metadata.ts";
import { writeApiVersionsRequest } from "../src/protocol/generated/18_api_versions.ts";
import { initCrc32c } from "../src/protocol/crc32c.ts";
import { fetchPartitionToEnd } from "./fetch-stream.ts";
import { LISTENING_LINE } from "../tests/support/broker-process.ts";
import { ROOT, RawKafkaConnection, benchBatch, printTable, requestFrame, writeResults } from "./support.ts";

const { values } = parseArgs({
  options: {
    modes: { type: "string", default: "plain,2" },
    seconds: { type: "string", default: "5" },
    partitions: { type: "string", default: "8" },
    "batch-kib": { type: "string", default: "256" },
    "per-request": { type: "string", default: "1" },
    connections: { type: "string", default: "4" },
    inflight: { type: "string", default: "4" },
    acks: { type: "string", default: "1" },
    "broker-log": { type: "string" },
    source: { type: "boolean", default: false },
    repeat: { type: "string", default: "1" },
    override: { type: "string", short: "o", multiple: true, default: [] },
  },
});
const MODES = values.modes.split(",").map((m) => m.trim());
const SECONDS = Number(values.seconds);
const PARTITIONS = Number(values.partitions);
const BATCH_BYTES = Number(values["batch-kib"]) * 1024;
const PER_REQUEST = Number(values["per-request"]);
const CONNS = Number(values.connections);
const INFLIGHT = Number(values.inflight);
const REPEAT = Number(values.repeat);
const ACKS = Number(values.acks);
if (ACKS !== 0 && ACKS !== 1 && ACKS !== -1) throw new Error("--acks must be 0, 1 or -1");
const RECORD_BYTES = 1024;
const TOPIC = "shards";
/** Linux clock ticks per second of /proc/PID/task/TID/stat utime and stime. */
const CLOCK_TICKS = 100;
for (const m of MODES) if (m !== "plain" && m !== "front1" && !(Number.isInteger(Number(m)) && Number(m) >= 1)) throw new Error(`--modes: '${m}' is neither plain nor a shard count`);
if (PARTITIONS % PER_REQUEST !== 0) throw new Error("--partitions must be a multiple of --per-request");

await initCrc32c();

const frame = (apiKey: number, version: number, body: (w: Writer) => void) => requestFrame(apiKey, version, 2, body, BATCH_BYTES * PER_REQUEST + 4096);
const buildBatch = () => benchBatch(BATCH_BYTES, RECORD_BYTES);

const { batch, records: recordsPerBatch } = buildBatch();
/** Request k carries partitions k*PER_REQUEST .. (k+1)*PER_REQUEST-1, one batch each. */
const produceFrames = Array.from({ length: PARTITIONS / PER_REQUEST }, (_, k) =>
  frame(0, 9, (w) =>
    writeProduceRequest(w, 9, {
      transactionalId: null,
      acks: ACKS,
      timeoutMs: 30000,
      topicData: [{ name: TOPIC, partitionData: Array.from({ length: PER_REQUEST }, (_, i) => ({ index: k * PER_REQUEST + i, records: batch })) }],
    }),
  ),
);

/** Paces an acks=0 sender (see `--acks`). */
const apiVersionsFrame = requestFrame(18, 3, 2, (w) => writeApiVersionsRequest(w, 3, { clientSoftwareName: "bench", clientSoftwareVersion: "1" }));

/** CPU seconds of one process so far, by thread role. */
interface CpuSample {
  main: number;
  workers: number;
  other: number;
}

function cpuOf(pid: number): CpuSample {
  const s: CpuSample = { main: 0, workers: 0, other: 0 };
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    } catch {
      continue; // the thread ended between the listing and the read
    }
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const secs = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    if (Number(tid) === pid) s.main += secs;
    else if (comm === "Worker") s.workers += secs;
    else s.other += secs;
  }
  return s;
}

const minus = (a: CpuSample, b: CpuSample): CpuSample => ({ main: a.main - b.main, workers: a.workers - b.workers, other: a.other - b.other });

/** Minor page faults of a process so far, all its threads (field 10 of /proc/PID/stat): fresh memory touched. */
function minorFaultsOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[7]);
}
const load1 = () => os.loadavg()[0];

interface Broker {
  child: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

async function startBroker(mode: string, dir: string): Promise<Broker> {
  const args = ["start", "--port", "0", "--data-dir", dir, "-o", `num.partitions=${PARTITIONS}`, "-o", "log.segment.bytes=1073741824", ...values.override.flatMap((o) => ["-o", o])];
  if (mode !== "plain" && mode !== "front1") args.push("--shards", mode);
  const bun = path.join(ROOT, "node_modules", ".bin", "bun");
  const [cmd, pre] =
    mode === "front1"
      ? [bun, [path.join(ROOT, "bench", "front-one-shard.ts")]]
      : values.source
        ? [bun, [path.join(ROOT, "src", "cli", "main.ts")]]
        : [path.join(ROOT, "dist", "runnel"), []];
  if (cmd !== bun && !fs.existsSync(cmd)) throw new Error("dist/runnel is missing: run `npm run build` first (or pass --source)");
  // front-one-shard.ts takes runnel start's arguments without the command word.
  const child = spawn(cmd, [...pre, ...(mode === "front1" ? args.slice(1) : args)], { stdio: ["ignore", "ignore", "pipe"] });
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  const port: number = await new Promise((resolve, reject) => {
    let log = "";
    child.stderr!.on("data", (b) => {
      if (values["broker-log"] !== undefined) fs.appendFileSync(values["broker-log"], b);
      log += b;
      const m = LISTENING_LINE.exec(log);
      if (m) resolve(Number(m[1]));
    });
    child.on("exit", () => reject(new Error(`broker (${mode}) exited before listening:\n${log}`)));
  });
  return {
    child,
    port,
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** Asks for the topic (auto-created) until every partition has a leader. */
async function createTopic(port: number): Promise<void> {
  const c = await RawKafkaConnection.connect("127.0.0.1", port);
  try {
    for (let attempt = 0; attempt < 100; attempt++) {
      const body = await c.request(frame(3, 12, (w) => writeMetadataRequest(w, 12, { topics: [{ topicId: ZERO_UUID, name: TOPIC }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false })));
      const r = new Reader(body);
      readResponseHeader(r, 1);
      const t = readMetadataResponse(r, 12).topics[0];
      if (t.errorCode === 0 && t.partitions.length === PARTITIONS && t.partitions.every((p) => p.errorCode === 0 && p.leaderId >= 0)) return;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`topic ${TOPIC} did not get ${PARTITIONS} led partitions`);
  } finally {
    c.close();
  }
}

/** Produces for `seconds`; every partition answer must be error-free. */
async function produce(port: number, seconds: number): Promise<{ bytes: number; records: number; seconds: number }> {
  const conns = await Promise.all(Array.from({ length: CONNS }, () => RawKafkaConnection.connect("127.0.0.1", port)));
  const end = performance.now() + seconds * 1000;
  let requests = 0;
  let bytes = 0;
  const start = performance.now();
  await Promise.all(
    conns.map((c, ci) =>
      Promise.all(
        Array.from({ length: INFLIGHT }, async (_, li) => {
          let k = ci * INFLIGHT + li;
          while (performance.now() < end) {
            const f = produceFrames[k++ % produceFrames.length];
            if (ACKS === 0) {
              // No answer to an acks=0 Produce: the ApiVersions after it is answered once it was handled.
              c.send(f);
              await c.request(apiVersionsFrame);
            } else {
              const body = await c.request(f);
              const r = new Reader(body);
              readResponseHeader(r, 1);
              for (const t of readProduceResponse(r, 9).responses) {
                for (const p of t.partitionResponses) if (p.errorCode !== 0) throw new Error(`produce to ${TOPIC}-${p.index} failed with error ${p.errorCode}`);
              }
            }
            requests++;
            bytes += f.length;
          }
        }),
      ),
    ),
  );
  const elapsed = (performance.now() - start) / 1000;
  for (const c of conns) c.close();
  return { bytes, records: requests * PER_REQUEST * recordsPerBatch, seconds: elapsed };
}

/** Reads every partition from offset 0 to its end, one connection per partition. */
async function fetchAll(port: number): Promise<{ bytes: number; records: number; seconds: number }> {
  const start = performance.now();
  const got = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => fetchPartitionToEnd("127.0.0.1", port, TOPIC, p)));
  return { bytes: got.reduce((n, g) => n + g.bytes, 0), records: got.reduce((n, g) => n + g.records, 0), seconds: (performance.now() - start) / 1000 };
}

/** One measured phase of one mode. */
interface Phase {
  mode: string;
  phase: "produce" | "fetch";
  mbps: number;
  recordsPerSec: number;
  /** Broker CPU milliseconds per MB moved, by thread role, and in total. */
  cpuMsPerMB: CpuSample & { total: number };
  /** The broker's minor page faults per MB moved (fresh memory it touched: a fault per 4 KiB page). */
  faultsPerMB: number;
  /** Broker CPU use over the phase in cores (CPU seconds / wall seconds). */
  cores: number;
  /** The load generator's (this process's) CPU use over the phase in cores: it shares the machine's cores. */
  generatorCores: number;
  load1Before: number;
  load1After: number;
}

function phase(mode: string, name: Phase["phase"], moved: { bytes: number; records: number; seconds: number }, cpu: CpuSample, faults: number, generator: NodeJS.CpuUsage, loadBefore: number): Phase {
  const mb = moved.bytes / 1e6;
  const total = cpu.main + cpu.workers + cpu.other;
  return {
    mode,
    phase: name,
    mbps: mb / moved.seconds,
    recordsPerSec: Math.round(moved.records / moved.seconds),
    cpuMsPerMB: { main: (cpu.main * 1000) / mb, workers: (cpu.workers * 1000) / mb, other: (cpu.other * 1000) / mb, total: (total * 1000) / mb },
    faultsPerMB: faults / mb,
    cores: total / moved.seconds,
    generatorCores: (generator.user + generator.system) / 1e6 / moved.seconds,
    load1Before: loadBefore,
    load1After: load1(),
  };
}

const phases: Phase[] = [];
/** Writes a phase marker line (`=== bench: ...`) into `--broker-log`, so a log can be split by phase (bench/gc-log.ts). */
function markBrokerLog(what: string): void {
  if (values["broker-log"] !== undefined) fs.appendFileSync(values["broker-log"], `\n=== bench: ${what}\n`);
}

for (const mode of Array.from({ length: REPEAT }, () => MODES).flat()) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-bench-shards-"));
  const broker = await startBroker(mode, dir);
  try {
    await createTopic(broker.port);
    const pid = broker.child.pid!;
    let loadBefore = load1();
    let before = cpuOf(pid);
    let faults = minorFaultsOf(pid);
    let generator = process.cpuUsage();
    markBrokerLog(`produce start ${mode}`);
    const produced = await produce(broker.port, SECONDS);
    markBrokerLog(`produce end ${(produced.bytes / 1e6).toFixed(1)} MB`);
    phases.push(phase(mode, "produce", produced, minus(cpuOf(pid), before), minorFaultsOf(pid) - faults, process.cpuUsage(generator), loadBefore));
    loadBefore = load1();
    before = cpuOf(pid);
    faults = minorFaultsOf(pid);
    generator = process.cpuUsage();
    markBrokerLog(`fetch start ${mode}`);
    const fetched = await fetchAll(broker.port);
    markBrokerLog(`fetch end ${(fetched.bytes / 1e6).toFixed(1)} MB`);
    phases.push(phase(mode, "fetch", fetched, minus(cpuOf(pid), before), minorFaultsOf(pid) - faults, process.cpuUsage(generator), loadBefore));
    if (fetched.records !== produced.records) throw new Error(`${mode}: fetched ${fetched.records} records, ${produced.records} were acknowledged`);
  } finally {
    await broker.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

printTable(
  `shards: ${PARTITIONS} partitions, ${CONNS} connections x ${INFLIGHT} in flight, ${values["batch-kib"]} KiB batches (${recordsPerBatch} records), ${PER_REQUEST} partition(s) per produce request, acks=${ACKS}, ${SECONDS}s; ${os.cpus().length} cores`,
  phases.map((p) => ({
    mode: p.mode,
    phase: p.phase,
    "MB/s": p.mbps,
    "records/s": p.recordsPerSec,
    "CPU ms/MB": p.cpuMsPerMB.total.toFixed(2),
    "main ms/MB": p.cpuMsPerMB.main.toFixed(2),
    "workers ms/MB": p.cpuMsPerMB.workers.toFixed(2),
    "other ms/MB": p.cpuMsPerMB.other.toFixed(2),
    "faults/MB": p.faultsPerMB.toFixed(0),
    "broker cores": p.cores.toFixed(2),
    "generator cores": p.generatorCores.toFixed(2),
    load1: `${p.load1Before.toFixed(2)}->${p.load1After.toFixed(2)}`,
  })),
);

/**
 * Projections for `cores` cores from a sharded run's per-MB CPU costs. With only the main thread's front accepting
 * clients (`runnel.shards.accept=false`, Deno), the node moves at most min(cores / total, 1 / front) MB per CPU-ms;
 * with every shard thread accepting too (the default on Bun) the front's work is spread and the bound is
 * cores / total.
 */
function projection(p: Phase, cores: number): { oneFront: number; bound: string; spreadFront: number } {
  const allCores = (cores * 1000) / p.cpuMsPerMB.total;
  const frontThread = p.cpuMsPerMB.main > 0 ? 1000 / p.cpuMsPerMB.main : Infinity;
  return { oneFront: Math.min(allCores, frontThread), bound: allCores <= frontThread ? "all cores busy" : "front thread saturated", spreadFront: allCores };
}

/** The run of `mode`'s `name` phase with the median total CPU per MB (the lower middle of an even count). */
function median(mode: string, name: Phase["phase"]): Phase | undefined {
  const runs = phases.filter((p) => p.mode === mode && p.phase === name).sort((a, b) => a.cpuMsPerMB.total - b.cpuMsPerMB.total);
  return runs[Math.floor((runs.length - 1) / 2)];
}

const medians = MODES.flatMap((mode) => (["produce", "fetch"] as const).map((name) => median(mode, name)!));
const spread = (p: Phase) => {
  const totals = phases.filter((q) => q.mode === p.mode && q.phase === p.phase).map((q) => q.cpuMsPerMB.total);
  return `${Math.min(...totals).toFixed(2)}-${Math.max(...totals).toFixed(2)}`;
};
const derived = medians
  .filter((p) => p.mode !== "plain")
  .map((p) => {
    const base = median("plain", p.phase);
    const at16 = projection(p, 16);
    return {
      mode: p.mode,
      phase: p.phase,
      "total CPU ms/MB (median; range)": `${p.cpuMsPerMB.total.toFixed(2)} (${spread(p)})`,
      "plain total (median; range)": base ? `${base.cpuMsPerMB.total.toFixed(2)} (${spread(base)})` : "n/a",
      "shard CPU ms/MB": p.cpuMsPerMB.workers.toFixed(2),
      "front CPU ms/MB": p.cpuMsPerMB.main.toFixed(2),
      "overhead vs plain": base ? `${(((p.cpuMsPerMB.total - base.cpuMsPerMB.total) / base.cpuMsPerMB.total) * 100).toFixed(0)}%` : "n/a",
      "plain 1-thread MB/s": base ? Math.round(1000 / base.cpuMsPerMB.main) : "n/a",
      "16 cores, 1 front MB/s": Math.round(at16.oneFront),
      bound: at16.bound,
      "16 cores, all threads accept MB/s": Math.round(at16.spreadFront),
    };
  });
printTable(`median runs of ${REPEAT}; ceilings: plain = 1 thread / its CPU per MB; 16 cores = min(16 / total CPU per MB, 1 front thread / front CPU per MB) when only the main thread accepts; all threads accept = 16 / total`, derived);

console.log(
  `\nwrote ${writeResults("shards", { modes: MODES, partitions: PARTITIONS, batchBytes: BATCH_BYTES, perRequest: PER_REQUEST, connections: CONNS, inflight: INFLIGHT, seconds: SECONDS, repeat: REPEAT, overrides: values.override, recordsPerBatch, source: values.source, phases, derived })}`,
);
