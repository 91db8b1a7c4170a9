/**
 * A {@link Connection} (src/platform/net.ts) between two threads, so the Kafka connection layer and our client run
 * unchanged between a front and a shard. Both ends are the same: bytes written on one are delivered, in order, on
 * the other.
 *
 * Each direction is a byte ring in a SharedArrayBuffer (./shared-ring.ts) made by its reader, whose buffer is the
 * only thing that crosses the MessagePort (at the start, shared, not copied). The writes of one event-loop turn are
 * copied into the peer's ring at the end of the turn and published with one atomic store; the reader copies them
 * out in one buffer per wake-up and frees the space. An end that has nothing to do sleeps on its ring's doorbell
 * with `Atomics.waitAsync` (Bun and Deno both have it) and is notified only while it sleeps, so a busy pair of
 * threads exchanges no messages at all. What does not fit in the peer's ring is copied into a buffer of its own at
 * the end of the turn (as with a socket, written views must not change after `write`, and the caller may reuse them
 * once the turn is over) and goes in as space frees.
 *
 * Back-pressure: a writer with more than {@link PORT_CONNECTION_WINDOW_BYTES} not yet read by the peer (in the ring
 * or waiting for it) gets `false` from `write` and `onDrain` once that is down to half; a paused reader leaves what
 * arrives in its ring, which fills and holds the writer back. `close` is graceful: what was written before it is
 * delivered (to a paused peer once it resumes), then the peer sees {@link ConnectionHandler.onClose}; what the closing
 * end had not read is dropped. The string "close" on the port refuses a
 * connection nobody opened ({@link refusePortConnection}).
 */
import type { Connection, ConnectionHandler } from "./net.ts";
import { concatBytes } from "../protocol/wire.ts";
import { RING_DOORBELL, RING_READER_CLOSED, RING_SLEEPING, RING_WRITER_CLOSED, RING_WRITER_WAITING, SharedRing } from "./shared-ring.ts";

/** Bytes written and not yet read by the peer that a writer may have before `write` reports back-pressure. */
export const PORT_CONNECTION_WINDOW_BYTES = 4 * 1024 * 1024;
/** Bytes of each direction's shared ring (a power of two); a reader takes at most this much per delivery. */
export const PORT_CONNECTION_RING_BYTES = 4 * 1024 * 1024;

const CLOSE = "close";

/** The part of the web MessagePort used here (Bun's and Deno's, and node:worker_threads' ports alike). */
export interface PortLike {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent) => void) | null;
  close(): void;
  start?(): void;
}

/** The one message a port carries after a connection opens: the ring its sender reads from. */
interface RingOffer {
  ring: SharedArrayBuffer;
}

/**
 * Runs one end of a connection over `port`: calls `onConnection` at once with the {@link Connection} and feeds
 * the returned handler. `remote` names the peer ("shard-1", or the front's client address) for logs; `remoteIp`
 * defaults to it; `client` carries who the front's client is (principal, listener name) to a shard.
 */
