/**
 * The front's API table: for every API the shards serve and the front knows how to route, a handler in exactly the
 * shards' version range (learnt from shard 0's ApiVersions at start), so the front never advertises more than the
 * shards serve. ApiVersions, SaslHandshake and SaslAuthenticate are answered by the front itself (it terminates
 * SASL); everything else goes to shards:
 *
 * - by partition, split by owning shard and merged: Produce (one shard's as the client's frame; acks=0 too, asked of the shards with acks=1 so that a failure closes the client's connection), Fetch (./front-fetch.ts), ListOffsets,
 *   DeleteRecords, OffsetForLeaderEpoch, DescribeProducers; DescribeLogDirs (every shard, or the owners of the
 *   partitions named, merged by log dir);
 * - by group id to the group's coordinator shard: OffsetCommit, OffsetFetch, JoinGroup, Heartbeat, LeaveGroup,
 *   SyncGroup, TxnOffsetCommit, OffsetDelete, ConsumerGroupHeartbeat, and split by coordinator where a request names
 *   several groups (OffsetFetch v8+, DescribeGroups, DeleteGroups, ConsumerGroupDescribe);
 * - by transactional id to the transaction coordinator shard: InitProducerId (with an id; without one: home),
 *   AddPartitionsToTxn (split when it names several), AddOffsetsToTxn, EndTxn, DescribeTransactions (split);
 * - to every shard, answers concatenated: ListGroups, ListTransactions;
 * - to the home shard (shard 0; a shard's own front: its shard), which sees the node's whole metadata: Metadata,
 *   CreateTopics, DeleteTopics, CreatePartitions,
 *   FindCoordinator, DescribeCluster, DescribeTopicPartitions, configs, ACLs, client quotas, SCRAM credentials,
 *   ElectLeaders, partition reassignments. A BROKER (or BROKER_LOGGER) config resource named by the node's id is
 *   home's when described and every shard's when altered; a replica assignment naming the node's id names home
 *   in CreateTopics (which then places as without one), and in CreatePartitions and AlterPartitionReassignments the
 *   shard that holds, or by placement will hold, the partition.
 *
 * - WriteTxnMarkers from a client (Kafka's `Admin.abortTransaction`, `kafka-transactions abort`, sends it to the
 *   partition's leader; the shards' own coordinators send theirs to each other directly): each marker split by the
 *   shards owning its partitions, the answers put back under their markers.
 *
 * Every answer naming brokers is rewritten to name the node (./node-rewrite.ts).
 */
import type { ApiHandler, RequestContext } from "../../broker/api-handler.ts";
import { CloseConnection, NO_RESPONSE } from "../../broker/api-handler.ts";
import type { ProduceRequest, ProduceResponse } from "../../protocol/generated/00_produce.ts";
import type { ListOffsetsRequest, ListOffsetsResponse } from "../../protocol/generated/02_list_offsets.ts";
import { namedKey, namedOnce } from "../../broker/apis/02_list_offsets.ts";
import { apiVersionsHandler } from "../../broker/apis/18_api_versions.ts";
import { saslHandshakeHandler } from "../../broker/apis/17_sasl_handshake.ts";
import { saslAuthenticateHandler } from "../../broker/apis/36_sasl_authenticate.ts";
import type { FetchSessionCache } from "../../broker/fetch-sessions.ts";
import type { ApiVersionsResponse } from "../../protocol/generated/18_api_versions.ts";
import type { DescribeLogDirsResponse, DescribeLogDirsResponseDescribeLogDirsResult } from "../../protocol/generated/35_describe_log_dirs.ts";
import type { WriteTxnMarkersRequest, WriteTxnMarkersResponse } from "../../protocol/generated/27_write_txn_markers.ts";
import { API_CODECS, ApiKey, requestHeaderVersion } from "../../protocol/generated/index.ts";
import { writeRequestHeader } from "../../protocol/generated/headers.ts";
import { Writer } from "../../protocol/wire.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { Buffer } from "node:buffer";
import type { SecuritySession } from "../../security/session.ts";
import { RUNNEL_VERSION } from "../../version.ts";
import { FrontClient } from "./front-client.ts";
import { muteFor } from "../../broker/apis/quota-throttled-handler.ts";
import type { Clock } from "../../platform/clock.ts";
import { ConnectionError } from "../../client/client-errors.ts";
import type { SegmentMaps } from "./segment-maps.ts";
import { PORT_CONNECTION_OWN_FRAME_MIN_BYTES, type PortBuffers } from "../../platform/port-connection.ts";
import { frontFetchHandler } from "./front-fetch.ts";
import type { FrontFetchQuota } from "./front-fetch-quota.ts";
import type { FrontIdentity, FrontShards, ShardApiVersions } from "./front-shards.ts";
import { rewriteDescribeCluster, rewriteDescribeTopicPartitions, rewriteFindCoordinator, rewriteListPartitionReassignments, rewriteMetadata, rewriteProduce, type NodeFace } from "./node-rewrite.ts";
import { PARTITION_SHAPES, type PartitionShape, mergeInRequestOrder, mergeTop, mergeTopics, soleOwner, splitTopics, splitTopicsByOwner, topicNameOf } from "./partition-split.ts";
import { CoordinatorKind, DEFAULT_SHARD, ShardRouting } from "./shard-routing.ts";
import { shardOf } from "../placement.ts";
import { rewriteProduceAcks } from "./produce-acks.ts";
import { wholeProduceRequestProblem, wholeRequestError } from "../../broker/produce-validation.ts";

