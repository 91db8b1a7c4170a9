/**
 * The JSON API under `/v1/` (docs/http-api.md): what the web console calls, usable with curl. Reads go to the
 * broker's topic table, logs and group coordinator; every change goes through the same code as the Kafka API
 * (topic creation and configs, the Produce handler, the coordinator's offset commit), so validation, metrics and
 * Kafka error codes are the same. Errors answer `{ "error": KAFKA_ERROR_NAME, "message": ... }` with 400, 404
 * (unknown topic or group) or 409 (exists, group active).
 */
import { Buffer } from "node:buffer";
import type { HttpRequest, HttpResponse } from "../../platform/http.ts";
import type { Broker, Topic } from "../../broker/broker.ts";
import { ErrorCode, KafkaError, errorName } from "../../protocol/errors.ts";
import { ConfigResourceType, alterConfigResources, describeBrokerConfigs, describeTopicConfigs, AlterConfigOp, type ConfigEntry } from "../../broker/topic-configs.ts";
import { BatchBuilder, type RecordHeader } from "../../protocol/record-batch.ts";
import { partitionForKey } from "../../client/partitioner.ts";
import { assignedPartitionsOf, CONSUMER_PROTOCOL_TYPE } from "../../group/consumer-protocol.ts";
import { browsePartition, MAX_BROWSE_LIMIT, type BrowsedRecord } from "./message-browser.ts";
import { RUNNEL_VERSION } from "../../version.ts";
import { AclOperation as Op, ResourceType as R } from "../../security/acl.ts";
import { ApiAccess } from "./api-access.ts";
import { securityRoute } from "./security-routes.ts";

/** Names of DescribeConfigs sources, as the console shows them. */
const SOURCE_NAMES: Record<number, string> = { 1: "dynamic topic", 2: "dynamic broker", 3: "dynamic default", 4: "file", 5: "default" };

/** A client error with an HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
}

/** A JSON response (bigint values as numbers). */
export function jsonResponse(status: number, body: unknown): HttpResponse {
  return { status, headers: { "content-type": "application/json; charset=utf-8" }, body: JSON.stringify(body, (_k, v) => (typeof v === "bigint" ? Number(v) : v)) + "\n" };
}

const STATUS_OF: Record<number, number> = {
  [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]: 404,
  [ErrorCode.GROUP_ID_NOT_FOUND]: 404,
  [ErrorCode.TOPIC_ALREADY_EXISTS]: 409,
  [ErrorCode.NON_EMPTY_GROUP]: 409,
  [ErrorCode.TOPIC_AUTHORIZATION_FAILED]: 403,
  [ErrorCode.GROUP_AUTHORIZATION_FAILED]: 403,
  [ErrorCode.CLUSTER_AUTHORIZATION_FAILED]: 403,
  [ErrorCode.RESOURCE_NOT_FOUND]: 404,
};

/** The API error of a Kafka error code (its name, and the HTTP status that fits it). */
export function kafkaFailure(code: number, message: string): ApiError {
  return new ApiError(STATUS_OF[code] ?? 400, errorName(code), message);
}

/** Serves one `/v1/...` request; `access` decides what the caller may do (everything when null). */
export function handleApi(b: Broker, req: HttpRequest, access: ApiAccess = new ApiAccess(null, { principal: "User:ANONYMOUS", host: req.remoteIp })): Promise<HttpResponse> {
  return answerApi(() => route(b, req, access));
}

/** Runs `serve`, answering its ApiError or KafkaError as a JSON error (other failures are thrown on). */
export async function answerApi(serve: () => Promise<HttpResponse>): Promise<HttpResponse> {
  try {
    return await serve();
  } catch (e) {
    if (e instanceof ApiError) return jsonResponse(e.status, { error: e.error, message: e.message });
    if (e instanceof KafkaError) {
      const f = kafkaFailure(e.code, e.message);
      return jsonResponse(f.status, { error: f.error, message: f.message });
    }
    throw e;
  }
}

/** The request's JSON object body ({} when empty). */
export function body(req: HttpRequest): Record<string, unknown> {
  if (req.body.length === 0) return {};
  try {
    const v = JSON.parse(new TextDecoder().decode(req.body));
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("not an object");
    return v;
  } catch (e) {
    throw new ApiError(400, "INVALID_REQUEST", `request body must be a JSON object: ${(e as Error).message}`);
  }
}

