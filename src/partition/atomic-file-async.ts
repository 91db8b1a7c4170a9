/**
 * Writing a small file atomically without blocking the event loop: the bytes go to `<path>.<tag>.tmp`, an
 * asynchronous fdatasync makes them durable, then a rename puts them under `path`. After a crash the file is
 * either the old one or the new one, whole. (The directory entry is made durable by the next directory sync.)
 */
import type { FileSystem } from "../platform/fs.ts";

/** Writes `data` to `path` through a temp file named with `tag` (callers writing the same path concurrently use distinct tags). */
export async function writeFileAtomicAsync(fs: FileSystem, path: string, data: Uint8Array, tag = "async"): Promise<void> {
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
