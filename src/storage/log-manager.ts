/**
 * All partition logs of a broker across its log dirs (`log.dirs`). Loads every `<topic>-<partition>` directory at
 * start (removing `-delete` leftovers), creates new partitions on the dir holding the fewest, keeps Kafka's
 * `recovery-point-offset-checkpoint`, `log-start-offset-checkpoint` and `cleaner-offset-checkpoint` in each dir,
 * and runs retention, compaction (the {@link LogCleaner}) and checkpointing on timers. A `.kafka_cleanshutdown`
 * marker written by {@link LogManager.close} lets the next start skip recovery.
 */
import {
  type CheckpointEntry,
  CLEANER_OFFSET_CHECKPOINT,
  LOG_START_OFFSET_CHECKPOINT,
  readOffsetCheckpoint,
  RECOVERY_POINT_CHECKPOINT,
  writeOffsetCheckpoint,
  writeOffsetCheckpointAsync,
} from "./checkpoint.ts";
import { initCrc32c } from "../protocol/crc32c.ts";
import { DEFAULT_LOG_CONFIG, type LogConfig } from "./log-config.ts";
import { LogCleaner, type LogCleanerOptions } from "./log-cleaner.ts";
import { DELETE_DIR_SUFFIX, parsePartitionDirName, partitionDirName, type TopicPartition } from "./log-file-names.ts";
import { UNSHARED_LOG_DIRS, type LogDirShare } from "./log-dir-share.ts";
import { readPartitionMetadata, writePartitionMetadata, writePartitionMetadataSoon } from "./partition-metadata.ts";
import { uuidBase64, uuidFromBase64 } from "../protocol/uuid.ts";
import { PartitionLog, removePartitionDir } from "./partition-log.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import type { StorageDeps } from "./storage-deps.ts";

/** Marker file a clean shutdown leaves in each log dir. */
export const CLEAN_SHUTDOWN_FILE = ".kafka_cleanshutdown";
/** Default `log.retention.check.interval.ms`. */
export const DEFAULT_RETENTION_CHECK_INTERVAL_MS = 300_000;
/** Default `log.flush.offset.checkpoint.interval.ms`. */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 60_000;
/**
 * Runnel: the recovery-point checkpoint is also written this long after a rolled segment became durable (at most
 * once per this interval), so that a crash rescans only the active segments, not everything written since the
 * last periodic checkpoint (Kafka waits for `log.flush.offset.checkpoint.interval.ms`).
 */
export const ROLL_CHECKPOINT_DELAY_MS = 1_000;

/** How the LogManager is set up. */
export interface LogManagerOptions {
  /** Config for logs loaded at start whose topic `topicConfig` does not resolve (Kafka defaults if absent). */
  defaultConfig?: LogConfig;
  /** Resolves a topic's config (overrides on top of defaults) when its logs are loaded; defaults to `defaultConfig`. */
  topicConfig?: (topic: string) => LogConfig;
  /** `log.retention.check.interval.ms`. */
  retentionCheckIntervalMs?: number;
  /** `log.flush.offset.checkpoint.interval.ms`. */
  checkpointIntervalMs?: number;
  /** The log cleaner (`log.cleaner.enable` is `enable`, default true; backoff, dedupe buffer size). */
  cleaner?: LogCleanerOptions & { enable?: boolean };
  /**
   * Called after each partition is loaded at open with the count loaded so far and the count found; open waits
   * for a returned promise, so the caller can report progress and let other work (health probes) run.
   */
  afterPartitionLoaded?: (loaded: number, total: number) => void | Promise<void>;
  /** Log dirs that already failed before loading (the broker's start-up checks), with the error: offline from the start. */
  failedDirs?: ReadonlyMap<string, unknown>;
  /** Every log dir is offline (KIP-112): the broker shuts down, as Kafka does. */
  onAllLogDirsFailed?: (reason: string) => void;
  /** Log dirs shared with the other shards of the node: only owned partitions, root files with a suffix (default: alone). */
  share?: LogDirShare;
}

/** A log dir and the partitions in it, for DescribeLogDirs. */
export interface LogDirDescription {
  /** The directory. */
  dir: string;
  /** Partitions with their sizes in bytes. */
  partitions: { topic: string; partition: number; size: number }[];
  /** Why the dir is offline (KIP-112: an I/O error in it), or null while it serves. */
  offline: string | null;
}

