/**
 * Process and runtime statistics for `/metrics`: resident memory, CPU time, event-loop lag (sampled by a timer)
 * and garbage collection where the runtime reports it (`PerformanceObserver` with `gc` entries: Node-compatible
 * runtimes; Bun and Deno do not emit them today, and the GC series is then left out rather than shown as 0).
 */
import { PerformanceObserver } from "node:perf_hooks";
import { FixedHistogram, LATENCY_BUCKETS_MS } from "./histogram.ts";

/** How often the event-loop lag is sampled (a short period catches short stalls; one timer callback per period). */
export const EVENT_LOOP_SAMPLE_MS = 20;

/** Samples event-loop lag and counts GC pauses until {@link RuntimeStats.stop}. */
export class RuntimeStats {
  /** Last measured event-loop lag (ms): how late the sampling timer fired. */
  lagMs = 0;
  /** Largest lag since start (ms). */
  maxLagMs = 0;
  /** Every sampled lag (ms): how late each probe fired; a stall of the loop shows as one sample of its length. */
  readonly lagHistogram = new FixedHistogram(LATENCY_BUCKETS_MS);
  /** GC pauses seen, or -1 when the runtime reports none. */
  gcCount = -1;
  /** Total GC pause time (ms). */
  gcMs = 0;
  /** Unix seconds when the process started. */
  readonly startTimeSeconds: number;
  private timer: ReturnType<typeof setInterval> | null = null;
  private observer: PerformanceObserver | null = null;
  private readonly sampleMs: number;
  private last = 0;
  /** The probe, bound once: sampling allocates nothing. */
  private readonly probe = (): void => {
    const now = performance.now();
    const lag = Math.max(0, now - this.last - this.sampleMs);
    this.last = now;
    this.lagMs = lag;
    if (lag > this.maxLagMs) this.maxLagMs = lag;
    this.lagHistogram.observe(lag);
  };

  /** Starts the lag probe: a timer every `sampleMs` whose drift is the lag. */
  constructor(sampleMs: number = EVENT_LOOP_SAMPLE_MS) {
    if (!(sampleMs > 0)) throw new Error(`event-loop sample period must be positive, got ${sampleMs}`);
    this.sampleMs = sampleMs;
    this.startTimeSeconds = Math.floor((Date.now() - performance.now()) / 1000);
    this.last = performance.now();
    this.timer = setInterval(this.probe, sampleMs);
    (this.timer as { unref?: () => void }).unref?.();
    try {
      const obs = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          if (this.gcCount < 0) this.gcCount = 0;
          this.gcCount++;
          this.gcMs += e.duration;
        }
      });
      obs.observe({ entryTypes: ["gc"] });
      this.observer = obs;
    } catch {
      this.observer = null; // the runtime has no gc entries
    }
  }

  /** Resident set size in bytes. */
  rssBytes(): number {
    return process.memoryUsage.rss();
  }

  /** JavaScript heap bytes in use. */
  heapUsedBytes(): number {
    return process.memoryUsage().heapUsed;
  }

  /** User + system CPU seconds used by the process. */
  cpuSeconds(): number {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  }

  /** Stops sampling. */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.observer?.disconnect();
  }
}
