/**
 * Fetch at the front. The front keeps the client's fetch session (KIP-227, the broker's {@link FetchSessionCache});
 * the shards get sessionless fetches naming exactly the partitions they lead.
 *
 * One shard involved: the request goes to it as the client sent it (its min bytes and max wait), on the client's
 * channel. Several: every shard is asked at once without waiting; when together they bring less than min bytes
 * and the client may wait, each shard is long-polled on its own short-lived channel and the front answers when the
 * first one brings data or an error (a shard answers early only then), closing the others, which ends their waits.
 * Record data passes from the shards' answers to the client's as views (the response encoder sends large payloads
 * as their own chunks): with the front's segment maps, the shards name where the records lie and the front views
 * its own map of each file (src/shard/front/segment-maps.ts), asking a shard again for the bytes of a partition
 * whose file it could not map as named; each partition's records are cut to the whole batches one broker would read
 * there (within its `partition_max_bytes` and what is left of `max_bytes`, the first batch of the first partition with
 * data past both), as a shard saw only its own partitions' share of the limits.
 */
import type { FetchRequest, FetchRequestFetchPartition, FetchRequestFetchTopic, FetchResponse, FetchResponseFetchableTopicResponse, FetchResponsePartitionData } from "../../protocol/generated/01_fetch.ts";
import type { ApiHandler, RequestContext } from "../../broker/api-handler.ts";
import { applyFetchSession, fetchSessionFields, noteSent, partitionHasNews, sessionPartitionKey, unknownTopicIdError, type FetchSessionCache, type SessionPartition } from "../../broker/fetch-sessions.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { uuidHex } from "../../protocol/uuid.ts";
import { recordsLength } from "../../protocol/wire.ts";
import type { BrokerChannel } from "../../client/connection.ts";
import type { ShardRouting } from "./shard-routing.ts";
import { SHARD_REQUEST_TIMEOUT_MS, type FrontClient } from "./front-client.ts";
import { rewriteFetch, type NodeFace } from "./node-rewrite.ts";
import { mergeTop } from "./partition-split.ts";
import { MAX_FETCH_WAIT_MS } from "../../broker/apis/01_fetch.ts";
import type { SegmentMaps } from "./segment-maps.ts";
import type { FrontFetchQuota } from "./front-fetch-quota.ts";
import { batchPrefix } from "./records-prefix.ts";

/** What the front's Fetch needs. */
export interface FrontFetchDeps {
  /** Partition owners. */
  readonly routing: ShardRouting;
  /** The front's fetch sessions. */
  readonly sessions: FetchSessionCache;
  /** `fetch.max.bytes`. */
  readonly fetchMaxBytes: number;
  /** The front's maps of segment files, through which it reads the records the shards name (null: answers carry bytes). */
  readonly segmentMaps: SegmentMaps | null;
  /** The channels of the request's client. */
  client(ctx: RequestContext): FrontClient;
  /** The node as the request's client sees it. */
  face(ctx: RequestContext): NodeFace;
  /** Charges `consumer_byte_rate` for the answers sent (unset: the shards charge their own answers). */
  readonly quota?: FrontFetchQuota;
}

/** A partition the fetch reads, with the client's own request entry for it (sent on to its shard as is). */
interface Wanted extends SessionPartition {
  source: FetchRequestFetchPartition;
}

const EMPTY = new Uint8Array(0);

