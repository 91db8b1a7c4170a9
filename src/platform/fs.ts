/**
 * File access for storage, behind one interface so tests can inject a faulty disk. The real implementation
 * uses `node:fs`, which both Bun and Deno provide. Writes and reads are synchronous (page-cache speed, no
 * thread-pool hop on the hot path); only `datasync` is asynchronous so that concurrent produce requests can
 * share one fdatasync (group commit).
 */
import * as nodeFs from "node:fs";
import * as nodePath from "node:path";
import { asyncFsyncSlots, MAX_ASYNC_FSYNCS_IN_FLIGHT } from "./fd-slots.ts";
import { denoMmap, denoMmapSupported } from "./deno-mmap.ts";

export { MAX_ASYNC_FSYNCS_IN_FLIGHT };

/** An open file. Positions are byte offsets; sizes are plain numbers (files stay below 2^53 bytes). */
export interface FileHandle {
  /** Path the file was opened with. */
  readonly path: string;
  /** Current size in bytes. */
  size(): number;
  /** Reads up to `buf.length` bytes at `position` into `buf`; returns the count read. */
  read(buf: Uint8Array, position: number): number;
  /** Writes all of `buf` at `position`. */
  write(buf: Uint8Array, position: number): void;
  /** Writes several buffers back to back starting at `position`; returns the total written. */
  writev(bufs: readonly Uint8Array[], position: number): number;
  /** Flushes file data to stable storage. */
  datasync(): Promise<void>;
  /** Flushes file data synchronously (shutdown, segment roll). */
  datasyncNow(): void;
  /** Cuts or extends the file to `length` bytes. */
  truncate(length: number): void;
  /** Closes the file. */
  close(): void;
  /**
   * Appends `length` (at most {@link ZERO_APPEND_MAX_BYTES}) zero bytes at the end the file has when the write
   * runs, off the event loop (on the runtime's thread pool, through a second descriptor of the file opened O_APPEND,
   * held while such writes are pending, even past the handle's close): never over bytes written before, whatever
   * else writes meanwhile. Best effort: it settles, never rejects. Absent where files have no page cache to warm.
   */
  appendZeros?(length: number): Promise<void>;
}

/** Most bytes one {@link FileHandle.appendZeros} writes. */
export const ZERO_APPEND_MAX_BYTES = 1 << 20;
/** The zeros {@link FileHandle.appendZeros} writes (never written to). */
let zeroSource: Uint8Array | null = null;

/** Directory and file operations used by storage and metadata. */
export interface FileSystem {
  /** Opens (creating if asked) a file for reading and writing. */
  open(path: string, create: boolean): FileHandle;
  /** Opens a file read-only. */
  openRead(path: string): FileHandle;
  /** Maps a file read-only into memory where the runtime can; returns null where it cannot. */
  mmap(path: string): Uint8Array | null;
  /** Whether a path exists. */
  exists(path: string): boolean;
  /** Creates a directory and its parents. */
  mkdirp(path: string): void;
  /** Lists the names in a directory. */
  list(path: string): string[];
  /** Renames atomically within one file system. */
  rename(from: string, to: string): void;
  /** Removes a file. */
  remove(path: string): void;
  /** Removes a directory tree. */
  removeTree(path: string): void;
  /** Reads a whole (small) file. */
  readFile(path: string): Uint8Array;
  /** Writes a small file atomically: write to `path.tmp`, fsync, rename, fsync the directory. */
  writeFileAtomic(path: string, data: Uint8Array): void;
  /**
   * {@link writeFileAtomic} off the event loop: `<path>.<tag>.tmp`, an asynchronous fdatasync, then the rename
   * (callers writing one path concurrently use distinct tags); the directory entry is made durable by the next
   * {@link syncDir} or {@link syncDirAsync}.
   */
  writeFileAtomicAsync(path: string, data: Uint8Array, tag?: string): Promise<void>;
  /** Fsyncs a directory so that creates and renames in it are durable. */
  syncDir(path: string): void;
  /** {@link FileSystem.syncDir} off the event loop (the flush after a segment roll). */
  syncDirAsync(path: string): Promise<void>;
  /**
   * Runs asynchronous work that keeps a file open while it waits, within the file system's bound on such work
   * (the real disk: {@link MAX_ASYNC_FSYNCS_IN_FLIGHT}); absent where there is no descriptor limit (simulated disks).
   */
  holdingFd?<T>(work: () => Promise<T>): Promise<T>;
}

