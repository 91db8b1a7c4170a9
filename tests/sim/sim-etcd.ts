/**
 * A simulated etcd behind the JSON gateway the product's EtcdClient speaks (`/v3/kv/range`, `put`, `deleterange`,
 * `txn`, `/v3/lease/*`, `/v3/watch`, `/v3/maintenance/status`), with etcd's guarantees as far as Runnel relies on
 * them:
 * - linearizable: one store with one revision counter; every request is applied atomically at one simulation event
 *   (a txn's compares and ops together), so compare-and-set is exact;
 * - leases expire on the simulation clock `TTL` after the last keep-alive, deleting their keys in one revision;
 * - watches deliver every event from their start revision on, in revision order, each message after a seeded delay;
 *   a stream that would lose a message (its broker cut off) ends instead, and the watcher resumes from its revision.
 * Requests and answers cross a network with seeded delays; a broker cut off from etcd sees its requests time out
 * (a write may still have been applied, as with a real network). A dead broker process sends nothing.
 */
import { Buffer } from "node:buffer";
import type { HttpReply, HttpStream, HttpTransport } from "../../src/platform/http-client.ts";
import type { Sim } from "./scheduler.ts";

interface Kv {
  value: Buffer;
  create: number;
  mod: number;
  version: number;
  lease: string;
}

interface Event {
  type: "PUT" | "DELETE";
  key: string;
  kv: Kv | null;
  rev: number;
}

interface Watcher {
  node: number;
  from: string;
  end: string | null;
  push(line: string): void;
  fail(): void;
  alive: boolean;
  /** The last revision sent on this stream (history replay and live notifications never repeat one). */
  sentUpTo: number;
}

const b64key = (s: unknown): string => Buffer.from(String(s ?? ""), "base64").toString("latin1");
const keyB64 = (k: string): string => Buffer.from(k, "latin1").toString("base64");

/** The simulated etcd cluster (one linearizable store). */
export class SimEtcd {
  private readonly kv = new Map<string, Kv>();
  private revision = 1;
  private readonly leases = new Map<string, { ttlS: number; expiresAt: number; keys: Set<string> }>();
  private nextLease = 7_000_000_000_000_000;
  private readonly history: Event[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly isolated = new Set<number>();
  private flushPending = false;
  /** Counters for the run report. */
  readonly stats = { etcdRequests: 0, etcdTimeouts: 0, leasesExpired: 0, watchStreamsBroken: 0 };

  constructor(
    private readonly sim: Sim,
    private readonly maxDelayMs: number,
  ) {
    this.sweep();
  }

  /** Cuts broker `node` off from etcd (its requests time out, its watch streams break) until {@link SimEtcd.heal}. */
  isolate(node: number): void {
    this.isolated.add(node);
    for (const w of [...this.watchers]) if (w.node === node) w.fail();
  }

  /** Reconnects every broker. */
  heal(): void {
    this.isolated.clear();
  }

  /** Reads a key's value as text (for the simulation's own bookkeeping), or null. */
  peek(key: string): string | null {
    return this.kv.get(key)?.value.toString("utf8") ?? null;
  }

  /** A key's create revision (for a broker registration: its broker epoch), or null when the key is absent. */
  peekCreateRevision(key: string): number | null {
    return this.kv.get(key)?.create ?? null;
  }

  /** Keys under a prefix with their text values. */
  peekPrefix(prefix: string): [string, string][] {
    return [...this.kv].filter(([k]) => k.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, v.value.toString("utf8")]);
  }