/** Builds the front's Fetch handler serving `minVersion`-`maxVersion` (what the shards serve). */
export function frontFetchHandler(deps: FrontFetchDeps, minVersion: number, maxVersion: number): ApiHandler<FetchRequest, FetchResponse> {
  return {
    apiKey: 1,
    minVersion,
    maxVersion,
    async handle(ctx, req) {
      const v = ctx.apiVersion;
      const useIds = v >= 13;
      const fromRequest: Wanted[] = [];
      // A partition named twice is read once, at its first place with its last settings (as the broker's handler).
      const named = new Map<string, number>();
      for (const t of req.topics) {
        const topicKey = useIds ? uuidHex(t.topicId!) : t.topic!;
        const topicName = useIds ? (deps.routing.topicName(topicKey) ?? "") : t.topic!;
        for (const p of t.partitions) {
          const key = sessionPartitionKey(topicKey, p.partition);
          const at = named.get(key);
          if (at === undefined) named.set(key, fromRequest.length);
          fromRequest[at ?? fromRequest.length] = ({ topicKey, topicName, topicId: useIds ? t.topicId : undefined, partition: p.partition, fetchOffset: p.fetchOffset, maxBytes: p.partitionMaxBytes, currentLeaderEpoch: p.currentLeaderEpoch ?? -1, sentHighWatermark: -1n, sentLogStartOffset: -1n, source: p });
        }
      }
      const fromFollower = (v >= 15 ? (req.replicaState?.replicaId ?? -1) : (req.replicaId ?? -1)) >= 0;
      const opened = applyFetchSession(deps.sessions, fetchSessionFields(req, v, useIds, fromFollower), useIds, fromRequest);
      if (typeof opened === "number") return { throttleTimeMs: 0, errorCode: opened, sessionId: 0, responses: [] };
      const { session, incremental, wanted } = opened;
      const client = deps.client(ctx);
      const byShard = new Map<number, Wanted[]>();
      for (const w of wanted) {
        const shard = deps.routing.partitionOwner(w.topicName === "" ? undefined : w.topicName, w.partition);
        let list = byShard.get(shard);
        if (list === undefined) byShard.set(shard, (list = []));
        list.push(w);
      }
      const maxBytes = Math.min(req.maxBytes ?? 0x7fffffff, deps.fetchMaxBytes);
      const waitMs = Math.min(Math.max(req.maxWaitMs, 0), MAX_FETCH_WAIT_MS);
      const quota = (req.replicaState?.replicaId ?? req.replicaId ?? -1) >= 0 ? undefined : deps.quota;
      // Charged for what the client gets: not for records dropped past max_bytes, a long poll's first round or a failed slice.
      const respond = (answers: FetchResponse[]) => {
        const res = rewriteFetch(assemble(answers, wanted, incremental, maxBytes, session?.id ?? 0, useIds, (n, p) => deps.routing.hasPartition(n, p)), deps.face(ctx));
        return quota === undefined ? res : quota.charge(ctx, res);
      };
      // A negative max_bytes reaches only the first partition read (Kafka's readFromLocalLog then goes on with 0): the
      // shard that has it gets it, the others 0.
      const firstRead = req.maxBytes < 0 ? wanted.find((w) => w.topicName !== "" && deps.routing.hasPartition(w.topicName, w.partition)) : undefined;
      const firstShard = firstRead === undefined ? -1 : deps.routing.partitionOwner(firstRead.topicName, firstRead.partition);
      const subOf = (shard: number, ws: readonly Wanted[], wait: number) => {
        const sub = subFetch(req, v, ws, wait, req.minBytes);
        if (req.maxBytes < 0 && shard !== firstShard) sub.maxBytes = 0;
        return sub;
      };
      if (byShard.size === 0) return respond([]);
      if (byShard.size === 1) {
        const [[shard, ws]] = byShard;
        const sub = subOf(shard, ws, waitMs);
        return respond([await withRecords(deps.segmentMaps, ctx, client, shard, sub, await client.send<FetchResponse>(ctx, shard, sub, { timeoutMs: waitMs + SHARD_REQUEST_TIMEOUT_MS }))]);
      }
      const shards = [...byShard.keys()];
      const first = await Promise.all(shards.map(async (s) => {
        const sub = subOf(s, byShard.get(s)!, 0);
        return withRecords(deps.segmentMaps, ctx, client, s, sub, await client.send<FetchResponse>(ctx, s, sub));
      }));
      const news = first.reduce((n, a) => n + answerNews(a).bytes, 0);
      if (news >= req.minBytes || waitMs === 0 || first.some((a) => answerNews(a).error)) return respond(first);
      const polled = await longPoll(ctx, client, deps.segmentMaps, shards.map((s) => ({ shard: s, request: subOf(s, byShard.get(s)!, waitMs) })), waitMs);
      return respond([...first, ...polled]);
    },
  };
}

