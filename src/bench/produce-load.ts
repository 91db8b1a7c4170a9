/**
 * The producing side of `runnel bench`: one or more Runnel producers send fixed-size records from a payload pool
 * as fast as they can, or paced to a target rate, and the meter counts acknowledged records and samples the
 * send-to-acknowledgement latency (like kafka-producer-perf-test, which times every record's callback).
 *
 * The send loop allocates nothing per record besides what the producer's callback style needs for sampled
 * records: one record object is reused, values come from the pool (or one scratch buffer that carries a send-time
 * stamp for end-to-end runs; the producer copies each value into its batch before `send` returns). The loop
 * yields to the event loop every few milliseconds so responses are read while it runs.
 *
 * A paced loop reads the clock once per record: the reading that found the record due is its send time, used for
 * the end-to-end stamp, the send-to-acknowledgement sample and the record's timestamp (which the producer would
 * otherwise read from the wall clock). A clock read costs ~45 ns on this machine (bench/results/tail-latency.md,
 * eleventh round), and a paced e2e run made six per record.
 */
import { Admin } from "../client/admin.ts";
import { Producer, type ProducerConfig, type ProducerInstrument, type ProducerRecord } from "../client/producer.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import type { LoadMeter } from "./load-meter.ts";
import { payloadPool, STAMP_BYTES, stampTime } from "./payloads.ts";

/** Most producers one bench process runs. */
export const MAX_PRODUCERS = 64;
/**
 * Longest a paced send loop runs without yielding to the event loop (ms): timers (the producer's linger) and socket
 * reads (acknowledgements that free the in-flight window) wait this long at most while it catches up.
 */
const PACED_YIELD_EVERY_MS = 0.5;
/**
 * The same for an unpaced (as fast as possible) loop, which measures throughput: yielding as often as a paced one
 * costs it about 12% of its records per second (16 KiB batches of 1 KiB records), and latency is not its figure.
 */
const FLAT_OUT_YIELD_EVERY_MS = 2;
/**
 * Records a paced send loop appends between microtask yields, so a batch that filled (or a new batch's timer) is
 * handed to the producer's sender within a few microseconds instead of when the loop next sleeps.
 */
const MICROTASK_YIELD_EVERY = 16;
/** How many records the loop sends between clock reads when unpaced. */
const CLOCK_CHECK_EVERY = 64;
/**
 * How far ahead of the pacing schedule a paced loop sleeps on a timer (ms), waking this long before the next record
 * is due: Bun and Deno fire even a 0 ms timer after about 1.1 ms, so a timer sleep is only taken when the schedule
 * is further ahead than that.
 */
const PACING_TIMER_MIN_MS = 2;
/**
 * Pause of a paced loop that is less than a timer tick ahead (ms): the thread blocks this long, then the event loop
 * runs once (socket reads, the linger timer), then every record due by then is sent. Blocking is not free: each
 * sleep and wake-up costs the process ~30-40 us of CPU on this VM (Atomics.wait and a libc usleep alike), so the
 * pause sets how often that is paid. With 0.1 ms (until 2026-12-06; ~0.2 ms in fact, the kernel's timer slack
 * added) the producer of a 100K records/s e2e run woke ~2,600 times a second; with 0.3 ms ~1,500 times, ~40 records
 * per pause, and its CPU fell by ~0.2 s per 6-s run (bench/results/tail-latency.md, eleventh round). The records of
 * one pause still leave within ~0.5 ms, well inside a 16 KiB batch's fill time of 100-byte records at that rate
 * (~1.5 ms), and each is stamped when it is sent.
 * Before 2026-12-05 the loop sent every record due within the next 1 ms at once and then slept on a timer
 * (1.1 ms or later): a record at the end of such a burst waited in its batch for the next burst, up to two timer
 * ticks, which put the producer's batch age p99 at ~3 ms at 100K records/s (bench/results/tail-latency.md).
 */
