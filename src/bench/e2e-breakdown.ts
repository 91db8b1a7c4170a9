/**
 * Where a record's end-to-end time goes in `runnel bench e2e`, measured on the client side (the broker's part comes
 * from its own metrics, `--broker-metrics`). Every figure is a histogram over the measured part of the run:
 * - producer: how long records waited in the producer before their Produce request was handed to the socket
 *   (the age of the batch's oldest record, counted once per record in it, so an upper bound per record), the part
 *   of that beyond linger.ms (timer lateness, a full in-flight window, a busy event loop), how late the
 *   producer's linger timer ran, and how long each stall of the in-flight window lasted (ready batches, every
 *   slot taken by an unanswered Produce);
 * - consumer: per record, the time from the send stamp to the Fetch response that carried it being decoded
 *   (producer wait + network + broker + network), and from that decode to the record's latency being taken (the
 *   consumer's own scheduling and decoding);
 * - each process's event-loop lateness (a timer every LOOP_PROBE_MS), which shows GC pauses and CPU starvation.
 * Recording is a few integer operations on preallocated histograms.
 */
import type { ProducerInstrument } from "../client/producer.ts";
import type { ProducerBatch } from "../client/record-accumulator.ts";
import { LatencyHistogram, type LatencySummary } from "./latency-histogram.ts";

/** Interval of the event-loop lateness probe (ms). */
export const LOOP_PROBE_MS = 5;

/** Measures how late a repeating timer runs (the event loop's stalls) and the process's CPU time meanwhile. */
export class LoopLagProbe {
  /** Lateness of each probe after `measureFromMs` (us). */
  readonly lag = new LatencyHistogram();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private cpuAtStart: { user: number; system: number } | null = null;
  private cpuMicros = 0;

  constructor(
    /** performance.now() before which nothing is recorded (the warm-up). */
    public measureFromMs: number,
  ) {}

  /** Starts probing. */
  start(): void {
    this.cpuAtStart = process.cpuUsage();
    let due = performance.now() + LOOP_PROBE_MS;
    const tick = () => {
      const now = performance.now();
      if (now >= this.measureFromMs) this.lag.record(Math.max(0, now - due) * 1000);
      due = now + LOOP_PROBE_MS;
      this.timer = setTimeout(tick, LOOP_PROBE_MS);
    };
    this.timer = setTimeout(tick, LOOP_PROBE_MS);
  }

  /** Stops probing. */
  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.cpuAtStart !== null) {
      const d = process.cpuUsage(this.cpuAtStart);
      this.cpuMicros = d.user + d.system;
      this.cpuAtStart = null;
    }
  }

  /** CPU seconds (user + system) the process used from start to stop, warm-up included. */
  get cpuSeconds(): number {
    return Math.round(this.cpuMicros / 1000) / 1000;
  }
}

/** The producer side: a {@link ProducerInstrument} filling histograms. */
export class SenderTiming implements ProducerInstrument {
  /** Per record: batch age (oldest record) when its request was handed to the socket (us). */
  readonly batchAge = new LatencyHistogram();
  /** Per record: the part of {@link SenderTiming.batchAge} beyond linger.ms (us; 0 when on time). */
  readonly beyondLinger = new LatencyHistogram();
  /** Per timer run: how late the sender's timer ran (us). */
  readonly timerLate = new LatencyHistogram();
  /** Per stall: how long ready batches waited for a free slot in the in-flight window (us). */
  readonly windowStalls = new LatencyHistogram();
  /** Produce requests sent in the measured part. */
  requests = 0;
  private stalledSinceMs = -1;

  constructor(
    private readonly lingerMs: number,
    /** performance.now() before which nothing is recorded (the warm-up). */
    public measureFromMs: number,
  ) {}

