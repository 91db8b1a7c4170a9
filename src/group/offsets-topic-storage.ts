/**
 * What the group coordinator needs from the `__consumer_offsets` topic and from user topics, as small interfaces:
 * the broker implements them over its partition logs ({@link OffsetsTopicLog}); unit tests use an in-memory one.
 */

/** Name of the internal topic holding groups and offsets. */
export const OFFSETS_TOPIC = "__consumer_offsets";

/** The `__consumer_offsets` topic as the coordinator uses it; the broker implements it over its partition logs. */
export interface OffsetsTopicStorage {
  /** Partition count of the topic, or 0 when it does not exist yet. */
  partitionCount(): number;
  /** Creates the topic (compacted) with `partitions` partitions when missing; returns its partition count. */
  ensureTopic(partitions: number, configs: Record<string, string>): number;
  /**
   * Appends record batches to a partition. Throws (synchronously) when the write fails; the promise settles once
   * the records are durable.
   */
  append(partition: number, batches: Uint8Array): Promise<void>;
  /** Reads whole batches from `offset` (clamped to the log start), about `maxBytes` at most, for loading. */
  read(partition: number, offset: bigint, maxBytes: number): { chunks: Uint8Array[]; nextOffset: bigint; endOffset: bigint };
  /** Decompresses a compressed records section (codec id 1-4); absent = compressed batches are skipped. */
  decompress?(codecId: number, section: Uint8Array): Uint8Array;
  /** Resolves once all of `partition`'s log now is committed (replicated to the ISR) and durable; absent: at once. */
  whenLogCommitted?(partition: number): Promise<void>;
}

/** Log end offsets of user topics, for lag. */
export interface PartitionEndOffsets {
  /** The high watermark of a partition, or null when the topic or partition is unknown. */
  logEndOffset(topic: string, partition: number): bigint | null;
}
