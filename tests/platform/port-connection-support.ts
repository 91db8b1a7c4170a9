/**
 * A model of both ends of a port connection (src/platform/port-connection.ts), checked as it runs: random operations
 * on both ends (writes of several chunks, `writeFrame` with movable and copied bodies and frames sharing a socket
 * read, pause/resume, give-backs at random later points, close from either side), over real MessagePorts. Each port
 * is seen through {@link ObservedPort}, which passes every message on unchanged and checks the protocol's
 * bookkeeping as it goes by: acknowledgements match what the reader was handed, a slot is never lent while lent, a
 * free names a lent slot, the slots lent to a reader stay within PORT_CONNECTION_LENT_SLOT_BYTES, and the writer's
 * back-pressure (`write` returning false above the window, `onDrain` once down to half) is exactly the model's.
 * The reader checks every chunk against the written stream (a fixed pseudo-random pattern at the stream's offset)
 * when it arrives and again, for a chunk it still holds, after every wait: a slot or buffer reused while held shows.
 * Run by port-connection-property.test.ts through fixtures/port-model-runner.ts: both ends in one thread
 * ({@link pairProperty}), or end 0 here and an echoing peer in a Worker thread ({@link crossProperty}, fixtures/port-echo-peer.ts).
 */
import { Buffer } from "node:buffer";
import {
  frameSlotBytes,
  openPortConnection,
  PORT_CONNECTION_ACK_BYTES,
  PORT_CONNECTION_LENT_SLOT_BYTES,
  PORT_CONNECTION_OWN_FRAME_MIN_BYTES,
  PORT_CONNECTION_SLOT_BYTES,
  PORT_CONNECTION_WINDOW_BYTES,
  type PortBuffers,
  type PortLike,
} from "../../src/platform/port-connection.ts";
import type { Connection, SharedRead } from "../../src/platform/net.ts";
import fc from "fast-check";
import process from "node:process";
import { messagePortPair, spawnWorker, type WorkerHandle } from "../../src/platform/worker.ts";

/** Period of the byte pattern every stream carries (bytes at offset o are PATTERN[(o + salt) % PERIOD]). */
const PERIOD = 3 * 1024 * 1024 + 17;
/** Largest chunk or frame a run writes. */
export const MAX_PIECE = 4 * 1024 * 1024 + 8;
const PATTERN = (() => {
  const p = new Uint8Array(PERIOD + MAX_PIECE + 8);
  let x = 0x9e3779b9;
  for (let i = 0; i < PERIOD; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    p[i] = x >>> 24;
  }
  // The pattern again after its period, as far as the longest piece reaches (a piece may span more than one period).
  for (let i = PERIOD; i < p.length; i++) p[i] = p[i - PERIOD];
  return p;
})();

/** The pattern's `n` bytes at stream offset `o` (a view; copy before handing it on). */
export function patternAt(o: number, n: number): Uint8Array {
  if (n > MAX_PIECE) throw new Error(`pattern piece of ${n} bytes above ${MAX_PIECE}`);
  const at = o % PERIOD;
  return PATTERN.subarray(at, at + n);
}

/** Whether `view` holds the pattern's bytes at stream offset `o` (compared piece by piece: a turn's copy may be large). */
export function holdsPattern(view: Uint8Array, o: number): boolean {
  for (let at = 0; at < view.length; at += MAX_PIECE) {
    const n = Math.min(MAX_PIECE, view.length - at);
    if (Buffer.compare(view.subarray(at, at + n), patternAt(o + at, n)) !== 0) return false;
  }
  return true;
}

/** How a frame's body is handed to `writeFrame`: movable (its own buffer, a view into a larger one, or shared memory), or not. */
export type FrameKind = "movable" | "movable-view" | "movable-shared" | "copied";

/** One operation on one end (0 or 1) of the pair. */
export type Op =
  | { k: "write"; end: number; sizes: number[] }
  | { k: "frame"; end: number; size: number; kind: FrameKind }
  | { k: "burst"; end: number; size: number; count: number; kind: FrameKind }
  | { k: "cycle"; end: number; size: number; times: number; kind: FrameKind }
  | { k: "read"; frames: { end: number; size: number }[]; plainCut: boolean; sealed: boolean }
  | { k: "pause"; end: number }
  | { k: "resume"; end: number }
  | { k: "giveBack"; end: number; pick: number; body: boolean; latest?: boolean }
  | { k: "close"; end: number; graceful: boolean }
  | { k: "wait"; how: "micro" | "task" | "settle" };

