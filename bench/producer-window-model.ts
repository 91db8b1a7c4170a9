/**
 * How long records wait in the producer at 100,000 records/s with acks=all, for one disk trace replayed against
 * several producer settings and broker flush modes (issue 15, "Tail latency"). On the shared development machine
 * an e2e p99 moves by 10-100x between neighbouring runs (other developers' CPU and disk use), so an A/B of
 * linger.ms or of the flush mode cannot be read from real runs alone. This runs Runnel's real Producer on a
 * ManualClock against a simulated single broker whose acks=all answers wait for fdatasyncs that take exactly the
 * durations measured here first (16 KiB appended + fdatasync, N times, in a temp dir on the broker's disk), in the
 * same order for every variant. The broker side is modelled as src/storage/partition-log.ts does it: per partition
 * one flush at a time and a flush asked for meanwhile queued behind it (`runnel.log.flush.overlapping=1`), or
 * started at once and counted after the earlier one (`=2`); responses leave a connection in request order.
 *
 * The figure is each record's wait in the producer, from `send` to the Produce request carrying it being handed
 * to the connection (linger + waiting for the in-flight window): the part of the e2e latency the producer
 * settings and the broker's answer times decide. Network, broker CPU and the consumer add about 0.5 ms in quiet
 * real runs (bench/results/tail-latency.md) and are left out. No CPU contention is modelled: the producer's own
 * event-loop delays, which a real run also has, are not in these figures.
 *
 * Usage: bun bench/producer-window-model.ts [--samples N=3000] [--seconds S=6] [--trace FILE] [--overwrite] [--measure-only] [--bursts-ms B]
 *   --trace FILE replays fdatasync durations (ms, one per line) instead of measuring them; measured traces are
 *   written to /tmp/fdatasync-trace-<pid>-<i>.txt for re-use (--measure-only: only that). --overwrite also
 *   measures, alternating with the appends, fdatasyncs of batches written over zeros prepared and synced
 *   beforehand (space prepared ahead of the log end), and runs the variants on both traces.
 *   --bursts-ms B: records arrive as a paced load sending on a timer sent them before 2026-12-05 (B ms of records
 *   at once, all stamped then, every B ms) instead of evenly.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import type { BrokerChannel, Dialer, RequestOptions } from "../src/client/connection.ts";
import type { Partitioner } from "../src/client/partitioner.ts";
import { Producer, type ProducerConfig } from "../src/client/producer.ts";
import { LatencyHistogram } from "../src/bench/latency-histogram.ts";
import { payloadPool, readStamp, stampTime } from "../src/bench/payloads.ts";
import { ManualClock } from "../src/platform/clock.ts";
import { ApiKey } from "../src/protocol/generated/index.ts";
import type { ProduceRequest, ProduceResponse } from "../src/protocol/generated/00_produce.ts";
import { RecordCursor } from "../src/protocol/record-batch.ts";

/** Records per second. */
const RATE = 100_000;
/** Value bytes per record (as the e2e bench). */
const RECORD_BYTES = 100;
/** Partitions of the topic (as the e2e bench). */
const PARTITIONS = 4;
/** Simulated time per step (ms); RATE * STEP_MS / 1000 records are sent per step. */
const STEP_MS = 0.05;
/** Records sent per step. */
const PER_STEP = (RATE * STEP_MS) / 1000;
/** Left out of the figures at the start (ms), as the bench's warm-up. */
const WARMUP_MS = 1000;
/** Bytes written before each measured fdatasync (one default batch.size). */
const TRACE_WRITE_BYTES = 16_384;

const { values: args } = parseArgs({
  options: { samples: { type: "string" }, seconds: { type: "string" }, trace: { type: "string" }, overwrite: { type: "boolean" }, "measure-only": { type: "boolean" }, "bursts-ms": { type: "string" } },
});
/** Records arrive in bursts of this many ms, all stamped at the burst's start (0: evenly, STEP_MS apart). */
const burstsMs = Number(args["bursts-ms"] ?? 0);
if (!(burstsMs >= 0)) throw new RangeError("--bursts-ms must be >= 0");
const seconds = Number(args.seconds ?? 6);

/**
 * fdatasync durations (ms) of one batch written and fdatasynced, `n` times: appended to a fresh file (what a segment
 * does), and, with `overwrite`, alternating with that, written over zeros that were written and fdatasynced
 * beforehand (what space prepared ahead of the log end gives: no file growth, so no journal commit for it), so that
 * both traces meet the same disk.
 */
