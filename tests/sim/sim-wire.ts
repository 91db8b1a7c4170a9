/**
 * Simulated TCP between simulated Kafka clients and a real broker's Kafka listener: the broker gets a `listen`
 * function ({@link SimWire.listen}, passed as BrokerDeps.listen), clients dial through {@link SimWire.dial}. Each
 * direction of a connection delivers its writes in order (TCP), each after a seeded delay; pausing the broker side
 * holds incoming bytes until it resumes. When the broker process dies every connection is cut and the bytes in
 * flight are lost (a reset). Clients frame requests with the generated codecs and decode responses with them, so the
 * broker's frame splitter, request decoding, handlers and response encoding all run.
 */
import type { Connection, ConnectionHandler, Listener } from "../../src/platform/net.ts";
import type { ListenFn } from "../../src/broker/kafka-listener.ts";
import { Reader, Writer } from "../../src/protocol/wire.ts";
import { API_CODECS, requestHeaderVersion, responseHeaderVersion } from "../../src/protocol/generated/index.ts";
import { readResponseHeader, writeRequestHeader } from "../../src/protocol/generated/headers.ts";
import { concatBytes } from "../../src/protocol/wire.ts";
import type { Sim } from "./scheduler.ts";
import type { BrokerChannel, Dialer } from "../../src/client/connection.ts";
import { ConnectionError, RequestTimeoutError } from "../../src/client/client-errors.ts";
import { negotiateVersions } from "../../src/client/api-versions.ts";
import type { ApiVersionsResponse } from "../../src/protocol/generated/18_api_versions.ts";

/** One direction of a connection: writes delivered in order after seeded delays. */
class Pipe {
  private readonly queue: Uint8Array[] = [];
  private held: Uint8Array[] = [];
  private paused = false;
  private lastAt = 0;
  cut = false;

  constructor(
    private readonly sim: Sim,
    private readonly maxDelayMs: number,
    private readonly label: string,
    private readonly receive: (b: Uint8Array) => void,
  ) {}

  send(chunks: readonly Uint8Array[]): void {
    if (this.cut) return;
    this.queue.push(chunks.length === 1 ? chunks[0].slice() : concatBytes(chunks).slice());
    const at = Math.max(this.lastAt, this.sim.nowMs + 1 + this.sim.int(this.maxDelayMs));
    this.lastAt = at;
    // Each event delivers the oldest chunk, so events that tie on time cannot reorder the stream.
    this.sim.after(at - this.sim.nowMs, this.label, () => {
      const b = this.queue.shift();
      if (b === undefined || this.cut) return;
      if (this.paused) this.held.push(b);
      else this.receive(b);
    });
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const held = this.held;
    this.held = [];
    if (held.length > 0) this.sim.after(0, `${this.label} resumed`, () => {
      for (const b of held) if (!this.cut) this.receive(b);
    });
  }
}

/** A client's end of one connection. */
export interface SimSocket {
  /** Sends bytes to the broker. */
  write(chunks: readonly Uint8Array[]): void;
  /** Closes the connection from the client side. */
  close(): void;
  /** Whether the connection is gone. */
  readonly closed: boolean;
}

/** The network between the clients and one broker. */
export class SimWire {
  private acceptor: ((c: Connection) => ConnectionHandler) | null = null;
  private readonly cuts = new Map<() => void, number>();
  private nextPort = 40000;
  /** Counters for the run report. */
  readonly stats = { connections: 0, cutConnections: 0 };

  constructor(
    private readonly sim: Sim,
    private readonly maxDelayMs: number,
    /** This broker's node id. */
    readonly node = 1,
    /** Nodes cut off from every other (shared by the wires of one cluster). */
    private readonly isolated: ReadonlySet<number> = new Set(),
  ) {}

  /** Cuts the connections between `node` and this broker (a partition starts). */
  cutNode(node: number): void {
    for (const [cut, from] of [...this.cuts]) if (from === node || this.node === node) cut();
  }