/** What the front's handlers need. */
export interface FrontHandlerDeps {
  /** The node's shards. */
  readonly shards: FrontShards;
  /** How the node presents itself. */
  readonly identity: FrontIdentity;
  /** The front's fetch sessions (`max.incremental.fetch.session.cache.slots`). */
  readonly fetchSessions: FetchSessionCache;
  /** `fetch.max.bytes`. */
  readonly fetchMaxBytes: number;
  /** The front's maps of segment files, through which it reads Fetch records the shards name (null: it asks for the bytes). */
  readonly segmentMaps?: SegmentMaps | null;
  /** The front's frame buffers, shared by its listeners and its channels to the shards. */
  readonly frameBuffers?: PortBuffers;
  /** `consumer_byte_rate` charged at the front for what its Fetch answers carry (unset: the shards charge theirs). */
  readonly fetchQuota?: FrontFetchQuota;
  /** The front's clock: a shard's answer with a throttle time mutes the client's connection on it (unset: it does not). */
  readonly clock?: Clock;
  /** The shards' API versions (unset: each channel to a shard asks for them). */
  readonly shardVersions?: ShardApiVersions;
}

/** Serves one request at the front (the version range comes from the shards). */
type Route = (ctx: RequestContext, req: any, f: FrontRouter) => unknown;

/** Config resource types naming a broker (`resourceName` = its node id). */
const BROKER_RESOURCE_TYPES: ReadonlySet<number> = new Set([4, 8]);

/**
 * Scratch bytes of the writer that encodes the parts of split Produce requests ({@link FrontRouter.partFrame}): the
 * request header, the per-partition fields and record sets under `WRITER_ZERO_COPY_THRESHOLD` are written into it
 * (larger record sets go as chunks of their own); it grows when a part needs more, and each part is copied out
 * before the next is written.
 */
const PART_WRITER_SCRATCH_BYTES = 64 * 1024;

/** Per-client channels, routing and the node's face: what every route uses. */
export class FrontRouter {
  /** Partition and coordinator owners. */
  readonly routing: ShardRouting;
  private readonly clients = new Map<SecuritySession | string, FrontClient>();
  /** Client connections served so far (each counted at its first routed request). */
  servedClients = 0;
  /** Produce requests forwarded to their one shard as the client's frame (no decode and re-encode at the front). */
  producesForwarded = 0;
  /** Of those, acks=0 ones (sent with their `acks` rewritten to 1 in the frame). */
  producesAcks0Forwarded = 0;
  /** Of those, frames whose buffer could move to the shard's thread without a copy (nothing else in it). */
  produceFramesMoved = 0;
  /** Socket reads holding several forwarded frames whose buffer moved with the last of them (the others copied out first). */
  produceReadsMoved = 0;
  /** Parts of split Produce requests (and acks=0 ones) sent to their shard as frames in the front's buffers. */
  producePartsFramed = 0;
  /** Of those, parts for which no buffer had come back (a fresh one was allocated). */
  producePartBuffersFresh = 0;
  /** Encodes {@link FrontRouter.partFrame}s. */
  private readonly partWriter = new Writer(PART_WRITER_SCRATCH_BYTES);

  constructor(readonly deps: FrontHandlerDeps) {
    this.routing = new ShardRouting(deps.shards.metadata, deps.shards.count, deps.shards.home ?? DEFAULT_SHARD, deps.shards.clustered === true);
  }

  /** The channels of the request's client connection (created on its first request). */
  client(ctx: RequestContext): FrontClient {
    const key = ctx.session ?? ctx.remote;
    let c = this.clients.get(key);
    if (c === undefined) {
      const s = ctx.session;
      const clock = this.deps.clock;
      c = new FrontClient(this.deps.shards, {
        principal: s?.principal ?? "User:ANONYMOUS",
        listenerName: s?.listenerName ?? "",
        securityProtocol: s?.securityProtocol ?? "PLAINTEXT",
        remote: ctx.remote,
        clientId: ctx.header.clientId ?? null,
        fileSlices: (this.deps.segmentMaps ?? null) !== null,
        fetchQuotaAtFront: this.deps.fetchQuota !== undefined,
        produceCheckedAtFront: true,
      }, this.deps.frameBuffers, clock === undefined ? undefined : (c2, ms) => muteFor(c2, clock, ms), this.deps.shardVersions);
      this.clients.set(key, c);
      this.servedClients++;
    }
    return c;
  }

