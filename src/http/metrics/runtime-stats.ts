/**
 * Process and runtime statistics for `/metrics`: resident memory, CPU time, event-loop lag (sampled by a timer)
 * and garbage collection where the runtime reports it (`PerformanceObserver` with `gc` entries: Node-compatible
 * runtimes; Bun and Deno do not emit them today, and the GC series is then left out rather than shown as 0).
 */
import { PerformanceObserver } from "node:perf_hooks";

/** How often the event-loop lag is sampled. */
export const EVENT_LOOP_SAMPLE_MS = 500;

/** Samples event-loop lag and counts GC pauses until {@link RuntimeStats.stop}. */
export class RuntimeStats {
  /** Last measured event-loop lag (ms): how late the sampling timer fired. */
  lagMs = 0;
  /** Largest lag since start (ms). */
  maxLagMs = 0;
  /** GC pauses seen, or -1 when the runtime reports none. */
  gcCount = -1;
  /** Total GC pause time (ms). */
  gcMs = 0;
  /** Unix seconds when the process started. */
  readonly startTimeSeconds: number;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private observer: PerformanceObserver | null = null;
  private expected = 0;

  constructor() {
    this.startTimeSeconds = Math.floor((Date.now() - performance.now()) / 1000);
    this.arm();
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

  private arm(): void {
    this.expected = performance.now() + EVENT_LOOP_SAMPLE_MS;
    this.timer = setTimeout(() => {
      const lag = Math.max(0, performance.now() - this.expected);
      this.lagMs = lag;
      if (lag > this.maxLagMs) this.maxLagMs = lag;
      this.arm();
    }, EVENT_LOOP_SAMPLE_MS);
    (this.timer as { unref?: () => void }).unref?.();
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
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.observer?.disconnect();
  }
}
