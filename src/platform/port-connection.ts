/**
 * A {@link Connection} (src/platform/net.ts) over a MessagePort, so the Kafka connection layer and our client run
 * unchanged between threads. Both ends are the same: bytes written on one are delivered, in order, on the other.
 *
 * On the port: an ArrayBuffer is data (one write's views copied into one buffer, which is transferred, not
 * cloned); a number acknowledges that many delivered bytes; the string "close" ends the connection, which the
 * peer sees as {@link ConnectionHandler.onClose}. A writer with more than {@link PORT_CONNECTION_WINDOW_BYTES}
 * unacknowledged bytes gets `false` from `write` and `onDrain` once the reader caught up, as with a socket; a
 * paused reader keeps what arrives and acknowledges it only when it resumes.
 */
import type { Connection, ConnectionHandler } from "./net.ts";
import { concatBytes } from "../protocol/wire.ts";

/** Unacknowledged bytes a writer may have in flight before `write` reports back-pressure. */
export const PORT_CONNECTION_WINDOW_BYTES = 4 * 1024 * 1024;

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
 * defaults to it; `client` carries who the front's client is (principal, listener name) to a shard.
 */
export function openPortConnection(
  port: PortLike,
  remote: string,
  onConnection: (c: Connection) => ConnectionHandler,
  remoteIp: string = remote,
  client: { principal?: string; listenerName?: string } = {},
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
  // Acknowledgements of the data delivered in one turn of the event loop go back as one message.
  let toAck = 0;
  const sendAck = () => {
    if (!closed && toAck > 0) port.postMessage(toAck);
    toAck = 0;
  };
  const deliver = (bytes: Uint8Array) => {
    handler!.onData(bytes);
    if (toAck === 0) queueMicrotask(sendAck);
    toAck += bytes.length;
  };

  const conn: Connection = {
    remote,
    remoteIp,
    peerSubject: null,
    principal: client.principal,
    listenerName: client.listenerName,
    write(chunks) {
      if (closed) return true;
      const buf = concatBytes(chunks).buffer as ArrayBuffer;
      if (buf.byteLength === 0) return !blocked;
      unacked += buf.byteLength;
      port.postMessage(buf, [buf]);
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