function measureTraces(n: number, overwrite: boolean): { append: number[]; overwrite: number[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "window-model-"));
  const appendFd = fs.openSync(path.join(dir, "segment"), "w+");
  const overFd = overwrite ? fs.openSync(path.join(dir, "prepared"), "w+") : -1;
  const data = new Uint8Array(TRACE_WRITE_BYTES).fill(7);
  const out = { append: [] as number[], overwrite: [] as number[] };
  const timed = (fd: number) => {
    const t0 = performance.now();
    fs.fdatasyncSync(fd);
    return performance.now() - t0;
  };
  try {
    if (overwrite) {
      const zeros = new Uint8Array(1 << 20);
      for (let at = 0; at < n * TRACE_WRITE_BYTES; at += zeros.length) fs.writeSync(overFd, zeros, 0, zeros.length, at);
      fs.fdatasyncSync(overFd);
    }
    for (let i = 0; i < n; i++) {
      fs.writeSync(appendFd, data);
      out.append.push(timed(appendFd));
      if (overwrite) {
        fs.writeSync(overFd, data, 0, data.length, i * TRACE_WRITE_BYTES);
        out.overwrite.push(timed(overFd));
      }
    }
  } finally {
    fs.closeSync(appendFd);
    if (overFd >= 0) fs.closeSync(overFd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

/** The simulated broker's flush state of one partition. */
interface PartitionFlushes {
  /** End times (ms) of the flushes started and not yet over, oldest first. */
  running: number[];
  /** End time of the flush queued behind the running ones, or -1. */
  queuedEnd: number;
  /** Start time of the queued flush. */
  queuedStart: number;
}

/** A single broker answering Produce after modelled fdatasyncs; `answerAt` says when a request's response leaves. */
class ModelBroker {
  private readonly partitions: PartitionFlushes[] = [];
  private next = 0;
  private lastAnswerMs = 0;
  fdatasyncs = 0;

  constructor(
    private readonly trace: readonly number[],
    private readonly overlapping: number,
  ) {
    for (let p = 0; p < PARTITIONS; p++) this.partitions.push({ running: [], queuedEnd: -1, queuedStart: 0 });
  }

  private duration(): number {
    this.fdatasyncs++;
    return this.trace[this.next++ % this.trace.length];
  }

  /**
   * When a flush asked for at `now` on partition `p` completes. Data appended at `now` is never covered by a
   * flush already running (it started before the append), so the ask starts a flush (fewer than `overlapping`
   * running; it counts only after the earlier ones), shares the queued one (which starts later), or queues one that
   * starts when the latest running flush ends.
   */
  private flushDone(p: number, now: number): number {
    const f = this.partitions[p];
    if (f.queuedEnd >= 0 && f.queuedStart <= now) {
      f.running.push(f.queuedEnd);
      f.queuedEnd = -1;
    }
    f.running = f.running.filter((end) => end > now);
    const latest = f.running.length > 0 ? Math.max(...f.running) : now;
    if (f.running.length < this.overlapping) {
      const end = Math.max(now + this.duration(), latest);
      f.running.push(end);
      return end;
    }
    if (f.queuedEnd >= 0) return f.queuedEnd;
    f.queuedStart = latest;
    f.queuedEnd = latest + this.duration();
    return f.queuedEnd;
  }

  /** The time the response to a Produce arriving at `now` for `parts` leaves (in request order). */
  answerAt(parts: readonly number[], now: number): number {
    let at = now;
    for (const p of parts) at = Math.max(at, this.flushDone(p, now));
    at = Math.max(at, this.lastAnswerMs);
    this.lastAnswerMs = at;
    return at;
  }
}

/** Variant: producer settings and the broker's flush mode. */
interface Variant {
  name: string;
  lingerMs: number;
  overlapping: number;
  acksAll: boolean;
  /** Keyless records switch partition after batch.size value bytes even in mid-batch (the client before 0108d27). */
  midBatchSwitch?: boolean;
}

/** The sticky partitioning of the client before 0108d27: a switch after `batchSize` value bytes, full batch or not. */
class MidBatchSwitchPartitioner implements Partitioner {
  private current = -1;
  private bytes = 0;
  constructor(
    private readonly batchSize: number,
    private readonly random: () => number,
  ) {}
  partition(_topic: string, _key: Uint8Array | null, numPartitions: number): number {
    if (this.current < 0) {
      const previous = this.bytes < 0 ? -1 - this.bytes : -1;
      let p = Math.floor(this.random() * (numPartitions - 1));
      if (previous >= 0 && p >= previous) p++;
      this.current = p;
      this.bytes = 0;
    }
    return this.current;
  }
  onAppend(_topic: string, partition: number, bytes: number): void {
    if (partition !== this.current) return;
    this.bytes += bytes;
    if (this.bytes >= this.batchSize) {
      this.bytes = -1 - this.current;
      this.current = -1;
    }
  }
}

interface VariantResult {
  wait: ReturnType<LatencyHistogram["summary"]>;
  requestsPerSecond: number;
  windowFullPasses: number;
  fdatasyncs: number;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 8; i++) await Promise.resolve();
}

async function runVariant(v: Variant, trace: readonly number[]): Promise<VariantResult> {
  const clock = new ManualClock();
  const broker = new ModelBroker(trace, v.overlapping);
  const wait = new LatencyHistogram();
  const cursor = new RecordCursor();
  let requests = 0;
  let windowFull = 0;
  const topicId = new Uint8Array(16).fill(3);
  const channel = (nodeId: number): BrokerChannel => {
    let inFlight = 0;
    return {
      nodeId,
      address: "model:9092",
      closed: false,
      inFlight: () => inFlight,
      close() {},
      version: (apiKey: number) => (apiKey === ApiKey.Produce ? 12 : apiKey === ApiKey.Metadata ? 12 : -1),
      request<T>(apiKey: number, body: unknown, opts: RequestOptions = {}): Promise<T> {
        if (apiKey === ApiKey.Metadata) {
          const partitions = Array.from({ length: PARTITIONS }, (_, i) => ({ errorCode: 0, partitionIndex: i, leaderId: 1, leaderEpoch: 0, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] }));
          return Promise.resolve({ throttleTimeMs: 0, brokers: [{ nodeId: 1, host: "model", port: 9092, rack: null }], clusterId: "model", controllerId: 1, topics: [{ errorCode: 0, name: "t", topicId, isInternal: false, partitions }] } as T);
        }
        if (apiKey !== ApiKey.Produce) return Promise.reject(new Error(`model broker does not serve API ${apiKey}`));
        const now = clock.monotonicMs();
        const req = body as ProduceRequest;
        const parts: number[] = [];
        const responses: ProduceResponse["responses"] = [];
        for (const t of req.topicData) {
          const partitionResponses = [];
          for (const p of t.partitionData) {
            parts.push(p.index);
            const bytes = p.records as Uint8Array;
            const c = cursor.resetBatch(bytes, 0, bytes.length);
            while (c.next()) {
              const sent = readStamp(c.value()!);
              if (sent >= WARMUP_MS) wait.record(Math.round((now - sent) * 1000));
            }
            partitionResponses.push({ index: p.index, errorCode: 0, baseOffset: 0n, logAppendTimeMs: -1n, logStartOffset: 0n, recordErrors: [], errorMessage: null });
          }
          responses.push({ name: t.name, partitionResponses });
        }
        if (now >= WARMUP_MS) requests++;
        const res = { responses, throttleTimeMs: 0 } as T;
        if (opts.noResponse) return Promise.resolve(undefined as T);
        inFlight++;
        const at = v.acksAll ? broker.answerAt(parts, now) : now;
        return new Promise<T>((resolve) => {
          clock.setTimer(() => {
            inFlight--;
            resolve(res);
          }, at - now);
        });
      },
    };
  };
  const dial: Dialer = (_host, _port, nodeId) => Promise.resolve(channel(nodeId));
  const config: ProducerConfig = {
    bootstrap: "model:9092",
    dial,
    clock,
    acks: v.acksAll ? -1 : 1,
    lingerMs: v.lingerMs,
    random: () => 0.5,
    instrument: { requestSent() {}, timerFired() {}, windowFull: (at) => void (at >= WARMUP_MS && windowFull++) },
  };
  // The partitioner needs a random number generator that moves; a fixed one always picks the same next partition.
  let seed = 12345;
  config.random = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  if (v.midBatchSwitch === true) config.partitioner = new MidBatchSwitchPartitioner(16_384, config.random);
  const producer = new Producer(config);
  await producer.connect();
  await producer.cluster.waitForTopic("t", 1000);
  const pool = payloadPool(RECORD_BYTES);
  const value = new Uint8Array(RECORD_BYTES);
  const record = { topic: "t", value, key: null, timestamp: 1_700_000_000_000 };
  const steps = Math.round((seconds * 1000) / STEP_MS);
  let i = 0;
  const stepsPerBurst = burstsMs > 0 ? Math.max(1, Math.round(burstsMs / STEP_MS)) : 1;
  for (let s = 0; s < steps; s++) {
    const n = burstsMs === 0 ? PER_STEP : s % stepsPerBurst === 0 ? PER_STEP * stepsPerBurst : 0;
    for (let k = 0; k < n; k++) {
      value.set(pool[i++ % pool.length]);
      stampTime(value, burstsMs > 0 ? clock.monotonicMs() : clock.monotonicMs() + (k * STEP_MS) / PER_STEP);
      producer.sendAndForget(record);
    }
    await settle();
    clock.advance(STEP_MS);
    await settle();
  }
  // Drain: time moves on in the same steps until every record has been answered.
  let flushed = false;
  void producer.flush().then(() => (flushed = true));
  for (let s = 0; !flushed && s < 200_000; s++) {
    clock.advance(STEP_MS);
    await settle();
  }
  await producer.close({ timeoutMs: 0 });
  return { wait: wait.summary(), requestsPerSecond: requests / (seconds - WARMUP_MS / 1000), windowFullPasses: windowFull, fdatasyncs: broker.fdatasyncs };
}

