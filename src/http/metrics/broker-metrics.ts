/**
 * The broker's counters, updated on the hot path: plain numbers in preallocated arrays indexed by API key, one
 * small object per topic (made on the topic's first byte), fixed-bucket histograms. Nothing here allocates per
 * request. `/metrics` reads them (see prometheus-page.ts); docs/metrics.md lists every name.
 */
import { ApiKey } from "../../protocol/generated/index.ts";
import { FixedHistogram } from "./histogram.ts";

/** Highest API key + 1 that gets request metrics. */
export const MAX_API_KEYS = 128;

/** The phases of Kafka's RequestMetrics, in the order a request goes through them. */
export const REQUEST_PHASES = ["requestqueuetimems", "localtimems", "remotetimems", "responsequeuetimems", "responsesendtimems", "totaltimems"] as const;

/** Latency histograms of one API, one per phase of {@link REQUEST_PHASES}. */
export type PhaseHistograms = FixedHistogram[];

/** Bytes and messages into and out of one topic. */
export interface TopicCounters {
  /** Bytes appended by producers. */
  bytesIn: number;
  /** Records appended by producers. */
  messagesIn: number;
  /** Bytes returned to fetchers. */
  bytesOut: number;
  /** Records returned to fetchers. */
  messagesOut: number;
}

/** What `/metrics` shows of one listener's sensors (Kafka's socket-server-metrics with tag `listener`). */
export interface ListenerAcceptMetrics {
  /** `connection-accept-rate`: connections recorded on the listener's sensor per second. */
  acceptRate: number;
  /** `connection-accept-throttle-time`: average of the non-zero broker/listener rate throttles (ms), NaN for none. */
  throttleTimeMs: number;
  /** `ip-connection-accept-throttle-time`: average of the ip quota throttles on the listener (ms), NaN for none. */
  ipThrottleTimeMs: number;
  /** `broker-connection-accept-rate` (untagged): connections recorded on the broker sensor per second. */
  brokerAcceptRate: number;
}

/** Every counter the broker keeps for `/metrics`. */
export class BrokerMetrics {
  /** Requests per API key. */
  readonly requests = new Float64Array(MAX_API_KEYS);
  /** Per API key: count of each error code seen in responses (`error code -> count`). */
  readonly errors: (Map<number, number> | undefined)[] = new Array(MAX_API_KEYS);
  /** Per API key: phase histograms, made for the APIs the broker serves. */
  readonly latency: (PhaseHistograms | undefined)[] = new Array(MAX_API_KEYS);
  /**
   * Per API key: the broker's own time per request (request queue + local + response encoding + response send,
   * i.e. arrival to response written minus the remote wait and the wait for earlier responses), made with
   * {@link latency}.
   */
  readonly ownTime: (FixedHistogram | undefined)[] = new Array(MAX_API_KEYS);
  /**
   * Per API key: for a parked request woken by another request's handler (a long-poll Fetch woken by a Produce's
   * append), from the waking request's arrival to this response written: the broker's share of a record's
   * end-to-end latency.
   */
  readonly wokenPath: (FixedHistogram | undefined)[] = new Array(MAX_API_KEYS);
  /** Arrival (monotonic ms) of the request whose handler runs right now (synchronously), or -1. */
  runningRequestArrivedMs = -1;
  /** Per-topic bytes and messages. */
  readonly topics = new Map<string, TopicCounters>();
  /** Open client connections. */
  connections = 0;
  /** Connections accepted since start. */
  connectionsCreated = 0;
  /** Connections closed since start. */
  connectionsClosed = 0;
  /** Per listener name (`http` for the HTTP side): successful and failed authentications. */
  readonly authentications = new Map<string, { successful: number; failed: number }>();
  /** Per listener name: ms its accepting waited out connection creation rate throttles (Kafka's AcceptorBlockedPercent). */
  readonly acceptorBlockedMs = new Map<string, number>();
  /** Per listener name: its connection rate sensors' figures, node-wide (registered by the listener that owns them). */
  readonly acceptGauges = new Map<string, () => ListenerAcceptMetrics>();
  /** Fetches parked in long polls (the fetch purgatory). */
  waitingFetches = 0;
  /** acks=all produces waiting for their fsync (the produce purgatory). */
  waitingProduces = 0;
  /** ISR shrinks (stays 0 on a single node; replication increments it). */
  isrShrinks = 0;
  /** ISR expands (same). */
  isrExpands = 0;
  /** Bytes of records this broker served to consumers as a follower (KIP-392 fetch from the closest replica). */
  fetchFromFollowerBytes = 0;
  /** fdatasync latency (ms) of log segments: Kafka's LogFlushRateAndTimeMs. */
  readonly fsync = new FixedHistogram();

  /** Counts one authentication on `listener` (a SASL exchange; on the HTTP side, one request with credentials). */
  authenticationDone(listener: string, ok: boolean): void {
    let c = this.authentications.get(listener);
    if (c === undefined) this.authentications.set(listener, (c = { successful: 0, failed: 0 }));
    if (ok) c.successful++;
    else c.failed++;
  }

