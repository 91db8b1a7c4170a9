/**
 * One client connection to one broker: frames requests with the generated codecs, pipelines up to
 * `max.in.flight.requests.per.connection` of them, matches responses by correlation id (Kafka answers in order),
 * times requests out after `request.timeout.ms`, and negotiates API versions on connect (ApiVersions, falling back
 * to the version the broker names when it rejects ours).
 *
 * The rest of the client talks to brokers only through the {@link BrokerChannel} interface, so tests can put a
 * scripted broker behind it.
 */
import { connect as dial, connectTls, type Connection, type ConnectionHandler, type SharedRead, type TlsClientOptions } from "../platform/net.ts";
import { systemRandom } from "../platform/random.ts";
import { saslClient, type SaslCredentials } from "../security/sasl-client.ts";
import type { SaslHandshakeResponse } from "../protocol/generated/17_sasl_handshake.ts";
import type { SaslAuthenticateResponse } from "../protocol/generated/36_sasl_authenticate.ts";
import { systemClock, type Clock } from "../platform/clock.ts";
import { Reader, Writer } from "../protocol/wire.ts";
import { ErrorCode, KafkaError, errorName } from "../protocol/errors.ts";
import { API_CODECS, ApiKey, requestHeaderVersion, responseHeaderVersion } from "../protocol/generated/index.ts";
import { readResponseHeader } from "../protocol/generated/headers.ts";
import { encodeRequestFrame } from "../protocol/frame-encoding.ts";
import type { ApiVersionsResponse } from "../protocol/generated/18_api_versions.ts";
import { RUNNEL_VERSION } from "../version.ts";
import { type BrokerApiVersions, clientApiVersionsMax, negotiateVersions } from "./api-versions.ts";
import { ConnectionError, RequestTimeoutError, UnsupportedApiError } from "./client-errors.ts";

/** Largest response frame accepted (a Fetch is bounded by fetch.max.bytes, 50 MiB by default). */
export const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;
/** Most requests that may wait behind the in-flight window of one connection. */
export const MAX_QUEUED_REQUESTS = 4096;
/** Default `request.timeout.ms`. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Default connection set-up timeout (`socket.connection.setup.timeout.ms`). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** Default `max.in.flight.requests.per.connection`. */
export const DEFAULT_MAX_IN_FLIGHT = 5;

/** Options of one request. */
export interface RequestOptions {
  /** Version to use instead of the negotiated one. */
  version?: number;
  /** The broker sends no response (Produce with acks=0): resolves with undefined once written. */
  noResponse?: boolean;
  /** Time-out for this request instead of `request.timeout.ms` (Fetch adds its max wait). */
  timeoutMs?: number;
}

/** What the client needs from a broker connection. */
export interface BrokerChannel {
  /** Node id of the broker (-1 for a bootstrap connection whose id is not known). */
  readonly nodeId: number;
  /** "host:port". */
  readonly address: string;
  /** Sends a request and resolves with the decoded response body. */
  request<T = unknown>(apiKey: number, body: unknown, opts?: RequestOptions): Promise<T>;
  /** Negotiated version of `apiKey`, or -1 when the broker and the client share none. */
  version(apiKey: number): number;
  /** Requests written and not yet answered. */
  inFlight(): number;
  /** Whether the connection is closed (then every request fails with a {@link ConnectionError}). */
  readonly closed: boolean;
  /** Closes the connection; pending requests fail with a {@link ConnectionError}. */
  close(): void;
  /**
   * Sends a request frame as a client wrote it (its body without the size prefix: the client's header, correlation
   * id and client id included) in the request order of this channel, and resolves with the decoded answer; with
   * `move`, nothing else in the frame's ArrayBuffer is read any more, so the buffer may move to another thread
   * instead of being copied ({@link Connection.writeFrame}). A sharded node's front forwards a Produce for one shard so.
   */
  forwardFrame?<T = unknown>(apiKey: number, version: number, frame: Uint8Array, opts?: ForwardOptions): Promise<T>;
}

