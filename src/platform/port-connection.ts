/**
 * A {@link Connection} (src/platform/net.ts) over a MessagePort, so the Kafka connection layer and our client run
 * unchanged between threads. Both ends are the same: bytes written on one are delivered, in order, on the other.
 *
 * On the port: an ArrayBuffer is data (the views of every write of one event-loop turn, copied into one fresh buffer
 * that is not zero-filled first, which is transferred, not cloned: one message per turn however many responses a
 * turn writes); a Uint8Array is data too: one request frame of `writeFrame` of at least
 * {@link PORT_CONNECTION_OWN_FRAME_MIN_BYTES} (a Produce a front forwards to its shard) in a transferred buffer of its own, the sender's own when it may move, else a copy in a buffer the reader
 * sent back earlier (a frame that shares its socket read with other frames, {@link SharedRead}, takes the read's
 * buffer along when it is the last of them sent, the others copied out before it); `{ back: ArrayBuffer }` is such a buffer sent back by the reader once its handler is done with
 * the frame (`giveBack`), so frames cost no fresh allocation and no garbage in either thread; a number
 * acknowledges that many delivered bytes (sent once {@link PORT_CONNECTION_ACK_BYTES} have been delivered, so
 * acknowledgements are rare); the string "close" ends the connection, which the peer sees as
 * {@link ConnectionHandler.onClose}. A writer with more than {@link PORT_CONNECTION_WINDOW_BYTES} unacknowledged
 * bytes gets `false` from `write` and `onDrain` once it is down to half of that, as with a socket; a paused reader
 * keeps what arrives and acknowledges it only when it resumes; when the peer closes, what it wrote before its close
 * is delivered before {@link ConnectionHandler.onClose}, paused or not. As with our sockets, written views must not
 * change after `write` (they are copied at the end of the turn).
 */
import type { Connection, ConnectionHandler, SharedRead } from "./net.ts";
import { Buffer } from "node:buffer";

/** Unacknowledged bytes a writer may have in flight before `write` reports back-pressure. */
export const PORT_CONNECTION_WINDOW_BYTES = 4 * 1024 * 1024;
/**
 * Delivered bytes a reader acknowledges at once: under half the window, so a blocked writer always gets an
 * acknowledgement that brings it down to half (what is left unacknowledged is below this).
 */
export const PORT_CONNECTION_ACK_BYTES = PORT_CONNECTION_WINDOW_BYTES / 4;
/** Smallest `writeFrame` body sent in a message of its own (smaller ones are copied with the rest of their turn). */
export const PORT_CONNECTION_OWN_FRAME_MIN_BYTES = 64 * 1024;
/** Most bytes of buffers sent back by the reader that a writer keeps for its next frames. */
export const PORT_CONNECTION_SPARE_BYTES = 2 * PORT_CONNECTION_WINDOW_BYTES;

const CLOSE = "close";

/** Most bytes of {@link SharedArrayBuffer} frame slots one thread's port connections have (free or lent). */
export const PORT_CONNECTION_SLOT_BYTES = 64 * 1024 * 1024;
/** Most bytes of slots one connection may have lent to its reader at once (beyond that it transfers buffers). */
export const PORT_CONNECTION_LENT_SLOT_BYTES = 2 * PORT_CONNECTION_WINDOW_BYTES;
/** Largest frame (size prefix included) sent in a slot; larger ones go in transferred buffers. */
export const PORT_CONNECTION_SLOT_MAX_FRAME_BYTES = PORT_CONNECTION_WINDOW_BYTES;
/** A new slot's size is its first frame's rounded up to this. */
const SLOT_GRANULE = 64 * 1024;

/**
 * This thread's frame slots: SharedArrayBuffers a writer copies `writeFrame` bodies into. A slot is shared with a
 * connection's reader once and then named by number, so no buffer crosses the port per frame: a transferred (or
 * posted) buffer counts as freshly allocated memory in the receiving thread's JS heap and so brings its garbage
 * collections forward (bench/transfer-gc.ts: one per 4-8 MB received), a named slot does not. Slots are never
 * dropped while free (their bytes are bounded by {@link PORT_CONNECTION_SLOT_BYTES}); a slot lent to a connection
 * that closes is written off (its reader may still read it) and its bytes counted out.
 */
const freeSlots: SharedArrayBuffer[] = [];
let slotBytes = 0;

/**
 * The smallest free slot of `n` to `most` bytes, else a new one (`n` rounded up to {@link SLOT_GRANULE}) if that is
 * at most `most` bytes and the thread's slots allow, else null.
 */
