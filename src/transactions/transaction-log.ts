/**
 * The `__transaction_state` topic as the coordinator uses it ({@link TransactionLogStorage}), and its
 * implementation over the broker's partition logs ({@link TransactionStateLog}): an ordinary compacted internal
 * topic created through the broker, written with the same append path as Produce and made durable with the log's
 * group-commit fdatasync. The broker is reached through {@link TransactionLogHost}, which `Broker` satisfies
 * structurally, so this layer does not import the broker.
 */
import type { PartitionLog } from "../storage/partition-log.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";

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
}

/** A partition as the host keeps it. */
export interface TransactionLogPartition {
  /** The partition's log. */
  readonly log: PartitionLog;
  /** Leader epoch stamped on appended batches. */
  readonly leaderEpoch: number;
}

/** What the broker offers this adapter (Broker implements it). */
export interface TransactionLogHost<P extends TransactionLogPartition> {
  /** Topics by name. */
  readonly topicsByName: ReadonlyMap<string, { readonly partitions: readonly P[] }>;
  /** Creates a topic; throws a KafkaError on failure. */
  createTopic(name: string, partitions: number, replicationFactor: number, configs: Record<string, string>, validateOnly: boolean): unknown;
  /** Wakes fetches waiting on a partition after an append. */
  notifyAppend(p: P): void;
}

/** The broker-backed `__transaction_state`. */
export class TransactionStateLog<P extends TransactionLogPartition> implements TransactionLogStorage {
  private readonly host: TransactionLogHost<P>;

  constructor(host: TransactionLogHost<P>) {
    this.host = host;
  }

  /** Partition count, or 0 when the topic does not exist. */
  partitionCount(): number {
    return this.host.topicsByName.get(TRANSACTION_STATE_TOPIC)?.partitions.length ?? 0;
  }

  /** Creates the topic (replication factor 1 on a single node) when missing. */
  ensureTopic(partitions: number, configs: Record<string, string>): number {
    const n = this.partitionCount();
    if (n > 0) return n;
    this.host.createTopic(TRANSACTION_STATE_TOPIC, partitions, 1, configs, false);
    return this.partitionCount();
  }

  /** Appends like a Produce with acks=all: visible at once, resolved once fdatasynced. */
  append(partition: number, batches: Uint8Array): Promise<void> {
    const p = this.partition(partition);
    p.log.append(batches, { leaderEpoch: p.leaderEpoch });
    p.log.highWatermark = p.log.logEndOffset;
    this.host.notifyAppend(p);
    return p.log.sync();
  }

  /** Reads batches from `offset` (clamped to the log start offset). */
  read(partition: number, offset: bigint, maxBytes: number): { chunks: Uint8Array[]; nextOffset: bigint; endOffset: bigint } {
    const log = this.partition(partition).log;
    const from = offset < log.logStartOffset ? log.logStartOffset : offset;
    const r = log.read(from, maxBytes, true);
    return { chunks: r.chunks, nextOffset: r.nextOffset, endOffset: r.logEndOffset };
  }

  private partition(index: number): P {
    const p = this.host.topicsByName.get(TRANSACTION_STATE_TOPIC)?.partitions[index];
    if (p === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${TRANSACTION_STATE_TOPIC}-${index} does not exist`);
    return p;
  }
}
