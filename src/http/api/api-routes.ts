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
class ApiError extends Error {
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

function kafkaFailure(code: number, message: string): ApiError {
  return new ApiError(STATUS_OF[code] ?? 400, errorName(code), message);
}

/** Serves one `/v1/...` request; `access` decides what the caller may do (everything when null). */
export async function handleApi(b: Broker, req: HttpRequest, access: ApiAccess = new ApiAccess(null, { principal: "User:ANONYMOUS", host: req.remoteIp })): Promise<HttpResponse> {
  try {
    return await route(b, req, access);
  } catch (e) {
    if (e instanceof ApiError) return jsonResponse(e.status, { error: e.error, message: e.message });
    if (e instanceof KafkaError) {
      const f = kafkaFailure(e.code, e.message);
      return jsonResponse(f.status, { error: f.error, message: f.message });
    }
    throw e;
  }
}

function body(req: HttpRequest): Record<string, unknown> {
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
    if (parts.length === 3 && sub === "reset-offsets" && m === "POST") return jsonResponse(200, await resetOffsets(b, name, body(req), access));
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

function cluster(b: Broker, access: ApiAccess) {
  access.requireCluster(Op.DESCRIBE);
  const adv = b.advertised();
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
    controllerId: b.nodeId,
    version: RUNNEL_VERSION,
    brokers: [{ nodeId: b.nodeId, host: adv.host, port: adv.port, controller: true }],
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

function intField(v: unknown, what: string, dflt: number): number {
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
  // Several partitions: the newest N overall when asked for the newest, else the first N by time.
  const byTime = (x: BrowsedRecord, y: BrowsedRecord) => x.timestamp - y.timestamp || x.partition - y.partition || x.offset - y.offset;
  records.sort(byTime);
  const kept = offset === null && timestamp === null ? records.slice(Math.max(0, records.length - limit)) : records.slice(0, limit);
  return { topic: t.name, records: kept, nextOffsets: next };
}

let roundRobin = 0;

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
  const partition = q.partition === undefined || q.partition === null ? (key !== null ? partitionForKey(key, t.partitions.length) : roundRobin++ % t.partitions.length) : intField(q.partition, "partition", 0);
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

/** Resets a group's committed offsets (the group must be inactive, as kafka-consumer-groups requires). */
async function resetOffsets(b: Broker, groupId: string, q: Record<string, unknown>, access: ApiAccess) {
  const dryRun = q.dryRun !== false;
  const to = q.to;
  if (typeof q.topic !== "string") throw new ApiError(400, "INVALID_REQUEST", "topic is required");
  // As OffsetCommit asks: READ on the group and the topic (DESCRIBE for a dry run, as OffsetFetch).
  access.require(dryRun ? Op.DESCRIBE : Op.READ, R.GROUP, groupId);
  access.require(dryRun ? Op.DESCRIBE : Op.READ, R.TOPIC, q.topic);
  const t = b.topicsByName.get(q.topic);
  if (t === undefined) throw new ApiError(404, "UNKNOWN_TOPIC_OR_PARTITION", `topic '${q.topic}' does not exist`);
  const d = b.groups.describeGroup(groupId);
  if (d.state !== "Empty" && d.state !== "Dead") {
    throw new ApiError(409, "NON_EMPTY_GROUP", `offsets can only be reset while group '${groupId}' is inactive; its state is ${d.state}`);
  }
  const wanted = Array.isArray(q.partitions) ? q.partitions.map((p) => intField(p, "partitions[]", 0)) : t.partitions.map((p) => p.index);
  const committed = new Map<number, bigint>();
  for (const r of await b.groups.describeGroupLag(groupId)) if (r.topic === t.name && r.committed !== null) committed.set(r.partition, r.committed);
  const plan = wanted.map((i) => {
    const p = t.partitions[i];
    if (p === undefined) throw new ApiError(404, "UNKNOWN_TOPIC_OR_PARTITION", `topic '${t.name}' has no partition ${i}`);
    const lo = p.log.logStartOffset;
    const hi = p.log.highWatermark;
    const cur = committed.get(i) ?? null;
    let target: bigint;
    switch (to) {
      case "earliest":
        target = lo;
        break;
      case "latest":
        target = hi;
        break;
      case "offset":
        target = BigInt(intField(q.offset, "offset", 0));
        break;
      case "shift":
        target = (cur ?? lo) + BigInt(intField(q.shift, "shift", 0));
        break;
      case "timestamp":
        target = p.log.offsetForTimestamp(intField(q.timestamp, "timestamp", 0))?.offset ?? hi;
        break;
      default:
        throw new ApiError(400, "INVALID_REQUEST", "to must be earliest, latest, offset, shift or timestamp");
    }
    // Like kafka-consumer-groups: keep the target inside the partition's offsets.
    if (target < lo) target = lo;
    if (target > hi) target = hi;
    return { topic: t.name, partition: i, current: cur, target, lagAfter: hi - target };
  });
  if (!dryRun) {
    const codes = await b.groups.commitOffsets({
      groupId,
      generationId: -1,
      memberId: "",
      groupInstanceId: null,
      retentionTimeMs: -1,
      offsets: plan.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.target, leaderEpoch: -1, metadata: null })),
    });
    const bad = codes.find((c) => c !== ErrorCode.NONE);
    if (bad !== undefined) throw kafkaFailure(bad, `committing offsets failed: ${errorName(bad)}`);
  }
  return { groupId, dryRun, offsets: plan };
}
