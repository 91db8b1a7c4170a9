/**
 * OffsetForLeaderEpoch (key 23), versions 2-4: the end offset of a leader epoch, which consumers use to detect
 * log truncation after a leader change. A single node has only epoch 0, so every epoch at or above the
 * partition's answers with the log end offset. v3 replica id; v4 flexible.
 */
import type { OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse } from "../../protocol/generated/23_offset_for_leader_epoch.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";

/** Builds the OffsetForLeaderEpoch handler. */
export function offsetForLeaderEpochHandler(b: Broker): ApiHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse> {
  return {
    apiKey: 23,
    minVersion: 2,
    maxVersion: 4,
    handle(_ctx, req) {
      return {
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({
          topic: t.topic,
          partitions: t.partitions.map((rp) => {
            const p = b.partition(t.topic, rp.partition);
            if (p === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, partition: rp.partition, leaderEpoch: -1, endOffset: -1n };
            const cle = rp.currentLeaderEpoch ?? -1;
            if (cle >= 0 && cle !== p.leaderEpoch) {
              return { errorCode: cle > p.leaderEpoch ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.FENCED_LEADER_EPOCH, partition: rp.partition, leaderEpoch: -1, endOffset: -1n };
            }
            if (rp.leaderEpoch > p.leaderEpoch) return { errorCode: ErrorCode.NONE, partition: rp.partition, leaderEpoch: -1, endOffset: -1n };
            return { errorCode: ErrorCode.NONE, partition: rp.partition, leaderEpoch: p.leaderEpoch, endOffset: p.log.logEndOffset };
          }),
        })),
      };
    },
  };
}
