/**
 * What a transaction coordinator answered about a Produce request's transactional partitions before the request
 * runs (KIP-890): a remote coordinator's verification (remote-txn-verification.ts), or a busy local coordinator's
 * refusal of the implicit add (implicit-txn-partitions.ts). A partition with a verdict is answered by it instead of
 * the local check (see transactionProblem in apis/00_produce.ts).
 */
import { ErrorCode } from "../protocol/errors.ts";

/** Per Produce request: the verdict per partition ("topic\0partition" -> Kafka error code). */
const verdicts = new WeakMap<object, Map<string, number>>();

const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * Coordinator answers that mean "ask again later" (moving, loading, or busy writing another change of the same
 * transaction); a write is told to retry, as Kafka answers them.
 */
export const COORDINATOR_RETRY_LATER: ReadonlySet<number> = new Set<number>([
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.CONCURRENT_TRANSACTIONS,
]);

/** A coordinator's answer as Produce gives it: retriable NOT_ENOUGH_REPLICAS for "later", fenced as INVALID_PRODUCER_EPOCH. */
export function produceCode(code: number): number {
  if (COORDINATOR_RETRY_LATER.has(code)) return ErrorCode.NOT_ENOUGH_REPLICAS;
  if (code === ErrorCode.PRODUCER_FENCED) return ErrorCode.INVALID_PRODUCER_EPOCH;
  if (code === ErrorCode.INVALID_PRODUCER_ID_MAPPING) return ErrorCode.INVALID_TXN_STATE;
  return code;
}

/** Keeps `code` (as Produce answers it) as `req`'s verdict for each of `partitions`. */
export function keepVerdict(req: object, partitions: readonly { topic: string; partition: number }[], code: number): void {
  let kept = verdicts.get(req);
  if (kept === undefined) verdicts.set(req, (kept = new Map()));
  for (const tp of partitions) kept.set(keyOf(tp.topic, tp.partition), produceCode(code));
}

/** The verdict kept for `req`'s write to a partition, or undefined when none was. */
export function txnVerdict(req: object, topic: string, partition: number): number | undefined {
  return verdicts.get(req)?.get(keyOf(topic, partition));
}
