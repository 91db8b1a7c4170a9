/** Time source, injected everywhere so tests can run storage, groups and replication on a simulated clock. */
export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch (record timestamps, retention). */
  nowMs(): number;
  /** Monotonic milliseconds, for timeouts and latency. */
  monotonicMs(): number;
  /** Calls `fn` after `ms`; returns a handle for {@link Clock.clearTimer}. */
  setTimer(fn: () => void, ms: number): unknown;
  /** Cancels a timer made by {@link Clock.setTimer}. */
  clearTimer(handle: unknown): void;
}

/** The real clock. */
export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Epoch ms at which this thread's {@link systemClock} monotonic time was 0 (threads differ: to compare their times). */
export function monotonicOriginMs(): number {
  return performance.timeOrigin;
}

/** A manual clock for deterministic tests: time moves only when {@link ManualClock.advance} is called. */
export class ManualClock implements Clock {
  private now: number;
  private mono = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private nextId = 1;

  constructor(startMs = 1_700_000_000_000) {
    this.now = startMs;
  }
  /** Wall-clock milliseconds. */
  nowMs(): number {
    return this.now;
  }
  /** Monotonic milliseconds. */
  monotonicMs(): number {
    return this.mono;
  }
  /** Schedules `fn` at now + `ms` of simulated time. */
  setTimer(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.mono + Math.max(0, ms), fn });
    return id;
  }
  /** Cancels a timer. */
  clearTimer(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  /** Moves time forward by `ms`, firing due timers in time order. */
  advance(ms: number): void {
    const target = this.mono + ms;
    for (;;) {
      let nextId = -1;
      let nextAt = Infinity;
      for (const [id, t] of this.timers) {
        if (t.at <= target && t.at < nextAt) {
          nextAt = t.at;
          nextId = id;
        }
      }
      if (nextId < 0) break;
      const t = this.timers.get(nextId)!;
      this.timers.delete(nextId);
      this.now += t.at - this.mono;
      this.mono = t.at;
      t.fn();
    }
    this.now += target - this.mono;
    this.mono = target;
  }
}
