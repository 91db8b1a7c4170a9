/**
 * KIP-890 verification of transactional writes when another broker coordinates the transaction (cluster mode), as
 * Kafka's partition leaders and group coordinators do: the broker asks that id's coordinator (the leader of its
 * `__transaction_state` partition) with a batched AddPartitionsToTxn over the inter-broker listener, verify-only or
 * adding the partitions. For Produce (`verifyAtRemoteCoordinator`, run before the request) that is verify-only up
 * to v11 and adding from v12 (the implicit add); the answers then decide each partition's append
 * (kept in txn-verdicts.ts). TxnOffsetCommit asks for the group's `__consumer_offsets` partition the same way. When the
 * coordinator cannot be asked or is moving (no leader, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS,
 * COORDINATOR_NOT_AVAILABLE, CONCURRENT_TRANSACTIONS, a failed request) the write is told to retry: Produce with
 * NOT_ENOUGH_REPLICAS, TxnOffsetCommit with COORDINATOR_NOT_AVAILABLE, as Kafka answers.
 */
import type { ProduceRequest } from "../protocol/generated/00_produce.ts";
import type { AddPartitionsToTxnResponse } from "../protocol/generated/24_add_partitions_to_txn.ts";
import { ApiKey } from "../protocol/generated/index.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { TRANSACTION_STATE_TOPIC } from "../transactions/transaction-log.ts";
import { transactionPartitionFor } from "../transactions/transaction-coordinator.ts";
import { IMPLICIT_ADD_PARTITIONS_MIN_VERSION, transactionalPartitions, type TransactionalWrite } from "./implicit-txn-partitions.ts";
import { COORDINATOR_RETRY_LATER, keepVerdict } from "./txn-verdicts.ts";
import type { Broker } from "./broker.ts";

const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * Asks the coordinator of `tid` whether `write`'s partitions are in the producer's ongoing transaction (or adds
 * them, unless `verifyOnly`); resolves to the coordinator's code per partition ("topic\0partition"), with
 * COORDINATOR_NOT_AVAILABLE for every partition when the coordinator cannot be asked.
 */
async function askCoordinator(b: Broker, tid: string, write: TransactionalWrite, verifyOnly: boolean): Promise<Map<string, number>> {
  const answers = new Map<string, number>();
  const all = (code: number) => {
    for (const tp of write.partitions) answers.set(keyOf(tp.topic, tp.partition), code);
    return answers;
  };
  const stateTopic = b.topicsByName.get(TRANSACTION_STATE_TOPIC)?.partitions ?? [];
  const leader = stateTopic.length === 0 ? -1 : stateTopic[transactionPartitionFor(tid, stateTopic.length)].leader;
  if (leader < 0) return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  const byTopic = new Map<string, number[]>();
  for (const tp of write.partitions) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
  const body = {
    transactions: [{ transactionalId: tid, producerId: write.producerId, producerEpoch: write.producerEpoch, verifyOnly, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) }],
  };
  let res: AddPartitionsToTxnResponse;
  try {
    res = await b.interBrokerChannel(leader).request<AddPartitionsToTxnResponse>(ApiKey.AddPartitionsToTxn, body);
  } catch (e) {
    b.logger.warn(`verifying transactional id ${tid} at broker ${leader} failed: ${(e as Error).message}`);
    return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  }
  const top = res.errorCode ?? ErrorCode.NONE;
  all(top !== ErrorCode.NONE ? top : ErrorCode.COORDINATOR_NOT_AVAILABLE); // a partition the answer leaves out is asked again
  if (top !== ErrorCode.NONE) return answers;
  for (const t of res.resultsByTransaction ?? []) {
    for (const r of t.topicResults) for (const p of r.resultsByPartition) answers.set(keyOf(r.name, p.partitionIndex), p.partitionErrorCode);
  }
  return answers;
}

/**
 * Asks the remote coordinator about the partitions `req` writes transactionally; resolves once the answers are
 * kept as the request's verdicts (txn-verdicts.ts). Null when there is nothing to ask (no transactional id, no transactional batch,
 * this broker coordinates the id, or it is loading the id's partition: then NOT_ENOUGH_REPLICAS is kept at once).
 */
export function verifyAtRemoteCoordinator(b: Broker, apiVersion: number, req: ProduceRequest): Promise<void> | null {
  const tid = req.transactionalId;
  if (!tid) return null;
  const here = b.txns.availability(tid);
  if (here === ErrorCode.NONE) return null; // this broker's coordinator verifies
  const written = transactionalPartitions(b, apiVersion, req);
  if (written === null) return null;
  if (here === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) {
    // this broker is loading the id's partition: the producer retries once it is loaded
    keepVerdict(req, written.partitions, here);
    return null;
  }
  return askCoordinator(b, tid, written, apiVersion < IMPLICIT_ADD_PARTITIONS_MIN_VERSION).then((answers) => {
    for (const tp of written.partitions) keepVerdict(req, [tp], answers.get(keyOf(tp.topic, tp.partition)) ?? ErrorCode.COORDINATOR_NOT_AVAILABLE);
  });
}

/**
 * TxnOffsetCommit at a group coordinator that does not coordinate `tid`: whether the group's `__consumer_offsets`
 * partition is in the producer's transaction (added, unless `verifyOnly`), asked at the transaction's coordinator;
 * COORDINATOR_NOT_AVAILABLE when that cannot be told now.
 */
export async function verifyOffsetsPartitionRemotely(b: Broker, tid: string, producerId: bigint, producerEpoch: number, tp: { topic: string; partition: number }, verifyOnly: boolean): Promise<number> {
  const answers = await askCoordinator(b, tid, { producerId, producerEpoch, partitions: [tp] }, verifyOnly);
  const code = answers.get(keyOf(tp.topic, tp.partition)) ?? ErrorCode.COORDINATOR_NOT_AVAILABLE;
  return COORDINATOR_RETRY_LATER.has(code) ? ErrorCode.COORDINATOR_NOT_AVAILABLE : code;
}
