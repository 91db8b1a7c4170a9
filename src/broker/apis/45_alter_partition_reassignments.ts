/**
 * AlterPartitionReassignments (key 45), versions 0-1 (flexible). Each partition's new replica list starts a move
 * (null cancels one); the answer says the move was recorded, not that it finished, as in Kafka. v1's
 * `allow_replication_factor_change` false refuses a move that changes the replica count (KIP-860).
 */
import type { AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse } from "../../protocol/generated/45_alter_partition_reassignments.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { topicOperationError } from "../topic-operation-error.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";

/** Builds the AlterPartitionReassignments handler. */
export function alterPartitionReassignmentsHandler(b: Broker): ApiHandler<AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse> {
  return {
    apiKey: 45,
    minVersion: 0,
    maxVersion: 1,
    async handle(_ctx, req) {
      const allowRf = req.allowReplicationFactorChange ?? true;
      const responses: AlterPartitionReassignmentsResponse["responses"] = [];
      for (const t of req.topics) {
        const partitions: AlterPartitionReassignmentsResponse["responses"][number]["partitions"] = [];
        for (const p of t.partitions) {
          try {
            await b.alterReassignment(t.name, p.partitionIndex, p.replicas, allowRf);
            partitions.push({ partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE, errorMessage: null });
          } catch (e) {
            const err = topicOperationError(e);
            if (err.unexpected) b.logger.error(`reassigning ${t.name}-${p.partitionIndex} failed: ${(e as Error)?.stack ?? e}`);
            partitions.push({ partitionIndex: p.partitionIndex, errorCode: err.code, errorMessage: err.message });
          }
        }
        responses.push({ name: t.name, partitions });
      }
      return { throttleTimeMs: 0, allowReplicationFactorChange: allowRf, errorCode: ErrorCode.NONE, errorMessage: null, responses };
    },
  };
}