/** The sessionless fetch of `ws` for their shard, at the client's version, from the client's own entries. */
function subFetch(req: FetchRequest, v: number, ws: readonly Wanted[], maxWaitMs: number, minBytes: number): FetchRequest {
  const topics: FetchRequestFetchTopic[] = [];
  let last: FetchRequestFetchTopic | null = null;
  let lastKey = "";
  for (const w of ws) {
    if (last === null || lastKey !== w.topicKey) {
      last = v >= 13 ? { topicId: w.topicId, partitions: [] } : { topic: w.topicKey, partitions: [] };
      lastKey = w.topicKey;
      topics.push(last);
    }
    // A partition the session remembers is fetched from where the client last said, with its own byte limit.
    last.partitions.push({ ...w.source, fetchOffset: w.fetchOffset, partitionMaxBytes: w.maxBytes });
  }
  const sub: FetchRequest = { ...req, maxWaitMs, minBytes, topics };
  if (v >= 7) {
    sub.sessionId = 0;
    sub.sessionEpoch = -1;
    sub.forgottenTopicsData = [];
  }
  return sub;
}

/**
 * `a` (the answer of `shard` to `sent`) with every records value the shard gave in slice form read through the
 * front's maps; the partitions whose slices could not be read as named (a file deleted, compacted or replaced since
 * the answer) are fetched from `shard` again at once with their bytes, and their answers replace those entries.
 */
async function withRecords(maps: SegmentMaps | null, ctx: RequestContext, client: FrontClient, shard: number, sent: FetchRequest, a: FetchResponse): Promise<FetchResponse> {
  if (maps === null) return a;
  const useIds = ctx.apiVersion >= 13;
  const keyOf = (t: { topic?: string; topicId?: Uint8Array }, partition: number) => sessionPartitionKey(useIds ? uuidHex(t.topicId!) : t.topic!, partition);
  let redo: Set<string> | null = null;
  for (const t of a.responses) {
    for (const p of t.partitions) {
      const r = p.records;
      if (!(r instanceof Uint8Array) || r.length === 0) continue;
      const views = maps.resolve(r);
      if (views !== null) p.records = views.length === 1 ? views[0] : views;
      else (redo ??= new Set()).add(keyOf(t, p.partitionIndex));
    }
  }
  if (redo === null) return a;
  const topics: FetchRequestFetchTopic[] = [];
  for (const t of sent.topics) {
    const partitions = t.partitions.filter((p) => redo.has(keyOf(t, p.partition)));
    if (partitions.length > 0) topics.push({ ...t, partitions });
  }
  const again = await client.send<FetchResponse>(ctx, shard, { ...sent, maxWaitMs: 0, minBytes: 0, topics }, {}, true);
  const fresh = new Map<string, FetchResponsePartitionData>();
  for (const t of again.responses) for (const p of t.partitions) fresh.set(keyOf(t, p.partitionIndex), p);
  for (const t of a.responses) {
    t.partitions = t.partitions.map((p) => {
      const key = keyOf(t, p.partitionIndex);
      if (!redo.has(key)) return p;
      // The shard's second answer for it; if it had none (a top-level error), the partition reports that error.
      return fresh.get(key) ?? { ...p, errorCode: again.errorCode || ErrorCode.UNKNOWN_SERVER_ERROR, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n, abortedTransactions: null, records: EMPTY };
    });
  }
  return a;
}

/** Record bytes in a shard's answer and whether it carries an error (then the fetch is answered at once). */
function answerNews(a: FetchResponse): { bytes: number; error: boolean } {
  let bytes = 0;
  let error = (a.errorCode ?? 0) !== 0;
  for (const t of a.responses) {
    for (const p of t.partitions) {
      bytes += recordsLength(p.records);
      if (p.errorCode !== 0) error = true;
    }
  }
  return { bytes, error };
}

/**
 * Long-polls every shard on its own channel; resolves with the first answer that brings data or an error (closing
 * the other channels ends their waits), or with all answers once every shard's wait ended empty.
 */
async function longPoll(ctx: RequestContext, client: FrontClient, maps: SegmentMaps | null, polls: { shard: number; request: FetchRequest }[], waitMs: number): Promise<FetchResponse[]> {
  const channels: BrokerChannel[] = [];
  try {
    for (const p of polls) channels.push(await client.openExtra(p.shard));
    return await new Promise<FetchResponse[]>((resolve, reject) => {
      const answers: FetchResponse[] = [];
      let settled = false;
      polls.forEach((p, i) => {
        client.sendOn<FetchResponse>(ctx, channels[i], p.request, { timeoutMs: waitMs + SHARD_REQUEST_TIMEOUT_MS }).then((a) => withRecords(maps, ctx, client, p.shard, p.request, a)).then((a) => {
          if (settled) return;
          answers.push(a);
          const n = answerNews(a);
          if (n.bytes > 0 || n.error || answers.length === polls.length) {
            settled = true;
            resolve(answers);
          }
        }, (e) => {
          if (settled) return;
          settled = true;
          reject(e);
        });
      });
    });
  } finally {
    for (const c of channels) c.close();
  }
}