  /** Adds `ms` that `listener` waited before taking its next connection. */
  acceptorBlocked(listener: string, ms: number): void {
    this.acceptorBlockedMs.set(listener, (this.acceptorBlockedMs.get(listener) ?? 0) + ms);
  }

  /** Makes the latency histograms of each served API key. */
  serveApis(apiKeys: readonly number[]): void {
    for (const k of apiKeys) {
      if (k < 0 || k >= MAX_API_KEYS) throw new RangeError(`API key ${k} outside the metrics table`);
      this.latency[k] ??= REQUEST_PHASES.map(() => new FixedHistogram());
      this.ownTime[k] ??= new FixedHistogram();
      this.wokenPath[k] ??= new FixedHistogram();
    }
  }

  /** Records one finished request: its API, the six phase durations and the response's encoding time (ms). */
  requestDone(apiKey: number, queueMs: number, localMs: number, remoteMs: number, responseQueueMs: number, sendMs: number, totalMs: number, encodeMs = 0): void {
    this.requests[apiKey]++;
    const h = this.latency[apiKey];
    if (h === undefined) return;
    h[0].observe(queueMs);
    h[1].observe(localMs);
    h[2].observe(remoteMs);
    h[3].observe(responseQueueMs);
    h[4].observe(sendMs);
    h[5].observe(totalMs);
    this.ownTime[apiKey]!.observe(queueMs + localMs + encodeMs + sendMs);
  }

  /** Records a woken request's path: from the waking request's arrival to this response written (ms). */
  wokenRequestDone(apiKey: number, ms: number): void {
    this.wokenPath[apiKey]?.observe(ms);
  }

  /** Counts one error code (0 = NONE included, as Kafka's ErrorsPerSec does) in a response of `apiKey`. */
  error(apiKey: number, code: number): void {
    let m = this.errors[apiKey];
    if (m === undefined) this.errors[apiKey] = m = new Map();
    m.set(code, (m.get(code) ?? 0) + 1);
  }

  /** The counters of `topic`, made on first use. */
  topic(topic: string): TopicCounters {
    let t = this.topics.get(topic);
    if (t === undefined) {
      t = { bytesIn: 0, messagesIn: 0, bytesOut: 0, messagesOut: 0 };
      this.topics.set(topic, t);
    }
    return t;
  }

  /** Forgets a deleted topic's counters. */
  topicDeleted(topic: string): void {
    this.topics.delete(topic);
  }
}

/**
 * Counts every `errorCode` field in a decoded response (top level and nested partition/topic results), the way
 * Kafka's response `errorCounts()` does. Views of record bytes are skipped. Produce and Fetch, the responses of
 * nearly every request, are walked along their schema's only `errorCode` fields (the generic walk enumerates
 * every property of every nested object, ~4 µs per response on the broker's main thread); the others generically.
 */
export function countResponseErrors(m: BrokerMetrics, apiKey: number, response: unknown): void {
  if (apiKey === ApiKey.Produce || apiKey === ApiKey.Fetch) countProduceOrFetchErrors(m, apiKey, response);
  else countErrorFields(m, apiKey, response);
}

/**
 * {@link countResponseErrors} for a Produce or Fetch response: the top-level `errorCode` (Fetch v7+), and each
 * partition's in `responses[].partitionResponses[]` (Produce) or `responses[].partitions[]` (Fetch). No other
 * struct of either schema has an `errorCode`; a response of another shape is walked generically.
 */
function countProduceOrFetchErrors(m: BrokerMetrics, apiKey: number, response: unknown): void {
  const o = response as { errorCode?: unknown; responses?: unknown } | null;
  if (typeof o !== "object" || o === null || !Array.isArray(o.responses)) return countErrorFields(m, apiKey, response);
  if (typeof o.errorCode === "number") m.error(apiKey, o.errorCode);
  const field = apiKey === ApiKey.Produce ? "partitionResponses" : "partitions";
  const topics = o.responses as unknown[];
  for (let i = 0; i < topics.length; i++) {
    const t = topics[i] as Record<string, unknown> | null;
    const parts = typeof t === "object" && t !== null ? t[field] : undefined;
    if (!Array.isArray(parts)) {
      countErrorFields(m, apiKey, t);
      continue;
    }
    for (let j = 0; j < parts.length; j++) {
      const p = parts[j] as { errorCode?: unknown } | null;
      if (typeof p === "object" && p !== null && typeof p.errorCode === "number") m.error(apiKey, p.errorCode);
    }
  }
}

/** Counts every `errorCode` field of `response` and of the objects and arrays nested in it (record views skipped). */
export function countErrorFields(m: BrokerMetrics, apiKey: number, response: unknown): void {
  if (typeof response !== "object" || response === null || ArrayBuffer.isView(response)) return;
  if (Array.isArray(response)) {
    for (let i = 0; i < response.length; i++) countErrorFields(m, apiKey, response[i]);
    return;
  }
  const o = response as Record<string, unknown>;
  for (const k in o) {
    const v = o[k];
    if (k === "errorCode") {
      if (typeof v === "number") m.error(apiKey, v);
    } else if (typeof v === "object" && v !== null) countErrorFields(m, apiKey, v);
  }
}