const PACING_PAUSE_MS = 0.3;
/** How long to wait for the topic's metadata (the Java producer's `max.block.ms` default; Kafka may take seconds to lead 1,000 new partitions). */
const TOPIC_WAIT_MS = 60_000;

/** Compression codecs the producer supports. */
export const COMPRESSION_CODECS = ["none", "gzip", "snappy", "lz4", "zstd"] as const;

/** Settings of a produce load. */
export interface ProduceLoadSettings {
  /** Bootstrap servers. */
  bootstrap: string;
  /** client.id. */
  clientId: string;
  /** Topic. */
  topic: string;
  /** Records to send in total (an upper bound when `durationMs` is set). */
  records: number;
  /** Stop sending after this long (ms); 0 for no limit. */
  durationMs: number;
  /** Value size in bytes. */
  recordSize: number;
  /** Producers (each with its own connections). */
  producers: number;
  /** batch.size. */
  batchSize: number;
  /** linger.ms. */
  lingerMs: number;
  /** compression.type. */
  compression: (typeof COMPRESSION_CODECS)[number];
  /** acks: 0, 1 or -1 (all). */
  acks: 0 | 1 | -1;
  /** Target records/s over all producers; 0 for as fast as possible. */
  throughput: number;
  /** max.in.flight.requests.per.connection. */
  maxInFlight: number;
  /** buffer.memory. */
  bufferMemory: number;
  /** max.request.size. */
  maxRequestSize: number;
  /** Time the send-to-ack latency of one record in every this many (1: every record). */
  latencyEvery: number;
  /** Stamp the send time into each value (for end-to-end latency); needs records of at least 8 bytes. */
  stamp: boolean;
}

/** The outcome of a produce load. */
export interface ProduceLoadResult {
  /** Records acknowledged. */
  records: number;
  /** Value bytes acknowledged. */
  bytes: number;
  /** Records that failed. */
  errors: number;
  /** First failure message, or null. */
  firstError: string | null;
  /** From the first send to the last acknowledgement (s). */
  seconds: number;
  /** performance.now() when sending started: a paced load sends record i (in send order) at this + i/rate, not before. */
  startedAtMs: number;
}

/** Creates `topic` with `partitions` partitions unless it exists, waits until every partition has a leader; returns its partition count. */
export async function ensureTopic(bootstrap: string, clientId: string, topic: string, partitions: number, configs: Record<string, string> = {}): Promise<number> {
  const admin = new Admin({ bootstrap, clientId });
  try {
    await admin.connect();
    try {
      await admin.createTopics([{ name: topic, numPartitions: partitions, replicationFactor: 1, configs }]);
    } catch (e) {
      if (!(e instanceof KafkaError && e.code === ErrorCode.TOPIC_ALREADY_EXISTS)) throw e;
    }
    // Kafka creates topics asynchronously: until its controller is done and the metadata has reached the broker,
    // Metadata answers UNKNOWN_TOPIC_OR_PARTITION or LEADER_NOT_AVAILABLE; wait through both (retriable).
    const info = await admin.cluster.waitForTopic(topic, TOPIC_WAIT_MS);
    return info.partitions.length;
  } finally {
    await admin.close();
  }
}

/** What a paced send loop does when its next record is due `aheadMs` from now (negative: overdue). */
export type PacingWait = { readonly kind: "send" } | { kind: "timer"; ms: number } | { kind: "pause"; ms: number };

/** The answer for a record that is due (one object for every record). */
const SEND_NOW: PacingWait = { kind: "send" };

/**
 * A paced loop's next step: send when the record is due, sleep on a timer when the schedule is more than
 * PACING_TIMER_MIN_MS ahead (waking a timer tick early), and otherwise pause the thread for PACING_PAUSE_MS, so
 * records leave spread over time as an application's would, not a timer tick's worth at once.
 */
