/**
 * Counters and latency histograms of a running load test, and the live progress line printed from them every
 * interval: records/s and MB/s over the last interval, p50/p99 latency of the last interval, and totals.
 * MB means 10^6 bytes throughout.
 */
import { LatencyHistogram } from "./latency-histogram.ts";

/** Default time between progress lines. */
export const DEFAULT_PROGRESS_INTERVAL_MS = 1000;

/** What one side of a load test (producing or consuming) has done so far. */
export class LoadMeter {
  /** Records completed (acknowledged, or received). */
  records = 0;
  /** Value bytes of those records. */
  bytes = 0;
  /** Records that failed. */
  errors = 0;
  /** The first failure, if any. */
  firstError: Error | null = null;
  /** Latency of every sampled record since the start (us). */
  readonly latency = new LatencyHistogram();
  /** Latency of sampled records since the last progress line (us). */
  readonly intervalLatency = new LatencyHistogram();
  /**
   * `performance.now()` before which samples count only in the progress line, not in {@link LoadMeter.latency}
   * (the warm-up: JIT, connection set-up and group joins are not steady state).
   */
  measureFromMs = 0;

  /** Counts `records` completed records of `bytes` value bytes in total. */
  count(records: number, bytes: number): void {
    this.records += records;
    this.bytes += bytes;
  }

  /**
   * Records one latency sample in microseconds, taken at `atMs` (performance.now(); read here when not given, so that
   * a caller that has just read the clock passes its reading instead of a second read per record).
   */
  recordLatency(micros: number, atMs = this.measureFromMs === 0 ? 0 : performance.now()): void {
    if (this.measureFromMs === 0 || atMs >= this.measureFromMs) this.latency.record(micros);
    this.intervalLatency.record(micros);
  }

  /** Counts a failed record. */
  fail(error: Error): void {
    this.errors++;
    this.firstError ??= error;
  }
}

/** Formats a rate with a unit suffix, e.g. 1234567 -> "1.23M". */
export function compactNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(n / 1e3).toFixed(1)}K`;
  return n.toFixed(a >= 100 || Number.isInteger(n) ? 0 : 1);
}

/** A running progress printer; `stop()` ends it. */
export interface ProgressLine {
  /** Stops printing. */
  stop(): void;
}

/**
 * Prints one line per interval through `write`: for each named meter its interval records/s and MB/s, the
 * interval p50/p99 latency when it has samples, and its total so far.
 */
export function startProgress(meters: readonly { name: string; meter: LoadMeter }[], intervalMs: number, write: (line: string) => void): ProgressLine {
  if (!(intervalMs > 0)) return { stop() {} };
  const last = meters.map((m) => ({ records: m.meter.records, bytes: m.meter.bytes }));
  let lastAt = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const secs = (now - lastAt) / 1000;
    lastAt = now;
    const parts: string[] = [];
    for (let i = 0; i < meters.length; i++) {
      const { name, meter } = meters[i];
      const dr = meter.records - last[i].records;
      const db = meter.bytes - last[i].bytes;
      last[i] = { records: meter.records, bytes: meter.bytes };
      let part = `${name} ${compactNumber(dr / secs)} rec/s ${(db / 1e6 / secs).toFixed(1)} MB/s`;
      const h = meter.intervalLatency;
      if (h.count > 0) part += ` p50 ${(h.percentile(50) / 1000).toFixed(2)} ms p99 ${(h.percentile(99) / 1000).toFixed(2)} ms`;
      part += ` (total ${meter.records}${meter.errors > 0 ? `, ${meter.errors} errors` : ""})`;
      h.reset();
      parts.push(part);
    }
    write(parts.join(" | "));
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
    },
  };
}
