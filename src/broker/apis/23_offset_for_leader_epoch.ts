/**
 * OffsetForLeaderEpoch (key 23), versions 2-4: the end offset of a leader epoch, which consumers (and followers)
 * use to detect log truncation after a leader change, answered from the partition's epoch history
 * (`leader-epoch-checkpoint`): the largest known epoch at or below the one asked and the offset where the next
 * began (the log end offset for the current epoch). v3 replica id; v4 flexible.
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
            const end = p.leaderEpochs.endOffsetFor(rp.leaderEpoch, p.logEndOffset);
            return { errorCode: ErrorCode.NONE, partition: rp.partition, leaderEpoch: end.epoch, endOffset: end.endOffset };
          }),
        })),
      };
    },
  };
}
