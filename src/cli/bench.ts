/**
 * `runnel bench produce|consume|e2e`: load tests against any Kafka-protocol broker, reporting what
 * kafka-producer-perf-test, kafka-consumer-perf-test and `rpk` report: records/s, MB/s and latency percentiles
 * (p50, p90, p99, p99.9, max) from an HDR-style histogram. A progress line goes to stderr every second; the final
 * report goes to stdout, as text or (`--json`) as one JSON document.
 */
import { parseArgs } from "node:util";
import { type BenchReport, formatReport, sideReport } from "../bench/bench-report.ts";
import { awaitPositions, type ConsumeLoadSettings, type ConsumeStop, connectConsumers, DrainStop, recordsInTopic, runConsumeLoad } from "../bench/consume-load.ts";
import { DEFAULT_PROGRESS_INTERVAL_MS, LoadMeter, startProgress } from "../bench/load-meter.ts";
import { type BrokerWindow, openBrokerWindow } from "../bench/broker-phases.ts";
import { consumerBreakdown, e2eBreakdown, LoopLagProbe, ReceiveTiming, SenderTiming } from "../bench/e2e-breakdown.ts";
import { E2E_DRAIN_MS, E2E_POSITIONS_TIMEOUT_MS, runE2eConsumerChild, startE2eConsumerProcess } from "../bench/e2e-consumer-process.ts";
import { COMPRESSION_CODECS, connectProducers, ensureTopic, type ProduceLoadSettings, runProduceLoad, type StopFlag } from "../bench/produce-load.ts";
import { ALLOCATOR_PURGE_DELAY_ENV, execWithAllocatorPurgeDelay } from "../platform/allocator-settings.ts";
import { CLIENT_FLAGS, CLIENT_FLAGS_HELP, clusterOptions, intFlag, runCommand, UsageError } from "./client-flags.ts";

/** Help text for `runnel bench`. */
export const BENCH_USAGE = `Usage: runnel bench produce|consume|e2e [options]

  produce   Send records as fast as possible (or at --throughput) and report records/s, MB/s and send-to-ack latency
  consume   Read a topic (by default everything in it now) and report records/s and MB/s
  e2e       Produce at --throughput while consuming; report end-to-end latency (send to receive). The consumers
            run in a process of their own (this same runnel, as \`bench e2e-consumer\`) unless --in-process

Common options:
  -t, --topic NAME               Topic (default runnel-bench; created with --partitions if missing)
  -P, --partitions N             Partitions of a topic this command creates (default 4)
      --json                     Print the final report as JSON
      --progress-ms MS           Progress line interval on stderr (default 1000; 0: none)
      --broker-metrics URL       Read this Runnel /metrics page before and after the measured part (after
                                 --warmup) and report the broker's request phases for that part (produce, e2e)
      --in-process               e2e: consume in this process instead of a child process
${CLIENT_FLAGS_HELP}

Producer options (produce, e2e):
  -n, --records N                Records to send (default 1000000; e2e: --throughput x 10 s)
  -s, --record-size BYTES        Value size (default 100)
      --duration S               Stop sending after S seconds (default: no limit)
      --throughput N             Target records/s, 0 for as fast as possible (default 0; e2e: 10000)
      --producers N              Producers, each with its own connection (default 1)
      --acks ACKS                0, 1 or all (default all)
      --batch-size BYTES         batch.size (default 16384)
      --linger-ms MS             linger.ms (default 5)
  -z, --compression CODEC        none, gzip, snappy, lz4 or zstd (default none)
      --max-in-flight N          max.in.flight.requests.per.connection (default 5)
      --buffer-memory BYTES      buffer.memory (default 33554432)
      --max-request-size BYTES   max.request.size (default the larger of 1048576 and batch.size)
      --latency-every N          Time one record in every N (default 1: every record)
      --warmup S                 Leave the first S seconds out of the final latency percentiles (default 0)

Consumer options (consume, e2e):
  -n, --records N                Records to read (consume; default: all records in the topic at the start)
      --consumers N              Consumers (default 1); partitions are assigned round-robin
  -g, --group ID                 Join consumer group ID instead of assigning partitions
      --from-end                 consume: start at the log end instead of the log start
      --timeout MS               consume: stop after MS without a record (default 10000)
      --fetch-min-bytes N        fetch.min.bytes (default 1)
      --fetch-max-wait-ms MS     fetch.max.wait.ms (default 500; e2e: 100)
      --fetch-max-bytes N        fetch.max.bytes (default 52428800)
      --max-partition-fetch-bytes N  max.partition.fetch.bytes (default 1048576)
      --max-poll-records N       max.poll.records (default 500)

Examples:
  runnel bench produce -n 2000000 -s 100 --acks 1 --batch-size 262144 --linger-ms 5
  runnel bench consume -t runnel-bench --json
  runnel bench e2e --throughput 100000 --duration 5 --acks all`;

