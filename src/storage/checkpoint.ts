/**
 * Kafka's offset checkpoint files (`recovery-point-offset-checkpoint`, `log-start-offset-checkpoint`, ...): UTF-8
 * text, line 1 the version `0`, line 2 the entry count, then one `<topic> <partition> <offset>` line per entry.
 * Written atomically (temp file, fsync, rename, fsync of the directory).
 */
import type { FileSystem } from "../platform/fs.ts";

/** The only checkpoint format version. */
export const CHECKPOINT_VERSION = 0;
/** File name of the recovery point checkpoint in each log dir. */
export const RECOVERY_POINT_CHECKPOINT = "recovery-point-offset-checkpoint";
/** File name of the log start offset checkpoint in each log dir. */
export const LOG_START_OFFSET_CHECKPOINT = "log-start-offset-checkpoint";
/** File name of the log cleaner's checkpoint (offsets below which each compacted log is clean) in each log dir. */
export const CLEANER_OFFSET_CHECKPOINT = "cleaner-offset-checkpoint";
/** Most entries a checkpoint may declare (bounds parsing of a damaged file). */
export const MAX_CHECKPOINT_ENTRIES = 10_000_000;

/** One checkpoint line. */
export interface CheckpointEntry {
  /** Topic name. */
  topic: string;
  /** Partition index. */
  partition: number;
  /** The offset recorded. */
  offset: bigint;
}

/** Thrown for a checkpoint file that does not follow the format. */
export class CheckpointFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckpointFormatError";
  }
}

/** Renders entries in Kafka's checkpoint text format. */
export function formatOffsetCheckpoint(entries: readonly CheckpointEntry[]): string {
  const lines = [String(CHECKPOINT_VERSION), String(entries.length)];
  for (const e of entries) {
    if (/\s/.test(e.topic) || e.topic === "") throw new CheckpointFormatError(`topic name "${e.topic}" cannot be checkpointed`);
    lines.push(`${e.topic} ${e.partition} ${e.offset}`);
  }
  return lines.join("\n") + "\n";
}

/** Parses checkpoint text; throws {@link CheckpointFormatError} on any deviation. */
export function parseOffsetCheckpoint(text: string): CheckpointEntry[] {
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  if (lines.length < 2) throw new CheckpointFormatError("checkpoint is missing its version or count line");
  if (lines[0].trim() !== String(CHECKPOINT_VERSION)) throw new CheckpointFormatError(`unknown checkpoint version "${lines[0]}"`);
  const countText = lines[1].trim();
  if (!/^\d+$/.test(countText)) throw new CheckpointFormatError(`bad entry count "${lines[1]}"`);
  const count = Number(countText);
  if (count > MAX_CHECKPOINT_ENTRIES) throw new CheckpointFormatError(`entry count ${count} exceeds ${MAX_CHECKPOINT_ENTRIES}`);
  if (lines.length - 2 !== count) throw new CheckpointFormatError(`expected ${count} entries, found ${lines.length - 2}`);
  const out: CheckpointEntry[] = [];
  for (let i = 2; i < lines.length; i++) {
    const parts = lines[i].trim().split(/\s+/);
    if (parts.length !== 3 || !/^\d+$/.test(parts[1]) || !/^-?\d+$/.test(parts[2])) {
      throw new CheckpointFormatError(`malformed checkpoint line ${i + 1}: "${lines[i]}"`);
    }
    out.push({ topic: parts[0], partition: Number(parts[1]), offset: BigInt(parts[2]) });
  }
  return out;
}

/** Reads a checkpoint file; a missing file reads as no entries. */
export function readOffsetCheckpoint(fs: FileSystem, path: string): CheckpointEntry[] {
  if (!fs.exists(path)) return [];
  return parseOffsetCheckpoint(new TextDecoder().decode(fs.readFile(path)));
}

/** {@link writeOffsetCheckpoint} without blocking the event loop (asynchronous fdatasync; temp file `<path>.timer.tmp`). */
export function writeOffsetCheckpointAsync(fs: FileSystem, path: string, entries: readonly CheckpointEntry[]): Promise<void> {
  return fs.writeFileAtomicAsync(path, new TextEncoder().encode(formatOffsetCheckpoint(entries)), "timer");
}

/** Writes a checkpoint file atomically. */
export function writeOffsetCheckpoint(fs: FileSystem, path: string, entries: readonly CheckpointEntry[]): void {
  fs.writeFileAtomic(path, new TextEncoder().encode(formatOffsetCheckpoint(entries)));
}
