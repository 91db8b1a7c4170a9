/**
 * A {@link Connection} (src/platform/net.ts) over a MessagePort, so the Kafka connection layer and our client run
 * unchanged between threads. Both ends are the same: bytes written on one are delivered, in order, on the other.
 *
 * On the port: an ArrayBuffer is data (the views of every write of one event-loop turn, copied into one fresh buffer
 * that is not zero-filled first, which is transferred, not cloned: one message per turn however many responses a
 * turn writes); a number
 * acknowledges that many delivered bytes (sent once {@link PORT_CONNECTION_ACK_BYTES} have been delivered, so
 * acknowledgements are rare); the string "close" ends the connection, which the peer sees as
 * {@link ConnectionHandler.onClose}. A writer with more than {@link PORT_CONNECTION_WINDOW_BYTES} unacknowledged
 * bytes gets `false` from `write` and `onDrain` once it is down to half of that, as with a socket; a paused reader
 * keeps what arrives and acknowledges it only when it resumes. As with our sockets, written views must not change
 * after `write` (they are copied at the end of the turn).
 */
import type { Connection, ConnectionHandler } from "./net.ts";
import { Buffer } from "node:buffer";

/** Unacknowledged bytes a writer may have in flight before `write` reports back-pressure. */
export const PORT_CONNECTION_WINDOW_BYTES = 4 * 1024 * 1024;
/**
 * Delivered bytes a reader acknowledges at once: under half the window, so a blocked writer always gets an
 * acknowledgement that brings it down to half (what is left unacknowledged is below this).
 */
export const PORT_CONNECTION_ACK_BYTES = PORT_CONNECTION_WINDOW_BYTES / 4;

const CLOSE = "close";

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
  client: { principal?: string; listenerName?: string; fileSlices?: boolean } = {},
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
  // The writes of this turn, posted together at its end.
  let pending: Uint8Array[] = [];
  const flush = () => {
    if (pending.length === 0 || closed) return;
    let n = 0;
    for (const c of pending) n += c.length;
    // Not zero-filled first: every byte is copied over at once (a fresh buffer of its own, so it can be transferred).
    const out = Buffer.allocUnsafeSlow(n);
    if (out.byteOffset !== 0 || out.buffer.byteLength !== n) throw new Error(`port connection to ${remote}: a fresh buffer of ${n} bytes shares its memory`);
    let at = 0;
    for (const c of pending) {
      out.set(c, at);
      at += c.length;
    }
    const buf = out.buffer as ArrayBuffer;
    pending = [];
    port.postMessage(buf, [buf]);
  };

  const conn: Connection = {
    remote,
    remoteIp,
    peerSubject: null,
    principal: client.principal,
    listenerName: client.listenerName,
    fileSlices: client.fileSlices,
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
    if (m instanceof ArrayBuffer) {
      const bytes = new Uint8Array(m);
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
      finish();
    }
  };
  port.start?.();
  handler = onConnection(conn);
  return conn;
}

/** Closes a port no connection was opened on (nobody to accept it): the other end sees its connection closed. */
export function refusePortConnection(port: PortLike): void {
  port.postMessage(CLOSE);
  port.close();
}