  /** The transport one broker process uses; `alive` says whether that process still runs (a dead one sends nothing). */
  transport(node: number, alive: () => boolean): HttpTransport {
    const delay = () => 1 + this.sim.int(this.maxDelayMs);
    return {
      postJson: (url, body, timeoutMs) =>
        new Promise<HttpReply>((resolve, reject) => {
          if (!alive()) return; // a dead process: nothing is sent, nobody waits
          this.stats.etcdRequests++;
          const path = new URL(url).pathname;
          const timeout = () => {
            this.stats.etcdTimeouts++;
            this.sim.after(timeoutMs, `etcd timeout ${node} ${path}`, () => reject(new Error(`simulated etcd request timed out after ${timeoutMs} ms`)));
          };
          if (this.isolated.has(node)) return timeout();
          this.sim.after(delay(), `etcd ${node} ${path}`, () => {
            if (this.isolated.has(node)) return timeout();
            const reply = this.handle(path, JSON.parse(body), node);
            this.sim.after(delay(), `etcd reply ${node} ${path}`, () => {
              if (this.isolated.has(node)) return timeout();
              if (alive()) resolve(reply);
            });
          });
        }),
      postStream: (url, body, signal) =>
        new Promise<HttpStream>((resolve, reject) => {
          if (!alive()) return;
          const req = JSON.parse(body).create_request as Record<string, unknown>;
          this.sim.after(delay(), `etcd ${node} watch`, () => {
            if (this.isolated.has(node) || !alive()) return reject(new Error("simulated etcd unreachable"));
            resolve({ status: 200, chunks: this.watch(node, req, signal, alive) });
          });
        }),
    };
  }

  private header(): { revision: string } {
    return { revision: String(this.revision) };
  }

  private kvJson(key: string, v: Kv): Record<string, unknown> {
    return { key: keyB64(key), value: v.value.toString("base64"), create_revision: String(v.create), mod_revision: String(v.mod), version: String(v.version), lease: v.lease };
  }

  private keysIn(from: string, end: string | null): string[] {
    if (end === null) return this.kv.has(from) ? [from] : [];
    const toEnd = end === "\u0000";
    return [...this.kv.keys()].filter((k) => k >= from && (toEnd || k < end)).sort();
  }

  private handle(path: string, b: Record<string, unknown>, node: number): HttpReply {
    const ok = (doc: Record<string, unknown>): HttpReply => ({ status: 200, text: JSON.stringify({ header: this.header(), ...doc }) });
    const notFound = (msg: string): HttpReply => ({ status: 404, text: JSON.stringify({ error: msg, code: 5, message: msg }) });
    switch (path) {
      case "/v3/kv/range":
        return ok(this.range(b));
      case "/v3/kv/put": {
        const lease = String(b.lease ?? "0");
        if (lease !== "0" && !this.leases.has(lease)) return notFound("etcdserver: requested lease not found");
        this.revision++;
        this.put(b64key(b.key), Buffer.from(String(b.value ?? ""), "base64"), lease);
        return ok({});
      }
      case "/v3/kv/deleterange": {
        const keys = this.keysIn(b64key(b.key), b.range_end === undefined ? null : b64key(b.range_end));
        if (keys.length > 0) {
          this.revision++;
          for (const k of keys) this.remove(k);
        }
        return ok({ deleted: String(keys.length) });
      }
      case "/v3/kv/txn":
        return this.txn(b);
      case "/v3/lease/grant": {
        const id = String(this.nextLease++);
        const ttlS = Number(b.TTL);
        this.leases.set(id, { ttlS, expiresAt: this.sim.nowMs + ttlS * 1000, keys: new Set() });
        this.sim.trace(`etcd lease ${id} granted to broker ${node}`);
        return ok({ ID: id, TTL: String(ttlS) });
      }
      case "/v3/lease/keepalive": {
        const l = this.leases.get(String(b.ID));
        if (l === undefined) return ok({ result: { header: this.header(), ID: String(b.ID) } });
        l.expiresAt = this.sim.nowMs + l.ttlS * 1000;
        return ok({ result: { header: this.header(), ID: String(b.ID), TTL: String(l.ttlS) } });
      }
      case "/v3/lease/timetolive": {
        const l = this.leases.get(String(b.ID));
        return ok({ ID: String(b.ID), TTL: l === undefined ? "-1" : String(Math.max(0, Math.ceil((l.expiresAt - this.sim.nowMs) / 1000))) });
      }
      case "/v3/lease/revoke": {
        const id = String(b.ID);
        if (!this.leases.has(id)) return notFound("etcdserver: requested lease not found");
        this.sim.trace(`etcd lease ${id} revoked by broker ${node}`);
        this.expire(id);
        return ok({});
      }
      case "/v3/maintenance/status":
        return ok({ version: "3.5.0-sim" });
      case "/v3/kv/compaction":
        return ok({});
      default:
        return { status: 404, text: JSON.stringify({ error: `unknown path ${path}`, code: 12, message: `unknown path ${path}` }) };
    }
  }

