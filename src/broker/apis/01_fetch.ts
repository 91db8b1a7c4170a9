/**
 * Fetch (key 1), versions 4-18. v4 isolation level and aborted transactions; v5 log start offset; v7 fetch
 * sessions (KIP-227); v9 current leader epoch; v11 rack / preferred read replica; v12 flexible, diverging epoch;
 * v13 topic ids; v15 replica state; v16 node endpoints; v17 replica directory id; v18 high watermark (tagged).
 *
 * Long polling: when fewer than `minBytes` are ready the request waits, up to `maxWaitMs`, for an append to any
 * partition it reads. Whole batches only; the first partition with data returns at least one batch even above the
 * byte limits (as Kafka does, so a large batch can never block a consumer). Records are views of the log files.
 * A fetch parked when the broker stops is answered by the stop (NOT_LEADER_OR_FOLLOWER), not at its max wait.
 *
 * Sessions (src/broker/fetch-sessions.ts): id 0 / epoch -1 is a sessionless full fetch; epoch 0 opens a session
 * (full fetch), closing session N first when it names one; id N / epoch -1 closes session N (full fetch); id N /
 * epoch E > 0 is an incremental fetch that names only changed partitions and gets back only partitions with news.
 *
 * Replication: a fetch naming a replica (replica_id, or ReplicaState from v15) comes from a follower. The leader
 * answers it up to its log end (not the high watermark), takes its fetch offset as the follower's log end offset
 * (which moves the high watermark), and, when the follower's last fetched epoch ends earlier here, answers the
 * diverging epoch instead of records (v12+) so the follower truncates first. Only replicas of a partition this
 * broker leads may fetch so (NOT_LEADER_OR_FOLLOWER otherwise, and also, from v15, when ReplicaState's replica
 * epoch is older than the follower's current registration in the cluster metadata). Followers wait for appends, consumers for the
 * high watermark. Consumers fetch from the leader only (NOT_LEADER_OR_FOLLOWER elsewhere), unless `replica.selector.class`
 * is set (KIP-392): then the leader names a consumer's preferred read replica from its rack (v11+ rack_id) and a
 * follower serves consumers up to its high watermark.
 *
 * Transactions: every response carries the last stable offset (LSO: the high watermark, or the first offset of
 * the oldest open transaction if lower); isolation_level=1 (read_committed) reads only below it and gets the
 * aborted transactions overlapping the returned range, whose records the client drops.
 */
import type {
  FetchRequest,
  FetchResponse,
  FetchResponseFetchableTopicResponse,
  FetchResponsePartitionData,
} from "../../protocol/generated/01_fetch.ts";
import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker, PartitionState, Topic } from "../broker.ts";
import { uuidHex } from "../../protocol/uuid.ts";
import { countFetched } from "../../http/metrics/topic-traffic.ts";
import { applyFetchSession, fetchSessionFields, noteSent, partitionHasNews, unknownTopicIdError, type SessionPartition } from "../fetch-sessions.ts";

/** Upper bound on a long poll, whatever the client asks. */
export const MAX_FETCH_WAIT_MS = 30_000;

interface Wanted extends SessionPartition {
  topic: Topic | undefined;
  p: PartitionState | undefined;
  /** Epoch of the last batch the fetching follower has (v12+), or -1. */
  lastFetchedEpoch?: number;
  /** The fetching follower's log start offset (v5+), or -1 (DeleteRecords waits for it: the low watermark). */
  followerLogStartOffset?: bigint;
}

interface PartitionResult {
  w: Wanted;
  data: FetchResponsePartitionData;
  bytes: number;
  /**
   * Where Kafka places the partition in its answer: 0 for partitions it read (request or session order), then 1 for
   * unknown topic ids, then 2 for unknown topics and partitions (KafkaApis.handleFetchRequest's `erroneous`, added
   * after the partitions read).
   */
  rank: 0 | 1 | 2;
}

