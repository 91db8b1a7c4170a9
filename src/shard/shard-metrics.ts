/**
 * `/metrics` of a sharded node. Each shard renders, on the host's `metrics` call, the families of what it holds (its
 * partitions' traffic, logs, purgatories, fsync latency), the client families of its own front (when it accepts
 * clients) and its per-shard series (`shard` label: event-loop lag, heap, requests reaching it, bytes crossing to
 * and from other threads). The host asks every shard at once, waits at most {@link SHARD_SCRAPE_TIMEOUT_MS} for each,
 * adds its own front's client families, the group lag (corrected: a shard knows only its own partitions' high
 * watermarks) and the process families, and merges it all into one page (src/http/metrics/exposition-merge.ts).
 */
import type { Broker } from "../broker/broker.ts";
import { API_CODECS } from "../protocol/generated/index.ts";
import type { GroupLagRow } from "../group/group-lag.ts";
import { MAX_API_KEYS, type BrokerMetrics } from "../http/metrics/broker-metrics.ts";
import { mergeExpositions } from "../http/metrics/exposition-merge.ts";
import { clientFamilies, dataFamilies, groupLagFamilies, groupLagRows, processMetrics, wokenPathFamily, type MetricsSource } from "../http/metrics/prometheus-page.ts";
import { PrometheusText } from "../http/metrics/prometheus-text.ts";
import type { RuntimeStats } from "../http/metrics/runtime-stats.ts";
import type { ShardSet } from "./shard-host.ts";
import type { SegmentMapCounts } from "./front/segment-maps.ts";

/** Longest the host waits for one shard's answer to a scrape; a shard that is later is named on the page. */
export const SHARD_SCRAPE_TIMEOUT_MS = 2_000;

/** Bytes a shard's broker exchanged with other threads over port connections (their fronts, other shards' dials). */
export interface ShardTraffic {
  /** Bytes received (requests). */
  bytesIn: number;
  /** Bytes sent. */
  bytesOut: number;
}

/** What a shard answers to the host's `metrics` call (structured-clonable). */
export interface ShardScrape {
  /** The shard's families as Prometheus text. */
  text: string;
  /** High watermarks of the partitions this shard holds: [topic, partition, high watermark]. */
  highWatermarks: [string, number, bigint][];
  /** Lag rows of the groups this shard coordinates; their log end offsets are right only for its own partitions. */
  groupLag: [string, GroupLagRow][];
}

/** A broker's view restricted to the partitions it holds (a shard's other partitions are empty stand-ins). */
export function ownPartitionsSource(b: Broker, metrics: BrokerMetrics): MetricsSource {
  const own = b.nodeId;
  return {
    metrics,
    *topics() {
      for (const t of b.topicsByName.values()) yield { name: t.name, replicationFactor: t.replicationFactor, config: t.config, partitions: t.partitions.filter((p) => p.replicas.includes(own)) };
    },
    groupIds: () => b.groups.listGroups().map((g) => g.groupId),
    groupLag: (id) => b.groups.describeGroupLag(id),
    nodeId: own,
  };
}

/**
 * A front's Fetch records read as file slices (docs/sharding.md, "Fetch records as file slices"), summed over the
 * node's fronts by the merge; nothing when the front reads no slices (`runnel.shards.fetch.slices=false`, or a
 * runtime that cannot map files).
 */
export function fileSliceFamilies(out: PrometheusText, slices: SegmentMapCounts | null): void {
  if (slices === null) return;
  const c = (name: string, help: string, v: number) => out.family(name, "counter", help).sample(name, v);
  c("runnel_fetch_file_slices_served_total", "Fetch record slices a front served as views of its own map of the shard's segment file.", slices.served);
  c("runnel_fetch_file_slice_fallbacks_total", "Partition answers a front fetched again as bytes (copied through the shard) because a slice could not be mapped as named: its segment deleted or replaced since the shard's answer.", slices.refused);
  c("runnel_fetch_file_slice_maps_total", "Segment file maps a front took to serve slices.", slices.mapped);
}

