/**
 * An etcd v3 client over etcd's gRPC-JSON gateway (`POST /v3/...`, keys and values base64, int64 as decimal
 * strings). Unary calls only; watches are in `etcd-watch.ts`, lease keep-alive in `etcd-lease.ts`. Every call has a
 * deadline. A network failure, a deadline, or etcd saying it is unavailable surfaces as {@link EtcdUnavailableError}
 * (retriable, carries REQUEST_TIMED_OUT); reads are retried on the next endpoint first, writes never are (a write may
 * have been applied before the connection broke, so only the caller can decide).
 */
import { Buffer } from "node:buffer";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { fetchTransport, type HttpTransport } from "../platform/http-client.ts";
import { systemClock, type Clock } from "../platform/clock.ts";

/** Deadline of one unary etcd request, ms. */
export const ETCD_REQUEST_TIMEOUT_MS = 5_000;
/** Extra attempts of a read (range, lease time-to-live) after a network failure, each on the next endpoint. */
export const ETCD_READ_RETRIES = 2;
/** Pause before a read is retried, ms. */
export const ETCD_RETRY_BACKOFF_MS = 100;

/** etcd (or the network to it) did not answer: retriable; handlers answer REQUEST_TIMED_OUT or NOT_CONTROLLER. */
export class EtcdUnavailableError extends KafkaError {
  /** Always true: the same request may succeed later. */
  readonly retriable = true;
  constructor(message: string) {
    super(ErrorCode.REQUEST_TIMED_OUT, `etcd unavailable: ${message}`);
    this.name = "EtcdUnavailableError";
  }
}

/** etcd refused a request (bad request, lease not found, compacted revision): not retriable as is. */
export class EtcdRequestError extends Error {
  /** etcd's gRPC status code (5 NOT_FOUND, 11 OUT_OF_RANGE, ...). */
  readonly grpcCode: number;
  constructor(grpcCode: number, message: string) {
    super(`etcd: ${message} (grpc code ${grpcCode})`);
    this.name = "EtcdRequestError";
    this.grpcCode = grpcCode;
  }
}

/** gRPC codes that mean "try again later": DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, UNAVAILABLE. */
const RETRIABLE_GRPC = new Set([4, 8, 14]);
/** gRPC NOT_FOUND, e.g. "requested lease not found". */
export const GRPC_NOT_FOUND = 5;

/** One key-value pair as etcd stores it. */
export interface KeyValue {
  /** Key, UTF-8. */
  key: string;
  /** Value bytes (empty for a deletion event). */
  value: Uint8Array;
  /** Revision that created the key (0 for a deletion event). */
  createRevision: number;
  /** Revision of the last change. */
  modRevision: number;
  /** Number of changes since creation. */
  version: number;
  /** Lease id bound to the key ("0" for none). */
  lease: string;
}

/** A txn compare: a key's create/mod revision, version, value or lease against a constant. */
export type Compare =
  | { key: string; target: "CREATE" | "MOD" | "VERSION"; result: "EQUAL" | "NOT_EQUAL" | "GREATER" | "LESS"; value: number }
  | { key: string; target: "VALUE"; result: "EQUAL" | "NOT_EQUAL"; value: string | Uint8Array }
  | { key: string; target: "LEASE"; result: "EQUAL" | "NOT_EQUAL"; value: string };

/** A txn operation. */
export type TxnOp =
  | { put: { key: string; value: string | Uint8Array; lease?: string } }
  | { delete: { key: string; prefix?: boolean } }
  | { range: { key: string; prefix?: boolean } };

/** What a txn op answered: the range's kvs (empty for put and delete). */
export interface TxnOpResult {
  /** Kvs of a range op. */
  kvs: KeyValue[];
}

/** Result of {@link EtcdClient.txn}. */
export interface TxnResult {
  /** Whether every compare held (so the success ops ran). */
  succeeded: boolean;
  /** Store revision after the txn (the revision of its writes when it wrote). */
  revision: number;
  /** One result per op that ran. */
  results: TxnOpResult[];
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Base64 of a UTF-8 string or bytes, as the gateway wants keys and values. */
export function b64(v: string | Uint8Array): string {
  return Buffer.from(typeof v === "string" ? enc.encode(v) : v).toString("base64");
}

/** The `range_end` that makes a range cover every key starting with `prefix` (base64). */
export function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(enc.encode(prefix));
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i]++;
      return end.toString("base64");
    }
  }
  return Buffer.from([0]).toString("base64"); // all 0xff: to the end of the key space
}

/** An int64 decimal string from the gateway as a number; asserts it is exact. */
export function int64(s: unknown): number {
  if (s === undefined || s === null) return 0;
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new Error(`etcd: int64 ${String(s)} outside the exact number range`);
  return n;
}