const load = () => fs.readFileSync("/proc/loadavg", "utf8").split(" ")[0];
const traces: { label: string; trace: number[] }[] = [];
if (args.trace !== undefined) {
  traces.push({ label: `from ${args.trace}`, trace: fs.readFileSync(args.trace, "utf8").split("\n").filter((l) => l.trim() !== "").map(Number) });
} else {
  const loadBefore = load();
  const m = measureTraces(Number(args.samples ?? 3000), args.overwrite === true);
  const when = `measured now (load ${loadBefore} -> ${load()})`;
  traces.push({ label: `append, ${when}`, trace: m.append });
  if (args.overwrite === true) traces.push({ label: `overwrite of prepared zeros, interleaved with the append trace, ${when}`, trace: m.overwrite });
  for (const [i, t] of traces.entries()) fs.writeFileSync(`/tmp/fdatasync-trace-${process.pid}-${i}.txt`, t.trace.map((d) => d.toFixed(4)).join("\n") + "\n");
}
const all: Variant[] = [
  { name: "linger.ms 1, overlapping 1, mid-batch switch (before 0108d27)", lingerMs: 1, overlapping: 1, acksAll: true, midBatchSwitch: true },
  { name: "linger.ms 5, overlapping 1, mid-batch switch (before 0108d27)", lingerMs: 5, overlapping: 1, acksAll: true, midBatchSwitch: true },
  { name: "linger.ms 1, overlapping 1", lingerMs: 1, overlapping: 1, acksAll: true },
  { name: "linger.ms 5 (default), overlapping 1", lingerMs: 5, overlapping: 1, acksAll: true },
  { name: "linger.ms 1, overlapping 2", lingerMs: 1, overlapping: 2, acksAll: true },
  { name: "linger.ms 5 (default), overlapping 2", lingerMs: 5, overlapping: 2, acksAll: true },
  { name: "linger.ms 1, acks=1 (no fdatasync wait)", lingerMs: 1, overlapping: 1, acksAll: false },
  { name: "linger.ms 5 (default), acks=1", lingerMs: 5, overlapping: 1, acksAll: false },
  { name: "linger.ms 5, acks=1, mid-batch switch (before 0108d27)", lingerMs: 5, overlapping: 1, acksAll: false, midBatchSwitch: true },
];
for (const { label, trace } of traces) {
  const sorted = [...trace].sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))].toFixed(2);
  console.log(`fdatasync trace: ${trace.length} samples ${label}: p50 ${pct(50)} p90 ${pct(90)} p99 ${pct(99)} max ${sorted[sorted.length - 1].toFixed(2)} ms`);
  if (args["measure-only"] === true) continue;
  console.log("| variant | records' wait in the producer p50 / p99 / p99.9 / max (ms) | Produce requests/s | sender passes finding the window full | fdatasyncs |");
  console.log("|---|---|---|---|---|");
  for (const v of all) {
    const r = await runVariant(v, trace);
    const w = r.wait;
    console.log(`| ${v.name} | ${w.p50.toFixed(2)} / ${w.p99.toFixed(2)} / ${w.p999.toFixed(2)} / ${w.max.toFixed(2)} | ${Math.round(r.requestsPerSecond)} | ${r.windowFullPasses} | ${r.fdatasyncs} |`);
  }
}