export function pacingWait(aheadMs: number): PacingWait {
  if (aheadMs <= 0) return SEND_NOW;
  if (aheadMs >= PACING_TIMER_MIN_MS) return { kind: "timer", ms: aheadMs - PACING_TIMER_MIN_MS / 2 };
  return { kind: "pause", ms: PACING_PAUSE_MS };
}

const pauseCell = new Int32Array(new SharedArrayBuffer(4));
let pauseEndedAtMs = -Infinity;

/**
 * Blocks the thread for `ms` (sub-millisecond; nothing wakes it early), unless it ended such a pause less than half
 * of it ago: several producers' loops of one process, run in the same event-loop turn, share one pause.
 */
function pauseThread(ms: number): void {
  if (performance.now() - pauseEndedAtMs < ms / 2) return;
  Atomics.wait(pauseCell, 0, 0, ms);
  pauseEndedAtMs = performance.now();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

let ackAtMs = -1;
const forgetAckTime = (): void => {
  ackAtMs = -1;
};

/**
 * performance.now() for a record's acknowledgement: read once for all the record callbacks that one Produce
 * response fires (the producer calls them in one synchronous loop) and forgotten at the next microtask checkpoint.
 */
function ackNowMs(): number {
  if (ackAtMs < 0) {
    ackAtMs = performance.now();
    queueMicrotask(forgetAckTime);
  }
  return ackAtMs;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A flag the caller sets to end a load early (e.g. on SIGINT). */
export interface StopFlag {
  /** True once the load should stop sending. */
  stopped: boolean;
}

/** Connects producers with `s`'s settings (not yet sending), each observed by `instrument` when given. */
export async function connectProducers(s: ProduceLoadSettings, instrument?: ProducerInstrument): Promise<Producer[]> {
  if (!Number.isInteger(s.producers) || s.producers < 1 || s.producers > MAX_PRODUCERS) throw new RangeError(`producers must be 1..${MAX_PRODUCERS}`);
  const config: ProducerConfig = {
    bootstrap: s.bootstrap,
    clientId: s.clientId,
    acks: s.acks,
    batchSize: s.batchSize,
    lingerMs: s.lingerMs,
    compressionType: s.compression,
    maxInFlightRequestsPerConnection: s.maxInFlight,
    bufferMemory: s.bufferMemory,
    maxRequestSize: s.maxRequestSize,
    instrument,
  };
  const producers: Producer[] = [];
  try {
    for (let i = 0; i < s.producers; i++) {
      const p = new Producer({ ...config, clientId: `${s.clientId}-${i}` });
      producers.push(p);
      await p.connect();
      await p.cluster.waitForTopic(s.topic, TOPIC_WAIT_MS);
    }
  } catch (e) {
    await Promise.all(producers.map((p) => p.close({ timeoutMs: 0 })));
    throw e;
  }
  return producers;
}

/** Runs the load on connected producers, then flushes them; the caller closes them. */
export async function runProduceLoad(s: ProduceLoadSettings, producers: readonly Producer[], meter: LoadMeter, stop: StopFlag): Promise<ProduceLoadResult> {
  if (s.stamp && s.recordSize < STAMP_BYTES) throw new RangeError(`end-to-end runs need records of at least ${STAMP_BYTES} bytes`);
  if (!(s.latencyEvery >= 1)) throw new RangeError("latencyEvery must be >= 1");
  const pool = payloadPool(s.recordSize);
  const start = performance.now();
  const deadline = s.durationMs > 0 ? start + s.durationMs : Infinity;
  const n = producers.length;
  const loops = producers.map((p, i) => {
    const share = Math.floor(s.records / n) + (i < s.records % n ? 1 : 0);
    return sendLoop(s, p, share, s.throughput > 0 ? s.throughput / n : 0, pool, i, start, deadline, meter, stop);
  });
  await Promise.all(loops);
  await Promise.all(producers.map((p) => p.flush()));
  const seconds = (performance.now() - start) / 1000;
  // Records sent without a callback were counted as acknowledged with the next sampled one; take out failures.
  for (const p of producers) {
    if (p.failedRecords > 0) {
      meter.errors += p.failedRecords;
      meter.count(-p.failedRecords, -p.failedRecords * s.recordSize);
      meter.firstError ??= p.lastError;
    }
  }
  return { records: meter.records, bytes: meter.bytes, errors: meter.errors, firstError: meter.firstError?.message ?? null, seconds, startedAtMs: start };
}

async function sendLoop(
  s: ProduceLoadSettings,
  p: Producer,
  share: number,
  rate: number,
  pool: readonly Uint8Array[],
  offset: number,
  start: number,
  deadline: number,
  meter: LoadMeter,
  stop: StopFlag,
): Promise<void> {
  const size = s.recordSize;
  const record: ProducerRecord = { topic: s.topic, value: pool[0], key: null };
  let scratch: Uint8Array | null = s.stamp ? new Uint8Array(size) : null;
  let lastYield = performance.now();
  let unsampled = 0;
  const every = s.latencyEvery;
  const origin = performance.timeOrigin;
  for (let i = 0; i < share; i++) {
    // The record's send time (performance.now()), when the loop read the clock for it.
    let sendAtMs = -1;
    if (rate > 0) {
      // Paced: send record i at start + i/rate, not before (see pacingWait).
      const due = start + (i * 1000) / rate;
      let now = performance.now();
      if (now >= deadline || stop.stopped) break;
      for (let wait = pacingWait(due - now); wait.kind !== "send"; wait = pacingWait(due - now)) {
        if (wait.kind === "timer") await sleep(wait.ms);
        else {
          pauseThread(wait.ms);
          await yieldToEventLoop();
        }
        lastYield = now = performance.now();
        if (now >= deadline || stop.stopped) break;
      }
      if (now >= deadline || stop.stopped) break;
      if (now - lastYield >= PACED_YIELD_EVERY_MS) {
        await yieldToEventLoop();
        lastYield = now = performance.now();
      }
      sendAtMs = now;
    } else if (i % CLOCK_CHECK_EVERY === 0) {
      const now = performance.now();
      if (now >= deadline || stop.stopped) break;
      if (now - lastYield >= FLAT_OUT_YIELD_EVERY_MS) {
        await yieldToEventLoop();
        lastYield = performance.now();
      }
    }
    const payload = pool[(i + offset) % pool.length];
    let value = payload;
    const sampled = ++unsampled >= every;
    if (sendAtMs < 0 && (scratch !== null || sampled)) sendAtMs = performance.now();
    if (scratch !== null) {
      scratch.set(payload);
      stampTime(scratch, sendAtMs);
      value = scratch;
    }
    record.value = value;
    // Kafka timestamps are whole milliseconds; without a reading here the producer reads the wall clock.
    record.timestamp = sendAtMs >= 0 ? Math.floor(origin + sendAtMs) : undefined;
    if (sampled) {
      unsampled = 0;
      const sentAt = sendAtMs;
      p.send(record, (err) => {
        if (err !== null) {
          meter.fail(err);
          return;
        }
        const ackAt = ackNowMs();
        meter.recordLatency((ackAt - sentAt) * 1000, ackAt);
        meter.count(every, every * size);
      });
    } else {
      // Counted when the next sampled record is acknowledged (or at the end).
      p.sendAndForget(record);
    }
    if (rate > 0 && i % MICROTASK_YIELD_EVERY === MICROTASK_YIELD_EVERY - 1) await null;
    if (p.blockedRecords > 0) {
      // The producer kept a reference to the value: the next stamped record needs a fresh buffer.
      if (scratch !== null) scratch = new Uint8Array(size);
      await p.waitForCapacity();
      lastYield = performance.now();
    }
  }
  // Unsampled records at the end (fewer than `every`) are counted once flushed; failures are subtracted later.
  if (unsampled > 0) {
    await p.flush();
    meter.count(unsampled, unsampled * size);
  }
}
