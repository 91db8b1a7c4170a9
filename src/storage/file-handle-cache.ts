/**
 * A bound on the file descriptors the logs hold (`log.open.files.max`). Every file storage opens through
 * {@link FileHandleCache.fileSystem} is opened at once, but when more than the bound are open the least recently
 * used idle one is closed, and reopened (by path) on its next use. A file in an asynchronous fdatasync is never
 * closed under it, and at most half the bound may be syncing at once (more fdatasyncs wait), so a read or write
 * always finds an idle descriptor to close: the bound is never passed. The second descriptor a zero append
 * (`runnel.log.pretouch.bytes`) holds while it lands counts too (at most a quarter of the bound; none without room). So 50,000 partitions (each with an active `.log`, `.index` and `.timeindex`) run under a 20,000
 * descriptor limit, with sockets getting the rest.
 *
 * Durability is unchanged: an fdatasync through a reopened descriptor flushes the whole file's dirty pages, since
 * the page cache belongs to the file, not the descriptor.
 */
import type { FileHandle, FileSystem } from "../platform/fs.ts";

/** Descriptors kept aside for everything but log files and connections: stdio, listeners, poll, small metadata files. */
export const RESERVED_FDS = 64;
/** Fewest log files the cache may be bounded to. */
export const MIN_LOG_OPEN_FILES = 16;
/** `log.open.files.max` when it is unset and the open-files limit cannot be read (not Linux). */
export const DEFAULT_LOG_OPEN_FILES = 10_000;

/**
 * How many log files may be open (`log.open.files.max`), from the open-files limit (`ulimit -n`, null when unknown)
 * and the configured value (null when unset: half of what the reserve leaves, the other half for connections).
 * Returns a message naming the limit and what is needed when they do not fit.
 */
export function logOpenFilesBudget(fdLimit: number | null, configured: number | null): number | string {
  if (configured !== null && (!Number.isInteger(configured) || configured < MIN_LOG_OPEN_FILES)) {
    return `log.open.files.max must be an integer >= ${MIN_LOG_OPEN_FILES}, got ${configured}`;
  }
  if (fdLimit === null) return configured ?? DEFAULT_LOG_OPEN_FILES;
  const need = (configured ?? MIN_LOG_OPEN_FILES) + RESERVED_FDS + MIN_LOG_OPEN_FILES;
  if (fdLimit < need) {
    const what = configured === null ? "" : ` with log.open.files.max=${configured}`;
    return (
      `the open-files limit (ulimit -n) is ${fdLimit}, but Runnel needs at least ${need} file descriptors${what} ` +
      `(log files + ${RESERVED_FDS} reserved + connections): raise it (ulimit -n ${need} or more; LimitNOFILE= under systemd)` +
      (configured === null ? "" : " or lower log.open.files.max")
    );
  }
  return configured ?? Math.max(MIN_LOG_OPEN_FILES, Math.floor((fdLimit - RESERVED_FDS) / 2));
}

/** A sharded node's split of the open-files limit: log files per shard, connections for the whole node. */
export interface ShardedFdBudget {
  /** Log files each shard's cache may hold open (its share of `log.open.files.max`, which counts for the node). */
  logFilesPerShard: number;
  /** Client connections the whole node may hold (every accepting thread together); null when the limit is unknown. */
  connectionFds: number | null;
}

/**
 * The split of one process's open-files limit (`ulimit -n`, null when unknown) among a node's `shards` worker threads
 * and its main thread: {@link RESERVED_FDS} for each thread, log files (`configured` for the node, or half the rest)
 * divided among the shards, the rest for the node's connections. Returns a message naming `ulimit -n` when the
 * limit does not leave each shard {@link MIN_LOG_OPEN_FILES} log files and the node as many connections.
 */
export function shardedFdBudget(fdLimit: number | null, shards: number, configured: number | null): ShardedFdBudget | string {
  if (!(Number.isInteger(shards) && shards >= 1)) throw new Error(`shardedFdBudget: shards must be a positive integer, got ${shards}`);
  const least = MIN_LOG_OPEN_FILES * shards;
  if (configured !== null && (!Number.isInteger(configured) || configured < least)) {
    return `log.open.files.max counts for the whole node of ${shards} shards: it must be an integer >= ${least} (${MIN_LOG_OPEN_FILES} per shard), got ${configured}`;
  }
  if (fdLimit === null) return { logFilesPerShard: Math.floor((configured ?? DEFAULT_LOG_OPEN_FILES) / shards), connectionFds: null };
  const reserved = RESERVED_FDS * (shards + 1);
  const need = (configured ?? least) + reserved + MIN_LOG_OPEN_FILES;
  if (fdLimit < need) {
    const what = configured === null ? "" : ` with log.open.files.max=${configured}`;
    return (
      `the open-files limit (ulimit -n) is ${fdLimit}, but a node of ${shards} shards needs at least ${need} file descriptors${what} ` +
      `(log files + ${RESERVED_FDS} reserved per thread + connections): raise it (ulimit -n ${need} or more; LimitNOFILE= under systemd)` +
      (configured === null ? " or run fewer shards" : " or lower log.open.files.max")
    );
  }
  const logFilesPerShard = Math.floor((configured ?? Math.max(least, Math.floor((fdLimit - reserved) / 2))) / shards);
  return { logFilesPerShard, connectionFds: fdLimit - reserved - logFilesPerShard * shards };
}