/** Builds the Fetch handler. */
export function fetchHandler(b: Broker): ApiHandler<FetchRequest, FetchResponse> {
  return {
    apiKey: 1,
    minVersion: 4,
    maxVersion: 18,
    handle(ctx, req) {
      const v = ctx.apiVersion;
      const useIds = v >= 13;
      // A follower's fetch (replication) names its broker: replica_id before v15, ReplicaState from v15.
      const replicaId = v >= 15 ? (req.replicaState?.replicaId ?? -1) : (req.replicaId ?? -1);
      // ...and from v15 the epoch of its registration, which the leader checks against the cluster metadata.
      const replicaEpoch = v >= 15 ? (req.replicaState?.replicaEpoch ?? -1n) : -1n;
      const resolve = (topicKey: string, name: string | undefined, id: Uint8Array | undefined) => {
        const topic = useIds ? b.topicsById.get(topicKey) : b.topicsByName.get(name!);
        return { topic, topicName: topic?.name ?? name ?? "", topicId: useIds ? id : topic?.id };
      };
      const fromRequest: Wanted[] = [];
      // A partition named twice is read once, at its first place with its last settings, as Kafka's
      // FetchRequest.fetchData (a LinkedHashMap by topic-partition) keeps it.
      const named = new Map<string, number>();
      for (const t of req.topics) {
        const topicKey = useIds ? uuidHex(t.topicId!) : t.topic!;
        const r = resolve(topicKey, t.topic, t.topicId);
        for (const fp of t.partitions) {
          const key = `${fp.partition}:${topicKey}`;
          const at = named.get(key);
          if (at === undefined) named.set(key, fromRequest.length);
          fromRequest[at ?? fromRequest.length] = {
            ...r,
            p: r.topic?.partitions[fp.partition],
            topicKey,
            partition: fp.partition,
            fetchOffset: fp.fetchOffset,
            maxBytes: fp.partitionMaxBytes,
            currentLeaderEpoch: fp.currentLeaderEpoch ?? -1,
            lastFetchedEpoch: fp.lastFetchedEpoch ?? -1,
            followerLogStartOffset: fp.logStartOffset ?? -1n,
            sentHighWatermark: -1n,
            sentLogStartOffset: -1n,
          };
        }
      }

      // Session handling (KIP-227).
      const applied = applyFetchSession(b.fetchSessions, fetchSessionFields(req, v, useIds, replicaId >= 0), useIds, fromRequest);
      if (typeof applied === "number") return { throttleTimeMs: 0, errorCode: applied, sessionId: 0, responses: [] };
      const { session, incremental, wanted } = applied;
      // Re-resolve every followed partition of an incremental fetch: topics may have been created or deleted since.
      if (incremental) {
        for (const w of wanted) {
          const r = resolve(w.topicKey, w.topicName, w.topicId);
          w.topic = r.topic;
          w.p = r.topic?.partitions[w.partition];
        }
      }

      const maxBytes = Math.min(req.maxBytes ?? 0x7fffffff, b.config.num("fetch.max.bytes"));
      const readCommitted = (req.isolationLevel ?? 0) === 1;
      const clientRack = replicaId < 0 && v >= 11 ? (req.rackId ?? "") : "";
      const respond = (results: PartitionResult[]): FetchResponse => {
        const m = b.metrics;
        if (m !== null) for (const r of results) if (r.bytes > 0) countFetched(m, r.w.topicName, r.bytes, r.data.records as Uint8Array | Uint8Array[]);
        if (replicaId >= 0) for (const r of results) if (r.bytes > 0) b.leaderThrottle.record(r.w.topicName, r.w.partition, r.bytes);
        if (replicaId < 0) {
          for (const r of results) {
            if (r.bytes === 0 || r.w.p === undefined || r.w.p.isLeader) continue;
            b.closestReplica.servedAsFollower(r.w.p, clientRack);
            if (m !== null) m.fetchFromFollowerBytes += r.bytes;
          }
        }
        return buildResponse(results, session?.id ?? 0);
      };
      const serve = (): FetchResponse | Promise<FetchResponse> => {
        const first = readAll(b, wanted, maxBytes, readCommitted, incremental, replicaId, replicaEpoch, clientRack);
        const waitMs = Math.min(Math.max(req.maxWaitMs, 0), MAX_FETCH_WAIT_MS);
        if (first.bytes >= req.minBytes || waitMs === 0 || first.hasError || wanted.length === 0) return respond(first.results);
        return new Promise<FetchResponse>((done) => {
          let finished = false;
          /** Answers with `results` when the wake already read them, else reads once now. */
          const finish = (results?: PartitionResult[]) => {
            if (finished) return;
            finished = true;
            if (b.metrics !== null) b.metrics.waitingFetches--;
            b.clock.clearTimer(timer);
            for (const w of wanted) w.p?.removeFetchWaiter(onData);
            done(respond(results ?? readAll(b, wanted, maxBytes, readCommitted, incremental, replicaId, replicaEpoch, clientRack).results));
          };
          // Parks on every partition read; a partition with its limit of parked fetches reached answers at once.
          const park = () => {
            for (const w of wanted) if (w.p !== undefined && !w.p.addFetchWaiter(onData)) return finish();
          };
          /**
           * Answers a wake-up; one from inside another request's handler (a Produce's append) notes its arrival
           * (`waker`: that arrival as read at the wake-up, for an answer sent later).
           */
          const finishWoken = (results?: PartitionResult[], waker = b.metrics?.runningRequestArrivedMs ?? -1) => {
            if (waker >= 0) ctx.wokenByArrivalMs = waker;
            finish(results);
          };
          let readQueued = false;
          const onData = () => {
            if (finished) return;
            // A consumer asking for one byte (every client's default) is answered as soon as an offset comparison
            // shows news, with a single read; nothing is read while nothing new is readable.
            if (replicaId < 0 && req.minBytes <= 1) {
              if (consumerMayHaveNews(wanted, ledAtStart, readCommitted)) finishWoken();
              else park();
              return;
            }
            // A follower's (or a min_bytes consumer's) read waits for the end of the waking request's synchronous
            // work: a Produce appending to several of the wanted partitions then wakes one answer carrying all of
            // them, not an answer with the first partition and another round for the rest.
            if (readQueued) return;
            readQueued = true;
            const waker = b.metrics?.runningRequestArrivedMs ?? -1;
            queueMicrotask(() => {
              readQueued = false;
              if (finished) return;
              const again = readAll(b, wanted, maxBytes, readCommitted, incremental, replicaId, replicaEpoch, clientRack);
              if (again.bytes >= req.minBytes || again.hasError) finishWoken(again.results, waker);
              else park();
            });
          };
          const ledAtStart = wanted.map((w) => w.p?.isLeader ?? false);
          if (b.metrics !== null) b.metrics.waitingFetches++; // fetch purgatory
          const timer = b.clock.setTimer(() => finish(), waitMs);
          park();
        });
      };
      // A segment whose index files are missing or corrupt gets them rebuilt step by step (loop turns between)
      // before the first read, so that the read itself never walks a whole segment on the loop.
      const rebuilding = indexRebuildsFor(wanted);
      return rebuilding === null ? serve() : rebuilding.then(serve);
    },
  };
}