class NodeFileHandle implements FileHandle {
  readonly path: string;
  private fd: number;
  /**
   * {@link appendZeros}' own O_APPEND descriptor, open only while zero appends are pending: -1 when none, -2 if unusable
   * (the path names another file). An open that failed (EMFILE, ENOENT...) leaves -1: the next zero append tries again.
   */
  private appendFd = -1;
  /** Zero appends not yet done: the O_APPEND descriptor closes after the last (a reused number must never get them). */
  private appendsInFlight = 0;
  constructor(path: string, fd: number) {
    this.path = path;
    this.fd = fd;
  }
  size(): number {
    return nodeFs.fstatSync(this.fd).size;
  }
  read(buf: Uint8Array, position: number): number {
    let done = 0;
    while (done < buf.length) {
      const n = nodeFs.readSync(this.fd, buf, done, buf.length - done, position + done);
      if (n <= 0) break;
      done += n;
    }
    return done;
  }
  write(buf: Uint8Array, position: number): void {
    let done = 0;
    while (done < buf.length) {
      done += nodeFs.writeSync(this.fd, buf, done, buf.length - done, position + done);
    }
  }
  writev(bufs: readonly Uint8Array[], position: number): number {
    let total = 0;
    for (const b of bufs) {
      this.write(b, position + total);
      total += b.length;
    }
    return total;
  }
  datasync(): Promise<void> {
    return new Promise((resolve, reject) => nodeFs.fdatasync(this.fd, (e) => (e ? reject(e) : resolve())));
  }
  datasyncNow(): void {
    nodeFs.fdatasyncSync(this.fd);
  }
  truncate(length: number): void {
    nodeFs.ftruncateSync(this.fd, length);
  }
  close(): void {
    if (this.fd >= 0) nodeFs.closeSync(this.fd);
    this.fd = -1;
    if (this.appendsInFlight === 0) this.closeAppendDescriptor();
  }
  appendZeros(length: number): Promise<void> {
    if (!(length <= ZERO_APPEND_MAX_BYTES)) throw new RangeError(`appendZeros of ${length} bytes (at most ${ZERO_APPEND_MAX_BYTES})`);
    if (this.fd < 0 || length <= 0) return Promise.resolve();
    if (this.appendFd === -1) this.appendFd = this.openAppendDescriptor();
    if (this.appendFd < 0) return Promise.resolve();
    zeroSource ??= new Uint8Array(ZERO_APPEND_MAX_BYTES);
    const zeros = zeroSource;
    this.appendsInFlight++;
    return new Promise((resolve) =>
      nodeFs.write(this.appendFd, zeros, 0, length, null, () => {
        if (--this.appendsInFlight === 0) this.closeAppendDescriptor();
        resolve();
      }),
    );
  }
  /**
   * A second, O_APPEND descriptor of this very file; -2 if the path names another file by now, -1 if it cannot be
   * opened now (tried again by the next zero append).
   */
  private openAppendDescriptor(): number {
    let fd = -1;
    try {
      fd = nodeFs.openSync(this.path, nodeFs.constants.O_WRONLY | nodeFs.constants.O_APPEND);
      const mine = nodeFs.fstatSync(this.fd);
      const other = nodeFs.fstatSync(fd);
      if (mine.dev === other.dev && mine.ino === other.ino) return fd;
    } catch {
      // Appending zeros is an optimisation: without the descriptor there are none, this time.
      if (fd < 0) return -1;
    }
    if (fd >= 0) nodeFs.closeSync(fd);
    return -2;
  }
  /** Closes the O_APPEND descriptor (idle: no zero append pending); opened again by the next one while the file is open. */
  private closeAppendDescriptor(): void {
    if (this.appendFd >= 0) nodeFs.closeSync(this.appendFd);
    this.appendFd = this.fd >= 0 ? -1 : -2;
  }
}

