/**
 * KIP-890 verification of transactional writes when another broker coordinates the transaction (cluster mode), as
 * Kafka's partition leaders do: before a Produce with a transactional id runs, the leader asks that id's
 * coordinator (the leader of its `__transaction_state` partition) with a batched AddPartitionsToTxn over the
 * inter-broker listener, `verifyOnly` for Produce v11 and older, adding the partitions for v12+ (their implicit
 * add). The coordinator's per-partition answers then decide each partition's append (see `remoteVerdict`). When the
 * coordinator cannot be asked or is moving (no leader, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS,
 * COORDINATOR_NOT_AVAILABLE, CONCURRENT_TRANSACTIONS, a failed request) the partitions get NOT_ENOUGH_REPLICAS,
 * which producers retry, as Kafka answers.
 */
import type { ProduceRequest } from "../protocol/generated/00_produce.ts";
import type { AddPartitionsToTxnResponse } from "../protocol/generated/24_add_partitions_to_txn.ts";
import { ApiKey } from "../protocol/generated/index.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { TRANSACTION_STATE_TOPIC } from "../transactions/transaction-log.ts";
import { transactionPartitionFor } from "../transactions/transaction-coordinator.ts";
import { IMPLICIT_ADD_PARTITIONS_MIN_VERSION, transactionalPartitions } from "./implicit-txn-partitions.ts";
import type { Broker } from "./broker.ts";

/** The remote coordinator's answer per partition ("topic\0partition" -> Kafka error code), by Produce request. */
const verdicts = new WeakMap<object, Map<string, number>>();

const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** Coordinator answers that mean "ask again later": the producer is told NOT_ENOUGH_REPLICAS and retries. */
const RETRY_LATER = new Set<number>([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.CONCURRENT_TRANSACTIONS]);

/**
 * Asks the remote coordinator about the partitions `req` writes transactionally; resolves once the answers are
 * kept for {@link remoteVerdict}. Null when there is nothing to ask (no transactional id, no transactional batch,
 * or this broker coordinates the id).
 */
export function verifyAtRemoteCoordinator(b: Broker, apiVersion: number, req: ProduceRequest): Promise<void> | null {
  const tid = req.transactionalId;
  if (!tid || b.txns.ownsTransactionalId(tid)) return null;
  const written = transactionalPartitions(b, apiVersion, req);
  if (written === null) return null;
  const answers = new Map<string, number>();
  verdicts.set(req, answers);
  const all = (code: number) => {
    for (const tp of written.partitions) answers.set(keyOf(tp.topic, tp.partition), code);
  };
  const stateTopic = b.topicsByName.get(TRANSACTION_STATE_TOPIC)?.partitions ?? [];
  const leader = stateTopic.length === 0 ? -1 : stateTopic[transactionPartitionFor(tid, stateTopic.length)].leader;
  if (leader < 0) {
    all(ErrorCode.NOT_ENOUGH_REPLICAS);
    return null;
  }
  const byTopic = new Map<string, number[]>();
  for (const tp of written.partitions) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
  const body = {
    transactions: [
      {
        transactionalId: tid,
        producerId: written.producerId,
        producerEpoch: written.producerEpoch,
        verifyOnly: apiVersion < IMPLICIT_ADD_PARTITIONS_MIN_VERSION,
        topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
      },
    ],
  };
  return b
    .interBrokerChannel(leader)
    .request<AddPartitionsToTxnResponse>(ApiKey.AddPartitionsToTxn, body)
    .then(
      (res) => {
        const top = res.errorCode ?? ErrorCode.NONE;
        if (top !== ErrorCode.NONE) return all(RETRY_LATER.has(top) ? ErrorCode.NOT_ENOUGH_REPLICAS : produceCode(top));
        all(ErrorCode.NOT_ENOUGH_REPLICAS); // a partition the answer leaves out is asked again
        for (const t of res.resultsByTransaction ?? []) {
          for (const r of t.topicResults) {
            for (const p of r.resultsByPartition) answers.set(keyOf(r.name, p.partitionIndex), RETRY_LATER.has(p.partitionErrorCode) ? ErrorCode.NOT_ENOUGH_REPLICAS : produceCode(p.partitionErrorCode));
          }
        }
      },
      (e) => {
        b.logger.warn(`verifying transactional id ${tid} at broker ${leader} failed: ${(e as Error).message}`);
        all(ErrorCode.NOT_ENOUGH_REPLICAS);
      },
    );
}

/** A coordinator's verification error as Produce answers it (as the local check does: fenced is INVALID_PRODUCER_EPOCH). */
function produceCode(code: number): number {
  if (code === ErrorCode.PRODUCER_FENCED) return ErrorCode.INVALID_PRODUCER_EPOCH;
  if (code === ErrorCode.INVALID_PRODUCER_ID_MAPPING) return ErrorCode.INVALID_TXN_STATE;
  return code;
}

/** The remote coordinator's answer for `req`'s write to a partition, or undefined when none was asked. */
export function remoteVerdict(req: object, topic: string, partition: number): number | undefined {
  return verdicts.get(req)?.get(keyOf(topic, partition));
}
