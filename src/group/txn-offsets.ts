/**
 * Transactional offset commits (TxnOffsetCommit): offsets a transactional producer commits for a group are written
 * to `__consumer_offsets` in a transactional batch and held here, per producer, until the transaction's marker
 * reaches that partition: COMMIT makes them the group's committed offsets, ABORT drops them.
 */
import type { CommittedOffset } from "./offset-store.ts";
import type { OffsetToCommit } from "./group-requests.ts";

/** A TxnOffsetCommit as the group coordinator sees it. */
export interface TxnOffsetCommitInput {
  /** Group id. */
  groupId: string;
  /** The transactional producer. */
  producerId: bigint;
  /** Its epoch. */
  producerEpoch: number;
  /** v3+: generation, or -1 from outside group management. */
  generationId: number;
  /** v3+: member id, "" from outside group management. */
  memberId: string;
  /** v3+: static instance id, or null. */
  groupInstanceId: string | null;
  /** The offsets. */
  offsets: OffsetToCommit[];
}

/** One pending offset. */
export interface PendingTxnOffset {
  /** Group id. */
  groupId: string;
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** The offset as it will be committed. */
  value: CommittedOffset;
}

/** Most pending offsets held across all producers (a bound on memory). */
export const MAX_PENDING_TXN_OFFSETS = 1_000_000;

/** Pending transactional offsets by producer id, then by group/topic/partition (the last write wins). */
export class PendingTxnOffsets {
  private readonly byProducer = new Map<bigint, Map<string, PendingTxnOffset>>();
  private count = 0;

  /** Number of pending offsets. */
  get size(): number {
    return this.count;
  }

  /** Whether `n` more offsets fit under {@link MAX_PENDING_TXN_OFFSETS}. */
  hasRoomFor(n: number): boolean {
    return this.count + n <= MAX_PENDING_TXN_OFFSETS;
  }

  /** Holds an offset for `producerId`'s transaction. */
  add(producerId: bigint, o: PendingTxnOffset): void {
    let m = this.byProducer.get(producerId);
    if (m === undefined) {
      m = new Map();
      this.byProducer.set(producerId, m);
    }
    const key = `${o.groupId}\u0000${o.topic}\u0000${o.partition}`;
    if (!m.has(key)) this.count++;
    m.set(key, o);
  }

  /** Removes and returns the producer's offsets for which `inPartition(groupId)` holds. */
  take(producerId: bigint, inPartition: (groupId: string) => boolean): PendingTxnOffset[] {
    const m = this.byProducer.get(producerId);
    if (m === undefined) return [];
    const out: PendingTxnOffset[] = [];
    for (const [key, o] of m) {
      if (!inPartition(o.groupId)) continue;
      out.push(o);
      m.delete(key);
      this.count--;
    }
    if (m.size === 0) this.byProducer.delete(producerId);
    return out;
  }

  /** Drops every pending offset of the groups `inPartition` selects (their partition was unloaded). */
  dropAll(inPartition: (groupId: string) => boolean): void {
    for (const producerId of [...this.byProducer.keys()]) this.take(producerId, inPartition);
  }

  /** The partitions (topic, partition) with a pending offset of `groupId` in any producer's transaction, each once. */
  partitionsOf(groupId: string): { topic: string; partition: number }[] {
    const out = new Map<string, { topic: string; partition: number }>();
    for (const m of this.byProducer.values()) {
      for (const [key, o] of m) if (o.groupId === groupId && !out.has(key)) out.set(key, { topic: o.topic, partition: o.partition });
    }
    return [...out.values()];
  }

  /** Drops every producer's pending offset for the group's partition (an offset tombstone: OffsetDelete, DeleteGroups). */
  drop(groupId: string, topic: string, partition: number): void {
    const key = `${groupId}\u0000${topic}\u0000${partition}`;
    for (const [producerId, m] of [...this.byProducer]) {
      if (!m.delete(key)) continue;
      this.count--;
      if (m.size === 0) this.byProducer.delete(producerId);
    }
  }

  /** Whether any producer holds a pending offset for the group's partition (OffsetFetch requireStable). */
  has(groupId: string, topic: string, partition: number): boolean {
    const key = `${groupId}\u0000${topic}\u0000${partition}`;
    for (const m of this.byProducer.values()) if (m.has(key)) return true;
    return false;
  }
}
