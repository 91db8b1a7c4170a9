/**
 * The real file system with every blocking fsync refused (`writeFileAtomic`, `syncDir`, a handle's `datasyncNow`)
 * and the asynchronous ones counted: code run over it proves it keeps fsyncs off the event loop.
 */
import { type FileHandle, type FileSystem, nodeFileSystem } from "../../src/platform/fs.ts";

/** Counts of asynchronous fsyncs seen by an {@link asyncOnlyFileSystem}. */
export interface AsyncSyncCounts {
  /** File fdatasyncs, by the file's path. */
  readonly files: string[];
  /** Directory fsyncs, by the directory's path. */
  readonly dirs: string[];
}

/**
 * A file system that throws on blocking fsyncs while refusing (`setRefusing(false)` lets them through, for setup);
 * with `watched`, only blocking fsyncs of the paths it accepts are refused (code under test beside other code that
 * still blocks on purpose).
 */
export function asyncOnlyFileSystem(watched: (path: string) => boolean = () => true): { fs: FileSystem; syncs: AsyncSyncCounts; setRefusing(on: boolean): void } {
  const syncs = { files: [] as string[], dirs: [] as string[] };
  let refusing = true;
  const refuse = (what: string, path: string): void => {
    if (refusing && watched(path)) throw new Error(`blocking ${what} on the event loop`);
  };
  const fs: FileSystem = {
    ...nodeFileSystem,
    open(path, create): FileHandle {
      const h = nodeFileSystem.open(path, create);
      return {
        path: h.path,
        size: () => h.size(),
        read: (buf, position) => h.read(buf, position),
        write: (buf, position) => h.write(buf, position),
        writev: (bufs, position) => h.writev(bufs, position),
        datasync: () => h.datasync().then(() => void syncs.files.push(path)),
        datasyncNow: () => {
          refuse(`fdatasync of ${path}`, path);
          h.datasyncNow();
        },
        truncate: (length) => h.truncate(length),
        close: () => h.close(),
      };
    },
    writeFileAtomic(path, data) {
      refuse(`writeFileAtomic(${path})`, path);
      nodeFileSystem.writeFileAtomic(path, data);
    },
    syncDir(path) {
      refuse(`fsync of directory ${path}`, path);
      nodeFileSystem.syncDir(path);
    },
    syncDirAsync: (path) => nodeFileSystem.syncDirAsync(path).then(() => void syncs.dirs.push(path)),
  };
  return { fs, syncs, setRefusing: (on) => void (refusing = on) };
}
