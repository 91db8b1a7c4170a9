/**
 * ListOffsets (key 2), versions 1-11. Timestamp -2 earliest, -1 latest, -3 max timestamp (v7), -4 earliest local
 * (v8), -5 latest tiered (v9; no tiered storage, so as -4 for earliest-local and Kafka's answer for tiered), and any
 * other value: the first offset whose record timestamp is >= it; a special timestamp below its version, or an unknown
 * negative one, is UNSUPPORTED_VERSION (as Kafka). v2 isolation level (read_committed: latest is the
 * last stable offset, and a timestamp lookup finds only offsets below it); v4 leader epoch; v6 flexible;
 * v10 timeout.
 *
 * Leader epoch (v4+), as Kafka's UnifiedLog.fetchOffsetByTimestamp: an offset found by timestamp or MAX_TIMESTAMP
 * answers the epoch of the batch that holds it (the batch header's partition leader epoch), EARLIEST and
 * EARLIEST_LOCAL the log start's (the oldest epoch cached), LATEST the current epoch, and no offset no epoch (-1).
 *
 * Leadership (as Kafka): a consumer's request (replica_id -1) and a follower's (>= 0) are answered by the partition's
 * leader only, NOT_LEADER_OR_FOLLOWER elsewhere; a debugging request (-2) by any broker holding a replica. Only a
 * consumer's request honours the isolation level; the others see up to the log end offset. A current_leader_epoch
 * that differs from this broker's is checked first: FENCED_LEADER_EPOCH when older, UNKNOWN_LEADER_EPOCH when newer.
 */
import type { ListOffsetsRequest, ListOffsetsResponse, ListOffsetsResponseListOffsetsPartitionResponse } from "../../protocol/generated/02_list_offsets.ts";
import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import type { ApiHandler, RequestContext } from "../api-handler.ts";
import type { Broker } from "../broker.ts";

/** ListOffsets special timestamps. */
export const ListOffsetsTimestamp = {
  LATEST: -1n,
  EARLIEST: -2n,
  MAX_TIMESTAMP: -3n,
  EARLIEST_LOCAL: -4n,
  LATEST_TIERED: -5n,
  EARLIEST_PENDING_UPLOAD: -6n,
} as const;

/** The first version that may ask for each special timestamp (Kafka's ReplicaManager); others are UNSUPPORTED_VERSION. */
const SPECIAL_TIMESTAMP_MIN_VERSION = new Map<bigint, number>([
  [ListOffsetsTimestamp.EARLIEST, 1],
  [ListOffsetsTimestamp.LATEST, 1],
  [ListOffsetsTimestamp.MAX_TIMESTAMP, 7],
  [ListOffsetsTimestamp.EARLIEST_LOCAL, 8],
  [ListOffsetsTimestamp.LATEST_TIERED, 9],
  [ListOffsetsTimestamp.EARLIEST_PENDING_UPLOAD, 11],
]);

/** ListOffsets replica ids that are not brokers: a consumer (leader only) and a debugging tool (any replica). */
export const ListOffsetsReplicaId = { CONSUMER: -1, DEBUGGING: -2 } as const;

