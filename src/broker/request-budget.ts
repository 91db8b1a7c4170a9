/**
 * The broker-wide budget of work read from sockets and not yet answered: `queued.max.requests` (requests decoded and
 * not yet handed to the socket) and `queued.max.request.bytes` (bytes of requests received, counted as they arrive,
 * including partial frames, plus response bytes waiting for a slow reader). When either is used up, connections stop
 * reading their sockets (back-pressure: TCP slows the clients) until work completes; nothing is buffered beyond it.
 */

/** A connection waiting for room in the budget. */
export type RoomWaiter = () => void;

/** Global in-flight request and byte counters with muting waiters. */
export class RequestBudget {
  /** Requests decoded and not yet answered. */
  requests = 0;
  /** Request and response bytes held. */
  bytes = 0;
  private readonly waiters = new Set<RoomWaiter>();

  /**
   * @param maxRequests `queued.max.requests`.
   * @param maxBytes `queued.max.request.bytes` (-1: no byte limit).
   */
  constructor(readonly maxRequests: number, readonly maxBytes: number) {
    if (!(maxRequests >= 1)) throw new Error(`queued.max.requests must be at least 1, got ${maxRequests}`);
  }

  /** Whether a connection may read more. */
  hasRoom(): boolean {
    return this.requests < this.maxRequests && (this.maxBytes < 0 || this.bytes < this.maxBytes);
  }

  /** Counts `n` more held bytes. */
  addBytes(n: number): void {
    this.bytes += n;
  }

  /** Releases `n` held bytes. */
  releaseBytes(n: number): void {
    this.bytes -= n;
    if (this.bytes < 0) throw new Error(`request budget released more bytes than held (${this.bytes})`);
    this.wake();
  }

  /** Counts one more unanswered request. */
  addRequest(): void {
    this.requests++;
  }

  /** Releases one answered request. */
  releaseRequest(): void {
    this.requests--;
    if (this.requests < 0) throw new Error("request budget released more requests than held");
    this.wake();
  }

  /** Calls `w` once when there is room again (a muted connection resuming). */
  waitForRoom(w: RoomWaiter): void {
    this.waiters.add(w);
  }

  /** Forgets a waiter (its connection closed). */
  cancelWait(w: RoomWaiter): void {
    this.waiters.delete(w);
  }

  private wake(): void {
    if (this.waiters.size === 0 || !this.hasRoom()) return;
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }
}
