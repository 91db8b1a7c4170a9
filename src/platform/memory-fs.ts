/**
 * A {@link FileSystem} held in memory and lost with the process. A cluster broker keeps here the empty stand-in
 * logs of partitions it knows of but does not host (it is no replica of them), so that it writes no file for them.
 * Directories are implied by the paths of their files, plus those made with `mkdirp`.
 */
import type { FileHandle, FileSystem } from "./fs.ts";

class MemoryFile {
  bytes = new Uint8Array(0);
  length = 0;

  ensure(n: number): void {
    if (n <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(n, this.bytes.length * 2, 64));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
}

class MemoryHandle implements FileHandle {
  constructor(
    readonly path: string,
    private readonly file: MemoryFile,
  ) {}
  size(): number {
    return this.file.length;
  }
  read(buf: Uint8Array, position: number): number {
    const n = Math.max(0, Math.min(buf.length, this.file.length - position));
    buf.set(this.file.bytes.subarray(position, position + n));
    return n;
  }
  write(buf: Uint8Array, position: number): void {
    this.file.ensure(position + buf.length);
    this.file.bytes.set(buf, position);
    this.file.length = Math.max(this.file.length, position + buf.length);
  }
  writev(bufs: readonly Uint8Array[], position: number): number {
    let at = position;
    for (const b of bufs) {
      this.write(b, at);
      at += b.length;
    }
    return at - position;
  }
  datasync(): Promise<void> {
    return Promise.resolve();
  }
  datasyncNow(): void {}
  truncate(length: number): void {
    this.file.ensure(length);
    if (length > this.file.length) this.file.bytes.fill(0, this.file.length, length);
    this.file.length = length;
  }
  close(): void {}
}

const enoent = (path: string): Error => Object.assign(new Error(`ENOENT: no such file or directory, '${path}'`), { code: "ENOENT" });

/** A new, empty in-memory file system. */
export function memoryFileSystem(): FileSystem {
  const files = new Map<string, MemoryFile>();
  const dirs = new Set<string>();
  const under = (dir: string) => (dir.endsWith("/") ? dir : `${dir}/`);
  return {
    open(path, create) {
      let f = files.get(path);
      if (f === undefined) {
        if (!create) throw enoent(path);
        f = new MemoryFile();
        files.set(path, f);
      }
      return new MemoryHandle(path, f);
    },
    openRead(path) {
      const f = files.get(path);
      if (f === undefined) throw enoent(path);
      return new MemoryHandle(path, f);
    },
    mmap: () => null,
    exists: (path) => files.has(path) || dirs.has(path),
    mkdirp(path) {
      dirs.add(path);
    },
    list(path) {
      const prefix = under(path);
      const names = new Set<string>();
      for (const p of [...files.keys(), ...dirs]) if (p.startsWith(prefix)) names.add(p.slice(prefix.length).split("/")[0]);
      names.delete("");
      return [...names];
    },
    rename(from, to) {
      const f = files.get(from);
      if (f === undefined) throw enoent(from);
      files.delete(from);
      files.set(to, f);
    },
    remove(path) {
      if (!files.delete(path)) throw enoent(path);
    },
    removeTree(path) {
      const prefix = under(path);
      for (const p of [...files.keys()]) if (p.startsWith(prefix)) files.delete(p);
      for (const d of [...dirs]) if (d === path || d.startsWith(prefix)) dirs.delete(d);
    },
    readFile(path) {
      const f = files.get(path);
      if (f === undefined) throw enoent(path);
      return f.bytes.slice(0, f.length);
    },
    writeFileAtomic(path, data) {
      const f = new MemoryFile();
      f.ensure(data.length);
      f.bytes.set(data);
      f.length = data.length;
      files.set(path, f);
    },
    writeFileAtomicAsync(path, data) {
      this.writeFileAtomic(path, data);
      return Promise.resolve();
    },
    syncDir() {},
    syncDirAsync: () => Promise.resolve(),
  };
}
