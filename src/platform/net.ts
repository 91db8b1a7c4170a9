/**
 * TCP for the broker and the client, behind one small interface, so everything above this module is
 * runtime-neutral. On Bun it uses Bun's native sockets (`Bun.listen`/`Bun.connect`): writes go straight from our
 * views to the kernel, with a queue of the unwritten rest for back-pressure, so a large Fetch response's file views
 * are never concatenated or copied (a small response's pieces are, into one send: COALESCE_MAX_BYTES). Elsewhere (Deno) it uses `node:net`. Writes take arrays of views.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { X509Certificate } from "node:crypto";
import { lookup } from "node:dns/promises";

/** One accepted or dialled connection. */
export interface Connection {
  /** "host:port" of the peer. */
  readonly remote: string;
  /** The peer's address alone (for per-address limits). */
  readonly remoteIp: string;
  /** Queues bytes to send; returns false when the socket's buffer is full (back-pressure). */
  write(chunks: readonly Uint8Array[]): boolean;
  /**
   * Writes one request frame (its 4-byte size prefix, then its body) so that it reaches the peer in a buffer of its
   * own, which the peer hands back with {@link Connection.giveBack} (src/platform/port-connection.ts, between
   * threads): with `movable` (nothing else in the body's ArrayBuffer is read any more) that buffer moves as it is and
   * is unusable here afterwards; otherwise the body is copied into a buffer handed back earlier, or a fresh one.
   * Absent on sockets.
   */
  writeFrame?(prefix: Uint8Array, body: Uint8Array, movable: boolean, read?: SharedRead): boolean;
  /**
   * The handler no longer reads `frame`, a whole frame it received (or the chunk that carried it, once copied): a
   * connection from another thread sends its buffer back to be reused when the frame came in a buffer of its own
   * ({@link Connection.writeFrame}).
   */
  giveBack?(frame: Uint8Array): void;
  /** Stops delivering data until {@link Connection.resume}. */
  pause(): void;
  /** Resumes delivering data. */
  resume(): void;
  /** Closes the connection (after queued writes when `graceful`). */
  close(graceful?: boolean): void;
  /** On TLS: the verified client certificate's subject in RFC 2253 order (`CN=alice,O=Acme,C=US`), else null. */
  readonly peerSubject?: string | null;
  /** A shard's connection from its node's front (src/shard): the principal the front authenticated (`User:alice`). */
  readonly principal?: string;
  /** A shard's connection from its node's front: the name of the listener the client connected to. */
  readonly listenerName?: string;
  /**
   * A shard's connection from its node's front, which maps the segment files itself: Fetch answers name where the
   * records lie instead of carrying them (src/storage/record-slices.ts).
   */
  readonly fileSlices?: boolean;
  /**
   * A shard's connection from its node's front, which charges `consumer_byte_rate` for the Fetch answers it sends
   * its client: the shard charges none of this connection's Fetch answers.
   */
  readonly fetchQuotaAtFront?: boolean;
  /**
   * A shard's connection from its node's front, which made Kafka's checks of the client's whole Produce request
   * (src/broker/produce-validation.ts, wholeProduceRequestProblem) before sending it or its part for this shard: the
   * shard does not make them again over a part, which is not the request the client sent.
   */
  readonly produceCheckedAtFront?: boolean;
}

/**
 * One socket read that several request frames were cut from (views of its ArrayBuffer), told about each of those
 * frames that goes to another thread in a message of its own ({@link Connection.writeFrame}). When every frame cut
 * from the read goes so and nothing else reads the buffer any more, the frame sent last may take the whole buffer
 * with it (moved, not copied) once the others have been copied out.
 */
export interface SharedRead {
  /** One of the read's frames is queued to go in a message of its own. */
  enlist(): void;
  /**
   * An enlisted frame is about to be sent: true when it is the read's last one out and the buffer may move with it
   * (every other frame cut from the read was enlisted and already copied out, and the read is no longer referenced
   * by the connection's framing); false: copy this frame.
   */
  lastOut(): boolean;
  /** The buffer did move with the frame {@link SharedRead.lastOut} allowed. */
  moved(): void;
}