/** The fixed byte sizes the operations pick from: around the own-message minimum, the slot granule and 4 MiB. */
export const FRAME_SIZES = (() => {
  const K = 1024;
  const M = K * K;
  const own = PORT_CONNECTION_OWN_FRAME_MIN_BYTES;
  // Body sizes; a frame with its prefix is 4 bytes more (slots come in 64 KiB granules, 4 MiB at most with the prefix).
  return [own - 1, own, own + 1, 2 * 64 * K - 4, 2 * 64 * K - 3, 3 * 64 * K - 4, M - 4, 4 * M - 5, 4 * M - 4, 4 * M - 3, 4 * M];
})();

/**
 * Chunks ends of earlier runs held when their connection closed, with their stream's salt: written-off slots are
 * never reused, so these keep their bytes in later runs too (the most recent {@link HELD_AFTER_CLOSE_MAX}).
 */
const heldAfterClose: { view: Uint8Array; at: number }[] = [];
const HELD_AFTER_CLOSE_MAX = 16;

/** Longest wait for messages to arrive before a run fails as stuck (a bound, not a speed check: runs take ms). */
const SETTLE_MS = 20_000;

/** A failed check: what, and on which end. */
export class ModelError extends Error {}

interface Held {
  view: Uint8Array;
  offset: number;
}

/** The state of one end: as a writer (its stream to the peer) and as a reader (the peer's stream to it). */
interface End {
  index: number;
  conn: Connection;
  /** This end called close(), or saw its peer's close. */
  closed: boolean;
  onCloseCalls: number;
  /** Its onClose came from its own close() (else from the peer's). */
  closedItself: boolean;
  paused: boolean;
  // Writer.
  written: number;
  unacked: number;
  blocked: boolean;
  drainsExpected: number;
  drains: number;
  /** Slots lent to the peer: id -> bytes. */
  lent: Map<number, number>;
  lentBytes: number;
  /** Slot sizes by id (the shared buffer is posted the first time only). */
  slotSize: Map<number, number>;
  // Reader.
  received: number;
  toAck: number;
  held: Held[];
  /** Data came while paused, not (yet) followed by the close that explains it. */
  pausedData: boolean;
  /** Chunks in slots it held when its connection finished. */
  heldAtClose: Held[];
  /** The salt of the stream this end writes. */
  salt: number;
  pool: ArrayBuffer[] | null;
}

/** A port seen by the model: every message passes unchanged; what goes by is checked against the model. */
class ObservedPort implements PortLike {
  sent = 0;
  received = 0;
  private handler: ((e: MessageEvent) => void) | null = null;

  constructor(
    private readonly real: MessagePort,
    private readonly onSend: (m: unknown) => void,
    private readonly onReceive: (m: unknown) => void,
    private readonly afterReceive: () => void,
    private readonly onError: (e: unknown) => void,
  ) {}

  postMessage(message: unknown, transfer?: Transferable[]): void {
    // Counted once posted: a post may throw (a buffer the runtime will not transfer), and the connection copies.
    if (transfer === undefined) this.real.postMessage(message);
    else this.real.postMessage(message, transfer);
    this.onSend(message);
    this.sent++;
  }

  get onmessage(): ((e: MessageEvent) => void) | null {
    return this.handler;
  }

  set onmessage(h: ((e: MessageEvent) => void) | null) {
    this.handler = h;
    this.real.onmessage = h === null ? null : (e: MessageEvent) => {
      this.received++;
      try {
        this.onReceive(e.data);
        h(e);
        this.afterReceive();
      } catch (err) {
        this.onError(err);
      }
    };
  }

  close(): void {
    this.real.close();
  }

  start(): void {
    this.real.start();
  }
}

/** The fake SharedRead of one "socket read" holding several frames, as broker/connection.ts's SocketRead counts them. */
class FakeRead implements SharedRead {
  cut = 0;
  enlisted = 0;
  out = 0;
  allowed = false;
  movedCalls = 0;
  constructor(
    readonly buffer: ArrayBuffer,
    readonly sealed: boolean,
    private readonly fail: (why: string) => void,
  ) {}
  enlist(): void {
    this.enlisted++;
  }
  lastOut(): boolean {
    this.out++;
    if (this.out > this.enlisted) this.fail(`shared read: ${this.out} frames out of ${this.enlisted} enlisted`);
    this.allowed = this.sealed && this.enlisted === this.cut && this.out === this.cut;
    return this.allowed;
  }
  moved(): void {
    if (!this.allowed || this.movedCalls > 0) this.fail(`shared read: moved() without lastOut() allowing it (moved ${this.movedCalls} times before)`);
    this.movedCalls++;
  }
}

/** Which buffers an end's connection is given: none (its own spares), a pool, or a pool and frame slots. */
export type BufferMode = "none" | "pool" | "slots";

/** Options of one run: each end's buffers. */
export interface PairOptions {
  buffers: [BufferMode, BufferMode];
}

/** What the echoing peer of a run in another thread reports when its connection closes (fixtures/port-echo-peer.ts). */
export interface PeerReport {
  run: number;
  written: number;
  received: number;
  closedItself: boolean;
  errors: string[];
}

