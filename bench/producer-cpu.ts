/**
 * The producer's own CPU per record: one Runnel producer (this process) sends a fixed number of keyless records
 * flat out to a broker in another process, with the bench report's produce settings (batch.size 262144, linger.ms 5,
 * buffer.memory 64 MiB, one record in 16 with a callback), and this process's CPU time (user + system, from
 * `process.cpuUsage()`) is divided by the records sent. The broker's CPU is not counted, so an A/B of two client
 * builds against one broker compares only the client (accumulator, partitioner, batch encoding, sender).
 *
 * With --append-only, it measures the append path alone: each round calls `send` for APPEND_ROUND_BYTES of records
 * in one synchronous loop (nothing is sent while it runs: the sender runs from a microtask, after the loop), times
 * the loop with the process's CPU time, then flushes untimed; the median of the rounds is reported. That leaves
 * out sockets and the broker's pace, which make the flat-out figure swing with the machine's load.
 *
 * Usage: bun bench/producer-cpu.ts [--bootstrap HOST:PORT] [--sizes 100,1024] [--records N] [--acks 1|all]
 *   [--append-only] [--rounds N]
 *   (without --bootstrap it starts a broker from this tree's source, 4 partitions per topic, and stops it after;
 *   --records: records per size, default 2,000,000 for records under 512 bytes and 400,000 above, after a warm-up of
 *   a tenth of that; --rounds: append-only rounds, default 15; prints one JSON line per size)
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { connectProducers, ensureTopic, type ProduceLoadSettings, runProduceLoad } from "../src/bench/produce-load.ts";
import { LoadMeter } from "../src/bench/load-meter.ts";
import { payloadPool } from "../src/bench/payloads.ts";
import type { ProducerRecord } from "../src/client/producer.ts";
import { freePort, startServer, waitForPort } from "./suite/processes.ts";
import { ROOT } from "./support.ts";

/** Records per run for small records (under SMALL_RECORD_LIMIT bytes) and for larger ones. */
const SMALL_RECORDS = 2_000_000;
const LARGE_RECORDS = 400_000;
const SMALL_RECORD_LIMIT = 512;
/** The warm-up sends this fraction of the measured records first (JIT, connection, first batches). */
const WARMUP_FRACTION = 0.1;
/** Partitions of each topic (the bench report's broker default). */
const PARTITIONS = 4;
/** Value bytes one append-only round sends (well inside buffer.memory, so no append waits for memory). */
const APPEND_ROUND_BYTES = 16 * 1024 * 1024;
/** Append-only rounds by default; the first third are a warm-up and not reported. */
const APPEND_ROUNDS = 15;

const { values } = parseArgs({
  options: {
    bootstrap: { type: "string" }, sizes: { type: "string" }, records: { type: "string" }, acks: { type: "string" },
    "append-only": { type: "boolean" }, rounds: { type: "string" },
  },
});
const sizes = (values.sizes ?? "100,1024").split(",").map(Number);
const acks = values.acks === "all" || values.acks === "-1" ? -1 : values.acks === "0" ? 0 : 1;

