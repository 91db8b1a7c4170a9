/** The real file system for file-handle-cache tests: counts descriptors, and lets a test hold or fail fdatasyncs. */
import { type FileHandle, type FileSystem, nodeFileSystem } from "../../src/platform/fs.ts";

/**
 * The real file system, counting descriptors open now and at most; an asynchronous fdatasync waits for `stats.hold`
 * when set, fails when `stats.failSync` is set, and notes its completion in `stats.events`; zero appends wait for
 * `stats.holdZeros` when set, their second descriptor counted as open while any is pending.
 */
export function countingFileSystem() {
  const stats = { open: 0, maxOpen: 0, opens: 0, hold: null as Promise<void> | null, holdZeros: null as Promise<void> | null, syncingClosed: 0, failSync: false, events: [] as string[] };
  const wrap = (h: FileHandle): FileHandle => {
    stats.open++;
    stats.opens++;
    stats.maxOpen = Math.max(stats.maxOpen, stats.open);
    let closed = false;
    let syncing = 0;
    let zeroAppends = 0;
    return {
      path: h.path,
      size: () => h.size(),
      read: (b, p) => h.read(b, p),
      write: (b, p) => h.write(b, p),
      writev: (b, p) => h.writev(b, p),
      async datasync() {
        syncing++;
        try {
          if (stats.hold) await stats.hold;
          if (stats.failSync) throw Object.assign(new Error("EIO: injected fdatasync failure"), { code: "EIO" });
          await h.datasync();
          stats.events.push("fdatasync completed");
        } finally {
          syncing--;
        }
      },
      datasyncNow: () => h.datasyncNow(),
      truncate: (n) => h.truncate(n),
      // The real appendZeros holds a second descriptor until its writes land: counted as one while any is pending.
      async appendZeros(n) {
        if (zeroAppends++ === 0) {
          stats.open++;
          stats.maxOpen = Math.max(stats.maxOpen, stats.open);
        }
        try {
          const writing = h.appendZeros?.(n); // started now, as the real one opens its descriptor now
          if (stats.holdZeros) await stats.holdZeros;
          await writing;
        } finally {
          if (--zeroAppends === 0) stats.open--;
        }
      },
      close() {
        if (closed) return;
        if (syncing > 0) stats.syncingClosed++;
        closed = true;
        stats.open--;
        h.close();
      },
    };
  };
  const fsys: FileSystem = { ...nodeFileSystem, open: (p, c) => wrap(nodeFileSystem.open(p, c)), openRead: (p) => wrap(nodeFileSystem.openRead(p)) };
  return { fs: fsys, stats };
}
