/**
 * Differential property test: a sharded node (`runnel.shards` 2 and 3) answers every request as a plain single
 * broker (`runnel.shards=1`) does. The same random sequences of requests (CreateTopics, Produce of random batches to
 * many partitions at acks 0/1/-1, Fetch over many partitions with random offsets and byte limits, ListOffsets,
 * Metadata, DeleteRecords, OffsetCommit/OffsetFetch, DescribeConfigs, some naming unknown topics or partitions),
 * at random versions, go to each node through our BrokerConnection, one request at a time; each answer, with what
 * legitimately differs normalised away (node ids, hosts and ports, cluster and topic ids, throttle times), must equal
 * the plain broker's. A few requests are over 64 KiB (Produce of ~1 MiB, Fetch and Metadata naming thousands of
 * partitions or long unknown names) and some answers several MiB (the front splits multi-partition requests by owner
 * and merges the answers: src/shard/front). On failure fast-check prints the seed and path to replay
 * (`DIFF_SEED=... DIFF_PATH=...`).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { startBrokerProcess, type BrokerProcess } from "../support/broker-process.ts";
import { BrokerConnection } from "../../src/client/connection.ts";
import { ConnectionError } from "../../src/client/client-errors.ts";
import { API_CODECS, ApiKey } from "../../src/protocol/generated/index.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { concatBytes, recordsLength, type RecordsValue } from "../../src/protocol/wire.ts";
import { uuidHex } from "../../src/protocol/uuid.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import type { ApiVersionsResponse } from "../../src/protocol/generated/18_api_versions.ts";
import type { FindCoordinatorResponse } from "../../src/protocol/generated/10_find_coordinator.ts";
import type { MetadataResponse } from "../../src/protocol/generated/03_metadata.ts";
import type { FetchRequest, FetchResponse } from "../../src/protocol/generated/01_fetch.ts";
import { nextSessionEpoch } from "../../src/broker/fetch-sessions.ts";

/** Client connections per node, used in turn, one per step. */
const CONNECTIONS = 3;
const CONNECTION_OPTIONS = { clientId: "diff", maxResponseBytes: 128 * 1024 * 1024 };
/** Shard counts of the nodes compared with the plain broker. */
const SHARDED = [2, 3];
const RUNS = Number(process.env.DIFF_RUNS ?? 12);
/** Timestamp of the generated records' first (CreateTime, so both nodes store the same bytes). */
const T0 = 1_700_000_000_000;

interface Node {
  name: string;
  proc: BrokerProcess;
  dir: string;
  /** Its client connections (the kernel spreads them over the threads that accept: a sharded node's main front and shard threads' fronts). */
  conns: BrokerConnection[];
  /** The connection of the current step. */
  conn: BrokerConnection;
  /** Topic name -> id, and back (hex). */
  ids: Map<string, Uint8Array>;
  names: Map<string, string>;
  versions: Map<number, [number, number]>;
  /** Its fetch session, if one is open. */
  session: { id: number; epoch: number; v: number } | null;
}

type TopicRef = { t: number } | { unknown: string };
interface TopicSpec {
  partitions: number;
  configs: [string, string][];
}
type Cmd =
  | { k: "produce"; v: number; acks: number; parts: { topic: TopicRef; partition: number; records: number; size: number; seed: number }[] }
  | { k: "fetch"; v: number; maxBytes: number; isolation: number; parts: { topic: TopicRef; partition: number; offset: number; maxBytes: number }[]; session?: "open" | "next" | "close"; forget?: { topic: TopicRef; partition: number }[]; minBytes?: number; maxWaitMs?: number }
  | { k: "listOffsets"; v: number; isolation: number; parts: { topic: TopicRef; partition: number; timestamp: number }[] }
  | { k: "metadata"; v: number; topics: TopicRef[] | null }
  | { k: "deleteRecords"; v: number; parts: { topic: TopicRef; partition: number; offset: number }[] }
  | { k: "commit"; v: number; parts: { topic: TopicRef; partition: number; offset: number }[] }
  | { k: "offsetFetch"; v: number; parts: { topic: TopicRef; partition: number }[] | null }
  | { k: "leaderEpochs"; v: number; parts: { topic: TopicRef; partition: number; epoch: number }[] }
  | { k: "describeProducers"; v: number; parts: { topic: TopicRef; partition: number }[] }
  | { k: "describeConfigs"; v: number; synonyms: boolean; topics: TopicRef[]; keys: string[] | null };