/** A file of the cache: its descriptor comes and goes, its path and dirtiness stay. */
class CachedFile implements FileHandle {
  readonly path: string;
  /** The open descriptor, or null while evicted. */
  handle: FileHandle | null;
  /** Asynchronous fdatasyncs in flight (the descriptor must stay open). */
  pinned = 0;
  /**
   * A write or truncation came after the start of the latest fdatasync. A file opened for writing starts dirty: it
   * may hold pages another descriptor (an earlier open, or a killed process) wrote and never synced, and fdatasync
   * flushes the file's pages whatever descriptor wrote them, so its first sync must run one (AbortedTxnIndex
   * writes an entry through one open and syncs it through the next: with a clean start that sync did nothing, and
   * a power cut after the next producer snapshot lost the entry; found by tests/sim kafka seed 3 with log.roll.ms).
   */
  private dirty: boolean;
  /** The fdatasync started last, until it settles: a clean file's sync must still wait for it. */
  private latestSync: Promise<void> | null = null;
  private closed = false;
  /** Zero appends in flight, and the descriptor they went to (whose second, O_APPEND descriptor they hold open). */
  private zeroAppends = 0;
  private zeroHandle: FileHandle | null = null;

  constructor(
    private readonly cache: FileHandleCache,
    path: string,
    handle: FileHandle,
    readonly readOnly: boolean,
  ) {
    this.dirty = !readOnly;
    this.path = path;
    this.handle = handle;
  }

  size(): number {
    return this.use().size();
  }
  read(buf: Uint8Array, position: number): number {
    return this.use().read(buf, position);
  }
  write(buf: Uint8Array, position: number): void {
    this.dirty = true;
    this.use().write(buf, position);
  }
  writev(bufs: readonly Uint8Array[], position: number): number {
    this.dirty = true;
    return this.use().writev(bufs, position);
  }
  /**
   * Resolves once everything written before the call is durable. With no write since the latest fdatasync started,
   * that one covers it all, so this waits for it rather than starting another; it must not answer before it
   * completes (an earlier shortcut did: a flush that found the file clean because a preallocation zero fill had
   * just started its fdatasync acknowledged records a power cut then lost; found by tests/sim).
   */
  datasync(): Promise<void> {
    if (!this.dirty) return this.latestSync ?? Promise.resolve();
    if (this.closed) return Promise.reject(new Error(`${this.path} is closed`));
    this.dirty = false;
    const run = this.syncPinned();
    this.latestSync = run;
    const settled = () => {
      if (this.latestSync === run) this.latestSync = null;
    };
    run.then(settled, settled);
    return run;
  }
  private async syncPinned(): Promise<void> {
    await this.cache.pin(this);
    try {
      await this.use().datasync();
    } catch (e) {
      this.dirty = true;
      throw e;
    } finally {
      this.cache.unpin(this);
    }
  }
  datasyncNow(): void {
    const h = this.use();
    this.dirty = false;
    try {
      h.datasyncNow();
    } catch (e) {
      this.dirty = true;
      throw e;
    }
  }
  truncate(length: number): void {
    this.dirty = true;
    this.use().truncate(length);
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cache.forget(this);
  }
  /**
   * Zero appends run through a second descriptor of the file (FileHandle.appendZeros), held until they all land: it
   * counts in the cache's bound like any other, and where the bound has no room for it no zeros are written (they
   * only warm the page cache). Zeros for a descriptor reopened while earlier ones still land are skipped too, so
   * each file holds at most one such descriptor.
   */
  appendZeros(length: number): Promise<void> {
    const h = this.use();
    if (h.appendZeros === undefined) return Promise.resolve();
    if (this.zeroAppends === 0) {
      if (!this.cache.takeZeroDescriptor()) return Promise.resolve();
      this.zeroHandle = h;
    } else if (this.zeroHandle !== h) {
      return Promise.resolve();
    }
    this.zeroAppends++;
    let landing: Promise<void>;
    try {
      landing = h.appendZeros(length);
    } catch (e) {
      this.zerosLanded();
      throw e;
    }
    return landing.then(() => this.zerosLanded());
  }

