/**
 * End-to-end latency at a fixed rate with franz-go as producer and consumer (bench/go/e2e), against Runnel and, for
 * comparison, Apache Kafka 4.4 (issue 15, "Tail latency"). `runnel bench e2e` (bench/e2e-tail-latency.sh) measures
 * with Runnel's own JavaScript client, whose producer and consumer take about as much CPU as the broker on this
 * 2-core machine; franz-go takes less than half of that, so these rows show what a Kafka user's Go client gets and
 * what the broker leaves to the p99 when the load generator is light.
 *
 * Each run starts a fresh broker (Runnel: the compiled binary, `-o num.partitions=4`; Kafka: the harness of
 * tests/support/kafka-broker.ts, 1 GiB heap, `num.partitions=4`; `kafka-flush`: the same Kafka with
 * `log.flush.interval.messages=1`, its nearest equivalent to Runnel's fdatasync before an acks=all answer), runs the
 * Go program once on a new topic and prints one line: the broker, the 1-minute load before -> after, e2e p50/p90/p99/
 * p99.9, the achieved rate, and the CPU seconds of the client process and of the broker. Brokers take turns run by
 * run (interleaved), so a change in the machine's load falls on all of them alike.
 *
 * Usage: bun bench/e2e-franz.ts [--runs 3] [--brokers runnel,kafka,kafka-flush] [--acks all|1] [--rate 100000]
 *        [--duration 6] [--warmup 1] [--binary dist/runnel]
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { kafkaUnavailable, startKafka } from "../tests/support/kafka-broker.ts";
import { freePorts, runBenchMain, runCommand, startServer, waitForPort } from "./suite/processes.ts";
import { processCpuOf } from "./node-stats.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const GO_DIR = path.join(ROOT, "bench", "go");
/** Where the Go program is built (outside the tree: no binaries are committed). */
const GO_BINARY = path.join(os.tmpdir(), `runnel-bench-e2e-franz-${process.getuid?.() ?? 0}`);
/** Longest a run may take, Go build and broker start included. */
const RUN_TIMEOUT_MS = 180_000;
/** The brokers a run can measure. */
const BROKERS = ["runnel", "kafka", "kafka-flush"] as const;
type BrokerName = (typeof BROKERS)[number];

/** What the Go program prints. */
interface GoResult {
  count: number;
  achievedRecordsPerSecond: number;
  e2eLatencyMs: { p50: number; p90: number; p99: number; p999: number; max: number };
  failedProduces: number;
  cpuSeconds: number;
}

/** The 1-minute load average. */
const load1 = () => os.loadavg()[0].toFixed(2);

/** Builds the Go program (go caches the build, so this is quick after the first time). */
async function buildGo(): Promise<void> {
  const r = await runCommand("go", ["build", "-o", GO_BINARY, "./e2e"], { cwd: GO_DIR, timeoutMs: 170_000 });
  if (r.code !== 0) throw new Error(`go build in bench/go failed:\n${r.stderr}`);
}

/** A started broker: where it listens, its pid, and how to stop it. */
interface Started {
  bootstrap: string;
  pid: number;
  stop(): Promise<void>;
}

async function startBroker(name: BrokerName, binary: string): Promise<Started> {
  if (name === "runnel") {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-e2e-franz-"));
    const [port] = await freePorts(1);
    const srv = startServer(binary, ["start", "--port", String(port), "--data-dir", dir, "-o", "num.partitions=4"]);
    await waitForPort(port, 30_000);
    return {
      bootstrap: `127.0.0.1:${port}`,
      pid: srv.pid,
      stop: async () => {
        await srv.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const overrides: Record<string, string> = { "num.partitions": "4" };
  if (name === "kafka-flush") overrides["log.flush.interval.messages"] = "1";
  const k = await startKafka({ overrides, heap: "1g" });
  return { bootstrap: k.bootstrap, pid: k.pid, stop: () => k.stop() };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: "3" },
      brokers: { type: "string", default: "runnel,kafka,kafka-flush" },
      acks: { type: "string", default: "all" },
      rate: { type: "string", default: "100000" },
      duration: { type: "string", default: "6" },
      warmup: { type: "string", default: "1" },
      binary: { type: "string", default: path.join(ROOT, "dist", "runnel") },
    },
  });
  const brokers = values.brokers.split(",") as BrokerName[];
  for (const b of brokers) if (!BROKERS.includes(b)) throw new Error(`--brokers: unknown ${b} (want ${BROKERS.join(", ")})`);
  const why = kafkaUnavailable();
  if (why && brokers.some((b) => b !== "runnel")) throw new Error(`Kafka is not available (${why}); use --brokers runnel`);
  if (brokers.includes("runnel") && !fs.existsSync(values.binary)) throw new Error(`${values.binary} is missing: npm run build`);
  await buildGo();
  console.log(`franz-go e2e: ${values.rate} records/s of 100 B for ${values.duration} s (first ${values.warmup} s left out), acks=${values.acks}, 4 partitions, linger 5 ms, batch 16384, fetch.max.wait 100 ms`);
  for (let run = 1; run <= Number(values.runs); run++) {
    for (const name of run % 2 === 1 ? brokers : [...brokers].reverse()) {
      const broker = await startBroker(name, values.binary);
      try {
        const before = load1();
        const cpu0 = processCpuOf(broker.pid);
        const r = await runCommand(GO_BINARY, ["-b", broker.bootstrap, "-t", `e2e-${run}`, "-acks", values.acks, "-rate", values.rate, "-duration", `${values.duration}s`, "-warmup", `${values.warmup}s`], { timeoutMs: RUN_TIMEOUT_MS });
        const brokerCpu = processCpuOf(broker.pid) - cpu0;
        if (r.code !== 0) throw new Error(`${name} run ${run}: the Go program failed:\n${r.stderr}`);
        const g = JSON.parse(r.stdout) as GoResult;
        const e = g.e2eLatencyMs;
        console.log(`run ${run} | ${name.padEnd(11)} | load ${before}->${load1()} | e2e p50 ${e.p50.toFixed(2)} p90 ${e.p90.toFixed(2)} p99 ${e.p99.toFixed(2)} p99.9 ${e.p999.toFixed(2)} ms | ${Math.round(g.achievedRecordsPerSecond)} rec/s, ${g.failedProduces} failed | CPU s client ${g.cpuSeconds.toFixed(2)} broker ${brokerCpu.toFixed(2)}`);
      } finally {
        await broker.stop();
      }
    }
  }
}

if (import.meta.main) await runBenchMain("e2e-franz bench", main);
