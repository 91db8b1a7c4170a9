/**
 * The simulation's one source of nondeterminism: a seed. It drives a seeded random sequence, a ManualClock (the
 * product code's timers) and a queue of simulation events; each step runs the earliest event (ties broken by a
 * seeded key, so the seed decides which of two concurrent events runs first), then lets the promise callbacks it
 * caused settle before the next step. Every step is folded into a trace hash, so two runs of one seed can be
 * compared exactly.
 */
import { setImmediate } from "node:timers";
import { ManualClock } from "../../src/platform/clock.ts";
import { SeededRandom } from "../../src/platform/random.ts";

interface SimEvent {
  at: number;
  key: number;
  label: string;
  fn: () => void;
}

/** Lets every promise callback that is ready run (no real I/O happens inside the simulation). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** One simulation run's clock, randomness, event queue and trace. */
export class Sim {
  /** The product code's clock. */
  readonly clock = new ManualClock();
  /** The seeded sequence. */
  readonly random: SeededRandom;
  private queue: SimEvent[] = [];
  private hash = 0x811c9dc5;
  /** Steps run. */
  steps = 0;
  /** Print every traced line (the replay command's `--trace`). */
  verbose = false;

  constructor(readonly seed: number) {
    this.random = new SeededRandom(seed);
  }

  /** A seeded integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : this.random.u32() % n;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return p > 0 && this.random.float() < p;
  }

  /** Work the run loop waits for before its next event (see {@link holdWhile}). */
  private readonly holds = new Set<Promise<void>>();

  /**
   * Holds the run loop until `work` settles: no event runs and simulated time stands still meanwhile. For work
   * outside this simulation's time, such as a second simulation run to its end (clean-start-check.ts); call it
   * while the event that starts the work is still running (its promise callbacks included), so that no later event
   * runs first. Answers `work`.
   */
  holdWhile<T>(work: Promise<T>): Promise<T> {
    const h = work.then(
      () => {},
      () => {},
    );
    this.holds.add(h);
    void h.then(() => this.holds.delete(h));
    return work;
  }

  /** Schedules `fn` after `ms` simulated ms. */
  after(ms: number, label: string, fn: () => void): void {
    this.queue.push({ at: this.clock.monotonicMs() + ms, key: this.random.u32(), label, fn });
  }

  /** Folds a line into the trace hash (FNV-1a). */
  trace(line: string): void {
    if (this.verbose) console.log(`[${this.clock.monotonicMs()}] ${line}`);
    let h = this.hash;
    for (let i = 0; i < line.length; i++) h = Math.imul(h ^ line.charCodeAt(i), 0x01000193) >>> 0;
    this.hash = h;
  }

  /** The trace hash so far, as hex. */
  get traceHash(): string {
    return this.hash.toString(16).padStart(8, "0");
  }

  /** Simulated ms elapsed. */
  get nowMs(): number {
    return this.clock.monotonicMs();
  }

  /** Runs events in order until the queue is empty, simulated time passes `untilMs`, or `stop` says so. */
  async run(untilMs: number, stop: () => boolean = () => false): Promise<void> {
    await settle();
    while (this.queue.length > 0 && !stop()) {
      let best = 0;
      for (let i = 1; i < this.queue.length; i++) {
        const e = this.queue[i];
        const b = this.queue[best];
        if (e.at < b.at || (e.at === b.at && e.key < b.key)) best = i;
      }
      const e = this.queue[best];
      if (e.at > untilMs) break;
      this.queue.splice(best, 1);
      if (e.at > this.clock.monotonicMs()) this.clock.advance(e.at - this.clock.monotonicMs());
      await settle();
      this.steps++;
      this.trace(`${e.at} ${e.label}`);
      e.fn();
      await settle();
      while (this.holds.size > 0) {
        await Promise.all([...this.holds]);
        await settle();
      }
    }
  }
}