/**
 * Two ends of a port connection over `ports` (a MessageChannel's two ports), driven by {@link PortModel.step}. With
 * `ports[1]` null, end 1 is a peer in another thread echoing everything end 0 writes (fixtures/port-echo-peer.ts):
 * only end 0 is modelled here, and it must receive its own stream back.
 */
export class PortModel {
  readonly ends: End[] = [];
  private readonly ports: ObservedPort[] = [];
  readonly errors: string[] = [];
  private readonly reads: FakeRead[] = [];
  /** Frame slot bytes lent by connections this thread had open before the run (never changed by it). */
  private readonly slotBaseline: number;

  /** End 1 is an echoing peer in another thread. */
  readonly remote: boolean;

  constructor(ports: [MessagePort, MessagePort | null], opts: PairOptions) {
    this.remote = ports[1] === null;
    const s = frameSlotBytes();
    this.slotBaseline = s.total - s.free;
    for (const index of [0, 1]) {
      const mode = opts.buffers[index];
      const end: End = {
        index,
        conn: null as unknown as Connection,
        closed: false,
        onCloseCalls: 0,
        closedItself: false,
        paused: false,
        written: 0,
        unacked: 0,
        blocked: false,
        drainsExpected: 0,
        drains: 0,
        lent: new Map(),
        lentBytes: 0,
        slotSize: new Map(),
        received: 0,
        toAck: 0,
        held: [],
        heldAtClose: [],
        pausedData: false,
        salt: index === 0 || this.remote ? 0 : 1_234_567,
        pool: mode === "none" ? null : [],
      };
      this.ends.push(end);
    }
    for (const index of this.remote ? [0] : [0, 1]) {
      const end = this.ends[index];
      const peer = this.ends[1 - index];
      const port = new ObservedPort(ports[index]!, (m) => this.sent(end, m), (m) => this.arrived(end, peer, m), () => this.checkDrains(), (e) => this.fail(`end ${index}: its port's message threw: ${e instanceof Error ? e.message : String(e)}`));
      this.ports.push(port);
      const mode = opts.buffers[index];
      const buffers: PortBuffers | undefined = end.pool === null ? undefined : {
        take: (size) => {
          const pool = end.pool!;
          const i = pool.findIndex((b) => b.byteLength >= size && b.byteLength <= 4 * size);
          return i < 0 ? null : pool.splice(i, 1)[0];
        },
        give: (buffer) => {
          const pool = end.pool!;
          if (buffer.byteLength === 0) this.fail(`end ${index}: a detached buffer came back to the pool`);
          if (pool.includes(buffer)) this.fail(`end ${index}: a buffer came back to the pool twice`);
          if (pool.length < 8) pool.push(buffer);
        },
        frameSlots: mode === "slots",
      };
      end.conn = openPortConnection(port, `end-${1 - index}`, () => ({
        onData: (chunk) => this.onData(end, chunk),
        onDrain: () => {
          if (end.closed) this.fail(`end ${index}: onDrain after close`);
          end.drains++;
        },
        onClose: () => {
          end.onCloseCalls++;
          if (end.onCloseCalls > 1) this.fail(`end ${index}: onClose ${end.onCloseCalls} times`);
          this.finished(end);
        },
      }), undefined, undefined, buffers);
    }
  }

  /** What the run exercised (for looking at the coverage of the generated runs). */
  stats(): Record<string, number> {
    return {
      written: this.ends[0].written + this.ends[1].written,
      received: this.ends[0].received + this.ends[1].received,
      drains: this.ends[0].drains + this.ends[1].drains,
      slotsLent: this.slotLends,
      moved: this.reads.filter((r) => r.movedCalls > 0).length,
      reads: this.reads.length,
      closed: this.ends.filter((e) => e.closed).length,
    };
  }

  private slotLends = 0;

  fail(why: string): void {
    this.errors.push(why);
  }

  /**
   * The connection of `end` finished (its own close or its peer's): slots it lent are written off; what it holds
   * it may still read (checked on).
   */
  private finished(end: End): void {
    end.closed = true;
    end.lent.clear();
    end.lentBytes = 0;
    end.pausedData = false;
    end.heldAtClose = end.held.filter((h) => h.view.buffer instanceof SharedArrayBuffer);
  }

