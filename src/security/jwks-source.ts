/**
 * The OAUTHBEARER verification keys of a listener, from `sasl.oauthbearer.jwks.endpoint.url` (https://, http:// or
 * file://), kept fresh as Kafka's refreshing JWKS resolver does: the keys are loaded before the listener opens (a
 * failed load is retried with exponential backoff from `sasl.oauthbearer.jwks.endpoint.retry.backoff.ms`, for at most
 * `sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms` in total, then start-up fails), loaded again every
 * `sasl.oauthbearer.jwks.endpoint.refresh.ms` (a failed refresh keeps the current keys), and at once when a token
 * names a key id the set lacks (at most once a minute per key id, for at most {@link MISSING_KID_MAX} ids). The
 * accepting threads of a sharded node each have a source of the listener; given a shared slot, they keep one key set
 * as one broker does: a thread that loads a changed document publishes it there, and every thread takes the newest
 * one before its next verification (and at start, instead of loading it again).
 */
import type { KeyObject } from "node:crypto";
import { publicKeyFromJwk } from "../platform/crypto.ts";
import type { HttpGet } from "../platform/http-client.ts";

/** Time between two refreshes asked for by the same unknown key id (Kafka's missing key id cache). */
const MISSING_KID_INTERVAL_MS = 60_000;
/** Unknown key ids remembered at once (ids older than the interval make room). */
const MISSING_KID_MAX = 16;
/** Deadline of one JWKS GET. */
const FETCH_TIMEOUT_MS = 10_000;

/** Settings of one JWKS source. */
export interface JwksSettings {
  /** Listener name (messages). */
  listener: string;
  /** `sasl.oauthbearer.jwks.endpoint.url`. */
  url: string;
  /** `sasl.oauthbearer.jwks.endpoint.refresh.ms`. */
  refreshMs: number;
  /** `sasl.oauthbearer.jwks.endpoint.retry.backoff.ms`. */
  backoffMs: number;
  /** `sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms`. */
  backoffMaxMs: number;
}

/** What a JWKS source needs of the platform. */
export interface JwksDeps {
  /** Reads a file:// JWKS. */
  readFile(path: string): Uint8Array;
  /** Fetches an http(s):// JWKS. */
  get: HttpGet;
  /** Monotonic ms. */
  monotonicMs(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  /** Log sink. */
  log(level: "info" | "warn", msg: string): void;
  /** The node's shared slot of this listener's JWKS document (a sharded node's accepting threads), if any. */
  shared?: SharedJwksSlot;
}

/** One slot of a JWKS document shared by the threads of a node (src/platform/shared-text.ts). */
export interface SharedJwksSlot {
  /** Publications so far (0: none). */
  generation(): number;
  /** Publishes `text`; its generation, or null when it is too long to share. */
  publish(text: string): number | null;
  /** The newest document and its generation, null, or "writing" when a publication stays unfinished (its writer stopped?). */
  read(): { generation: number; text: string } | null | "writing";
}

/** The public signing keys of a JWKS document by `kid` (a key without one is `#<index>`); throws when there are none. */
export function parseJwks(text: string): Map<string, KeyObject> {
  const doc = JSON.parse(text) as { keys?: Array<Record<string, unknown>> };
  const keys = new Map<string, KeyObject>();
  for (const [i, jwk] of (doc.keys ?? []).entries()) {
    if (jwk.use !== undefined && jwk.use !== "sig") continue;
    keys.set(typeof jwk.kid === "string" ? jwk.kid : `#${i}`, publicKeyFromJwk(jwk));
  }
  if (keys.size === 0) throw new Error("the JWKS holds no signing keys");
  return keys;
}

/** A listener's verification keys, refreshed in the background. */
export class JwksSource {
  private current: ReadonlyMap<string, KeyObject> = new Map();
  private timer: unknown = null;
  private loading: Promise<void> | null = null;
  private closed = false;
  private readonly missing = new Map<string, number>();
  /** Generation of the shared document the current keys came from or were published as. */
  private seen = 0;
  /** The shared slot stayed unfinished at the last read: this thread keeps (and loads) its own keys, publishing none, until a read succeeds. */
  private sharedStuck = false;

