/**
 * AddPartitionsToTxn (key 24), versions 0-5. Adds partitions to a producer's ongoing transaction (opening one when
 * none is) before it writes to them. v2 PRODUCER_FENCED (older versions get INVALID_PRODUCER_EPOCH); v3 flexible;
 * v4 batched form (several transactional ids, a top-level error code) with `verifyOnly`, which only checks that
 * the partitions are in the transaction (Kafka's brokers use it to verify transactional writes); v5 changes only
 * error handling. A request naming an unknown topic or partition adds nothing: those partitions get
 * UNKNOWN_TOPIC_OR_PARTITION and the others OPERATION_NOT_ATTEMPTED.
 */
import type {
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnRequestAddPartitionsToTxnTopic,
  AddPartitionsToTxnResponse,
  AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult,
} from "../../protocol/generated/24_add_partitions_to_txn.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";
import { fencedErrorCode } from "../../transactions/transaction-coordinator.ts";
import type { TopicPartition } from "../../transactions/transaction-state.ts";

/** Most transactions one batched (v4+) request may carry. */
export const MAX_TRANSACTIONS_PER_REQUEST = 10_000;

/** Builds the AddPartitionsToTxn handler. */
export function addPartitionsToTxnHandler(b: Broker): ApiHandler<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse> {
  const one = async (
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    topics: readonly AddPartitionsToTxnRequestAddPartitionsToTxnTopic[],
    verifyOnly: boolean,
    version: number,
  ): Promise<AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult[]> => {
    const tps: TopicPartition[] = [];
    let unknown = false;
    for (const t of topics) {
      for (const partition of t.partitions) {
        tps.push({ topic: t.name, partition });
        if (b.partition(t.name, partition) === undefined) unknown = true;
      }
    }
    let codes: number[];
    if (unknown) {
      codes = tps.map((tp) => (b.partition(tp.topic, tp.partition) === undefined ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.OPERATION_NOT_ATTEMPTED));
    } else if (verifyOnly) {
      codes = b.txns.verifyPartitions(transactionalId, producerId, producerEpoch, tps).partitionErrors;
    } else {
      const code = await b.txns.addPartitions(transactionalId, producerId, producerEpoch, tps);
      codes = tps.map(() => code);
    }
    let i = 0;
    return topics.map((t) => ({
      name: t.name,
      resultsByPartition: t.partitions.map((partitionIndex) => ({ partitionIndex, partitionErrorCode: fencedErrorCode(codes[i++], version >= 2) })),
    }));
  };
  return {
    apiKey: 24,
    minVersion: 0,
    maxVersion: 5,
    async handle(ctx, req) {
      const v = ctx.apiVersion;
      if (v <= 3) {
        const results = await one(req.v3AndBelowTransactionalId ?? "", req.v3AndBelowProducerId ?? -1n, req.v3AndBelowProducerEpoch ?? -1, req.v3AndBelowTopics ?? [], false, v);
        return { throttleTimeMs: 0, resultsByTopicV3AndBelow: results };
      }
      const txns = req.transactions ?? [];
      if (txns.length > MAX_TRANSACTIONS_PER_REQUEST) return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, resultsByTransaction: [] };
      const resultsByTransaction = await Promise.all(
        txns.map(async (t) => ({ transactionalId: t.transactionalId, topicResults: await one(t.transactionalId, t.producerId, t.producerEpoch, t.topics, t.verifyOnly, v) })),
      );
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction };
    },
  };
}