/**
 * Whether a parked consumer fetch may have something to answer, by offsets alone: a partition's readable end (the
 * high watermark, or the last stable offset for read_committed) passed its fetch offset, its log start passed it
 * (out of range), or it is gone or its leadership here changed since the fetch came (`ledAtStart`, per wanted
 * partition): an error or a new answer.
 */
function consumerMayHaveNews(wanted: readonly Wanted[], ledAtStart: readonly boolean[], readCommitted: boolean): boolean {
  for (let i = 0; i < wanted.length; i++) {
    const p = wanted[i].p;
    const w = wanted[i];
    if (p === undefined || p.isRemoved || p.isClosed || p.isLeader !== ledAtStart[i]) return true;
    const end = readCommitted ? p.lastStableOffset : p.highWatermark;
    if (end > w.fetchOffset || p.log.logStartOffset > w.fetchOffset) return true;
  }
  return false;
}

/** Index rebuilds the first read of `wanted` would need (see PartitionLog.indexesReadyFor), or null if none. */
function indexRebuildsFor(wanted: readonly Wanted[]): Promise<unknown> | null {
  let pending: Promise<void>[] | null = null;
  for (const w of wanted) {
    const ready = w.p?.log.indexesReadyFor(w.fetchOffset) ?? null;
    if (ready !== null) (pending ??= []).push(ready);
  }
  return pending === null ? null : Promise.all(pending);
}