function takeSlot(n: number, most: number): SharedArrayBuffer | null {
  let best = -1;
  for (let i = 0; i < freeSlots.length; i++) {
    const size = freeSlots[i].byteLength;
    if (size >= n && size <= most && (best < 0 || size < freeSlots[best].byteLength)) best = i;
  }
  if (best >= 0) {
    const s = freeSlots[best];
    freeSlots[best] = freeSlots[freeSlots.length - 1];
    freeSlots.pop();
    return s;
  }
  const size = Math.ceil(n / SLOT_GRANULE) * SLOT_GRANULE;
  if (size > most || slotBytes + size > PORT_CONNECTION_SLOT_BYTES) return null;
  slotBytes += size;
  return new SharedArrayBuffer(size);
}

/**
 * This thread's frame slot bytes: `total` (free, or lent to a connection still open: what
 * {@link PORT_CONNECTION_SLOT_BYTES} bounds) and `free` (ready for the next frames), for tests and metrics.
 */
export function frameSlotBytes(): { total: number; free: number } {
  let free = 0;
  for (const s of freeSlots) free += s.byteLength;
  return { total: slotBytes, free };
}

/**
 * Free buffers a writer copies `writeFrame` bodies into and takes back the buffers the reader sends back into (a
 * sharded node's front shares its listeners' frame buffer pool so; without one, a connection keeps its own).
 */
export interface PortBuffers {
  /** A free buffer of at least `size` bytes, or null. */
  take(size: number): ArrayBuffer | null;
  /** A buffer sent back by the reader. */
  give(buffer: ArrayBuffer): void;
  /** `writeFrame` bodies go in this thread's frame slots (SharedArrayBuffers named by number) rather than moved or copied buffers. */
  readonly frameSlots?: boolean;
}

/** The part of the web MessagePort used here (Bun's and Deno's, and node:worker_threads' ports alike). */
export interface PortLike {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent) => void) | null;
  close(): void;
  start?(): void;
}

/**
 * Runs one end of a connection over `port`: calls `onConnection` at once with the {@link Connection} and feeds
 * the returned handler. `remote` names the peer ("shard-1", or the front's client address) for logs; `remoteIp`
 * defaults to it; `client` carries who the front's client is (principal, listener name, whether it reads file slices) to a shard.
 */