  /** A message `end` posts. */
  private sent(end: End, m: unknown): void {
    if (typeof m === "number") {
      // An acknowledgement: what this end was handed since its last one, once that is ACK_BYTES or more.
      if (m !== end.toAck || m < PORT_CONNECTION_ACK_BYTES) this.fail(`end ${end.index}: acknowledged ${m} bytes, model ${end.toAck} (at ${PORT_CONNECTION_ACK_BYTES} or more)`);
      end.toAck = 0;
    } else if (m !== null && typeof m === "object" && typeof (m as { slot?: unknown }).slot === "number") {
      const { slot, shared, length } = m as { slot: number; shared?: SharedArrayBuffer; length: number };
      if (shared !== undefined) {
        if (end.slotSize.has(slot)) this.fail(`end ${end.index}: slot ${slot} shared twice`);
        end.slotSize.set(slot, shared.byteLength);
      }
      const size = end.slotSize.get(slot);
      if (size === undefined) this.fail(`end ${end.index}: slot ${slot} named before it was shared`);
      else if (length > size) this.fail(`end ${end.index}: a frame of ${length} bytes in slot ${slot} of ${size}`);
      if (end.lent.has(slot)) this.fail(`end ${end.index}: slot ${slot} lent again while its reader holds it`);
      end.lent.set(slot, size ?? 0);
      this.slotLends++;
      end.lentBytes += size ?? 0;
      if (end.lentBytes > PORT_CONNECTION_LENT_SLOT_BYTES) this.fail(`end ${end.index}: ${end.lentBytes} bytes of slots lent, above ${PORT_CONNECTION_LENT_SLOT_BYTES}`);
      this.checkSlotBytes();
    }
  }

  /** A message arriving at `end` (before the connection handles it). */
  private arrived(end: End, _peer: End, m: unknown): void {
    if (typeof m === "number") {
      end.unacked -= m;
      if (end.unacked < 0) this.fail(`end ${end.index}: acknowledged beyond what it wrote`);
      if (end.blocked && end.unacked <= PORT_CONNECTION_WINDOW_BYTES / 2) {
        end.blocked = false;
        end.drainsExpected++;
      }
    } else if (m !== null && typeof m === "object" && typeof (m as { free?: unknown }).free === "number") {
      const id = (m as { free: number }).free;
      const size = end.lent.get(id);
      if (size === undefined) this.fail(`end ${end.index}: slot ${id} freed but not lent`);
      else {
        end.lent.delete(id);
        end.lentBytes -= size;
      }
    }
  }

  private onData(end: End, chunk: Uint8Array): void {
    if (end.closed) this.fail(`end ${end.index}: data after close`);
    const peer = this.ends[1 - end.index];
    // A paused end is handed what its peer wrote before closing, as the close arrives (then onClose, in the same
    // call: a peer in another thread is known to have closed only then).
    if (end.paused && !peer.closed) {
      if (this.remote) end.pausedData = true;
      else this.fail(`end ${end.index}: data while paused`);
    }
    const offset = end.received;
    if (chunk.length === 0) this.fail(`end ${end.index}: an empty chunk`);
    if (end.toAck >= PORT_CONNECTION_ACK_BYTES) this.fail(`end ${end.index}: ${end.toAck} bytes delivered and not acknowledged at once`);
    if (offset + chunk.length > peer.written) this.fail(`end ${end.index}: ${offset + chunk.length} bytes received of ${peer.written} written`);
    else if (!holdsPattern(chunk, offset + peer.salt)) {
      this.fail(`end ${end.index}: the ${chunk.length} bytes at ${offset} are not what was written there`);
      if (process.env.PORT_MODEL_DEBUG) {
        let i = 0;
        while (chunk[i] === patternAt(offset + peer.salt + i, 1)[0]) i++;
        let j = chunk.length - 1;
        while (chunk[j] === patternAt(offset + peer.salt + j, 1)[0]) j--;
        const probe = Buffer.from(chunk.subarray(i, i + 32));
        const found = Buffer.from(PATTERN).indexOf(probe);
        const zeros = chunk.subarray(i, j + 1).every((v) => v === 0);
        console.log(`DEBUG chunk ${chunk.length} (buffer ${chunk.buffer.byteLength}, offset ${chunk.byteOffset}) at ${offset}: differs from ${i} to ${j}; zeros ${zeros}; those bytes are the pattern at ${found} (expected ${(offset + peer.salt + i) % PERIOD})`);
      }
    }
    end.received += chunk.length;
    end.toAck += chunk.length;
    if (chunk.length >= PORT_CONNECTION_OWN_FRAME_MIN_BYTES) end.held.push({ view: chunk, offset });
  }

  /** Every chunk an end holds still has its bytes (and those held by closed connections of earlier runs). */
  checkHeld(): void {
    for (const h of heldAfterClose) {
      if (!holdsPattern(h.view, h.at)) this.fail(`a chunk of ${h.view.length} bytes held when an earlier run's connection closed changed`);
    }
    for (const end of this.ends) {
      const peer = this.ends[1 - end.index];
      for (const h of end.held) {
        if (h.view.length === 0 || !holdsPattern(h.view, h.offset + peer.salt)) {
          this.fail(`end ${end.index}: a chunk of ${h.view.length} bytes it holds (at ${h.offset}) changed before it was given back`);
        }
      }
    }
  }

