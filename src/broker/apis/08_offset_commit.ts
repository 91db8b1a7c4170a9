/**
 * OffsetCommit (key 8), versions 2-10. v2-v4 retention time; v5 drops it; v6 committed leader epoch; v7 group
 * instance id; v8 flexible; v9 same as v8 (KIP-848 clients: for a consumer group the generation is the member epoch, STALE_MEMBER_EPOCH when it is not the current one); v10 topic ids instead of names. Topics or partitions
 * this broker does not have are answered UNKNOWN_TOPIC_OR_PARTITION (UNKNOWN_TOPIC_ID in v10) before the group
 * coordinator sees the rest.
 */
import type {
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetCommitResponsePartition,
  OffsetCommitResponseTopic,
} from "../../protocol/generated/08_offset_commit.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { OffsetToCommit } from "../../group/group-requests.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker, Topic } from "../broker.ts";
import { uuidHex } from "../../protocol/uuid.ts";

/** Builds the OffsetCommit handler. */
export function offsetCommitHandler(b: Broker): ApiHandler<OffsetCommitRequest, OffsetCommitResponse> {
  return {
    apiKey: 8,
    minVersion: 2,
    maxVersion: 10,
    async handle(ctx, req) {
      const useIds = ctx.apiVersion >= 10;
      const topics: OffsetCommitResponseTopic[] = [];
      const offsets: OffsetToCommit[] = [];
      const slots: OffsetCommitResponsePartition[] = [];
      for (const t of req.topics) {
        const topic: Topic | undefined = useIds ? b.topicsById.get(uuidHex(t.topicId!)) : b.topicsByName.get(t.name ?? "");
        const out: OffsetCommitResponseTopic = { name: t.name ?? topic?.name ?? "", topicId: t.topicId, partitions: [] };
        topics.push(out);
        for (const p of t.partitions) {
          const res: OffsetCommitResponsePartition = { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE };
          out.partitions.push(res);
          if (topic === undefined) res.errorCode = useIds ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          else if (topic.partitions[p.partitionIndex] === undefined) res.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          else {
            offsets.push({
              topic: topic.name,
              partition: p.partitionIndex,
              offset: p.committedOffset,
              leaderEpoch: p.committedLeaderEpoch ?? -1,
              metadata: p.committedMetadata,
            });
            slots.push(res);
          }
        }
      }
      if (offsets.length > 0) {
        const codes = await b.groups.commitOffsets({
          groupId: req.groupId,
          generationId: req.generationIdOrMemberEpoch,
          memberId: req.memberId,
          groupInstanceId: req.groupInstanceId ?? null,
          retentionTimeMs: Number(req.retentionTimeMs ?? -1n),
          offsets,
          unknownGroupErrorCode: ctx.apiVersion >= 9 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION,
          apiVersion: ctx.apiVersion,
        });
        for (let i = 0; i < slots.length; i++) slots[i].errorCode = codes[i];
      }
      return { throttleTimeMs: 0, topics };
    },
  };
}