async function route(b: Broker, req: HttpRequest, access: ApiAccess): Promise<HttpResponse> {
  const parts = req.path.split("/").slice(2).map((s) => decodeURIComponent(s));
  const [a, name, sub] = parts;
  const m = req.method;
  if (a === "cluster" && parts.length === 1 && m === "GET") return jsonResponse(200, cluster(b, access));
  if (a === "brokers" && parts.length === 3 && sub === "configs" && m === "GET") {
    access.requireCluster(Op.DESCRIBE_CONFIGS);
    if (name !== String(b.nodeId)) throw new ApiError(404, "BROKER_NOT_AVAILABLE", `no broker ${name}`);
    return jsonResponse(200, { configs: describeBrokerConfigs(b, String(b.nodeId), null).map(configJson) });
  }
  if (a === "topics") {
    if (parts.length === 1 && m === "GET") return jsonResponse(200, { topics: [...b.topicsByName.values()].filter((t) => access.allows(Op.DESCRIBE, R.TOPIC, t.name)).map((t) => topicSummary(t)) });
    if (parts.length === 1 && m === "POST") return jsonResponse(201, await createTopic(b, body(req), access));
    if (name !== undefined) access.require(topicOperation(m, sub), R.TOPIC, name);
    const t = name === undefined ? undefined : b.topicsByName.get(name);
    if (t === undefined) throw new ApiError(404, "UNKNOWN_TOPIC_OR_PARTITION", `topic '${name}' does not exist`);
    if (parts.length === 2 && m === "GET") return jsonResponse(200, topicDetail(b, t));
    if (parts.length === 2 && m === "DELETE") {
      if (t.internal) throw new ApiError(400, "INVALID_TOPIC_EXCEPTION", `internal topic '${t.name}' cannot be deleted`);
      if (!b.config.bool("delete.topic.enable")) throw new ApiError(400, "TOPIC_DELETION_DISABLED", "delete.topic.enable is false");
      await b.deleteTopic(t);
      return jsonResponse(200, { deleted: t.name });
    }
    if (parts.length === 3 && sub === "configs" && m === "GET") return jsonResponse(200, { configs: describeTopicConfigs(b, t, null).map(configJson) });
    if (parts.length === 3 && sub === "configs" && m === "PATCH") return jsonResponse(200, await alterTopicConfig(b, t, body(req)));
    if (parts.length === 3 && sub === "messages" && m === "GET") return jsonResponse(200, browse(t, req.query));
    if (parts.length === 3 && sub === "messages" && m === "POST") return jsonResponse(201, await produce(b, t, body(req)));
  }
  if (a === "groups") {
    if (parts.length === 1 && m === "GET") return jsonResponse(200, { groups: await listGroups(b, access) });
    if (parts.length === 2 && m === "GET") {
      access.require(Op.DESCRIBE, R.GROUP, name);
      return jsonResponse(200, await groupDetail(b, name));
    }
    if (parts.length === 3 && sub === "reset-offsets" && m === "POST") return jsonResponse(200, await resetOffsets(brokerResetSource(b), name, body(req), access));
  }
  const secured = await securityRoute(b, req, parts, () => body(req), access);
  if (secured !== null) return jsonResponse(secured.status, secured.body);
  throw new ApiError(404, "NOT_FOUND", `no route ${m} ${req.path}`);
}

/** The ACL operation a `/v1/topics/<name>[/sub]` request needs, as the matching Kafka API asks it. */
function topicOperation(method: string, sub: string | undefined): number {
  if (sub === "configs") return method === "GET" ? Op.DESCRIBE_CONFIGS : Op.ALTER_CONFIGS;
  if (sub === "messages") return method === "GET" ? Op.READ : Op.WRITE;
  return method === "DELETE" ? Op.DELETE : Op.DESCRIBE;
}

/** Kafka's BrokerState names of what a registration says: serving, or in a controlled shutdown. */
type BrokerStateName = "RUNNING" | "PENDING_CONTROLLED_SHUTDOWN";