/** Builds the ListOffsets handler. */
export function listOffsetsHandler(b: Broker): ApiHandler<ListOffsetsRequest, ListOffsetsResponse> {
  return {
    apiKey: 2,
    minVersion: 1,
    maxVersion: 11,
    handle(ctx, req) {
      // Timestamp lookups walk time and offset indexes: a segment whose index files are missing or corrupt gets them
      // rebuilt step by step (loop turns between) first, so the lookup never walks a whole segment on the loop.
      const rebuilding = timestampIndexRebuildsFor(b, req);
      return rebuilding === null ? answer(ctx, req) : rebuilding.then(() => answer(ctx, req));
    },
  };

  function answer(ctx: RequestContext, req: ListOffsetsRequest): ListOffsetsResponse {
    const once = namedOnce(req);
    return {
      throttleTimeMs: 0,
      topics: (once?.req ?? req).topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((rp): ListOffsetsResponseListOffsetsPartitionResponse => {
          const out: ListOffsetsResponseListOffsetsPartitionResponse = { partitionIndex: rp.partitionIndex, errorCode: 0, timestamp: -1n, offset: -1n, leaderEpoch: -1 };
          // as Kafka's ReplicaManager.fetchOffset, first: a partition named twice is answered once, INVALID_REQUEST
          if (once?.twice.has(namedKey(t.name, rp.partitionIndex))) {
            out.errorCode = ErrorCode.INVALID_REQUEST;
            return out;
          }
          // as Kafka, before the partition is looked up: a special timestamp newer than the version, or none Kafka knows
          if (rp.timestamp < 0n && !(ctx.apiVersion >= (SPECIAL_TIMESTAMP_MIN_VERSION.get(rp.timestamp) ?? Infinity))) {
            out.errorCode = ErrorCode.UNSUPPORTED_VERSION;
            return out;
          }
          const p = b.partition(t.name, rp.partitionIndex);
          if (p === undefined) {
            out.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
            return out;
          }
          const cle = rp.currentLeaderEpoch ?? -1;
          if (cle >= 0 && cle !== p.leaderEpoch) {
            out.errorCode = cle > p.leaderEpoch ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.FENCED_LEADER_EPOCH;
            return out;
          }
          const log = p.log;
          if (ctx.apiVersion >= 4) out.leaderEpoch = p.leaderEpoch;
          try {
            if (req.replicaId !== ListOffsetsReplicaId.DEBUGGING) p.checkLeader();
            else if (!p.isLocalReplica) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `${p.log.name} has no replica here`);
            // Transactions: a consumer's read_committed sees offsets up to the last stable offset only.
            const lastFetchable = req.replicaId !== ListOffsetsReplicaId.CONSUMER ? log.logEndOffset : (req.isolationLevel ?? 0) === 1 ? p.lastStableOffset : log.highWatermark;
            switch (rp.timestamp) {
              case ListOffsetsTimestamp.LATEST:
                out.offset = lastFetchable;
                break;
              case ListOffsetsTimestamp.EARLIEST:
              case ListOffsetsTimestamp.EARLIEST_LOCAL:
                out.offset = log.logStartOffset;
                // the epoch of the log start's records (the oldest known), not the current one, as Kafka
                if (ctx.apiVersion >= 4) out.leaderEpoch = p.leaderEpochs.earliestEpochAt(log.logStartOffset);
                break;
              case ListOffsetsTimestamp.LATEST_TIERED:
              case ListOffsetsTimestamp.EARLIEST_PENDING_UPLOAD:
                out.offset = -1n;
                out.leaderEpoch = -1; // as Kafka: no tiered offset, so no epoch
                break;
              case ListOffsetsTimestamp.MAX_TIMESTAMP: {
                const m = log.maxTimestampOffset();
                // as a timestamp lookup: only an offset below the last fetchable one (Kafka answers none otherwise)
                if (m !== null && m.offset < lastFetchable) {
                  out.offset = m.offset;
                  out.timestamp = BigInt(m.timestamp);
                  // the epoch its batch was written in, as Kafka (UnifiedLog.fetchOffsetByTimestamp), not the current one
                  if (ctx.apiVersion >= 4) out.leaderEpoch = m.leaderEpoch;
                } else out.leaderEpoch = -1; // as Kafka: no record (or none fetchable yet) and no epoch to report
                break;
              }
              default: {
                const found = log.offsetForTimestamp(Number(rp.timestamp));
                if (found !== null && found.offset < lastFetchable) {
                  out.offset = found.offset;
                  out.timestamp = BigInt(found.timestamp);
                  // the epoch of the batch holding the offset found, as Kafka (FileRecords.searchForTimestamp)
                  if (ctx.apiVersion >= 4) out.leaderEpoch = found.leaderEpoch;
                } else out.leaderEpoch = -1; // as Kafka: no record at or after the timestamp has no epoch either
              }
            }
          } catch (e) {
            out.errorCode = e instanceof KafkaError ? e.code : ErrorCode.KAFKA_STORAGE_ERROR;
            out.leaderEpoch = -1; // as Kafka's error answer: no offset, no epoch
          }
          return out;
        }),
      })),
    };
  }
}

/** Index rebuilds the timestamp lookups of `req` would need (see PartitionLog.indexesReadyForTimestamp), or null. */
function timestampIndexRebuildsFor(b: Broker, req: ListOffsetsRequest): Promise<unknown> | null {
  let pending: Promise<void>[] | null = null;
  for (const t of req.topics) {
    for (const rp of t.partitions) {
      if (rp.timestamp < 0n && rp.timestamp !== ListOffsetsTimestamp.MAX_TIMESTAMP) continue;
      const target = rp.timestamp === ListOffsetsTimestamp.MAX_TIMESTAMP ? null : Number(rp.timestamp);
      const ready = b.partition(t.name, rp.partitionIndex)?.log.indexesReadyForTimestamp(target) ?? null;
      if (ready !== null) (pending ??= []).push(ready);
    }
  }
  return pending === null ? null : Promise.all(pending);
}

/** The key of a partition in {@link namedOnce}'s `twice`. */
export function namedKey(topic: string, partition: number): string {
  return `${partition}:${topic}`;
}

/**
 * Null when a ListOffsets names no partition more than once; otherwise the partitions it names more than once (Kafka's
 * ListOffsetsRequest.duplicatePartitions, by {@link namedKey}), answered once each with INVALID_REQUEST (Kafka's
 * ReplicaManager.fetchOffset), and the request without their later mentions nor the topic entries left empty.
 */
export function namedOnce(req: ListOffsetsRequest): { req: ListOffsetsRequest; twice: Set<string> } | null {
  const first = new Set<string>();
  let twice: Set<string> | null = null;
  for (const t of req.topics) {
    for (const rp of t.partitions) {
      const key = namedKey(t.name, rp.partitionIndex);
      if (first.has(key)) (twice ??= new Set()).add(key);
      first.add(key);
    }
  }
  if (twice === null) return null;
  const answered = new Set<string>();
  const topics = req.topics
    .map((t) => ({
      ...t,
      partitions: t.partitions.filter((rp) => {
        const key = namedKey(t.name, rp.partitionIndex);
        if (answered.has(key)) return false;
        answered.add(key);
        return true;
      }),
    }))
    .filter((t) => t.partitions.length > 0);
  return { req: { ...req, topics }, twice };
}