  /** This thread's slot bytes: bounded, and what is not free is what the open connections have lent (plus the baseline). */
  checkSlotBytes(): void {
    const s = frameSlotBytes();
    if (s.total > PORT_CONNECTION_SLOT_BYTES) this.fail(`thread slot bytes ${s.total} above ${PORT_CONNECTION_SLOT_BYTES}`);
    let lent = 0;
    for (const e of this.ends) lent += e.lentBytes;
    if (s.total - s.free !== this.slotBaseline + lent) this.fail(`thread slot bytes: ${s.total} with ${s.free} free, but ${lent} lent by this pair (baseline ${this.slotBaseline})`);
  }

  private write(end: End, chunks: Uint8Array[]): boolean {
    const r = end.conn.write(chunks);
    this.wrote(end, chunks.reduce((n, c) => n + c.length, 0), r);
    return r;
  }

  /** The model's side of a write of `n` bytes that returned `r`. */
  private wrote(end: End, n: number, r: boolean): void {
    if (end.closed) {
      if (r !== true) this.fail(`end ${end.index}: a write after close returned false`);
      return;
    }
    end.written += n;
    // An echoing peer writes back what it is sent: at most this much.
    if (this.remote) this.ends[1].written = end.written;
    end.unacked += n;
    if (end.unacked > PORT_CONNECTION_WINDOW_BYTES) end.blocked = true;
    if (r !== !end.blocked) this.fail(`end ${end.index}: write returned ${r} with ${end.unacked} bytes unacknowledged (${end.blocked ? "above" : "within"} the window since the last drain)`);
  }

  /** The next `n` bytes of `end`'s stream, in a buffer of their own (at `at` in one of `room` bytes). */
  private next(end: End, n: number, at = 0, room = n): Uint8Array {
    const buf = new Uint8Array(room);
    buf.set(patternAt(end.written + end.salt, n), at);
    return buf.subarray(at, at + n);
  }

  /** Runs one operation. */
  async step(op: Op): Promise<void> {
    switch (op.k) {
      case "write": {
        const end = this.ends[op.end];
        let o = end.written;
        const chunks = op.sizes.map((n) => {
          const c = Uint8Array.from(patternAt(o + end.salt, n));
          o += n;
          return c;
        });
        this.write(end, chunks);
        break;
      }
      case "frame": {
        const end = this.ends[op.end];
        const prefix = this.next(end, 4);
        const o = end.written + 4;
        const room = op.kind === "movable-view" ? op.size + 100 : op.size;
        // A movable body in memory the runtime cannot transfer (a SharedArrayBuffer): its move fails, it is copied.
        const body = op.kind === "movable-shared" ? new Uint8Array(new SharedArrayBuffer(room)) : new Uint8Array(room);
        body.set(patternAt(o + end.salt, op.size), op.kind === "movable-view" ? 60 : 0);
        const view = op.kind === "movable-view" ? body.subarray(60, 60 + op.size) : body;
        if (op.kind === "copied") {
          // A body that shares its buffer with something else: not to be moved.
          const r = end.conn.writeFrame!(prefix, view, false);
          this.wrote(end, 4 + op.size, r);
        } else this.wrote(end, 4 + op.size, end.conn.writeFrame!(prefix, view, true));
        break;
      }
      case "burst": {
        // Several frames in one turn: back-pressure, and acknowledgements that come in several steps.
        for (let i = 0; i < op.count; i++) await this.step({ k: "frame", end: op.end, size: op.size, kind: op.kind });
        break;
      }
      case "cycle": {
        // A frame handed back as soon as it arrives, then the next: its slot or buffer serves again on this connection.
        for (let i = 0; i < op.times; i++) {
          await this.step({ k: "frame", end: op.end, size: op.size, kind: op.kind });
          await this.step({ k: "wait", how: "settle" });
          await this.step({ k: "giveBack", end: 1 - op.end, pick: 0, body: i % 2 === 0, latest: true });
          await this.step({ k: "wait", how: "settle" });
        }
        break;
      }
      case "read": {
        // One socket read holding every frame (its size prefix and body), written in turn to their ends.
        let total = 0;
        for (const f of op.frames) total += 4 + f.size;
        const buffer = new ArrayBuffer(total + (op.plainCut ? 8 : 0));
        const read = new FakeRead(buffer, op.sealed, (why) => this.fail(why));
        this.reads.push(read);
        read.cut = op.frames.length + (op.plainCut ? 1 : 0);
        let at = 0;
        for (const f of op.frames) {
          const end = this.ends[f.end];
          const bytes = new Uint8Array(buffer, at, 4 + f.size);
          bytes.set(patternAt(end.written + end.salt, 4 + f.size));
          at += 4 + f.size;
          const prefix = Uint8Array.from(bytes.subarray(0, 4));
          this.wrote(end, 4 + f.size, end.conn.writeFrame!(prefix, bytes.subarray(4), false, read));
        }
        break;
      }
      case "pause": {
        const end = this.ends[op.end];
        end.conn.pause();
        if (!end.closed) end.paused = true;
        break;
      }
      case "resume": {
        const end = this.ends[op.end];
        end.paused = false;
        end.conn.resume();
        break;
      }
      case "giveBack": {
        const end = this.ends[op.end];
        if (end.held.length === 0) break;
        const [h] = end.held.splice(op.latest === true ? end.held.length - 1 : op.pick % end.held.length, 1);
        end.conn.giveBack!(op.body && h.view.length > 4 ? h.view.subarray(4) : h.view);
        break;
      }
      case "close": {
        const end = this.ends[op.end];
        const was = end.closed;
        if (!was) end.closedItself = true;
        end.conn.close(op.graceful);
        if (!was && end.onCloseCalls !== 1) this.fail(`end ${op.end}: close() did not call onClose once (${end.onCloseCalls})`);
        end.closed = true;
        break;
      }
      case "wait": {
        if (op.how === "micro") await Promise.resolve();
        else if (op.how === "task") await new Promise((r) => setTimeout(r, 0));
        else await this.settle();
        this.checkHeld();
        this.checkSlotBytes();
        this.checkDrains();
        break;
      }
    }
    for (const read of this.reads) {
      if (read.movedCalls > 0 && read.buffer.byteLength !== 0) this.fail("shared read: moved() but its buffer is still here");
      if (read.movedCalls === 0 && read.buffer.byteLength === 0) this.fail("shared read: its buffer moved without moved()");
    }
  }

