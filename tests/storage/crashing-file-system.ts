/** A file system for crash tests: mutating calls can be made to fail from a chosen one on, as a crash would stop them. */
import { type FileSystem, nodeFileSystem } from "../../src/platform/fs.ts";

/** A file system that "crashes" at its `crashAt`-th mutating call: that call and every later one throw. */
export function crashingFileSystem(): { fs: FileSystem; arm(at: number): void; disarm(): number } {
  let armed = false;
  let count = 0;
  let crashAt = -1;
  const hit = (what: string): void => {
    if (!armed) return;
    count++;
    if (count >= crashAt) throw new Error(`injected crash at ${what} (operation ${count})`);
  };
  const fs: FileSystem = {
    ...nodeFileSystem,
    open(path, create) {
      if (create) hit(`open ${path}`);
      return nodeFileSystem.open(path, create);
    },
    rename(from, to) {
      hit(`rename ${from}`);
      nodeFileSystem.rename(from, to);
    },
    remove(path) {
      hit(`remove ${path}`);
      nodeFileSystem.remove(path);
    },
    syncDir(path) {
      hit(`syncDir ${path}`);
      nodeFileSystem.syncDir(path);
    },
  };
  return {
    fs,
    arm(at) {
      armed = true;
      count = 0;
      crashAt = at;
    },
    disarm() {
      armed = false;
      return count;
    },
  };
}
