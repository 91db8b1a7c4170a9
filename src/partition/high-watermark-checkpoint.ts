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

/**
 * The high watermarks checkpointed in `logDir`, by `topic-partition` (none when the file is missing or damaged);
 * `suffix` names a shard's own file (src/storage/log-dir-share.ts).
 */
export function readHighWatermarks(fs: FileSystem, logDir: string, warn: (msg: string) => void = () => {}, suffix = ""): Map<string, bigint> {
  const out = new Map<string, bigint>();
  const path = `${logDir}/${REPLICATION_OFFSET_CHECKPOINT}${suffix}`;
  try {
    for (const e of readOffsetCheckpoint(fs, path)) out.set(`${e.topic}-${e.partition}`, e.offset);
  } catch (e) {
    warn(`${path}: ${(e as Error).message}; high watermarks start from the log ends`);
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
  private readonly name: string;

  /** `suffix`: a shard's own file name suffix (src/storage/log-dir-share.ts), "" for a broker alone. */
  constructor(fs: FileSystem, warn: (msg: string) => void, suffix = "") {
    this.fs = fs;
    this.warn = warn;
    this.name = REPLICATION_OFFSET_CHECKPOINT + suffix;
  }

  /** Starts writing, off the event loop, each dir whose entries changed since its last write. */
  writeSoon(entriesByDir: ReadonlyMap<string, readonly CheckpointEntry[]>): void {
    for (const [dir, entries] of entriesByDir) {
      const text = formatOffsetCheckpoint(entries);
      if (this.written.get(dir) === text || this.inFlight.has(dir)) continue;
      const done = writeFileAtomicAsync(this.fs, `${dir}/${this.name}`, new TextEncoder().encode(text)).then(
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
        this.fs.writeFileAtomic(`${dir}/${this.name}`, new TextEncoder().encode(text));
        this.written.set(dir, text);
      } catch (e) {
        this.warn(`could not write the high watermark checkpoint of ${dir}: ${(e as Error).message}`);
      }
    }
  }
}