  private zerosLanded(): void {
    if (--this.zeroAppends > 0) return;
    this.zeroHandle = null;
    this.cache.releaseZeroDescriptor();
  }

  private use(): FileHandle {
    if (this.closed) throw new Error(`${this.path} is closed`);
    return this.cache.acquire(this);
  }
}

/** The bounded set of open log files. */
export class FileHandleCache {
  /** `log.open.files.max`: most descriptors open at once (briefly more only while every one is in an fdatasync). */
  readonly maxOpen: number;
  /** A file system whose files share this bound. */
  readonly fileSystem: FileSystem;
  /** Files closed to make room so far. */
  evictions = 0;
  private readonly fs: FileSystem;
  /** Open files, least recently used first. */
  private readonly lru = new Map<CachedFile, true>();
  private readonly syncWaiters: (() => void)[] = [];
  private syncing = 0;
  /** Second descriptors held by zero appends in flight (one per file at most), counted in the bound. */
  private zeroDescriptors = 0;

  constructor(fs: FileSystem, maxOpen: number) {
    if (!Number.isInteger(maxOpen) || maxOpen < 1) throw new RangeError(`log.open.files.max must be a positive integer, got ${maxOpen}`);
    this.fs = fs;
    this.maxOpen = maxOpen;
    this.fileSystem = {
      ...fs,
      open: (path, create) => this.admit(path, false, () => fs.open(path, create)),
      openRead: (path) => this.admit(path, true, () => fs.openRead(path)),
      writeFileAtomic: (path, data) => fs.writeFileAtomic(path, data),
      syncDir: (path) => fs.syncDir(path),
    syncDirAsync: (path) => fs.syncDirAsync(path),
    };
  }

  /** Most files in an fdatasync at once (half the bound, so reads and writes always find an idle file to close). */
  get maxSyncing(): number {
    return Math.max(1, Math.floor(this.maxOpen / 2));
  }

  /** Descriptors open now (zero appends' second descriptors included). */
  get openCount(): number {
    return this.lru.size + this.zeroDescriptors;
  }

  /**
   * Most second descriptors zero appends may hold at once: a quarter of the bound, so that with at most half of it
   * syncing a read or write still finds an idle descriptor to close.
   */
  get maxZeroDescriptors(): number {
    return Math.floor(this.maxOpen / 4);
  }

  /** Counts a zero append's second descriptor if the bound has room for it now; false (no zeros) if not. */
  takeZeroDescriptor(): boolean {
    if (this.zeroDescriptors >= this.maxZeroDescriptors || this.lru.size + this.zeroDescriptors >= this.maxOpen) return false;
    this.zeroDescriptors++;
    return true;
  }

  /** A zero append's second descriptor is closed. */
  releaseZeroDescriptor(): void {
    if (--this.zeroDescriptors < 0) throw new Error("file handle cache: released more zero-append descriptors than taken");
  }

  /** The descriptor of `f`, reopening it (and closing the least recently used idle file) if it was evicted. */
  acquire(f: CachedFile): FileHandle {
    if (f.handle !== null) {
      this.lru.delete(f);
      this.lru.set(f, true);
      return f.handle;
    }
    this.makeRoom();
    const h = f.readOnly ? this.fs.openRead(f.path) : this.fs.open(f.path, false);
    f.handle = h;
    this.lru.set(f, true);
    return h;
  }

  /** Marks `f` as syncing (its descriptor stays open), once fewer than {@link maxSyncing} files are. */
  async pin(f: CachedFile): Promise<void> {
    while (this.syncing >= this.maxSyncing) await new Promise<void>((resolve) => this.syncWaiters.push(resolve));
    this.syncing++;
    f.pinned++;
  }

  /** `f`'s fdatasync is done: a waiting one may start. */
  unpin(f: CachedFile): void {
    f.pinned--;
    this.syncing--;
    this.syncWaiters.shift()?.();
  }

  /** Closes `f` for good. */
  forget(f: CachedFile): void {
    this.lru.delete(f);
    const h = f.handle;
    f.handle = null;
    h?.close();
  }

  private admit(path: string, readOnly: boolean, open: () => FileHandle): FileHandle {
    this.makeRoom();
    const f = new CachedFile(this, path, open(), readOnly);
    this.lru.set(f, true);
    return f;
  }

  private makeRoom(): void {
    if (this.lru.size + this.zeroDescriptors < this.maxOpen) return;
    if (this.maxOpen > 1 && this.syncing >= this.maxOpen) throw new Error(`file handle cache: ${this.syncing} files syncing, bound ${this.maxOpen}`);
    for (const f of this.lru.keys()) {
      if (f.pinned > 0) continue;
      this.lru.delete(f);
      f.handle!.close();
      f.handle = null;
      this.evictions++;
      if (this.lru.size + this.zeroDescriptors < this.maxOpen) return;
    }
  }
}
