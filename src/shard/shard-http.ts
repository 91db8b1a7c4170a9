/**
 * The HTTP side of a sharded node (`http.listeners` with `runnel.shards` > 1): the main thread serves it; the
 * state lives in the shards. `/metrics` is src/shard/shard-metrics.ts. The JSON API (and so the console) runs each
 * `/v1/` request in the shards with the plain broker's code (src/http/api/api-routes.ts, on the shard's `Broker`,
 * as the HTTP caller's principal) and merges what belongs to several shards:
 *
 * - metadata-wide requests (topic creation, deletion and configs, broker configs, ACLs, users) go to shard 0, which
 *   sees the node's whole metadata;
 * - partition-level reads go to every shard and each partition's figures come from the shard that leads it (the
 *   others hold empty stand-ins): topic sizes and message counts, partition details, browsed records;
 * - a produced message goes to the shard leading its partition (chosen here, as the plain broker chooses it);
 * - a group's detail comes from its coordinator shard, and every lag from the high watermarks of the partitions'
 *   owners; resetting offsets reads the owners' offsets and commits at the coordinator;
 * - answers name the node (`node.id`, its advertised endpoint), never a shard.
 */
import type { Broker } from "../broker/broker.ts";
import type { BrokerConfig } from "../broker/config.ts";
import type { GroupLagRow } from "../group/group-lag.ts";
import { ApiAccess } from "../http/api/api-access.ts";
import { answerApi, ApiError, body, brokerResetSource, handleApi, intField, jsonResponse, keptRecords, producePartition, resetOffsets, type OffsetResetSource } from "../http/api/api-routes.ts";
import type { BrowsedRecord } from "../http/api/message-browser.ts";
import type { HttpBackend } from "../http/http-server.ts";
import type { BrokerMetrics } from "../http/metrics/broker-metrics.ts";
import type { HttpRequest, HttpResponse } from "../platform/http.ts";
import { AclOperation as Op } from "../security/acl.ts";
import type { Authorizer } from "../security/acl.ts";
import { CoordinatorKind, ShardRouting } from "./front/shard-routing.ts";
import { clientNodeId, clientNodeIds, type NodeIdentity } from "./front/node-rewrite.ts";
import type { ShardSet } from "./shard-host.ts";
import { NODE_ONLY_SETTINGS, ShardCallTimeout } from "./shard-host.ts";
import type { SegmentMapCounts } from "./front/segment-maps.ts";
import { correctLag, highWatermarkTable, nodeMetricsPage, ownHighWatermarks } from "./shard-metrics.ts";

/** The shard that answers the node's metadata-wide requests. */
const METADATA_SHARD = 0;

/** Longest the JSON API waits for a shard's answer (Kafka's `request.timeout.ms` default); then 503. */
export const SHARD_API_TIMEOUT_MS = 30_000;

/** A `/v1/` request as it crosses to a shard (structured-clonable). */
export interface ShardApiRequest {
  method: string;
  path: string;
  /** The query string (without `?`). */
  query: string;
  body: Uint8Array;
  /** The HTTP caller, as authenticated by the main thread. */
  principal: string;
  remoteIp: string;
}

/** A shard's answer to a `/v1/` request: status and JSON text. */
export interface ShardApiAnswer {
  status: number;
  body: string;
}

/**
 * Serves the host's HTTP calls on shard broker `b`: `http` (a `/v1/` request), `highWatermarks` (of the
 * partitions it holds), `groups.lag`, `groups.state`, `groups.commit` (a group it coordinates) and
 * `partitions.offsets` (of partitions it holds). Null when `op` is none of them.
 */
export function serveShardHttpCall(b: Broker, op: string, args: unknown[]): Promise<unknown> | null {
  switch (op) {
    case "http": {
      const r = args[0] as ShardApiRequest;
      const req: HttpRequest = { method: r.method, path: r.path, query: new URLSearchParams(r.query), headers: {}, body: r.body, remoteIp: r.remoteIp };
      return handleApi(b, req, new ApiAccess(b.authorizer, { principal: r.principal, host: r.remoteIp })).then((res): ShardApiAnswer => ({ status: res.status, body: typeof res.body === "string" ? res.body : new TextDecoder().decode(res.body) }));
    }
    case "highWatermarks":
      return Promise.resolve(ownHighWatermarks(b));
    case "groups.lag": {
      const [groupId] = args as [string];
      return b.groups.describeGroupLag(groupId);
    }
    case "groups.state":
      return brokerResetSource(b).groupState(args[0] as string);
    case "groups.commit": {
      const [groupId, offsets] = args as [string, { topic: string; partition: number; offset: bigint }[]];
      return brokerResetSource(b).commit(groupId, offsets);
    }
    case "partitions.offsets": {
      const [topic, partitions, timestamp] = args as [string, number[], number | null];
      return brokerResetSource(b).offsets(topic, partitions, timestamp);
    }
    default:
      return null;
  }
}

