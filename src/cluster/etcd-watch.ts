/**
 * etcd watches over the JSON gateway: one `POST /v3/watch` per watch, answered by a never-ending stream of
 * newline-separated JSON messages. When the stream breaks (etcd restarted, network cut) the watch reconnects with
 * back-off and resumes from the revision after the last one it delivered, so no event is lost or repeated. When
 * that revision has been compacted away the watch stops and says so; {@link EtcdMirror} then lists afresh.
 */
import type { Clock } from "../platform/clock.ts";
import { systemClock } from "../platform/clock.ts";
import { b64, decodeKv, int64, prefixEnd, type EtcdClient, type KeyValue } from "./etcd-client.ts";

/** Largest single watch message accepted, bytes (etcd's own request limit is 1.5 MiB; events can add up). */
export const ETCD_WATCH_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** First reconnect delay after a broken watch stream, ms (doubles up to the maximum). */
export const ETCD_WATCH_RECONNECT_BACKOFF_MS = 50;
/** Longest reconnect delay, ms. */
export const ETCD_WATCH_RECONNECT_BACKOFF_MAX_MS = 1_000;
/**
 * Silence on a watch stream after which etcd is asked whether it is still there, ms. A cut network or a hung etcd
 * sends no reset, so without the probe a watch would wait forever; a failed probe breaks the stream and reconnects.
 */
export const ETCD_WATCH_PROBE_INTERVAL_MS = 5_000;

/** One change seen by a watch. */
export interface WatchEvent {
  /** "put" (create or update) or "delete". */
  type: "put" | "delete";
  /** The key-value after the change (for a delete: key and mod revision only). */
  kv: KeyValue;
}

/** What a watch reports. */
export interface WatchHandlers {
  /** Events of one etcd revision batch, in revision order; `revision` is the store revision they bring us to. */
  onEvents(events: WatchEvent[], revision: number): void;
  /** The resume revision was compacted; the watch has stopped. */
  onCompacted(compactRevision: number): void;
  /** The stream is up (true) or broken and reconnecting (false). */
  onConnection?(up: boolean): void;
}

/** Watch settings. */
export interface WatchOptions {
  /** The key, or the prefix when `prefix` is set. */
  key: string;
  /** Watch every key under `key`. */
  prefix?: boolean;
  /** First revision to deliver (typically the listed revision + 1). */
  startRevision: number;
  /** Clock for reconnect back-off and probes. */
  clock?: Clock;
  /** Silence before a liveness probe, ms (default {@link ETCD_WATCH_PROBE_INTERVAL_MS}). */
  probeIntervalMs?: number;
}

/** A running watch; {@link EtcdWatch.close} stops it. */
export class EtcdWatch {
  private readonly client: EtcdClient;
  private readonly opts: WatchOptions;
  private readonly handlers: WatchHandlers;
  private readonly clock: Clock;
  private abort: AbortController | null = null;
  private closed = false;
  private next: number;
  private backoffMs = ETCD_WATCH_RECONNECT_BACKOFF_MS;
  private wake: (() => void) | null = null;
  /** Settles when the watch loop has ended. */
  readonly done: Promise<void>;

  constructor(client: EtcdClient, opts: WatchOptions, handlers: WatchHandlers) {
    this.client = client;
    this.opts = opts;
    this.handlers = handlers;
    this.clock = opts.clock ?? systemClock;
    this.next = opts.startRevision;
    this.done = this.run();
  }

  /** The revision the watch will deliver next (resume point). */
  get nextRevision(): number {
    return this.next;
  }

  /**
   * Drops the current stream and connects again now, resuming after the last delivered revision (nothing is lost or
   * repeated): for a caller that has just heard from etcd while this stream may be one that a healed network cut
   * left dead, which the probe would otherwise find only after its interval.
   */
  reconnect(): void {
    if (this.closed) return;
    this.backoffMs = ETCD_WATCH_RECONNECT_BACKOFF_MS;
    this.abort?.abort();
    this.wake?.();
  }

