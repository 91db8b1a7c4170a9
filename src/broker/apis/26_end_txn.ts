/**
 * EndTxn (key 26), versions 0-5. Commits or aborts the producer's transaction: the coordinator makes the decision
 * durable, writes COMMIT/ABORT markers to every partition of the transaction (this node's partition logs, so no
 * WriteTxnMarkers is needed) and completes it before answering. v2 PRODUCER_FENCED (older versions get
 * INVALID_PRODUCER_EPOCH); v3 flexible; v4 changes only error handling; v5 is transaction version 2 (KIP-890): the
 * epoch is bumped at the end of every transaction and the new producer id and epoch are returned.
 */
import type { EndTxnRequest, EndTxnResponse } from "../../protocol/generated/26_end_txn.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";
import { fencedErrorCode } from "../../transactions/transaction-coordinator.ts";

/** First EndTxn version with transaction version 2 semantics. */
export const END_TXN_EPOCH_BUMP_VERSION = 5;

/** Builds the EndTxn handler. */
export function endTxnHandler(b: Broker): ApiHandler<EndTxnRequest, EndTxnResponse> {
  return {
    apiKey: 26,
    minVersion: 0,
    maxVersion: 5,
    async handle(ctx, req) {
      const bump = ctx.apiVersion >= END_TXN_EPOCH_BUMP_VERSION;
      const r = await b.txns.endTransaction(req.transactionalId, req.producerId, req.producerEpoch, req.committed, bump);
      return { throttleTimeMs: 0, errorCode: fencedErrorCode(r.errorCode, ctx.apiVersion >= 2), producerId: r.producerId, producerEpoch: r.producerEpoch };
    },
  };
}