/**
 * Every broker the cluster metadata registers (this one alone on a single node), at its endpoint of the first
 * listener, with its state and whether it is the active controller.
 */
function brokersOf(b: Broker) {
  const controllerId = b.controllerId;
  const shuttingDown = new Set(b.isClustered ? b.metadataView.brokers().filter((r) => r.inControlledShutdown === true).map((r) => r.nodeId) : []);
  return b.clusterBrokers().map((x) => ({ ...x, controller: x.nodeId === controllerId, state: (shuttingDown.has(x.nodeId) ? "PENDING_CONTROLLED_SHUTDOWN" : "RUNNING") satisfies BrokerStateName }));
}

function cluster(b: Broker, access: ApiAccess) {
  access.requireCluster(Op.DESCRIBE);
  let partitions = 0;
  let bytesIn = 0;
  let bytesOut = 0;
  let messagesIn = 0;
  let messagesOut = 0;
  for (const t of b.topicsByName.values()) partitions += t.partitions.length;
  for (const c of b.metrics!.topics.values()) {
    bytesIn += c.bytesIn;
    bytesOut += c.bytesOut;
    messagesIn += c.messagesIn;
    messagesOut += c.messagesOut;
  }
  return {
    clusterId: b.clusterId,
    nodeId: b.nodeId,
    controllerId: b.controllerId,
    version: RUNNEL_VERSION,
    brokers: brokersOf(b),
    topics: b.topicsByName.size,
    partitions,
    groups: b.groups.listGroups().length,
    traffic: { bytesIn, bytesOut, messagesIn, messagesOut },
  };
}

function topicSummary(t: Topic) {
  let size = 0;
  let messages = 0n;
  for (const p of t.partitions) {
    if (p.log.isOffline) continue;
    size += p.log.size;
    messages += p.log.highWatermark - p.log.logStartOffset;
  }
  return {
    name: t.name,
    internal: t.internal,
    partitions: t.partitions.length,
    replicationFactor: t.replicationFactor,
    size,
    messages,
    retentionMs: t.config.retentionMs,
    cleanupPolicy: t.config.cleanupPolicy,
  };
}

function topicDetail(b: Broker, t: Topic) {
  return {
    ...topicSummary(t),
    id: Buffer.from(t.id).toString("hex"),
    partitionDetails: t.partitions.map((p) => ({
      partition: p.index,
      leader: p.log.isOffline ? -1 : p.leader,
      replicas: p.replicas,
      isr: p.log.isOffline ? [] : p.isr,
      leaderEpoch: p.leaderEpoch,
      offline: p.log.isOffline,
      logStartOffset: p.log.isOffline ? null : p.log.logStartOffset,
      highWatermark: p.log.isOffline ? null : p.log.highWatermark,
      logEndOffset: p.log.isOffline ? null : p.log.logEndOffset,
      size: p.log.isOffline ? null : p.log.size,
      segments: p.log.isOffline ? null : p.log.segmentCount,
    })),
  };
}

function configJson(e: ConfigEntry) {
  return { name: e.name, value: e.value, source: SOURCE_NAMES[e.configSource] ?? String(e.configSource), readOnly: e.readOnly, documentation: e.documentation };
}