  /** Stops the watch. */
  close(): void {
    this.closed = true;
    this.abort?.abort();
    this.wake?.();
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      let compacted = false;
      try {
        compacted = await this.stream();
      } catch {
        // broken stream: reconnect below
      }
      if (compacted || this.closed) return;
      this.handlers.onConnection?.(false);
      this.client.rotate();
      await new Promise<void>((resolve) => {
        const h = this.clock.setTimer(resolve, this.backoffMs);
        this.wake = () => {
          this.clock.clearTimer(h);
          resolve();
        };
      });
      this.wake = null;
      this.backoffMs = Math.min(this.backoffMs * 2, ETCD_WATCH_RECONNECT_BACKOFF_MAX_MS);
    }
  }

  /** Runs one stream until it ends; returns true when it stopped because of compaction. */
  private async stream(): Promise<boolean> {
    const create: Record<string, unknown> = { key: b64(this.opts.key), start_revision: String(this.next), progress_notify: true };
    if (this.opts.prefix) create.range_end = prefixEnd(this.opts.key);
    const abort = new AbortController();
    this.abort = abort;
    const endpoint = this.client.endpoint();
    let lastHeard = this.clock.monotonicMs();
    const interval = this.opts.probeIntervalMs ?? ETCD_WATCH_PROBE_INTERVAL_MS;
    let probe: unknown = null;
    const armProbe = () => {
      probe = this.clock.setTimer(async () => {
        if (abort.signal.aborted) return;
        if (this.clock.monotonicMs() - lastHeard >= interval && !(await this.client.alive(endpoint))) {
          abort.abort();
          return;
        }
        armProbe();
      }, interval);
    };
    armProbe();
    try {
      return await this.read(endpoint, create, abort.signal, () => (lastHeard = this.clock.monotonicMs()));
    } finally {
      this.clock.clearTimer(probe);
    }
  }

  /** Reads one watch stream; `heard` is called on every chunk. */
  private async read(endpoint: string, create: Record<string, unknown>, signal: AbortSignal, heard: () => void): Promise<boolean> {
    const res = await this.client.transport.postStream(`${endpoint}/v3/watch`, JSON.stringify({ create_request: create }), signal);
    if (res.status !== 200) throw new Error(`watch: HTTP ${res.status}`);
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of res.chunks) {
      heard();
      buffered += decoder.decode(chunk, { stream: true });
      if (buffered.length > ETCD_WATCH_MAX_MESSAGE_BYTES) throw new Error("watch: message over ETCD_WATCH_MAX_MESSAGE_BYTES");
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line.length > 0 && this.message(JSON.parse(line))) return true;
      }
      if (this.closed) return false;
    }
    return false;
  }

  /** Handles one stream message; returns true when the watch was cancelled for compaction. */
  private message(doc: Record<string, unknown>): boolean {
    const r = doc.result as Record<string, unknown> | undefined;
    if (!r) throw new Error(`watch: ${JSON.stringify(doc.error ?? doc)}`);
    const compactRevision = int64(r.compact_revision);
    if (r.canceled === true || compactRevision > 0) {
      if (compactRevision > 0) {
        this.closed = true;
        this.handlers.onCompacted(compactRevision);
        return true;
      }
      throw new Error(`watch cancelled: ${String(r.cancel_reason ?? "")}`);
    }
    if (r.created === true) {
      this.backoffMs = ETCD_WATCH_RECONNECT_BACKOFF_MS;
      this.handlers.onConnection?.(true);
    }
    const raw = (r.events as Record<string, unknown>[] | undefined) ?? [];
    const revision = int64((r.header as Record<string, unknown> | undefined)?.revision);
    if (raw.length === 0) return false;
    const events: WatchEvent[] = raw.map((e) => ({ type: e.type === "DELETE" ? "delete" : "put", kv: decodeKv(e.kv as Record<string, unknown>) }));
    const last = events[events.length - 1].kv.modRevision;
    if (last < this.next) throw new Error(`watch: event revision ${last} before resume point ${this.next}`);
    this.next = last + 1;
    this.handlers.onEvents(events, Math.max(revision, last));
    return false;
  }
}

/** What an {@link EtcdMirror} reports after each change. */
export interface MirrorListener {
  /** The mirror changed: `changed` keys were put or deleted; `revision` is the mirror's revision now. */
  (changed: readonly WatchEvent[], revision: number): void;
}

/**
 * A local copy of every key under a prefix, kept current by a watch: list, then watch from the listed revision + 1,
 * and list again when that history was compacted. Reads are local and keep working while etcd is down.
 */