/** Reads every wanted partition; in an incremental session, keeps only partitions with news. */
function readAll(b: Broker, wanted: Wanted[], maxBytes: number, readCommitted: boolean, incremental: boolean, replicaId: number, replicaEpoch: bigint, clientRack: string): { results: PartitionResult[]; bytes: number; hasError: boolean } {
  const results: PartitionResult[] = [];
  let remaining = maxBytes;
  let total = 0;
  /** Something to answer at once: an error, or a preferred read replica. */
  let hasError = false;
  for (const w of wanted) {
    const data: FetchResponsePartitionData = {
      partitionIndex: w.partition,
      errorCode: ErrorCode.NONE,
      highWatermark: -1n,
      lastStableOffset: -1n,
      logStartOffset: -1n,
      abortedTransactions: null,
      preferredReadReplica: -1,
      // Empty, never null, even beside an error: librdkafka rejects the whole response on a null record set.
      records: EMPTY,
    };
    const r: PartitionResult = { w, data, bytes: 0, rank: 0 };
    results.push(r);
    const p = w.p;
    if (p === undefined) {
      data.errorCode = w.topicId !== undefined && w.topic === undefined ? unknownTopicIdError(w.topicName, (n) => b.topicsByName.get(n)?.partitions[w.partition] !== undefined) : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      data.abortedTransactions = [];
      r.rank = data.errorCode === ErrorCode.UNKNOWN_TOPIC_ID ? 1 : 2;
      hasError = true;
      continue;
    }
    // This partition's byte limit, as Kafka's readFromLocalLog: what the earlier partitions left of the request's
    // maxBytes (negative only for the first partition read, from a negative maxBytes), capped by its own.
    const limit = Math.min(w.maxBytes, remaining);
    remaining = Math.max(0, remaining);
    if (p.isRemoved || b.topicsByName.get(p.topic.name) !== p.topic) {
      // Deleted while this fetch waited (its partitions are being removed): an ordinary answer, not a storage failure.
      // Kafka answers UNKNOWN_TOPIC_OR_PARTITION here at every version, topic ids or not (the differential test checks).
      data.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      hasError = true;
      continue;
    }
    if (p.isClosed) {
      // The broker is stopping (its logs close next): as a produce waiting there, the client is sent elsewhere.
      data.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
      hasError = true;
      continue;
    }
    const log = p.log;
    const lastStableOffset = p.lastStableOffset;
    data.highWatermark = log.highWatermark;
    data.lastStableOffset = lastStableOffset;
    data.logStartOffset = log.logStartOffset;
    if (w.currentLeaderEpoch >= 0 && w.currentLeaderEpoch !== p.leaderEpoch) {
      data.errorCode = w.currentLeaderEpoch > p.leaderEpoch ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.FENCED_LEADER_EPOCH;
      // as Kafka (ReplicaManager.readFromLocalLog's failed read): no offsets beside the error
      data.highWatermark = -1n;
      data.lastStableOffset = -1n;
      data.logStartOffset = -1n;
      hasError = true;
      continue;
    }
    if (replicaId >= 0) {
      // A follower reads from the leader up to the log end, and its fetch offset tells the leader what it has.
      let diverging;
      try {
        diverging = p.acceptFollowerFetch(replicaId, w.fetchOffset, w.lastFetchedEpoch ?? -1, replicaEpoch, w.followerLogStartOffset ?? -1n);
      } catch (e) {
        if (!(e instanceof KafkaError)) throw e;
        data.errorCode = e.code;
        hasError = true;
        continue;
      }
      if (diverging !== null) {
        data.divergingEpoch = diverging;
        continue;
      }
      if (b.leaderThrottle.shouldThrottle(p.topic.name, p.index, p.isr.includes(replicaId))) {
        // leader.replication.throttled.rate reached: this out-of-sync follower gets no records of it for now
        data.highWatermark = log.highWatermark;
        continue;
      }
      data.highWatermark = log.highWatermark;
      data.lastStableOffset = p.lastStableOffset;
    } else if (!p.isLeader) {
      // Without replica.selector.class consumers read from the leader: a stale client learns to refresh its
      // metadata. With it (KIP-392) a follower serves them up to its high watermark.
      if (!b.closestReplica.servesAsFollower(p)) {
        data.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
        hasError = true;
        continue;
      }
      if (w.fetchOffset > log.logEndOffset) {
        // an offset this follower has not replicated yet: retriable (the consumer backs off), not out of range
        data.errorCode = ErrorCode.OFFSET_NOT_AVAILABLE;
        hasError = true;
        continue;
      }
    } else if (clientRack !== "") {
      // KIP-392: a consumer closer to another in-sync replica is told to read there (no records in this answer).
      const preferred = b.closestReplica.preferredReadReplica(p, clientRack, w.fetchOffset);
      if (preferred >= 0) {
        data.preferredReadReplica = preferred;
        hasError = true; // answered at once (no long poll), as Kafka does with a preferred read replica
        continue;
      }
    }
    if (replicaId < 0 && (w.lastFetchedEpoch ?? -1) >= 0) {
      // A consumer naming the epoch of its last batch (v12+) is checked as Kafka's Partition.readRecords checks any
      // fetcher: an epoch this log cannot place is out of range; one that ends before the fetch offset here (or a
      // later epoch than this log knows of it) is answered with the diverging epoch instead of records.
      const end = p.leaderEpochs.endOffsetFor(w.lastFetchedEpoch!, log.logEndOffset);
      if (end.epoch < 0 || end.endOffset < 0) {
        data.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
        data.highWatermark = -1n;
        data.lastStableOffset = -1n;
        data.logStartOffset = -1n;
        hasError = true;
        continue;
      }
      if (end.epoch < w.lastFetchedEpoch! || end.endOffset < w.fetchOffset) {
        data.divergingEpoch = end;
        hasError = true;
        continue;
      }
    }
    if (readCommitted) data.abortedTransactions = [];
    try {
      const upTo = replicaId >= 0 ? undefined : readCommitted ? lastStableOffset : log.highWatermark;
      if (limit < 0 && w.fetchOffset >= log.logStartOffset && w.fetchOffset < (upTo ?? log.logEndOffset)) {
        // Kafka's LogSegment.read refuses a negative size (IllegalArgumentException) once the read reaches a segment,
        // answered as UNKNOWN_SERVER_ERROR; out of range and nothing-to-read answers come first.
        throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `negative fetch size ${limit}`);
      }
      const got = log.read(w.fetchOffset, Math.max(limit, 0), total === 0, upTo);
      if (got.bytes > 0) {
        data.records = got.chunks.length === 1 ? got.chunks[0] : got.chunks;
        if (readCommitted) data.abortedTransactions = p.abortedTxns.collect(w.fetchOffset, got.nextOffset);
        r.bytes = got.bytes;
        total += got.bytes;
        remaining = Math.max(0, remaining - got.bytes);
      } else {
        data.records = EMPTY;
        // As Kafka: a first batch over a non-zero limit (past the first partition with records) is answered as no
        // read at all, without the aborted transactions list (ReplicaManager.readFromLog: firstEntryIncomplete).
        if (readCommitted && limit > 0 && total > 0 && w.fetchOffset < (upTo ?? log.logEndOffset)) data.abortedTransactions = null;
      }
    } catch (e) {
      data.errorCode = e instanceof KafkaError ? e.code : ErrorCode.KAFKA_STORAGE_ERROR;
      data.abortedTransactions = null;
      // As Kafka: a partition that failed reports no offsets.
      data.highWatermark = -1n;
      data.lastStableOffset = -1n;
      data.logStartOffset = -1n;
      if (!(e instanceof KafkaError)) b.logger.error(`fetch from ${p.topic.name}-${p.index} failed: ${(e as Error).stack ?? e}`);
      hasError = true;
    }
  }
  const kept = incremental ? results.filter((r) => partitionHasNews(r.w, r.data, r.bytes)) : results;
  return { results: kept, bytes: total, hasError };
}

const EMPTY = new Uint8Array(0);

/**
 * The answer: partitions in request (or session) order, a topic's consecutive partitions under one topic entry, as
 * Kafka's FetchResponse keeps "the order of input topic-partition" (a topic named again after another one gets a new
 * entry rather than its partitions moved up to its first); unknown topic ids and then unknown topics and partitions
 * after the partitions read, as Kafka adds them (see {@link PartitionResult.rank}).
 */
function buildResponse(results: PartitionResult[], sessionId: number): FetchResponse {
  const responses: FetchResponseFetchableTopicResponse[] = [];
  let tr: FetchResponseFetchableTopicResponse | undefined;
  let trKey = "";
  const ordered = results.some((r) => r.rank !== 0) ? [0, 1, 2].flatMap((rank) => results.filter((r) => r.rank === rank)) : results;
  for (const r of ordered) {
    if (tr === undefined || trKey !== r.w.topicKey) {
      tr = { topic: r.w.topicName, topicId: r.w.topicId, partitions: [] };
      trKey = r.w.topicKey;
      responses.push(tr);
    }
    tr.partitions.push(r.data);
    // Remember what the client now knows, so an incremental fetch reports only changes.
    noteSent(r.w, r.data);
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId, responses };
}
