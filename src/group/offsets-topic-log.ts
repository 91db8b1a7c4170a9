/**
 * {@link OffsetsTopicStorage} over the broker's real partition logs: `__consumer_offsets` is an ordinary
 * (compacted) topic created through the broker, written with the same append path as Produce (offsets assigned by
 * the log, high watermark moved, fetch waiters woken) and made durable with the log's group-commit fdatasync.
 *
 * The broker is reached through {@link OffsetsTopicHost}, which `Broker` satisfies structurally, so this layer does
 * not import the broker.
 */
import { InternalTopicLog, type InternalTopicHost, type InternalTopicPartition } from "../storage/internal-topic-log.ts";
import { MAX_DECOMPRESSED_BYTES, codecById } from "../compression/index.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { OFFSETS_TOPIC, type OffsetsTopicStorage, type PartitionEndOffsets } from "./offsets-topic-storage.ts";

/** A partition of the offsets topic as the host keeps it. */
export type OffsetsLogPartition = InternalTopicPartition;

/** What the broker offers this adapter (Broker implements it). */
export type OffsetsTopicHost<P extends OffsetsLogPartition> = InternalTopicHost<P>;

/** The broker-backed offsets topic; also answers log end offsets of user topics for lag. */
export class OffsetsTopicLog<P extends OffsetsLogPartition> extends InternalTopicLog<P> implements OffsetsTopicStorage, PartitionEndOffsets {
  constructor(host: OffsetsTopicHost<P>) {
    super(host, OFFSETS_TOPIC);
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
}
