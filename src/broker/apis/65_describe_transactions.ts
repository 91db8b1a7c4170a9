/**
 * DescribeTransactions (key 65), version 0 (flexible). The state, producer id and epoch, timeout, start time and
 * partitions of each named transactional id; TRANSACTIONAL_ID_NOT_FOUND for an unknown one.
 */
import type { DescribeTransactionsRequest, DescribeTransactionsResponse } from "../../protocol/generated/65_describe_transactions.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";

/** Most transactional ids one request may name. */
export const MAX_DESCRIBED_TRANSACTIONS = 10_000;

/** Builds the DescribeTransactions handler. */
export function describeTransactionsHandler(b: Broker): ApiHandler<DescribeTransactionsRequest, DescribeTransactionsResponse> {
  return {
    apiKey: 65,
    minVersion: 0,
    maxVersion: 0,
    handle(_ctx, req) {
      const ids = req.transactionalIds.slice(0, MAX_DESCRIBED_TRANSACTIONS);
      return {
        throttleTimeMs: 0,
        transactionStates: ids.map((id) => {
          const d = b.txns.describe(id);
          return {
            errorCode: d.errorCode,
            transactionalId: id,
            transactionState: d.state,
            transactionTimeoutMs: d.timeoutMs,
            transactionStartTimeMs: BigInt(d.startTimestamp),
            producerId: d.producerId,
            producerEpoch: d.producerEpoch,
            topics: d.topics.map((t) => ({ topic: t.topic, partitions: t.partitions })),
          };
        }),
      };
    },
  };
}
