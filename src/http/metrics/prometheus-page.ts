/**
 * Renders `/metrics`: Kafka's JMX metrics under the names the Prometheus JMX exporter gives them
 * (`kafka_server_brokertopicmetrics_bytesin_total`, `kafka_network_requestmetrics_requests_total`, ...), plus
 * consumer lag computed by the broker and process statistics. docs/metrics.md lists every family.
 */
import { API_CODECS } from "../../protocol/generated/index.ts";
import { errorName } from "../../protocol/errors.ts";
import type { GroupLagRow } from "../../group/group-lag.ts";
import { MAX_API_KEYS, REQUEST_PHASES, type BrokerMetrics } from "./broker-metrics.ts";
import type { FixedHistogram } from "./histogram.ts";
import { PrometheusText } from "./prometheus-text.ts";
import type { RuntimeStats } from "./runtime-stats.ts";

/** One partition as the page reads it. */
export interface MetricsPartition {
  /** Partition index. */
  readonly index: number;
  /** Its log. */
  readonly log: { readonly size: number; readonly segmentCount: number; readonly logEndOffset: bigint; readonly logStartOffset: bigint; readonly isOffline: boolean };
  /** Node id of the leader (-1 for none). */
  readonly leader: number;
  /** Node ids holding a replica. */
  readonly replicas: readonly number[];
  /** Node ids in sync with the leader. */
  readonly isr: readonly number[];
}

/** One topic as the page reads it. */
export interface MetricsTopic {
  /** Name. */
  readonly name: string;
  /** Partitions. */
  readonly partitions: readonly MetricsPartition[];
  /** Replication factor. */
  readonly replicationFactor: number;
  /** Effective config (min.insync.replicas). */
  readonly config: { readonly minInsyncReplicas: number };
}

/** What `/metrics` reads from the broker. */
export interface MetricsSource {
  /** The counters. */
  readonly metrics: BrokerMetrics;
  /** Every topic. */
  topics(): Iterable<MetricsTopic>;
  /** Ids of every consumer group. */
  groupIds(): string[];
  /** A group's lag table. */
  groupLag(groupId: string): Promise<GroupLagRow[]>;
  /** This broker's node id. */
  readonly nodeId: number;
}

/** Renders the page. */
export async function renderMetrics(src: MetricsSource, runtime: RuntimeStats): Promise<string> {
  const out = new PrometheusText();
  dataFamilies(out, src);
  groupLagFamilies(out, await groupLagRows(src));
  clientFamilies(out, src.metrics);
  processMetrics(out, runtime);
  return out.toString();
}

/**
 * The families of what a broker holds: traffic per topic, purgatories, partition health, logs, fsync latency (a
 * sharded node's shards each render these for their own partitions; src/shard/shard-metrics.ts).
 */
export function dataFamilies(out: PrometheusText, src: MetricsSource): void {
  const m = src.metrics;
  topicTraffic(out, m);
  out.family("kafka_server_delayedoperationpurgatory_purgatorysize", "gauge", "Requests waiting in a purgatory: Fetch = long polls waiting for data, Produce = acks=all produces waiting for fsync.");
  out.sample("kafka_server_delayedoperationpurgatory_purgatorysize", m.waitingFetches, { delayedOperation: "Fetch" });
  out.sample("kafka_server_delayedoperationpurgatory_purgatorysize", m.waitingProduces, { delayedOperation: "Produce" });
  partitionHealth(out, src);
  logMetrics(out, src);
  out.family("kafka_log_logflushstats_logflushrateandtimems", "histogram", "fdatasync latency of log segment files in milliseconds.");
  out.histogram("kafka_log_logflushstats_logflushrateandtimems", m.fsync);
}

/** The families of the clients' side: requests, errors and latencies per API, connections, authentications. */
export function clientFamilies(out: PrometheusText, m: BrokerMetrics): void {
  requestMetrics(out, m);
  connectionMetrics(out, m);
}

function topicTraffic(out: PrometheusText, m: BrokerMetrics): void {
  const fams: [keyof ReturnType<BrokerMetrics["topic"]>, string, string][] = [
    ["bytesIn", "kafka_server_brokertopicmetrics_bytesin_total", "Bytes appended by producers (BytesInPerSec count); without a topic label: all topics."],
    ["messagesIn", "kafka_server_brokertopicmetrics_messagesin_total", "Records appended by producers (MessagesInPerSec count)."],
    ["bytesOut", "kafka_server_brokertopicmetrics_bytesout_total", "Bytes returned to fetching clients (BytesOutPerSec count)."],
    ["messagesOut", "kafka_server_brokertopicmetrics_messagesout_total", "Records returned to fetching clients (Runnel addition; Kafka has no MessagesOutPerSec)."],
  ];
  for (const [field, name, help] of fams) {
    out.family(name, "counter", help);
    let all = 0;
    for (const t of m.topics.values()) all += t[field];
    out.sample(name, all);
    for (const [topic, t] of m.topics) out.sample(name, t[field], { topic });
  }
}