  /** See {@link ProducerInstrument.requestSent}. */
  requestSent(batches: readonly ProducerBatch[], nowMs: number): void {
    if (this.stalledSinceMs >= 0) {
      if (this.stalledSinceMs >= this.measureFromMs) this.windowStalls.record((nowMs - this.stalledSinceMs) * 1000);
      this.stalledSinceMs = -1;
    }
    if (nowMs < this.measureFromMs) return;
    this.requests++;
    for (let i = 0; i < batches.length; i++) {
      const b = batches[i];
      if (b.attempts > 0) continue;
      const age = nowMs - b.createdMs;
      this.batchAge.recordMany(age * 1000, b.recordCount);
      this.beyondLinger.recordMany(Math.max(0, age - this.lingerMs) * 1000, b.recordCount);
    }
  }

  /** See {@link ProducerInstrument.windowFull}. */
  windowFull(nowMs: number): void {
    if (this.stalledSinceMs < 0) this.stalledSinceMs = nowMs;
  }

  /** See {@link ProducerInstrument.timerFired}. */
  timerFired(lateMs: number): void {
    if (performance.now() >= this.measureFromMs) this.timerLate.record(Math.max(0, lateMs) * 1000);
  }
}

/** The consumer side: per record, before and after the Fetch response that carried it was decoded. */
export class ReceiveTiming {
  /** Send stamp to Fetch response decoded (us). */
  readonly toFetchResponse = new LatencyHistogram();
  /** Fetch response decoded to the record's latency taken (us). */
  readonly inConsumer = new LatencyHistogram();
}

/** The report's `e2eBreakdownMs`: client-side parts of the end-to-end latency. */
export interface E2eBreakdown {
  /** Records: age of their batch's oldest record when the Produce request was sent. */
  producerBatchAge: LatencySummary;
  /** Records: the part of producerBatchAge beyond linger.ms. */
  producerBeyondLinger: LatencySummary;
  /** The producer's linger/back-off timer lateness. */
  producerTimerLate: LatencySummary;
  /** Stalls of the producer's in-flight window: ready batches waiting for an answer to free a slot. */
  producerWindowStalls: LatencySummary;
  /** Produce requests sent in the measured part. */
  produceRequests: number;
  /** Records: send stamp to the Fetch response carrying them decoded by the consumer. */
  sendToFetchResponse: LatencySummary;
  /** Records: Fetch response decoded to the latency taken. */
  inConsumer: LatencySummary;
  /** The producer process's event-loop lateness. */
  producerLoopLag: LatencySummary;
  /** The consumer process's event-loop lateness. */
  consumerLoopLag: LatencySummary;
  /** CPU seconds of the producing process over the run (warm-up included). */
  producerCpuS: number;
  /** CPU seconds of the consuming process over the run (the same as producerCpuS when in-process). */
  consumerCpuS: number;
}

/** The consumer process's part of {@link E2eBreakdown}. */
export type ConsumerBreakdown = Pick<E2eBreakdown, "sendToFetchResponse" | "inConsumer" | "consumerLoopLag" | "consumerCpuS">;

/** The consumer's part of the breakdown. */
export function consumerBreakdown(r: ReceiveTiming, loop: LoopLagProbe): ConsumerBreakdown {
  return { sendToFetchResponse: r.toFetchResponse.summary(), inConsumer: r.inConsumer.summary(), consumerLoopLag: loop.lag.summary(), consumerCpuS: loop.cpuSeconds };
}

/** The whole breakdown from both sides. */
export function e2eBreakdown(s: SenderTiming, producerLoop: LoopLagProbe, c: ConsumerBreakdown): E2eBreakdown {
  return {
    producerBatchAge: s.batchAge.summary(),
    producerBeyondLinger: s.beyondLinger.summary(),
    producerTimerLate: s.timerLate.summary(),
    producerWindowStalls: s.windowStalls.summary(),
    produceRequests: s.requests,
    ...c,
    producerLoopLag: producerLoop.lag.summary(),
    producerCpuS: producerLoop.cpuSeconds,
  };
}
