/** Limits the operating system puts on this process, where the runtime can read them. */
import * as nodeFs from "node:fs";

/**
 * The soft open-files limit (`ulimit -n`, RLIMIT_NOFILE) in force, or null where it cannot be read (not Linux).
 * Bun and Deno raise the soft limit to the hard one at start, so this is what the broker really has.
 */
export function openFilesLimit(): number | null {
  let text: string;
  try {
    text = nodeFs.readFileSync("/proc/self/limits", "utf8");
  } catch {
    return null;
  }
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (m === null) return null;
  return m[1] === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(m[1]);
}