function requestMetrics(out: PrometheusText, m: BrokerMetrics): void {
  out.family("kafka_network_requestmetrics_requests_total", "counter", "Requests answered (or, for acks=0 Produce, handled), per API.");
  for (let k = 0; k < MAX_API_KEYS; k++) {
    if (m.latency[k] === undefined && m.requests[k] === 0) continue;
    out.sample("kafka_network_requestmetrics_requests_total", m.requests[k], { request: API_CODECS[k]?.name ?? String(k) });
  }
  out.family("kafka_network_requestmetrics_errors_total", "counter", "Error codes in responses per API (NONE included, as Kafka's ErrorsPerSec).");
  for (let k = 0; k < MAX_API_KEYS; k++) {
    const e = m.errors[k];
    if (e === undefined) continue;
    for (const [code, n] of e) out.sample("kafka_network_requestmetrics_errors_total", n, { request: API_CODECS[k]?.name ?? String(k), error: errorName(code) });
  }
  const helps: Record<(typeof REQUEST_PHASES)[number], string> = {
    requestqueuetimems: "Milliseconds from a request's arrival to its handler starting (decode included).",
    localtimems: "Milliseconds the handler ran before answering or parking the request.",
    remotetimems: "Milliseconds a parked request waited (fsync for acks=all, data for a long-poll Fetch).",
    responsequeuetimems: "Milliseconds a ready response waited for earlier responses on its connection.",
    responsesendtimems: "Milliseconds writing the response to the socket.",
    totaltimems: "Milliseconds from arrival to the response written.",
  };
  REQUEST_PHASES.forEach((phase, i) => {
    const name = `kafka_network_requestmetrics_${phase}`;
    out.family(name, "histogram", helps[phase]);
    for (let k = 0; k < MAX_API_KEYS; k++) {
      const h = m.latency[k];
      if (h === undefined || h[i].count === 0) continue;
      out.histogram(name, h[i], { request: API_CODECS[k]?.name ?? String(k) });
    }
  });
  perApiHistogram(out, "runnel_request_own_time_ms", "Milliseconds of the broker's own work per request: request queue + local + response encoding + send (total minus the remote wait and the wait for earlier responses).", m.ownTime);
  wokenPathFamily(out, m);
}

/**
 * `runnel_request_woken_path_ms`, recorded where requests wait for each other (a broker; on a sharded node the shards,
 * from the waking request's arrival at the shard).
 */
export function wokenPathFamily(out: PrometheusText, m: BrokerMetrics): void {
  perApiHistogram(out, "runnel_request_woken_path_ms", "For a parked request woken by another request (a long-poll Fetch woken by a Produce's append): milliseconds from that request's arrival to this response written.", m.wokenPath);
}

function perApiHistogram(out: PrometheusText, name: string, help: string, hs: readonly (FixedHistogram | undefined)[]): void {
  out.family(name, "histogram", help);
  for (let k = 0; k < MAX_API_KEYS; k++) {
    const h = hs[k];
    if (h === undefined || h.count === 0) continue;
    out.histogram(name, h, { request: API_CODECS[k]?.name ?? String(k) });
  }
}