/** Default e2e duration when neither --records nor --duration is given (s). */
const E2E_DEFAULT_SECONDS = 10;
const DEFAULT_TOPIC = "runnel-bench";

type Values = Record<string, string | boolean | undefined>;

function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}

function int(values: Values, name: string, fallback: number, min = 0): number {
  return intFlag(name, str(values, name), min) ?? fallback;
}

function produceSettings(values: Values, kind: "produce" | "e2e", bootstrap: string, clientId: string, topic: string): ProduceLoadSettings {
  const compression = str(values, "compression") ?? "none";
  if (!(COMPRESSION_CODECS as readonly string[]).includes(compression)) throw new UsageError(`--compression must be one of ${COMPRESSION_CODECS.join(", ")}, got '${compression}'`);
  const acksText = str(values, "acks") ?? "all";
  const acks = acksText === "all" || acksText === "-1" ? -1 : acksText === "1" ? 1 : acksText === "0" ? 0 : null;
  if (acks === null) throw new UsageError(`--acks must be 0, 1 or all, got '${acksText}'`);
  if (kind === "e2e" && acks === 0) throw new UsageError("e2e needs acks 1 or all");
  const throughput = int(values, "throughput", kind === "e2e" ? 10_000 : 0);
  const durationS = Number(str(values, "duration") ?? "0");
  if (!(durationS >= 0)) throw new UsageError(`--duration expects seconds >= 0, got '${str(values, "duration")}'`);
  let records = intFlag("records", str(values, "records"), 1);
  if (records === undefined) {
    if (kind === "e2e") records = durationS > 0 ? Number.MAX_SAFE_INTEGER : Math.max(1, throughput) * E2E_DEFAULT_SECONDS;
    else records = durationS > 0 ? Number.MAX_SAFE_INTEGER : 1_000_000;
  }
  const batchSize = int(values, "batch-size", 16_384, 100);
  const recordSize = int(values, "record-size", 100);
  if (kind === "e2e" && recordSize < 8) throw new UsageError("e2e needs --record-size >= 8 (the send time is stamped into each value)");
  return {
    bootstrap,
    clientId,
    topic,
    records,
    durationMs: durationS * 1000,
    recordSize,
    producers: int(values, "producers", 1, 1),
    batchSize,
    lingerMs: int(values, "linger-ms", 5),
    compression: compression as ProduceLoadSettings["compression"],
    acks,
    throughput,
    maxInFlight: int(values, "max-in-flight", 5, 1),
    bufferMemory: int(values, "buffer-memory", 32 * 1024 * 1024, batchSize),
    maxRequestSize: int(values, "max-request-size", Math.max(1_048_576, batchSize + 1024), 1024),
    latencyEvery: int(values, "latency-every", 1, 1),
    stamp: kind === "e2e",
  };
}

function consumeSettings(values: Values, kind: "consume" | "e2e", bootstrap: string, clientId: string, topic: string): ConsumeLoadSettings {
  return {
    bootstrap,
    clientId,
    topic,
    consumers: int(values, "consumers", 1, 1),
    group: str(values, "group") ?? null,
    fromEnd: kind === "e2e" || values["from-end"] === true,
    fetchMinBytes: int(values, "fetch-min-bytes", 1),
    fetchMaxWaitMs: int(values, "fetch-max-wait-ms", kind === "e2e" ? 100 : 500),
    fetchMaxBytes: int(values, "fetch-max-bytes", 52_428_800, 1),
    maxPartitionFetchBytes: int(values, "max-partition-fetch-bytes", 1_048_576, 1),
    maxPollRecords: int(values, "max-poll-records", 500, 1),
  };
}