  /** A client connection closed: its shard channels close too. */
  connectionClosed(session: SecuritySession | undefined, remote: string): void {
    const key = session ?? remote;
    this.clients.get(key)?.close();
    this.clients.delete(key);
  }

  /** Client connections with open shard channels. */
  get clientCount(): number {
    return this.clients.size;
  }

  /** The node as the request's client sees it (the endpoint of the listener it came in on). */
  face(ctx: RequestContext): NodeFace {
    const id = this.deps.identity;
    return { nodeId: id.nodeId, rack: id.rack, ...id.endpoint(ctx.session?.listenerName ?? ""), clustered: this.deps.shards.clustered === true };
  }

  /** Sends the request unchanged to `shard`. */
  forward<T>(ctx: RequestContext, shard: number, req: unknown): Promise<T> {
    return this.client(ctx).send<T>(ctx, shard, req);
  }

  /** Sends `parts` (shard, request) and returns the answers in the same order. */
  fanOut<T>(ctx: RequestContext, parts: Iterable<[number, unknown]>): Promise<T[]> {
    const c = this.client(ctx);
    return Promise.all([...parts].map(([shard, body]) => c.send<T>(ctx, shard, body)));
  }

  /**
   * `part`, a Produce for `shard` cut from the request of `ctx`, as a request frame body (the client's header, then
   * `part`) copied into one of the front's frame buffers, which moves to the shard's thread and comes back when its
   * handler is done; null when it is too small for a message of its own, or `shard` is reached inside this thread.
   */
  partFrame(ctx: RequestContext, shard: number, part: ProduceRequest): Uint8Array | null {
    const buffers = this.deps.frameBuffers;
    if (buffers === undefined || shard === this.deps.shards.inThread) return null;
    let records = 0;
    for (const t of part.topicData) for (const p of t.partitionData) records += p.records?.length ?? 0;
    if (records < PORT_CONNECTION_OWN_FRAME_MIN_BYTES) return null;
    const w = this.partWriter;
    w.beginMessage();
    writeRequestHeader(w, requestHeaderVersion(ApiKey.Produce, ctx.apiVersion), ctx.header);
    API_CODECS[ApiKey.Produce]!.writeRequest(w, ctx.apiVersion, part);
    const n = w.length();
    const chunks = w.finish();
    let buf = buffers.take(n);
    if (buf === null) {
      this.producePartBuffersFresh++;
      buf = Buffer.allocUnsafeSlow(n).buffer as ArrayBuffer;
    }
    const body = new Uint8Array(buf, 0, n);
    let at = 0;
    for (const c of chunks) {
      body.set(c, at);
      at += c.length;
    }
    return body;
  }

  /** Every shard's id. */
  allShards(): number[] {
    return Array.from({ length: this.deps.shards.count }, (_, i) => i);
  }
}

/**
 * A Produce whose partitions are all one shard's goes to it as the client's frame, not decoded and re-encoded: its
 * record bytes are not copied at the front (over a port, a frame in a buffer of its own moves to the shard's thread
 * as it is). The shard's answer is rewritten like any. An acks=0 one goes with its `acks` rewritten to 1 in the frame
 * (the shard answers, so a failed partition closes the client's connection) and the client gets no answer. Null: the
 * channel cannot forward frames, or the frame's acks are not where they were read (nothing was sent).
 */
async function forwardProduce(ctx: RequestContext, shard: number, req: any, f: FrontRouter): Promise<unknown> {
  const frame = ctx.takeFrame!();
  const acks0 = req.acks === 0;
  // The split path re-encodes the request's views of a frame not sent (it is not given back).
  if (acks0 && !rewriteProduceAcks(frame.body, ctx.apiVersion, 0, 1)) return null;
  const sent = await f.client(ctx).forwardFrame<Record<string, any>>(ctx, shard, frame, false);
  if (sent === null) return null;
  f.producesForwarded++;
  if (acks0) f.producesAcks0Forwarded++;
  if (frame.movable) f.produceFramesMoved++;
  const res = sent.answer;
  // A pooled frame (never a movable one) goes back to the connection's free buffers only when the shard is done
  // with it: every partition answered without an error (a failed handler's off-loop work may still read it).
  if (res.responses.every((t: any) => t.partitionResponses.every((p: any) => p.errorCode === 0))) frame.release();
  if (acks0) return acks0Outcome([res as ProduceResponse]);
  return rewriteProduce(res as any, f.face(ctx));
}