function partitionHealth(out: PrometheusText, src: MetricsSource): void {
  // From each partition's replica set and ISR (the Partition layer's; on a single node both are {this broker}). A
  // partition whose log went offline (disk failure) has no live leader and counts as offline with an empty ISR.
  let partitions = 0;
  let leaders = 0;
  let offline = 0;
  let underReplicated = 0;
  let underMinIsr = 0;
  for (const t of src.topics()) {
    for (const p of t.partitions) {
      const dead = p.log.isOffline || p.leader < 0;
      const isr = dead ? 0 : p.isr.length;
      if (dead) offline++;
      // As Kafka: a broker counts the partitions it holds a replica of, and reports under-replication of those it leads.
      if (!p.replicas.includes(src.nodeId)) continue;
      partitions++;
      if (!dead && p.leader !== src.nodeId) continue;
      if (!dead) leaders++;
      if (isr < p.replicas.length) underReplicated++;
      if (isr < Math.min(t.config.minInsyncReplicas, p.replicas.length)) underMinIsr++; // Kafka's effectiveMinIsr
    }
  }
  const g = (name: string, v: number, help: string) => out.family(name, "gauge", help).sample(name, v);
  g("kafka_server_replicamanager_partitioncount", partitions, "Partitions on this broker.");
  g("kafka_server_replicamanager_leadercount", leaders, "Partitions this broker leads.");
  g("kafka_server_replicamanager_underreplicatedpartitions", underReplicated, "Partitions whose ISR is smaller than their replica set.");
  g("kafka_server_replicamanager_underminisrpartitioncount", underMinIsr, "Partitions whose ISR is smaller than min.insync.replicas (acks=all produce fails).");
  g("kafka_controller_kafkacontroller_offlinepartitionscount", offline, "Partitions without a live leader (log offline after a disk failure).");
  const c = (name: string, v: number, help: string) => out.family(name, "counter", help).sample(name, v);
  c("kafka_server_replicamanager_isrshrinks_total", src.metrics.isrShrinks, "ISR shrinks (0 until replication lands).");
  c("kafka_server_replicamanager_isrexpands_total", src.metrics.isrExpands, "ISR expands (0 until replication lands).");
  c("runnel_fetch_from_follower_bytes_total", src.metrics.fetchFromFollowerBytes, "Record bytes served to consumers by this broker as a follower (KIP-392, replica.selector.class).");
}

function logMetrics(out: PrometheusText, src: MetricsSource): void {
  const fams: [string, string, (p: MetricsPartition) => number | bigint][] = [
    ["kafka_log_log_size", "Bytes of the partition's log on disk.", (p) => p.log.size],
    ["kafka_log_log_numlogsegments", "Segments of the partition's log.", (p) => p.log.segmentCount],
    ["kafka_log_log_logendoffset", "Log end offset of the partition.", (p) => p.log.logEndOffset],
    ["kafka_log_log_logstartoffset", "Log start offset of the partition.", (p) => p.log.logStartOffset],
  ];
  const topics = [...src.topics()];
  for (const [name, help, get] of fams) {
    out.family(name, "gauge", help);
    for (const t of topics) for (const p of t.partitions) if (!p.log.isOffline) out.sample(name, Number(get(p)), { topic: t.name, partition: p.index });
  }
}

/** Every group's lag rows, as (group id, row) pairs. */
export async function groupLagRows(src: Pick<MetricsSource, "groupIds" | "groupLag">): Promise<[string, GroupLagRow][]> {
  const rows: [string, GroupLagRow][] = [];
  for (const id of src.groupIds()) for (const r of await src.groupLag(id)) rows.push([id, r]);
  return rows;
}

/** The consumer lag families of (group id, row) pairs. */
export function groupLagFamilies(out: PrometheusText, rows: readonly [string, GroupLagRow][]): void {
  out.family("kafka_consumergroup_lag", "gauge", "Log end offset minus committed offset, per group and partition, computed by the broker.");
  out.family("kafka_consumergroup_current_offset", "gauge", "Committed offset per group and partition.");
  for (const [consumergroup, r] of rows) {
    if (r.lag !== null) out.sample("kafka_consumergroup_lag", Number(r.lag), { consumergroup, topic: r.topic, partition: r.partition });
  }
  for (const [consumergroup, r] of rows) {
    if (r.committed !== null) out.sample("kafka_consumergroup_current_offset", Number(r.committed), { consumergroup, topic: r.topic, partition: r.partition });
  }
}

function connectionMetrics(out: PrometheusText, m: BrokerMetrics): void {
  const l = { listener: "PLAINTEXT" };
  out.family("kafka_server_socket_server_metrics_connection_count", "gauge", "Open client connections.").sample("kafka_server_socket_server_metrics_connection_count", m.connections, l);
  out.family("kafka_server_socket_server_metrics_connection_creation_total", "counter", "Connections accepted.").sample("kafka_server_socket_server_metrics_connection_creation_total", m.connectionsCreated, l);
  out.family("kafka_server_socket_server_metrics_connection_close_total", "counter", "Connections closed.").sample("kafka_server_socket_server_metrics_connection_close_total", m.connectionsClosed, l);
  const outcomes = [...m.authentications];
  const failed = out.family("kafka_server_socket_server_metrics_failed_authentication_total", "counter", "Failed authentications per listener (SASL exchanges; http: requests with bad or missing credentials).");
  for (const [listener, c] of outcomes) failed.sample("kafka_server_socket_server_metrics_failed_authentication_total", c.failed, { listener });
  const ok = out.family("kafka_server_socket_server_metrics_successful_authentication_total", "counter", "Successful authentications per listener (SASL exchanges; http: authenticated requests).");
  for (const [listener, c] of outcomes) ok.sample("kafka_server_socket_server_metrics_successful_authentication_total", c.successful, { listener });
  acceptMetrics(out, m);
}