/** Runs `runnel bench`; returns the exit code. */
export function benchCommand(argv: string[]): Promise<number> {
  if (argv[0] === "e2e-consumer" && argv.length === 2) return runE2eConsumerChild(argv[1], progressWriter);
  // The load processes run with the allocator's purge delay (src/platform/allocator-settings.ts): on Bun the
  // process re-executes itself with it once, before anything is opened; the e2e consumer process inherits it.
  if (argv[0] === "produce" || argv[0] === "consume" || argv[0] === "e2e") execWithAllocatorPurgeDelay();
  return runCommand("bench", BENCH_USAGE, async () => {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        ...CLIENT_FLAGS,
        topic: { type: "string", short: "t" },
        partitions: { type: "string", short: "P" },
        json: { type: "boolean" },
        "progress-ms": { type: "string" },
        "broker-metrics": { type: "string" },
        "in-process": { type: "boolean" },
        records: { type: "string", short: "n" },
        "record-size": { type: "string", short: "s" },
        duration: { type: "string" },
        warmup: { type: "string" },
        throughput: { type: "string" },
        producers: { type: "string" },
        acks: { type: "string" },
        "batch-size": { type: "string" },
        "linger-ms": { type: "string" },
        compression: { type: "string", short: "z" },
        "max-in-flight": { type: "string" },
        "buffer-memory": { type: "string" },
        "max-request-size": { type: "string" },
        "latency-every": { type: "string" },
        consumers: { type: "string" },
        group: { type: "string", short: "g" },
        "from-end": { type: "boolean" },
        timeout: { type: "string" },
        "fetch-min-bytes": { type: "string" },
        "fetch-max-wait-ms": { type: "string" },
        "fetch-max-bytes": { type: "string" },
        "max-partition-fetch-bytes": { type: "string" },
        "max-poll-records": { type: "string" },
      },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      console.log(BENCH_USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? "bench needs produce, consume or e2e" : "bench takes exactly one of produce, consume or e2e");
    const kind = positionals[0];
    if (kind !== "produce" && kind !== "consume" && kind !== "e2e") throw new UsageError(`unknown bench '${kind}': expected produce, consume or e2e`);
    const v = values as Values;
    const { bootstrap: bs, clientId: cid } = clusterOptions(values);
    const bootstrap = typeof bs === "string" ? bs : bs.join(",");
    const clientId = cid ?? "runnel-cli";
    const topic = values.topic ?? DEFAULT_TOPIC;
    const partitions = int(v, "partitions", 4, 1);
    const progressMs = int(v, "progress-ms", DEFAULT_PROGRESS_INTERVAL_MS);
    const idleMs = int(v, "timeout", 10_000);
    const warmupS = Number(str(v, "warmup") ?? "0");
    if (!(warmupS >= 0)) throw new UsageError(`--warmup expects seconds >= 0, got '${str(v, "warmup")}'`);
    // Parse everything before touching the network, so usage errors come first.
    const prod = kind === "consume" ? null : produceSettings(v, kind, bootstrap, clientId, topic);
    const cons = kind === "produce" ? null : consumeSettings(v, kind, bootstrap, clientId, topic);
    const consumeRecords = kind === "consume" ? intFlag("records", str(v, "records"), 1) : undefined;
    const brokerMetrics = str(v, "broker-metrics") ?? null;
    if (brokerMetrics !== null && kind === "consume") throw new UsageError("--broker-metrics is for produce and e2e");
    const inProcess = values["in-process"] === true;
    const stop: StopFlag = { stopped: false };
    const onSignal = () => {
      stop.stopped = true;
    };
    process.on("SIGINT", onSignal);
    try {
      if (kind !== "consume") await ensureTopic(bootstrap, clientId, topic, partitions);
      const report =
        kind === "produce"
          ? await benchProduce(prod!, progressMs, stop, warmupS, brokerMetrics)
          : kind === "consume"
            ? await benchConsume(cons!, consumeRecords ?? (await recordsInTopic(bootstrap, clientId, topic)), idleMs, progressMs, stop)
            : inProcess
              ? await benchE2e(prod!, cons!, progressMs, stop, warmupS, brokerMetrics)
              : await benchE2eTwoProcesses(prod!, cons!, progressMs, stop, warmupS, brokerMetrics);
      report.settings = { topic, partitions, ...report.settings };
      process.stdout.write(values.json ? JSON.stringify(report, null, 2) + "\n" : formatReport(report));
      const failed = (report.produce?.errors ?? 0) > 0;
      const empty = kind !== "produce" && (report.consume?.records ?? 0) === 0;
      if (empty) console.error("runnel bench: no records were consumed");
      return failed || empty ? 1 : 0;
    } finally {
      process.off("SIGINT", onSignal);
    }
  });
}