  /** The broker's listener (BrokerDeps.listen): one acceptor at a time, the latest broker process's. */
  readonly listen: ListenFn = async (host, port, onConnection) => {
    this.acceptor = onConnection;
    const listener: Listener = {
      host,
      port,
      close: async () => {
        if (this.acceptor === onConnection) this.acceptor = null;
      },
    };
    return listener;
  };

  /** The broker process died: its listener is gone and every connection is reset. */
  cutAll(): void {
    this.acceptor = null;
    for (const cut of [...this.cuts.keys()]) cut();
  }

  /** Opens a connection from node `from` (clients are 100) to the broker; null when nothing listens or a partition is in the way. */
  dial(onData: (b: Uint8Array) => void, onClose: () => void, from = 100): SimSocket | null {
    const accept = this.acceptor;
    if (accept === null || this.isolated.has(from) || this.isolated.has(this.node)) return null;
    this.stats.connections++;
    const port = this.nextPort++;
    let handler: ConnectionHandler | null = null;
    let closed = false;
    const toBroker = new Pipe(this.sim, this.maxDelayMs, `c${port}->broker`, (b) => handler?.onData(b));
    const toClient = new Pipe(this.sim, this.maxDelayMs, `broker->c${port}`, (b) => onData(b));
    const cut = () => {
      if (closed) return;
      closed = true;
      this.stats.cutConnections++;
      this.cuts.delete(cut);
      toBroker.cut = true;
      toClient.cut = true;
      const h = handler;
      this.sim.after(0, `close c${port}`, () => {
        h?.onClose();
        onClose();
      });
    };
    this.cuts.set(cut, from);
    const brokerSide: Connection = {
      remote: `10.0.0.2:${port}`,
      remoteIp: "10.0.0.2",
      write: (chunks) => {
        toClient.send(chunks);
        return true;
      },
      pause: () => toBroker.pause(),
      resume: () => toBroker.resume(),
      close: () => cut(),
    };
    handler = accept(brokerSide);
    return {
      write: (chunks) => toBroker.send(chunks),
      close: () => cut(),
      get closed() {
        return closed;
      },
    };
  }
}

/** A broker's answer could not come: the connection closed first. */
export class Disconnected extends Error {}

/** A client connection speaking the Kafka protocol with the generated codecs: one request and its response at a time or pipelined. */
export class SimKafkaConnection {
  private readonly writer = new Writer(64 * 1024);
  private readonly pending: { correlationId: number; apiKey: number; version: number; resolve(v: unknown): void; reject(e: Error): void }[] = [];
  private nextCorrelationId = 1;
  private buffer: Uint8Array = new Uint8Array(0);
  private socket: SimSocket | null;

  private constructor(
    wire: SimWire,
    private readonly clientId: string,
    from: number,
  ) {
    this.socket = wire.dial(
      (b) => this.onData(b),
      () => this.onClose(),
      from,
    );
  }

  /** Dials the broker from node `from` (clients are 100); null when nothing listens. */
  static open(wire: SimWire, clientId: string, from = 100): SimKafkaConnection | null {
    const c = new SimKafkaConnection(wire, clientId, from);
    return c.socket === null ? null : c;
  }

  /** Whether the connection is gone. */
  get closed(): boolean {
    return this.socket === null || this.socket.closed;
  }

  /** Sends a request; resolves with the decoded response (undefined with `noResponse`), rejects with {@link Disconnected}. */
  request<T = any>(apiKey: number, version: number, body: unknown, noResponse = false): Promise<T> {
    const socket = this.socket;
    if (socket === null || socket.closed) return Promise.reject(new Disconnected("not connected"));
    const correlationId = this.nextCorrelationId++;
    const w = this.writer;
    w.beginMessage();
    const sizeAt = w.reserve(4);
    writeRequestHeader(w, requestHeaderVersion(apiKey, version), { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId: this.clientId });
    API_CODECS[apiKey]!.writeRequest(w, version, body);
    w.patchInt32(sizeAt, w.length() - 4);
    socket.write(w.finish().slice());
    if (noResponse) return Promise.resolve(undefined as T);
    return new Promise<T>((resolve, reject) => this.pending.push({ correlationId, apiKey, version, resolve: resolve as (v: unknown) => void, reject }));
  }

