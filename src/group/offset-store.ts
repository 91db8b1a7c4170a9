/**
 * The committed offsets of one group, by topic then partition, with Kafka's expiry rule (KIP-211): an offset
 * expires when its explicit expire timestamp has passed, or else when `retentionMs` has passed since a base time the
 * caller chooses (the commit time, or the time the group became empty).
 */
import type { OffsetCommitRecordValue } from "./offsets-topic-records.ts";

/** A committed offset with its metadata (the stored record value). */
export type CommittedOffset = OffsetCommitRecordValue;

/** A topic-partition of a group's offsets. */
export interface OffsetKey {
  /** Topic name. */
  topic: string;
  /** Partition index. */
  partition: number;
}

/** Most committed partitions one group may hold (a bound on memory per group). */
export const MAX_OFFSETS_PER_GROUP = 1_000_000;

/** Committed offsets of one group. */
export class GroupOffsets {
  private readonly byTopic = new Map<string, Map<number, CommittedOffset>>();
  private count = 0;

  /** Number of committed partitions. */
  get size(): number {
    return this.count;
  }

  /** The committed offset of a partition, or undefined. */
  get(topic: string, partition: number): CommittedOffset | undefined {
    return this.byTopic.get(topic)?.get(partition);
  }

  /** Whether the partition has a committed offset. */
  has(topic: string, partition: number): boolean {
    return this.get(topic, partition) !== undefined;
  }

  /** Stores a committed offset; false (and nothing stored) when the group is at {@link MAX_OFFSETS_PER_GROUP}. */
  set(topic: string, partition: number, value: CommittedOffset): boolean {
    let parts = this.byTopic.get(topic);
    if (parts === undefined) {
      if (this.count >= MAX_OFFSETS_PER_GROUP) return false;
      parts = new Map();
      this.byTopic.set(topic, parts);
    }
    if (!parts.has(partition)) {
      if (this.count >= MAX_OFFSETS_PER_GROUP) return false;
      this.count++;
    }
    parts.set(partition, value);
    return true;
  }

  /** Removes a committed offset; whether one was there. */
  delete(topic: string, partition: number): boolean {
    const parts = this.byTopic.get(topic);
    if (parts === undefined || !parts.delete(partition)) return false;
    this.count--;
    if (parts.size === 0) this.byTopic.delete(topic);
    return true;
  }

  /** Removes everything. */
  clear(): void {
    this.byTopic.clear();
    this.count = 0;
  }

  /** Topics with at least one committed offset. */
  topics(): string[] {
    return [...this.byTopic.keys()];
  }

  /** Committed offsets of one topic by partition (a live view; do not modify). */
  partitionsOf(topic: string): ReadonlyMap<number, CommittedOffset> | undefined {
    return this.byTopic.get(topic);
  }

  /** Every committed partition, topic by topic. */
  keys(): OffsetKey[] {
    const out: OffsetKey[] = [];
    for (const [topic, parts] of this.byTopic) for (const partition of parts.keys()) out.push({ topic, partition });
    return out;
  }

  /**
   * The partitions whose offsets have expired at `nowMs`: explicit expire timestamp passed, or `retentionMs` elapsed
   * since `baseOf(offset)`. Topics in `keepTopics` never expire (a live consumer group still subscribes to them).
   */
  expired(nowMs: number, retentionMs: number, baseOf: (c: CommittedOffset) => number, keepTopics: ReadonlySet<string> | null): OffsetKey[] {
    const out: OffsetKey[] = [];
    for (const [topic, parts] of this.byTopic) {
      if (keepTopics !== null && keepTopics.has(topic)) continue;
      for (const [partition, c] of parts) {
        const expired = c.expireTimestamp >= 0 ? nowMs >= c.expireTimestamp : nowMs - baseOf(c) >= retentionMs;
        if (expired) out.push({ topic, partition });
      }
    }
    return out;
  }
}
