/**
 * TCP for the broker and the client, behind one small interface. Uses `node:net`, which Bun and Deno both
 * provide, so everything above this module is runtime-neutral. Writes take arrays of views so that a Fetch
 * response can hand file views to the socket without concatenating them.
 */
import * as net from "node:net";

/** One accepted or dialled connection. */
export interface Connection {
  /** "host:port" of the peer. */
  readonly remote: string;
  /** Queues bytes to send; returns false when the socket's buffer is full (back-pressure). */
  write(chunks: readonly Uint8Array[]): boolean;
  /** Stops delivering data until {@link Connection.resume}. */
  pause(): void;
  /** Resumes delivering data. */
  resume(): void;
  /** Closes the connection (after queued writes when `graceful`). */
  close(graceful?: boolean): void;
}

/** Callbacks for one connection. */
export interface ConnectionHandler {
  /** Bytes arrived. The view is only valid during the call unless the handler keeps it (it is not reused). */
  onData(chunk: Uint8Array): void;
  /** The socket's send buffer drained after {@link Connection.write} returned false. */
  onDrain(): void;
  /** The connection closed, by either side or an error. */
  onClose(): void;
}

/** A listening server. */
export interface Listener {
  /** The bound host. */
  readonly host: string;
  /** The bound port (the OS-chosen one when 0 was asked). */
  readonly port: number;
  /** Stops accepting and closes every open connection. */
  close(): Promise<void>;
}

function attach(socket: net.Socket, handler: (c: Connection) => ConnectionHandler): void {
  socket.setNoDelay(true);
  const conn: Connection = {
    remote: `${socket.remoteAddress}:${socket.remotePort}`,
    write(chunks) {
      let ok = true;
      if (chunks.length === 1) return socket.write(chunks[0]);
      socket.cork();
      for (const c of chunks) ok = socket.write(c);
      socket.uncork();
      return ok;
    },
    pause: () => void socket.pause(),
    resume: () => void socket.resume(),
    close(graceful = false) {
      if (graceful) socket.end();
      else socket.destroy();
    },
  };
  const h = handler(conn);
  let closed = false;
  socket.on("data", (b: Uint8Array) => h.onData(b));
  socket.on("drain", () => h.onDrain());
  socket.on("error", () => socket.destroy());
  socket.on("close", () => {
    if (closed) return;
    closed = true;
    h.onClose();
  });
}

/** Listens on host:port (port 0 = OS-chosen) and calls `onConnection` for each accepted socket. */
export function listen(
  host: string,
  port: number,
  onConnection: (c: Connection) => ConnectionHandler,
): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    attach(socket, onConnection);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port, backlog: 1024 }, () => {
      server.off("error", reject);
      const addr = server.address() as net.AddressInfo;
      resolve({
        host,
        port: addr.port,
        close: () =>
          new Promise<void>((res) => {
            for (const s of sockets) s.destroy();
            server.close(() => res());
          }),
      });
    });
  });
}

/** Dials host:port. */
export function connect(
  host: string,
  port: number,
  onConnection: (c: Connection) => ConnectionHandler,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.off("error", reject);
      attach(socket, onConnection);
      resolve();
    });
  });
}
