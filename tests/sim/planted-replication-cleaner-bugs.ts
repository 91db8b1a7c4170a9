/**
 * Planted bugs on the replication side of the log cleaner, retention and DeleteRecords, for the cluster simulation
 * with `cleaning` (cluster.ts, cleaning-workload.ts): each undoes one rule Kafka keeps and 07a7426 brought to Runnel.
 * Each returns the function that removes it.
 */
import { Partition } from "../../src/partition/partition.ts";
import { PartitionLog } from "../../src/storage/partition-log.ts";

/**
 * A follower ignores the leader's log start offset in its fetch answers (Runnel before 07a7426): DeleteRecords and
 * retention move the leader's log start only, so a follower elected later serves deleted records again. The
 * follower's move (applyLeaderAnswer) comes right after `updateHighWatermarkFromLeader`, in the same turn: a
 * `deleteRecordsBefore` on that log in that turn is dropped.
 */
export function plantFollowerIgnoresLeaderLogStart(): () => void {
  const part = Partition.prototype as unknown as { updateHighWatermarkFromLeader(this: Partition, hw: bigint): void };
  const log = PartitionLog.prototype as unknown as { deleteRecordsBefore(this: PartitionLog, offset: bigint): bigint };
  const [update, del] = [part.updateHighWatermarkFromLeader, log.deleteRecordsBefore];
  let following: PartitionLog | null = null;
  part.updateHighWatermarkFromLeader = function (hw) {
    update.call(this, hw);
    following = this.log;
    queueMicrotask(() => (following = null));
  };
  log.deleteRecordsBefore = function (offset) {
    if (following === this) return this.logStartOffset;
    return del.call(this, offset);
  };
  return () => {
    [part.updateHighWatermarkFromLeader, log.deleteRecordsBefore] = [update, del];
  };
}

/**
 * DeleteRecords answers as soon as the leader moved its own log start offset, with it as the low watermark, before
 * the followers moved theirs (Runnel before 07a7426; Kafka's DelayedDeleteRecords waits for them).
 */
export function plantDeleteRecordsAnsweredBeforeReplicas(): () => void {
  const part = Partition.prototype as unknown as { whenLowWatermarkReaches(this: Partition, offset: bigint, timeoutMs: number): Promise<bigint> };
  const real = part.whenLowWatermarkReaches;
  part.whenLowWatermarkReaches = function () {
    this.checkLeader();
    return Promise.resolve(this.log.logStartOffset);
  };
  return () => {
    part.whenLowWatermarkReaches = real;
  };
}

/**
 * A follower whose log end lies below the leader's log start offset never restarts its log there (Runnel before
 * 07a7426): it is answered OFFSET_OUT_OF_RANGE for ever and never catches up.
 */
export function plantFollowerIgnoresOutOfRange(): () => void {
  const part = Partition.prototype as unknown as { truncateFullyAndStartAt(this: Partition, offset: bigint): void };
  const real = part.truncateFullyAndStartAt;
  part.truncateFullyAndStartAt = function () {};
  return () => {
    part.truncateFullyAndStartAt = real;
  };
}
