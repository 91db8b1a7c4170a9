/** The process's open-file limit (RLIMIT_NOFILE), read where the platform exposes it. */
import { readFileSync } from "node:fs";

/** The soft limit on open file descriptors, or null when unknown (not Linux, or unlimited). */
export function openFileSoftLimit(): number | null {
  try {
    const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(readFileSync("/proc/self/limits", "utf8"));
    return m === null || m[1] === "unlimited" ? null : Number(m[1]);
  } catch {
    return null;
  }
}