export function openPortConnection(
  port: PortLike,
  remote: string,
  onConnection: (c: Connection) => ConnectionHandler,
  remoteIp: string = remote,
  client: { principal?: string; listenerName?: string } = {},
): Connection {
  const inbox = SharedRing.allocate(PORT_CONNECTION_RING_BYTES);
  let outbox: SharedRing | null = null;
  let handler: ConnectionHandler | null = null;
  /** The handler has seen (or is about to see) onClose; nothing more is delivered or accepted. */
  let closed = false;
  /** close() was called here: what is queued still goes out, then the peer is told. */
  let closing = false;
  /** Nothing more goes out (the close was published, or the peer reads no more). */
  let outDone = false;
  /** No more wake-ups: the port is closed. */
  let ended = false;
  let paused = false;
  let blocked = false;
  /** Views written this turn, copied at its end. */
  let turn: Uint8Array[] = [];
  /** Bytes copied out of earlier turns' views that did not fit in the peer's ring yet, in order. */
  let overflow: Uint8Array[] = [];
  let overflowOffset = 0;
  /** Bytes in `turn` and `overflow` (not yet in the ring). */
  let queued = 0;
  let flushScheduled = false;
  let armed = false;

  /** Copies what fits of `chunks` (from `offset` on) into the peer's ring; returns bytes copied and where it stopped. */
  const put = (chunks: Uint8Array[], offset: number) => {
    if (outbox === null || chunks.length === 0) return { chunks: 0, offset, bytes: 0 };
    return outbox.write(chunks, offset);
  };
  /** Moves queued bytes into the peer's ring; returns whether any moved. */
  const moveOut = (): boolean => {
    let moved = 0;
    if (overflow.length > 0) {
      const r = put(overflow, overflowOffset);
      overflow.splice(0, r.chunks);
      overflowOffset = r.offset;
      moved += r.bytes;
    }
    if (overflow.length === 0 && turn.length > 0) {
      const r = put(turn, 0);
      moved += r.bytes;
      const rest = turn.slice(r.chunks);
      if (r.offset > 0) rest[0] = rest[0].subarray(r.offset);
      turn = [];
      // The rest is copied now: the caller may reuse its views once the turn is over.
      if (rest.length > 0) overflow.push(concatBytes(rest));
    }
    queued -= moved;
    if (queued < 0) throw new Error(`port connection to ${remote}: queued byte count went negative`);
    return moved > 0;
  };
  /** Outgoing side: moves queued bytes out, signals drain, and publishes the close once all is out. */
  const pumpOut = () => {
    if (outbox === null || outDone) return;
    if (Atomics.load(outbox.header, RING_READER_CLOSED) === 1) {
      // The peer reads no more (it closed): what is queued has nowhere to go.
      turn = [];
      overflow = [];
      queued = 0;
      outDone = true;
      return;
    }
    let moved = moveOut();
    const waiting = queued > 0 || blocked;
    Atomics.store(outbox.header, RING_WRITER_WAITING, waiting ? 1 : 0);
    // Space the reader freed before it could see the flag is taken now; later frees ring us.
    if (waiting && queued > 0) moved = moveOut() || moved;
    if (moved) outbox.ring();
    if (blocked && queued + outbox.used() <= PORT_CONNECTION_WINDOW_BYTES / 2) {
      blocked = false;
      if (!closed) handler?.onDrain();
    }
    if (closing && queued === 0) {
      Atomics.store(outbox.header, RING_WRITER_CLOSED, 1);
      outbox.ring();
      outDone = true;
    }
  };
  /** Incoming side: delivers what the ring holds unless paused; closes once the peer has closed and all is read. */
  const pumpIn = () => {
    if (closed) return;
    const peerClosed = Atomics.load(inbox.header, RING_WRITER_CLOSED) === 1;
    let freed = false;
    while (!paused && !closed && inbox.used() > 0) {
      const bytes = inbox.read(PORT_CONNECTION_RING_BYTES);
      freed = true;
      handler!.onData(bytes);
    }
    if (freed && outbox !== null && Atomics.load(inbox.header, RING_WRITER_WAITING) === 1) outbox.ring();
    // A paused end finishes reading once it resumes: a closing peer's last requests (acks=0 produce) are not lost.
    if (peerClosed && !closed && inbox.used() === 0) finish();
  };
  const endIfDone = () => {
    if (ended || !closed || !outDone) return;
    ended = true;
    port.onmessage = null;
    port.close();
    // Release a wait still pending on the doorbell, so nothing of this connection stays behind.
    if (armed) {
      Atomics.add(inbox.header, RING_DOORBELL, 1);
      Atomics.notify(inbox.header, RING_DOORBELL);
    }
  };
  const run = () => {
    flushScheduled = false;
    if (ended) return;
    const seen = Atomics.load(inbox.header, RING_DOORBELL);
    pumpIn();
    pumpOut();
    endIfDone();
    if (ended || armed) return;
    Atomics.store(inbox.header, RING_SLEEPING, 1);
    const wait = Atomics.waitAsync(inbox.header, RING_DOORBELL, seen);
    if (wait.async) {
      armed = true;
      void wait.value.then(wake);
    } else {
      // Rung while this end was busy: look again once the event loop has had its turn.
      Atomics.store(inbox.header, RING_SLEEPING, 0);
      setImmediate(run);
    }
  };
  const wake = () => {
    armed = false;
    Atomics.store(inbox.header, RING_SLEEPING, 0);
    run();
  };
  const schedule = () => {
    if (flushScheduled) return;
    flushScheduled = true;
    queueMicrotask(run);
  };
  /** This end is closed for its handler (the peer closed, or refused): stop reading, tell the handler. */
  const finish = () => {
    if (closed) return;
    closed = true;
    Atomics.store(inbox.header, RING_READER_CLOSED, 1);
    outbox?.ring();
    handler?.onClose();
    schedule();
  };

  const conn: Connection = {
    remote,
    remoteIp,
    peerSubject: null,
    principal: client.principal,
    listenerName: client.listenerName,
    write(chunks) {
      if (closed) return true;
      for (const c of chunks) {
        if (c.length === 0) continue;
        turn.push(c);
        queued += c.length;
      }
      schedule();
      if (queued + (outbox?.used() ?? 0) > PORT_CONNECTION_WINDOW_BYTES) blocked = true;
      return !blocked;
    },
    pause() {
      paused = true;
    },
    resume() {
      if (!paused) return;
      paused = false;
      schedule();
    },
    close() {
      if (closed) return;
      closing = true;
      finish();
    },
  };

  port.onmessage = (event: MessageEvent) => {
    const m = event.data as RingOffer | string;
    if (m === CLOSE) {
      // Refused: nobody is at the other end.
      outDone = true;
      finish();
      endIfDone();
    } else if (typeof m === "object" && m !== null && m.ring instanceof SharedArrayBuffer && outbox === null) {
      outbox = new SharedRing(m.ring);
      // The peer may have written (and wait for space) before this end could ring it.
      outbox.ring();
      schedule();
    }
  };
  port.start?.();
  port.postMessage({ ring: inbox.buffer } satisfies RingOffer);
  handler = onConnection(conn);
  schedule();
  return conn;
}

/** Closes a port no connection was opened on (nobody to accept it): the other end sees its connection closed. */
export function refusePortConnection(port: PortLike): void {
  port.postMessage(CLOSE);
  port.close();
}
