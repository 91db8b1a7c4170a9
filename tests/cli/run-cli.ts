/**
 * Runs the `runnel` CLI (`bun src/cli/main.ts ...`) as a subprocess for the CLI end-to-end tests.
 */
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { runProcess, startProcess, type ProcessResult, type RunningProcess } from "../client/subprocess.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const bun = path.join(root, "node_modules", ".bin", "bun");
const main = path.join(root, "src", "cli", "main.ts");

/** Runs `runnel ...args` with optional stdin. */
export function runnel(args: string[], opts: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<ProcessResult> {
  return runProcess(bun, [main, ...args], { ...opts, cwd: root, timeoutMs: opts.timeoutMs ?? 60_000 });
}

/** Starts `runnel ...args` in the background (for commands that run until a signal). */
export function startRunnel(args: string[], timeoutMs = 60_000): RunningProcess {
  return startProcess(bun, [main, ...args], { cwd: root, timeoutMs });
}