  /** Closes the connection. */
  close(): void {
    this.socket?.close();
  }

  private onData(b: Uint8Array): void {
    this.buffer = this.buffer.length === 0 ? b : concatBytes([this.buffer, b]);
    while (this.buffer.length >= 4) {
      const size = new DataView(this.buffer.buffer, this.buffer.byteOffset, 4).getInt32(0);
      if (this.buffer.length < 4 + size) return;
      const frame = this.buffer.subarray(4, 4 + size);
      this.buffer = this.buffer.subarray(4 + size);
      const p = this.pending.shift();
      if (p === undefined) throw new Error(`${this.clientId}: a response nobody asked for`);
      const r = new Reader(frame);
      const header = readResponseHeader(r, responseHeaderVersion(p.apiKey, p.version));
      if (header.correlationId !== p.correlationId) throw new Error(`${this.clientId}: response ${header.correlationId} out of order (expected ${p.correlationId})`);
      p.resolve(API_CODECS[p.apiKey]!.readResponse(r, p.version));
    }
  }

  private onClose(): void {
    this.socket = null;
    for (const p of this.pending.splice(0)) p.reject(new Disconnected("connection closed"));
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.pending.length;
  }
}

/**
 * A {@link Dialer} for a broker's replica fetchers: connections from node `from` to the broker listening on the
 * port asked for, with ApiVersions negotiated on connect and requests timed out on the simulation clock (a timeout
 * closes the connection, as the product's client does).
 */
export function simDialer(sim: Sim, wires: ReadonlyMap<number, SimWire>, from: number, alive: () => boolean): Dialer {
  return async (host, port, nodeId) => {
    const wire = wires.get(port);
    const conn = wire === undefined || !alive() ? null : SimKafkaConnection.open(wire, `runnel-replica-${from}`, from);
    if (conn === null) throw new ConnectionError(`cannot connect to ${host}:${port}`);
    const timed = <T>(p: Promise<T>, timeoutMs: number): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        let done = false;
        sim.after(timeoutMs, `replica request timeout ${from}->${nodeId}`, () => {
          if (done) return;
          done = true;
          conn.close();
          reject(new RequestTimeoutError(`request to ${host}:${port} timed out after ${timeoutMs} ms`));
        });
        p.then(
          (v) => {
            if (done) return;
            done = true;
            resolve(v);
          },
          (e) => {
            if (done) return;
            done = true;
            reject(e instanceof Disconnected ? new ConnectionError(e.message) : e);
          },
        );
      });
    const av = await timed(conn.request<ApiVersionsResponse>(18, 3, { clientSoftwareName: "runnel-sim", clientSoftwareVersion: "0" }), 30_000);
    const versions = negotiateVersions(av.apiKeys);
    const channel: BrokerChannel = {
      nodeId,
      address: `${host}:${port}`,
      request: <T>(apiKey: number, body: unknown, opts: { version?: number; noResponse?: boolean; timeoutMs?: number } = {}) => {
        if (conn.closed) return Promise.reject(new ConnectionError(`connection to ${host}:${port} closed`));
        return timed(conn.request<T>(apiKey, opts.version ?? channel.version(apiKey), body, opts.noResponse === true), opts.timeoutMs ?? 30_000);
      },
      version: (apiKey) => (apiKey >= 0 && apiKey < versions.length ? versions[apiKey] : -1),
      inFlight: () => conn.inFlight,
      get closed() {
        return conn.closed;
      },
      close: () => conn.close(),
    };
    return channel;
  };
}
