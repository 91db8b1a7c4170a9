/**
 * Writing a small file atomically without blocking the event loop: {@link FileSystem.writeFileAtomicAsync}
 * (`<path>.<tag>.tmp`, asynchronous fdatasync, rename). After a crash the file is either the old one or the new
 * one, whole. (The directory entry is made durable by the next directory sync.)
 */
import type { FileSystem } from "../platform/fs.ts";

/** Writes `data` to `path` through a temp file named with `tag` (callers writing the same path concurrently use distinct tags). */
export function writeFileAtomicAsync(fs: FileSystem, path: string, data: Uint8Array, tag = "async"): Promise<void> {
  return fs.writeFileAtomicAsync(path, data, tag);
}