/** A TLS server's key material and client-certificate policy (PEM text). */
export interface TlsServerOptions {
  /** Private key. */
  key: string;
  /** Certificate chain. */
  cert: string;
  /** Password of an encrypted key. */
  passphrase?: string;
  /** CA certificates client certificates must chain to. */
  ca?: string;
  /** `required`: a verified client certificate is needed; `requested`: one is asked for and verified if sent. */
  clientAuth: "required" | "requested" | "none";
  /** A client failed the TLS handshake (not TLS at all, a bad certificate...): for the log. */
  onHandshakeError?: (remote: string, message: string) => void;
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
  /** TLS listeners: new connections use this key material from now on (open ones keep theirs). */
  updateTls?(options: TlsServerOptions): void;
}

function attach(socket: net.Socket, handler: (c: Connection) => ConnectionHandler, peerSubject: string | null = null): void {
  socket.setNoDelay(true);
  const conn: Connection = {
    peerSubject,
    remote: `${socket.remoteAddress}:${socket.remotePort}`,
    remoteIp: `${socket.remoteAddress}`,
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

/** Listens with `node:net`. */
function listenNode(
  host: string,
  port: number,
  onConnection: (c: Connection) => ConnectionHandler,
  initialTls: TlsServerOptions | null = null,
  reusePort = false,
): Promise<Listener> {
  let tlsOptions = initialTls;
  const sockets = new Set<net.Socket>();
  const accept = (socket: net.Socket, peerSubject: string | null) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    attach(socket, onConnection, peerSubject);
  };
  const makeServer = (): net.Server => (tlsOptions === null ? net.createServer((socket) => accept(socket, null)) : tlsServer(tlsOptions, accept));
  let server: net.Server | null = makeServer();
  return new Promise((resolve, reject) => {
    server!.once("error", reject);
    server!.listen({ host, port, backlog: 1024, ...(reusePort ? { reusePort } : {}) }, () => {
      server!.off("error", reject);
      const bound = (server!.address() as net.AddressInfo).port;
      resolve({
        host,
        port: bound,
        updateTls(next: TlsServerOptions) {
          tlsOptions = next;
          (server as tls.Server | null)?.setSecureContext(secureContextOptions(next));
        },
        close: () =>
          new Promise<void>((res) => {
            for (const s of sockets) s.destroy();
            if (server === null) return res();
            server.close(() => res());
            server = null;
          }),
      });
    });
  });
}

/** The RFC 2253 subject of a verified peer certificate (most specific attribute first), or null. */
function peerSubjectOf(socket: tls.TLSSocket): string | null {
  const cert = socket.getPeerCertificate(false);
  if (cert === null || cert === undefined || cert.raw === undefined) return null;
  try {
    return new X509Certificate(cert.raw).subject.split("\n").reverse().map((rdn) => rdn.replace(/([,+"\\<>;])/g, "\\$1")).join(",");
  } catch {
    return Object.entries(cert.subject ?? {}).reverse().map(([k, v]) => `${k}=${v}`).join(",");
  }
}

/** The key material part of TLS server options. */
function secureContextOptions(opts: TlsServerOptions): tls.SecureContextOptions {
  return { key: opts.key, cert: opts.cert, passphrase: opts.passphrase, ca: opts.ca };
}

/** A `node:tls` server that hands over connections once the handshake (and any client certificate check) is done. */
function tlsServer(opts: TlsServerOptions, accept: (socket: net.Socket, peerSubject: string | null) => void): net.Server {
  const server = tls.createServer(
    {
      ...secureContextOptions(opts),
      requestCert: opts.clientAuth !== "none",
      rejectUnauthorized: opts.clientAuth === "required",
    },
    (socket: tls.TLSSocket) => {
      let subject: string | null = null;
      if (opts.clientAuth !== "none") {
        const presented = socket.getPeerCertificate(false)?.raw !== undefined;
        if (presented && !socket.authorized) {
          opts.onHandshakeError?.(`${socket.remoteAddress}:${socket.remotePort}`, `client certificate rejected: ${socket.authorizationError}`);
          socket.destroy();
          return;
        }
        if (presented) subject = peerSubjectOf(socket);
      }
      accept(socket, subject);
    },
  );
  server.on("tlsClientError", (e: Error, socket: tls.TLSSocket) => {
    opts.onHandshakeError?.(`${socket.remoteAddress}:${socket.remotePort}`, e.message);
    socket.destroy();
  });
  return server;
}

/** Listens for TLS connections on host:port (through `node:tls` on every runtime). */
export function listenTls(host: string, port: number, options: TlsServerOptions, onConnection: (c: Connection) => ConnectionHandler, opts: ListenOptions = {}): Promise<Listener> {
  return listenNode(host, port, onConnection, options, opts.reusePort ?? false);
}

/** Dials with `node:net`. */
function connectNode(
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

/** The subset of Bun's socket API used here. */
interface BunSocket {
  data: BunSocketState;
  remoteAddress: string;
  write(data: Uint8Array): number;
  end(): void;
  terminate(): void;
  pause(): boolean;
  resume(): boolean;
  setNoDelay?(on: boolean): void;
}

interface BunSocketState {
  handler: ConnectionHandler | null;
  queue: Uint8Array[];
  closeAfterFlush: boolean;
  closed: boolean;
}

type BunGlobal = {
  listen(opts: unknown): { port: number; stop(closeActive?: boolean): void };
  connect(opts: unknown): Promise<BunSocket>;
};

const bun = (globalThis as unknown as { Bun?: BunGlobal }).Bun;

/**
 * Largest response whose pieces are copied into one buffer and sent with one write. A Fetch response is a frame
 * header, then per partition a small header and a view of its records: sent piece by piece, a 4-partition answer
 * costs 9 sends (each a loopback segment the peer is woken for). Below this size the copy (a few µs) costs less
 * than the sends it saves; above it, the views go out as they are, uncopied (bulk reads at GB/s).
 */
export const COALESCE_MAX_BYTES = 128 * 1024;
/** The buffer pieces are copied into: used within one synchronous write only (what the socket refuses is copied out). */
const coalesced = new Uint8Array(COALESCE_MAX_BYTES);

/**
 * Sends `chunks` (nothing queued before them) as one write when they are several and together at most
 * COALESCE_MAX_BYTES; returns null when they do not qualify, else whether everything went out (the socket's
 * refusal queues the rest, copied).
 */
function writeCoalesced(sock: BunSocket, chunks: readonly Uint8Array[]): boolean | null {
  if (chunks.length < 2 || sock.data.queue.length > 0) return null;
  let total = 0;
  for (const c of chunks) total += c.length;
  if (total > COALESCE_MAX_BYTES) return null;
  let at = 0;
  for (const c of chunks) {
    coalesced.set(c, at);
    at += c.length;
  }
  const n = sock.write(coalesced.subarray(0, total));
  if (n < 0 || n === total) return true;
  sock.data.queue.push(coalesced.slice(n, total));
  return false;
}

/** Writes queued views until the socket refuses; returns true when the queue is empty. */
function flushBun(sock: BunSocket): boolean {
  const q = sock.data.queue;
  while (q.length > 0) {
    const head = q[0];
    const n = sock.write(head);
    if (n < 0) {
      q.length = 0;
      return true;
    }
    if (n < head.length) {
      q[0] = head.subarray(n);
      return false;
    }
    q.shift();
  }
  return true;
}

function bunConnection(sock: BunSocket): Connection {
  const st = sock.data;
  return {
    remote: `${sock.remoteAddress}`,
    remoteIp: `${sock.remoteAddress}`,
    write(chunks) {
      if (st.closed) return true;
      const sent = writeCoalesced(sock, chunks);
      if (sent !== null) return sent;
      for (const c of chunks) if (c.length > 0) st.queue.push(c);
      return flushBun(sock);
    },
    pause: () => void sock.pause(),
    resume: () => void sock.resume(),
    close(graceful = false) {
      if (graceful && st.queue.length > 0) st.closeAfterFlush = true;
      else if (graceful) sock.end();
      else sock.terminate();
    },
  };
}

function bunHandlers(onConnection: (c: Connection) => ConnectionHandler) {
  return {
    binaryType: "uint8array",
    open(sock: BunSocket) {
      sock.data = { handler: null, queue: [], closeAfterFlush: false, closed: false };
      sock.setNoDelay?.(true);
      sock.data.handler = onConnection(bunConnection(sock));
    },
    data(sock: BunSocket, chunk: Uint8Array) {
      sock.data.handler?.onData(chunk);
    },
    drain(sock: BunSocket) {
      if (!flushBun(sock)) return;
      if (sock.data.closeAfterFlush) sock.end();
      else sock.data.handler?.onDrain();
    },
    close(sock: BunSocket) {
      const st = sock.data;
      if (!st || st.closed) return;
      st.closed = true;
      st.queue.length = 0;
      st.handler?.onClose();
    },
    error(sock: BunSocket) {
      sock.terminate();
    },
  };
}

/**
 * Whether {@link ListenOptions.reusePort} spreads connections over listeners here: Bun's listen, and Deno's `node:net`
 * on Linux (Deno 2.9 passes `reusePort` to the socket; elsewhere SO_REUSEPORT does not balance, or is not offered).
 */
export function reusePortSupported(): boolean {
  if (bun !== undefined) return true;
  return (globalThis as { Deno?: { build: { os: string } } }).Deno?.build.os === "linux";
}

/** Listening options. */
export interface ListenOptions {
  /**
   * SO_REUSEPORT: several listeners (threads) of this process bind the same port and the kernel spreads new
   * connections over them (Bun; Node's and Deno's node:net where they support it).
   */
  reusePort?: boolean;
}

/** Listens on host:port (port 0 = OS-chosen) and calls `onConnection` for each accepted socket. */
export function listen(host: string, port: number, onConnection: (c: Connection) => ConnectionHandler, opts: ListenOptions = {}): Promise<Listener> {
  const reusePort = opts.reusePort ?? false;
  if (bun === undefined) return listenNode(host, port, onConnection, null, reusePort);
  const open = new Set<BunSocket>();
  const handlers = bunHandlers(onConnection);
  const socket = {
    ...handlers,
    open(sock: BunSocket) {
      open.add(sock);
      handlers.open(sock);
    },
    close(sock: BunSocket) {
      open.delete(sock);
      handlers.close(sock);
    },
  };
  let server: { port: number; stop(closeActive?: boolean): void } | null = bun.listen({ hostname: host, port, socket, reusePort });
  const bound = server.port;
  return Promise.resolve({
    host,
    port: bound,
    close: async () => {
      server?.stop(true);
      server = null;
      for (const s of open) s.terminate();
    },
  });
}

/** Dials host:port. */
export async function connect(host: string, port: number, onConnection: (c: Connection) => ConnectionHandler): Promise<void> {
  if (bun === undefined) return connectNode(host, port, onConnection);
  await bun.connect({ hostname: host, port, socket: bunHandlers(onConnection) });
}

/** What a TLS client presents and trusts (PEM text). */
export interface TlsClientOptions {
  /** CA certificates the server's certificate must chain to. */
  ca?: string;
  /** Client certificate chain (mTLS). */
  cert?: string;
  /** Client private key (mTLS). */
  key?: string;
  /** Password of an encrypted key. */
  passphrase?: string;
  /** Host name checked against the server certificate (default: the dialled host). */
  servername?: string;
}

/** Dials host:port over TLS (through `node:tls` on every runtime); resolves once the handshake succeeded. */
export function connectTls(host: string, port: number, options: TlsClientOptions, onConnection: (c: Connection) => ConnectionHandler): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, ca: options.ca, cert: options.cert, key: options.key, passphrase: options.passphrase, servername: options.servername ?? (net.isIP(host) ? undefined : host) });
    socket.once("error", reject);
    socket.once("secureConnect", () => {
      socket.off("error", reject);
      attach(socket, onConnection);
      resolve();
    });
  });
}

/**
 * One spelling per IP address, for comparing addresses as Kafka's InetAddress does: IPv6 in its compressed form,
 * an IPv4-mapped IPv6 address as its IPv4 address, brackets dropped; null when `text` is not an IP literal (a host
 * name).
 */
export function canonicalIp(text: string): string | null {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const kind = net.isIP(bare);
  if (kind === 4) return bare;
  if (kind !== 6) return null;
  const host = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (mapped === null) return host;
  const hi = parseInt(mapped[1], 16);
  const lo = parseInt(mapped[2], 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** The first address `host` resolves to (as Java's InetAddress.getByName), or null when it resolves to none. */
export async function resolveHost(host: string): Promise<string | null> {
  const literal = canonicalIp(host);
  if (literal !== null) return literal;
  try {
    const found = await lookup(host);
    return canonicalIp(found.address);
  } catch {
    return null;
  }
}
