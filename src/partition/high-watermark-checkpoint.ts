/**
 * Kafka's `replication-offset-checkpoint` in each log dir: the high watermark of every partition kept there, in
 * the same text format as `recovery-point-offset-checkpoint`, written atomically. On start a partition's high
 * watermark comes from it (a follower must not expose more than the leader had committed); a leader then moves it
 * forward as its ISR allows.
 */
import type { FileSystem } from "../platform/fs.ts";
import { readOffsetCheckpoint, writeOffsetCheckpoint, type CheckpointEntry } from "../storage/checkpoint.ts";

/** File name in each log dir. */
export const REPLICATION_OFFSET_CHECKPOINT = "replication-offset-checkpoint";

/** The high watermarks checkpointed in `logDir`, by `topic-partition` (none when the file is missing or damaged). */
export function readHighWatermarks(fs: FileSystem, logDir: string, warn: (msg: string) => void = () => {}): Map<string, bigint> {
  const out = new Map<string, bigint>();
  try {
    for (const e of readOffsetCheckpoint(fs, `${logDir}/${REPLICATION_OFFSET_CHECKPOINT}`)) out.set(`${e.topic}-${e.partition}`, e.offset);
  } catch (e) {
    warn(`${logDir}/${REPLICATION_OFFSET_CHECKPOINT}: ${(e as Error).message}; high watermarks start from the log ends`);
  }
  return out;
}

/** Writes the high watermarks of the partitions kept in `logDir`. */
export function writeHighWatermarks(fs: FileSystem, logDir: string, entries: readonly CheckpointEntry[]): void {
  writeOffsetCheckpoint(fs, `${logDir}/${REPLICATION_OFFSET_CHECKPOINT}`, entries);
}