export class EtcdMirror {
  private readonly client: EtcdClient;
  private readonly prefix: string;
  private readonly clock: Clock;
  private readonly listeners: MirrorListener[] = [];
  private readonly map = new Map<string, KeyValue>();
  private readonly abandon = new Set<(e: Error) => void>();
  private watch: EtcdWatch | null = null;
  private closed = false;
  private rev = 0;
  private connected = false;

  private readonly probeIntervalMs: number | undefined;

  constructor(client: EtcdClient, prefix: string, clock: Clock = systemClock, probeIntervalMs?: number) {
    this.client = client;
    this.prefix = prefix;
    this.clock = clock;
    this.probeIntervalMs = probeIntervalMs;
  }

  /** Lists the prefix and starts watching; resolves after the first listing (rejects when etcd is unreachable). */
  async start(): Promise<void> {
    await this.relist();
  }

  /** Adds a change listener. */
  listen(fn: MirrorListener): void {
    this.listeners.push(fn);
  }

  /** The revision the mirror reflects. */
  get revision(): number {
    return this.rev;
  }

  /** Whether the watch stream is up now. */
  get live(): boolean {
    return this.connected;
  }

  /** One key's current value, or undefined. */
  get(key: string): KeyValue | undefined {
    return this.map.get(key);
  }

  /** Every key-value, in key order. */
  entries(): KeyValue[] {
    return [...this.map.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Resolves once the mirror reflects at least `revision` (for read-your-writes after a write). */
  waitFor(revision: number): Promise<void> {
    if (this.rev >= revision) return Promise.resolve();
    if (this.closed) return Promise.reject(new Error("etcd mirror closed"));
    return new Promise((resolve, reject) => {
      const check: MirrorListener = () => {
        if (this.rev < revision) return;
        const i = this.listeners.indexOf(check);
        if (i >= 0) this.listeners.splice(i, 1);
        this.abandon.delete(reject);
        resolve();
      };
      this.listeners.push(check);
      this.abandon.add(reject);
    });
  }

  /** Reconnects the watch now ({@link EtcdWatch.reconnect}). */
  reconnect(): void {
    this.watch?.reconnect();
  }

  /** Stops watching; pending {@link EtcdMirror.waitFor} calls reject. */
  close(): void {
    this.closed = true;
    this.watch?.close();
    for (const reject of this.abandon) reject(new Error("etcd mirror closed"));
    this.abandon.clear();
  }

  private async relist(): Promise<void> {
    const { kvs, revision } = await this.client.range(this.prefix, { prefix: true });
    const changed: WatchEvent[] = [];
    const seen = new Set<string>();
    for (const kv of kvs) {
      seen.add(kv.key);
      const old = this.map.get(kv.key);
      if (!old || old.modRevision !== kv.modRevision) changed.push({ type: "put", kv });
      this.map.set(kv.key, kv);
    }
    for (const [key, old] of this.map) {
      if (!seen.has(key)) {
        this.map.delete(key);
        changed.push({ type: "delete", kv: { ...old, value: new Uint8Array(0), modRevision: revision } });
      }
    }
    this.rev = Math.max(this.rev, revision);
    this.emit(changed);
    if (this.closed) return;
    this.watch = new EtcdWatch(this.client, { key: this.prefix, prefix: true, startRevision: revision + 1, clock: this.clock, probeIntervalMs: this.probeIntervalMs }, {
      onEvents: (events, rev) => {
        for (const e of events) {
          if (e.type === "put") this.map.set(e.kv.key, e.kv);
          else this.map.delete(e.kv.key);
        }
        this.rev = Math.max(this.rev, rev);
        this.emit(events);
      },
      onCompacted: () => void this.relistUntilDone(),
      onConnection: (up) => {
        this.connected = up;
        if (up) this.emit([]); // listeners may retry what failed while etcd was away
      },
    });
  }

  private async relistUntilDone(): Promise<void> {
    let delay = ETCD_WATCH_RECONNECT_BACKOFF_MS;
    while (!this.closed) {
      try {
        await this.relist();
        return;
      } catch {
        await new Promise((r) => this.clock.setTimer(() => r(undefined), delay));
        delay = Math.min(delay * 2, ETCD_WATCH_RECONNECT_BACKOFF_MAX_MS);
      }
    }
  }

  private emit(changed: readonly WatchEvent[]): void {
    if (changed.length === 0 && this.listeners.length === 0) return;
    for (const fn of [...this.listeners]) fn(changed, this.rev);
  }
}