/** Which file a map returned by {@link nodeFileSystem}'s `mmap` shows: its path when mapped and its identity. */
export interface MappedFile {
  /** Path the file was mapped by. */
  readonly path: string;
  /** Device of the file (stat's `st_dev`). */
  readonly dev: bigint;
  /** Inode of the file (stat's `st_ino`): a file replaced at the same path (a rename over it) has another. */
  readonly ino: bigint;
  /** Byte offset of the map's first byte within its ArrayBuffer. */
  readonly start: number;
  /** Bytes mapped (the file's size when mapped). */
  readonly length: number;
}

const mappedFiles = new WeakMap<ArrayBufferLike, MappedFile>();

/**
 * The file a view of an `mmap` map lies in and the view's byte position in it, or null when `view` is not a view of
 * such a map (a buffer read by pread, a map whose path changed while it was taken, a simulated disk's).
 */
export function mappedFileOf(view: Uint8Array): { file: MappedFile; position: number } | null {
  const file = mappedFiles.get(view.buffer);
  if (file === undefined) return null;
  const position = view.byteOffset - file.start;
  if (position < 0 || position + view.length > file.length) return null;
  return { file, position };
}

/** A file's identity: device and inode (stat's `st_dev`, `st_ino`). */
export interface FileId {
  readonly dev: bigint;
  readonly ino: bigint;
}

/** Device and inode of the file at `path` now, or null if there is none (stat follows symlinks). */
export function fileIdentity(path: string): FileId | null {
  try {
    const s = nodeFs.statSync(path, { bigint: true });
    return { dev: s.dev, ino: s.ino };
  } catch {
    return null;
  }
}

/** Whether {@link nodeFileSystem}'s `mmap` can map files in this runtime (Bun; Deno with FFI granted). */
export function mmapSupported(): boolean {
  return typeof (globalThis as { Bun?: BunLike }).Bun?.mmap === "function" || denoMmapSupported();
}

type BunLike = { mmap?: (path: string, opts?: { shared?: boolean }) => Uint8Array };

/** The real file system. */
export const nodeFileSystem: FileSystem = {
  open(path, create) {
    const flags = create ? nodeFs.constants.O_RDWR | nodeFs.constants.O_CREAT : nodeFs.constants.O_RDWR;
    return new NodeFileHandle(path, nodeFs.openSync(path, flags, 0o644));
  },
  openRead(path) {
    return new NodeFileHandle(path, nodeFs.openSync(path, "r"));
  },
  mmap(path) {
    const before = fileIdentity(path);
    const bun = (globalThis as { Bun?: BunLike }).Bun;
    let map: Uint8Array | null;
    if (!bun?.mmap) map = denoMmap(path);
    else {
      try {
        map = bun.mmap(path, { shared: true });
      } catch {
        map = null;
      }
    }
    // The path named the same file before and after the map was taken: the map is of that file (inode).
    const after = map === null || before === null ? null : fileIdentity(path);
    if (map !== null && before !== null && after !== null && before.dev === after.dev && before.ino === after.ino) {
      mappedFiles.set(map.buffer, { path, dev: before.dev, ino: before.ino, start: map.byteOffset, length: map.length });
    }
    return map;
  },
  exists: (path) => nodeFs.existsSync(path),
  mkdirp: (path) => void nodeFs.mkdirSync(path, { recursive: true }),
  list: (path) => nodeFs.readdirSync(path),
  rename: (from, to) => nodeFs.renameSync(from, to),
  remove: (path) => nodeFs.rmSync(path, { force: true }),
  removeTree: (path) => nodeFs.rmSync(path, { recursive: true, force: true }),
  readFile: (path) => new Uint8Array(nodeFs.readFileSync(path)),
  writeFileAtomic(path, data) {
    const tmp = `${path}.tmp`;
    const fd = nodeFs.openSync(tmp, "w", 0o644);
    try {
      let done = 0;
      while (done < data.length) done += nodeFs.writeSync(fd, data, done, data.length - done);
      nodeFs.fsyncSync(fd);
    } finally {
      nodeFs.closeSync(fd);
    }
    nodeFs.renameSync(tmp, path);
    this.syncDir(nodePath.dirname(path));
  },
  writeFileAtomicAsync(path, data, tag) {
    return asyncFsyncSlots.run(() => writeFileAtomicThroughHandles(this, path, data, tag));
  },
  syncDirAsync(path) {
    return asyncFsyncSlots.run(() => syncDirHoldingFd(path));
  },
  holdingFd: (work) => asyncFsyncSlots.run(work),
  syncDir(path) {
    let fd = -1;
    try {
      fd = nodeFs.openSync(path, "r");
      nodeFs.fsyncSync(fd);
    } catch (e) {
      // Some platforms refuse fsync on directories (the rename is still atomic); an I/O error is an I/O error.
      if (!DIR_SYNC_REFUSALS.has((e as NodeJS.ErrnoException).code ?? "")) throw e;
    } finally {
      if (fd >= 0) nodeFs.closeSync(fd);
    }
  },
};

