/**
 * What the log cleaner knows of transactions while it walks a log's batches in offset order, after Kafka's
 * CleanedTransactionMetadata (LogCleaner.scala):
 * - the aborted transactions of the segments walked (from the aborted-transaction index) are fed in, and a
 *   transaction becomes "ongoing aborted" for its producer once the walk reaches its first offset;
 * - a transactional data batch of an ongoing aborted transaction may be discarded (its records never count as
 *   keys' latest values); any other transactional batch opens a committed transaction for its producer;
 * - an ABORT marker must stay while any batch of its transaction was seen in this walk (its index entry stays too);
 *   a COMMIT marker must stay while a batch of its transaction was seen; a marker whose transaction left no batch
 *   (and an empty control batch) may go, after its delete horizon (the caller's business).
 */
import { ControlRecordType } from "../protocol/control-record.ts";

/** One aborted transaction as the aborted-transaction index (`.txnindex`) holds it. */
export interface CleanerAbortedTxn {
  /** The producer. */
  producerId: bigint;
  /** Offset of its first record. */
  firstOffset: bigint;
  /** Offset of its ABORT marker. */
  lastOffset: bigint;
  /** Last stable offset right after the marker. */
  lastStableOffset: bigint;
}

/** Most aborted transactions one walk tracks (the aborted-transaction index holds at most a million per partition). */
export const MAX_CLEANER_ABORTED_TXNS = 1_000_000;

/** The transaction state of one cleaner walk (the map phase and the rewrite phase each have their own). */
export class CleanerTxnState {
  /** Fed aborted transactions not yet reached, by first offset (ascending); `next` is the first not consumed. */
  private pending: CleanerAbortedTxn[] = [];
  private next = 0;
  /** Marker offsets of the aborted transactions fed so far (a transaction spanning segments is fed once per segment). */
  private readonly fed = new Set<bigint>();
  /** Producer -> its ongoing aborted transaction and whether a batch of it was seen. */
  private readonly ongoingAborted = new Map<bigint, { txn: CleanerAbortedTxn; seen: boolean }>();
  /** Producers with a committed (or still open) transaction whose batches were seen. */
  private readonly ongoingCommitted = new Set<bigint>();
  /** Aborted transactions whose ABORT marker stays (for the cleaned segment's `.txnindex`), since the last {@link takeKept}. */
  private kept: CleanerAbortedTxn[] = [];

  /** Adds the aborted transactions of the next stretch of the walk (Kafka: collectAbortedTransactions over a segment). */
  addAborted(txns: readonly CleanerAbortedTxn[]): void {
    let added = false;
    for (const t of txns) {
      if (this.fed.has(t.lastOffset)) continue;
      if (this.fed.size >= MAX_CLEANER_ABORTED_TXNS) throw new Error(`more than ${MAX_CLEANER_ABORTED_TXNS} aborted transactions in one cleaner pass`);
      this.fed.add(t.lastOffset);
      this.pending.push(t);
      added = true;
    }
    if (!added) return;
    const rest = this.pending.slice(this.next).sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
    this.pending = rest;
    this.next = 0;
  }

  /**
   * A data batch (not control) ending at `lastOffset` was reached; returns whether it belongs to an aborted
   * transaction (its records may all go).
   */
  onDataBatch(producerId: bigint, transactional: boolean, lastOffset: bigint): boolean {
    this.consumeUpTo(lastOffset);
    if (!transactional) return false;
    const aborted = this.ongoingAborted.get(producerId);
    if (aborted !== undefined) {
      aborted.seen = true;
      return true;
    }
    this.ongoingCommitted.add(producerId);
    return false;
  }

  /**
   * A control batch ending at `lastOffset` was reached, its first record of type `type` (a ControlRecordType; -1
   * for an empty control batch); returns whether the marker may be discarded once its delete horizon has passed.
   */
  onControlBatch(producerId: bigint, type: number, lastOffset: bigint): boolean {
    this.consumeUpTo(lastOffset);
    if (type < 0) return true;
    if (type === ControlRecordType.ABORT) {
      const aborted = this.ongoingAborted.get(producerId);
      this.ongoingAborted.delete(producerId);
      if (aborted !== undefined && aborted.seen) {
        this.kept.push(aborted.txn);
        return false;
      }
      return true;
    }
    if (type === ControlRecordType.COMMIT) return !this.ongoingCommitted.delete(producerId);
    return false;
  }

  /** The aborted transactions whose markers stayed since the last call, in marker order. */
  takeKept(): CleanerAbortedTxn[] {
    const out = this.kept;
    this.kept = [];
    return out;
  }

  private consumeUpTo(offset: bigint): void {
    while (this.next < this.pending.length && this.pending[this.next].firstOffset <= offset) {
      const t = this.pending[this.next++];
      if (!this.ongoingAborted.has(t.producerId)) this.ongoingAborted.set(t.producerId, { txn: t, seen: false });
    }
  }
}
