/**
 * Names of files and directories in a log dir, as Kafka lays them out: `<topic>-<partition>/` partition
 * directories, and segment files named by their base offset zero-padded to 20 digits.
 */

/** Suffix of a segment's record file. */
export const LOG_SUFFIX = ".log";
/** Suffix of a segment's offset index. */
export const INDEX_SUFFIX = ".index";
/** Suffix of a segment's time index. */
export const TIME_INDEX_SUFFIX = ".timeindex";
/** Suffix of a segment's aborted-transaction index (written by the partition layer, rewritten by the cleaner). */
export const TXN_INDEX_SUFFIX = ".txnindex";
/** Suffix given to a file that is being deleted. */
export const DELETED_SUFFIX = ".deleted";
/** Suffixes of leftovers from an interrupted delete, compaction, swap or atomic write; removed at open. */
export const LEFTOVER_SUFFIXES: readonly string[] = [DELETED_SUFFIX, ".cleaned", ".swap", ".tmp"];
/** Suffix of a partition directory that is being deleted. */
export const DELETE_DIR_SUFFIX = "-delete";

const OFFSET_DIGITS = 20;

/** A 20-digit, zero-padded base offset: the file name prefix of a segment. */
export function offsetFileStem(offset: bigint): string {
  if (offset < 0n) throw new RangeError(`negative segment base offset ${offset}`);
  return offset.toString().padStart(OFFSET_DIGITS, "0");
}

/** The base offset of a segment file name like `00000000000000000042.log`, or null if it is not one. */
export function parseSegmentFileName(name: string, suffix: string): bigint | null {
  if (!name.endsWith(suffix)) return null;
  const stem = name.slice(0, name.length - suffix.length);
  if (stem.length !== OFFSET_DIGITS || !/^\d+$/.test(stem)) return null;
  return BigInt(stem);
}

/** A topic and partition. */
export interface TopicPartition {
  /** Topic name. */
  topic: string;
  /** Partition index. */
  partition: number;
}

/** The directory name of a partition: `<topic>-<partition>`. */
export function partitionDirName(tp: TopicPartition): string {
  return `${tp.topic}-${tp.partition}`;
}

/** Parses `<topic>-<partition>` (the topic may itself contain dashes), or null if the name is not one. */
export function parsePartitionDirName(name: string): TopicPartition | null {
  const dash = name.lastIndexOf("-");
  if (dash <= 0) return null;
  const digits = name.slice(dash + 1);
  if (!/^\d+$/.test(digits) || digits.length > 10) return null;
  const partition = Number(digits);
  if (partition > 2147483647) return null;
  return { topic: name.slice(0, dash), partition };
}