/**
 * What the client of an acks=0 Produce gets once the shards answered its parts (asked with acks=1): nothing, or its
 * connection closed when a partition failed, as one broker does (the client has no response to read the error from).
 */
function acks0Outcome(answers: readonly ProduceResponse[]): unknown {
  for (const a of answers) {
    for (const t of a.responses) {
      const failed = t.partitionResponses.find((p) => p.errorCode !== 0);
      if (failed !== undefined) return new CloseConnection(`an acks=0 produce to ${t.name || "a topic id"} failed with error code ${failed.errorCode}`);
    }
  }
  return NO_RESPONSE;
}

/**
 * Sends `part`, a Produce for `shard` cut from the client's request, in a frame buffer of the front's when it is large
 * ({@link FrontRouter.partFrame}: one copy into recycled memory, moved to the shard's thread and given back), else
 * encoded with the rest of its turn.
 */
async function sendProducePart(ctx: RequestContext, shard: number, part: ProduceRequest, f: FrontRouter): Promise<ProduceResponse> {
  const body = f.partFrame(ctx, shard, part);
  if (body !== null) {
    const sent = await f.client(ctx).forwardFrame<ProduceResponse>(ctx, shard, { body, movable: true, release: () => {} }, false);
    if (sent !== null) {
      f.producePartsFramed++;
      // Copied into a frame slot rather than moved: the buffer is free again once the shard has answered.
      if (body.buffer.byteLength > 0) f.deps.frameBuffers?.give(body.buffer as ArrayBuffer);
      return sent.answer;
    }
  }
  return f.client(ctx).send<ProduceResponse>(ctx, shard, part);
}

/** A partition request split by owning shard; the answers merged. */
function byPartition(apiKey: number): Route {
  const shape = PARTITION_SHAPES[apiKey];
  return async (ctx, request, f) => {
    // A ListOffsets naming a partition twice: the shards get it once, and the front answers it INVALID_REQUEST, as
    // one broker does (src/broker/apis/02_list_offsets.ts).
    const once = apiKey === ApiKey.ListOffsets ? namedOnce(request as ListOffsetsRequest) : null;
    if (once === null) return splitByPartition(apiKey, shape, ctx, request, f);
    const res = (await splitByPartition(apiKey, shape, ctx, once.req, f)) as ListOffsetsResponse;
    for (const t of res.topics) {
      for (const p of t.partitions) {
        if (once.twice.has(namedKey(t.name, p.partitionIndex))) Object.assign(p, { errorCode: ErrorCode.INVALID_REQUEST, timestamp: -1n, offset: -1n, leaderEpoch: -1 });
      }
    }
    return res;
  };
}

/** {@link byPartition}'s split and merge of one request. */
async function splitByPartition(apiKey: number, shape: PartitionShape, ctx: RequestContext, req: any, f: FrontRouter): Promise<unknown> {
  // A request for one shard goes on as it came; only one spanning shards is split.
  const sole = soleOwner(req[shape.reqTopics], shape.reqParts, shape.reqIndex, f.routing);
  if (apiKey === ApiKey.Produce) {
    // what fails the whole request in one broker must fail it here, before it or its parts go to their shards,
    // which do not look again (`Connection.produceCheckedAtFront`): a part is not the request the client sent
    // (Kafka's first look stops at the first transactional batch; a corrupt header after it is its partition's error)
    const refused = wholeProduceRequestProblem(ctx.apiVersion, req as ProduceRequest, (td, index) => {
      const name = topicNameOf(td, f.routing);
      return name !== undefined && f.routing.hasPartition(name, index);
    });
    if (refused !== null) {
      const responses = wholeRequestError(req as ProduceRequest, refused.code, refused.message);
      return req.acks === 0 ? acks0Outcome([{ responses, throttleTimeMs: 0 }]) : rewriteProduce({ responses, throttleTimeMs: 0 } as any, f.face(ctx));
    }
  }
  if (apiKey === ApiKey.Produce && sole !== null && ctx.takeFrame !== undefined) {
    const forwarded = await forwardProduce(ctx, sole, req, f);
    if (forwarded !== null) return forwarded;
  }
  const { split, owners } = sole !== null ? { split: null, owners: [] } : splitTopicsByOwner(req[shape.reqTopics], shape.reqParts, shape.reqIndex, f.routing);
  const parts: [number, unknown][] = split === null ? [[sole!, req]] : [...split].map(([s, topics]) => [s, { ...req, [shape.reqTopics]: topics }]);
  if (apiKey === ApiKey.Produce && req.acks === 0) {
    // The shards are asked with acks=1 so that the front learns of a partition that failed: then it closes the
    // client's connection, as one broker does (the client has no response to read the error from either way).
    return acks0Outcome(await Promise.all(parts.map(([s, body]) => sendProducePart(ctx, s, { ...(body as ProduceRequest), acks: 1 }, f))));
  }
  const answers = apiKey === ApiKey.Produce ? await Promise.all(parts.map(([s, body]) => sendProducePart(ctx, s, body as ProduceRequest, f))) : await f.fanOut<Record<string, any>>(ctx, parts);
  const merged = mergeInRequestOrder(owners, parts.map(([s]) => s), answers as Record<string, any>[], shape.resTopics, shape.resParts);
  return apiKey === ApiKey.Produce ? rewriteProduce(merged as any, f.face(ctx)) : merged;
}

