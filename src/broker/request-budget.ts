/**
 * The broker-wide budget of work read from sockets and not yet answered: `queued.max.requests` (requests decoded and
 * not yet handed to the socket) and `queued.max.request.bytes` (bytes of requests received, counted as they arrive,
 * including partial frames, plus response bytes waiting for a slow reader). When either is used up, connections stop
 * reading their sockets (back-pressure: TCP slows the clients) until work completes; nothing is buffered beyond it.
 * A sharded node's accepting threads share one budget for the node ({@link NodeRequestBudget}), as one broker has one.
 */

/** A connection waiting for room in the budget. */
export type RoomWaiter = () => void;

/** Global in-flight request and byte counters with muting waiters. */
export class RequestBudget {
  private heldRequests = 0;
  private heldBytes = 0;
  private readonly waiters = new Set<RoomWaiter>();

  /**
   * @param maxRequests `queued.max.requests`.
   * @param maxBytes `queued.max.request.bytes` (-1: no byte limit).
   */
  constructor(readonly maxRequests: number, readonly maxBytes: number) {
    if (!(maxRequests >= 1)) throw new Error(`queued.max.requests must be at least 1, got ${maxRequests}`);
  }

  /** Requests decoded and not yet answered. */
  get requests(): number {
    return this.heldRequests;
  }

  /** Request and response bytes held. */
  get bytes(): number {
    return this.heldBytes;
  }

  /** Whether a connection may read more. */
  hasRoom(): boolean {
    return this.requests < this.maxRequests && (this.maxBytes < 0 || this.bytes < this.maxBytes);
  }

  /** Counts `n` more held bytes. */
  addBytes(n: number): void {
    this.heldBytes += n;
  }

  /** Releases `n` held bytes. */
  releaseBytes(n: number): void {
    this.heldBytes -= n;
    if (this.heldBytes < 0) throw new Error(`request budget released more bytes than held (${this.heldBytes})`);
    this.wake();
  }

  /** Counts one more unanswered request. */
  addRequest(): void {
    this.heldRequests++;
  }

  /** Releases one answered request. */
  releaseRequest(): void {
    this.heldRequests--;
    if (this.heldRequests < 0) throw new Error("request budget released more requests than held");
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

/** Layout of a {@link NodeRequestBudget}'s shared buffer: Int32 words, then the byte count as a BigInt64. */
const REQUESTS = 0;
/** Bumped when room is made while a thread waits for it. */
const WAKES = 1;
/** Threads waiting for room. */
const SLEEPERS = 2;
/** Byte offset of the held-bytes counter (BigInt64, 8-aligned). */
const BYTES_AT = 16;
/** Size of a node's shared budget buffer. */
const NODE_BUDGET_BYTES = 24;

/** A new shared buffer for a node's {@link NodeRequestBudget} (the host hands it to every accepting thread). */
export function nodeRequestBudgetBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(NODE_BUDGET_BYTES);
}

/**
 * The request budget of a sharded node: the counts live in a SharedArrayBuffer every accepting thread's front
 * attaches to, so `queued.max.requests` and `queued.max.request.bytes` bound the node as they bound one broker. A
 * thread whose connections wait for room sleeps on the shared wake counter (Atomics.waitAsync, off the loop) and
 * is woken by the thread that makes room.
 */
export class NodeRequestBudget extends RequestBudget {
  private readonly i32: Int32Array;
  private readonly held: BigInt64Array;
  private readonly local = new Set<RoomWaiter>();
  private watching = false;

  constructor(buffer: SharedArrayBuffer, maxRequests: number, maxBytes: number) {
    super(maxRequests, maxBytes);
    if (buffer.byteLength !== NODE_BUDGET_BYTES) throw new Error(`a node request budget buffer has ${NODE_BUDGET_BYTES} bytes, got ${buffer.byteLength}`);
    this.i32 = new Int32Array(buffer, 0, BYTES_AT / 4);
    this.held = new BigInt64Array(buffer, BYTES_AT, 1);
  }

  override get requests(): number {
    return Atomics.load(this.i32, REQUESTS);
  }

  override get bytes(): number {
    return Number(Atomics.load(this.held, 0));
  }

  override hasRoom(): boolean {
    return Atomics.load(this.i32, REQUESTS) < this.maxRequests && (this.maxBytes < 0 || this.bytes < this.maxBytes);
  }

  override addBytes(n: number): void {
    Atomics.add(this.held, 0, BigInt(n));
  }

  override releaseBytes(n: number): void {
    const left = Atomics.sub(this.held, 0, BigInt(n)) - BigInt(n);
    if (left < 0n) throw new Error(`request budget released more bytes than held (${left})`);
    this.roomMade();
  }

  override addRequest(): void {
    Atomics.add(this.i32, REQUESTS, 1);
  }

  override releaseRequest(): void {
    if (Atomics.sub(this.i32, REQUESTS, 1) <= 0) throw new Error("request budget released more requests than held");
    this.roomMade();
  }

  override waitForRoom(w: RoomWaiter): void {
    this.local.add(w);
    if (!this.watching) void this.watch();
  }

  override cancelWait(w: RoomWaiter): void {
    this.local.delete(w);
  }

  /** Wakes this thread's waiters when there is room, and the other threads' when any sleeps. */
  private roomMade(): void {
    if (!this.hasRoom()) return;
    this.wakeLocal();
    if (Atomics.load(this.i32, SLEEPERS) > 0) {
      Atomics.add(this.i32, WAKES, 1);
      Atomics.notify(this.i32, WAKES);
    }
  }

  private wakeLocal(): void {
    if (this.local.size === 0) return;
    const ws = [...this.local];
    this.local.clear();
    for (const w of ws) w();
  }

  /**
   * While this thread has waiters: sleeps on the wake counter until another thread makes room. It counts itself a
   * sleeper before it reads the counter and looks for room, so a thread making room after that look sees it and wakes it.
   */
  private async watch(): Promise<void> {
    this.watching = true;
    try {
      while (this.local.size > 0) {
        Atomics.add(this.i32, SLEEPERS, 1);
        try {
          const seen = Atomics.load(this.i32, WAKES);
          if (this.hasRoom()) {
            this.wakeLocal();
            continue;
          }
          const r = Atomics.waitAsync(this.i32, WAKES, seen);
          if (r.async) await r.value;
        } finally {
          Atomics.sub(this.i32, SLEEPERS, 1);
        }
        if (this.hasRoom()) this.wakeLocal();
      }
    } finally {
      this.watching = false;
    }
  }
}
