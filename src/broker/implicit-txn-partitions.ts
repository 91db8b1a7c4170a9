/**
 * Produce v12+ adds the partitions of its transactional batches to the producer's transaction itself (KIP-890
 * part 2, as Kafka 4 does whatever the transaction.version): a client may skip AddPartitionsToTxn. Clients on
 * older versions still add partitions explicitly, and a batch outside a transaction is refused by verification.
 */
import type { ProduceRequest } from "../protocol/generated/00_produce.ts";
import { ATTR_TRANSACTIONAL, ATTRIBUTES_OFFSET, BASE_SEQUENCE_OFFSET, BATCH_HEADER_SIZE, PRODUCER_EPOCH_OFFSET, PRODUCER_ID_OFFSET, dataViewOf } from "../protocol/batch-layout.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { uuidHex } from "../protocol/uuid.ts";
import { COORDINATOR_RETRY_LATER, keepVerdict } from "./txn-verdicts.ts";
import type { Broker, PartitionState } from "./broker.ts";

/** First Produce version whose transactional batches join the transaction implicitly. */
export const IMPLICIT_ADD_PARTITIONS_MIN_VERSION = 12;

/**
 * Adds the partitions this request writes transactionally to the producer's transaction when they are not in it
 * yet; resolves once the transaction state is durable (null when nothing needs adding). When the coordinator is
 * busy with the transaction (another add being written, from another connection or another shard's partition, or
 * its commit or abort), moving or failing to write, the partitions are told to retry (NOT_ENOUGH_REPLICAS, kept
 * as the request's verdict), as Kafka answers; another refusal (fenced epoch, unknown producer) is left to the
 * produce verification, which answers it per partition.
 */
export function addPartitionsImplicitly(b: Broker, apiVersion: number, req: ProduceRequest): Promise<void> | null {
  const tid = req.transactionalId;
  if (apiVersion < IMPLICIT_ADD_PARTITIONS_MIN_VERSION || !tid) return null;
  const written = transactionalPartitions(b, apiVersion, req);
  if (written === null) return null;
  const { producerId, producerEpoch, partitions } = written;
  const check = b.txns.verifyPartitions(tid, producerId, producerEpoch, partitions);
  // Unknown producer or fenced epoch: nothing to add; already in the ongoing transaction: nothing to do.
  if (check.errorCode !== ErrorCode.NONE || check.partitionErrors.every((e) => e === ErrorCode.NONE)) return null;
  return b.txns.addPartitions(tid, producerId, producerEpoch, partitions).then((code) => {
    if (COORDINATOR_RETRY_LATER.has(code)) keepVerdict(req, partitions, code);
  });
}

/** The partitions a Produce request writes transactionally, with the producer of those batches. */
export interface TransactionalWrite {
  /** The batches' producer id. */
  producerId: bigint;
  /** The batches' producer epoch. */
  producerEpoch: number;
  /** The partitions with a transactional batch (known topics and partitions only). */
  partitions: { topic: string; partition: number }[];
}

/** The partitions `req` writes transactionally (null when none). */
export function transactionalPartitions(b: Broker, apiVersion: number, req: ProduceRequest): TransactionalWrite | null {
  const partitions: { topic: string; partition: number }[] = [];
  let producerId = -1n;
  let producerEpoch = -1;
  eachTransactionalBatch(b, apiVersion, req, (p, dv) => {
    producerId = dv.getBigInt64(PRODUCER_ID_OFFSET);
    producerEpoch = dv.getInt16(PRODUCER_EPOCH_OFFSET);
    partitions.push({ topic: p.topic.name, partition: p.index });
  });
  return partitions.length === 0 ? null : { producerId, producerEpoch, partitions };
}

/**
 * Notes in each partition's producer state that `req`'s transactional batch waits to join the transaction
 * (ProducerStateTable.startJoining), so that a later request of the producer cannot overtake it there while it waits
 * or after it is refused. Called when the request arrives, before it waits behind an earlier one.
 */
export function noteJoining(b: Broker, apiVersion: number, req: ProduceRequest): void {
  if (!req.transactionalId) return;
  eachTransactionalBatch(b, apiVersion, req, (p, dv) => p.producers.startJoining(dv.getBigInt64(PRODUCER_ID_OFFSET), dv.getInt16(PRODUCER_EPOCH_OFFSET), dv.getInt32(BASE_SEQUENCE_OFFSET)));
}

/** Calls `each` with the partition and the first batch's header for every partition (known here) `req` writes a transactional batch to. */
function eachTransactionalBatch(b: Broker, apiVersion: number, req: ProduceRequest, each: (p: PartitionState, first: DataView) => void): void {
  for (const td of req.topicData) {
    const topic = apiVersion >= 13 ? b.topicsById.get(uuidHex(td.topicId!)) : b.topicsByName.get(td.name!);
    if (topic === undefined) continue;
    for (const pd of td.partitionData) {
      const records = pd.records as Uint8Array | null;
      const p = topic.partitions[pd.index];
      if (records === null || records.length < BATCH_HEADER_SIZE || p === undefined) continue;
      const dv = dataViewOf(records);
      if ((dv.getInt16(ATTRIBUTES_OFFSET) & ATTR_TRANSACTIONAL) !== 0) each(p, dv);
    }
  }
}