/**
 * A request keyed by group or transactional ids: to the one coordinator shard, or split by coordinator over the
 * request's list `reqList` (one item per key, in order) with the answers' `resList` items in the request's order.
 */
function byCoordinator(kind: CoordinatorKind, keys: (req: any) => (string | null | undefined)[], reqList: ((req: any) => string | null) | string | null, resList: string | null): Route {
  return async (ctx, req, f) => {
    const ks = keys(req);
    if (ks.length === 0 || ks.some((k) => typeof k !== "string")) return f.forward(ctx, f.routing.home, req);
    const shards = (ks as string[]).map((k) => f.routing.coordinator(kind, k));
    const list = typeof reqList === "function" ? reqList(req) : reqList;
    const distinct = [...new Set(shards)];
    if (distinct.length === 1 || list === null || resList === null) return f.forward(ctx, shards[0], req);
    const items: unknown[] = req[list];
    const answers = await f.fanOut<Record<string, any>>(ctx, distinct.map((s) => [s, { ...req, [list]: items.filter((_, i) => shards[i] === s) }]));
    return { ...mergeTop(answers), [resList]: inRequestOrder(shards, distinct, answers.map((a) => a[resList])) };
  };
}

/**
 * The answer items of a request split by shard, put back in the order of the request's items (`shards[i]`: the
 * shard of item i; `lists[k]`: the answer items of shard `distinct[k]`, one per item it was given, in order), as one
 * broker answers them. A shard that answered a different count keeps its items together, shard by shard.
 */
function inRequestOrder(shards: readonly number[], distinct: readonly number[], lists: readonly unknown[][]): unknown[] {
  const given = distinct.map((s) => shards.filter((x) => x === s).length);
  if (lists.some((l, k) => l.length !== given[k])) return lists.flat();
  const next = distinct.map(() => 0);
  return shards.map((s) => {
    const k = distinct.indexOf(s);
    return lists[k][next[k]++];
  });
}

/** A request every shard answers for its own share: the lists `lists` concatenated. */
function everyShard(list: string): Route {
  return async (ctx, req, f) => {
    const answers = await f.fanOut<Record<string, any>>(ctx, f.allShards().map((s) => [s, req]));
    return { ...mergeTop(answers), [list]: answers.flatMap((a) => a[list]) };
  };
}

/** To the home shard, the answer rewritten by `rewrite`. */
function toDefault(rewrite?: (res: any, face: NodeFace) => unknown): Route {
  return async (ctx, req, f) => {
    const res = await f.forward(ctx, f.routing.home, req);
    return rewrite === undefined ? res : rewrite(res, f.face(ctx));
  };
}

/** DescribeLogDirs: every shard (or the owners of the partitions named), topics merged per log dir. */
const describeLogDirs: Route = async (ctx, req, f) => {
  const parts: [number, unknown][] = req.topics === null ? f.allShards().map((s) => [s, req]) : [...splitTopics(req.topics, "partitions", null, f.routing)].map(([s, topics]) => [s, { ...req, topics }]);
  if (parts.length === 0) parts.push([f.routing.home, req]);
  const answers = await f.fanOut<DescribeLogDirsResponse>(ctx, parts);
  const dirs = new Map<string, DescribeLogDirsResponseDescribeLogDirsResult>();
  for (const a of answers) {
    for (const d of a.results) {
      const same = dirs.get(d.logDir);
      if (same === undefined) dirs.set(d.logDir, { ...d, topics: d.topics.map((t) => ({ ...t, partitions: [...t.partitions] })) });
      else {
        if (same.errorCode === 0) same.errorCode = d.errorCode;
        for (const t of d.topics) {
          const st = same.topics.find((x) => x.name === t.name);
          if (st === undefined) same.topics.push({ ...t, partitions: [...t.partitions] });
          else st.partitions.push(...t.partitions);
        }
      }
    }
  }
  return { ...mergeTop(answers), results: [...dirs.values()] };
};