/** Shard `index`'s answer to a scrape: its broker's families, its front's (if any: its clients, its file slices), its own series. */
export async function scrapeShard(index: number, b: Broker, front: { metrics: BrokerMetrics; slices: SegmentMapCounts | null } | null, runtime: RuntimeStats, traffic: ShardTraffic): Promise<ShardScrape> {
  if (b.metrics === null) throw new Error(`shard ${index} keeps no metrics (the node has no http.listeners)`);
  const src = ownPartitionsSource(b, b.metrics);
  const out = new PrometheusText();
  dataFamilies(out, src);
  wokenPathFamily(out, b.metrics);
  if (front !== null) {
    clientFamilies(out, front.metrics);
    fileSliceFamilies(out, front.slices);
  }
  const shard = String(index);
  const g = (name: string, help: string, v: number) => out.family(name, "gauge", help).sample(name, v, { shard });
  const c = (name: string, help: string, v: number) => out.family(name, "counter", help).sample(name, v, { shard });
  g("runnel_shard_event_loop_lag_seconds", "How late the shard thread's last event-loop probe timer fired.", runtime.lagMs / 1000);
  g("runnel_shard_event_loop_lag_max_seconds", "Largest event-loop lag of the shard thread since start.", runtime.maxLagMs / 1000);
  g("runnel_shard_heap_used_bytes", "JavaScript heap in use by the shard thread.", runtime.heapUsedBytes());
  let leaders = 0;
  for (const t of b.topicsByName.values()) for (const p of t.partitions) if (p.leader === b.nodeId) leaders++;
  g("runnel_shard_partitions", "Partitions the shard leads (internal topics included).", leaders);
  c("runnel_shard_port_bytes_received_total", "Request bytes the shard's broker received from other threads over port connections (their fronts' requests, other shards' dials).", traffic.bytesIn);
  c("runnel_shard_port_bytes_sent_total", "Bytes the shard's broker answered to other threads over port connections.", traffic.bytesOut);
  out.family("runnel_shard_requests_total", "counter", "Requests the shard's broker answered, from the fronts (one per shard a client request was split to) and other shards.");
  for (let k = 0; k < MAX_API_KEYS; k++) {
    if (b.metrics.requests[k] > 0) out.sample("runnel_shard_requests_total", b.metrics.requests[k], { shard, request: API_CODECS[k]?.name ?? String(k) });
  }
  return { text: out.toString(), highWatermarks: ownHighWatermarks(b), groupLag: await groupLagRows(src) };
}

/** High watermarks of the partitions broker `b` holds (and whose log is online): [topic, partition, hw]. */
export function ownHighWatermarks(b: Broker): [string, number, bigint][] {
  const out: [string, number, bigint][] = [];
  for (const t of b.topicsByName.values()) for (const p of t.partitions) if (p.replicas.includes(b.nodeId) && !p.log.isOffline) out.push([t.name, p.index, p.log.highWatermark]);
  return out;
}

/** Key of a partition in the high-watermark table. */
function tpKey(topic: string, partition: number): string {
  return `${partition}\u0000${topic}`;
}

/** `rows` with each log end offset (and lag) taken from the owning shard's high watermark, null when unknown. */
export function correctLag(rows: readonly [string, GroupLagRow][], highWatermarks: ReadonlyMap<string, bigint>): [string, GroupLagRow][] {
  return rows.map(([group, r]) => {
    const end = highWatermarks.get(tpKey(r.topic, r.partition)) ?? null;
    const lag = end === null || r.committed === null ? null : end > r.committed ? end - r.committed : 0n;
    return [group, { ...r, logEndOffset: end, lag }];
  });
}

/** The high watermarks in `scrapes`, by partition. */
export function highWatermarkTable(scrapes: readonly { highWatermarks: [string, number, bigint][] }[]): Map<string, bigint> {
  const m = new Map<string, bigint>();
  for (const s of scrapes) for (const [t, p, hw] of s.highWatermarks) m.set(tpKey(t, p), hw);
  return m;
}

/** The node's page: every shard's scrape (bounded wait), the main front's clients and file slices, the corrected lag, the process. */
export async function nodeMetricsPage(shards: ShardSet, frontMetrics: BrokerMetrics, frontSlices: SegmentMapCounts | null, runtime: RuntimeStats): Promise<string> {
  const answers = await shards.callEach<ShardScrape>("metrics", [], SHARD_SCRAPE_TIMEOUT_MS);
  const scrapes = answers.filter((a): a is ShardScrape => !(a instanceof Error));
  const out = new PrometheusText();
  answers.forEach((a, k) => {
    if (a instanceof Error) out.comment(`shard ${k} is missing from this page: ${a.message}`);
  });
  out.family("runnel_shard_up", "gauge", `1 when the shard answered this scrape within ${SHARD_SCRAPE_TIMEOUT_MS} ms, else 0 (its series are then missing).`);
  answers.forEach((a, k) => out.sample("runnel_shard_up", a instanceof Error ? 0 : 1, { shard: k }));
  clientFamilies(out, frontMetrics);
  fileSliceFamilies(out, frontSlices);
  groupLagFamilies(out, correctLag(scrapes.flatMap((s) => s.groupLag), highWatermarkTable(scrapes)));
  processMetrics(out, runtime);
  return mergeExpositions([out.toString(), ...scrapes.map((s) => s.text)]);
}