/** What the HTTP side of a sharded node runs with. */
export interface ShardedHttpDeps {
  /** The node's shards. */
  shards: ShardSet;
  /** The node's config (`node.id`, the settings shown as the broker's). */
  config: BrokerConfig;
  /** The main thread's front's client counters (and the HTTP side's authentications). */
  frontMetrics: BrokerMetrics;
  /** What the main thread's front did with Fetch records as file slices (null: it reads none). */
  frontSlices: SegmentMapCounts | null;
  /** The node's advertised endpoint (its first listener's). */
  endpoint(): { host: string; port: number };
  /** The node's ACL authorizer (over the node's metadata), or null. */
  authorizer: Authorizer | null;
}

/** The HTTP backend of a sharded node. */
export function shardedHttpBackend(d: ShardedHttpDeps): HttpBackend {
  const routing = new ShardRouting(d.shards.metadata, d.shards.count, METADATA_SHARD, d.shards.clustered);
  return {
    authorizer: d.authorizer,
    authenticationDone: (ok) => d.frontMetrics.authenticationDone("http", ok),
    metricsPage: (runtime) => nodeMetricsPage(d.shards, d.frontMetrics, d.frontSlices, runtime),
    api: (req, access) => answerApi(() => shardedApi(d, routing, req, access)),
  };
}

/** Calls `op` on shard `k`, answering 503 when it does not answer within {@link SHARD_API_TIMEOUT_MS}. */
function callShard<T>(d: ShardedHttpDeps, k: number, op: string, args: unknown[]): Promise<T> {
  return d.shards.call<T>(k, op, args, SHARD_API_TIMEOUT_MS).catch((e: unknown) => {
    if (e instanceof ShardCallTimeout) throw new ApiError(503, "REQUEST_TIMED_OUT", e.message);
    throw e;
  });
}

/** Asks shard `k` to serve `req` (with `path` or `payload` in place of the request's own). */
function ask(d: ShardedHttpDeps, k: number, req: HttpRequest, access: ApiAccess, change: { path?: string; payload?: Uint8Array } = {}): Promise<ShardApiAnswer> {
  const r: ShardApiRequest = { method: req.method, path: change.path ?? req.path, query: req.query.toString(), body: change.payload ?? req.body, principal: access.who.principal, remoteIp: access.who.host };
  return callShard<ShardApiAnswer>(d, k, "http", [r]);
}

/** Asks every shard. */
function askAll(d: ShardedHttpDeps, req: HttpRequest, access: ApiAccess): Promise<ShardApiAnswer[]> {
  return Promise.all(Array.from({ length: d.shards.count }, (_, k) => ask(d, k, req, access)));
}

/** A shard's answer as the response. */
function passOn(a: ShardApiAnswer): HttpResponse {
  return { status: a.status, headers: { "content-type": "application/json; charset=utf-8" }, body: a.body };
}

/** The first answer that is not a success (every shard checks the same access and input), or null. */
function failure(answers: readonly ShardApiAnswer[]): ShardApiAnswer | null {
  return answers.find((a) => a.status >= 300) ?? null;
}

/** The node's high watermarks, by partition (every shard's own partitions). */
async function highWatermarks(d: ShardedHttpDeps): Promise<Map<string, bigint>> {
  const all = await Promise.all(Array.from({ length: d.shards.count }, (_, k) => callShard<[string, number, bigint][]>(d, k, "highWatermarks", [])));
  return highWatermarkTable(all.map((h) => ({ highWatermarks: h })));
}

/** Group `groupId`'s lag rows, log end offsets from the partitions' owners. */
async function groupLag(d: ShardedHttpDeps, routing: ShardRouting, groupId: string, hws: Map<string, bigint>): Promise<GroupLagRow[]> {
  const rows = await callShard<GroupLagRow[]>(d, routing.coordinator(CoordinatorKind.Group, groupId), "groups.lag", [groupId]);
  return correctLag(rows.map((r) => [groupId, r]), hws).map(([, r]) => r);
}

/** Sum of the lags of `rows` (missing ones count 0). */
function totalLag(rows: readonly GroupLagRow[]): bigint {
  return rows.reduce((s, r) => s + (r.lag ?? 0n), 0n);
}

