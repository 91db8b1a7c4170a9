/**
 * WriteTxnMarkers (key 27), versions 1-2 (v0 is gone in Kafka 4), sent by a transaction coordinator to the leaders
 * of a transaction's partitions in a cluster. Each marker is appended on the partition's leader write path (it ends
 * the producer's transaction there, an ABORT enters the aborted-transaction index) and answered once replicated
 * (the high watermark passed it) and durable. A partition this broker does not lead is answered
 * NOT_LEADER_OR_FOLLOWER, an unknown one UNKNOWN_TOPIC_OR_PARTITION; the coordinator retries both. v2 adds the
 * transaction version, which does not change how a marker is written. The authorizer asks CLUSTER_ACTION.
 */
import type {
  WriteTxnMarkersRequest,
  WriteTxnMarkersResponse,
  WriteTxnMarkersResponseWritableTxnMarkerPartitionResult,
  WriteTxnMarkersResponseWritableTxnMarkerResult,
} from "../../protocol/generated/27_write_txn_markers.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";
import { writeLocalMarker } from "../../transactions/txn-markers.ts";

/** Most partitions one request may name, over all its markers. */
const MAX_MARKER_PARTITIONS = 100_000;

/** Builds the WriteTxnMarkers handler. */
export function writeTxnMarkersHandler(b: Broker): ApiHandler<WriteTxnMarkersRequest, WriteTxnMarkersResponse> {
  return {
    apiKey: 27,
    minVersion: 1,
    maxVersion: 2,
    async handle(_ctx, req) {
      let count = 0;
      for (const m of req.markers) for (const t of m.topics) count += t.partitionIndexes.length;
      const tooMany = count > MAX_MARKER_PARTITIONS;
      const markers = await Promise.all(
        req.markers.map(async (m): Promise<WriteTxnMarkersResponseWritableTxnMarkerResult> => {
          const marker = { producerId: m.producerId, producerEpoch: m.producerEpoch, commit: m.transactionResult, coordinatorEpoch: m.coordinatorEpoch };
          const topics = await Promise.all(
            m.topics.map(async (t) => ({
              name: t.name,
              partitions: await Promise.all(
                t.partitionIndexes.map(async (partitionIndex): Promise<WriteTxnMarkersResponseWritableTxnMarkerPartitionResult> => {
                  if (tooMany) return { partitionIndex, errorCode: ErrorCode.INVALID_REQUEST };
                  const p = b.partition(t.name, partitionIndex);
                  if (p === undefined) return { partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
                  const tp = { topic: t.name, partition: partitionIndex };
                  return { partitionIndex, errorCode: await writeLocalMarker(p, tp, marker, b.clock.nowMs(), b.markerWritten) };
                }),
              ),
            })),
          );
          return { producerId: m.producerId, topics };
        }),
      );
      return { markers };
    },
  };
}
