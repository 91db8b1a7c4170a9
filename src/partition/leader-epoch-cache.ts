/**
 * The leader epochs of one partition and the offset each began at, kept in Kafka's `leader-epoch-checkpoint` file
 * in the partition directory: line 1 the version `0`, line 2 the entry count, then one `<epoch> <startOffset>` line
 * per epoch, ascending. Written atomically (temp file, fsync, rename, directory fsync) whenever it changes.
 *
 * OffsetForLeaderEpoch answers from it, and a follower uses it to find where its log diverges from the leader's.
 */
import type { FileSystem } from "../platform/fs.ts";
import { writeFileAtomicAsync } from "./atomic-file-async.ts";

/** File name in each partition directory. */
export const LEADER_EPOCH_CHECKPOINT = "leader-epoch-checkpoint";
/** The only format version. */
export const LEADER_EPOCH_CHECKPOINT_VERSION = 0;
/** Most entries a checkpoint may declare (bounds parsing of a damaged file). */
export const MAX_LEADER_EPOCH_ENTRIES = 1_000_000;
/** Kafka's "no epoch". */
export const UNDEFINED_EPOCH = -1;
/** Kafka's "no offset". */
export const UNDEFINED_OFFSET = -1n;

/** One epoch and the first offset written in it. */
export interface EpochEntry {
  /** The leader epoch. */
  epoch: number;
  /** First offset of the epoch. */
  startOffset: bigint;
}

/** Renders entries in the checkpoint text format. */
export function formatLeaderEpochCheckpoint(entries: readonly EpochEntry[]): string {
  const lines = [String(LEADER_EPOCH_CHECKPOINT_VERSION), String(entries.length)];
  for (const e of entries) lines.push(`${e.epoch} ${e.startOffset}`);
  return lines.join("\n") + "\n";
}

/** Parses checkpoint text; throws on any deviation from the format. */
export function parseLeaderEpochCheckpoint(text: string): EpochEntry[] {
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  if (lines.length < 2 || lines[0].trim() !== String(LEADER_EPOCH_CHECKPOINT_VERSION)) throw new Error("bad leader-epoch-checkpoint header");
  const count = Number(lines[1].trim());
  if (!Number.isInteger(count) || count < 0 || count > MAX_LEADER_EPOCH_ENTRIES || lines.length - 2 !== count) {
    throw new Error(`leader-epoch-checkpoint declares ${lines[1]} entries and holds ${lines.length - 2}`);
  }
  const out: EpochEntry[] = [];
  for (let i = 2; i < lines.length; i++) {
    const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(lines[i]);
    if (m === null) throw new Error(`malformed leader-epoch-checkpoint line ${i + 1}: "${lines[i]}"`);
    const e = { epoch: Number(m[1]), startOffset: BigInt(m[2]) };
    const prev = out[out.length - 1];
    if (prev !== undefined && (e.epoch <= prev.epoch || e.startOffset < prev.startOffset)) throw new Error(`leader-epoch-checkpoint line ${i + 1} goes backwards`);
    out.push(e);
  }
  return out;
}

/** The epoch history of one partition, mirrored to its checkpoint file. */
export class LeaderEpochCache {
  private readonly fs: FileSystem;
  private readonly dir: string;
  private readonly path: string;
  private entries: EpochEntry[];
  /** Bumped on every change of `entries`. */
  private generation = 0;
  /** The generation the file holds durably (its bytes and its directory entry). */
  private persisted = 0;
  /** The entries of generation `persisted`: what a power cut leaves in the file. */
  private durable: EpochEntry[];
  private writingSoon = false;

  private constructor(fs: FileSystem, dir: string, entries: EpochEntry[]) {
    this.fs = fs;
    this.dir = dir;
    this.path = `${dir}/${LEADER_EPOCH_CHECKPOINT}`;
    this.entries = entries;
    this.durable = entries;
  }

  /**
   * Loads the checkpoint of partition directory `dir` (an unreadable one is reported through `warn` and read as
   * empty), dropping epochs that start at or past `logEndOffset` (a log cut back by recovery).
   */
  static open(fs: FileSystem, dir: string, logEndOffset: bigint, warn: (msg: string) => void = () => {}): LeaderEpochCache {
    let entries: EpochEntry[] = [];
    const path = `${dir}/${LEADER_EPOCH_CHECKPOINT}`;
    if (fs.exists(path)) {
      try {
        entries = parseLeaderEpochCheckpoint(new TextDecoder().decode(fs.readFile(path)));
      } catch (e) {
        warn(`${path}: ${(e as Error).message}; starting an empty epoch history`);
      }
    }
    const cache = new LeaderEpochCache(fs, dir, entries);
    cache.truncateFromEnd(logEndOffset);
    return cache;
  }

  /** The newest epoch, or {@link UNDEFINED_EPOCH}. */
  get latestEpoch(): number {
    return this.entries.length === 0 ? UNDEFINED_EPOCH : this.entries[this.entries.length - 1].epoch;
  }

  /**
   * The epoch ListOffsets answers for the log start (EARLIEST): the oldest entry's, when it starts at or below
   * `logStartOffset`, else {@link UNDEFINED_EPOCH} (Kafka's UnifiedLog.fetchOffsetByTimestamp).
   */
  earliestEpochAt(logStartOffset: bigint): number {
    const first = this.entries[0];
    return first !== undefined && first.startOffset <= logStartOffset ? first.epoch : UNDEFINED_EPOCH;
  }