/** Options of {@link BrokerChannel.forwardFrame}: `move`, the frame's buffer may move; `read`, the socket read it shares (may move with the last of its frames). */
export type ForwardOptions = RequestOptions & { move?: boolean; read?: SharedRead };

/** Opens a {@link BrokerChannel}; injectable so tests can run the client against a scripted broker. */
export type Dialer = (host: string, port: number, nodeId: number) => Promise<BrokerChannel>;

/** Settings of a connection. */
export interface ConnectionOptions {
  /** `client.id` sent in every request header. */
  clientId?: string;
  /** `max.in.flight.requests.per.connection`. */
  maxInFlight?: number;
  /** `request.timeout.ms`. */
  requestTimeoutMs?: number;
  /** Connection set-up time-out. */
  connectTimeoutMs?: number;
  /** Clock for time-outs. */
  clock?: Clock;
  /** Largest response frame accepted. */
  maxResponseBytes?: number;
  /** `security.protocol` SSL / SASL_SSL: TLS with these settings. */
  tls?: TlsClientOptions;
  /** `security.protocol` SASL_PLAINTEXT / SASL_SSL: log in with these credentials after ApiVersions. */
  sasl?: SaslCredentials;
  /** How the connection is made instead of TCP (a node's shards talk over MessagePorts: src/shard). */
  transport?: (host: string, port: number, onConnection: (c: Connection) => ConnectionHandler) => Promise<void>;
  /**
   * The broker's API versions (its ApiVersions answer) when they are known already: the connection sends no
   * ApiVersions of its own (a sharded node's front opening a client's channel to a shard, whose versions it serves).
   */
  apiVersions?: BrokerApiVersions;
}

interface Pending {
  correlationId: number;
  apiKey: number;
  version: number;
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: unknown;
}

interface Queued {
  apiKey: number;
  version: number;
  body: unknown;
  /** A client's request frame sent as it is instead of encoding `body`, and whether its buffer may move. */
  frame: Uint8Array | null;
  move: boolean;
  read: SharedRead | undefined;
  timeoutMs: number;
  resolve(v: unknown): void;
  reject(e: Error): void;
}

/** A {@link Dialer} that opens real TCP connections with `opts`. */
export function tcpDialer(opts: ConnectionOptions = {}): Dialer {
  return (host, port, nodeId) => BrokerConnection.open(host, port, nodeId, opts);
}

/** One TCP connection to a broker. */
export class BrokerConnection implements BrokerChannel {
  readonly nodeId: number;
  readonly address: string;
  private conn: Connection | null = null;
  private readonly clientId: string;
  private readonly maxInFlight: number;
  private readonly requestTimeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly clock: Clock;
  private readonly writer = new Writer(64 * 1024);
  private readonly pending: Pending[] = [];
  private readonly queued: Queued[] = [];
  private versions: Int16Array = new Int16Array(0);
  private nextCorrelationId = 1;
  private isClosed = false;
  private closeReason = "connection closed";
  // Frame assembly state.
  private readonly sizeBytes = new Uint8Array(4);
  private sizeFill = 0;
  private frame: Uint8Array | null = null;
  private frameFill = 0;

  private constructor(host: string, port: number, nodeId: number, opts: ConnectionOptions) {
    this.nodeId = nodeId;
    this.address = `${host}:${port}`;
    this.clientId = opts.clientId ?? "runnel";
    this.maxInFlight = opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.maxResponseBytes = opts.maxResponseBytes ?? MAX_RESPONSE_BYTES;
    this.clock = opts.clock ?? systemClock;
    if (!Number.isInteger(this.maxInFlight) || this.maxInFlight < 1) throw new RangeError(`maxInFlight ${this.maxInFlight} must be >= 1`);
  }