  /** Each end was told of a drain exactly when the model's writer came down to half the window after a block. */
  private checkDrains(): void {
    for (const e of this.ends) if (e.pausedData) this.fail(`end ${e.index}: data while paused`);
    for (const e of this.ends) if (e.drains !== e.drainsExpected) this.fail(`end ${e.index}: ${e.drains} drains, model ${e.drainsExpected}`);
  }

  /** Waits until every message posted has reached its port (or that port's connection finished). */
  async settle(): Promise<void> {
    if (this.remote) return this.settleEcho();
    const deadline = Date.now() + SETTLE_MS;
    for (;;) {
      await new Promise((r) => setTimeout(r, 0));
      const quiet = [0, 1].every((x) => this.ends[1 - x].closed || this.ports[x].sent === this.ports[1 - x].received);
      if (quiet || this.errors.length > 0) return;
      if (Date.now() > deadline) throw new ModelError(`port messages never settled: sent ${this.ports.map((p) => p.sent)}, received ${this.ports.map((p) => p.received)}`);
    }
  }

  /**
   * With an echoing peer: waits until end 0 has its whole stream back (or a close); while end 0 is paused, a few
   * turns. The peer may pause and give frames back late: the model's checks do not depend on when.
   */
  private async settleEcho(): Promise<void> {
    const end = this.ends[0];
    const deadline = Date.now() + SETTLE_MS;
    for (let i = 0; ; i++) {
      await new Promise((r) => setTimeout(r, i < 10 ? 0 : 1));
      // A failed check ends the wait: the echo may never match (more bytes than written, say).
      if (end.closed || this.errors.length > 0 || (end.paused ? i >= 3 : end.received === end.written)) return;
      if (Date.now() > deadline) throw new ModelError(`the echo never came back: ${end.received} of ${end.written} bytes`);
    }
  }

  /**
   * Ends a run with an echoing peer: end 0 resumes and gets its whole stream back, gives back what it holds, and
   * sees the peer give back every frame (no slot left lent); then it closes, and the peer's report (`report`,
   * resolving once the peer's connection closed) agrees: it received what end 0 wrote, and end 0 what it wrote.
   */
  async finishEcho(report: Promise<PeerReport>): Promise<void> {
    const end = this.ends[0];
    await this.step({ k: "resume", end: 0 });
    await this.step({ k: "wait", how: "settle" });
    while (end.held.length > 0) await this.step({ k: "giveBack", end: 0, pick: 0, body: false });
    const deadline = Date.now() + SETTLE_MS;
    while (!end.closed && end.lentBytes > 0 && this.errors.length === 0) {
      await new Promise((r) => setTimeout(r, 1));
      if (Date.now() > deadline) {
        this.fail(`end 0: ${end.lentBytes} bytes of slots still lent to the peer, which gives every frame back`);
        break;
      }
    }
    const closedBefore = end.closed;
    await this.step({ k: "close", end: 0, graceful: false });
    const peer = await report;
    for (const e of peer.errors) this.fail(`peer: ${e}`);
    if (!peer.closedItself && peer.received !== end.written) this.fail(`peer received ${peer.received} of ${end.written} bytes written`);
    if (peer.received > end.written) this.fail(`peer received ${peer.received} bytes, more than the ${end.written} written`);
    if (peer.written !== peer.received && !peer.closedItself) this.fail(`peer wrote back ${peer.written} of ${peer.received} bytes`);
    // Unless end 0 closed first, it got everything the peer wrote before its close.
    if ((!closedBefore || !end.closedItself) && end.received !== peer.written) this.fail(`end 0: received ${end.received} of the ${peer.written} bytes the peer wrote`);
    await this.step({ k: "wait", how: "task" });
    if (end.onCloseCalls !== 1) this.fail(`end 0: onClose ${end.onCloseCalls} times`);
    this.checkSlotBytes();
  }

