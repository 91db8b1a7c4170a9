/**
 * OffsetDelete (key 47), version 0. Deletes committed offsets of a group for topics it does not consume
 * (GROUP_SUBSCRIBED_TO_TOPIC otherwise; any topic once the group is empty). Topics or partitions this broker does
 * not have are answered UNKNOWN_TOPIC_OR_PARTITION, as Kafka.
 */
import type { OffsetDeleteRequest, OffsetDeleteResponse, OffsetDeleteResponseTopic } from "../../protocol/generated/47_offset_delete.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";

/** Builds the OffsetDelete handler. */
export function offsetDeleteHandler(b: Broker): ApiHandler<OffsetDeleteRequest, OffsetDeleteResponse> {
  return {
    apiKey: 47,
    minVersion: 0,
    maxVersion: 0,
    async handle(_ctx, req) {
      const topics: OffsetDeleteResponseTopic[] = [];
      const asked: { topic: string; partitions: number[] }[] = [];
      const slots: { errorCode: number }[][] = [];
      for (const t of req.topics) {
        const topic = b.topicsByName.get(t.name);
        const out: OffsetDeleteResponseTopic = { name: t.name, partitions: [] };
        topics.push(out);
        const known: number[] = [];
        const knownSlots: { errorCode: number }[] = [];
        for (const p of t.partitions) {
          const res = { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE as number };
          out.partitions.push(res);
          if (topic === undefined || topic.partitions[p.partitionIndex] === undefined) res.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          else {
            known.push(p.partitionIndex);
            knownSlots.push(res);
          }
        }
        asked.push({ topic: t.name, partitions: known });
        slots.push(knownSlots);
      }
      const r = await b.groups.deleteOffsets(req.groupId, asked);
      if (r.errorCode !== ErrorCode.NONE) return { errorCode: r.errorCode, throttleTimeMs: 0, topics: [] };
      for (let i = 0; i < r.topics.length; i++) {
        const parts = r.topics[i].partitions;
        for (let j = 0; j < parts.length; j++) slots[i][j].errorCode = parts[j].errorCode;
      }
      return { errorCode: ErrorCode.NONE, throttleTimeMs: 0, topics };
    },
  };
}
