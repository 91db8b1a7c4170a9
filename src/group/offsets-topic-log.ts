/**
 * {@link OffsetsTopicStorage} over the broker's real partition logs: `__consumer_offsets` is an ordinary
 * (compacted) topic created through the broker, written with the same append path as Produce (offsets assigned by
 * the log, high watermark moved, fetch waiters woken) and made durable with the log's group-commit fdatasync.
 *
 * The broker is reached through {@link OffsetsTopicHost}, which `Broker` satisfies structurally, so this layer does
 * not import the broker.
 */
import type { PartitionLog } from "../storage/partition-log.ts";
import { MAX_DECOMPRESSED_BYTES, codecById } from "../compression/index.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { OFFSETS_TOPIC, type OffsetsTopicStorage, type PartitionEndOffsets } from "./offsets-topic-storage.ts";

/** A partition of the offsets topic as the host keeps it. */
export interface OffsetsLogPartition {
  /** The partition's log. */
  readonly log: PartitionLog;
  /** Leader epoch stamped on appended batches. */
  readonly leaderEpoch: number;
}

/** What the broker offers this adapter (Broker implements it). */
export interface OffsetsTopicHost<P extends OffsetsLogPartition> {
  /** Topics by name. */
  readonly topicsByName: ReadonlyMap<string, { readonly partitions: readonly P[] }>;
  /** Creates a topic; throws a KafkaError on failure. */
  createTopic(name: string, partitions: number, replicationFactor: number, configs: Record<string, string>, validateOnly: boolean): unknown;
  /** Wakes fetches waiting on a partition after an append. */
  notifyAppend(p: P): void;
}

/** The broker-backed offsets topic; also answers log end offsets of user topics for lag. */
export class OffsetsTopicLog<P extends OffsetsLogPartition> implements OffsetsTopicStorage, PartitionEndOffsets {
  private readonly host: OffsetsTopicHost<P>;

  constructor(host: OffsetsTopicHost<P>) {
    this.host = host;
  }

  /** Partition count, or 0 when the topic does not exist. */
  partitionCount(): number {
    return this.host.topicsByName.get(OFFSETS_TOPIC)?.partitions.length ?? 0;
  }

  /** Creates the topic (replication factor 1 on a single node) when missing. */
  ensureTopic(partitions: number, configs: Record<string, string>): number {
    const n = this.partitionCount();
    if (n > 0) return n;
    this.host.createTopic(OFFSETS_TOPIC, partitions, 1, configs, false);
    return this.partitionCount();
  }

  /** Appends batches like a Produce with acks=all: visible at once, resolved once fdatasynced. */
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

  /** Decompresses a records section with the broker's codecs. */
  decompress(codecId: number, section: Uint8Array): Uint8Array {
    const c = codecById(codecId);
    if (c === null) throw new KafkaError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `unknown compression codec ${codecId}`);
    return c.decompress(section, MAX_DECOMPRESSED_BYTES);
  }

  /** High watermark of any topic's partition (what ListOffsets LATEST returns), or null when unknown. */
  logEndOffset(topic: string, partition: number): bigint | null {
    return this.host.topicsByName.get(topic)?.partitions[partition]?.log.highWatermark ?? null;
  }

  private partition(index: number): P {
    const p = this.host.topicsByName.get(OFFSETS_TOPIC)?.partitions[index];
    if (p === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${OFFSETS_TOPIC}-${index} does not exist`);
    return p;
  }
}
