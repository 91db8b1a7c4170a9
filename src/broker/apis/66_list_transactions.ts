/**
 * ListTransactions (key 66), versions 0-2 (flexible). Transactional ids filtered by state and producer id; v1 adds
 * a duration filter (only transactions open at least that long); v2 a regular expression on the transactional id
 * (an invalid one is INVALID_REGULAR_EXPRESSION). State filters naming no state come back in unknownStateFilters.
 */
import type { ListTransactionsRequest, ListTransactionsResponse } from "../../protocol/generated/66_list_transactions.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";

/** Kafka's INVALID_REGULAR_EXPRESSION error code (KIP-848/KIP-1152). */
export const INVALID_REGULAR_EXPRESSION = 128;
/** Longest transactional id pattern accepted. */
export const MAX_PATTERN_LENGTH = 4096;

/** Builds the ListTransactions handler. */
export function listTransactionsHandler(b: Broker): ApiHandler<ListTransactionsRequest, ListTransactionsResponse> {
  return {
    apiKey: 66,
    minVersion: 0,
    maxVersion: 2,
    handle(_ctx, req) {
      let pattern: RegExp | null = null;
      const source = req.transactionalIdPattern ?? null;
      if (source !== null && source !== "") {
        try {
          if (source.length > MAX_PATTERN_LENGTH) throw new Error("pattern too long");
          pattern = new RegExp(`^(?:${source})$`);
        } catch {
          return { throttleTimeMs: 0, errorCode: INVALID_REGULAR_EXPRESSION, unknownStateFilters: [], transactionStates: [] };
        }
      }
      const r = b.txns.list({ states: req.stateFilters, producerIds: req.producerIdFilters, minDurationMs: Number(req.durationFilter ?? -1n), pattern });
      return {
        throttleTimeMs: 0,
        errorCode: r.errorCode,
        unknownStateFilters: r.unknownStates,
        transactionStates: r.transactions.map((t) => ({ transactionalId: t.transactionalId, producerId: t.producerId, transactionState: t.state })),
      };
    },
  };
}