/**
 * {@link FileSystem.writeFileAtomicAsync} over `fs`'s own handles: the temp file is written (page cache), made
 * durable by the handle's asynchronous `datasync`, then renamed into place.
 */
export async function writeFileAtomicThroughHandles(fs: FileSystem, path: string, data: Uint8Array, tag = "async"): Promise<void> {
  const tmp = `${path}.${tag}.tmp`;
  const h = fs.open(tmp, true);
  try {
    h.truncate(0);
    h.write(data, 0);
    await h.datasync();
  } finally {
    h.close();
  }
  fs.rename(tmp, path);
}

/** Opens `path` (a directory), fsyncs it and closes it; refusals of directory fsync are ignored. */
async function syncDirHoldingFd(path: string): Promise<void> {
  let fd = -1;
  try {
    fd = await new Promise<number>((resolve, reject) => nodeFs.open(path, "r", (e, n) => (e ? reject(e) : resolve(n))));
    await new Promise<void>((resolve, reject) => nodeFs.fsync(fd, (e) => (e ? reject(e) : resolve())));
  } catch (e) {
    if (!DIR_SYNC_REFUSALS.has((e as NodeJS.ErrnoException).code ?? "")) throw e;
  } finally {
    if (fd >= 0) nodeFs.closeSync(fd);
  }
}

/** Errors with which a platform refuses to open or fsync a directory (not I/O failures). */
const DIR_SYNC_REFUSALS = new Set(["EINVAL", "ENOTSUP", "EOPNOTSUPP", "EISDIR", "EBADF", "EPERM", "EACCES"]);

/**
 * UNSAFE, for tests only: the same file system with every file's fdatasync removed (directory fsyncs and atomic
 * small-file writes stay). Acknowledged records then survive a process crash but not a power cut; the power-cut
 * test uses it to show that it can fail. `runnel start` enables it only with `RUNNEL_UNSAFE_SKIP_FDATASYNC=1` under
 * `NODE_ENV=test`.
 */
export function withoutFdatasync(fs: FileSystem): FileSystem {
  return {
    ...fs,
    open: (path, create) => new UnsyncedFileHandle(fs.open(path, create)),
    openRead: (path) => new UnsyncedFileHandle(fs.openRead(path)),
    writeFileAtomic: (path, data) => fs.writeFileAtomic(path, data),
    writeFileAtomicAsync: (path, data, tag) => fs.writeFileAtomicAsync(path, data, tag),
    syncDir: (path) => fs.syncDir(path),
    syncDirAsync: (path) => fs.syncDirAsync(path),
  };
}

/** A file whose fdatasyncs do nothing (see {@link withoutFdatasync}). */
class UnsyncedFileHandle implements FileHandle {
  constructor(private readonly file: FileHandle) {}
  get path(): string {
    return this.file.path;
  }
  size(): number {
    return this.file.size();
  }
  read(buf: Uint8Array, position: number): number {
    return this.file.read(buf, position);
  }
  write(buf: Uint8Array, position: number): void {
    this.file.write(buf, position);
  }
  writev(bufs: readonly Uint8Array[], position: number): number {
    return this.file.writev(bufs, position);
  }
  datasync(): Promise<void> {
    return Promise.resolve();
  }
  datasyncNow(): void {}
  truncate(length: number): void {
    this.file.truncate(length);
  }
  close(): void {
    this.file.close();
  }
  appendZeros(length: number): Promise<void> {
    return this.file.appendZeros?.(length) ?? Promise.resolve();
  }
}
