/**
 * File systems for storage tests that wrap the real one: one counts fdatasync calls (group commit), one fails
 * a write halfway through (torn write), one can fail fdatasync.
 */
import * as nodeFs from "node:fs";
import * as nodeOs from "node:os";
import * as nodePath from "node:path";
import { type FileHandle, type FileSystem, nodeFileSystem } from "../../src/platform/fs.ts";

/** Counters and switches shared by the handles of a {@link wrappedFileSystem}. */
export interface FileSystemProbe {
  /** fdatasync calls (async and sync) on files whose path ends with `.log`. */
  logDatasyncs: number;
  /** All fdatasync calls. */
  datasyncs: number;
  /** When >= 0: the next write to a `.log` file writes this many bytes, then throws. */
  tearNextLogWriteAt: number;
  /** When true, fdatasync rejects. */
  failDatasync: boolean;
  /** Whether mmap is offered (false forces the pread path). */
  allowMmap: boolean;
  /** Maps handed out. */
  mmaps: number;
  /** When set, an asynchronous fdatasync of a `.log` file starts only once the promise this returns settles. */
  logDatasyncGate: (() => Promise<void>) | null;
  /** Called when an asynchronous fdatasync of a `.log` file completed: the file's size when it was asked for is durable. */
  onLogDatasynced: ((path: string, durableSize: number) => void) | null;
  /** pread calls on files whose path ends with `.log`. */
  logReads: number;
  /** Zero appends asked for (`runnel.log.pretouch.bytes`). */
  zeroAppends: number;
  /** Zero appends that have landed. */
  zeroAppendsDone: number;
  /** Called when an fdatasync of a `.log` file is asked for, with the file's size then. */
  onLogDatasyncAsked: ((path: string, size: number) => void) | null;
  /** When set, a zero append starts only once the promise this returns settles. */
  zeroAppendGate: (() => Promise<void>) | null;
}

class WrappedHandle implements FileHandle {
  constructor(
    private readonly inner: FileHandle,
    private readonly probe: FileSystemProbe,
  ) {}
  get path(): string {
    return this.inner.path;
  }
  size(): number {
    return this.inner.size();
  }
  read(buf: Uint8Array, position: number): number {
    if (this.path.endsWith(".log")) this.probe.logReads++;
    return this.inner.read(buf, position);
  }
  write(buf: Uint8Array, position: number): void {
    if (this.path.endsWith(".log") && this.probe.tearNextLogWriteAt >= 0) {
      const cut = Math.min(this.probe.tearNextLogWriteAt, buf.length);
      this.probe.tearNextLogWriteAt = -1;
      this.inner.write(buf.subarray(0, cut), position);
      throw new Error(`injected fault: wrote ${cut} of ${buf.length} bytes`);
    }
    this.inner.write(buf, position);
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
    this.count();
    if (this.probe.failDatasync) return Promise.reject(new Error("injected fdatasync failure"));
    if (!this.path.endsWith(".log")) return this.inner.datasync();
    const gate = this.probe.logDatasyncGate;
    const size = this.inner.size();
    this.probe.onLogDatasyncAsked?.(this.path, size);
    const synced = gate === null ? this.inner.datasync() : gate().then(() => this.inner.datasync());
    return synced.then(() => this.probe.onLogDatasynced?.(this.path, size));
  }
  datasyncNow(): void {
    this.count();
    if (this.probe.failDatasync) throw new Error("injected fdatasync failure");
    this.inner.datasyncNow();
  }
  truncate(length: number): void {
    this.inner.truncate(length);
  }
  close(): void {
    this.inner.close();
  }
  appendZeros(length: number): Promise<void> {
    this.probe.zeroAppends++;
    const gate = this.probe.zeroAppendGate;
    const append = () => this.inner.appendZeros?.(length) ?? Promise.resolve();
    return (gate === null ? append() : gate().then(append)).then(() => void this.probe.zeroAppendsDone++);
  }
  private count(): void {
    this.probe.datasyncs++;
    if (this.path.endsWith(".log")) this.probe.logDatasyncs++;
  }
}

/** The real file system with a probe to count and inject faults. */
export function wrappedFileSystem(): { fs: FileSystem; probe: FileSystemProbe } {
  const probe: FileSystemProbe = { logDatasyncs: 0, datasyncs: 0, tearNextLogWriteAt: -1, failDatasync: false, allowMmap: true, mmaps: 0, logReads: 0, logDatasyncGate: null, onLogDatasynced: null, zeroAppends: 0, zeroAppendsDone: 0, zeroAppendGate: null, onLogDatasyncAsked: null };
  const fs: FileSystem = {
    ...nodeFileSystem,
    open: (path, create) => new WrappedHandle(nodeFileSystem.open(path, create), probe),
    openRead: (path) => new WrappedHandle(nodeFileSystem.openRead(path), probe),
    mmap: (path) => {
      const map = probe.allowMmap ? nodeFileSystem.mmap(path) : null;
      if (map !== null) probe.mmaps++;
      return map;
    },
    writeFileAtomic: (path, data) => nodeFileSystem.writeFileAtomic(path, data),
  };
  return { fs, probe };
}

/** Whether this runtime maps files (Bun.mmap, Deno through FFI): reads are served from maps only then. */
export function runtimeMapsFiles(): boolean {
  const dir = nodeFs.mkdtempSync(nodePath.join(nodeOs.tmpdir(), "runnel-map-probe-"));
  try {
    const file = nodePath.join(dir, "probe");
    nodeFs.writeFileSync(file, new Uint8Array([1, 2, 3]));
    return nodeFileSystem.mmap(file) !== null;
  } finally {
    nodeFs.rmSync(dir, { recursive: true, force: true });
  }
}