  /** Connects and negotiates API versions. */
  static async open(host: string, port: number, nodeId: number, opts: ConnectionOptions = {}): Promise<BrokerConnection> {
    const c = new BrokerConnection(host, port, nodeId, opts);
    const clock = c.clock;
    const timeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    let timer: unknown = null;
    let timedOut = false;
    const onConnection = (conn: Connection) => {
      c.conn = conn;
      if (timedOut) conn.close(false);
      return { onData: (chunk: Uint8Array) => c.onData(chunk), onDrain: () => {}, onClose: () => c.fail(new ConnectionError(`connection to ${c.address} closed`)) };
    };
    const connected = opts.transport !== undefined ? opts.transport(host, port, onConnection) : opts.tls !== undefined ? connectTls(host, port, opts.tls, onConnection) : dial(host, port, onConnection);
    try {
      await new Promise<void>((resolve, reject) => {
        timer = clock.setTimer(() => {
          timedOut = true;
          c.conn?.close(false);
          reject(new ConnectionError(`connecting to ${c.address} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        connected.then(resolve, (e: Error) => reject(new ConnectionError(`cannot connect to ${c.address}: ${e.message}`)));
      });
    } finally {
      clock.clearTimer(timer);
    }
    try {
      if (opts.apiVersions !== undefined) c.versions = negotiateVersions(opts.apiVersions);
      else await c.negotiate();
      if (opts.sasl !== undefined) await c.authenticate(opts.sasl);
    } catch (e) {
      c.close();
      throw e;
    }
    return c;
  }

  /** See {@link BrokerChannel.closed}. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** See {@link BrokerChannel.version}. */
  version(apiKey: number): number {
    return apiKey >= 0 && apiKey < this.versions.length ? this.versions[apiKey] : -1;
  }

  /** See {@link BrokerChannel.inFlight}. */
  inFlight(): number {
    return this.pending.length;
  }

  /** See {@link BrokerChannel.request}. */
  request<T = unknown>(apiKey: number, body: unknown, opts: RequestOptions = {}): Promise<T> {
    return this.enqueue<T>(apiKey, body, null, false, opts);
  }

  /** See {@link BrokerChannel.forwardFrame}. */
  forwardFrame<T = unknown>(apiKey: number, version: number, frame: Uint8Array, opts: ForwardOptions = {}): Promise<T> {
    return this.enqueue<T>(apiKey, null, frame, opts.move === true, { ...opts, version }, opts.read);
  }

  private enqueue<T>(apiKey: number, body: unknown, frame: Uint8Array | null, move: boolean, opts: RequestOptions, read?: SharedRead): Promise<T> {
    if (this.isClosed) return Promise.reject(new ConnectionError(`${this.closeReason} (${this.address})`));
    const version = opts.version ?? this.version(apiKey);
    if (version < 0) {
      const name = API_CODECS[apiKey]?.name ?? `API ${apiKey}`;
      return Promise.reject(new UnsupportedApiError(`broker ${this.address} supports no version of ${name} that Runnel's client speaks`));
    }
    const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
    if (opts.noResponse) {
      try {
        this.write(apiKey, version, body, frame, move, read, this.nextCorrelationId++);
      } catch (e) {
        return Promise.reject(e);
      }
      return Promise.resolve(undefined as T);
    }
    return new Promise<T>((resolve, reject) => {
      const q: Queued = { apiKey, version, body, frame, move, read, timeoutMs, resolve: resolve as (v: unknown) => void, reject };
      if (this.pending.length < this.maxInFlight) {
        this.send(q);
        return;
      }
      if (this.queued.length >= MAX_QUEUED_REQUESTS) {
        reject(new ConnectionError(`more than ${MAX_QUEUED_REQUESTS} requests queued for ${this.address}`));
        return;
      }
      this.queued.push(q);
    });
  }

  /** See {@link BrokerChannel.close}. */
  close(): void {
    // Nothing waits for an answer: end gracefully, so that requests still queued behind a full socket (acks=0
    // produces) are sent; with requests in flight their answers are given up, as before.
    const graceful = this.pending.length === 0 && this.queued.length === 0;
    this.fail(new ConnectionError(`connection to ${this.address} closed by the client`), graceful);
  }

  private send(q: Queued): void {
    // A forwarded frame keeps its client's correlation id (answers are matched in order, the id only checked).
    const correlationId = q.frame !== null ? new DataView(q.frame.buffer, q.frame.byteOffset, 8).getInt32(4) : this.nextCorrelationId++;
    if (this.nextCorrelationId > 0x7fffffff) this.nextCorrelationId = 1;
    try {
      this.write(q.apiKey, q.version, q.body, q.frame, q.move, q.read, correlationId);
    } catch (e) {
      q.reject(e as Error);
      return;
    }
    const p: Pending = {
      correlationId,
      apiKey: q.apiKey,
      version: q.version,
      resolve: q.resolve,
      reject: q.reject,
      timer: null,
    };
    p.timer = this.clock.setTimer(() => {
      p.timer = null;
      const name = API_CODECS[p.apiKey]?.name ?? String(p.apiKey);
      const err = new RequestTimeoutError(`${name} request to ${this.address} timed out after ${q.timeoutMs} ms`);
      // Like Kafka clients, a timed-out request closes the connection: later responses would be out of step.
      this.pending.splice(this.pending.indexOf(p), 1);
      p.reject(err);
      this.fail(new ConnectionError(`connection to ${this.address} closed after a request timed out`));
    }, q.timeoutMs);
    this.pending.push(p);
  }

  private write(apiKey: number, version: number, body: unknown, frame: Uint8Array | null, move: boolean, read: SharedRead | undefined, correlationId: number): void {
    if (frame !== null) return this.writeFrame(frame, move, read);
    const chunks = encodeRequestFrame(this.writer, apiKey, version, correlationId, this.clientId, body);
    const conn = this.conn;
    if (conn === null) throw new ConnectionError(`not connected to ${this.address}`);
    conn.write(chunks);
  }

  /** Writes a client's request frame behind its size prefix, in a message of its own where the connection has them. */
  private writeFrame(frame: Uint8Array, move: boolean, read: SharedRead | undefined): void {
    const conn = this.conn;
    if (conn === null) throw new ConnectionError(`not connected to ${this.address}`);
    const prefix = new Uint8Array(4);
    new DataView(prefix.buffer).setInt32(0, frame.length);
    if (conn.writeFrame !== undefined) conn.writeFrame(prefix, frame, move, read);
    else conn.write([prefix, frame]);
  }

  /** SaslHandshake v1 then SaslAuthenticate until the exchange completes; throws with the broker's error. */
  private async authenticate(creds: SaslCredentials): Promise<void> {
    const hs = await this.request<SaslHandshakeResponse>(ApiKey.SaslHandshake, { mechanism: creds.mechanism });
    if (hs.errorCode !== ErrorCode.NONE) throw new KafkaError(hs.errorCode, `SASL ${creds.mechanism} refused by ${this.address} (it offers ${hs.mechanisms.join(", ")})`);
    const exchange = saslClient(creds, systemRandom);
    let token: Uint8Array | null = exchange.first();
    while (token !== null) {
      const r: SaslAuthenticateResponse = await this.request<SaslAuthenticateResponse>(ApiKey.SaslAuthenticate, { authBytes: token });
      if (r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode, `SASL authentication with ${this.address} failed: ${r.errorMessage ?? errorName(r.errorCode)}`);
      token = exchange.next(r.authBytes);
    }
  }

  private async negotiate(): Promise<void> {
    let version = clientApiVersionsMax();
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await this.request<ApiVersionsResponse>(ApiKey.ApiVersions, { clientSoftwareName: "runnel", clientSoftwareVersion: RUNNEL_VERSION }, { version });
      if (res.errorCode === ErrorCode.NONE) {
        this.versions = negotiateVersions(res.apiKeys);
        return;
      }
      const theirs = res.apiKeys.find((k) => k.apiKey === ApiKey.ApiVersions);
      if (res.errorCode !== ErrorCode.UNSUPPORTED_VERSION || theirs === undefined || theirs.maxVersion >= version) {
        throw new KafkaError(res.errorCode, `ApiVersions to ${this.address} failed: ${errorName(res.errorCode)}`);
      }
      version = theirs.maxVersion;
    }
    throw new UnsupportedApiError(`broker ${this.address} rejected every ApiVersions version`);
  }

  private onData(chunk: Uint8Array): void {
    let at = 0;
    const n = chunk.length;
    while (at < n && !this.isClosed) {
      if (this.frame === null) {
        if (this.sizeFill === 0 && n - at >= 4) {
          const size = ((chunk[at] << 24) | (chunk[at + 1] << 16) | (chunk[at + 2] << 8) | chunk[at + 3]);
          if (!this.checkSize(size)) return;
          at += 4;
          if (n - at >= size) {
            // The whole frame is in this chunk: decode it in place (the chunk is not reused by the socket).
            this.onFrame(chunk.subarray(at, at + size));
            at += size;
            continue;
          }
          this.frame = new Uint8Array(size);
          this.frameFill = 0;
          continue;
        }
        while (this.sizeFill < 4 && at < n) this.sizeBytes[this.sizeFill++] = chunk[at++];
        if (this.sizeFill < 4) return;
        const b = this.sizeBytes;
        const size = (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
        this.sizeFill = 0;
        if (!this.checkSize(size)) return;
        this.frame = new Uint8Array(size);
        this.frameFill = 0;
        continue;
      }
      const take = Math.min(n - at, this.frame.length - this.frameFill);
      this.frame.set(chunk.subarray(at, at + take), this.frameFill);
      this.frameFill += take;
      at += take;
      if (this.frameFill === this.frame.length) {
        const f = this.frame;
        this.frame = null;
        this.onFrame(f);
      }
    }
  }

  private checkSize(size: number): boolean {
    if (size < 4 || size > this.maxResponseBytes) {
      this.fail(new ConnectionError(`invalid response frame size ${size} from ${this.address}`));
      return false;
    }
    return true;
  }

  private onFrame(frame: Uint8Array): void {
    const p = this.pending.shift();
    if (p === undefined) {
      this.fail(new ConnectionError(`unexpected response from ${this.address}`));
      return;
    }
    this.clock.clearTimer(p.timer);
    let body: unknown;
    try {
      const r = new Reader(frame);
      const header = readResponseHeader(r, responseHeaderVersion(p.apiKey, p.version));
      if (header.correlationId !== p.correlationId) {
        throw new ConnectionError(`correlation id ${header.correlationId} from ${this.address}, expected ${p.correlationId}`);
      }
      let version = p.version;
      // A broker that rejects our ApiVersions version answers in version 0 (KIP-511).
      if (p.apiKey === ApiKey.ApiVersions && r.remaining() >= 2 && ((frame[r.pos] << 8) | frame[r.pos + 1]) === ErrorCode.UNSUPPORTED_VERSION) {
        version = 0;
      }
      body = API_CODECS[p.apiKey]!.readResponse(r, version);
    } catch (e) {
      const err = e instanceof ConnectionError ? e : new ConnectionError(`malformed response from ${this.address}: ${(e as Error).message}`);
      p.reject(err);
      this.fail(err);
      return;
    }
    p.resolve(body);
    while (this.queued.length > 0 && this.pending.length < this.maxInFlight && !this.isClosed) this.send(this.queued.shift()!);
  }

  private fail(err: Error, graceful = false): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closeReason = err.message;
    this.conn?.close(graceful);
    const pending = this.pending.splice(0);
    const queued = this.queued.splice(0);
    for (const p of pending) {
      this.clock.clearTimer(p.timer);
      p.reject(err);
    }
    for (const q of queued) q.reject(err);
  }
}