/** Renames broker resources named `from` to `to` in a configs request or answer list. */
function renameBrokers<T extends { resourceType: number; resourceName: string }>(list: readonly T[], from: string, to: string): T[] {
  return list.map((r) => (BROKER_RESOURCE_TYPES.has(r.resourceType) && r.resourceName === from ? { ...r, resourceName: to } : r));
}

/**
 * DescribeConfigs: the home shard describes, the node's broker resources asked of it as its own (a clustered node's
 * shards run with the node's id: nothing to rename).
 */
const describeConfigs: Route = async (ctx, req, f) => {
  if (f.deps.shards.clustered === true) return f.forward(ctx, f.routing.home, req);
  const self = String(f.deps.identity.nodeId);
  const res = await f.forward<{ results: { resourceType: number; resourceName: string }[] }>(ctx, f.routing.home, { ...req, resources: renameBrokers(req.resources, self, String(f.routing.home)) });
  return { ...res, results: renameBrokers(res.results, String(f.routing.home), self) };
};

/**
 * AlterConfigs / IncrementalAlterConfigs: as the home shard's answer; a change to the node's broker resource goes to
 * every shard (a clustered node's: to the home shard, whose write to etcd every shard's broker applies as its own).
 */
const alterConfigs: Route = async (ctx, req, f) => {
  if (f.deps.shards.clustered === true) return f.forward(ctx, f.routing.home, req);
  const self = String(f.deps.identity.nodeId);
  const own = req.resources.filter((r: { resourceType: number; resourceName: string }) => BROKER_RESOURCE_TYPES.has(r.resourceType) && r.resourceName === self);
  const others = f.allShards().filter((s) => s !== f.routing.home && own.length > 0);
  const [res] = await f.fanOut<{ responses: { resourceType: number; resourceName: string }[] }>(ctx, [
    [f.routing.home, { ...req, resources: renameBrokers(req.resources, self, String(f.routing.home)) }],
    ...others.map((s): [number, unknown] => [s, { ...req, resources: renameBrokers(own, self, String(s)) }]),
  ]);
  return { ...res, responses: renameBrokers(res.responses, String(f.routing.home), self) };
};

/** A replica list as the shards read it: the node's id becomes `owner`, the shard holding (or to hold) the partition. */
function replicasForShards(ids: readonly number[], nodeId: number, owner: number): number[] {
  return ids.map((id) => (id === nodeId ? owner : id));
}

/** The replica-naming requests of a clustered node go on unchanged: its shards take the cluster's broker ids. */
function forwardedAsIs(route: Route): Route {
  return (ctx, req, f) => (f.deps.shards.clustered === true ? f.forward(ctx, f.routing.home, req) : route(ctx, req, f));
}

/**
 * CreateTopics: a manual assignment naming the node names the home shard, which takes one naming only itself as a plain
 * partition count (a single node's rule) and places the partitions on their shards.
 */
const createTopics: Route = forwardedAsIs((ctx, req, f) => {
  const { nodeId } = f.deps.identity;
  const topics = req.topics.map((t: any) => ({ ...t, assignments: t.assignments.map((a: any) => ({ ...a, brokerIds: replicasForShards(a.brokerIds, nodeId, f.routing.home) })) }));
  return f.forward(ctx, f.routing.home, { ...req, topics });
});

/** CreatePartitions: manual assignments naming the node name the shard placement gives each new partition. */
const createPartitions: Route = forwardedAsIs((ctx, req, f) => {
  const { nodeId } = f.deps.identity;
  const topics = req.topics.map((t: any) => {
    const existing = f.deps.shards.metadata.topic(t.name)?.partitions ?? 0;
    return t.assignments === null ? t : { ...t, assignments: t.assignments.map((a: any, i: number) => ({ ...a, brokerIds: replicasForShards(a.brokerIds, nodeId, shardOf(t.name, existing + i, f.deps.shards.count)) })) };
  });
  return f.forward(ctx, f.routing.home, { ...req, topics });
});

/** AlterPartitionReassignments: a target naming the node names the partition's shard (the node's only replica). */
const alterPartitionReassignments: Route = forwardedAsIs((ctx, req, f) => {
  const { nodeId } = f.deps.identity;
  const topics = req.topics.map((t: any) => ({ ...t, partitions: t.partitions.map((p: any) => (p.replicas === null ? p : { ...p, replicas: replicasForShards(p.replicas, nodeId, f.routing.partitionOwner(t.name, p.partitionIndex)) })) }));
  return f.forward(ctx, f.routing.home, { ...req, topics });
});