function progressWriter(line: string): void {
  process.stderr.write(line + "\n");
}

function produceSettingsReport(s: ProduceLoadSettings): Record<string, string | number | boolean | null> {
  return {
    records: s.records === Number.MAX_SAFE_INTEGER ? null : s.records,
    durationS: s.durationMs > 0 ? s.durationMs / 1000 : null,
    recordSize: s.recordSize,
    producers: s.producers,
    acks: s.acks === -1 ? "all" : s.acks,
    batchSize: s.batchSize,
    lingerMs: s.lingerMs,
    compression: s.compression,
    throughput: s.throughput > 0 ? s.throughput : null,
    maxInFlight: s.maxInFlight,
    bufferMemory: s.bufferMemory,
    latencyEvery: s.latencyEvery,
    allocatorPurgeDelayMs: process.env[ALLOCATOR_PURGE_DELAY_ENV] ?? null,
  };
}

function consumeSettingsReport(s: ConsumeLoadSettings): Record<string, string | number | boolean | null> {
  return {
    consumers: s.consumers,
    group: s.group,
    fetchMinBytes: s.fetchMinBytes,
    fetchMaxWaitMs: s.fetchMaxWaitMs,
    fetchMaxBytes: s.fetchMaxBytes,
    maxPartitionFetchBytes: s.maxPartitionFetchBytes,
    maxPollRecords: s.maxPollRecords,
  };
}

async function benchProduce(s: ProduceLoadSettings, progressMs: number, stop: StopFlag, warmupS: number, brokerMetrics: string | null): Promise<BenchReport> {
  const producers = await connectProducers(s);
  const meter = new LoadMeter();
  let progress = startProgress([], 0, progressWriter);
  let window: BrokerWindow | null = null;
  try {
    window = brokerMetrics === null ? null : await openBrokerWindow(brokerMetrics, warmupS);
    if (warmupS > 0) meter.measureFromMs = performance.now() + warmupS * 1000;
    progress = startProgress([{ name: "produce", meter }], progressMs, progressWriter);
    const r = await runProduceLoad(s, producers, meter, stop);
    return {
      kind: "produce",
      settings: produceSettingsReport(s),
      produce: sideReport(r.records, r.bytes, r.seconds, r.errors, r.firstError, meter.latency.summary()),
      consume: null,
      e2eLatencyMs: null,
      broker: await window?.finish(),
    };
  } finally {
    window?.cancel();
    progress.stop();
    await Promise.all(producers.map((p) => p.close({ timeoutMs: 5000 })));
  }
}

async function benchConsume(s: ConsumeLoadSettings, records: number, idleMs: number, progressMs: number, stop: StopFlag): Promise<BenchReport> {
  const consumers = await connectConsumers(s);
  const meter = new LoadMeter();
  const progress = startProgress([{ name: "consume", meter }], progressMs, progressWriter);
  const until: ConsumeStop = {
    get stopped() {
      return stop.stopped;
    },
    records,
    durationMs: 0,
    idleMs,
  };
  try {
    const r = await runConsumeLoad(consumers, meter, until, null);
    return {
      kind: "consume",
      settings: { records, ...consumeSettingsReport(s) },
      produce: null,
      consume: sideReport(r.records, r.bytes, r.seconds, 0, null, null),
      e2eLatencyMs: null,
    };
  } finally {
    progress.stop();
    await Promise.all(consumers.map((c) => c.close().catch(() => {})));
  }
}