  private range(b: Record<string, unknown>): Record<string, unknown> {
    const keys = this.keysIn(b64key(b.key), b.range_end === undefined ? null : b64key(b.range_end));
    const limit = Number(b.limit ?? 0);
    const picked = limit > 0 ? keys.slice(0, limit) : keys;
    return { kvs: picked.map((k) => this.kvJson(k, this.kv.get(k)!)), count: String(keys.length) };
  }

  private put(key: string, value: Buffer, lease: string): void {
    const old = this.kv.get(key);
    if (old !== undefined && old.lease !== "0") this.leases.get(old.lease)?.keys.delete(key);
    const v: Kv = { value, create: old?.create ?? this.revision, mod: this.revision, version: (old?.version ?? 0) + 1, lease };
    this.kv.set(key, v);
    if (lease !== "0") this.leases.get(lease)!.keys.add(key);
    this.emit({ type: "PUT", key, kv: v, rev: this.revision });
  }

  private remove(key: string): void {
    const old = this.kv.get(key);
    if (old === undefined) return;
    if (old.lease !== "0") this.leases.get(old.lease)?.keys.delete(key);
    this.kv.delete(key);
    this.emit({ type: "DELETE", key, kv: null, rev: this.revision });
  }

  private compare(c: Record<string, unknown>): boolean {
    const kv = this.kv.get(b64key(c.key));
    let actual: number | string;
    let expected: number | string;
    switch (c.target) {
      case "CREATE":
        [actual, expected] = [kv?.create ?? 0, Number(c.create_revision ?? 0)];
        break;
      case "MOD":
        [actual, expected] = [kv?.mod ?? 0, Number(c.mod_revision ?? 0)];
        break;
      case "VERSION":
        [actual, expected] = [kv?.version ?? 0, Number(c.version ?? 0)];
        break;
      case "VALUE":
        if (kv === undefined) return false; // etcd: a value compare on a missing key fails
        [actual, expected] = [kv.value.toString("latin1"), Buffer.from(String(c.value ?? ""), "base64").toString("latin1")];
        break;
      case "LEASE":
        [actual, expected] = [kv?.lease ?? "0", String(c.lease ?? "0")];
        break;
      default:
        throw new Error(`simulated etcd: unknown compare target ${String(c.target)}`);
    }
    switch (c.result ?? "EQUAL") {
      case "EQUAL":
        return actual === expected;
      case "NOT_EQUAL":
        return actual !== expected;
      case "GREATER":
        return actual > expected;
      case "LESS":
        return actual < expected;
    }
    throw new Error(`simulated etcd: unknown compare result ${String(c.result)}`);
  }

  private txn(b: Record<string, unknown>): HttpReply {
    const compares = (b.compare as Record<string, unknown>[] | undefined) ?? [];
    const succeeded = compares.every((c) => this.compare(c));
    const ops = ((succeeded ? b.success : b.failure) as Record<string, Record<string, unknown>>[] | undefined) ?? [];
    for (const op of ops) {
      const lease = String(op.request_put?.lease ?? "0");
      if (op.request_put !== undefined && lease !== "0" && !this.leases.has(lease)) return { status: 404, text: JSON.stringify({ error: "etcdserver: requested lease not found", code: 5, message: "etcdserver: requested lease not found" }) };
    }
    const writes = ops.some((op) => op.request_put !== undefined || (op.request_delete_range !== undefined && this.keysIn(b64key(op.request_delete_range.key), op.request_delete_range.range_end === undefined ? null : b64key(op.request_delete_range.range_end)).length > 0));
    if (writes) this.revision++;
    const responses = ops.map((op) => {
      if (op.request_range !== undefined) return { response_range: this.range(op.request_range) };
      if (op.request_put !== undefined) {
        this.put(b64key(op.request_put.key), Buffer.from(String(op.request_put.value ?? ""), "base64"), String(op.request_put.lease ?? "0"));
        return { response_put: {} };
      }
      const d = op.request_delete_range;
      const keys = this.keysIn(b64key(d.key), d.range_end === undefined ? null : b64key(d.range_end));
      for (const k of keys) this.remove(k);
      return { response_delete_range: { deleted: String(keys.length) } };
    });
    return { status: 200, text: JSON.stringify({ header: this.header(), succeeded, responses }) };
  }