/** A partition detail of a shard's answer, naming the node instead of the shard (as the front's answers do). */
function asNode(p: { leader: number; replicas: number[]; isr: number[] }, face: NodeIdentity) {
  return { ...p, leader: clientNodeId(face, p.leader), replicas: clientNodeIds(face, p.replicas), isr: clientNodeIds(face, p.isr) };
}

async function shardedApi(d: ShardedHttpDeps, routing: ShardRouting, req: HttpRequest, access: ApiAccess): Promise<HttpResponse> {
  const parts = req.path.split("/").slice(2).map((s) => decodeURIComponent(s));
  const [a, name, sub] = parts;
  const m = req.method;
  const nodeId = d.config.nodeId;
  if (a === "cluster" && parts.length === 1 && m === "GET") {
    const answers = await askAll(d, req, access);
    const bad = failure(answers);
    if (bad !== null) return passOn(bad);
    const [home, ...rest] = answers.map((x) => JSON.parse(x.body));
    for (const r of rest) {
      home.groups += r.groups;
      for (const k of Object.keys(home.traffic)) home.traffic[k] += r.traffic[k];
    }
    // A clustered node's shards list the cluster's registered brokers under their own ids (the node's among them).
    if (d.shards.clustered) return jsonResponse(200, { ...home, nodeId });
    const { host, port } = d.endpoint();
    return jsonResponse(200, { ...home, nodeId, controllerId: nodeId, brokers: [{ nodeId, host, port, rack: null, controller: true, state: "RUNNING" }] });
  }
  if (a === "brokers" && parts.length === 3 && sub === "configs" && m === "GET") {
    if (name !== String(nodeId)) {
      access.requireCluster(Op.DESCRIBE_CONFIGS);
      return jsonResponse(404, { error: "BROKER_NOT_AVAILABLE", message: `no broker ${name}` });
    }
    // A clustered node's shards run with the node's id; a single node's with their index.
    const shardName = d.shards.clustered ? String(nodeId) : String(METADATA_SHARD);
    const answer = await ask(d, METADATA_SHARD, req, access, { path: `/v1/brokers/${shardName}/configs` });
    if (answer.status !== 200) return passOn(answer);
    // The shard's own listener, node id and shard count are not the node's: show the node's settings.
    const nodeKeys = new Set([...NODE_ONLY_SETTINGS, "node.id", "broker.id"]);
    const configs = (JSON.parse(answer.body).configs as { name: string; value: string | null }[]).map((c) => {
      if (!nodeKeys.has(c.name)) return c;
      const value = c.name === "node.id" || c.name === "broker.id" ? String(nodeId) : d.config.raw(c.name);
      return value === null ? c : { ...c, value };
    });
    return jsonResponse(200, { configs });
  }
  if (a === "topics" && m === "GET" && (parts.length === 1 || parts.length === 2)) {
    const answers = await askAll(d, req, access);
    const bad = failure(answers);
    if (bad !== null) return passOn(bad);
    const bodies = answers.map((x) => JSON.parse(x.body));
    // Every shard lists every topic; each counts only the partitions it holds.
    const sum = <T extends { size: number; messages: number }>(t: T, others: readonly { size: number; messages: number }[]): T => {
      for (const o of others) {
        t.size += o.size;
        t.messages += o.messages;
      }
      return t;
    };
    if (parts.length === 1) {
      const byName = bodies.slice(1).map((b) => new Map((b.topics as { name: string; size: number; messages: number }[]).map((t) => [t.name, t])));
      return jsonResponse(200, { topics: bodies[0].topics.map((t: { name: string; size: number; messages: number }) => sum(t, byName.flatMap((mp) => mp.get(t.name) ?? []))) });
    }
    const topic = sum(bodies[0], bodies.slice(1));
    // Each partition as its shard sees it, naming the node as the front's answers do.
    const face: NodeIdentity = { nodeId, clustered: d.shards.clustered };
    topic.partitionDetails = topic.partitionDetails.map((p: { partition: number }) => asNode(bodies[routing.partitionOwner(name, p.partition)].partitionDetails[p.partition], face));
    return jsonResponse(200, topic);
  }
  if (a === "topics" && parts.length === 3 && sub === "messages" && m === "GET") {
    const answers = await askAll(d, req, access);
    const bad = failure(answers);
    if (bad !== null) return passOn(bad);
    const bodies = answers.map((x) => JSON.parse(x.body));
    const records: BrowsedRecord[] = [];
    const nextOffsets: Record<string, number> = {};
    bodies.forEach((b, k) => {
      for (const r of b.records as BrowsedRecord[]) if (routing.partitionOwner(name, r.partition) === k) records.push(r);
      for (const [p, next] of Object.entries(b.nextOffsets as Record<string, number>)) if (routing.partitionOwner(name, Number(p)) === k) nextOffsets[p] = next;
    });
    return jsonResponse(200, { topic: bodies[0].topic, records: keptRecords(records, req.query, intField(req.query.get("limit"), "limit", 50)), nextOffsets });
  }
  if (a === "topics" && parts.length === 3 && sub === "messages" && m === "POST") {
    const t = d.shards.metadata.topic(name);
    const q = body(req);
    // Unknown topic or a key that is not a string: shard 0 answers with the plain broker's error.
    if (t === undefined || (q.key !== undefined && q.key !== null && typeof q.key !== "string")) return passOn(await ask(d, METADATA_SHARD, req, access));
    const key = typeof q.key === "string" ? new TextEncoder().encode(q.key) : null;
    const partition = producePartition(q.partition, key, t.partitions);
    const payload = new TextEncoder().encode(JSON.stringify({ ...q, partition }));
    return passOn(await ask(d, routing.partitionOwner(name, partition), req, access, { payload }));
  }
  if (a === "groups" && parts.length === 1 && m === "GET") {
    const [answers, hws] = await Promise.all([askAll(d, req, access), highWatermarks(d)]);
    const bad = failure(answers);
    if (bad !== null) return passOn(bad);
    // Each shard lists the groups it coordinates; their lag needs every partition owner's high watermark.
    const groups = answers.flatMap((x) => JSON.parse(x.body).groups as { groupId: string; lag: number }[]);
    for (const g of groups) g.lag = Number(totalLag(await groupLag(d, routing, g.groupId, hws)));
    return jsonResponse(200, { groups: groups.sort((x, y) => (x.groupId < y.groupId ? -1 : 1)) });
  }
  if (a === "groups" && parts.length === 2 && m === "GET") {
    const [answer, hws] = await Promise.all([ask(d, routing.coordinator(CoordinatorKind.Group, name), req, access), highWatermarks(d)]);
    if (answer.status !== 200) return passOn(answer);
    const offsets = await groupLag(d, routing, name, hws);
    return jsonResponse(200, { ...JSON.parse(answer.body), offsets, lag: totalLag(offsets) });
  }
  if (a === "groups" && parts.length === 3 && sub === "reset-offsets" && m === "POST") {
    return jsonResponse(200, await resetOffsets(shardedResetSource(d, routing), name, body(req), access));
  }
  // Metadata-wide: topic creation, deletion and configs, ACLs, users (and what no route serves: its 404).
  return passOn(await ask(d, METADATA_SHARD, req, access));
}

