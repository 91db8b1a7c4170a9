/** The real file system with every read of an open file reported (by path) before it happens: tests count or place reads. */
import { type FileHandle, type FileSystem, nodeFileSystem } from "../../src/platform/fs.ts";

/** {@link nodeFileSystem} calling `onRead(path)` before each `read` of a handle it opened. */
export function readNotingFileSystem(onRead: (path: string) => void): FileSystem {
  const noted = (h: FileHandle): FileHandle => ({
    path: h.path,
    size: () => h.size(),
    read: (buf, position) => {
      onRead(h.path);
      return h.read(buf, position);
    },
    write: (buf, position) => h.write(buf, position),
    writev: (bufs, position) => h.writev(bufs, position),
    datasync: () => h.datasync(),
    datasyncNow: () => h.datasyncNow(),
    truncate: (length) => h.truncate(length),
    close: () => h.close(),
  });
  return {
    ...nodeFileSystem,
    open: (path, create) => noted(nodeFileSystem.open(path, create)),
    openRead: (path) => noted(nodeFileSystem.openRead(path)),
  };
}
