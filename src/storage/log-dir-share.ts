/**
 * Log dirs shared by the shards of one node (`runnel.shards`). Partition directories are disjoint (each belongs to
 * the shard that owns the partition); the files at the log-dir root that a broker writes for all its partitions
 * (the offset checkpoints and the clean-shutdown marker) get a per-shard suffix, `recovery-point-offset-checkpoint.shard_2`,
 * so no shard overwrites another's entries. A broker alone (no shards) keeps Kafka's plain names.
 *
 * Whoever starts on a log dir first ({@link consolidateRootFiles}: the shard host before it spawns the shards, or a
 * broker alone that finds shard files) merges every variant it finds and rewrites them in the current layout, so a
 * changed shard count, or going back to a broker alone, loses no entry. Within one run the variants are disjoint
 * (ownership does not change while the node runs); should two variants still name one partition (a crash during a
 * rewrite), the lower offset wins, which only makes recovery, cleaning or high watermarks redo work. A variant
 * counts as shut down cleanly only when its own marker is there, and the rewritten files get markers only when
 * every variant had one.
 */
import type { FileSystem } from "../platform/fs.ts";
import { readOffsetCheckpoint, writeOffsetCheckpoint, type CheckpointEntry } from "./checkpoint.ts";
import { partitionDirName, type TopicPartition } from "./log-file-names.ts";

/** How a broker shares its log dirs with the other shards of its node. */
export interface LogDirShare {
  /** Suffix of this broker's files at the log-dir root (`.shard_2`); "" for a broker alone. */
  readonly suffix: string;
  /** Whether partition `tp` is this broker's: only those are loaded, checkpointed and cleaned up here. */
  owns(tp: TopicPartition): boolean;
  /**
   * Told when a disk failure takes log dir `dir` offline in this broker (KIP-112), for the brokers sharing it (the
   * node's other shards take it offline too, as Kafka takes a whole dir offline at once); absent for a broker alone.
   */
  dirFailed?(dir: string, reason: string): void;
}

/** A broker alone in its log dirs: Kafka's plain file names, every partition its own. */
export const UNSHARED_LOG_DIRS: LogDirShare = { suffix: "", owns: () => true };

const SHARD_SUFFIX = /\.shard_\d+$/;
const SHARD_SUFFIX_ONLY = /^\.shard_\d+$/;

/**
 * The root-file suffix of shard `index` (`.shard_2`). Never `-<digits>` at the end: a log dir entry named
 * `<name>-<digits>` is a partition directory to every broker.
 */
export function shardFileSuffix(index: number): string {
  if (!Number.isInteger(index) || index < 0) throw new Error(`shard index ${index} must be a non-negative integer`);
  return `.shard_${index}`;
}

/** The suffixes ("" and `.shard_K`) of the variants of root file `base` present in `names`. */
function variantsOf(names: readonly string[], base: string): string[] {
  const out: string[] = [];
  for (const n of names) {
    if (n === base) out.push("");
    else if (n.startsWith(base) && SHARD_SUFFIX_ONLY.test(n.slice(base.length))) out.push(n.slice(base.length));
  }
  return out;
}

/** Whether `dir` holds any per-shard root file (a sharded run used it). */
export function hasShardRootFiles(fs: FileSystem, dir: string): boolean {
  return fs.exists(dir) && fs.list(dir).some((n) => SHARD_SUFFIX.test(n));
}

/** What {@link consolidateRootFiles} rewrites. */
export interface RootFileLayout {
  /** Checkpoint file names (Kafka's, without suffix) to merge and split. */
  checkpoints: readonly string[];
  /** The clean-shutdown marker's name (without suffix). */
  marker: string;
  /** Every suffix of the new layout ("" alone, or `.shard_0` .. `.shard_(N-1)`); each gets its files. */
  suffixes: readonly string[];
  /** The suffix whose files carry partition `tp` from now on, or null to drop it (its topic is gone). */
  suffixOf(tp: TopicPartition): string | null;
}

/**
 * Merges every variant of the root files of `dir` and writes them in `layout` (atomically, each file), then removes
 * the variants the layout does not use. Runs before any broker loads the dir.
 */
export function consolidateRootFiles(fs: FileSystem, dir: string, layout: RootFileLayout): void {
  if (!fs.exists(dir)) return;
  const names = fs.list(dir);
  let clean = true;
  let anyMarker = false;
  const present = new Set<string>();
  const merged = layout.checkpoints.map((base) => {
    const entries = new Map<string, CheckpointEntry>();
    for (const suffix of variantsOf(names, base)) {
      present.add(suffix);
      for (const e of readOffsetCheckpoint(fs, `${dir}/${base}${suffix}`)) {
        const key = partitionDirName(e);
        const had = entries.get(key);
        if (had === undefined || e.offset < had.offset) entries.set(key, e);
      }
    }
    return { base, entries: [...entries.values()] };
  });
  for (const suffix of present) {
    if (names.includes(`${layout.marker}${suffix}`)) anyMarker = true;
    else clean = false;
  }
  const markers = variantsOf(names, layout.marker);
  for (const s of markers) fs.remove(`${dir}/${layout.marker}${s}`);
  for (const { base, entries } of merged) {
    for (const suffix of layout.suffixes) {
      const mine = entries.filter((e) => layout.suffixOf(e) === suffix);
      mine.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
      writeOffsetCheckpoint(fs, `${dir}/${base}${suffix}`, mine);
    }
    for (const old of variantsOf(names, base)) if (!layout.suffixes.includes(old)) fs.remove(`${dir}/${base}${old}`);
  }
  if (clean && (anyMarker || (present.size === 0 && markers.length > 0))) {
    for (const suffix of layout.suffixes) fs.writeFileAtomic(`${dir}/${layout.marker}${suffix}`, new TextEncoder().encode("{}\n"));
  }
  fs.syncDir(dir);
}