/** Resetting a group's offsets on a sharded node: offsets from the partitions' owners, the commit at the coordinator. */
function shardedResetSource(d: ShardedHttpDeps, routing: ShardRouting): OffsetResetSource {
  const coordinator = (groupId: string) => routing.coordinator(CoordinatorKind.Group, groupId);
  return {
    partitionCount: (topic) => d.shards.metadata.topic(topic)?.partitions,
    groupState: (groupId) => callShard<string>(d, coordinator(groupId), "groups.state", [groupId]),
    async committed(groupId, topic) {
      const rows = await callShard<GroupLagRow[]>(d, coordinator(groupId), "groups.lag", [groupId]);
      return new Map(rows.filter((r) => r.topic === topic && r.committed !== null).map((r) => [r.partition, r.committed!]));
    },
    async offsets(topic, partitions, timestamp) {
      const byOwner = new Map<number, number[]>();
      for (const p of partitions) {
        const k = routing.partitionOwner(topic, p);
        byOwner.set(k, [...(byOwner.get(k) ?? []), p]);
      }
      const found = new Map<number, { lo: bigint; hi: bigint; atTimestamp: bigint | null }>();
      await Promise.all([...byOwner].map(async ([k, ps]) => {
        const got = await callShard<{ lo: bigint; hi: bigint; atTimestamp: bigint | null }[]>(d, k, "partitions.offsets", [topic, ps, timestamp]);
        ps.forEach((p, i) => found.set(p, got[i]));
      }));
      return partitions.map((p) => found.get(p)!);
    },
    commit: (groupId, offsets) => callShard<number[]>(d, coordinator(groupId), "groups.commit", [groupId, offsets]),
  };
}