/** Decodes a gateway key-value object. */
export function decodeKv(o: Record<string, unknown>): KeyValue {
  return {
    key: dec.decode(Buffer.from(String(o.key ?? ""), "base64")),
    value: new Uint8Array(Buffer.from(String(o.value ?? ""), "base64")),
    createRevision: int64(o.create_revision),
    modRevision: int64(o.mod_revision),
    version: int64(o.version),
    lease: String(o.lease ?? "0"),
  };
}

/** The value of a key as UTF-8 text. */
export function kvText(kv: KeyValue): string {
  return dec.decode(kv.value);
}

/** Client settings. */
export interface EtcdClientOptions {
  /** Endpoints such as `http://127.0.0.1:2379` (Kafka-style `metadata.etcd.endpoints`, comma separated). */
  endpoints: string[];
  /** HTTP transport (default: `fetch`). */
  transport?: HttpTransport;
  /** Deadline of each unary request, ms. */
  requestTimeoutMs?: number;
  /** Clock for the pause before a read is retried (default: the real one). */
  clock?: Clock;
}

function rangeFields(key: string, prefix?: boolean): Record<string, string> {
  return prefix ? { key: b64(key), range_end: prefixEnd(key) } : { key: b64(key) };
}

/** A minimal etcd v3 client over the JSON gateway. */
export class EtcdClient {
  /** The endpoints, tried in turn. */
  readonly endpoints: readonly string[];
  /** The transport, shared with watches. */
  readonly transport: HttpTransport;
  private readonly timeoutMs: number;
  private readonly clock: Clock;
  private current = 0;

  constructor(opts: EtcdClientOptions) {
    if (opts.endpoints.length === 0) throw new Error("etcd: no endpoints");
    this.endpoints = opts.endpoints.map((e) => e.replace(/\/+$/, ""));
    this.transport = opts.transport ?? fetchTransport;
    this.timeoutMs = opts.requestTimeoutMs ?? ETCD_REQUEST_TIMEOUT_MS;
    this.clock = opts.clock ?? systemClock;
  }

  /** The endpoint calls go to now (watches start here too). */
  endpoint(): string {
    return this.endpoints[this.current];
  }

  /** Moves to the next endpoint after a failure. */
  rotate(): void {
    this.current = (this.current + 1) % this.endpoints.length;
  }

  /** Sends one gateway call; `retries` extra attempts on network failure (reads only). */
  async call(path: string, body: unknown, retries = 0): Promise<Record<string, unknown>> {
    const text = JSON.stringify(body);
    for (let attempt = 0; ; attempt++) {
      let reply;
      try {
        reply = await this.transport.postJson(`${this.endpoint()}${path}`, text, this.timeoutMs);
      } catch (e) {
        this.rotate();
        if (attempt < retries) {
          await new Promise((r) => this.clock.setTimer(() => r(undefined), ETCD_RETRY_BACKOFF_MS));
          continue;
        }
        throw new EtcdUnavailableError(`${path}: ${(e as Error).message ?? e}`);
      }
      let doc: Record<string, unknown>;
      try {
        doc = JSON.parse(reply.text);
      } catch {
        throw new EtcdUnavailableError(`${path}: HTTP ${reply.status}, not JSON`);
      }
      if (reply.status !== 200 || (doc.error !== undefined && doc.header === undefined)) {
        const code = Number(doc.code ?? 2);
        const msg = String(doc.message ?? doc.error ?? `HTTP ${reply.status}`);
        if (RETRIABLE_GRPC.has(code) || reply.status >= 502) {
          this.rotate();
          if (attempt < retries) continue;
          throw new EtcdUnavailableError(`${path}: ${msg}`);
        }
        throw new EtcdRequestError(code, msg);
      }
      return doc;
    }
  }

  /** Reads one key, or every key under `prefix` when asked; `revision` 0 reads the latest. */
  async range(key: string, opts: { prefix?: boolean; revision?: number; limit?: number } = {}): Promise<{ kvs: KeyValue[]; revision: number }> {
    const body: Record<string, unknown> = rangeFields(key, opts.prefix);
    if (opts.revision) body.revision = String(opts.revision);
    if (opts.limit) body.limit = String(opts.limit);
    const doc = await this.call("/v3/kv/range", body, ETCD_READ_RETRIES);
    const kvs = ((doc.kvs as Record<string, unknown>[] | undefined) ?? []).map(decodeKv);
    return { kvs, revision: int64((doc.header as Record<string, unknown>).revision) };
  }