  private expire(id: string): void {
    const l = this.leases.get(id)!;
    this.leases.delete(id);
    if (l.keys.size === 0) return;
    this.revision++;
    for (const k of [...l.keys].sort()) this.remove(k);
  }

  /** Leases whose TTL passed since their last keep-alive expire (every 50 simulated ms). */
  private sweep(): void {
    this.sim.after(50, "etcd lease sweep", () => {
      this.sweep();
      for (const [id, l] of [...this.leases]) {
        if (this.sim.nowMs < l.expiresAt) continue;
        this.stats.leasesExpired++;
        this.sim.trace(`etcd lease ${id} expired`);
        this.expire(id);
      }
    });
  }

  private emit(e: Event): void {
    this.history.push(e);
    // Watchers hear of changes once the request that made them is done, every revision in order, each one once.
    if (this.flushPending) return;
    this.flushPending = true;
    this.sim.after(0, "etcd notify", () => {
      this.flushPending = false;
      for (const w of [...this.watchers]) this.catchUp(w);
    });
  }

  /** Sends `w` every event after the last revision it was sent, one message per revision. */
  private catchUp(w: Watcher): void {
    const past = this.history.filter((e) => e.rev > w.sentUpTo);
    for (let i = 0; i < past.length; ) {
      let j = i;
      while (j < past.length && past[j].rev === past[i].rev) j++;
      this.deliver(w, past.slice(i, j));
      i = j;
    }
  }

  private matches(w: Watcher, key: string): boolean {
    if (w.end === null) return key === w.from;
    return key >= w.from && (w.end === "\u0000" || key < w.end);
  }

  private deliver(w: Watcher, events: Event[]): void {
    const mine = events.filter((e) => e.rev > w.sentUpTo && this.matches(w, e.key));
    if (events.length > 0) w.sentUpTo = Math.max(w.sentUpTo, events[events.length - 1].rev);
    if (mine.length === 0) return;
    const rev = mine[mine.length - 1].rev;
    w.push(JSON.stringify({ result: { header: { revision: String(rev) }, events: mine.map((e) => (e.type === "PUT" ? { kv: this.kvJson(e.key, e.kv!) } : { type: "DELETE", kv: { key: keyB64(e.key), mod_revision: String(e.rev) } })) } }));
  }

  private watch(node: number, req: Record<string, unknown>, signal: AbortSignal, alive: () => boolean): AsyncIterable<Uint8Array> {
    const sim = this.sim;
    const queue: Uint8Array[] = [];
    const inFlight: Uint8Array[] = [];
    let ended = false;
    let broken = false;
    let wake: (() => void) | null = null;
    let lastAt = 0;
    const watchers = this.watchers;
    const stats = this.stats;
    const w: Watcher = {
      node,
      from: b64key(req.key),
      end: req.range_end === undefined ? null : b64key(req.range_end),
      alive: true,
      sentUpTo: 0,
      push: (line) => {
        // In order: each message after a seeded delay, never before the previous one.
        const at = Math.max(lastAt, sim.nowMs + 1 + sim.int(this.maxDelayMs));
        lastAt = at;
        inFlight.push(new TextEncoder().encode(`${line}\n`));
        // Each event delivers the oldest message in flight, so events that tie on time cannot reorder the stream.
        sim.after(at - sim.nowMs, `etcd watch -> ${node}`, () => {
          const bytes = inFlight.shift();
          if (ended || bytes === undefined) return;
          if (this.isolated.has(node)) return w.fail();
          queue.push(bytes);
          wake?.();
        });
      },
      fail: () => {
        if (ended) return;
        stats.watchStreamsBroken++;
        broken = true;
        end();
      },
    };
    const end = () => {
      ended = true;
      w.alive = false;
      watchers.delete(w);
      wake?.();
    };
    signal.addEventListener("abort", end);
    watchers.add(w);
    const start = Number(req.start_revision ?? 0);
    w.sentUpTo = start > 0 ? start - 1 : this.revision;
    w.push(JSON.stringify({ result: { header: this.header(), created: true } }));
    this.catchUp(w);
    return {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          while (queue.length > 0) {
            if (!alive()) return;
            yield queue.shift()!;
          }
          if (ended) {
            if (broken) throw new Error("simulated etcd watch stream broken");
            return;
          }
          await new Promise<void>((resolve) => (wake = resolve));
          wake = null;
        }
      },
    };
  }
}