export function openPortConnection(
  port: PortLike,
  remote: string,
  onConnection: (c: Connection) => ConnectionHandler,
  remoteIp: string = remote,
  client: { principal?: string; listenerName?: string; fileSlices?: boolean; fetchQuotaAtFront?: boolean; produceCheckedAtFront?: boolean } = {},
  buffers?: PortBuffers,
): Connection {
  let unacked = 0;
  let blocked = false;
  let paused = false;
  let closed = false;
  let held: Uint8Array[] = [];
  let handler: ConnectionHandler | null = null;

  const finish = () => {
    if (closed) return;
    closed = true;
    held = [];
    // Slots still lent are written off: the reader may still read them.
    for (const slot of lentSlots.values()) slotBytes -= slot.byteLength;
    lentSlots.clear();
    lentSlotBytes = 0;
    peerSlots.clear();
    heldSlots.clear();
    port.onmessage = null;
    port.close();
    handler?.onClose();
  };
  let toAck = 0;
  const deliver = (bytes: Uint8Array) => {
    handler!.onData(bytes);
    toAck += bytes.length;
    if (toAck >= PORT_CONNECTION_ACK_BYTES && !closed) {
      port.postMessage(toAck);
      toAck = 0;
    }
  };
  // The writes of this turn, posted together at its end; a `writeFrame` body (in `frames`) goes in a message of its own.
  let pending: Uint8Array[] = [];
  let frames: Map<Uint8Array, { movable: boolean; read: SharedRead | undefined }> | null = null;
  /** Buffers the reader sent back, for the next frames' copies (at most {@link PORT_CONNECTION_SPARE_BYTES}). */
  const spares: ArrayBuffer[] = [];
  let spareBytes = 0;
  /** Buffers of frames received in messages of their own, not yet given back. */
  const lent = new WeakSet<ArrayBuffer>();
  /** Writer: the number this connection's reader knows each slot by, and the slots lent to it (a frame in them not given back). */
  const slotIds = new WeakMap<SharedArrayBuffer, number>();
  let nextSlotId = 0;
  const lentSlots = new Map<number, SharedArrayBuffer>();
  let lentSlotBytes = 0;
  /** Reader: the writer's slots by number, and the numbers of those holding a frame not yet given back. */
  const peerSlots = new Map<number, SharedArrayBuffer>();
  const heldSlots = new Map<SharedArrayBuffer, number>();
  /**
   * A slot for a frame of `n` bytes (prefix included), or null: too large, or no slot fits in what the lent bound
   * leaves (a slot counts whole: a free slot larger than that room is not taken), or none left.
   */
  const slotFor = (n: number): SharedArrayBuffer | null => {
    if (buffers?.frameSlots !== true || n > PORT_CONNECTION_SLOT_MAX_FRAME_BYTES) return null;
    return takeSlot(n, PORT_CONNECTION_LENT_SLOT_BYTES - lentSlotBytes);
  };
  /** Posts a frame's size prefix and body copied into `slot`, named by number (the slot itself the first time). */
  const postFrameSlot = (slot: SharedArrayBuffer, prefix: Uint8Array, body: Uint8Array): void => {
    // slotFor only hands out a slot that fits the room left: asserted before anything changes.
    if (lentSlotBytes + slot.byteLength > PORT_CONNECTION_LENT_SLOT_BYTES) throw new Error(`port connection to ${remote}: lending a slot of ${slot.byteLength} bytes would put ${lentSlotBytes + slot.byteLength} bytes of frame slots lent, above ${PORT_CONNECTION_LENT_SLOT_BYTES}`);
    const n = prefix.length + body.length;
    const out = new Uint8Array(slot, 0, n);
    out.set(prefix, 0);
    out.set(body, prefix.length);
    let id = slotIds.get(slot);
    const first = id === undefined;
    if (id === undefined) {
      id = nextSlotId++;
      slotIds.set(slot, id);
    }
    lentSlots.set(id, slot);
    lentSlotBytes += slot.byteLength;
    port.postMessage(first ? { slot: id, length: n, shared: slot } : { slot: id, length: n });
  };
  /** Posts `views` copied into one fresh buffer of its own (not zero-filled first: every byte is copied over at once). */
  const postCopy = (views: Uint8Array[]) => {
    if (views.length === 0) return;
    let n = 0;
    for (const c of views) n += c.length;
    const out = Buffer.allocUnsafeSlow(n);
    if (out.byteOffset !== 0 || out.buffer.byteLength !== n) throw new Error(`port connection to ${remote}: a fresh buffer of ${n} bytes shares its memory`);
    let at = 0;
    for (const c of views) {
      out.set(c, at);
      at += c.length;
    }
    const buf = out.buffer as ArrayBuffer;
    port.postMessage(buf, [buf]);
  };
  /** Posts a frame's size prefix and body copied into a spare buffer (one of n to 2n bytes) or a fresh one. */
  const postFrameCopy = (prefix: Uint8Array, body: Uint8Array) => {
    const n = prefix.length + body.length;
    let buf: ArrayBuffer | null = buffers?.take(n) ?? null;
    for (let i = spares.length - 1; i >= 0 && buf === null; i--) {
      if (spares[i].byteLength < n || spares[i].byteLength > 2 * n) continue;
      buf = spares[i];
      spares[i] = spares[spares.length - 1];
      spares.pop();
      spareBytes -= buf.byteLength;
    }
    buf ??= Buffer.allocUnsafeSlow(n).buffer as ArrayBuffer;
    const out = new Uint8Array(buf, 0, n);
    out.set(prefix, 0);
    out.set(body, prefix.length);
    port.postMessage(out, [buf]);
  };
  const flush = () => {
    if (pending.length === 0 || closed) return;
    const turn = pending;
    const own = frames;
    pending = [];
    frames = null;
    if (own === null) return postCopy(turn);
    let from = 0;
    for (let i = 0; i < turn.length; i++) {
      const frame = own.get(turn[i]);
      if (frame === undefined) continue;
      // turn[i - 1] is the frame's size prefix.
      const body = turn[i];
      let moved = false;
      // A frame sharing its socket read with others moves the read's buffer when it is the last of them out.
      const lastOfRead = !frame.movable && frame.read !== undefined && frame.read.lastOut();
      const slot = slotFor(turn[i - 1].length + body.length);
      if (slot !== null) {
        // Copied into a slot: the frame's buffer stays here (a read it shares does not move, as when a move fails).
        postCopy(turn.slice(from, i - 1));
        postFrameSlot(slot, turn[i - 1], body);
      } else if (frame.movable || lastOfRead) {
        postCopy(turn.slice(from, i));
        try {
          port.postMessage(body, [body.buffer as ArrayBuffer]);
          moved = true;
          if (lastOfRead) frame.read!.moved();
        } catch {
          // A buffer the runtime does not let go: copied below, without its prefix (already posted).
        }
        if (!moved) postFrameCopy(new Uint8Array(0), body);
      } else {
        postCopy(turn.slice(from, i - 1));
        postFrameCopy(turn[i - 1], body);
      }
      from = i + 1;
    }
    postCopy(turn.slice(from));
  };

  const conn: Connection = {
    remote,
    remoteIp,
    peerSubject: null,
    principal: client.principal,
    listenerName: client.listenerName,
    fileSlices: client.fileSlices,
    fetchQuotaAtFront: client.fetchQuotaAtFront,
    produceCheckedAtFront: client.produceCheckedAtFront,
    write(chunks) {
      if (closed) return true;
      for (const c of chunks) {
        if (c.length === 0) continue;
        if (pending.length === 0) queueMicrotask(flush);
        pending.push(c);
        unacked += c.length;
      }
      if (unacked > PORT_CONNECTION_WINDOW_BYTES) blocked = true;
      return !blocked;
    },
    writeFrame(prefix, body, movable, read) {
      if (prefix.length !== 4 || body.length === 0) throw new Error(`port connection to ${remote}: a frame is a 4-byte prefix and a body`);
      if (!closed && body.length >= PORT_CONNECTION_OWN_FRAME_MIN_BYTES) {
        (frames ??= new Map()).set(body, { movable, read });
        if (!movable) read?.enlist();
      }
      return conn.write([prefix, body]);
    },
    giveBack(frame) {
      const slot = heldSlots.get(frame.buffer as SharedArrayBuffer);
      if (slot !== undefined) {
        heldSlots.delete(frame.buffer as SharedArrayBuffer);
        if (!closed) port.postMessage({ free: slot });
        return;
      }
      const buf = frame.buffer as ArrayBuffer;
      if (closed || !lent.has(buf)) return;
      lent.delete(buf);
      // A buffer something here moved on (detached) is not sent back; the writer allocates another.
      if (buf.byteLength > 0) port.postMessage({ back: buf }, [buf]);
    },
    pause() {
      paused = true;
    },
    resume() {
      if (!paused) return;
      paused = false;
      while (!paused && !closed && held.length > 0) deliver(held.shift()!);
    },
    close() {
      if (closed) return;
      flush();
      port.postMessage(CLOSE);
      finish();
    },
  };

  port.onmessage = (event: MessageEvent) => {
    if (closed) return;
    const m = event.data;
    if (m instanceof ArrayBuffer || m instanceof Uint8Array) {
      let bytes: Uint8Array;
      if (m instanceof Uint8Array) {
        bytes = m;
        lent.add(m.buffer as ArrayBuffer);
      } else bytes = new Uint8Array(m);
      if (paused || held.length > 0) held.push(bytes);
      else deliver(bytes);
    } else if (typeof m === "number") {
      unacked -= m;
      if (unacked < 0) throw new Error(`port connection to ${remote}: acknowledged more than was sent`);
      if (blocked && unacked <= PORT_CONNECTION_WINDOW_BYTES / 2) {
        blocked = false;
        handler?.onDrain();
      }
    } else if (m === CLOSE) {
      // The peer's stream ends here: what it wrote before its close is handed over first, paused or not (as a
      // same-thread pair does, src/shard/local-connection.ts), then the close.
      paused = false;
      while (!closed && held.length > 0) deliver(held.shift()!);
      finish();
    } else if (m !== null && typeof m === "object" && typeof m.slot === "number") {
      if (m.shared instanceof SharedArrayBuffer) peerSlots.set(m.slot, m.shared);
      const shared = peerSlots.get(m.slot);
      if (shared === undefined || heldSlots.has(shared)) throw new Error(`port connection to ${remote}: frame slot ${m.slot} unknown or still held`);
      heldSlots.set(shared, m.slot);
      const bytes = new Uint8Array(shared, 0, m.length);
      if (paused || held.length > 0) held.push(bytes);
      else deliver(bytes);
    } else if (m !== null && typeof m === "object" && typeof m.free === "number") {
      const slot = lentSlots.get(m.free);
      if (slot === undefined) throw new Error(`port connection to ${remote}: frame slot ${m.free} freed but not lent`);
      lentSlots.delete(m.free);
      lentSlotBytes -= slot.byteLength;
      freeSlots.push(slot);
    } else if (m !== null && typeof m === "object" && m.back instanceof ArrayBuffer) {
      if (buffers !== undefined) buffers.give(m.back);
      else if (spareBytes + m.back.byteLength <= PORT_CONNECTION_SPARE_BYTES) {
        spares.push(m.back);
        spareBytes += m.back.byteLength;
      }
    }
  };
  port.start?.();
  handler = onConnection(conn);
  // Closed while being accepted (its acceptor refused it): the handler, which there was none of yet, hears it now.
  if (closed) handler.onClose();
  return conn;
}

/** Closes a port no connection was opened on (nobody to accept it): the other end sees its connection closed. */
export function refusePortConnection(port: PortLike): void {
  port.postMessage(CLOSE);
  port.close();
}
