/** The properties checked after every simulation run; each returns the violations it found (empty = holds). */
import type { ReadRecord } from "./records.ts";

/** A record acknowledged to an acks=all producer. */
export interface AckedRecord {
  /** Producer index in the run. */
  producer: number;
  /** Whether the producer was idempotent (then the record must appear exactly once). */
  idempotent: boolean;
  /** The record's unique value. */
  value: string;
  /** The offset the acknowledgement gave it. */
  offset: bigint;
}

/**
 * Every acks=all acknowledged record is in `log` at its acknowledged offset; an idempotent producer's appears only
 * once; each producer's acknowledged records are in acknowledgement order.
 */
export function checkAcknowledged(acked: readonly AckedRecord[], log: readonly ReadRecord[]): string[] {
  const out: string[] = [];
  const at = new Map<bigint, string>();
  const count = new Map<string, number>();
  for (const r of log) {
    at.set(r.offset, r.value);
    count.set(r.value, (count.get(r.value) ?? 0) + 1);
  }
  const lastOffset = new Map<number, bigint>();
  for (const a of acked) {
    const found = at.get(a.offset);
    if (found !== a.value) out.push(`acks=all record ${a.value} acknowledged at offset ${a.offset} is missing (offset holds ${found ?? "nothing"})`);
    if (a.idempotent && (count.get(a.value) ?? 0) > 1) out.push(`idempotent record ${a.value} appears ${count.get(a.value)} times`);
    const prev = lastOffset.get(a.producer);
    if (prev !== undefined && a.offset <= prev) out.push(`producer ${a.producer}: ${a.value} acknowledged at ${a.offset}, not after its previous record at ${prev}`);
    lastOffset.set(a.producer, a.offset);
  }
  return out;
}

/** A consumer never receives a record at or past the high watermark it was served under. */
export function checkReadBelowHighWatermark(read: readonly ReadRecord[], highWatermark: bigint, who: string): string[] {
  const past = read.find((r) => r.offset >= highWatermark);
  return past === undefined ? [] : [`${who} read offset ${past.offset} (${past.value}) at or past the high watermark ${highWatermark}`];
}

/** Two replicas hold the same bytes below `upTo`. */
export function checkReplicasAgree(a: Uint8Array, b: Uint8Array, upTo: string): string[] {
  if (a.length === b.length && Buffer.from(a).equals(Buffer.from(b))) return [];
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return [`replicas differ below ${upTo}: byte ${i} (lengths ${a.length} and ${b.length})`];
}

/**
 * What a read_committed Kafka consumer keeps of `read` given the fetch's aborted-transaction list: no control
 * records, and no record of a producer from an aborted transaction's first offset up to its ABORT marker.
 */
export function readCommittedView(read: readonly ReadRecord[], aborted: readonly { producerId: bigint; firstOffset: bigint }[]): ReadRecord[] {
  const pending = [...aborted].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : 1));
  const abortedProducers = new Set<bigint>();
  const out: ReadRecord[] = [];
  for (const r of read) {
    while (pending.length > 0 && pending[0].firstOffset <= r.offset) abortedProducers.add(pending.shift()!.producerId);
    if (r.control) {
      abortedProducers.delete(r.producerId); // the marker ends that producer's transaction either way
      continue;
    }
    if (r.transactional && abortedProducers.has(r.producerId)) continue;
    out.push(r);
  }
  return out;
}

/** No record of an aborted transaction is visible to read_committed, and nothing at or past the last stable offset. */
export function checkReadCommitted(visible: readonly ReadRecord[], lastStableOffset: bigint, abortedValues: ReadonlySet<string>, who: string): string[] {
  const out: string[] = [];
  for (const r of visible) {
    if (r.offset >= lastStableOffset) out.push(`${who} (read_committed) read offset ${r.offset} (${r.value}) at or past the last stable offset ${lastStableOffset}`);
    if (abortedValues.has(r.value)) out.push(`${who} (read_committed) saw ${r.value} at ${r.offset}, a record of an aborted transaction`);
  }
  return out.slice(0, 3);
}

/** One OffsetCommit of one partition, in the order the clients sent them (one at a time per partition). */
export interface OffsetCommitAttempt {
  /** The offset committed. */
  value: bigint;
  /** Whether the broker answered it with no error. */
  acked: boolean;
  /** The member that sent it. */
  who: string;
}

/**
 * Committed offsets never go backwards: an OffsetFetch answers the last commit acknowledged before it was sent
 * (`lastAcked`, an index into `commits`) or a commit sent after that one; with no acknowledged commit, -1 or any
 * commit sent. An acknowledged commit lost, or replaced by an older value, after a recovery breaks this.
 */
export function checkCommittedOffset(commits: readonly OffsetCommitAttempt[], lastAcked: number, fetched: bigint, who: string): string[] {
  if (lastAcked < 0) {
    if (fetched === -1n || commits.some((c) => c.value === fetched)) return [];
    return [`${who}: answered ${fetched}, an offset nobody committed`];
  }
  for (let i = lastAcked; i < commits.length; i++) if (commits[i].value === fetched) return [];
  const a = commits[lastAcked];
  return [`${who}: committed offset went back to ${fetched}; the commit of ${a.value} by ${a.who} (#${lastAcked + 1}) was acknowledged before this fetch`];
}

/**
 * Committed offsets never go backwards, by value: an OffsetFetch answers at least `ackedBefore`, the highest commit
 * acknowledged before it was sent (-1 when none), and only an offset some member committed (or -1 before any
 * acknowledged commit). Used where a commit that got no answer may still be applied later (a request timed out on a
 * connection the broker still reads): positions only move forward, so such a late commit is never below an
 * acknowledged one of a later generation unless the coordinator lost or replaced it.
 */
export function checkCommittedOffsetNotOlder(commits: readonly OffsetCommitAttempt[], ackedBefore: bigint, fetched: bigint, who: string): string[] {
  if (fetched === -1n && ackedBefore < 0n) return [];
  if (!commits.some((c) => c.value === fetched)) return [`${who}: answered ${fetched}, an offset nobody committed`];
  if (fetched < ackedBefore) return [`${who}: committed offset went back to ${fetched}; a commit of ${ackedBefore} was acknowledged before this fetch`];
  return [];
}

/** What consumers read below the high watermark (`seen`: offset -> value) is still in `log`, unchanged. */
export function checkReadRecordsStay(seen: ReadonlyMap<bigint, string>, log: readonly ReadRecord[]): string[] {
  const at = new Map(log.map((r) => [r.offset, r.value]));
  for (const [offset, value] of seen) {
    if (at.get(offset) !== value) return [`a consumer read ${value} at ${offset} below the high watermark, but the log now holds ${at.get(offset) ?? "nothing"} there`];
  }
  return [];
}
