/**
 * The consuming side of `runnel bench`: one or more Runnel consumers read a topic (partitions assigned
 * round-robin, or through a consumer group) and the meter counts records and value bytes. With `stamped` values
 * (end-to-end runs) each record's latency is now minus the send time the producer wrote into it.
 */
import { Admin } from "../client/admin.ts";
import { Consumer, type ConsumerConfig, type TopicPartition } from "../client/consumer.ts";
import type { ReceiveTiming } from "./e2e-breakdown.ts";
import type { LoadMeter } from "./load-meter.ts";
import { readStamp } from "./payloads.ts";
import type { StopFlag } from "./produce-load.ts";

/** Most consumers one bench process runs. */
export const MAX_CONSUMERS = 64;
/** Longest one poll waits (ms), so stop conditions are checked often. */
const POLL_TIMEOUT_MS = 100;

/** Settings of a consume load. */
export interface ConsumeLoadSettings {
  /** Bootstrap servers. */
  bootstrap: string;
  /** client.id. */
  clientId: string;
  /** Topic. */
  topic: string;
  /** Consumers. */
  consumers: number;
  /** Consumer group (subscribe) or null (assign partitions round-robin). */
  group: string | null;
  /** Start at the log end instead of the log start. */
  fromEnd: boolean;
  /** fetch.min.bytes. */
  fetchMinBytes: number;
  /** fetch.max.wait.ms. */
  fetchMaxWaitMs: number;
  /** fetch.max.bytes. */
  fetchMaxBytes: number;
  /** max.partition.fetch.bytes. */
  maxPartitionFetchBytes: number;
  /** max.poll.records. */
  maxPollRecords: number;
}

/** When a consume load ends. */
export interface ConsumeStop extends StopFlag {
  /** Stop once this many records were received in total. */
  records: number;
  /** Stop this long after the first poll (ms); 0 for no limit. */
  durationMs: number;
  /** Stop after this long without a record (ms); 0 for no limit. */
  idleMs: number;
}

/** The outcome of a consume load. */
export interface ConsumeLoadResult {
  /** Records received. */
  records: number;
  /** Value bytes received. */
  bytes: number;
  /** From the first poll to the last record received (s). */
  seconds: number;
}

/** Records in `topic` right now (log end minus log start, summed over partitions). */
export async function recordsInTopic(bootstrap: string, clientId: string, topic: string): Promise<number> {
  const admin = new Admin({ bootstrap, clientId });
  try {
    await admin.connect();
    let n = 0n;
    for (const p of await admin.topicOffsets(topic)) n += p.latest - p.earliest;
    return Number(n);
  } finally {
    await admin.close();
  }
}

/** Connects consumers and gives them their partitions, positioned at the log start or end. */
export async function connectConsumers(s: ConsumeLoadSettings): Promise<Consumer[]> {
  if (!Number.isInteger(s.consumers) || s.consumers < 1 || s.consumers > MAX_CONSUMERS) throw new RangeError(`consumers must be 1..${MAX_CONSUMERS}`);
  const base: ConsumerConfig = {
    bootstrap: s.bootstrap,
    clientId: s.clientId,
    groupId: s.group ?? undefined,
    enableAutoCommit: s.group !== null,
    autoOffsetReset: s.fromEnd ? "latest" : "earliest",
    fetchMinBytes: s.fetchMinBytes,
    fetchMaxWaitMs: s.fetchMaxWaitMs,
    fetchMaxBytes: s.fetchMaxBytes,
    maxPartitionFetchBytes: s.maxPartitionFetchBytes,
    maxPollRecords: s.maxPollRecords,
  };
  const consumers: Consumer[] = [];
  try {
    let partitions: TopicPartition[] = [];
    for (let i = 0; i < s.consumers; i++) {
      const c = new Consumer({ ...base, clientId: `${s.clientId}-${i}` });
      consumers.push(c);
      await c.connect();
      if (i === 0 && s.group === null) {
        const info = await c.cluster.waitForTopic(s.topic, 15_000);
        partitions = info.partitions.map((p) => ({ topic: s.topic, partition: p.partition }));
      }
    }
    for (let i = 0; i < consumers.length; i++) {
      const c = consumers[i];
      if (s.group !== null) {
        c.subscribe([s.topic]);
        continue;
      }
      const mine = partitions.filter((_, k) => k % consumers.length === i);
      c.assign(mine);
      if (s.fromEnd) c.seekToEnd();
      else c.seekToBeginning();
    }
  } catch (e) {
    await Promise.all(consumers.map((c) => c.close().catch(() => {})));
    throw e;
  }
  return consumers;
}