  /**
   * Ends the run: resumes both ends and settles; without a close, each end received exactly what the other wrote;
   * every held frame is given back and the slots lent return to none; then both close, and nothing is lent.
   */
  async finish(): Promise<void> {
    for (const end of this.ends) await this.step({ k: "resume", end: end.index });
    await this.step({ k: "wait", how: "settle" });
    for (const end of this.ends) {
      const peer = this.ends[1 - end.index];
      // Open, or closed by its peer (everything the peer wrote was flushed before its close): all of the peer's bytes.
      if ((!end.closed || !end.closedItself) && end.received !== peer.written) this.fail(`end ${end.index}: received ${end.received} of ${peer.written} bytes written${end.closed ? " before the peer closed" : ""}`);
    }
    for (const end of this.ends) {
      while (end.held.length > 0) await this.step({ k: "giveBack", end: end.index, pick: 0, body: false });
    }
    await this.step({ k: "wait", how: "settle" });
    for (const end of this.ends) {
      if (end.lentBytes !== 0) this.fail(`end ${end.index}: ${end.lentBytes} bytes of slots still lent once all was given back`);
    }
    await this.step({ k: "close", end: 0, graceful: false });
    await this.step({ k: "wait", how: "settle" });
    // What an end held when it closed stays readable: checked again in the runs after this one.
    for (const end of this.ends) {
      const peer = this.ends[1 - end.index];
      for (const h of end.heldAtClose) heldAfterClose.push({ view: h.view, at: h.offset + peer.salt });
    }
    heldAfterClose.splice(0, Math.max(0, heldAfterClose.length - HELD_AFTER_CLOSE_MAX));
    for (const end of this.ends) if (end.onCloseCalls !== 1) this.fail(`end ${end.index}: onClose ${end.onCloseCalls} times`);
    this.checkSlotBytes();
  }
}

const K = 1024;
const M = K * K;
/** Most bytes one run writes (both ends together): keeps a run to tens of milliseconds. */
const RUN_BYTES = 40 * M;

const smallOrLarge = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 300 }) },
  { weight: 1, arbitrary: fc.constantFrom(64 * K - 1, 64 * K, M, 3 * M) },
);
const frameSize = fc.oneof({ weight: 1, arbitrary: fc.constantFrom(...FRAME_SIZES) }, { weight: 2, arbitrary: fc.integer({ min: 64 * K, max: 400 * K }) });
const kind = fc.constantFrom<FrameKind>("movable", "movable-view", "movable-shared", "copied");
/** One operation on end 0 or 1 (`ends` 2), or on end 0 only (1: its peer is elsewhere). */
const opOn = (ends: 1 | 2): fc.Arbitrary<Op> => {
  const end = fc.integer({ min: 0, max: ends - 1 });
  return fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant("write" as const), end, sizes: fc.array(smallOrLarge, { minLength: 1, maxLength: 4 }) }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant("frame" as const), end, size: frameSize, kind }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("burst" as const), end, size: fc.constantFrom(M - 4, M + 1, 2 * M - 4, 4 * M - 4), count: fc.integer({ min: 2, max: 6 }), kind }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("cycle" as const), end, size: fc.constantFrom(64 * K, 128 * K - 4, 200 * K), times: fc.integer({ min: 2, max: 4 }), kind }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant("read" as const),
      frames: fc.array(fc.record({ end, size: fc.oneof(fc.constantFrom(64 * K, 64 * K + 1, 128 * K - 4), fc.integer({ min: 64 * K, max: 300 * K })) }), { minLength: 1, maxLength: 3 }),
      plainCut: fc.boolean(),
      sealed: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("pause" as const), end }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("resume" as const), end }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant("giveBack" as const), end, pick: fc.nat(), body: fc.boolean(), latest: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("close" as const), end, graceful: fc.boolean() }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant("wait" as const), how: fc.constantFrom("micro" as const, "task" as const, "settle" as const) }) },
  );
};

