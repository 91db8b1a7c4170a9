/**
 * Planted bugs of the clean stop (SIGTERM) path, for showing that the simulations' clean stop fault can fail:
 * each patches a real class for the run and returns the function that undoes it.
 */
import { CLEAN_SHUTDOWN_FILE, LogManager } from "../../src/storage/log-manager.ts";
import { Partition } from "../../src/partition/partition.ts";
import { decodeProducerSnapshot, producerSnapshotOffsets, snapshotFileName } from "../../src/partition/producer-snapshot.ts";

/**
 * PLANTED BUG: the clean-shutdown marker is written when the log manager starts closing, before the logs are
 * flushed and the final checkpoints written: a power cut during the stop leaves a marker over unsynced logs, and
 * the next start trusts it (no recovery from the recovery point).
 */
export function plantCleanMarkerBeforeFlush(): () => void {
  const proto = LogManager.prototype as unknown as { close(): Promise<void> };
  const real = proto.close;
  proto.close = async function (this: { closed: boolean; logDirs: readonly string[]; share: { suffix: string }; deps: { fs: { writeFileAtomic(p: string, d: Uint8Array): void } } }) {
    if (!this.closed) for (const dir of this.logDirs) this.deps.fs.writeFileAtomic(`${dir}/${CLEAN_SHUTDOWN_FILE}${this.share.suffix}`, new TextEncoder().encode("{}\n"));
    return real.call(this);
  };
  return () => {
    proto.close = real;
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
    const p = real.apply(this, args);
    const fs = (args[3] as { fs: Parameters<typeof producerSnapshotOffsets>[0] }).fs;
    const past = producerSnapshotOffsets(fs, p.log.dir).filter((o) => o > p.log.logEndOffset);
    const newest = past[past.length - 1];
    if (newest !== undefined) p.producers.restore(decodeProducerSnapshot(fs.readFile(`${p.log.dir}/${snapshotFileName(newest)}`)));
    return p;
  };
  return () => {
    cls.open = real;
  };
}
