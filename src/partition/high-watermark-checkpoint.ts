/**
 * Kafka's `replication-offset-checkpoint` in each log dir: the high watermark of every partition kept there, in
 * the same text format as `recovery-point-offset-checkpoint`, written atomically. On start a partition's high
 * watermark comes from it (a follower must not expose more than the leader had committed); a leader then moves it
 * forward as its ISR allows.
 */
import type { FileSystem } from "../platform/fs.ts";
import { formatOffsetCheckpoint, readOffsetCheckpoint, type CheckpointEntry } from "../storage/checkpoint.ts";
import { writeFileAtomicAsync } from "./atomic-file-async.ts";

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

/**
 * Writes the checkpoint of each log dir when its content changed: on the periodic timer without blocking the
 * event loop (one write in flight per dir), at shutdown at once, after the writes in flight.
 */
export class HighWatermarkCheckpoints {
  private readonly fs: FileSystem;
  private readonly warn: (msg: string) => void;
  private readonly written = new Map<string, string>();
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(fs: FileSystem, warn: (msg: string) => void) {
    this.fs = fs;
    this.warn = warn;
  }

  /** Starts writing, off the event loop, each dir whose entries changed since its last write. */
  writeSoon(entriesByDir: ReadonlyMap<string, readonly CheckpointEntry[]>): void {
    for (const [dir, entries] of entriesByDir) {
      const text = formatOffsetCheckpoint(entries);
      if (this.written.get(dir) === text || this.inFlight.has(dir)) continue;
      const done = writeFileAtomicAsync(this.fs, `${dir}/${REPLICATION_OFFSET_CHECKPOINT}`, new TextEncoder().encode(text)).then(
        () => void this.written.set(dir, text),
        (e) => this.warn(`could not write the high watermark checkpoint of ${dir}: ${(e as Error).message}`),
      );
      this.inFlight.set(dir, done.finally(() => this.inFlight.delete(dir)));
    }
  }

  /** Waits for the writes in flight, then writes every changed dir at once (shutdown). */
  async writeNow(entriesByDir: ReadonlyMap<string, readonly CheckpointEntry[]>): Promise<void> {
    await Promise.all(this.inFlight.values());
    for (const [dir, entries] of entriesByDir) {
      const text = formatOffsetCheckpoint(entries);
      if (this.written.get(dir) === text) continue;
      try {
        this.fs.writeFileAtomic(`${dir}/${REPLICATION_OFFSET_CHECKPOINT}`, new TextEncoder().encode(text));
        this.written.set(dir, text);
      } catch (e) {
        this.warn(`could not write the high watermark checkpoint of ${dir}: ${(e as Error).message}`);
      }
    }
  }
}