/** WriteTxnMarkers: each marker's partitions to their owners; every marker answered with all of its partitions. */
const writeTxnMarkers: Route = async (ctx, req: WriteTxnMarkersRequest, f) => {
  const parts = new Map<number, { markers: WriteTxnMarkersRequest["markers"]; from: number[] }>();
  req.markers.forEach((m, i) => {
    for (const [shard, topics] of splitTopics(m.topics, "partitionIndexes", null, f.routing)) {
      let part = parts.get(shard);
      if (part === undefined) parts.set(shard, (part = { markers: [], from: [] }));
      part.markers.push({ ...m, topics });
      part.from.push(i);
    }
  });
  const shards = [...parts];
  const answers = await f.fanOut<WriteTxnMarkersResponse>(ctx, shards.map(([s, p]) => [s, { ...req, markers: p.markers }]));
  const byMarker: WriteTxnMarkersResponse["markers"][] = req.markers.map(() => []);
  answers.forEach((a, k) => a.markers.forEach((r, j) => byMarker[shards[k][1].from[j]].push(r)));
  return { markers: byMarker.map((rs, i) => (rs.length === 0 ? { producerId: req.markers[i].producerId, topics: [] } : mergeTopics(rs, "topics", "partitions"))) };
};

const groupIds = (req: any) => [req.groupId];
const txnIds = (req: any) => [req.transactionalId];

/** How the front routes each API it serves (see the file comment). */
const ROUTES: ReadonlyMap<number, Route> = new Map<number, Route>([
  [ApiKey.Produce, byPartition(ApiKey.Produce)],
  [ApiKey.ListOffsets, byPartition(ApiKey.ListOffsets)],
  [ApiKey.DeleteRecords, byPartition(ApiKey.DeleteRecords)],
  [ApiKey.OffsetForLeaderEpoch, byPartition(ApiKey.OffsetForLeaderEpoch)],
  [ApiKey.DescribeProducers, byPartition(ApiKey.DescribeProducers)],
  [ApiKey.DescribeLogDirs, describeLogDirs],
  [ApiKey.WriteTxnMarkers, writeTxnMarkers],
  [ApiKey.OffsetCommit, byCoordinator(CoordinatorKind.Group, groupIds, null, null)],
  [ApiKey.OffsetFetch, byCoordinator(CoordinatorKind.Group, (r) => (r.groups?.length > 0 ? r.groups.map((g: any) => g.groupId) : [r.groupId]), (r) => (r.groups?.length > 0 ? "groups" : null), "groups")],
  [ApiKey.JoinGroup, byCoordinator(CoordinatorKind.Group, groupIds, null, null)],
  [ApiKey.Heartbeat, byCoordinator(CoordinatorKind.Group, groupIds, null, null)],
  [ApiKey.LeaveGroup, byCoordinator(CoordinatorKind.Group, groupIds, null, null)],
  [ApiKey.SyncGroup, byCoordinator(CoordinatorKind.Group, groupIds, null, null)],
  [ApiKey.DescribeGroups, byCoordinator(CoordinatorKind.Group, (r) => r.groups, "groups", "groups")],
  [ApiKey.DeleteGroups, byCoordinator(CoordinatorKind.Group, (r) => r.groupsNames, "groupsNames", "results")],
  [ApiKey.TxnOffsetCommit, byCoordinator(CoordinatorKind.Group, groupIds, null, null)],
  [ApiKey.OffsetDelete, byCoordinator(CoordinatorKind.Group, groupIds, null, null)],
  [ApiKey.ConsumerGroupHeartbeat, byCoordinator(CoordinatorKind.Group, groupIds, null, null)],
  [ApiKey.ConsumerGroupDescribe, byCoordinator(CoordinatorKind.Group, (r) => r.groupIds, "groupIds", "groups")],
  [ApiKey.ListGroups, everyShard("groups")],
  [ApiKey.InitProducerId, byCoordinator(CoordinatorKind.Transaction, (r) => (r.transactionalId === null ? [] : [r.transactionalId]), null, null)],
  [ApiKey.AddPartitionsToTxn, byCoordinator(CoordinatorKind.Transaction, (r) => (r.transactions?.length > 0 ? r.transactions.map((t: any) => t.transactionalId) : [r.v3AndBelowTransactionalId]), (r) => (r.transactions?.length > 0 ? "transactions" : null), "resultsByTransaction")],
  [ApiKey.AddOffsetsToTxn, byCoordinator(CoordinatorKind.Transaction, txnIds, null, null)],
  [ApiKey.EndTxn, byCoordinator(CoordinatorKind.Transaction, txnIds, null, null)],
  [ApiKey.DescribeTransactions, byCoordinator(CoordinatorKind.Transaction, (r) => r.transactionalIds, "transactionalIds", "transactionStates")],
  [ApiKey.ListTransactions, everyShard("transactionStates")],
  [ApiKey.Metadata, toDefault(rewriteMetadata)],
  [ApiKey.FindCoordinator, toDefault(rewriteFindCoordinator)],
  [ApiKey.DescribeCluster, toDefault(rewriteDescribeCluster)],
  [ApiKey.DescribeTopicPartitions, toDefault(rewriteDescribeTopicPartitions)],
  [ApiKey.ListPartitionReassignments, toDefault(rewriteListPartitionReassignments)],
  [ApiKey.DescribeConfigs, describeConfigs],
  [ApiKey.AlterConfigs, alterConfigs],
  [ApiKey.IncrementalAlterConfigs, alterConfigs],
  [ApiKey.CreateTopics, createTopics],
  [ApiKey.CreatePartitions, createPartitions],
  [ApiKey.AlterPartitionReassignments, alterPartitionReassignments],
  ...[ApiKey.DeleteTopics, ApiKey.ElectLeaders, ApiKey.DescribeAcls, ApiKey.CreateAcls, ApiKey.DeleteAcls, ApiKey.DescribeClientQuotas, ApiKey.AlterClientQuotas, ApiKey.DescribeUserScramCredentials, ApiKey.AlterUserScramCredentials].map((k): [number, Route] => [k, toDefault()]),
]);

