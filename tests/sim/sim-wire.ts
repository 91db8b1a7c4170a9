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
  private readonly cuts = new Set<() => void>();
  private nextPort = 40000;
  /** Counters for the run report. */
  readonly stats = { connections: 0, cutConnections: 0 };

  constructor(
    private readonly sim: Sim,
    private readonly maxDelayMs: number,
  ) {}

  /** The broker's listener (BrokerDeps.listen): one acceptor at a time, the latest broker process's. */
  readonly listen: ListenFn = async (host, port, onConnection) => {
    this.acceptor = onConnection;
    const listener: Listener = {
      host,
      port,
      pauseAccepting: () => {},
      resumeAccepting: () => {},
      close: async () => {
        if (this.acceptor === onConnection) this.acceptor = null;
      },
    };
    return listener;
  };

  /** The broker process died: its listener is gone and every connection is reset. */
  cutAll(): void {
    this.acceptor = null;
    for (const cut of [...this.cuts]) cut();
  }

  /** Opens a connection to the broker; null when nothing listens (the client retries later). */
  dial(onData: (b: Uint8Array) => void, onClose: () => void): SimSocket | null {
    const accept = this.acceptor;
    if (accept === null) return null;
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
    this.cuts.add(cut);
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
  ) {
    this.socket = wire.dial(
      (b) => this.onData(b),
      () => this.onClose(),
    );
  }

  /** Dials the broker; null when nothing listens. */
  static open(wire: SimWire, clientId: string): SimKafkaConnection | null {
    const c = new SimKafkaConnection(wire, clientId);
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
}
