/**
 * A minimal Kafka client for broker tests: encodes requests with the generated codecs, sends raw bytes when a test
 * needs to, and decodes responses. Tells whether the broker closed the connection.
 */
import * as net from "node:net";
import { Reader, Writer } from "../../src/protocol/wire.ts";
import { API_CODECS, requestHeaderVersion, responseHeaderVersion } from "../../src/protocol/generated/index.ts";
import { readResponseHeader, writeRequestHeader } from "../../src/protocol/generated/headers.ts";

/** COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR: a Kafka client finds the coordinator again and retries. */
const COORDINATOR_RETRIABLE = new Set([14, 15, 16]);

/** A test connection to a broker. */
export class RawClient {
  private sock: net.Socket;
  private buf = Buffer.alloc(0);
  private waiters: ((frame: Buffer | null) => void)[] = [];
  private correlation = 1;
  /** Drop request fields the chosen version cannot carry instead of refusing (differential tests send one body at every version). */
  lenient = false;
  /** Longest `request` waits for an answer before it rejects (ms); 0 waits forever. */
  timeoutMs = 0;
  /** The client id of the requests' headers (a quota test names the client its quota is set for). */
  clientId = "raw-test";
  /** Resolves when the broker closes the connection. */
  readonly closed: Promise<void>;

  private constructor(sock: net.Socket) {
    this.sock = sock;
    this.closed = new Promise((resolve) => sock.on("close", () => {
      for (const w of this.waiters.splice(0)) w(null);
      resolve();
    }));
    sock.on("error", () => {});
    sock.on("data", (b: Buffer) => {
      this.buf = Buffer.concat([this.buf, b]);
      while (this.buf.length >= 4 && this.buf.length >= 4 + this.buf.readInt32BE(0)) {
        const n = this.buf.readInt32BE(0);
        const frame = this.buf.subarray(4, 4 + n);
        this.buf = this.buf.subarray(4 + n);
        this.waiters.shift()?.(frame);
      }
    });
  }

  /** Connects to 127.0.0.1:port (from `localAddress`, e.g. 127.0.0.2, when given). */
  static connect(port: number, localAddress?: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: "127.0.0.1", port, ...(localAddress === undefined ? {} : { localAddress }) }, () => resolve(new RawClient(s)));
      s.once("error", reject);
    });
  }

  /** Encodes a request frame (size prefix included). */
  frame(apiKey: number, version: number, body: unknown): Uint8Array {
    const w = new Writer(1024);
    w.dropUnsupportedFields = this.lenient;
    w.reserve(4);
    writeRequestHeader(w, requestHeaderVersion(apiKey, version), { requestApiKey: apiKey, requestApiVersion: version, correlationId: this.correlation++, clientId: this.clientId });
    API_CODECS[apiKey]!.writeRequest(w, version, body);
    const out = w.finishContiguous().slice();
    new DataView(out.buffer).setInt32(0, out.length - 4);
    return out;
  }

  /** Sends raw bytes and waits for one response frame (null when the connection closed instead). */
  sendRaw(bytes: Uint8Array, expectResponse = true): Promise<Buffer | null> {
    if (!expectResponse) {
      this.sock.write(bytes);
      return Promise.resolve(null);
    }
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.sock.write(bytes);
    });
  }

  /** Sends a request and decodes the response; throws if the broker closed the connection. */
  async request<T = any>(apiKey: number, version: number, body: unknown): Promise<T> {
    const sent = this.sendRaw(this.frame(apiKey, version, body));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const frame = this.timeoutMs <= 0 ? await sent : await Promise.race([
      sent,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer to API ${apiKey} v${version} within ${this.timeoutMs} ms`)), this.timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    if (frame === null) throw new Error(`connection closed instead of answering API ${apiKey} v${version}`);
    const r = new Reader(frame);
    readResponseHeader(r, responseHeaderVersion(apiKey, version));
    return API_CODECS[apiKey]!.readResponse(r, version) as T;
  }

  /**
   * Sends a request again, as Kafka's clients do, while the answer's error (read by `errorOf`) says the coordinator
   * is still loading or not there yet: COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR (a
   * node's coordinators load their partitions after the first FindCoordinator creates the internal topic). Returns
   * the first other answer; throws after `timeoutMs`.
   */
  async requestWhileCoordinatorLoads<T = any>(apiKey: number, version: number, body: unknown, errorOf: (r: T) => number, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.request<T>(apiKey, version, body);
      const code = errorOf(r);
      if (!COORDINATOR_RETRIABLE.has(code)) return r;
      if (Date.now() > deadline) throw new Error(`API ${apiKey} v${version} still answers error ${code} after ${timeoutMs} ms`);
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  /**
   * FindCoordinator (v4) for `key` (`keyType` 0: group, 1: transactional id) until it is found and loaded, as a
   * Kafka client does before its first group or transaction request: a sharded node creates the internal topic
   * and places the coordinator only then (a single broker also when a group request comes first). A group's
   * coordinator may still be loading when it is named: DescribeGroups (v5, which creates nothing) is asked until it
   * answers without COORDINATOR_LOAD_IN_PROGRESS.
   */
  async findCoordinator(key: string, keyType: 0 | 1): Promise<void> {
    const found = await this.requestWhileCoordinatorLoads(10, 4, { keyType, coordinatorKeys: [key] }, (r) => r.coordinators[0].errorCode);
    if (found.coordinators[0].errorCode !== 0) throw new Error(`FindCoordinator ${key}: error ${found.coordinators[0].errorCode}`);
    if (keyType === 0) await this.requestWhileCoordinatorLoads(15, 5, { groups: [key], includeAuthorizedOperations: false }, (r) => r.groups[0].errorCode);
  }

  /** Closes the connection. */
  close(): void {
    this.sock.destroy();
  }
}

/** One request to the broker on 127.0.0.1:`port`, on a connection of its own (closed after), waiting up to 60 s. */
export async function requestOnce<T = any>(port: number, apiKey: number, version: number, body: unknown): Promise<T> {
  const c = await RawClient.connect(port);
  try {
    c.timeoutMs = 60_000;
    return await c.request<T>(apiKey, version, body);
  } finally {
    c.close();
  }
}