/**
 * The client's answer from the shards' answers (a later answer for a partition replaces an earlier one): partitions
 * in session order, only those with news when incremental, records kept within `maxBytes` after the first;
 * `partitionExists` tells whether a partition is there by name (for a session partition whose topic id is gone).
 */
function assemble(answers: readonly FetchResponse[], wanted: readonly Wanted[], incremental: boolean, maxBytes: number, sessionId: number, useIds: boolean, partitionExists: (name: string, partition: number) => boolean): FetchResponse {
  const top = answers.length === 0 ? { throttleTimeMs: 0 } : mergeTop(answers);
  const failed = answers.find((a) => (a.errorCode ?? 0) !== 0);
  if (failed !== undefined) return { throttleTimeMs: top.throttleTimeMs, errorCode: failed.errorCode, sessionId: 0, responses: [] };
  const got = new Map<string, FetchResponsePartitionData>();
  let endpoints: FetchResponse["nodeEndpoints"];
  for (const a of answers) {
    if (a.nodeEndpoints !== undefined && a.nodeEndpoints.length > 0) endpoints = a.nodeEndpoints;
    for (const t of a.responses) {
      const key = useIds ? uuidHex(t.topicId!) : t.topic!;
      for (const p of t.partitions) got.set(sessionPartitionKey(key, p.partitionIndex), p);
    }
  }
  const responses: FetchResponseFetchableTopicResponse[] = [];
  let last: FetchResponseFetchableTopicResponse | null = null;
  let lastKey = "";
  let total = 0;
  // Partitions read first, then unknown topic ids, then unknown topics and partitions, as Kafka's answer (and the
  // broker's handler, src/broker/apis/01_fetch.ts) places them.
  const ranked: [Wanted[], Wanted[], Wanted[]] = [[], [], []];
  for (const w of wanted) {
    const code = got.get(sessionPartitionKey(w.topicKey, w.partition))?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    ranked[code === ErrorCode.UNKNOWN_TOPIC_ID ? 1 : code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION ? 2 : 0].push(w);
  }
  for (const w of ranked[1].length + ranked[2].length === 0 ? wanted : ranked.flat()) {
    let data = got.get(sessionPartitionKey(w.topicKey, w.partition));
    if (data === undefined) {
      data = { partitionIndex: w.partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n, abortedTransactions: [], preferredReadReplica: -1, records: EMPTY };
    }
    if (data.errorCode === ErrorCode.UNKNOWN_TOPIC_ID && w.topicName !== "") {
      // a session partition whose id is gone: the shard saw an unknown id, the session knows the name it had
      data = { ...data, errorCode: unknownTopicIdError(w.topicName, (n) => partitionExists(n, w.partition)) };
    }
    // What one broker reads here: whole batches within the partition's max bytes and what is left of the
    // request's (its first batch past both when no partition before brought any), where a shard, which saw only
    // its own partitions, may have read more. A first batch over a non-zero limit leaves no aborted transactions
    // list (null), as the broker's handler answers it.
    let bytes = recordsLength(data.records);
    const limit = Math.max(Math.min(w.maxBytes, maxBytes - total), 0);
    if (bytes > limit) {
      const cut = batchPrefix(data.records, limit, total === 0);
      if (cut.bytes < bytes) {
        const aborted = data.abortedTransactions;
        data = { ...data, records: cut.records, abortedTransactions: aborted === null ? null : cut.bytes === 0 ? (limit > 0 ? null : []) : aborted.filter((a) => a.firstOffset < cut.next) };
        bytes = cut.bytes;
      }
    }
    if (incremental && !partitionHasNews(w, data, bytes)) continue;
    total += bytes;
    if (last === null || lastKey !== w.topicKey) {
      last = { topic: w.topicName, topicId: w.topicId, partitions: [] };
      lastKey = w.topicKey;
      responses.push(last);
    }
    last.partitions.push(data);
    noteSent(w, data);
  }
  const res: FetchResponse = { throttleTimeMs: top.throttleTimeMs, errorCode: ErrorCode.NONE, sessionId, responses };
  if (endpoints !== undefined) res.nodeEndpoints = endpoints;
  return res;
}