/** Resolves once every consumer knows its starting positions (so records produced after this are seen). */
export async function awaitPositions(consumers: readonly Consumer[], timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (const c of consumers) {
    // A zero-timeout poll initialises positions; records it returns (none expected at the log end) are dropped.
    for (let round = 0; round < 1000; round++) {
      await c.poll(0);
      const ps = c.assignment();
      if (ps.length > 0 && ps.every((p) => c.position(p.topic, p.partition) !== null)) break;
      if (performance.now() > deadline) throw new Error("consumers did not get their positions in time");
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/**
 * Polls until `stop` says so, counting into `meter`. With `stampClockOffsetMs` (end-to-end runs) each stamped value
 * is timed: the stamp is the producer's performance.now(), and the producer's clock is this process's
 * performance.now() plus the offset (0 when the producer runs here). With `timing`, each timed record's latency is
 * also split at the moment the Fetch response that carried it was decoded.
 */
export async function runConsumeLoad(consumers: readonly Consumer[], meter: LoadMeter, stop: ConsumeStop, stampClockOffsetMs: number | null, timing?: ReceiveTiming): Promise<ConsumeLoadResult> {
  const stamped = stampClockOffsetMs !== null;
  const offset = stampClockOffsetMs ?? 0;
  let first = -1;
  let lastRecordAt = -1;
  let lastActivity = performance.now();
  const start = performance.now();
  const loop = async (c: Consumer) => {
    for (;;) {
      const now = performance.now();
      if (stop.stopped || meter.records >= stop.records) return;
      if (stop.durationMs > 0 && first >= 0 && now - first >= stop.durationMs) return;
      if (stop.idleMs > 0 && now - lastActivity >= stop.idleMs) return;
      if (first < 0) first = now;
      const recs = await c.poll(POLL_TIMEOUT_MS);
      if (recs.length === 0) continue;
      const at = performance.now();
      const atProducer = at + offset;
      const split = timing !== undefined && at >= meter.measureFromMs && c.lastPollReceivedAtMs === c.lastPollReceivedAtMs;
      const receivedAtProducer = c.lastPollReceivedAtMs + offset;
      let bytes = 0;
      for (let i = 0; i < recs.length; i++) {
        const v = recs[i].value;
        if (v === null) continue;
        bytes += v.length;
        if (stamped) {
          const sent = readStamp(v);
          if (sent === sent) {
            meter.recordLatency((atProducer - sent) * 1000, at);
            if (split) {
              timing.toFetchResponse.record((receivedAtProducer - sent) * 1000);
              timing.inConsumer.record((atProducer - receivedAtProducer) * 1000);
            }
          }
        }
      }
      meter.count(recs.length, bytes);
      lastRecordAt = at;
      lastActivity = at;
    }
  };
  await Promise.all(consumers.map(loop));
  const from = first >= 0 ? first : start;
  const to = lastRecordAt >= 0 ? lastRecordAt : performance.now();
  return { records: meter.records, bytes: meter.bytes, seconds: Math.max(0, to - from) / 1000 };
}

/**
 * The stop condition of an end-to-end run's consumers: run until told how many records were acknowledged
 * ({@link DrainStop.expect}), then until that many arrived or `drainMs` passed; {@link DrainStop.stop} ends at once.
 */
export class DrainStop implements ConsumeStop {
  stopped = false;
  records = Infinity;
  readonly durationMs = 0;
  readonly idleMs = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly drainMs: number) {}

  /** `records` were acknowledged: stop once they are all here, or `drainMs` from now. */
  expect(records: number): void {
    this.records = records;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.stop(), this.drainMs);
  }

  /** Stops now. */
  stop(): void {
    clearTimeout(this.timer);
    this.stopped = true;
  }
}
