/**
 * The simulated network between nodes: every message is delivered after a seeded delay (so messages reorder), or
 * dropped, or delivered twice, at seeded rates; an isolated node neither sends nor receives. Delivery runs the
 * receiver's handler as a simulation event.
 */
import type { Sim } from "./scheduler.ts";

/** Seeded network behaviour. */
export interface NetworkFaults {
  /** Probability a message is lost. */
  dropRate: number;
  /** Probability a message is delivered twice. */
  duplicateRate: number;
  /** Largest delay in simulated ms (delays are uniform in [1, maxDelayMs]). */
  maxDelayMs: number;
}

/** Messages between numbered nodes. */
export class SimNetwork {
  private readonly isolated = new Set<number>();
  /** Counters for the run report. */
  readonly stats = { sent: 0, dropped: 0, duplicated: 0 };

  constructor(
    private readonly sim: Sim,
    private readonly faults: NetworkFaults,
  ) {}

  /** Cuts `node` off from every other node until {@link SimNetwork.heal}. */
  isolate(node: number): void {
    this.isolated.add(node);
  }

  /** Reconnects every node. */
  heal(): void {
    this.isolated.clear();
  }

  /** Whether any node is cut off. */
  get partitioned(): boolean {
    return this.isolated.size > 0;
  }

  /** Sends a message from `from` to `to`; `deliver` runs at the receiver (zero, one or two times). */
  send(from: number, to: number, label: string, deliver: () => void): void {
    this.stats.sent++;
    if (this.isolated.has(from) || this.isolated.has(to) || this.sim.chance(this.faults.dropRate)) {
      this.stats.dropped++;
      return;
    }
    const copies = this.sim.chance(this.faults.duplicateRate) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      this.sim.after(1 + this.sim.int(this.faults.maxDelayMs), `${from}->${to} ${label}`, () => {
        if (!this.isolated.has(from) && !this.isolated.has(to)) deliver(); // a partition cuts messages in flight too
      });
    }
  }
}