/**
 * Connection creation rates (KIP-612) per listener: Kafka's socket-server-metrics `connection-accept-rate`,
 * `connection-accept-throttle-time`, `ip-connection-accept-throttle-time` and `broker-connection-accept-rate`
 * (node-wide, from the sensors every accepting thread shares), and its kafka.network Acceptor
 * `AcceptorBlockedPercent` meter as the time each listener waited out throttles (summed over a node's threads).
 */
function acceptMetrics(out: PrometheusText, m: BrokerMetrics): void {
  const gauges = [...m.acceptGauges].map(([listener, measure]) => [listener, measure()] as const);
  const rate = out.family("kafka_server_socket_server_metrics_connection_accept_rate", "gauge", "Connections accepted per second on the listener, as its max.connection.creation.rate sensor measures them (quota.window.num samples of quota.window.size.seconds).");
  for (const [listener, g] of gauges) rate.sample("kafka_server_socket_server_metrics_connection_accept_rate", g.acceptRate, { listener });
  const throttle = out.family("kafka_server_socket_server_metrics_connection_accept_throttle_time", "gauge", "Average throttle time (ms) of the listener's connections over max.connection.creation.rate or its listener rate, out of non-zero throttles (no sample: none in the last 2 windows of 30 s).");
  for (const [listener, g] of gauges) if (!Number.isNaN(g.throttleTimeMs)) throttle.sample("kafka_server_socket_server_metrics_connection_accept_throttle_time", g.throttleTimeMs, { listener });
  const ip = out.family("kafka_server_socket_server_metrics_ip_connection_accept_throttle_time", "gauge", "Average throttle time (ms) of the listener's connections over their address's connection_creation_rate quota (no sample: none in the last 2 windows of 30 s).");
  for (const [listener, g] of gauges) if (!Number.isNaN(g.ipThrottleTimeMs)) ip.sample("kafka_server_socket_server_metrics_ip_connection_accept_throttle_time", g.ipThrottleTimeMs, { listener });
  if (gauges.length > 0) {
    out.family("kafka_server_socket_server_metrics_broker_connection_accept_rate", "gauge", "Connections accepted per second on the broker-wide max.connection.creation.rate sensor (the inter-broker listener is not counted when there are several).");
    out.sample("kafka_server_socket_server_metrics_broker_connection_accept_rate", gauges[0][1].brokerAcceptRate);
  }
  const blocked = out.family("kafka_network_acceptor_acceptorblockedpercent_total", "counter", "Milliseconds the listener waited out connection creation rate throttles before taking its next connection (Kafka's AcceptorBlockedPercent meter; its rate over time / 1000 is the fraction of time blocked, per accepting thread).");
  for (const [listener, ms] of m.acceptorBlockedMs) blocked.sample("kafka_network_acceptor_acceptorblockedpercent_total", ms, { listener });
}

/** Process and runtime families (memory, CPU, event-loop lag, GC). */
export function processMetrics(out: PrometheusText, rt: RuntimeStats): void {
  out.family("process_resident_memory_bytes", "gauge", "Resident memory of the broker process.").sample("process_resident_memory_bytes", rt.rssBytes());
  out.family("process_cpu_seconds_total", "counter", "User and system CPU time of the process.").sample("process_cpu_seconds_total", rt.cpuSeconds());
  out.family("process_start_time_seconds", "gauge", "Start time of the process (Unix seconds).").sample("process_start_time_seconds", rt.startTimeSeconds);
  out.family("runnel_heap_used_bytes", "gauge", "JavaScript heap in use.").sample("runnel_heap_used_bytes", rt.heapUsedBytes());
  out.family("runnel_eventloop_lag_seconds", "gauge", "How late the last event-loop probe timer fired.").sample("runnel_eventloop_lag_seconds", rt.lagMs / 1000);
  out.family("runnel_eventloop_lag_max_seconds", "gauge", "Largest event-loop lag since start.").sample("runnel_eventloop_lag_max_seconds", rt.maxLagMs / 1000);
  out.family("runnel_eventloop_lag_ms", "histogram", "How late each event-loop probe timer fired (ms); a stall shows as one sample of its length.").histogram("runnel_eventloop_lag_ms", rt.lagHistogram);
  if (rt.gcCount >= 0) {
    out.family("runnel_gc_collections_total", "counter", "Garbage collections reported by the runtime.").sample("runnel_gc_collections_total", rt.gcCount);
    out.family("runnel_gc_pause_seconds_total", "counter", "Time spent in garbage collection.").sample("runnel_gc_pause_seconds_total", rt.gcMs / 1000);
  }
}