/** The operations up to RUN_BYTES of writes. */
function withinBudget(ops: Op[]): Op[] {
  let bytes = 0;
  const out: Op[] = [];
  for (const o of ops) {
    if (o.k === "write") bytes += o.sizes.reduce((n, s) => n + s, 0);
    else if (o.k === "frame") bytes += o.size + 4;
    else if (o.k === "burst") bytes += o.count * (o.size + 4);
    else if (o.k === "cycle") bytes += o.times * (o.size + 4);
    else if (o.k === "read") bytes += o.frames.reduce((n, f) => n + f.size + 4, 0);
    if (bytes > RUN_BYTES) break;
    out.push(o);
  }
  return out;
}

const mode = fc.constantFrom<BufferMode>("none", "pool", "slots");


/** Collects errors that escape to the thread (a throw in a microtask, as a flush runs in). */
function escapes(): { taken(): string[]; stop(): void } {
  const escaped: unknown[] = [];
  const onEscape = (e: unknown) => void escaped.push(e);
  process.on("uncaughtException", onEscape);
  return {
    taken: () => escaped.splice(0).map((e) => (e instanceof Error ? e.message : String(e))),
    stop: () => void process.off("uncaughtException", onEscape),
  };
}

/** Throws the run's failed checks (the first few), with what it exercised when PORT_MODEL_STATS is set. */
function verdict(model: PortModel, escaped: string[], extra: Record<string, unknown>): void {
  for (const e of escaped) model.fail(`escaped: ${e}`);
  if (process.env.PORT_MODEL_STATS) console.log(JSON.stringify({ ...extra, ...model.stats(), slots: frameSlotBytes() }));
  if (model.errors.length > 0) throw new ModelError(model.errors.slice(0, 5).join("\n"));
}

/** `numRuns` random runs with both ends in this thread. */
export async function pairProperty(numRuns: number): Promise<void> {
  const escaped = escapes();
  try {
    await fc.assert(
      fc.asyncProperty(mode, mode, fc.array(opOn(2), { minLength: 1, maxLength: 60 }), async (m0, m1, all) => {
        const ops = withinBudget(all);
        const model = new PortModel(messagePortPair(), { buffers: [m0, m1] });
        for (const o of ops) await model.step(o);
        await model.finish();
        verdict(model, escaped.taken(), { m0, m1, ops: ops.length });
      }),
      { numRuns, includeErrorInReport: true },
    );
  } finally {
    escaped.stop();
  }
}

/** What the echoing peer is sent for one run. */
export interface PeerRun {
  port: MessagePort;
  run: number;
  seed: number;
  buffers: BufferMode;
  /** The peer closes once it has received this many bytes (null: never, end 0 closes). */
  closeAfter: number | null;
}

/** An echoing peer in a Worker thread for {@link crossRun}s; `stop` ends its thread. */
export function echoPeer(): { run(m0: BufferMode, m1: BufferMode, seed: number, closeAfter: number | null, ops: Op[]): Promise<PortModel>; stop(): Promise<void> } {
  const peer: WorkerHandle<PeerRun, PeerReport> = spawnWorker(new URL("./fixtures/port-echo-peer.ts", import.meta.url), {});
  const reports = new Map<number, (r: PeerReport) => void>();
  peer.onMessage((r) => reports.get(r.run)?.(r));
  let exited: Error | null | undefined;
  peer.onExit((e) => (exited = e));
  let next = 0;
  return {
    async run(m0, m1, seed, closeAfter, ops) {
      const [mine, theirs] = messagePortPair();
      const id = next++;
      const report = new Promise<PeerReport>((resolve) => reports.set(id, resolve));
      peer.post({ port: theirs, run: id, seed, buffers: m1, closeAfter }, [theirs]);
      const model = new PortModel([mine, null], { buffers: [m0, m1] });
      for (const o of ops) await model.step(o);
      await model.finishEcho(report);
      reports.delete(id);
      if (exited !== undefined) model.fail(`the peer's thread exited: ${exited?.message ?? "cleanly"}`);
      return model;
    },
    stop: () => peer.terminate(),
  };
}

/**
 * `numRuns` random runs with end 0 in this thread and an echoing peer in a Worker thread (as a sharded node's front
 * and shards are), each peer connection with its own buffers, pauses and late give-backs (seeded), some closing first.
 */
export async function crossProperty(numRuns: number): Promise<void> {
  const peer = echoPeer();
  const escaped = escapes();
  try {
    await fc.assert(
      fc.asyncProperty(mode, mode, fc.integer(), fc.option(fc.integer({ min: 1, max: 8 * 1024 * 1024 }), { freq: 2 }), fc.array(opOn(1), { minLength: 1, maxLength: 40 }), async (m0, m1, seed, closeAfter, all) => {
        const ops = withinBudget(all);
        const model = await peer.run(m0, m1, seed, closeAfter, ops);
        verdict(model, escaped.taken(), { m0, m1, closeAfter, ops: ops.length });
      }),
      { numRuns, includeErrorInReport: true },
    );
  } finally {
    escaped.stop();
    await peer.stop();
  }
}
