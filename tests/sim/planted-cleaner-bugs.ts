/**
 * Planted bugs of the log cleaner's path, for showing that the cleaning workload of the one-broker simulation
 * (cleaning-workload.ts) can fail: each patches a real class for the run and returns the function that undoes it.
 *
 * Directory fsyncs: the simulated disk loses the namespace operations no directory fsync committed, keeping a prefix
 * of them in the order made, as one ordered journal does (sim-disk.ts, unsyncedNamespace). In that model the swap's
 * fsyncs between its steps add nothing (a power cut cannot keep a later rename without the earlier ones); what a
 * missing fsync loses is the finished swap itself, which reads have already seen (plantSwapSkipsDirSyncs).
 */
import { AbortedTxnIndex } from "../../src/partition/aborted-txn-index.ts";
import { CleanedSegmentWriter } from "../../src/storage/cleaner-segment-writer.ts";
import { DELETED_SUFFIX } from "../../src/storage/log-file-names.ts";
import { LogManager } from "../../src/storage/log-manager.ts";
import { PartitionLog } from "../../src/storage/partition-log.ts";
import type { Segment } from "../../src/storage/segment.ts";
import type { FileSystem } from "../../src/platform/fs.ts";
import type { StorageDeps } from "../../src/storage/storage-deps.ts";

/**
 * PLANTED BUG: a cleaned segment's `.log` is swapped in without its fdatasync (the old segments go while the new
 * one's data is still only in the page cache): a power cut after the swap leaves a short or empty cleaned segment,
 * and the acknowledged records it held are gone.
 */
export function plantCleanedSegmentNotSynced(): () => void {
  const proto = CleanedSegmentWriter.prototype as unknown as { finish(...a: unknown[]): Promise<void> };
  const real = proto.finish;
  proto.finish = function (this: { log: { datasync(): Promise<void> } | null }, ...a: unknown[]) {
    if (this.log !== null) this.log.datasync = () => Promise.resolve();
    return real.apply(this, a);
  };
  return () => {
    proto.finish = real;
  };
}

/**
 * PLANTED BUG: the swap retires the old segments (renames them to `.deleted`) before its commit point, the rename
 * of the cleaned `.log` to `.swap`: a power cut between the two leaves neither a committed swap nor the old
 * segments, and the next start removes both as leftovers.
 */
export function plantSwapRetiresOldBeforeCommit(): () => void {
  const proto = PartitionLog.prototype as unknown as { installCleaned(old: readonly Segment[], baseOffset: bigint): void };
  const real = proto.installCleaned;
  proto.installCleaned = function (this: { deps: { fs: FileSystem } }, old: readonly Segment[], baseOffset: bigint) {
    const fs = this.deps.fs;
    const retired: string[] = [];
    for (const seg of old) {
      for (const path of [seg.logPath, seg.indexPath, seg.timeIndexPath]) {
        if (!fs.exists(path)) continue;
        fs.rename(path, path + DELETED_SUFFIX);
        retired.push(path + DELETED_SUFFIX);
      }
    }
    real.call(this, old, baseOffset);
    for (const path of retired) if (fs.exists(path)) fs.remove(path);
  };
  return () => {
    proto.installCleaned = real;
  };
}

/**
 * PLANTED BUG: the clean stop writes no final checkpoints (`LogManager.checkpoint` does nothing), so the
 * `log-start-offset-checkpoint` holds what the last timer wrote; a DeleteRecords answered after it is forgotten by
 * the next start although the broker stopped cleanly.
 */
export function plantCleanStopSkipsCheckpoints(): () => void {
  const proto = LogManager.prototype as unknown as { checkpoint(): void };
  const real = proto.checkpoint;
  proto.checkpoint = () => {};
  return () => {
    proto.checkpoint = real;
  };
}

/**
 * PLANTED BUG: the swap retires only the old segment whose name the cleaned one takes; the later old segments stay
 * on disk under their live names (the segment list in memory is right, so the running broker serves the cleaned
 * segment). The next start loads them again next to the cleaned segment, and records that compaction removed, and
 * that reads already showed gone, come back.
 */
export function plantSwapKeepsLaterOldSegments(): () => void {
  const proto = PartitionLog.prototype as unknown as { installCleaned(old: readonly Segment[], baseOffset: bigint): void };
  const real = proto.installCleaned;
  proto.installCleaned = function (this: { deps: { fs: FileSystem } }, old: readonly Segment[], baseOffset: bigint) {
    const fs = this.deps.fs;
    const hidden: string[] = [];
    for (const seg of old.slice(1)) {
      for (const path of [seg.logPath, seg.indexPath, seg.timeIndexPath]) {
        if (!fs.exists(path)) continue;
        fs.rename(path, `${path}.kept`);
        hidden.push(path);
      }
    }
    try {
      real.call(this, old, baseOffset);
    } finally {
      for (const path of hidden) fs.rename(`${path}.kept`, path);
    }
  };
  return () => {
    proto.installCleaned = real;
  };
}

/**
 * PLANTED BUG: the swap makes none of its renames and removes durable (its directory fsyncs do nothing): a power cut
 * after it can bring back the old segments, and records that reads already showed cleaned away fill their holes again.
 */
export function plantSwapSkipsDirSyncs(): () => void {
  const proto = PartitionLog.prototype as unknown as { installCleaned(old: readonly Segment[], baseOffset: bigint): void };
  const real = proto.installCleaned;
  proto.installCleaned = function (this: { deps: StorageDeps }, old: readonly Segment[], baseOffset: bigint) {
    const deps = this.deps;
    this.deps = { ...deps, fs: Object.assign(Object.create(deps.fs) as FileSystem, { syncDir: () => {} }) };
    try {
      real.call(this, old, baseOffset);
    } finally {
      this.deps = deps;
    }
  };
  return () => {
    proto.installCleaned = real;
  };
}

/**
 * PLANTED BUG: the cleaner is told of no aborted transactions (`AbortedTxnIndex.between`, which only the cleaner
 * asks, answers nothing), so it maps aborted records as if committed: an aborted record shadows the committed
 * record of its key before it, which is removed, and read_committed then has no record of that key.
 */
export function plantCleanerIgnoresAbortedTxns(): () => void {
  const proto = AbortedTxnIndex.prototype as unknown as { between(...a: unknown[]): unknown[] };
  const real = proto.between;
  proto.between = () => [];
  return () => {
    proto.between = real;
  };
}