const MAX_TOPICS = 3;
const MAX_PARTITIONS = 12;
const topicRef: fc.Arbitrary<TopicRef> = fc.oneof(
  { weight: 9, arbitrary: fc.integer({ min: 0, max: MAX_TOPICS - 1 }).map((t) => ({ t })) },
  { weight: 1, arbitrary: fc.constantFrom("nope", "x".repeat(200)).map((unknown) => ({ unknown })) },
);
/** Mostly a few partitions (so that they get several batches), some of every partition and some past the last. */
const partition = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: MAX_PARTITIONS + 1 }) });
const version = fc.integer({ min: 0, max: 20 }); // mapped into each API's range shared by the nodes
const topicSpec: fc.Arbitrary<TopicSpec> = fc.record({
  partitions: fc.integer({ min: 1, max: MAX_PARTITIONS }),
  configs: fc.subarray([
    ["segment.bytes", "16384"],
    ["max.message.bytes", "3000"],
    ["retention.ms", "86400000"],
    ["message.timestamp.type", "CreateTime"],
  ] as [string, string][]),
});
/** Mostly offsets in the logs (0 and just past a batch's records), some out of range. */
const fetchOffset = fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 4, arbitrary: fc.integer({ min: 1, max: 40 }) }, { weight: 1, arbitrary: fc.constantFrom(-1, 1000) });
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant("produce" as const), v: version, acks: fc.constantFrom(0, 1, -1), parts: fc.array(fc.record({ topic: topicRef, partition, records: fc.integer({ min: 1, max: 20 }), size: fc.integer({ min: 0, max: 600 }), seed: fc.nat() }), { minLength: 1, maxLength: 16 }) }) },
  // Requests over 64 KiB: Produce of batches up to ~900 KB (answers to Fetch of several MiB follow), Fetch and
  // Metadata naming hundreds of unknown long topic names besides the run's partitions.
  { weight: 1, arbitrary: fc.record({ k: fc.constant("produce" as const), v: version, acks: fc.constantFrom(0, 1, -1), parts: fc.array(fc.record({ topic: fc.integer({ min: 0, max: MAX_TOPICS - 1 }).map((t): TopicRef => ({ t })), partition: fc.integer({ min: 0, max: 3 }), records: fc.constant(4), size: fc.integer({ min: 20_000, max: 225_000 }), seed: fc.nat() }), { minLength: 1, maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("fetch" as const), v: version, maxBytes: fc.constantFrom(50 * 1024 * 1024, 3 * 1024 * 1024), isolation: fc.constantFrom(0, 1), parts: fc.array(fc.record({ topic: fc.oneof(fc.integer({ min: 0, max: MAX_TOPICS - 1 }).map((t): TopicRef => ({ t })), fc.integer({ min: 0, max: 999 }).map((i): TopicRef => ({ unknown: `unknown-${i}-${"y".repeat(200)}` }))), partition, offset: fc.constant(0), maxBytes: fc.constantFrom(1024 * 1024, 2 * 1024 * 1024) }), { minLength: 300, maxLength: 400 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("metadata" as const), v: version, topics: fc.array(fc.oneof(fc.integer({ min: 0, max: MAX_TOPICS - 1 }).map((t): TopicRef => ({ t })), fc.integer({ min: 0, max: 999 }).map((i): TopicRef => ({ unknown: `unknown-${i}-${"y".repeat(200)}` }))), { minLength: 300, maxLength: 400 }) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant("fetch" as const), v: version, maxBytes: fc.oneof(fc.integer({ min: 1, max: 40_000 }), fc.constant(50 * 1024 * 1024)), isolation: fc.constantFrom(0, 1), parts: fc.array(fc.record({ topic: topicRef, partition, offset: fetchOffset, maxBytes: fc.oneof(fc.integer({ min: 1, max: 20_000 }), fc.constant(1024 * 1024)) }), { minLength: 1, maxLength: 24 }) }) },
  // A long poll (min_bytes not met, a short max wait): across shards the front asks each on its own channel.
  { weight: 1, arbitrary: fc.record({ k: fc.constant("fetch" as const), v: version, maxBytes: fc.constant(50 * 1024 * 1024), isolation: fc.constantFrom(0, 1), parts: fc.array(fc.record({ topic: topicRef, partition, offset: fc.constantFrom(0, 1000), maxBytes: fc.constant(1024 * 1024) }), { minLength: 1, maxLength: 12 }), minBytes: fc.constant(64 * 1024 * 1024), maxWaitMs: fc.integer({ min: 1, max: 30 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("leaderEpochs" as const), v: version, parts: fc.array(fc.record({ topic: topicRef, partition, epoch: fc.integer({ min: -1, max: 2 }) }), { minLength: 1, maxLength: 12 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("describeProducers" as const), v: version, parts: fc.array(fc.record({ topic: topicRef, partition }), { minLength: 1, maxLength: 12 }) }) },
  // Fetch sessions (KIP-227, v7+): opened, then incremental fetches (new offsets, forgotten partitions), closed.
  { weight: 3, arbitrary: fc.record({ k: fc.constant("fetch" as const), v: fc.integer({ min: 7, max: 20 }), maxBytes: fc.oneof(fc.integer({ min: 1, max: 40_000 }), fc.constant(50 * 1024 * 1024)), isolation: fc.constantFrom(0, 1), parts: fc.array(fc.record({ topic: topicRef, partition, offset: fetchOffset, maxBytes: fc.oneof(fc.integer({ min: 1, max: 20_000 }), fc.constant(1024 * 1024)) }), { maxLength: 12 }), session: fc.constantFrom("open" as const, "next" as const, "next" as const, "next" as const, "close" as const), forget: fc.array(fc.record({ topic: topicRef, partition }), { maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("listOffsets" as const), v: version, isolation: fc.constantFrom(0, 1), parts: fc.array(fc.record({ topic: topicRef, partition, timestamp: fc.oneof(fc.constantFrom(-1, -2, -3, -4), fc.integer({ min: T0 - 5, max: T0 + 200 })) }), { minLength: 1, maxLength: 16 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("metadata" as const), v: version, topics: fc.option(fc.array(topicRef, { maxLength: 4 }), { nil: null }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("deleteRecords" as const), v: version, parts: fc.array(fc.record({ topic: topicRef, partition, offset: fc.integer({ min: -1, max: 40 }) }), { minLength: 1, maxLength: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("commit" as const), v: version, parts: fc.array(fc.record({ topic: topicRef, partition, offset: fc.integer({ min: -1, max: 100 }) }), { minLength: 1, maxLength: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("offsetFetch" as const), v: version, parts: fc.option(fc.array(fc.record({ topic: topicRef, partition }), { minLength: 1, maxLength: 8 }), { nil: null }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("describeConfigs" as const), v: version, synonyms: fc.boolean(), topics: fc.array(topicRef, { minLength: 1, maxLength: 3 }), keys: fc.option(fc.subarray(["segment.bytes", "max.message.bytes", "retention.ms", "cleanup.policy", "no.such.key"]), { nil: null }) }) },
);

async function startNode(shards: number): Promise<Node> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-diff-"));
  const settings = { "group.initial.rebalance.delay.ms": "0", "offsets.topic.num.partitions": "4", "auto.create.topics.enable": "false", "runnel.shards": String(shards) };
  const args = ["--port", "0", "--data-dir", dir, ...Object.entries(settings).flatMap(([k, v]) => ["-o", `${k}=${v}`])];
  let proc: BrokerProcess;
  try {
    proc = await startBrokerProcess("bun", args, 90_000);
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const conns: BrokerConnection[] = [];
  for (let i = 0; i < CONNECTIONS; i++) conns.push(await BrokerConnection.open("127.0.0.1", proc.port, -1, CONNECTION_OPTIONS));
  const conn = conns[0];
  const av = await conn.request<ApiVersionsResponse>(ApiKey.ApiVersions, { clientSoftwareName: "diff", clientSoftwareVersion: "1" }, { version: 3 });
  const versions = new Map(av.apiKeys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion] as [number, number]]));
  return { name: shards === 1 ? "plain" : `${shards} shards`, proc, dir, conns, conn, ids: new Map(), names: new Map(), versions, session: null };
}

async function stopNode(n: Node): Promise<void> {
  for (const c of n.conns) c.close();
  const exit = await n.proc.stop("SIGTERM");
  fs.rmSync(n.dir, { recursive: true, force: true });
  if (exit !== 0) throw new Error(`${n.name} exited with ${exit}:\n${n.proc.log().slice(-3000)}`);
}

/** A batch of `count` records of `size`-byte values (bytes from `seed`), timestamps T0 + i. */
function batch(count: number, size: number, seed: number): Uint8Array {
  const bb = new BatchBuilder(count * (size + 32) + 128);
  bb.reset();
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    const v = new Uint8Array(size);
    for (let j = 0; j < size; j++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      v[j] = s >>> 24;
    }
    bb.append(T0 + ((seed + i * 7) % 150), i % 3 === 0 ? null : new TextEncoder().encode(`k${i}`), v);
  }
  return bb.finish();
}

/** The request of `c` for `node` (topic names or ids as its version wants), given the run's topic names. */
function request(c: Cmd, node: Node, topics: string[], shared: (api: number, v: number) => number): { api: number; v: number; body: unknown; noResponse?: boolean } {
  const name = (r: TopicRef) => ("t" in r ? topics[r.t % topics.length] : r.unknown);
  const id = (r: TopicRef) => node.ids.get(name(r)) ?? new Uint8Array(16).fill(7);
  const grouped = <P extends { topic: TopicRef }>(parts: P[]) => {
    const out: { ref: TopicRef; parts: P[] }[] = [];
    for (const p of parts) {
      const last = out.at(-1);
      if (last !== undefined && name(last.ref) === name(p.topic)) last.parts.push(p);
      else out.push({ ref: p.topic, parts: [p] });
    }
    return out;
  };
  switch (c.k) {
    case "produce": {
      const v = shared(ApiKey.Produce, c.v);
      const topicData = grouped(c.parts).map((g) => ({
        ...(v >= 13 ? { topicId: id(g.ref) } : { name: name(g.ref) }),
        partitionData: g.parts.map((p) => ({ index: p.partition, records: batch(p.records, p.size, p.seed) })),
      }));
      return { api: ApiKey.Produce, v, body: { transactionalId: null, acks: c.acks, timeoutMs: 5000, topicData }, noResponse: c.acks === 0 };
    }
    case "fetch": {
      // A session's fetches keep the version that opened it (a client does not switch between names and ids in one).
      const v = c.session !== undefined && c.session !== "open" && node.session !== null ? node.session.v : shared(ApiKey.Fetch, c.v);
      // A partition named twice in one Fetch is left out: Kafka keeps one entry for it (the last one's offset at the
      // first one's place), a plain Runnel broker answers each entry and a sharded node both with the last answer.
      const seen = new Set<string>();
      const once = c.parts.filter((p) => {
        const key = `${name(p.topic)}\0${p.partition}`;
        return !seen.has(key) && seen.add(key) !== undefined;
      });
      const t = grouped(once).map((g) => ({
        ...(v >= 13 ? { topicId: id(g.ref) } : { topic: name(g.ref) }),
        partitions: g.parts.map((p) => ({ partition: p.partition, currentLeaderEpoch: -1, fetchOffset: BigInt(p.offset), lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: p.maxBytes })),
      }));
      // The node's own session id and epoch (ids differ between nodes; answers show only whether there is one).
      const session = v >= 7 ? c.session : undefined;
      const [sessionId, sessionEpoch] = session === "open" ? [0, 0] : node.session === null ? [0, -1] : session === "next" ? [node.session.id, node.session.epoch] : session === "close" ? [node.session.id, -1] : [0, -1];
      const forgotten = session === "next" && node.session !== null ? grouped((c.forget ?? []).map((f) => ({ ...f }))).map((g) => ({ ...(v >= 13 ? { topicId: id(g.ref) } : { topic: name(g.ref) }), partitions: g.parts.map((p) => p.partition) })) : [];
      return { api: ApiKey.Fetch, v, body: { replicaId: -1, maxWaitMs: c.maxWaitMs ?? 0, minBytes: c.minBytes ?? 0, maxBytes: c.maxBytes, isolationLevel: c.isolation, sessionId, sessionEpoch, topics: t, forgottenTopicsData: forgotten, rackId: "" } };
    }
    case "listOffsets": {
      const v = shared(ApiKey.ListOffsets, c.v);
      const t = grouped(c.parts).map((g) => ({ name: name(g.ref), partitions: g.parts.map((p) => ({ partitionIndex: p.partition, currentLeaderEpoch: -1, timestamp: BigInt(p.timestamp) })) }));
      return { api: ApiKey.ListOffsets, v, body: { replicaId: -1, isolationLevel: v >= 2 ? c.isolation : 0, topics: t, timeoutMs: 5000 } };
    }
    case "metadata": {
      const v = shared(ApiKey.Metadata, c.v);
      const t = c.topics === null ? (v === 0 ? [] : null) : c.topics.map((r) => ({ name: name(r), topicId: new Uint8Array(16) }));
      return { api: ApiKey.Metadata, v, body: v >= 4 ? { topics: t, allowAutoTopicCreation: false } : { topics: t } };
    }
    case "deleteRecords": {
      const v = shared(ApiKey.DeleteRecords, c.v);
      const t = grouped(c.parts).map((g) => ({ name: name(g.ref), partitions: g.parts.map((p) => ({ partitionIndex: p.partition, offset: BigInt(p.offset) })) }));
      return { api: ApiKey.DeleteRecords, v, body: { topics: t, timeoutMs: 5000 } };
    }
    case "commit": {
      const v = shared(ApiKey.OffsetCommit, c.v);
      const t = grouped(c.parts).map((g) => ({ ...(v >= 10 ? { topicId: id(g.ref) } : { name: name(g.ref) }), partitions: g.parts.map((p) => ({ partitionIndex: p.partition, committedOffset: BigInt(p.offset), committedLeaderEpoch: -1, committedMetadata: "m" })) }));
      return { api: ApiKey.OffsetCommit, v, body: { groupId: "diff-group", generationIdOrMemberEpoch: -1, memberId: "", groupInstanceId: null, retentionTimeMs: -1n, topics: t } };
    }
    case "offsetFetch": {
      const v = shared(ApiKey.OffsetFetch, c.v);
      const t = c.parts === null ? null : grouped(c.parts).map((g) => ({ ref: g.ref, partitionIndexes: g.parts.map((p) => p.partition) }));
      if (v >= 8) {
        const topicsOf = t === null ? null : t.map((x) => ({ ...(v >= 10 ? { topicId: id(x.ref) } : { name: name(x.ref) }), partitionIndexes: x.partitionIndexes }));
        return { api: ApiKey.OffsetFetch, v, body: { groups: [{ groupId: "diff-group", memberId: null, memberEpoch: -1, topics: topicsOf }], requireStable: false } };
      }
      return { api: ApiKey.OffsetFetch, v, body: { groupId: "diff-group", topics: t === null ? (v < 2 ? [] : null) : t.map((x) => ({ name: name(x.ref), partitionIndexes: x.partitionIndexes })), requireStable: false } };
    }
    case "leaderEpochs": {
      const v = shared(ApiKey.OffsetForLeaderEpoch, c.v);
      const t = grouped(c.parts).map((g) => ({ topic: name(g.ref), partitions: g.parts.map((p) => ({ partition: p.partition, currentLeaderEpoch: -1, leaderEpoch: p.epoch })) }));
      return { api: ApiKey.OffsetForLeaderEpoch, v, body: { replicaId: -1, topics: t } };
    }
    case "describeProducers": {
      const v = shared(ApiKey.DescribeProducers, c.v);
      return { api: ApiKey.DescribeProducers, v, body: { topics: grouped(c.parts).map((g) => ({ name: name(g.ref), partitionIndexes: g.parts.map((p) => p.partition) })) } };
    }
    case "describeConfigs": {
      const v = shared(ApiKey.DescribeConfigs, c.v);
      return { api: ApiKey.DescribeConfigs, v, body: { resources: c.topics.map((r) => ({ resourceType: 2, resourceName: name(r), configurationKeys: c.keys })), includeSynonyms: c.synonyms, includeDocumentation: false } };
    }
  }
}

/** Record batches of a records value: [baseOffset, bytes] each, whole batches only (a cut tail kept as is). */
function batchesOf(r: RecordsValue): { base: bigint; bytes: Uint8Array }[] {
  if (r === null) return [];
  const all = r instanceof Uint8Array ? r : concatBytes(r);
  const out: { base: bigint; bytes: Uint8Array }[] = [];
  const dv = new DataView(all.buffer, all.byteOffset, all.byteLength);
  let at = 0;
  while (at + 12 <= all.length) {
    const len = dv.getInt32(at + 8);
    const end = Math.min(at + 12 + len, all.length);
    out.push({ base: dv.getBigInt64(at), bytes: all.slice(at, end) });
    at = end;
  }
  if (at < all.length) out.push({ base: -1n, bytes: all.slice(at) });
  return out;
}

/** `res` with what legitimately differs between nodes replaced by fixed values (and topic ids by names). */
function normalise(node: Node, res: unknown): unknown {
  const walk = (v: unknown, key: string): unknown => {
    if (v instanceof Uint8Array) {
      if (key === "topicId") return v.length === 16 ? (node.names.get(uuidHex(v)) ?? (v.every((b) => b === 0) ? "zero-id" : "unknown-id")) : v;
      if (key === "records") return batchesOf(v);
      return v;
    }
    if (Array.isArray(v)) {
      if (key === "records") return batchesOf(v as Uint8Array[]);
      if (key === "replicaNodes" || key === "isrNodes" || key === "offlineReplicas") return v.map(() => "node");
      return v.map((x) => walk(x, ""));
    }
    if (v !== null && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        if (k === "throttleTimeMs" || k === "clusterId" || k === "clusterAuthorizedOperations") continue;
        if (k === "sessionId" && typeof x === "number" && x > 0) {
          out[k] = "session";
          continue;
        }
        if ((k === "controllerId" || k === "leaderId" || k === "nodeId") && typeof x === "number") out[k] = x >= 0 ? "node" : x;
        else if (k === "brokers" || k === "nodeEndpoints") out[k] = (x as unknown[]).length;
        else out[k] = walk(x, k);
      }
      return out;
    }
    return v;
  };
  return walk(res, "");
}

/**
 * Runs always tried first. A shard's share of `max_bytes` spent on a partition the merged answer cuts (partitions of
 * batches of about 6, 4.5 and 3 KB, read 10 KB at a time in several orders, so that some order puts a partition of one
 * shard between two of another), and a `partition_max_bytes` below every batch.
 */
const sized = (partition: number, size: number) => ({ topic: { t: 0 }, partition, records: 10, size, seed: partition });
const EXAMPLES: [TopicSpec[], Cmd[]][] = [
  [
    [{ partitions: 6, configs: [] }],
    [
      { k: "produce", v: 99, acks: 1, parts: [sized(0, 590), sized(1, 440), sized(2, 290), sized(3, 590), sized(4, 440), sized(5, 290)] },
      { k: "produce", v: 99, acks: 1, parts: [sized(0, 590), sized(1, 440), sized(2, 290), sized(3, 590), sized(4, 440), sized(5, 290)] },
      ...[[0, 1, 2, 3, 4, 5], [3, 4, 5, 0, 1, 2], [0, 4, 2, 3, 1, 5], [1, 0, 3, 5, 2, 4], [5, 1, 3, 0, 4, 2], [2, 1, 0, 5, 4, 3]].map((order): Cmd => ({
        k: "fetch",
        v: 99,
        maxBytes: 10_000,
        isolation: 0,
        parts: order.map((partition) => ({ topic: { t: 0 }, partition, offset: 0, maxBytes: 1024 * 1024 })),
      })),
      // partition_max_bytes of 100 bytes: only the first partition brings a batch (each shard reads its own first one).
      { k: "fetch", v: 99, maxBytes: 10_000, isolation: 0, parts: [4, 1, 5, 2, 0, 3].map((partition) => ({ topic: { t: 0 }, partition, offset: 0, maxBytes: 100 })) },
      { k: "metadata", v: 99, topics: [{ t: 0 }] },
    ],
  ],
  // Answers of several MiB (batches of ~900 KB on four partitions, read whole and cut at 3 MiB and 1 byte), and a
  // Fetch of 1,500 partitions over 64 KiB (plus unknown long names), as a front once forwarded with a broken size.
  [
    [{ partitions: 4, configs: [] }, { partitions: 1500, configs: [] }],
    [
      ...[1, 2].map((seed): Cmd => ({ k: "produce", v: 99, acks: -1, parts: [0, 1, 2, 3].map((partition) => ({ topic: { t: 0 }, partition, records: 4, size: 225_000, seed: seed * 10 + partition })) })),
      ...[50 * 1024 * 1024, 3 * 1024 * 1024, 1].map((maxBytes): Cmd => ({ k: "fetch", v: 99, maxBytes, isolation: 0, parts: [3, 0, 2, 1].map((partition) => ({ topic: { t: 0 }, partition, offset: 0, maxBytes: 2 * 1024 * 1024 })) })),
      { k: "produce", v: 99, acks: 1, parts: Array.from({ length: 300 }, (_, i) => ({ topic: { t: 1 }, partition: i * 5, records: 1, size: 10, seed: i })) },
      {
        k: "fetch",
        v: 99,
        maxBytes: 50 * 1024 * 1024,
        isolation: 1,
        parts: [
          ...Array.from({ length: 1500 }, (_, partition) => ({ topic: { t: 1 }, partition, offset: partition % 3 === 0 ? 0 : 1, maxBytes: 1024 * 1024 })),
          ...Array.from({ length: 150 }, (_, i) => ({ topic: { unknown: `unknown-${i}-${"y".repeat(200)}` }, partition: 0, offset: 0, maxBytes: 1024 })),
        ],
      },
      { k: "listOffsets", v: 99, isolation: 0, parts: Array.from({ length: 1500 }, (_, partition) => ({ topic: { t: 1 }, partition, timestamp: -1 })) },
    ],
  ],
];

interface NormalisedPartition {
  records: { base: bigint; bytes: Uint8Array }[];
  [field: string]: unknown;
}
type Answer = { v: number; res: { responses: { partitions: NormalisedPartition[] }[] } };

/**
 * A sharded node's Fetch answer that differs from the plain broker's only in how many records some partitions
 * carry, which is allowed: a shard spends the request's `max_bytes` on its own partitions only, and when the merged
 * answer cuts one of them (records past `max_bytes` after another shard's), a later partition of that shard may come
 * empty where one broker, with budget left, read it (the client fetches it next time). Holds when every other field
 * is equal, each partition's records are whole batches from its fetch offset (those of a read of the plain broker
 * without limits), within `partition_max_bytes` and what is left of `max_bytes` (the first batch of the first
 * partition with records excepted), and the first partition with records is the same, with the same records.
 */
async function fewerRecordsWithinTheRules(plain: Node, sent: { api: number; v: number; body: unknown }, sharded: Answer, expected: Answer): Promise<void> {
  const strip = (a: Answer) => ({ ...a, res: { ...a.res, responses: a.res.responses.map((t) => ({ ...t, partitions: t.partitions.map((p) => ({ ...p, records: null })) })) } });
  assert.deepStrictEqual(strip(sharded), strip(expected));
  const body = sent.body as { maxBytes: number; topics: { partitions: { partitionMaxBytes: number }[] }[] };
  const limits = body.topics.flatMap((t) => t.partitions.map((p) => p.partitionMaxBytes));
  const unlimited = { ...body, maxBytes: 0x7fffffff, topics: body.topics.map((t) => ({ ...t, partitions: t.partitions.map((p) => ({ ...p, partitionMaxBytes: 0x7fffffff })) })) };
  const full = normalise(plain, await plain.conn.request(ApiKey.Fetch, unlimited, { version: sent.v })) as Answer["res"];
  const flat = (r: Answer["res"]) => r.responses.flatMap((t) => t.partitions.map((p) => p.records));
  const [got, want, all] = [flat(sharded.res), flat(expected.res), flat(full)];
  assert.equal(got.length, limits.length);
  let total = 0;
  for (const [j, batches] of got.entries()) {
    assert.deepStrictEqual(batches, all[j].slice(0, batches.length), `partition ${j}: not whole batches from its fetch offset`);
    const bytes = batches.reduce((n, b) => n + b.bytes.length, 0);
    const limit = Math.min(limits[j], body.maxBytes - total);
    assert.ok(bytes <= limit || (total === 0 && batches.length === 1), `partition ${j}: ${bytes} bytes past its limit ${limit}`);
    total += bytes;
  }
  const first = (l: unknown[][]) => l.findIndex((b) => b.length > 0);
  assert.equal(first(got), first(want), "the first partition with records");
  if (first(want) >= 0) assert.deepStrictEqual(got[first(got)], want[first(want)]);
}

/** The node's fetch session after a Fetch `sent` answered `res`. */
function followSession(n: Node, sent: FetchRequest, v: number, res: FetchResponse): void {
  if (sent.sessionEpoch === 0) n.session = res.errorCode === 0 && (res.sessionId ?? 0) > 0 ? { id: res.sessionId!, epoch: 1, v } : null;
  else if ((sent.sessionId ?? 0) !== 0) n.session = sent.sessionEpoch === -1 || res.errorCode !== 0 ? null : { id: sent.sessionId!, epoch: nextSessionEpoch(sent.sessionEpoch!), v };
}

const nodes: Node[] = [];
let fewer = 0;
/** What the runs covered: requests sent, those over 64 KiB (estimated from their contents), the largest Fetch answer's record bytes. */
const seen = { requests: 0, over64k: 0, largestFetch: 0 };

function tally(r: { api: number; body: unknown }, res: unknown): void {
  seen.requests++;
  const body = r.body as { topicData?: { partitionData: { records: Uint8Array }[] }[]; topics?: unknown[] | null };
  const produced = body.topicData?.reduce((n, t) => n + t.partitionData.reduce((m, p) => m + p.records.length, 0), 0) ?? 0;
  if (produced > 64 * 1024 || (r.api !== ApiKey.Produce && (body.topics?.length ?? 0) >= 300)) seen.over64k++;
  if (r.api === ApiKey.Fetch) {
    const bytes = (res as FetchResponse).responses.reduce((n, t) => n + t.partitions.reduce((m, p) => m + recordsLength(p.records), 0), 0);
    seen.largestFetch = Math.max(seen.largestFetch, bytes);
  }
}
let runNo = 0;

test("a sharded node answers random request sequences as a plain broker does", { timeout: 600_000 }, async () => {
  await initCrc32c();
  try {
    // Every node that started is stopped, also when another failed to start.
    const started = await Promise.allSettled([1, ...SHARDED].map(startNode));
    for (const r of started) if (r.status === "fulfilled") nodes.push(r.value);
    for (const r of started) if (r.status === "rejected") throw r.reason;
    // As a client does before it commits: FindCoordinator, which creates __consumer_offsets. (Before it exists a
    // sharded node's home shard answers a group request NOT_COORDINATOR, as Kafka does, where a plain broker serves it.)
    for (const n of nodes) {
      for (;;) {
        const fc = await n.conn.request<FindCoordinatorResponse>(ApiKey.FindCoordinator, { key: "diff-group", keyType: 0 }, { version: 3 });
        if (fc.errorCode === 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    const shared = (api: number, pick: number) => {
      let lo = API_CODECS[api]!.minVersion;
      let hi = 1 << 15;
      for (const n of nodes) {
        const r = n.versions.get(api);
        assert.ok(r !== undefined, `${n.name} serves no API ${api}`);
        lo = Math.max(lo, r[0]);
        hi = Math.min(hi, r[1], API_CODECS[api]!.maxVersion);
      }
      assert.ok(lo <= hi, `no version of API ${api} shared`);
      return lo + (pick % (hi - lo + 1));
    };
    const seed = process.env.DIFF_SEED === undefined ? undefined : Number(process.env.DIFF_SEED);
    await fc.assert(
      fc.asyncProperty(fc.array(topicSpec, { minLength: 1, maxLength: MAX_TOPICS }), fc.array(cmd, { minLength: 4, maxLength: 25 }), async (specs, cmds) => {
        const run = runNo++;
        const topics = specs.map((_, i) => `diff-${run}-${i}`);
        const steps: { what: string; pinned?: boolean; send(n: Node): { api: number; v: number; body: unknown; noResponse?: boolean } }[] = [];
        steps.push({
          what: "CreateTopics",
          send: () => ({ api: ApiKey.CreateTopics, v: shared(ApiKey.CreateTopics, 99), body: { topics: specs.map((s, i) => ({ name: topics[i], numPartitions: s.partitions, replicationFactor: 1, assignments: [], configs: s.configs.map(([name, value]) => ({ name, value })) })), timeoutMs: 10_000, validateOnly: false } }),
        });
        // A fetch session's requests go on the first connection: a sharded node keeps sessions per accepting thread (a
        // client keeps its session on its one connection to the broker and starts a new one after a reconnect).
        for (const c of cmds) steps.push({ what: JSON.stringify(c), pinned: c.k === "fetch" && c.session !== undefined, send: (n) => request(c, n, topics, shared) });
        for (const [i, s] of steps.entries()) {
          const answers: unknown[] = [];
          let plainSent: ReturnType<typeof s.send> | undefined;
          for (const n of nodes) {
            n.conn = n.conns[s.pinned ? 0 : i % n.conns.length];
            const r = s.send(n);
            plainSent ??= r;
            let res: unknown;
            try {
              res = await n.conn.request(r.api, r.body, { version: r.v, noResponse: r.noResponse });
              if (r.noResponse) {
                // A broker closes the connection of an acks=0 produce that failed (the client has no answer to read the
                // error from): the next request on it tells; the answer compared is whether it stayed open.
                res = await n.conn.request(ApiKey.ApiVersions, { clientSoftwareName: "diff", clientSoftwareVersion: "1" }, { version: 3 }).then(
                  () => "stayed open",
                  async (e) => {
                    if (!(e instanceof ConnectionError)) throw e;
                    const at = s.pinned ? 0 : i % n.conns.length;
                    n.conn = n.conns[at] = await BrokerConnection.open("127.0.0.1", n.proc.port, -1, CONNECTION_OPTIONS);
                    // As a client starts a new fetch session after a reconnect.
                    if (at === 0) n.session = null;
                    return "closed";
                  },
                );
              }
            } catch (e) {
              throw new Error(`step ${i} of run ${run} (API ${r.api} v${r.v}: ${s.what.slice(0, 2000)}): ${n.name} failed: ${(e as Error).message}\n${n.proc.log().slice(-3000)}`);
            }
            if (r.api === ApiKey.CreateTopics) {
              // The topics' ids on this node, from its Metadata (requests by id name them; answers are compared by name).
              const md = await n.conn.request<MetadataResponse>(ApiKey.Metadata, { topics: topics.map((name) => ({ name, topicId: new Uint8Array(16) })), allowAutoTopicCreation: false }, { version: 12 });
              for (const t of md.topics) {
                if (t.errorCode === 0 && t.name !== null && t.topicId !== undefined) {
                  n.ids.set(t.name, t.topicId);
                  n.names.set(uuidHex(t.topicId), t.name);
                }
              }
            }
            if (r.api === ApiKey.Fetch) followSession(n, r.body as FetchRequest, r.v, res as FetchResponse);
            answers.push({ v: r.v, res: normalise(n, res) });
            if (n === nodes[0]) tally(r, res);
          }
          for (let k = 1; k < nodes.length; k++) {
            try {
              try {
                assert.deepStrictEqual(answers[k], answers[0]);
              } catch (e) {
                if (plainSent?.api !== ApiKey.Fetch) throw e;
                await fewerRecordsWithinTheRules(nodes[0], plainSent, answers[k] as Answer, answers[0] as Answer);
                fewer++;
              }
            } catch {
              const show = (x: unknown) => JSON.stringify(x, (_, v) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? `<${v.length} bytes>` : v)).slice(0, 6000);
              assert.fail(`step ${i} of run ${run} (${s.what.slice(0, 3000)}): ${nodes[k].name} answers otherwise than plain:\n${nodes[k].name}: ${show(answers[k])}\nplain: ${show(answers[0])}`);
            }
          }
        }
      }),
      { numRuns: RUNS, seed, path: process.env.DIFF_PATH, endOnFailure: true, examples: EXAMPLES },
    );
    console.log(`${seen.requests} requests (${seen.over64k} over 64 KiB), largest Fetch answer ${(seen.largestFetch / 2 ** 20).toFixed(1)} MiB of records, ${fewer} Fetch answers of a sharded node with fewer records`);
    // The first example brings such answers on some node (it is built for it): the check above ran (a replay of one
    // path may leave the examples out).
    if (process.env.DIFF_PATH === undefined) assert.ok(fewer > 0, "no Fetch answer of a sharded node carried fewer records than the plain broker's");
  } finally {
    await Promise.allSettled(nodes.map(stopNode));
  }
});
