/**
 * Closes stalled connections, with one sweep timer for all of them (no timer per read):
 * - `connections.max.idle.ms`: no bytes read or written and nothing in flight for that long (Kafka's meaning);
 * - `socket.request.read.timeout.ms` (Runnel's name; Kafka has no broker-side equivalent, its nearest is the
 *   clients' `request.timeout.ms`, whose 30 s default this copies): a frame, from its first byte to its last,
 *   must arrive within this time, so a client that sends 2 bytes of a frame, or announces 100 MB and trickles it,
 *   is closed.
 */
import type { Clock } from "../platform/clock.ts";

/** What the sweeper needs to know about one connection. */
export interface TimedConnection {
  /** Monotonic ms of the last byte read or written. */
  lastActiveMs: number;
  /** Monotonic ms when the frame being received started, or -1 when between frames. */
  frameStartedMs: number;
  /** Whether requests are in flight (a long poll is not idleness). */
  busy(): boolean;
  /** Closes the connection, saying why. */
  expire(reason: string): void;
}

/** The idle and request-read deadlines of every open connection. */
export class ConnectionTimeouts {
  private readonly open = new Set<TimedConnection>();
  private timer: unknown = null;
  private readonly sweepMs: number;

  /**
   * @param idleMs `connections.max.idle.ms` (-1: never).
   * @param readMs `socket.request.read.timeout.ms` (-1: never).
   */
  constructor(private readonly clock: Clock, readonly idleMs: number, readonly readMs: number) {
    const shortest = Math.min(idleMs < 0 ? Infinity : idleMs, readMs < 0 ? Infinity : readMs);
    // Checked often enough that a deadline is overshot by at most a quarter of it (and at most a second).
    this.sweepMs = Number.isFinite(shortest) ? Math.max(5, Math.min(1000, Math.floor(shortest / 4))) : 0;
  }

  /** Starts watching `c`. */
  track(c: TimedConnection): void {
    this.open.add(c);
    if (this.timer === null && this.sweepMs > 0) this.arm();
  }

  /** Stops watching `c` (it closed). */
  untrack(c: TimedConnection): void {
    this.open.delete(c);
  }

  /** Stops the sweep timer. */
  stop(): void {
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
    this.open.clear();
  }

  /** Closes every connection past a deadline at monotonic time `now`. */
  sweep(now: number): void {
    for (const c of this.open) {
      if (this.readMs >= 0 && c.frameStartedMs >= 0 && now - c.frameStartedMs >= this.readMs) {
        this.open.delete(c);
        c.expire(`a request frame took more than socket.request.read.timeout.ms=${this.readMs} to arrive`);
      } else if (this.idleMs >= 0 && c.frameStartedMs < 0 && now - c.lastActiveMs >= this.idleMs && !c.busy()) {
        this.open.delete(c);
        c.expire(`idle for more than connections.max.idle.ms=${this.idleMs}`);
      }
    }
  }

  private arm(): void {
    this.timer = this.clock.setTimer(() => {
      this.timer = null;
      this.sweep(this.clock.monotonicMs());
      if (this.open.size > 0) this.arm();
    }, this.sweepMs);
  }
}