/** e2e with the consumers in a child process (the default). */
async function benchE2eTwoProcesses(ps: ProduceLoadSettings, cs: ConsumeLoadSettings, progressMs: number, stop: StopFlag, warmupS: number, brokerMetrics: string | null): Promise<BenchReport> {
  const child = startE2eConsumerProcess({ consume: cs, warmupS, progressMs });
  let producers: Awaited<ReturnType<typeof connectProducers>> = [];
  const sent = new LoadMeter();
  const timing = new SenderTiming(ps.lingerMs, Infinity);
  let loop: LoopLagProbe | null = null;
  let progress = startProgress([], 0, progressWriter);
  let window: BrokerWindow | null = null;
  try {
    await child.ready;
    producers = await connectProducers(ps, timing);
    const clockErrorMs = await child.syncClocks();
    window = brokerMetrics === null ? null : await openBrokerWindow(brokerMetrics, warmupS);
    if (warmupS > 0) sent.measureFromMs = performance.now() + warmupS * 1000;
    timing.measureFromMs = sent.measureFromMs;
    loop = new LoopLagProbe(sent.measureFromMs);
    loop.start();
    child.go();
    progress = startProgress([{ name: "produce", meter: sent }], progressMs, progressWriter);
    const p = await runProduceLoad(ps, producers, sent, stop);
    const c = await child.finish(p.records);
    loop.stop();
    return {
      kind: "e2e",
      settings: { ...produceSettingsReport(ps), ...consumeSettingsReport(cs), warmupS, consumerProcess: true, clockSyncErrorMs: Math.round(clockErrorMs * 1000) / 1000 },
      produce: sideReport(p.records, p.bytes, p.seconds, p.errors, p.firstError, sent.latency.summary()),
      consume: sideReport(c.records, c.bytes, c.seconds, 0, null, null),
      e2eLatencyMs: c.latency,
      e2eBreakdownMs: e2eBreakdown(timing, loop, c.breakdown),
      broker: await window?.finish(),
    };
  } finally {
    window?.cancel();
    loop?.stop();
    progress.stop();
    await Promise.all(producers.map((p) => p.close({ timeoutMs: 5000 })));
    await child.stop();
  }
}

/** e2e with producers and consumers on this process's one thread (`--in-process`). */
async function benchE2e(ps: ProduceLoadSettings, cs: ConsumeLoadSettings, progressMs: number, stop: StopFlag, warmupS: number, brokerMetrics: string | null): Promise<BenchReport> {
  const consumers = await connectConsumers(cs);
  let producers: Awaited<ReturnType<typeof connectProducers>> = [];
  const sent = new LoadMeter();
  const received = new LoadMeter();
  const until = new DrainStop(E2E_DRAIN_MS);
  const timing = new SenderTiming(ps.lingerMs, Infinity);
  const receiving = new ReceiveTiming();
  let loop: LoopLagProbe | null = null;
  let progress = startProgress([], 0, progressWriter);
  let window: BrokerWindow | null = null;
  try {
    await awaitPositions(consumers, E2E_POSITIONS_TIMEOUT_MS);
    producers = await connectProducers(ps, timing);
    window = brokerMetrics === null ? null : await openBrokerWindow(brokerMetrics, warmupS);
    if (warmupS > 0) sent.measureFromMs = received.measureFromMs = performance.now() + warmupS * 1000;
    timing.measureFromMs = sent.measureFromMs;
    loop = new LoopLagProbe(sent.measureFromMs);
    loop.start();
    progress = startProgress(
      [
        { name: "produce", meter: sent },
        { name: "e2e", meter: received },
      ],
      progressMs,
      progressWriter,
    );
    const consuming = runConsumeLoad(consumers, received, until, 0, receiving);
    const p = await runProduceLoad(ps, producers, sent, stop);
    // Everything acknowledged should arrive; wait a bounded time for it.
    until.expect(p.records);
    const c = await consuming;
    loop.stop();
    const lag = consumerBreakdown(receiving, loop);
    return {
      kind: "e2e",
      settings: { ...produceSettingsReport(ps), ...consumeSettingsReport(cs), warmupS, consumerProcess: false },
      produce: sideReport(p.records, p.bytes, p.seconds, p.errors, p.firstError, sent.latency.summary()),
      consume: sideReport(c.records, c.bytes, c.seconds, 0, null, null),
      e2eLatencyMs: received.latency.summary(),
      e2eBreakdownMs: e2eBreakdown(timing, loop, lag),
      broker: await window?.finish(),
    };
  } finally {
    window?.cancel();
    loop?.stop();
    until.stop();
    progress.stop();
    await Promise.all(producers.map((p) => p.close({ timeoutMs: 5000 })));
    await Promise.all(consumers.map((c) => c.close().catch(() => {})));
  }
}
