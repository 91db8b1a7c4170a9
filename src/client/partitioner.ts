/**
 * The Java client's default partitioning: a keyed record goes to `toPositive(murmur2(key)) % numPartitions`
 * (Kafka's `Utils.murmur2`, so keys land on the same partitions as with the Java client, librdkafka's
 * `murmur2_random` and kafkajs's default partitioner); a record without a key sticks to one partition until about
 * `batch.size` bytes were sent to it, then moves to another (KIP-480 / KIP-794 uniform sticky partitioning).
 */
import { systemRandom } from "../platform/random.ts";

/** Seed of Kafka's murmur2. */
const MURMUR2_SEED = 0x9747b28c;
/** Multiplier of Kafka's murmur2. */
const MURMUR2_M = 0x5bd1e995;
/** Shift of Kafka's murmur2. */
const MURMUR2_R = 24;

/** Kafka's 32-bit murmur2 hash of `data` as a signed int32 (same value as the Java client's `Utils.murmur2`). */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (MURMUR2_SEED ^ length) | 0;
  const blocks = length >>> 2;
  for (let i = 0; i < blocks; i++) {
    const at = i << 2;
    let k = data[at] | (data[at + 1] << 8) | (data[at + 2] << 16) | (data[at + 3] << 24);
    k = Math.imul(k, MURMUR2_M);
    k ^= k >>> MURMUR2_R;
    k = Math.imul(k, MURMUR2_M);
    h = Math.imul(h, MURMUR2_M);
    h ^= k;
  }
  const tail = length & ~3;
  switch (length & 3) {
    case 3:
      h ^= data[tail + 2] << 16;
    // falls through
    case 2:
      h ^= data[tail + 1] << 8;
    // falls through
    case 1:
      h ^= data[tail];
      h = Math.imul(h, MURMUR2_M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, MURMUR2_M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's `Utils.toPositive`: clears the sign bit (not Math.abs, which fails for -2^31). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** The partition the Java client's default partitioner picks for a non-null key. */
export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  if (!Number.isInteger(numPartitions) || numPartitions <= 0) throw new RangeError(`numPartitions ${numPartitions} must be positive`);
  return toPositive(murmur2(key)) % numPartitions;
}

/** Chooses partitions for records that do not name one. */
export interface Partitioner {
  /**
   * The partition for a record of `topic` with `key`; `available` lists partitions that have a leader (may be
   * empty, then any partition below `numPartitions` may be chosen).
   */
  partition(topic: string, key: Uint8Array | null, numPartitions: number, available: readonly number[]): number;
  /**
   * Tells the partitioner that `bytes` were appended to `partition` of `topic` (drives sticky switching);
   * `batchesFull`: the partition has no open batch with room left.
   */
  onAppend(topic: string, partition: number, bytes: number, batchesFull: boolean): void;
  /**
   * Called for a record without key or partition that `partition` chose when the partition's open batch cannot
   * take it (or there is none), before it opens a new batch there; true if the partitioner moved to another
   * partition, which the producer then asks for with {@link partition}.
   */
  onNewBatch?(topic: string, partition: number): boolean;
}

/** Per-topic state of the sticky choice for keyless records. */
interface StickyState {
  /** The current sticky partition, or -1 when a new one must be chosen. */
  partition: number;
  /** The partition to avoid when choosing the next one (the one just left), or -1. */
  previous: number;
  /** Bytes appended to the current partition since it was chosen. */
  bytes: number;
}

/**
 * The default partitioner: murmur2 for keys, uniform sticky for null keys. The sticky partition changes to a random
 * other available partition once at least `batchSize` bytes were appended to it and its batches are full (the
 * next record would open a new batch), or at `2 * batchSize` bytes in any case, as KIP-794's partitioner in the
 * Java client does: a switch in the middle of a batch would leave that batch part-filled, waiting for linger.ms.
 */
export class DefaultPartitioner implements Partitioner {
  private readonly batchSize: number;
  private readonly random: () => number;
  private readonly sticky = new Map<string, StickyState>();

  /** `random` returns a number in [0, 1) (injectable for tests). */
  constructor(batchSize: number, random: () => number = systemRandom.float) {
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new RangeError(`batchSize ${batchSize} must be positive`);
    this.batchSize = batchSize;
    this.random = random;
  }

  /** See {@link Partitioner.partition}. */
  partition(topic: string, key: Uint8Array | null, numPartitions: number, available: readonly number[]): number {
    if (key !== null) return partitionForKey(key, numPartitions);
    if (!Number.isInteger(numPartitions) || numPartitions <= 0) throw new RangeError(`numPartitions ${numPartitions} must be positive`);
    let s = this.sticky.get(topic);
    if (s === undefined) {
      s = { partition: -1, previous: -1, bytes: 0 };
      this.sticky.set(topic, s);
    }
    const usable = s.partition >= 0 && s.partition < numPartitions && (available.length === 0 || available.includes(s.partition));
    if (!usable) {
      s.partition = this.pick(numPartitions, available, s.previous);
      s.bytes = 0;
    }
    return s.partition;
  }

  /** See {@link Partitioner.onAppend}. */
  onAppend(topic: string, partition: number, bytes: number, batchesFull: boolean): void {
    const s = this.sticky.get(topic);
    if (s === undefined || s.partition !== partition) return;
    s.bytes += bytes;
    if ((batchesFull && s.bytes >= this.batchSize) || s.bytes >= 2 * this.batchSize) this.leave(s);
  }

  /** See {@link Partitioner.onNewBatch}. */
  onNewBatch(topic: string, partition: number): boolean {
    const s = this.sticky.get(topic);
    if (s === undefined || s.partition !== partition || s.bytes < this.batchSize) return false;
    this.leave(s);
    return true;
  }

  /** Gives up the sticky partition; the next keyless record picks another. */
  private leave(s: StickyState): void {
    s.previous = s.partition;
    s.partition = -1;
    s.bytes = 0;
  }

  /** The sticky partition of `topic` now, or -1 when none is chosen (for tests and metrics). */
  stickyPartition(topic: string): number {
    return this.sticky.get(topic)?.partition ?? -1;
  }

  /** A random partition among `available` (or all), other than `avoid` when there is a choice. */
  private pick(numPartitions: number, available: readonly number[], avoid: number): number {
    const count = available.length > 0 ? available.length : numPartitions;
    const at = (i: number) => (available.length > 0 ? available[i] : i);
    const skip = count > 1 && avoid >= 0 && (available.length === 0 ? avoid < numPartitions : available.includes(avoid));
    const choices = skip ? count - 1 : count;
    let i = Math.min(choices - 1, Math.floor(this.random() * choices));
    if (skip) {
      // Map the i-th choice onto the candidates with `avoid` left out.
      const avoidIndex = available.length > 0 ? available.indexOf(avoid) : avoid;
      if (i >= avoidIndex) i++;
    }
    return at(i);
  }
}
