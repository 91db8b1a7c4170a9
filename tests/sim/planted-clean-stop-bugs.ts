/**
 * Planted bugs of the clean stop (SIGTERM) path, for showing that the simulations' clean stop fault can fail:
 * each patches a real class for the run and returns the function that undoes it.
 */
import { AbortedTxnIndex } from "../../src/partition/aborted-txn-index.ts";
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
 * PLANTED BUG: a producer snapshot past the recovered log end (the clean stop wrote it at the log end, then the
 * power went before the log was synced) is loaded at the next start instead of being skipped, so the producer
 * state claims batches the log lost and a retry of one is answered as a duplicate.
 */
export function plantSnapshotPastLogEndLoaded(): () => void {
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
  };
}