  /** Reads one key; null when absent. */
  async get(key: string): Promise<KeyValue | null> {
    return (await this.range(key)).kvs[0] ?? null;
  }

  /** Writes a key (bound to `lease` when given); returns the revision of the write. */
  async put(key: string, value: string | Uint8Array, lease?: string): Promise<number> {
    const body: Record<string, unknown> = { key: b64(key), value: b64(value) };
    if (lease) body.lease = lease;
    const doc = await this.call("/v3/kv/put", body);
    return int64((doc.header as Record<string, unknown>).revision);
  }

  /** Deletes a key (or a prefix); returns how many keys went. */
  async delete(key: string, prefix = false): Promise<number> {
    const doc = await this.call("/v3/kv/deleterange", rangeFields(key, prefix));
    return int64(doc.deleted);
  }

  /** Runs `success` when every compare holds, else `failure`, atomically. */
  async txn(compare: Compare[], success: TxnOp[], failure: TxnOp[] = []): Promise<TxnResult> {
    const doc = await this.call("/v3/kv/txn", {
      compare: compare.map(encodeCompare),
      success: success.map(encodeOp),
      failure: failure.map(encodeOp),
    });
    const responses = (doc.responses as Record<string, Record<string, unknown>>[] | undefined) ?? [];
    return {
      succeeded: doc.succeeded === true,
      revision: int64((doc.header as Record<string, unknown>).revision),
      results: responses.map((r) => ({ kvs: ((r.response_range?.kvs as Record<string, unknown>[] | undefined) ?? []).map(decodeKv) })),
    };
  }

  /** Grants a lease of `ttlSeconds`; returns its id (decimal string: ids use all 64 bits) and granted TTL. */
  async leaseGrant(ttlSeconds: number): Promise<{ id: string; ttl: number }> {
    const doc = await this.call("/v3/lease/grant", { TTL: String(ttlSeconds) });
    if (doc.error) throw new EtcdRequestError(2, String(doc.error));
    return { id: String(doc.ID), ttl: int64(doc.TTL) };
  }

  /** Refreshes a lease once; returns the remaining TTL in seconds, 0 when the lease no longer exists. */
  async leaseKeepAlive(id: string): Promise<number> {
    const doc = await this.call("/v3/lease/keepalive", { ID: id });
    const result = doc.result as Record<string, unknown> | undefined;
    if (!result) throw new EtcdUnavailableError("/v3/lease/keepalive: empty stream");
    return int64(result.TTL);
  }

  /** Remaining TTL of a lease in seconds, -1 when it does not exist. */
  async leaseTimeToLive(id: string): Promise<number> {
    const doc = await this.call("/v3/lease/timetolive", { ID: id }, ETCD_READ_RETRIES);
    return doc.TTL === undefined ? 0 : int64(doc.TTL);
  }

  /** Revokes a lease, deleting every key bound to it; a lease already gone is not an error. */
  async leaseRevoke(id: string): Promise<void> {
    try {
      await this.call("/v3/lease/revoke", { ID: id });
    } catch (e) {
      if (!(e instanceof EtcdRequestError && e.grpcCode === GRPC_NOT_FOUND)) throw e;
    }
  }

  /** Whether `endpoint` answers a status request within the request deadline. */
  async alive(endpoint: string): Promise<boolean> {
    try {
      const reply = await this.transport.postJson(`${endpoint}/v3/maintenance/status`, "{}", this.timeoutMs);
      return reply.status === 200;
    } catch {
      return false;
    }
  }

  /** Compacts the history up to `revision` (tests and operators). */
  async compact(revision: number): Promise<void> {
    await this.call("/v3/kv/compaction", { revision: String(revision), physical: true });
  }
}

function encodeCompare(c: Compare): Record<string, unknown> {
  const out: Record<string, unknown> = { key: b64(c.key), target: c.target, result: c.result };
  switch (c.target) {
    case "CREATE":
      out.create_revision = String(c.value);
      break;
    case "MOD":
      out.mod_revision = String(c.value);
      break;
    case "VERSION":
      out.version = String(c.value);
      break;
    case "VALUE":
      out.value = b64(c.value);
      break;
    case "LEASE":
      out.lease = c.value;
      break;
  }
  return out;
}

function encodeOp(op: TxnOp): Record<string, unknown> {
  if ("put" in op) {
    const p: Record<string, unknown> = { key: b64(op.put.key), value: b64(op.put.value) };
    if (op.put.lease) p.lease = op.put.lease;
    return { request_put: p };
  }
  if ("delete" in op) return { request_delete_range: rangeFields(op.delete.key, op.delete.prefix) };
  return { request_range: rangeFields(op.range.key, op.range.prefix) };
}