async function withBroker<T>(f: (bootstrap: string) => Promise<T>): Promise<T> {
  if (values.bootstrap !== undefined) return f(values.bootstrap);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "producer-cpu-"));
  const port = await freePort();
  const bun = path.join(ROOT, "node_modules", ".bin", "bun");
  const server = startServer(bun, [path.join(ROOT, "src", "cli", "main.ts"), "start", "--port", String(port), "--data-dir", dir, "-o", `num.partitions=${PARTITIONS}`]);
  try {
    await waitForPort(port, 30_000);
    return await f(`127.0.0.1:${port}`);
  } finally {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function settings(bootstrap: string, topic: string, size: number, records: number): ProduceLoadSettings {
  return {
    bootstrap, clientId: "producer-cpu", topic, records, durationMs: 0, recordSize: size, producers: 1,
    batchSize: 262_144, lingerMs: 5, compression: "none", acks, throughput: 0, maxInFlight: 5,
    bufferMemory: 67_108_864, maxRequestSize: 1_048_576, latencyEvery: 16, stamp: false,
  };
}

function loadavg(): string {
  return fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** The append path alone: CPU ns per record of synchronous `send` loops, median over the rounds after the warm-up. */
async function appendOnly(bootstrap: string, size: number): Promise<void> {
  const rounds = values.rounds !== undefined ? Number(values.rounds) : APPEND_ROUNDS;
  const records = Math.floor(APPEND_ROUND_BYTES / size);
  const topic = `producer-cpu-append-${size}-${process.pid}-${Date.now()}`;
  await ensureTopic(bootstrap, "producer-cpu", topic, PARTITIONS);
  const [p] = await connectProducers(settings(bootstrap, topic, size, records));
  try {
    const pool = payloadPool(size);
    const record: ProducerRecord = { topic, value: pool[0], key: null };
    const every = 16;
    let acked = 0;
    const onAck = (err: Error | null) => {
      if (err !== null) throw err;
      acked++;
    };
    const cpuNs: number[] = [];
    const wallNs: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < records; i++) {
        record.value = pool[i % pool.length];
        if (i % every === 0) p.send(record, onAck);
        else if (!p.sendAndForget(record)) throw new Error("buffer.memory ran out in an append-only round");
      }
      const wall = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      await p.flush();
      if (p.failedRecords > 0) throw new Error(`${p.failedRecords} records failed: ${p.lastError?.message}`);
      if (round >= Math.floor(rounds / 3)) {
        cpuNs.push(((cpu.user + cpu.system) * 1000) / records);
        wallNs.push((wall * 1e6) / records);
      }
    }
    console.log(JSON.stringify({
      mode: "append-only", size, records, rounds: cpuNs.length, acked,
      cpuNsPerRecord: Math.round(median(cpuNs)), cpuNsMin: Math.round(Math.min(...cpuNs)), wallNsPerRecord: Math.round(median(wallNs)), loadavg: loadavg(),
    }));
  } finally {
    await p.close({ timeoutMs: 5000 });
  }
}

await withBroker(async (bootstrap) => {
  for (const size of sizes) {
    if (values["append-only"]) {
      await appendOnly(bootstrap, size);
      continue;
    }
    const records = values.records !== undefined ? Number(values.records) : size < SMALL_RECORD_LIMIT ? SMALL_RECORDS : LARGE_RECORDS;
    const topic = `producer-cpu-${size}-${process.pid}-${Date.now()}`;
    await ensureTopic(bootstrap, "producer-cpu", topic, PARTITIONS);
    const producers = await connectProducers(settings(bootstrap, topic, size, records));
    try {
      await runProduceLoad(settings(bootstrap, topic, size, Math.round(records * WARMUP_FRACTION)), producers, new LoadMeter(), { stopped: false });
      const meter = new LoadMeter();
      const cpu0 = process.cpuUsage();
      const r = await runProduceLoad(settings(bootstrap, topic, size, records), producers, meter, { stopped: false });
      const cpu = process.cpuUsage(cpu0);
      if (r.errors > 0) throw new Error(`${r.errors} records failed: ${r.firstError}`);
      const perM = (us: number) => Math.round((us / r.records) * 1000) / 1000; // us per record = s per million
      console.log(JSON.stringify({
        size, acks, records: r.records, recordsPerSec: Math.round(r.records / r.seconds),
        cpuSPerMRecords: perM(cpu.user + cpu.system), userSPerMRecords: perM(cpu.user), cpuSPerGB: Math.round(((cpu.user + cpu.system) / 1e6 / (r.bytes / 1e9)) * 100) / 100,
        loadavg: loadavg(),
      }));
    } finally {
      await Promise.all(producers.map((p) => p.close({ timeoutMs: 5000 })));
    }
  }
});
