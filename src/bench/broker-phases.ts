/**
 * The broker's side of a bench run, read from its `/metrics` page (Runnel's, docs/metrics.md): the page is read
 * before and after the measured part of the run and the cumulative histogram buckets are subtracted, so the
 * percentiles cover only that run's requests. A percentile is reported as the upper bound of the bucket it falls
 * in ("at most"), since the broker keeps fixed buckets.
 */
import { fetchGet, type HttpGet } from "../platform/http-client.ts";

/** Longest one `/metrics` read may take (ms). */
const SCRAPE_TIMEOUT_MS = 10_000;

/** Cumulative bucket counts of one histogram series, by upper bound (`Infinity` for +Inf). */
export type Buckets = Map<number, number>;

/** Every histogram series of a page: `name{labels}` (labels without `le`) -> buckets. */
export type HistogramPage = Map<string, Buckets>;

/** The `{request="..."}` phase histograms reported for one API. */
const PHASES = [
  ["queue", "kafka_network_requestmetrics_requestqueuetimems"],
  ["local", "kafka_network_requestmetrics_localtimems"],
  ["remote", "kafka_network_requestmetrics_remotetimems"],
  ["responseQueue", "kafka_network_requestmetrics_responsequeuetimems"],
  ["send", "kafka_network_requestmetrics_responsesendtimems"],
  ["own", "runnel_request_own_time_ms"],
  ["total", "kafka_network_requestmetrics_totaltimems"],
  ["wokenPath", "runnel_request_woken_path_ms"],
] as const;

/** p50 and p99 (bucket upper bounds, ms) and the count of one histogram over a run. */
export interface BucketPercentiles {
  /** Observations in the run. */
  count: number;
  /** Upper bound (ms) of the bucket holding the median. */
  p50: number;
  /** Upper bound (ms) of the bucket holding the 99th percentile. */
  p99: number;
}

/** One API's phases over a run (see docs/metrics.md for what each covers). */
export type ApiPhases = Record<(typeof PHASES)[number][0], BucketPercentiles | null>;

/** What the broker saw during a run. */
export interface BrokerPhases {
  /** Produce requests: queue, local (validation + append), remote (acks=all: fsync wait), response queue, send, own, total. */
  produce: ApiPhases;
  /** Fetch requests: remote is the long-poll wait for data. */
  fetch: ApiPhases;
  /** fdatasync of segment files. */
  fsync: BucketPercentiles | null;
  /** Event-loop probe lateness. */
  eventLoopLag: BucketPercentiles | null;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)_bucket\{(.*)\} (\S+)$/;
const LE = /(?:^|,)le="([^"]*)"/;

/** Parses the `_bucket` samples of a Prometheus text page. */
export function parseHistograms(text: string): HistogramPage {
  const page: HistogramPage = new Map();
  for (const line of text.split("\n")) {
    const m = SAMPLE.exec(line);
    if (m === null) continue;
    const le = LE.exec(m[2]);
    if (le === null) continue;
    const labels = m[2].replace(LE, "").replace(/^,/, "");
    const key = `${m[1]}{${labels}}`;
    let b = page.get(key);
    if (b === undefined) page.set(key, (b = new Map()));
    b.set(le[1] === "+Inf" ? Infinity : Number(le[1]), Number(m[3]));
  }
  return page;
}

/** Reads and parses `url` (a `/metrics` page). */
export async function scrapeHistograms(url: string, get: HttpGet = fetchGet): Promise<HistogramPage> {
  const r = await get(url, SCRAPE_TIMEOUT_MS);
  if (r.status !== 200) throw new Error(`${url} answered HTTP ${r.status}`);
  return parseHistograms(r.text);
}

/** p50/p99 of what `after` added to `before` for series `key`, or null when nothing was observed. */
export function deltaPercentiles(before: HistogramPage, after: HistogramPage, key: string): BucketPercentiles | null {
  const a = after.get(key);
  if (a === undefined) return null;
  const b = before.get(key);
  const bounds = [...a.keys()].sort((x, y) => x - y);
  const cumulative = bounds.map((le) => a.get(le)! - (b?.get(le) ?? 0));
  const count = cumulative[cumulative.length - 1] ?? 0;
  if (!(count > 0)) return null;
  const at = (p: number) => {
    const rank = Math.max(1, Math.ceil((p * count) / 100 - 1e-9));
    for (let i = 0; i < bounds.length; i++) if (cumulative[i] >= rank) return bounds[i];
    return Infinity;
  };
  return { count, p50: at(50), p99: at(99) };
}

function apiPhases(before: HistogramPage, after: HistogramPage, request: string): ApiPhases {
  const out = {} as ApiPhases;
  for (const [field, name] of PHASES) out[field] = deltaPercentiles(before, after, `${name}{request="${request}"}`);
  return out;
}

/** The broker's phases between two reads of its page. */
export function brokerPhases(before: HistogramPage, after: HistogramPage): BrokerPhases {
  return {
    produce: apiPhases(before, after, "Produce"),
    fetch: apiPhases(before, after, "Fetch"),
    fsync: deltaPercentiles(before, after, "kafka_log_logflushstats_logflushrateandtimems{}"),
    eventLoopLag: deltaPercentiles(before, after, "runnel_eventloop_lag_ms{}"),
  };
}

const bound = (p: BucketPercentiles | null, which: "p50" | "p99") => (p === null ? "-" : `≤${p[which]}`);

/** Plain-text lines of a broker breakdown (p99 per phase, as bucket bounds). */
export function formatBrokerPhases(b: BrokerPhases): string[] {
  const lines = ["broker (from /metrics, bucket upper bounds in ms; p50 / p99):"];
  for (const [api, phases] of [
    ["Produce", b.produce],
    ["Fetch", b.fetch],
  ] as const) {
    const n = phases.total?.count ?? 0;
    const parts = PHASES.map(([field]) => `${field} ${bound(phases[field], "p50")}/${bound(phases[field], "p99")}`);
    lines.push(`  ${api} (${n} requests): ${parts.join("  ")}`);
  }
  lines.push(`  fdatasync (${b.fsync?.count ?? 0}): ${bound(b.fsync, "p50")}/${bound(b.fsync, "p99")}  event-loop lag (${b.eventLoopLag?.count ?? 0} probes): ${bound(b.eventLoopLag, "p50")}/${bound(b.eventLoopLag, "p99")}`);
  return lines;
}

/** The broker's page read at the start of a run's measured part, to be compared with a read at its end. */
export interface BrokerWindow {
  /** Reads the page again and returns the phases between the two reads. */
  finish(): Promise<BrokerPhases>;
  /** Gives up (the run failed). */
  cancel(): void;
}

/**
 * Starts a window on `url` that opens `warmupS` seconds from now (the end of the run's warm-up); without a
 * warm-up the page is read before this resolves, so the run's first request falls inside the window.
 */
export async function openBrokerWindow(url: string, warmupS: number, get: HttpGet = fetchGet): Promise<BrokerWindow> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const before =
    warmupS > 0
      ? new Promise<HistogramPage>((resolve, reject) => {
          timer = setTimeout(() => scrapeHistograms(url, get).then(resolve, reject), warmupS * 1000);
        })
      : await scrapeHistograms(url, get);
  if (before instanceof Promise) before.catch(() => {});
  return {
    async finish() {
      return brokerPhases(await before, await scrapeHistograms(url, get));
    },
    cancel() {
      clearTimeout(timer);
    },
  };
}
