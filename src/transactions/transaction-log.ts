/**
 * The `__transaction_state` topic as the coordinator uses it ({@link TransactionLogStorage}), and its
 * implementation over the broker's partition logs ({@link TransactionStateLog}): an ordinary compacted internal
 * topic created through the broker, written with the same append path as Produce and made durable with the log's
 * group-commit fdatasync. The broker is reached through {@link TransactionLogHost}, which `Broker` satisfies
 * structurally, so this layer does not import the broker.
 */
import { InternalTopicLog, type InternalTopicHost, type InternalTopicPartition } from "../storage/internal-topic-log.ts";

/** Name of the internal topic holding transaction state. */
export const TRANSACTION_STATE_TOPIC = "__transaction_state";

/** The `__transaction_state` topic as the coordinator uses it; unit tests use an in-memory one. */
export interface TransactionLogStorage {
  /** Partition count, or 0 when the topic does not exist yet. */
  partitionCount(): number;
  /** Creates the topic with `partitions` partitions when missing; returns its partition count. */
  ensureTopic(partitions: number, configs: Record<string, string>): number;
  /** Appends record batches; throws (synchronously) when the write fails, settles once durable. */
  append(partition: number, batches: Uint8Array): Promise<void>;
  /** Reads whole batches from `offset` (clamped to the log start), about `maxBytes` at most, for loading. */
  read(partition: number, offset: bigint, maxBytes: number): { chunks: Uint8Array[]; nextOffset: bigint; endOffset: bigint };
  /** Resolves once all of `partition`'s log now is committed (replicated to the ISR) and durable; absent: at once. */
  whenLogCommitted?(partition: number): Promise<void>;
  /** The coordinator epoch of `partition` (its leader epoch here), written on markers; absent: a constant. */
  coordinatorEpoch?(partition: number): number;
}

/** A partition as the host keeps it. */
export type TransactionLogPartition = InternalTopicPartition;

/** What the broker offers this adapter (Broker implements it). */
export type TransactionLogHost<P extends TransactionLogPartition> = InternalTopicHost<P>;

/** The broker-backed `__transaction_state`. */
export class TransactionStateLog<P extends TransactionLogPartition> extends InternalTopicLog<P> implements TransactionLogStorage {
  constructor(host: TransactionLogHost<P>) {
    super(host, TRANSACTION_STATE_TOPIC);
  }

  /** The leader epoch of `partition` as this broker knows it: markers carry it so that a stale coordinator's are refused. */
  coordinatorEpoch(partition: number): number {
    return this.partition(partition).leaderEpoch;
  }
}
