/**
 * OffsetFetch (key 9), versions 1-10. v2 null topics = all and a top-level error code; v5 committed leader
 * epoch; v6 flexible; v7 requireStable; v8 several groups per request; v9 member id/epoch (KIP-848 groups only);
 * v10 topic ids instead of names. A KIP-848 consumer group checks v9's member id and epoch (STALE_MEMBER_EPOCH). A partition without a committed offset answers offset -1 and no error, as Kafka.
 */
import type {
  OffsetFetchRequest,
  OffsetFetchRequestTopics,
  OffsetFetchResponse,
  OffsetFetchResponseGroup,
  OffsetFetchResponseTopic,
  OffsetFetchResponseTopics,
} from "../../protocol/generated/09_offset_fetch.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { FetchedTopic } from "../../group/group-requests.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";
import { uuidHex } from "../../protocol/uuid.ts";

/** Builds the OffsetFetch handler. */
export function offsetFetchHandler(b: Broker): ApiHandler<OffsetFetchRequest, OffsetFetchResponse> {
  /** One group of the v8+ form. */
  const fetchGroup = (groupId: string, requested: OffsetFetchRequestTopics[] | null, useIds: boolean, member?: { memberId: string | null; memberEpoch: number }): OffsetFetchResponseGroup => {
    if (requested === null) {
      const r = b.groups.fetchOffsets(groupId, null, member);
      const topics: OffsetFetchResponseTopics[] = [];
      for (const t of r.topics) {
        const topic = b.topicsByName.get(t.topic);
        if (useIds && topic === undefined) continue; // no id to name it by
        topics.push({ name: t.topic, topicId: topic?.id, partitions: partitionsOf(t) });
      }
      return { groupId, errorCode: r.errorCode, topics };
    }
    // Index into `asked` per requested topic, or -1 for a topic id this broker does not know.
    const asked: { topic: string; partitions: number[] }[] = [];
    const slot = requested.map((t) => {
      const name = useIds ? b.topicsById.get(uuidHex(t.topicId!))?.name : (t.name ?? "");
      if (name === undefined) return -1;
      asked.push({ topic: name, partitions: t.partitionIndexes });
      return asked.length - 1;
    });
    const r = b.groups.fetchOffsets(groupId, asked, member);
    if (r.errorCode !== ErrorCode.NONE) return { groupId, errorCode: r.errorCode, topics: [] };
    const topics = requested.map((t, i): OffsetFetchResponseTopics => {
      if (slot[i] < 0) {
        return {
          name: "",
          topicId: t.topicId,
          partitions: t.partitionIndexes.map((p) => ({ partitionIndex: p, committedOffset: -1n, committedLeaderEpoch: -1, metadata: "", errorCode: ErrorCode.UNKNOWN_TOPIC_ID })),
        };
      }
      const ft = r.topics[slot[i]];
      return { name: ft.topic, topicId: t.topicId, partitions: partitionsOf(ft) };
    });
    return { groupId, errorCode: ErrorCode.NONE, topics };
  };

  return {
    apiKey: 9,
    minVersion: 1,
    maxVersion: 10,
    handle(ctx, req) {
      const v = ctx.apiVersion;
      const requireStable = v >= 7 && req.requireStable === true;
      if (v >= 8) {
        const groups = (req.groups ?? []).map((g) => fetchGroup(g.groupId, g.topics, v >= 10, v >= 9 ? { memberId: g.memberId ?? null, memberEpoch: g.memberEpoch ?? -1 } : undefined));
        if (requireStable) for (const g of groups) markUnstable(b, g.groupId, g.topics);
        return { throttleTimeMs: 0, groups };
      }
      const groupId = req.groupId ?? "";
      const requested = req.topics === undefined ? [] : req.topics;
      const r = b.groups.fetchOffsets(groupId, requested === null ? null : requested.map((t) => ({ topic: t.name, partitions: t.partitionIndexes })));
      if (r.errorCode !== ErrorCode.NONE) {
        if (v >= 2) return { throttleTimeMs: 0, errorCode: r.errorCode, topics: [] };
        // v1 has no top-level error: every requested partition carries it.
        const topics: OffsetFetchResponseTopic[] = (requested ?? []).map((t) => ({
          name: t.name,
          partitions: t.partitionIndexes.map((p) => ({ partitionIndex: p, committedOffset: -1n, committedLeaderEpoch: -1, metadata: "", errorCode: r.errorCode })),
        }));
        return { throttleTimeMs: 0, topics };
      }
      const topics: OffsetFetchResponseTopic[] = r.topics.map((t) => ({ name: t.topic, partitions: partitionsOf(t) }));
      if (requireStable) markUnstable(b, groupId, topics);
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, topics };
    },
  };
}

function partitionsOf(t: FetchedTopic) {
  return t.partitions.map((p) => ({
    partitionIndex: p.partition,
    committedOffset: p.offset,
    committedLeaderEpoch: p.leaderEpoch,
    metadata: p.metadata,
    errorCode: p.errorCode,
  }));
}

/**
 * requireStable (KIP-447): a partition with a transactional offset commit still pending answers
 * UNSTABLE_OFFSET_COMMIT (retriable) instead of an offset that may yet be rolled back: no offset, leader epoch or
 * metadata of the committed one either, as Kafka (offset -1, epoch -1, metadata "").
 */
function markUnstable(
  b: Broker,
  groupId: string,
  topics: readonly { name?: string; partitions: { partitionIndex: number; committedOffset: bigint; committedLeaderEpoch?: number; metadata: string | null; errorCode: number }[] }[],
): void {
  for (const t of topics) {
    for (const p of t.partitions) {
      if (p.errorCode === ErrorCode.NONE && b.groups.hasPendingTransactionalOffset(groupId, t.name ?? "", p.partitionIndex)) {
        p.errorCode = ErrorCode.UNSTABLE_OFFSET_COMMIT;
        p.committedOffset = -1n;
        p.committedLeaderEpoch = -1;
        p.metadata = "";
      }
    }
  }
}