  constructor(private readonly s: JwksSettings, private readonly deps: JwksDeps) {
    if (!/^(https?|file):\/\//i.test(s.url) && !s.url.startsWith("/")) throw new Error(`listener ${s.listener}: sasl.oauthbearer.jwks.endpoint.url must be an https://, http:// or file:// URL (got ${s.url})`);
    if (!(s.refreshMs > 0) || !(s.backoffMs > 0) || !(s.backoffMaxMs >= s.backoffMs)) throw new Error(`listener ${s.listener}: the sasl.oauthbearer.jwks.endpoint refresh and backoff settings must be positive, with retry.backoff.max.ms >= retry.backoff.ms`);
  }

  /** The keys by `kid` now (the node's newest shared set, when another thread has loaded a changed one). */
  keys(): ReadonlyMap<string, KeyObject> {
    const shared = this.deps.shared;
    if (shared !== undefined && shared.generation() !== this.seen) this.adoptShared(shared);
    return this.current;
  }

  /** Loads the keys, retrying with backoff; rejects naming the URL when every try failed. Then refreshes periodically. */
  async start(): Promise<void> {
    const shared = this.deps.shared;
    if (shared !== undefined && shared.generation() > 0 && this.adoptShared(shared)) {
      this.deps.log("info", `listener ${this.s.listener}: ${this.current.size} JWKS key(s) from ${this.s.url} (as loaded by another thread of the node)`);
      this.schedule(this.s.refreshMs);
      return;
    }
    const began = this.deps.monotonicMs();
    let wait = this.s.backoffMs;
    for (;;) {
      try {
        const loaded = await this.load();
        this.current = loaded.keys;
        this.share(loaded.text);
        break;
      } catch (e) {
        const spent = this.deps.monotonicMs() - began;
        if (spent + wait > this.s.backoffMaxMs) throw new Error(`listener ${this.s.listener}: sasl.oauthbearer.jwks.endpoint.url=${this.s.url}: ${(e as Error).message}`);
        this.deps.log("warn", `listener ${this.s.listener}: loading the JWKS from ${this.s.url} failed (${(e as Error).message}); retrying in ${wait} ms`);
        await new Promise<void>((resolve) => this.deps.setTimer(resolve, wait));
        wait = Math.min(wait * 2, this.s.backoffMaxMs);
      }
    }
    this.deps.log("info", `listener ${this.s.listener}: ${this.current.size} JWKS key(s) from ${this.s.url}`);
    this.schedule(this.s.refreshMs);
  }

  /** A token named key id `kid` that the set lacks: refreshes at once, unless this id asked within the last minute. */
  missingKid(kid: string): void {
    const now = this.deps.monotonicMs();
    const last = this.missing.get(kid);
    if (last !== undefined && now - last < MISSING_KID_INTERVAL_MS) return;
    if (last === undefined && this.missing.size >= MISSING_KID_MAX) {
      for (const [k, at] of this.missing) if (now - at >= MISSING_KID_INTERVAL_MS) this.missing.delete(k);
      if (this.missing.size >= MISSING_KID_MAX) return;
    }
    this.missing.set(kid, now);
    void this.refresh();
  }

  /** Stops refreshing. */
  close(): void {
    this.closed = true;
    if (this.timer !== null) this.deps.clearTimer(this.timer);
    this.timer = null;
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.timer !== null) this.deps.clearTimer(this.timer);
    this.timer = this.deps.setTimer(() => {
      this.timer = null;
      void this.refresh().then(() => this.schedule(this.s.refreshMs));
    }, ms);
  }

  /** Loads the keys again (one load at a time); a failure is logged and the current keys kept. */
  private refresh(): Promise<void> {
    this.loading ??= this.load().then(
      ({ keys, text }) => {
        const changed = keys.size !== this.current.size || [...keys.keys()].some((k) => !this.current.has(k));
        this.current = keys;
        if (changed) this.share(text);
        for (const kid of keys.keys()) this.missing.delete(kid);
        if (changed) this.deps.log("info", `listener ${this.s.listener}: JWKS from ${this.s.url} now has key(s) ${[...keys.keys()].join(", ")}`);
      },
      (e) => this.deps.log("warn", `listener ${this.s.listener}: refreshing the JWKS from ${this.s.url} failed, keeping the current keys: ${(e as Error).message}`),
    ).finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  /** Publishes a loaded document to the node's other threads (when shared). */
  private share(text: string): void {
    const shared = this.deps.shared;
    if (shared === undefined || this.sharedStuck) return;
    let generation: number | null;
    try {
      generation = shared.publish(text);
    } catch (e) {
      this.deps.log("warn", `listener ${this.s.listener}: cannot publish the JWKS to the node's other threads (${(e as Error).message}); this thread keeps its own keys`);
      this.sharedStuck = true;
      return;
    }
    if (generation === null) this.deps.log("warn", `listener ${this.s.listener}: the JWKS from ${this.s.url} is too long to share between the node's threads; each keeps its own`);
    else this.seen = generation;
  }

  /** Takes the newest shared document; false (keeping the current keys) when there is none or it does not parse. */
  private adoptShared(shared: SharedJwksSlot): boolean {
    const doc = shared.read();
    if (doc === "writing") {
      if (!this.sharedStuck) this.deps.log("warn", `listener ${this.s.listener}: the node's shared JWKS stays half-written (a thread stopped while publishing it?); this thread keeps its own keys`);
      this.sharedStuck = true;
      this.seen = shared.generation(); // read again only when a publication completes
      return false;
    }
    this.sharedStuck = false;
    if (doc === null) return false;
    this.seen = doc.generation;
    try {
      this.current = parseJwks(doc.text);
    } catch {
      return false; // published only after it parsed in the publishing thread
    }
    for (const kid of this.current.keys()) this.missing.delete(kid);
    return true;
  }

  private async load(): Promise<{ keys: Map<string, KeyObject>; text: string }> {
    const url = this.s.url;
    let text: string;
    if (!/^https?:/i.test(url)) {
      const path = url.startsWith("file://") ? decodeURIComponent(new URL(url).pathname) : url;
      text = new TextDecoder().decode(this.deps.readFile(path));
    } else {
      const reply = await this.deps.get(url, FETCH_TIMEOUT_MS);
      if (reply.status !== 200) throw new Error(`HTTP status ${reply.status}`);
      text = reply.text;
    }
    return { keys: parseJwks(text), text };
  }
}
