/**
 * InitProducerId (key 22), versions 0-5 (v6, two-phase commit, is not served). Gives idempotent producers a new
 * producer id at epoch 0; a transactional id goes to the transaction coordinator (src/transactions), which bumps the
 * epoch of a known id, fencing older instances, and aborts its open transaction first.
 * v2 flexible; v3 producer id/epoch for epoch bumps; v4 PRODUCER_FENCED (older versions get INVALID_PRODUCER_EPOCH);
 * v5 changes only error handling. An empty transactional id is INVALID_REQUEST, as in Kafka.
 */
import type { InitProducerIdRequest, InitProducerIdResponse } from "../../protocol/generated/22_init_producer_id.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";
import { fencedErrorCode } from "../../transactions/transaction-coordinator.ts";
import { TRANSACTION_STATE_TOPIC } from "../../transactions/transaction-log.ts";

/** Builds the InitProducerId handler. */
export function initProducerIdHandler(b: Broker): ApiHandler<InitProducerIdRequest, InitProducerIdResponse> {
  return {
    apiKey: 22,
    minVersion: 0,
    maxVersion: 5,
    async handle(ctx, req) {
      // In a cluster the ids come in blocks reserved in etcd: wait for one (retriable error while etcd is away).
      const ready = await b.producerIds.ready().then(
        () => true,
        () => false,
      );
      if (!ready) return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, producerId: -1n, producerEpoch: -1 };
      // Transactions: the coordinator answers for a transactional id (creating `__transaction_state` on first use).
      if (req.transactionalId !== null) {
        await b.ensureInternalTopic(TRANSACTION_STATE_TOPIC, () => b.txns.ensureStateTopic()).catch(() => 0); // the coordinator answers the error
        return b.txns
          .initProducerId({ transactionalId: req.transactionalId, transactionTimeoutMs: req.transactionTimeoutMs, producerId: req.producerId ?? -1n, producerEpoch: req.producerEpoch ?? -1 })
          .then((r) => ({ throttleTimeMs: 0, errorCode: fencedErrorCode(r.errorCode, ctx.apiVersion >= 4), producerId: r.producerId, producerEpoch: r.producerEpoch }));
      }
      // An idempotent producer always gets a new producer id at epoch 0, as from Kafka's coordinator, also when it
      // names its current id and epoch (KIP-360): two client sessions must never share an id and epoch, or the
      // second's batches would be taken for duplicates of the first's and dropped. Naming only one is INVALID_REQUEST.
      if ((req.producerId ?? -1n) < 0n !== (req.producerEpoch ?? -1) < 0) {
        return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, producerId: -1n, producerEpoch: -1 };
      }
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: b.producerIds.next(), producerEpoch: 0 };
    },
  };
}
