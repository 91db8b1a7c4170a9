/**
 * The follower side of one fetch round for one partition, independent of the transport: where to fetch from
 * (the log end and the epoch of its last batch), and how to apply the leader's answer: truncate a divergent tail
 * when the leader answers a diverging epoch, else append the batches as they are (offsets and epochs set by the
 * leader), follow the leader's high watermark, and move the log start offset up to the leader's (Kafka's
 * ReplicaFetcherThread: retention and DeleteRecords on the leader reach every replica, so a follower elected
 * later does not serve what was deleted). A fetcher (one connection per leader broker, Fetch v15+ with
 * ReplicaState) drives it for every partition it follows.
 */
import type { Partition } from "../partition/partition.ts";
import { concatBytes } from "../protocol/wire.ts";
import { BATCH_HEADER_SIZE, BATCH_LENGTH_OFFSET, LOG_OVERHEAD, dataViewOf } from "../protocol/batch-layout.ts";

/** What a follower asks for next. */
export interface FollowerFetchPosition {
  /** Its log end offset. */
  fetchOffset: bigint;
  /** Epoch of its last batch, or -1 with no history. */
  lastFetchedEpoch: number;
}

/** One partition of the leader's Fetch response, as the follower needs it. */
export interface LeaderFetchAnswer {
  /** Kafka error code for the partition. */
  errorCode: number;
  /** The leader's high watermark. */
  highWatermark: bigint;
  /** Whole batches from the fetch offset (views), or null/empty. */
  records: Uint8Array | readonly Uint8Array[] | null;
  /** Set when the follower's last fetched epoch ends earlier on the leader. */
  divergingEpoch?: { epoch: number; endOffset: bigint } | null;
  /** The leader's log start offset (-1 or absent: not said). */
  logStartOffset?: bigint;
}

/** What applying an answer did. */
export type FollowerFetchOutcome =
  | { kind: "appended"; records: number; highWatermark: bigint }
  | { kind: "truncated"; to: bigint }
  | { kind: "error"; errorCode: number };

/** Where the follower fetches from next. */
export function followerFetchPosition(p: Partition): FollowerFetchPosition {
  return { fetchOffset: p.logEndOffset, lastFetchedEpoch: p.leaderEpochs.latestEpoch };
}

/**
 * Applies the leader's answer for one partition. A diverging epoch truncates the follower to where that epoch
 * ends on both sides (the smaller), or to its high watermark when the leader knows no such epoch (Kafka's rule);
 * records are appended with `appendAsFollower`, then the high watermark follows the leader's.
 */
export function applyLeaderAnswer(p: Partition, answer: LeaderFetchAnswer): FollowerFetchOutcome {
  if (answer.errorCode !== 0) return { kind: "error", errorCode: answer.errorCode };
  const d = answer.divergingEpoch;
  if (d !== undefined && d !== null && (d.epoch >= 0 || d.endOffset >= 0n)) {
    let to: bigint;
    if (d.endOffset < 0n) to = p.highWatermark;
    else {
      const mine = p.leaderEpochs.endOffsetFor(d.epoch, p.logEndOffset);
      to = mine.endOffset >= 0n && mine.endOffset < d.endOffset ? mine.endOffset : d.endOffset;
    }
    if (to > p.logEndOffset) to = p.logEndOffset;
    p.truncateTo(to);
    return { kind: "truncated", to: p.logEndOffset };
  }
  let records = 0;
  const chunks = answer.records === null ? [] : answer.records instanceof Uint8Array ? [answer.records] : answer.records;
  const bytes = wholeBatches(chunks.length === 1 ? chunks[0] : concatBytes(chunks));
  if (bytes.length > 0) {
    const r = p.appendAsFollower(bytes);
    records = Number(r.lastOffset - r.baseOffset + 1n);
  }
  p.updateHighWatermarkFromLeader(answer.highWatermark);
  // The leader's log start offset lies at or below the fetch offset (else it answers OFFSET_OUT_OF_RANGE) and its
  // high watermark, so at or below this follower's high watermark now; one moved by a later fetch waits for that.
  const leaderStart = answer.logStartOffset ?? -1n;
  if (leaderStart > p.log.logStartOffset && leaderStart <= p.highWatermark) p.log.deleteRecordsBefore(leaderStart);
  return { kind: "appended", records, highWatermark: p.highWatermark };
}

/** `bytes` without a trailing partial batch (a leader may cut the last batch at its byte limit). */
function wholeBatches(bytes: Uint8Array): Uint8Array {
  const dv = dataViewOf(bytes);
  let at = 0;
  while (at + LOG_OVERHEAD <= bytes.length) {
    const size = dv.getInt32(at + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
    if (size < BATCH_HEADER_SIZE || at + size > bytes.length) break;
    at += size;
  }
  return at === bytes.length ? bytes : bytes.subarray(0, at);
}