/** Errors that mean the disk under a log dir failed or filled up: the whole dir goes offline (KIP-112). */
const LOG_DIR_FAILURES = new Set(["EIO", "ENOSPC", "EROFS", "EDQUOT"]);
/** At start also a dir that cannot be reached at all (unmounted, permissions): Kafka's IOException while loading. */
const LOG_DIR_START_FAILURES = new Set([...LOG_DIR_FAILURES, "EACCES", "EPERM", "ENOTDIR"]);

/** Whether `e` means the disk or directory under a log dir failed, as far as loading it at start goes. */
export function isLogDirStartFailure(e: unknown): boolean {
  const code = ioErrorCode(e);
  return code !== null && LOG_DIR_START_FAILURES.has(code);
}

/** The errno code of `e` (also inside a storage error's `ioError`), or null. */
function ioErrorCode(e: unknown): string | null {
  for (let x = e; x !== null && typeof x === "object"; x = (x as { ioError?: unknown }).ioError) {
    const code = (x as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return null;
}

/** One loaded partition. */
interface LogEntry {
  log: PartitionLog;
  logDir: string;
  topicId: Uint8Array | null;
}

/** A second directory of a loaded partition found in another log dir at start: not opened unless it proves the right one. */
interface ShadowedLog {
  logDir: string;
  topicId: Uint8Array | null;
  /** What the start read for it from its log dir's checkpoints (its clean-shutdown marker is gone afterwards). */
  options: { recoveryPoint: bigint | undefined; logStartOffset: bigint | undefined; cleanShutdown: boolean; cleanerCheckpoint: bigint | undefined };
}

/** Owner of every partition log of the broker. */
export class LogManager {
  private readonly logDirs: readonly string[];
  private readonly opts: LogManagerOptions;
  private readonly deps: StorageDeps;
  private readonly entries = new Map<string, LogEntry>();
  /**
   * Partitions found in more than one log dir at start, by directory name: the copy not loaded. When the loaded one
   * proves a deleted topic's stray log ({@link getOrCreate}), this one, if it names the topic's id, is the replica.
   */
  private readonly shadowed = new Map<string, ShadowedLog>();
  private retentionTimer: unknown = null;
  private checkpointTimer: unknown = null;
  private rollCheckpointTimer: unknown = null;
  /** New partitions' fsyncs and deleted ones' log dir fsyncs under way, and failed ones not yet reported ({@link syncCreated}). */
  private readonly creationsInFlight = new Set<Promise<void>>();
  /**
   * Deleted partitions, by directory name, whose removal and checkpoints without them are not durable yet: a log
   * created again under that name holds its flushes (its acknowledgements) until then, also where no
   * {@link syncCreated} comes first (a replica opened by the cluster's metadata).
   */
  private readonly removalsInFlight = new Map<string, Promise<void>>();
  /** The timers' checkpoint write under way (off the event loop), or null. */
  private checkpointing: Promise<void> | null = null;
  /** A timer fired while {@link checkpointing} ran: write once more when it is done (with the newer offsets). */
  private checkpointAgain = false;
  private closed = false;
  /** The log cleaner, or null when `log.cleaner.enable` is false. */
  readonly cleaner: LogCleaner | null;
  /** Partitions loaded per log dir (placement picks the least loaded without walking every partition). */
  private readonly partitionsIn = new Map<string, number>();
  /** Log dirs taken offline by a disk failure, with the reason. */
  private readonly offlineDirs = new Map<string, string>();
  /** Which partitions of the log dirs are this broker's, and the suffix of its root files. */
  private readonly share: LogDirShare;

  private constructor(logDirs: readonly string[], deps: StorageDeps, opts: LogManagerOptions) {
    if (logDirs.length === 0) throw new Error("log.dirs lists no directory");
    this.logDirs = [...logDirs];
    this.opts = opts;
    this.share = opts.share ?? UNSHARED_LOG_DIRS;
    this.deps = deps;
    const c = opts.cleaner ?? {};
    this.cleaner = c.enable === false ? null : new LogCleaner(deps, () => this.allLogs(), c, (log) => this.writeCleanerCheckpoint(log));
  }

  /** Loads every partition in `logDirs` (`log.dirs`), recovering as needed, and starts the retention and checkpoint timers. */
  static async open(logDirs: readonly string[], deps: StorageDeps, opts: LogManagerOptions = {}): Promise<LogManager> {
    await initCrc32c();
    const mgr = new LogManager(logDirs, deps, opts);
    // KIP-112 at start: a dir whose disk fails while it is read goes offline and the others load; none left fails the start.
    const failedAtStart = (dir: string, e: unknown): void => {
      if (!isLogDirStartFailure(e)) throw e;
      mgr.logDirFailed(dir, e);
    };
    for (const [dir, e] of opts.failedDirs ?? []) failedAtStart(dir, e);
    let total = 0;
    for (const dir of mgr.logDirs) {
      if (mgr.offlineDirs.has(dir)) continue;
      try {
        total += mgr.partitionDirsIn(dir).length;
      } catch (e) {
        failedAtStart(dir, e);
      }
    }
    for (const dir of mgr.logDirs) {
      if (mgr.offlineDirs.has(dir)) continue;
      try {
        await mgr.loadDir(dir, total);
      } catch (e) {
        failedAtStart(dir, e);
      }
    }
    if (mgr.offlineDirs.size === mgr.logDirs.length) {
      throw new Error(`all log dirs have failed (${[...mgr.offlineDirs].map(([d, r]) => `${d}: ${r}`).join("; ")}); the broker cannot start`);
    }
    mgr.armRetention();
    mgr.armCheckpoint();
    mgr.cleaner?.start();
    return mgr;
  }

  /** The log of a partition, if this broker has it. */
  getLog(tp: TopicPartition): PartitionLog | undefined {
    return this.entries.get(partitionDirName(tp))?.log;
  }

  /** The topic id recorded for a partition (partition.metadata), if any. */
  topicId(tp: TopicPartition): Uint8Array | null {
    return this.entries.get(partitionDirName(tp))?.topicId ?? null;
  }

  /** The log dir holding a partition. */
  logDirOf(tp: TopicPartition): string | undefined {
    return this.entries.get(partitionDirName(tp))?.logDir;
  }

  /** Every loaded log. */
  allLogs(): PartitionLog[] {
    return [...this.entries.values()].map((e) => e.log);
  }

  /**
   * Returns the partition's log with `config` applied, creating it on the log dir with the fewest partitions if
   * it does not exist. `topicId` (16 bytes, or Kafka's printed base64url form) is written to `partition.metadata`
   * when the log is created or has none yet. `isNew` false (a partition this broker had before, opened at start):
   * while a log dir is offline it is not created anew (it may be in that dir) and KAFKA_STORAGE_ERROR is thrown.
   * A log found under the name whose `partition.metadata` names another topic id belongs to a deleted topic of the
   * same name (its removal failed, a disk error): as Kafka's stray-log check, it is deleted and a new log created.
   */
  getOrCreate(tp: TopicPartition, config: LogConfig, topicId: Uint8Array | string | null = null, isNew = true): PartitionLog {
    this.checkOpen();
    const name = partitionDirName(tp);
    const id = typeof topicId === "string" ? uuidFromBase64(topicId) : topicId;
    if (typeof topicId === "string" && id === null) throw new Error(`bad topic id "${topicId}" for ${name}`);
    const stray = this.entries.get(name);
    if (stray !== undefined && id !== null && stray.topicId !== null && uuidBase64(stray.topicId) !== uuidBase64(id)) {
      this.deps.logger.warn(`${name} in ${stray.logDir} belongs to topic id ${uuidBase64(stray.topicId)}, not ${uuidBase64(id)} (a deleted topic of the same name): deleting it`);
      this.delete(tp);
      this.settleShadowed(tp, config, id);
    }
    const existing = this.entries.get(name);
    if (existing) {
      if (existing.log.config !== config) existing.log.updateConfig(config);
      if (id !== null && existing.topicId === null) {
        writePartitionMetadata(this.deps.fs, existing.log.dir, id);
        existing.topicId = id;
      }
      if (id !== null) this.settleShadowed(tp, config, id);
      return existing.log;
    }
    // As Kafka: an existing partition not found while a log dir is offline may be in that dir; never start it empty elsewhere.
    if (!isNew && this.offlineDirs.size > 0) {
      throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `cannot open the log of ${name}: log dir(s) ${[...this.offlineDirs.keys()].join(", ")} are offline and may hold it`);
    }
    const logDir = this.leastLoadedDir();
    const dir = `${logDir}/${name}`;
    let log: PartitionLog;
    let metadataDurable: (() => Promise<void>) | null = null;
    try {
      this.deps.fs.mkdirp(dir);
      if (id !== null) metadataDurable = writePartitionMetadataSoon(this.deps.fs, dir, id);
      log = PartitionLog.open(dir, tp, config, this.deps);
    } catch (e) {
      this.noteFailure(logDir, e);
      // A new partition is created whole or not at all: what was made of it goes (or is removed at the next start).
      try {
        this.deps.fs.removeTree(dir);
      } catch {
        // unknown partition directories are removed at the next start
      }
      throw e;
    }
    this.entries.set(name, { log, logDir, topicId: id });
    this.trackCreation(log, logDir, metadataDurable, this.removalsInFlight.get(name));
    this.partitionsIn.set(logDir, (this.partitionsIn.get(logDir) ?? 0) + 1);
    this.watch(log, logDir);
    return log;
  }

  /**
   * The partition's other directory found at start ({@link shadowed}), once topic id `id` is known: when it names
   * another topic id it is a deleted topic's stray log, and is deleted (as Kafka's stray check at load); when it names
   * `id` and no log of the partition is loaded (the one loaded proved a stray and was deleted: the topic created again
   * while that log dir was offline put its replica here), it becomes the partition's log, records and all, instead
   * of a new empty one. A directory without a topic id is left alone.
   */
  private settleShadowed(tp: TopicPartition, config: LogConfig, id: Uint8Array): void {
    const name = partitionDirName(tp);
    const shadow = this.shadowed.get(name);
    if (shadow === undefined || shadow.topicId === null || this.offlineDirs.has(shadow.logDir)) return;
    const dir = `${shadow.logDir}/${name}`;
    if (uuidBase64(shadow.topicId) !== uuidBase64(id)) {
      this.shadowed.delete(name);
      this.deps.logger.warn(`${name} in ${shadow.logDir} belongs to topic id ${uuidBase64(shadow.topicId)}, not ${uuidBase64(id)} (a deleted topic of the same name): deleting it`);
      try {
        removePartitionDir(this.deps, dir);
      } catch (e) {
        this.noteFailure(shadow.logDir, e); // a rename left behind is removed at the next start
      }
      return;
    }
    if (this.entries.has(name)) return; // the same topic's log in two log dirs: the one loaded stays
    this.shadowed.delete(name);
    let log: PartitionLog;
    try {
      log = PartitionLog.open(dir, tp, config, this.deps, shadow.options);
    } catch (e) {
      this.noteFailure(shadow.logDir, e);
      throw e;
    }
    this.entries.set(name, { log, logDir: shadow.logDir, topicId: shadow.topicId });
    this.partitionsIn.set(shadow.logDir, (this.partitionsIn.get(shadow.logDir) ?? 0) + 1);
    this.watch(log, shadow.logDir);
    this.deps.logger.info(`${name}: opened its log in ${shadow.logDir}, which belongs to topic id ${uuidBase64(id)}`);
  }

  /**
   * Resolves once every partition created so far is durable: its `partition.metadata` and the log dir's entry for
   * it (flushes of the log wait for these), then its first segment files and directory entries. Creation starts these fsyncs at once, asynchronously, so
   * nothing blocks the event loop; callers await this before recording a creation (CreateTopics, CreatePartitions).
   * It also waits for the removals of partitions deleted so far ({@link delete}): a topic created again under the
   * same name never finds an old directory come back after a crash. Throws the first failure (the log dir goes
   * offline as with any disk failure).
   */
  async syncCreated(): Promise<void> {
    const pending = [...this.creationsInFlight];
    try {
      await Promise.all(pending);
    } finally {
      for (const p of pending) this.creationsInFlight.delete(p);
    }
  }

  /** Starts making a new partition durable (see {@link syncCreated}). */
  private trackCreation(log: PartitionLog, logDir: string, metadataDurable: (() => Promise<void>) | null, removal: Promise<void> | undefined): void {
    // The partition's own entry in the log dir first (and the checkpoints without a deleted log of the same name):
    // no flush of the log (no acknowledgement) counts before it.
    const entry = (async (): Promise<void> => {
      if (removal !== undefined) await removal;
      if (metadataDurable !== null) await metadataDurable();
      await this.deps.fs.syncDirAsync(logDir);
    })();
    log.holdFlushesUntil(entry);
    const durable = async (): Promise<void> => {
      await entry;
      await log.sync();
    };
    const done: Promise<void> = durable().then(
      () => void this.creationsInFlight.delete(done),
      (e: unknown) => {
        // A partition deleted again (or the manager closed) before its fsyncs ran is no disk failure.
        if (this.closed || this.entries.get(log.name)?.log !== log) {
          this.creationsInFlight.delete(done);
          return;
        }
        this.noteFailure(logDir, e);
        throw e; // kept in the set for syncCreated to report
      },
    );
    done.catch(() => {}); // reported by syncCreated
    this.creationsInFlight.add(done);
  }

  /** Deletes a partition's log and directory (no-op if absent); a disk failure doing so takes its log dir offline. */
  delete(tp: TopicPartition): void {
    this.checkOpen();
    const name = partitionDirName(tp);
    const entry = this.entries.get(name);
    if (!entry) return;
    this.entries.delete(name);
    this.partitionsIn.set(entry.logDir, this.partitionsIn.get(entry.logDir)! - 1);
    try {
      entry.log.delete();
    } catch (e) {
      // As Kafka's asyncDelete (the rename to -delete under maybeHandleIOException): a disk failure there fails the
      // log dir (its partitions answer KAFKA_STORAGE_ERROR and it gets no clean-shutdown marker).
      this.noteFailure(entry.logDir, e);
      throw e;
    }
    this.trackRemoval(entry.logDir, name);
    this.deps.logger.info(`deleted log ${name} from ${entry.logDir}`);
  }

  /**
   * Makes a deleted partition's removal from `logDir` durable with an asynchronous fsync of the dir, then writes the
   * checkpoints without its entries, as Kafka's LogManager.asyncDelete does (a creation recorded later waits for both
   * through {@link syncCreated}, and a log created again under its name flushes nothing before). The checkpoints are keyed by topic and partition: left in them, the deleted log's
   * log start offset would be given to a partition created again under its name at the next unclean start, which
   * deletes every record below it (tests/storage/partition-created-again-after-a-delete-keeps-its-records-through-a-
   * crash). A crash before the fsync lands may bring the directory back: the next start deletes it again (its topic
   * is gone, or this broker no longer hosts it).
   */
  private trackRemoval(logDir: string, name: string): void {
    const removedAndCheckpointed = this.deps.fs.syncDirAsync(logDir).then(() => {
      if (this.closed) return;
      this.checkpointLogged();
      return this.checkpointsSettled();
    });
    // A failure takes the dir offline (below): a log created again there then fails its flushes on its own.
    const settled = removedAndCheckpointed.then(
      () => {},
      () => {},
    );
    this.removalsInFlight.set(name, settled);
    void settled.then(() => {
      if (this.removalsInFlight.get(name) === settled) this.removalsInFlight.delete(name);
    });
    const done: Promise<void> = removedAndCheckpointed.then(
      () => void this.creationsInFlight.delete(done),
      (e: unknown) => {
        if (this.closed) {
          this.creationsInFlight.delete(done);
          return;
        }
        this.deps.logger.error(`making the deletion of ${name} durable failed: ${String(e)}`);
        this.noteFailure(logDir, e);
        throw e; // kept in the set for syncCreated to report
      },
    );
    done.catch(() => {}); // reported by syncCreated
    this.creationsInFlight.add(done);
  }

  /** Deletes every loaded log whose topic `keepTopic` rejects (topics deleted while the broker was down). */
  removeUnknown(keepTopic: (topic: string) => boolean): void {
    for (const { log } of [...this.entries.values()]) {
      if (!keepTopic(log.topicPartition.topic)) this.delete(log.topicPartition);
    }
  }

  /** Each log dir with its partitions and their sizes (DescribeLogDirs). */
  describe(): LogDirDescription[] {
    return this.logDirs.map((dir) => ({
      dir,
      partitions: [...this.entries.values()]
        .filter((e) => e.logDir === dir)
        .map((e) => ({ topic: e.log.topicPartition.topic, partition: e.log.topicPartition.partition, size: e.log.size })),
      offline: this.offlineDirs.get(dir) ?? null,
    }));
  }

  /** Whether a disk failure took `dir` offline. */
  isLogDirOffline(dir: string): boolean {
    return this.offlineDirs.has(dir);
  }

  /**
   * Takes a log dir offline after a disk failure (KIP-112): every partition in it refuses reads and writes with
   * KAFKA_STORAGE_ERROR, no new partition is placed there and no checkpoint is written to it; the other dirs keep
   * serving. It comes back when the broker restarts with the disk fixed (acknowledged data is recovered then).
   */
  logDirFailed(dir: string, cause: unknown): void {
    if (this.offlineDirs.has(dir)) return;
    const reason = cause instanceof Error ? cause.message : String(cause);
    this.offlineDirs.set(dir, reason);
    let n = 0;
    for (const e of this.entries.values()) {
      if (e.logDir !== dir) continue;
      e.log.takeOffline(cause);
      n++;
    }
    const online = this.logDirs.filter((d) => !this.offlineDirs.has(d));
    this.deps.logger.error(
      `log dir ${dir} is offline after a disk failure (${reason}): its ${n} partition(s) answer KAFKA_STORAGE_ERROR until ` +
        `the broker restarts with the disk fixed; ${online.length > 0 ? `still serving ${online.join(", ")}` : "no log dir is left online"}`,
    );
    // the other shards of the node take the dir offline too (the host relays it once; a relayed one comes back here)
    this.share.dirFailed?.(dir, reason);
    if (online.length === 0) this.opts.onAllLogDirsFailed?.(`all log dirs (${this.logDirs.join(", ")}) have failed`);
  }

  /** Whether any log dir is offline (then a partition not found may be in it, and is not created anew elsewhere). */
  get hasOfflineLogDirs(): boolean {
    return this.offlineDirs.size > 0;
  }

  /** Runs retention on every log now; a failing log is reported and skipped. */
  enforceRetention(nowMs: number = this.deps.clock.nowMs()): void {
    for (const { log } of this.entries.values()) {
      if (log.isOffline) continue;
      try {
        log.enforceRetention(nowMs);
      } catch (e) {
        this.deps.logger.error(`retention of ${log.name} failed: ${String(e)}`);
      }
    }
  }

  /**
   * Writes the recovery point and log start offset checkpoints of every online log dir; a dir that fails does not
   * stop the others (a disk failure takes it offline), and the first failure is thrown at the end.
   */
  checkpoint(): void {
    let failure: unknown = null;
    for (const dir of this.logDirs) {
      if (this.offlineDirs.has(dir)) continue;
      try {
        this.checkpointDir(dir);
      } catch (e) {
        this.noteFailure(dir, e);
        failure ??= e;
      }
    }
    if (failure !== null) throw failure;
  }

  /** Writes the checkpoints of one log dir. */
  private checkpointDir(dir: string): void {
    for (const [name, entries] of this.checkpointFiles(dir)) writeOffsetCheckpoint(this.deps.fs, `${dir}/${name}`, entries);
  }

  /** The checkpoint files of one log dir with their entries, as of now. */
  private checkpointFiles(dir: string): [string, CheckpointEntry[]][] {
    const recovery: CheckpointEntry[] = [];
    const starts: CheckpointEntry[] = [];
    for (const { log, logDir } of this.entries.values()) {
      if (logDir !== dir) continue;
      const { topic, partition } = log.topicPartition;
      recovery.push({ topic, partition, offset: log.recoveryPoint });
      starts.push({ topic, partition, offset: log.logStartOffset });
    }
    const suffix = this.share.suffix;
    return [
      [RECOVERY_POINT_CHECKPOINT + suffix, recovery],
      [LOG_START_OFFSET_CHECKPOINT + suffix, starts],
      [CLEANER_OFFSET_CHECKPOINT + suffix, this.cleanedEntries(dir)],
    ];
  }

  /**
   * After a compaction pass over `log`: writes the checkpoints (`cleaner-offset-checkpoint` among them) the way the
   * timer does, off the event loop and one write at a time, and resolves once a write that began after the pass is
   * done. A failure is logged (and takes the dir offline); the pass still counts, and a crash before the file is
   * durable only makes the next start clean that section again.
   */
  private writeCleanerCheckpoint(log: PartitionLog): Promise<void> {
    const entry = this.entries.get(log.name);
    if (entry === undefined || entry.log !== log || this.closed) return Promise.resolve();
    this.checkpointLogged();
    return this.checkpointsSettled();
  }

  /** `cleaner-offset-checkpoint` entries of `dir`: one per log that has been compacted. */
  private cleanedEntries(dir: string): CheckpointEntry[] {
    const cleaned: CheckpointEntry[] = [];
    for (const { log, logDir } of this.entries.values()) {
      if (logDir !== dir || log.cleanerCheckpoint <= log.logStartOffset) continue;
      cleaned.push({ topic: log.topicPartition.topic, partition: log.topicPartition.partition, offset: log.cleanerCheckpoint });
    }
    return cleaned;
  }

  /**
   * Stops the timers, flushes and closes every log, writes final checkpoints and the clean-shutdown markers.
   * `closed` hears of each log once its tail is durable and its files closed, before the markers (the broker writes
   * its producer snapshot there: Kafka's LogManager.shutdown flushes each log, then UnifiedLog.close snapshots it).
   * A log dir gets no marker when it is offline or one of its logs went offline by then (a final sync that failed).
   */
  async close(closed?: (log: PartitionLog) => void): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const clock = this.deps.clock;
    if (this.retentionTimer !== null) clock.clearTimer(this.retentionTimer);
    if (this.checkpointTimer !== null) clock.clearTimer(this.checkpointTimer);
    if (this.rollCheckpointTimer !== null) clock.clearTimer(this.rollCheckpointTimer);
    this.rollCheckpointTimer = null;
    await this.cleaner?.stop();
    await this.checkpointsSettled(); // the final checkpoint below must be the last one renamed into place
    const unclean = new Set<string>(this.offlineDirs.keys());
    for (const { log, logDir } of this.entries.values()) {
      await log.close();
      closed?.(log);
      // a final sync that failed, in the close or in what `closed` writes, took the log offline: its dir is not clean
      if (log.isOffline) unclean.add(logDir);
    }
    try {
      this.checkpoint();
    } catch (e) {
      this.deps.logger.error(`writing checkpoints at shutdown failed: ${String(e)}`);
      for (const dir of this.logDirs) unclean.add(dir);
    }
    for (const dir of this.logDirs) {
      if (unclean.has(dir) || this.offlineDirs.has(dir)) continue;
      this.deps.fs.writeFileAtomic(`${dir}/${CLEAN_SHUTDOWN_FILE}${this.share.suffix}`, new TextEncoder().encode("{}\n"));
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new Error("log manager is closed");
  }

  private configFor(topic: string): LogConfig {
    return this.opts.topicConfig?.(topic) ?? this.opts.defaultConfig ?? DEFAULT_LOG_CONFIG;
  }

  /** The online log dir with the fewest partitions; KAFKA_STORAGE_ERROR when every dir is offline. */
  private leastLoadedDir(): string {
    const online = this.logDirs.filter((d) => !this.offlineDirs.has(d));
    if (online.length === 0) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `every log dir is offline (${this.logDirs.join(", ")})`);
    const count = (d: string) => this.partitionsIn.get(d) ?? 0;
    let best = online[0];
    for (const d of online) if (count(d) < count(best)) best = d;
    return best;
  }

  /** Routes a log's I/O failure to its log dir: a disk failure takes the whole dir offline. */
  private watch(log: PartitionLog, dir: string): void {
    log.onIoError = (e) => this.noteFailure(dir, e);
    log.onSealedDurable = () => this.scheduleRollCheckpoint();
    if (this.offlineDirs.has(dir)) log.takeOffline(this.offlineDirs.get(dir));
  }

  /** Takes `dir` offline when `e` is a disk failure (EIO, ENOSPC, EROFS, EDQUOT). */
  private noteFailure(dir: string, e: unknown): void {
    const code = ioErrorCode(e);
    if (code !== null && LOG_DIR_FAILURES.has(code)) this.logDirFailed(dir, e);
  }

  private readCheckpoint(path: string): Map<string, bigint> {
    const out = new Map<string, bigint>();
    try {
      for (const e of readOffsetCheckpoint(this.deps.fs, path)) out.set(partitionDirName(e), e.offset);
    } catch (e) {
      this.deps.logger.warn(`ignoring unreadable checkpoint ${path}: ${String(e)}`);
    }
    return out;
  }

  /** Names of the partition directories in `dir` (made if missing). */
  private partitionDirsIn(dir: string): string[] {
    this.deps.fs.mkdirp(dir);
    return this.deps.fs.list(dir).filter((name) => {
      const tp = parsePartitionDirName(name);
      return tp !== null && partitionDirName(tp) === name && this.share.owns(tp);
    });
  }

  private async loadDir(dir: string, total: number): Promise<void> {
    const fs = this.deps.fs;
    fs.mkdirp(dir);
    const suffix = this.share.suffix;
    const marker = `${dir}/${CLEAN_SHUTDOWN_FILE}${suffix}`;
    const clean = fs.exists(marker);
    const recoveryPoints = this.readCheckpoint(`${dir}/${RECOVERY_POINT_CHECKPOINT}${suffix}`);
    const logStarts = this.readCheckpoint(`${dir}/${LOG_START_OFFSET_CHECKPOINT}${suffix}`);
    const cleanerPoints = this.readCheckpoint(`${dir}/${CLEANER_OFFSET_CHECKPOINT}${suffix}`);
    for (const name of fs.list(dir).sort()) {
      const path = `${dir}/${name}`;
      if (name.endsWith(DELETE_DIR_SUFFIX)) {
        // `<topic>-<partition>.<id>-delete`: only the owner of that partition removes it (shards share the dir).
        const doomed = parsePartitionDirName(name.slice(0, name.lastIndexOf(".")));
        if (doomed !== null && !this.share.owns(doomed)) continue;
        fs.removeTree(path);
        this.deps.logger.info(`removed ${path} left by an interrupted delete`);
        continue;
      }
      const tp = parsePartitionDirName(name);
      if (tp === null || partitionDirName(tp) !== name || !this.share.owns(tp)) continue;
      const recoveryPoint = recoveryPoints.get(name);
      if (this.entries.has(name)) {
        this.deps.logger.error(`partition ${name} is in more than one log dir; keeping the one in ${this.entries.get(name)!.logDir}`);
        // kept aside: it is the replica when the one kept proves a deleted topic's stray log (getOrCreate)
        const options = { recoveryPoint, logStartOffset: logStarts.get(name), cleanShutdown: clean && recoveryPoint !== undefined, cleanerCheckpoint: cleanerPoints.get(name) };
        if (!this.shadowed.has(name)) this.shadowed.set(name, { logDir: dir, topicId: readPartitionMetadata(fs, path), options });
        continue;
      }
      const log = PartitionLog.open(path, tp, this.configFor(tp.topic), this.deps, {
        recoveryPoint,
        logStartOffset: logStarts.get(name),
        cleanShutdown: clean && recoveryPoint !== undefined,
        cleanerCheckpoint: cleanerPoints.get(name),
      });
      this.entries.set(name, { log, logDir: dir, topicId: readPartitionMetadata(fs, path) });
      this.partitionsIn.set(dir, (this.partitionsIn.get(dir) ?? 0) + 1);
      this.watch(log, dir);
      await this.opts.afterPartitionLoaded?.(this.entries.size, total);
    }
    if (clean) {
      fs.remove(marker);
      fs.syncDir(dir);
    }
  }

  private armRetention(): void {
    const interval = this.opts.retentionCheckIntervalMs ?? DEFAULT_RETENTION_CHECK_INTERVAL_MS;
    this.retentionTimer = this.deps.clock.setTimer(() => {
      this.retentionTimer = null;
      if (this.closed) return;
      this.enforceRetention();
      this.armRetention();
    }, interval);
  }

  /** Writes the checkpoints {@link ROLL_CHECKPOINT_DELAY_MS} from now, unless already scheduled. */
  private scheduleRollCheckpoint(): void {
    if (this.closed || this.rollCheckpointTimer !== null) return;
    this.rollCheckpointTimer = this.deps.clock.setTimer(() => {
      this.rollCheckpointTimer = null;
      if (!this.closed) this.checkpointLogged();
    }, ROLL_CHECKPOINT_DELAY_MS);
  }

  /**
   * The timers' (and the cleaner's) checkpoint: the same files as {@link checkpoint}, written without blocking the event loop (each
   * through a temp file made durable by an asynchronous fdatasync, then renamed, then the dir synced); a failure is
   * logged and takes the dir offline. At most one runs at a time: a timer firing meanwhile asks for one more after it.
   */
  private checkpointLogged(): void {
    if (this.checkpointing !== null) {
      this.checkpointAgain = true;
      return;
    }
    const settle = (): void => {
      this.checkpointing = null;
      if (this.checkpointAgain && !this.closed) {
        this.checkpointAgain = false;
        this.checkpointLogged();
      }
    };
    this.checkpointing = this.checkpointAsync().then(settle, (e) => {
      this.deps.logger.error(`writing checkpoints failed: ${String(e)}`);
      settle();
    });
  }

  /** Resolves once no timer checkpoint write is under way (tests; {@link close}). */
  async checkpointsSettled(): Promise<void> {
    while (this.checkpointing !== null) await this.checkpointing;
  }

  private async checkpointAsync(): Promise<void> {
    let failure: unknown = null;
    for (const dir of this.logDirs) {
      if (this.offlineDirs.has(dir)) continue;
      const files = this.checkpointFiles(dir);
      try {
        for (const [name, entries] of files) await writeOffsetCheckpointAsync(this.deps.fs, `${dir}/${name}`, entries);
        await this.deps.fs.syncDirAsync(dir);
      } catch (e) {
        this.noteFailure(dir, e);
        failure ??= e;
      }
    }
    if (failure !== null) throw failure;
  }

  private armCheckpoint(): void {
    const interval = this.opts.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
    this.checkpointTimer = this.deps.clock.setTimer(() => {
      this.checkpointTimer = null;
      if (this.closed) return;
      this.checkpointLogged();
      this.armCheckpoint();
    }, interval);
  }
}
