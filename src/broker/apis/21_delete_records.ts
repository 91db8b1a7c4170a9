/**
 * DeleteRecords (key 21), versions 0-2: moves a partition's log start offset forward. v2 flexible. As in Kafka, a
 * topic whose cleanup.policy lacks "delete" (compact only) refuses with POLICY_VIOLATION, a broker that does not
 * lead the partition with NOT_LEADER_OR_FOLLOWER, and (KIP-107's DelayedDeleteRecords) the answer waits until every
 * live follower has moved its log start offset there too (it takes the leader's from each fetch answer), answering
 * the low watermark, the smallest log start offset over them; or REQUEST_TIMED_OUT after the request's timeout.
 * Without the wait, a follower elected leader next would serve the deleted records again.
 */
import type { DeleteRecordsRequest, DeleteRecordsResponse } from "../../protocol/generated/21_delete_records.ts";
import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";

/** Offset -1 in DeleteRecords means "up to the high watermark". */
const DELETE_TO_HIGH_WATERMARK = -1n;

/** Builds the DeleteRecords handler. */
export function deleteRecordsHandler(b: Broker): ApiHandler<DeleteRecordsRequest, DeleteRecordsResponse> {
  return {
    apiKey: 21,
    minVersion: 0,
    maxVersion: 2,
    async handle(_ctx, req) {
      const timeoutMs = req.timeoutMs > 0 ? req.timeoutMs : 0;
      return {
        throttleTimeMs: 0,
        topics: await Promise.all(req.topics.map(async (t) => ({
          name: t.name,
          partitions: await Promise.all(t.partitions.map(async (rp) => {
            const p = b.partition(t.name, rp.partitionIndex);
            if (p === undefined) return { partitionIndex: rp.partitionIndex, lowWatermark: -1n, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
            // As Kafka's Partition.deleteRecordsOnLeader: away from the leader, before the policy and the offset are
            // checked against this replica's log (a client with stale metadata retries at the leader).
            try {
              p.checkLeader();
            } catch (e) {
              return { partitionIndex: rp.partitionIndex, lowWatermark: -1n, errorCode: e instanceof KafkaError ? e.code : ErrorCode.NOT_LEADER_OR_FOLLOWER };
            }
            if (!b.topicsByName.get(t.name)!.config.cleanupPolicy.includes("delete")) {
              return { partitionIndex: rp.partitionIndex, lowWatermark: -1n, errorCode: ErrorCode.POLICY_VIOLATION };
            }
            const target = rp.offset === DELETE_TO_HIGH_WATERMARK ? p.log.highWatermark : rp.offset;
            if (target < 0n || target > p.log.highWatermark) {
              return { partitionIndex: rp.partitionIndex, lowWatermark: -1n, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE };
            }
            try {
              if (target > p.log.logStartOffset) p.log.deleteRecordsBefore(target);
              const lowWatermark = await p.whenLowWatermarkReaches(target, timeoutMs);
              return { partitionIndex: rp.partitionIndex, lowWatermark, errorCode: ErrorCode.NONE };
            } catch (e) {
              return { partitionIndex: rp.partitionIndex, lowWatermark: -1n, errorCode: e instanceof KafkaError ? e.code : ErrorCode.KAFKA_STORAGE_ERROR };
            }
          })),
        }))),
      };
    },
  };
}
