/**
 * Planted bugs of the clean stop (SIGTERM) path, for showing that the simulations' clean stop fault can fail:
 * each patches a real class for the run and returns the function that undoes it.
 */
import { AbortedTxnIndex } from "../../src/partition/aborted-txn-index.ts";
import { CLEAN_SHUTDOWN_FILE, LogManager } from "../../src/storage/log-manager.ts";
import { Partition } from "../../src/partition/partition.ts";
import { decodeProducerSnapshot, producerSnapshotOffsets, snapshotFileName } from "../../src/partition/producer-snapshot.ts";

/**
 * PLANTED BUG: the clean stop does not sync the aborted-transaction index before the producer snapshot it writes
 * (`AbortedTxnIndex.syncNow` does nothing): recovery replays only from that snapshot, so a power cut after the stop
 * loses the unsynced entries below it and read_committed consumers see those aborted transactions.
 */
export function plantCleanStopSkipsTxnIndexSync(): () => void {
  const proto = AbortedTxnIndex.prototype as unknown as { syncNow(): void };
  const real = proto.syncNow;
  proto.syncNow = () => {};
  return () => {
    proto.syncNow = real;
  };
}

/**
 * PLANTED BUGS: a producer snapshot past the recovered log end is loaded at the next start instead of being removed,
 * so the producer state claims batches the log lost and a retry of one is answered as a duplicate (76a9c1e). Such a
 * snapshot came from the clean stop writing it before the log's tail was synced (the power went in between); the
 * stop now takes Kafka's order (the log synced, then the snapshot), so the plant also brings back the old order
 * (the snapshot written when the partition closes, before its log) to make the window. Roll snapshots (written
 * without waiting for the sealed segment's sync, as Kafka's) can make one too, but 60 seeds with log.roll.ms=200
 * never did.
 */
export function plantSnapshotPastLogEndLoaded(): () => void {
  const proto = Partition.prototype as unknown as { close(): void; writeStopSnapshot(): void };
  const realClose = proto.close;
  proto.close = function (this: { writeStopSnapshot(): void }) {
    realClose.call(this);
    this.writeStopSnapshot();
  };
  const cls = Partition as unknown as { open: (...args: unknown[]) => Partition };
  const real = cls.open;
  cls.open = function (this: unknown, ...args: unknown[]) {
    const log = args[2] as { dir: string; logEndOffset: bigint };
    const fs = (args[3] as { fs: Parameters<typeof producerSnapshotOffsets>[0] }).fs;
    // Read before the real open, which removes such snapshots (76a9c1e).
    const newest = producerSnapshotOffsets(fs, log.dir).filter((o) => o > log.logEndOffset).pop();
    const stale = newest === undefined ? null : decodeProducerSnapshot(fs.readFile(`${log.dir}/${snapshotFileName(newest)}`));
    const p = real.apply(this, args);
    if (stale !== null) p.producers.restore(stale);
    return p;
  };
  return () => {
    cls.open = real;
    proto.close = realClose;
  };
}

/**
 * PLANTED BUG: the clean-shutdown marker is written when the log manager starts closing, before the logs are
 * flushed and the final checkpoints written: a power cut during the stop leaves a marker over unsynced logs, and
 * the next start trusts it (no recovery from the recovery point).
 *
 * NOT CAUGHT, and it cannot break what the checkers check (`bun tests/sim/replay.ts kafka <seed>
 * --plant-clean-marker-before-flush [--roll-ms=200]`: seeds 1-100 default, 0 caught; 1-60 with rolls, 0 caught
 * once the two real bugs that rolls found, 9afb7e4 and 6d664aa, were fixed). Measured on seeds 1-100 with default settings: 51 clean stops drew a power cut, 21 hit during the
 * stop, 18 of them after the marker (the marker is about the 6th of the stop's ~32 disk calls, the cut is drawn in
 * 1-80), and in 13 of those the cut dropped unsynced log or index writes. So the cut is armed in the window and
 * the disk does lose data there. But:
 * - the next start still checks the tail: with the marker, `PartitionLog.load` skips recovery of the segments, but
 *   `Segment.loadTail` (src/storage/segment.ts) scans the active segment from its last offset-index entry to the
 *   file end and recovers it when a batch does not fit (scan's length checks: "torn batch header", "torn batch"),
 *   when the scan stops short of the file size, or when the time index is ahead of the log. The simulated power cut
 *   keeps an in-order prefix of the unsynced writes, the last maybe cut short, so the file is whole batches plus at
 *   most a short tail, which that check catches (seed 60: "unclean tail, truncated 44 bytes (torn batch header
 *   ...)"); lost index entries are rebuilt ("rebuilt index"). No bit flips in this simulation, so the batch CRCs
 *   (not checked there) would add nothing. Kafka's start (LogLoader.recoverLog, 3.x) skips recovery of every
 *   segment when the marker is there and takes the log end from the active segment's readNextOffset (batches after
 *   the last index entry), without truncating a torn tail: Runnel's start is stricter here; Kafka relies on writing
 *   the marker only after the flush.
 * - what is lost is unacknowledged: an acks=all answer waits for the log's fdatasync, so every acknowledged record
 *   and committed offset was durable before the stop began; the stop's producer snapshot at the old log end is past
 *   the recovered one and removed at start (76a9c1e), so the producer state is rebuilt by replay, as after a crash.
 * - the one place the skipped recovery matters is a sealed segment whose sync was still pending at the stop (a
 *   lost tail before a kept later segment: a gap that recovery's lostTailBefore would cut). Default segments never
 *   roll in a run; with rolls the stop syncs those first (PartitionLog.close: pending sealed segments, then the
 *   active one), and no roll seed hit that window. Even then only unacknowledged records would be lost. A checker
 *   that could see it: after each start, recover a copy of the disk from offset 0 and compare log ends, offsets
 *   and producer state with what the start loaded ("offsets consistent after recovery"); not written.
 */
export function plantCleanMarkerBeforeFlush(): () => void {
  const proto = LogManager.prototype as unknown as { close(...args: unknown[]): Promise<void> };
  const real = proto.close;
  proto.close = async function (this: { closed: boolean; logDirs: readonly string[]; share: { suffix: string }; deps: { fs: { writeFileAtomic(p: string, d: Uint8Array): void } } }, ...args: unknown[]) {
    if (!this.closed) for (const dir of this.logDirs) this.deps.fs.writeFileAtomic(`${dir}/${CLEAN_SHUTDOWN_FILE}${this.share.suffix}`, new TextEncoder().encode("{}\n"));
    return real.apply(this, args);
  };
  return () => {
    proto.close = real;
  };
}
