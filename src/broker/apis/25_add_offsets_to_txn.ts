/**
 * AddOffsetsToTxn (key 25), versions 0-4. Adds the group's `__consumer_offsets` partition to the producer's
 * transaction, before TxnOffsetCommit sends the offsets (creating `__consumer_offsets` on first use, as
 * FindCoordinator does). v2 PRODUCER_FENCED (older versions get INVALID_PRODUCER_EPOCH); v3 flexible; v4 changes
 * only error handling.
 */
import type { AddOffsetsToTxnRequest, AddOffsetsToTxnResponse } from "../../protocol/generated/25_add_offsets_to_txn.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";
import { OFFSETS_TOPIC } from "../../group/offsets-topic-storage.ts";
import { fencedErrorCode } from "../../transactions/transaction-coordinator.ts";

/** Builds the AddOffsetsToTxn handler. */
export function addOffsetsToTxnHandler(b: Broker): ApiHandler<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse> {
  return {
    apiKey: 25,
    minVersion: 0,
    maxVersion: 4,
    async handle(ctx, req) {
      if (req.groupId === "") return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_GROUP_ID };
      let partition: number;
      try {
        await b.ensureInternalTopic(OFFSETS_TOPIC, () => b.groups.ensureOffsetsTopic());
        partition = b.groups.partitionFor(req.groupId);
      } catch (e) {
        b.logger.warn(`cannot create ${OFFSETS_TOPIC}: ${(e as Error).message}`);
        return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
      }
      const code = await b.txns.addPartitions(req.transactionalId, req.producerId, req.producerEpoch, [{ topic: OFFSETS_TOPIC, partition }]);
      return { throttleTimeMs: 0, errorCode: fencedErrorCode(code, ctx.apiVersion >= 2) };
    },
  };
}
