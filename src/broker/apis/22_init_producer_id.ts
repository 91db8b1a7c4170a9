/**
 * InitProducerId (key 22), versions 0-5 (v6, two-phase commit, is not served). Gives idempotent producers a
 * producer id and epoch. Transactional ids are refused with
 * COORDINATOR_NOT_AVAILABLE until the transaction coordinator exists, so a transactional client fails clearly.
 * v2 flexible; v3 producer id/epoch for epoch bumps; v4 and v5 change only error handling.
 */
import type { InitProducerIdRequest, InitProducerIdResponse } from "../../protocol/generated/22_init_producer_id.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";

/** Builds the InitProducerId handler. */
export function initProducerIdHandler(b: Broker): ApiHandler<InitProducerIdRequest, InitProducerIdResponse> {
  return {
    apiKey: 22,
    minVersion: 0,
    maxVersion: 5,
    handle(_ctx, req) {
      if (req.transactionalId !== null && req.transactionalId !== "") {
        return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, producerId: -1n, producerEpoch: -1 };
      }
      const pid = req.producerId ?? -1n;
      const epoch = req.producerEpoch ?? -1;
      if (pid >= 0n && epoch >= 0) {
        // An idempotent producer bumping its epoch after a failed batch (KIP-360).
        if (epoch >= 32766) return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: b.producerIds.next(), producerEpoch: 0 };
        return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: pid, producerEpoch: epoch + 1 };
      }
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: b.producerIds.next(), producerEpoch: 0 };
    },
  };
}