/** APIs the front answers itself. */
const LOCAL_APIS: ReadonlySet<number> = new Set([ApiKey.ApiVersions, ApiKey.SaslHandshake, ApiKey.SaslAuthenticate]);

/** The API versions shard 0 serves (its ApiVersions answer). */
export async function shardApiVersions(shards: FrontShards): Promise<ApiVersionsResponse["apiKeys"]> {
  const ch = await shards.open(DEFAULT_SHARD, { principal: "User:ANONYMOUS", listenerName: "", securityProtocol: "PLAINTEXT", remote: "front", clientId: "runnel-front" });
  try {
    const res = await ch.request<ApiVersionsResponse>(ApiKey.ApiVersions, { clientSoftwareName: "runnel-front", clientSoftwareVersion: RUNNEL_VERSION }, { version: 3 });
    if (res.errorCode !== 0) throw new Error(`shard ${DEFAULT_SHARD} answered ApiVersions with error ${res.errorCode}`);
    return res.apiKeys;
  } finally {
    ch.close();
  }
}

/**
 * The front's handlers, indexed by API key: each API the shards serve (`served`, shard 0's ApiVersions keys) that
 * the front routes or answers, in the shards' versions.
 */
export function buildFrontHandlers(router: FrontRouter, served: ApiVersionsResponse["apiKeys"]): ApiHandler[] {
  const table: ApiHandler[] = [];
  const local: Record<number, ApiHandler> = {
    [ApiKey.ApiVersions]: apiVersionsHandler(() => table),
    [ApiKey.SaslHandshake]: saslHandshakeHandler(),
    [ApiKey.SaslAuthenticate]: saslAuthenticateHandler(),
  };
  for (const k of served) {
    if (LOCAL_APIS.has(k.apiKey)) {
      table[k.apiKey] = local[k.apiKey];
      continue;
    }
    // Produce advertises v0 beside the versions it serves (KAFKA-18659): its handler starts at v3.
    const minVersion = k.apiKey === ApiKey.Produce ? Math.max(k.minVersion, 3) : k.minVersion;
    const range = { apiKey: k.apiKey, minVersion, maxVersion: k.maxVersion, ...(minVersion !== k.minVersion ? { advertisedMinVersion: k.minVersion } : {}) };
    if (k.apiKey === ApiKey.Fetch) {
      table[k.apiKey] = quietOnceGone(router, frontFetchHandler({ routing: router.routing, sessions: router.deps.fetchSessions, fetchMaxBytes: router.deps.fetchMaxBytes, segmentMaps: router.deps.segmentMaps ?? null, client: (ctx) => router.client(ctx), face: (ctx) => router.face(ctx), quota: router.deps.fetchQuota }, minVersion, k.maxVersion));
      continue;
    }
    const route = ROUTES.get(k.apiKey);
    if (route === undefined) continue;
    table[k.apiKey] = quietOnceGone(router, { ...range, handle: (ctx, req) => route(ctx, req, router) as Promise<unknown> });
  }
  return table;
}

/**
 * `h`, except that a request whose client has gone and whose shard channel then closed (the shard stopping with the
 * node, as a broker closes its connections first) ends without an answer instead of failing: nobody is left to
 * answer, and nothing went wrong (one broker has no such second connection to lose).
 */
function quietOnceGone(router: FrontRouter, h: ApiHandler): ApiHandler {
  return {
    ...h,
    handle(ctx, req) {
      const client = router.client(ctx);
      return Promise.resolve(h.handle(ctx, req)).catch((e: unknown) => {
        if (e instanceof ConnectionError && client.clientGone) return NO_RESPONSE;
        throw e;
      });
    },
  };
}