function stringMap(v: unknown, what: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) throw new ApiError(400, "INVALID_REQUEST", `${what} must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== "string" && typeof x !== "number") throw new ApiError(400, "INVALID_REQUEST", `${what}.${k} must be a string`);
    out[k] = String(x);
  }
  return out;
}

/** An integer field of a body or query (`dflt` when absent). */
export function intField(v: unknown, what: string, dflt: number): number {
  if (v === undefined || v === null || v === "") return dflt;
  const n = typeof v === "string" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n)) throw new ApiError(400, "INVALID_REQUEST", `${what} must be an integer`);
  return n;
}

async function createTopic(b: Broker, q: Record<string, unknown>, access: ApiAccess) {
  if (typeof q.name !== "string") throw new ApiError(400, "INVALID_REQUEST", "name is required");
  access.requireTopicCreate(q.name);
  const t = await b.createTopic(q.name, intField(q.partitions, "partitions", -1), intField(q.replicationFactor, "replicationFactor", -1), stringMap(q.configs, "configs"), q.validateOnly === true);
  return t === null ? { validated: q.name } : topicSummary(t);
}

async function alterTopicConfig(b: Broker, t: Topic, q: Record<string, unknown>) {
  const set = stringMap(q.set, "set");
  const del = q.delete ?? [];
  if (!Array.isArray(del) || del.some((k) => typeof k !== "string")) throw new ApiError(400, "INVALID_REQUEST", "delete must be a list of keys");
  const changes = [
    ...Object.entries(set).map(([name, value]) => ({ name, op: AlterConfigOp.SET, value: value as string | null })),
    ...(del as string[]).map((name) => ({ name, op: AlterConfigOp.DELETE, value: null })),
  ];
  const [r] = await alterConfigResources(b, [{ resourceType: ConfigResourceType.TOPIC, resourceName: t.name, changes }], false, q.validateOnly === true);
  if (r.errorCode !== ErrorCode.NONE) throw kafkaFailure(r.errorCode, r.errorMessage ?? errorName(r.errorCode));
  return { configs: describeTopicConfigs(b, t, null).map(configJson) };
}

function browse(t: Topic, q: URLSearchParams) {
  const limit = intField(q.get("limit"), "limit", 50);
  if (limit < 1 || limit > MAX_BROWSE_LIMIT) throw new ApiError(400, "INVALID_REQUEST", `limit must be 1-${MAX_BROWSE_LIMIT}`);
  const only = q.get("partition");
  const partitions = only === null || only === "" ? t.partitions : [t.partitions[intField(only, "partition", 0)]];
  if (partitions.some((p) => p === undefined)) throw new ApiError(404, "UNKNOWN_TOPIC_OR_PARTITION", `topic '${t.name}' has no partition ${only}`);
  const keyFilter = q.get("key") || null;
  const valueFilter = q.get("value") || null;
  const offset = q.get("offset");
  const timestamp = q.get("timestamp");
  const newest = q.get("newest");
  const records: BrowsedRecord[] = [];
  const next: Record<number, number> = {};
  for (const p of partitions) {
    if (p.log.isOffline) continue;
    let from: bigint;
    if (offset !== null && offset !== "") from = BigInt(intField(offset, "offset", 0));
    else if (timestamp !== null && timestamp !== "") from = p.log.offsetForTimestamp(intField(timestamp, "timestamp", 0))?.offset ?? p.log.highWatermark;
    else {
      const n = BigInt(intField(newest, "newest", limit));
      from = p.log.highWatermark - n;
    }
    const got = browsePartition(p, { fromOffset: from, limit, keyFilter, valueFilter });
    records.push(...got.records);
    next[p.index] = Number(got.nextOffset);
  }
  return { topic: t.name, records: keptRecords(records, q, limit), nextOffsets: next };
}

/**
 * What a browse (query `q`) answers of the `records` read from its partitions, sorted by time: the newest `limit`
 * overall when asked for the newest, else the first `limit`.
 */
export function keptRecords(records: BrowsedRecord[], q: URLSearchParams, limit: number): BrowsedRecord[] {
  const byTime = (x: BrowsedRecord, y: BrowsedRecord) => x.timestamp - y.timestamp || x.partition - y.partition || x.offset - y.offset;
  records.sort(byTime);
  return q.get("offset") === null && q.get("timestamp") === null ? records.slice(Math.max(0, records.length - limit)) : records.slice(0, limit);
}

let roundRobin = 0;

/** The partition a message produced through the API goes to: `asked`, else its key's hash, else the next in turn. */
export function producePartition(asked: unknown, key: Uint8Array | null, partitions: number): number {
  if (asked !== undefined && asked !== null) return intField(asked, "partition", 0);
  return key !== null ? partitionForKey(key, partitions) : roundRobin++ % partitions;
}

async function produce(b: Broker, t: Topic, q: Record<string, unknown>) {
  const enc = new TextEncoder();
  const bytesOf = (v: unknown, what: string): Uint8Array | null => {
    if (v === undefined || v === null) return null;
    if (typeof v !== "string") throw new ApiError(400, "INVALID_REQUEST", `${what} must be a string or null`);
    return enc.encode(v);
  };
  const key = bytesOf(q.key, "key");
  const value = bytesOf(q.value, "value");
  const headers: RecordHeader[] = Object.entries(stringMap(q.headers, "headers")).map(([k, v]) => ({ key: k, value: enc.encode(v) }));
  const partition = producePartition(q.partition, key, t.partitions.length);
  if (partition < 0 || partition >= t.partitions.length) throw new ApiError(404, "UNKNOWN_TOPIC_OR_PARTITION", `topic '${t.name}' has no partition ${partition}`);
  const builder = new BatchBuilder(Math.max(1024, b.config.num("message.max.bytes")));
  builder.reset();
  builder.append(Date.now(), key, value, headers);
  const records = builder.finish();
  const handler = b.handlers[0]!;
  const header = { requestApiKey: 0, requestApiVersion: 9, correlationId: 0, clientId: "runnel-http" };
  const res = await handler.handle(
    { header, apiVersion: 9, remote: "http", receivedAtMs: b.clock.monotonicMs() },
    { transactionalId: null, acks: -1, timeoutMs: 30_000, topicData: [{ name: t.name, partitionData: [{ index: partition, records }] }] },
  );
  const pr = res.responses[0].partitionResponses[0];
  if (pr.errorCode !== ErrorCode.NONE) throw kafkaFailure(pr.errorCode, pr.errorMessage ?? errorName(pr.errorCode));
  return { topic: t.name, partition, offset: pr.baseOffset };
}

async function listGroups(b: Broker, access: ApiAccess) {
  const out = [];
  for (const g of b.groups.listGroups()) {
    if (!access.allows(Op.DESCRIBE, R.GROUP, g.groupId)) continue;
    const d = b.groups.describeGroup(g.groupId);
    let lag = 0n;
    for (const r of await b.groups.describeGroupLag(g.groupId)) lag += r.lag ?? 0n;
    out.push({ groupId: g.groupId, state: g.state, protocolType: g.protocolType, members: d.members.length, lag });
  }
  return out.sort((x, y) => (x.groupId < y.groupId ? -1 : 1));
}

async function groupDetail(b: Broker, groupId: string) {
  const d = b.groups.describeGroup(groupId);
  const rows = await b.groups.describeGroupLag(groupId);
  if (d.errorCode === ErrorCode.GROUP_ID_NOT_FOUND && rows.length === 0) throw new ApiError(404, "GROUP_ID_NOT_FOUND", `group '${groupId}' does not exist`);
  if (d.errorCode !== ErrorCode.NONE && d.errorCode !== ErrorCode.GROUP_ID_NOT_FOUND) throw kafkaFailure(d.errorCode, errorName(d.errorCode));
  return {
    groupId,
    state: d.state,
    protocolType: d.protocolType,
    protocol: d.protocolData,
    members: d.members.map((mb) => ({
      memberId: mb.memberId,
      groupInstanceId: mb.groupInstanceId,
      clientId: mb.clientId,
      host: mb.clientHost,
      assignment: d.protocolType === CONSUMER_PROTOCOL_TYPE ? (assignedPartitionsOf(mb.assignment) ?? []) : [],
    })),
    offsets: rows,
    lag: rows.reduce((s, r) => s + (r.lag ?? 0n), 0n),
  };
}

/** What a reset of a group's offsets reads and writes: one broker ({@link brokerResetSource}), or a sharded node's shards. */
export interface OffsetResetSource {
  /** Partitions of `topic`, or undefined when it does not exist. */
  partitionCount(topic: string): number | undefined;
  /** The group's state (`Empty`, `Stable`, ...; `Dead` when unknown). */
  groupState(groupId: string): Promise<string>;
  /** The group's committed offsets in `topic`, by partition. */
  committed(groupId: string, topic: string): Promise<Map<number, bigint>>;
  /** Per partition of `partitions`: log start offset, high watermark, first offset at or after `timestamp` (when given). */
  offsets(topic: string, partitions: readonly number[], timestamp: number | null): Promise<{ lo: bigint; hi: bigint; atTimestamp: bigint | null }[]>;
  /** Commits `offsets` as an admin (no generation); an error code per offset. */
  commit(groupId: string, offsets: { topic: string; partition: number; offset: bigint }[]): Promise<number[]>;
}

/** {@link OffsetResetSource} of one in-process broker. */
export function brokerResetSource(b: Broker): OffsetResetSource {
  return {
    partitionCount: (topic) => b.topicsByName.get(topic)?.partitions.length,
    groupState: (groupId) => Promise.resolve(b.groups.describeGroup(groupId).state),
    async committed(groupId, topic) {
      const m = new Map<number, bigint>();
      for (const r of await b.groups.describeGroupLag(groupId)) if (r.topic === topic && r.committed !== null) m.set(r.partition, r.committed);
      return m;
    },
    offsets: (topic, partitions, timestamp) =>
      Promise.resolve(partitions.map((i) => {
        const log = b.topicsByName.get(topic)!.partitions[i].log;
        return { lo: log.logStartOffset, hi: log.highWatermark, atTimestamp: timestamp === null ? null : (log.offsetForTimestamp(timestamp)?.offset ?? null) };
      })),
    commit: (groupId, offsets) =>
      b.groups.commitOffsets({ groupId, generationId: -1, memberId: "", groupInstanceId: null, retentionTimeMs: -1, offsets: offsets.map((o) => ({ ...o, leaderEpoch: -1, metadata: null })) }),
  };
}

/** Resets a group's committed offsets (the group must be inactive, as kafka-consumer-groups requires). */
export async function resetOffsets(src: OffsetResetSource, groupId: string, q: Record<string, unknown>, access: ApiAccess) {
  const dryRun = q.dryRun !== false;
  if (typeof q.topic !== "string") throw new ApiError(400, "INVALID_REQUEST", "topic is required");
  const topic = q.topic;
  // As OffsetCommit asks: READ on the group and the topic (DESCRIBE for a dry run, as OffsetFetch).
  access.require(dryRun ? Op.DESCRIBE : Op.READ, R.GROUP, groupId);
  access.require(dryRun ? Op.DESCRIBE : Op.READ, R.TOPIC, topic);
  const count = src.partitionCount(topic);
  if (count === undefined) throw new ApiError(404, "UNKNOWN_TOPIC_OR_PARTITION", `topic '${topic}' does not exist`);
  const state = await src.groupState(groupId);
  if (state !== "Empty" && state !== "Dead") {
    throw new ApiError(409, "NON_EMPTY_GROUP", `offsets can only be reset while group '${groupId}' is inactive; its state is ${state}`);
  }
  const wanted = Array.isArray(q.partitions) ? q.partitions.map((p) => intField(p, "partitions[]", 0)) : Array.from({ length: count }, (_, i) => i);
  const missing = wanted.find((i) => !(i >= 0 && i < count));
  if (missing !== undefined) throw new ApiError(404, "UNKNOWN_TOPIC_OR_PARTITION", `topic '${topic}' has no partition ${missing}`);
  if (!["earliest", "latest", "offset", "shift", "timestamp"].includes(q.to as string)) throw new ApiError(400, "INVALID_REQUEST", "to must be earliest, latest, offset, shift or timestamp");
  const committed = await src.committed(groupId, topic);
  const ends = await src.offsets(topic, wanted, q.to === "timestamp" ? intField(q.timestamp, "timestamp", 0) : null);
  const plan = wanted.map((i, n) => {
    const { lo, hi, atTimestamp } = ends[n];
    const current = committed.get(i) ?? null;
    let target = q.to === "earliest" ? lo : q.to === "latest" ? hi : q.to === "offset" ? BigInt(intField(q.offset, "offset", 0)) : q.to === "shift" ? (current ?? lo) + BigInt(intField(q.shift, "shift", 0)) : (atTimestamp ?? hi);
    // Like kafka-consumer-groups: keep the target inside the partition's offsets.
    if (target < lo) target = lo;
    if (target > hi) target = hi;
    return { topic, partition: i, current, target, lagAfter: hi - target };
  });
  if (!dryRun) {
    const codes = await src.commit(groupId, plan.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.target })));
    const bad = codes.find((c) => c !== ErrorCode.NONE);
    if (bad !== undefined) throw kafkaFailure(bad, `committing offsets failed: ${errorName(bad)}`);
  }
  return { groupId, dryRun, offsets: plan };
}
