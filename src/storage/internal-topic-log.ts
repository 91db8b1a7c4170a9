/**
 * An internal topic (`__consumer_offsets`, `__transaction_state`) as its coordinator uses it: created through
 * the broker, written with the same append path as Produce (the partition's leader write path: offsets assigned,
 * high watermark moved, fetch waiters woken), settled like acks=all (high watermark passed and fdatasynced), and
 * read back batch by batch when the coordinator loads. The broker is reached through {@link InternalTopicHost}, which `Broker` satisfies
 * structurally, so the coordinators' layers never import the broker.
 */
import type { PartitionLog } from "./partition-log.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";

/** A partition of an internal topic as the host keeps it (src/partition's Partition satisfies it). */
export interface InternalTopicPartition {
  /** The partition's log (reads). */
  readonly log: PartitionLog;
  /** The in-sync replicas now. */
  readonly isr: readonly number[];
  /** The leader epoch this broker knows. */
  readonly leaderEpoch: number;
  /** The ISR size an acks=all write needs for `min.insync.replicas` (at most the replica count). */
  effectiveMinIsr(minInsyncReplicas: number): number;
  /** The leader write path: offsets assigned, producer state and high watermark moved, fetches woken. */
  appendAsLeader(records: Uint8Array): { lastOffset: bigint };
  /**
   * Resolves once the high watermark passed `offset` and the data is durable (the acks=all wait); rejects with
   * NOT_ENOUGH_REPLICAS_AFTER_APPEND when fewer than `minInsyncReplicas` are in sync by then.
   */
  whenCommitted(offset: bigint, minInsyncReplicas?: number): Promise<void>;
}

/** What the broker offers an internal topic (Broker implements it). */
export interface InternalTopicHost<P extends InternalTopicPartition> {
  /** Topics by name. */
  readonly topicsByName: ReadonlyMap<string, { readonly partitions: readonly P[]; readonly config: { readonly minInsyncReplicas: number } }>;
  /** Replication factor to create internal topic `topic` with (its Kafka setting, at most the brokers there are). */
  internalTopicReplicationFactor(topic: string): number;
  /** Creates a topic; rejects with a KafkaError on failure. */
  createTopic(name: string, partitions: number, replicationFactor: number, configs: Record<string, string>, validateOnly: boolean): Promise<unknown>;
}

/** One internal topic over the broker's partition logs. */
export class InternalTopicLog<P extends InternalTopicPartition> {
  /** The topic's name. */
  readonly topic: string;
  /** The broker. */
  protected readonly host: InternalTopicHost<P>;
  private creating = false;

  constructor(host: InternalTopicHost<P>, topic: string) {
    this.host = host;
    this.topic = topic;
  }

  /** Partition count, or 0 when the topic does not exist. */
  partitionCount(): number {
    return this.host.topicsByName.get(this.topic)?.partitions.length ?? 0;
  }

  /**
   * The topic's partition count. When the topic is missing this starts creating it (with the host's replication
   * factor for it: 1 on a single node, up to `offsets.topic.replication.factor` or
   * `transaction.state.log.replication.factor` in a cluster) and throws COORDINATOR_NOT_AVAILABLE until the creation is durable, as Kafka answers while it
   * creates an internal topic; the broker's `ensureInternalTopic` waits for the creation instead.
   */
  ensureTopic(partitions: number, configs: Record<string, string>): number {
    const n = this.partitionCount();
    if (n > 0) return n;
    if (!this.creating) {
      this.creating = true;
      this.host.createTopic(this.topic, partitions, this.host.internalTopicReplicationFactor(this.topic), configs, false).then(
        () => (this.creating = false),
        () => (this.creating = false), // the next call tries again; the broker logged why
      );
    }
    throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${this.topic} is being created`);
  }

  /**
   * Appends batches like a Produce with acks=all, as Kafka's coordinators do: refused with NOT_ENOUGH_REPLICAS
   * (synchronously) when fewer replicas than the topic's `min.insync.replicas` (at most its replica count) are in sync, visible at once, resolved
   * once the high watermark passed them and they are fdatasynced.
   */
  append(partition: number, batches: Uint8Array): Promise<void> {
    const p = this.partition(partition);
    const minIsr = this.host.topicsByName.get(this.topic)!.config.minInsyncReplicas;
    if (p.isr.length < p.effectiveMinIsr(minIsr)) throw new KafkaError(ErrorCode.NOT_ENOUGH_REPLICAS, `${this.topic}-${partition}: min.insync.replicas=${minIsr} but only ${p.isr.length} replica(s) in sync`);
    return p.whenCommitted(p.appendAsLeader(batches).lastOffset + 1n, minIsr);
  }

  /**
   * Resolves once everything in the partition's log now is committed (the high watermark at today's log end offset)
   * and durable; rejects when the partition goes or this broker stops leading it. A coordinator that loaded the log
   * waits for this before it answers from what it loaded: a tail its followers never got (a leader restarted after a
   * power cut, not yet deposed) is not the state of the partition.
   */
  whenLogCommitted(partition: number): Promise<void> {
    const p = this.partition(partition);
    return p.whenCommitted(p.log.logEndOffset);
  }

  /** Reads whole batches from `offset` (clamped to the log start offset), about `maxBytes` at most. */
  read(partition: number, offset: bigint, maxBytes: number): { chunks: Uint8Array[]; nextOffset: bigint; endOffset: bigint } {
    const log = this.partition(partition).log;
    const from = offset < log.logStartOffset ? log.logStartOffset : offset;
    const r = log.read(from, maxBytes, true);
    return { chunks: r.chunks, nextOffset: r.nextOffset, endOffset: r.logEndOffset };
  }

  /** The partition, or UNKNOWN_TOPIC_OR_PARTITION. */
  protected partition(index: number): P {
    const p = this.host.topicsByName.get(this.topic)?.partitions[index];
    if (p === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${this.topic}-${index} does not exist`);
    return p;
  }
}
