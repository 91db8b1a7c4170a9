/**
 * The connection a follower's fetcher uses to reach one leader broker: dialed on first use at the address the
 * leader has registered now (its inter-broker endpoint), and dialed again after the connection closes or a request
 * on it fails (the leader restarted, maybe on another port).
 */
import type { BrokerChannel, Dialer, RequestOptions } from "../client/connection.ts";

/** Fetch version asked before the leader's versions are known; the first request then learns them. */
const UNKNOWN_VERSION = 17;

/** A {@link BrokerChannel} to one broker that redials as needed. */
export class LeaderChannel implements BrokerChannel {
  readonly nodeId: number;
  private readonly locate: () => { host: string; port: number } | undefined;
  private readonly dial: Dialer;
  private conn: BrokerChannel | null = null;
  private stopped = false;

  /** `locate` answers the leader's current endpoint (undefined while it is not registered). */
  constructor(nodeId: number, locate: () => { host: string; port: number } | undefined, dial: Dialer) {
    this.nodeId = nodeId;
    this.locate = locate;
    this.dial = dial;
  }

  get address(): string {
    return this.conn?.address ?? `broker ${this.nodeId} (not connected)`;
  }

  get closed(): boolean {
    return this.stopped;
  }

  version(apiKey: number): number {
    return this.conn !== null && !this.conn.closed ? this.conn.version(apiKey) : UNKNOWN_VERSION;
  }

  inFlight(): number {
    return this.conn?.inFlight() ?? 0;
  }

  async request<T = unknown>(apiKey: number, body: unknown, opts?: RequestOptions): Promise<T> {
    if (this.stopped) throw new Error(`connection to broker ${this.nodeId} is closed`);
    if (this.conn === null || this.conn.closed) {
      this.conn = null;
      const at = this.locate();
      if (at === undefined) throw new Error(`broker ${this.nodeId} is not registered`);
      const conn = await this.dial(at.host, at.port, this.nodeId);
      if (this.stopped) {
        conn.close();
        throw new Error(`connection to broker ${this.nodeId} is closed`);
      }
      this.conn = conn;
      // asked before the versions were known: the next round asks a version the leader serves
      if (opts?.version !== undefined && opts.version > conn.version(apiKey)) throw new Error(`broker ${this.nodeId} serves API ${apiKey} up to v${conn.version(apiKey)}`);
    }
    const conn = this.conn;
    try {
      return await conn.request<T>(apiKey, body, opts);
    } catch (e) {
      conn.close();
      if (this.conn === conn) this.conn = null;
      throw e;
    }
  }

  close(): void {
    this.stopped = true;
    this.conn?.close();
    this.conn = null;
  }
}
