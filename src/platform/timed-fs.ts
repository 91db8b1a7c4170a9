/** A {@link FileSystem} that reports how long each fdatasync of a file took (for the fsync latency metric). */
import { type FileHandle, type FileSystem, writeFileAtomicThroughHandles } from "./fs.ts";

class TimedFileHandle implements FileHandle {
  readonly path: string;
  constructor(
    private readonly inner: FileHandle,
    private readonly onSync: (ms: number) => void,
  ) {
    this.path = inner.path;
  }
  size(): number {
    return this.inner.size();
  }
  read(buf: Uint8Array, position: number): number {
    return this.inner.read(buf, position);
  }
  write(buf: Uint8Array, position: number): void {
    this.inner.write(buf, position);
  }
  writev(bufs: readonly Uint8Array[], position: number): number {
    return this.inner.writev(bufs, position);
  }
  async datasync(): Promise<void> {
    const t0 = performance.now();
    await this.inner.datasync();
    this.onSync(performance.now() - t0);
  }
  datasyncNow(): void {
    const t0 = performance.now();
    this.inner.datasyncNow();
    this.onSync(performance.now() - t0);
  }
  truncate(length: number): void {
    this.inner.truncate(length);
  }
  close(): void {
    this.inner.close();
  }
  appendZeros(length: number): Promise<void> {
    return this.inner.appendZeros?.(length) ?? Promise.resolve();
  }
}

/** Wraps `fs` so that every datasync of a file it opens calls `onSync` with the milliseconds it took. */
export function timedFileSystem(fs: FileSystem, onSync: (ms: number) => void): FileSystem {
  return {
    open: (path, create) => new TimedFileHandle(fs.open(path, create), onSync),
    openRead: (path) => fs.openRead(path),
    mmap: (path) => fs.mmap(path),
    exists: (path) => fs.exists(path),
    mkdirp: (path) => fs.mkdirp(path),
    list: (path) => fs.list(path),
    rename: (from, to) => fs.rename(from, to),
    remove: (path) => fs.remove(path),
    removeTree: (path) => fs.removeTree(path),
    readFile: (path) => fs.readFile(path),
    writeFileAtomic: (path, data) => fs.writeFileAtomic(path, data),
    writeFileAtomicAsync(path, data, tag) {
      const write = () => writeFileAtomicThroughHandles(this, path, data, tag); // through the timed handles
      return fs.holdingFd ? fs.holdingFd(write) : write();
    },
    syncDir: (path) => fs.syncDir(path),
    syncDirAsync: (path) => fs.syncDirAsync(path),
    holdingFd: fs.holdingFd?.bind(fs),
  };
}