  /** A copy of the entries, oldest first. */
  epochEntries(): EpochEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }

  /**
   * Records that `epoch` starts at `startOffset` (the first offset written in a newer epoch). An epoch not newer
   * than the latest is already known and changes nothing; epochs recorded at or after `startOffset` give way.
   * With `persist` false (a broker becoming leader, before it writes anything) the file is written by the next
   * {@link LeaderEpochCache.flush}.
   */
  assign(epoch: number, startOffset: bigint, persist = true): void {
    if (epoch < 0 || startOffset < 0n) throw new RangeError(`bad leader epoch entry ${epoch} at ${startOffset}`);
    if (epoch <= this.latestEpoch) return;
    const kept = this.entries.filter((e) => e.startOffset < startOffset);
    kept.push({ epoch, startOffset });
    this.entries = kept;
    this.generation++;
    if (persist) this.flush();
  }

  /** Whether memory holds changes the file lacks (or holds without its directory entry being durable yet). */
  get dirty(): boolean {
    return this.generation > this.persisted;
  }

  /**
   * The first offset whose epoch a power cut could take from the file now: the start of the oldest entry in memory
   * that the durable file lacks, or null when it lacks none. A recovery point (or a clean-shutdown marker) must not
   * pass it: a start recovers only from the recovery point, and takes the epochs of the batches it rescans
   * (Partition.open), so an epoch that starts below it would be lost for good with the checkpoint's newest write.
   */
  get undurableFrom(): bigint | null {
    if (!this.dirty) return null;
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i];
      const d = this.durable[i];
      if (d === undefined || d.epoch !== e.epoch || d.startOffset !== e.startOffset) return e.startOffset;
    }
    return null; // only removals pending: no epoch in memory is missing from the file
  }

  /** Writes the checkpoint now (fsynced, with its directory) if memory holds changes it lacks. */
  flush(): void {
    if (!this.dirty) return;
    this.fs.writeFileAtomic(this.path, new TextEncoder().encode(formatLeaderEpochCheckpoint(this.entries)));
    this.persisted = this.generation;
    this.durable = this.entries;
  }

  /**
   * Writes the checkpoint without blocking (the append path: the first batch of an epoch): the temp file, its
   * asynchronous fdatasync, the rename, then an asynchronous fsync of the partition directory, so that the rename
   * itself survives a power cut (Kafka writes it synchronously, directory included: CheckpointFile's atomic move).
   * Only then does the change count as durable ({@link undurableFrom}). `onError` hears of a failed write; the
   * change stays pending for the next flush. A newer synchronous flush wins over a slower asynchronous write of
   * older content.
   */
  flushSoon(onError: (e: Error) => void): void {
    if (!this.dirty || this.writingSoon) return;
    this.writingSoon = true;
    const gen = this.generation;
    const entries = this.entries;
    writeFileAtomicAsync(this.fs, this.path, new TextEncoder().encode(formatLeaderEpochCheckpoint(entries)), "soon").then(() => this.fs.syncDirAsync(this.dir)).then(
      () => {
        this.writingSoon = false;
        if (gen < this.persisted) {
          // A synchronous flush of newer content finished first and this rename replaced it: write it again.
          this.persisted = gen;
          this.flush();
        } else if (gen > this.persisted) {
          this.persisted = gen;
          this.durable = entries;
        }
        if (this.dirty) this.flushSoon(onError);
      },
      (e) => {
        this.writingSoon = false; // stays dirty: the next change or flush writes it
        onError(e as Error);
      },
    );
  }

  /** Forgets epochs that start at or past `endOffset` (the log was truncated to it). */
  truncateFromEnd(endOffset: bigint): void {
    const kept = this.entries.filter((e) => e.startOffset < endOffset);
    if (kept.length !== this.entries.length) this.replace(kept);
  }

  /** Drops epochs wholly below `startOffset` (the log start moved); the epoch holding it now starts there. */
  truncateFromStart(startOffset: bigint): void {
    let i = 0;
    while (i + 1 < this.entries.length && this.entries[i + 1].startOffset <= startOffset) i++;
    const first = this.entries[i];
    if (first === undefined || (i === 0 && first.startOffset >= startOffset)) return;
    const kept = this.entries.slice(i);
    kept[0] = { epoch: first.epoch, startOffset: first.startOffset < startOffset ? startOffset : first.startOffset };
    this.replace(kept);
  }

  /**
   * Kafka's OffsetForLeaderEpoch answer: the largest known epoch at or below `requestedEpoch` and the offset where
   * the next epoch begins (the log end offset for the latest epoch); UNDEFINED for an epoch above all known, or
   * when the history is empty.
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: bigint): { epoch: number; endOffset: bigint } {
    const undefinedAnswer = { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_OFFSET };
    if (requestedEpoch === UNDEFINED_EPOCH || this.entries.length === 0) return undefinedAnswer;
    if (requestedEpoch === this.latestEpoch) return { epoch: requestedEpoch, endOffset: logEndOffset };
    const higher = this.entries.findIndex((e) => e.epoch > requestedEpoch);
    if (higher < 0) return undefinedAnswer;
    const floor = higher === 0 ? null : this.entries[higher - 1];
    return { epoch: floor === null ? requestedEpoch : floor.epoch, endOffset: this.entries[higher].startOffset };
  }

  private replace(entries: EpochEntry[]): void {
    this.entries = entries;
    this.generation++;
    this.flush();
  }
}
