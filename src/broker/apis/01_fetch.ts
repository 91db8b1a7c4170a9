/**
 * Fetch (key 1), versions 4-18. v4 isolation level and aborted transactions; v5 log start offset; v7 fetch
 * sessions (KIP-227); v9 current leader epoch; v11 rack / preferred read replica; v12 flexible, diverging epoch;
 * v13 topic ids; v15 replica state; v16 node endpoints; v17 replica directory id; v18 high watermark (tagged).
 *
 * Long polling: when fewer than `minBytes` are ready the request waits, up to `maxWaitMs`, for an append to any
 * partition it reads. Whole batches only; the first partition with data returns at least one batch even above the
 * byte limits (as Kafka does, so a large batch can never block a consumer). Records are views of the log files.
 *
 * Fetch sessions: Runnel serves sessionless fetches, which KIP-227 allows: a request for a new session
 * (id 0, epoch 0) gets session id 0 back, so clients keep sending full fetches; a request naming a session id we
 * never issued gets FETCH_SESSION_ID_NOT_FOUND.
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
import { uuidHex } from "../uuid.ts";
import { OffsetOutOfRangeError } from "../../storage/storage-errors.ts";

/** Upper bound on a long poll, whatever the client asks. */
export const MAX_FETCH_WAIT_MS = 30_000;

interface Wanted {
  topic: Topic | undefined;
  p: PartitionState | undefined;
  topicKey: string;
  partition: number;
  fetchOffset: bigint;
  maxBytes: number;
  currentLeaderEpoch: number;
}

/** Builds the Fetch handler. */
export function fetchHandler(b: Broker): ApiHandler<FetchRequest, FetchResponse> {
  return {
    apiKey: 1,
    minVersion: 4,
    maxVersion: 18,
    handle(ctx, req) {
      const v = ctx.apiVersion;
      const sessionId = req.sessionId ?? 0;
      if (sessionId !== 0) {
        return { throttleTimeMs: 0, errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] };
      }
      const wanted: Wanted[] = [];
      for (const t of req.topics) {
        const topic = v >= 13 ? b.topicsById.get(uuidHex(t.topicId!)) : b.topicsByName.get(t.topic!);
        for (const fp of t.partitions) {
          wanted.push({
            topic,
            p: topic?.partitions[fp.partition],
            topicKey: v >= 13 ? uuidHex(t.topicId!) : t.topic!,
            partition: fp.partition,
            fetchOffset: fp.fetchOffset,
            maxBytes: fp.partitionMaxBytes,
            currentLeaderEpoch: fp.currentLeaderEpoch ?? -1,
          });
        }
      }
      const maxBytes = Math.min(req.maxBytes ?? 0x7fffffff, b.config.num("fetch.max.bytes"));
      const readCommitted = (req.isolationLevel ?? 0) === 1;
      const first = readAll(b, req, wanted, maxBytes, readCommitted, v);
      const waitMs = Math.min(Math.max(req.maxWaitMs, 0), MAX_FETCH_WAIT_MS);
      if (first.bytes >= req.minBytes || waitMs === 0 || first.hasError || wanted.length === 0) return first.response;
      return new Promise<FetchResponse>((resolve) => {
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          b.clock.clearTimer(timer);
          for (const w of wanted) w.p?.waiters.delete(onData);
          resolve(readAll(b, req, wanted, maxBytes, readCommitted, v).response);
        };
        const onData = () => {
          if (done) return;
          const again = readAll(b, req, wanted, maxBytes, readCommitted, v);
          if (again.bytes >= req.minBytes || again.hasError) finish();
          else for (const w of wanted) w.p?.waiters.add(onData);
        };
        const timer = b.clock.setTimer(finish, waitMs);
        for (const w of wanted) w.p?.waiters.add(onData);
      });
    },
  };
}

function readAll(
  b: Broker,
  req: FetchRequest,
  wanted: Wanted[],
  maxBytes: number,
  readCommitted: boolean,
  v: number,
): { response: FetchResponse; bytes: number; hasError: boolean } {
  const byTopic = new Map<string, FetchResponseFetchableTopicResponse>();
  const responses: FetchResponseFetchableTopicResponse[] = [];
  let remaining = maxBytes;
  let total = 0;
  let hasError = false;
  for (const w of wanted) {
    let tr = byTopic.get(w.topicKey);
    if (tr === undefined) {
      tr = { topic: w.topic?.name ?? w.topicKey, topicId: w.topic?.id, partitions: [] };
      if (v >= 13 && w.topic === undefined) tr.topicId = req.topics.find((t) => uuidHex(t.topicId!) === w.topicKey)!.topicId;
      byTopic.set(w.topicKey, tr);
      responses.push(tr);
    }
    const pd: FetchResponsePartitionData = {
      partitionIndex: w.partition,
      errorCode: ErrorCode.NONE,
      highWatermark: -1n,
      lastStableOffset: -1n,
      logStartOffset: -1n,
      abortedTransactions: null,
      preferredReadReplica: -1,
      records: null,
    };
    tr.partitions.push(pd);
    const p = w.p;
    if (p === undefined) {
      pd.errorCode = v >= 13 && w.topic === undefined ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      hasError = true;
      continue;
    }
    const log = p.log;
    pd.highWatermark = log.highWatermark;
    pd.lastStableOffset = log.highWatermark;
    pd.logStartOffset = log.logStartOffset;
    if (w.currentLeaderEpoch >= 0 && w.currentLeaderEpoch !== p.leaderEpoch) {
      pd.errorCode = w.currentLeaderEpoch > p.leaderEpoch ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.FENCED_LEADER_EPOCH;
      hasError = true;
      continue;
    }
    if (readCommitted) pd.abortedTransactions = [];
    try {
      const limit = Math.min(w.maxBytes, remaining);
      const r = log.read(w.fetchOffset, Math.max(limit, 0), total === 0, log.highWatermark);
      if (r.bytes > 0) {
        pd.records = r.chunks.length === 1 ? r.chunks[0] : r.chunks;
        total += r.bytes;
        remaining -= r.bytes;
      } else {
        pd.records = new Uint8Array(0);
      }
    } catch (e) {
      pd.errorCode = e instanceof KafkaError ? e.code : ErrorCode.KAFKA_STORAGE_ERROR;
      if (!(e instanceof OffsetOutOfRangeError) && !(e instanceof KafkaError)) b.logger.error(`fetch from ${p.topic.name}-${p.index} failed: ${(e as Error).stack ?? e}`);
      hasError = true;
    }
  }
  return { response: { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses }, bytes: total, hasError };
}
