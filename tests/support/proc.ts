/**
 * Runs a subprocess asynchronously (the broker under test lives in this process, so a blocking spawn would
 * starve it), with a hard time limit and stdin input.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";

/** Output of a finished subprocess. */
export interface ProcResult {
  /** Exit code (null when killed). */
  code: number | null;
  /** Captured stdout. */
  stdout: string;
  /** Captured stderr. */
  stderr: string;
  /** Whether the time limit killed it. */
  timedOut: boolean;
}

/** Runs `cmd args`, feeding `input`, killing it after `timeoutMs`. */
export function runProc(cmd: string, args: string[], opts: { input?: string | Uint8Array; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<ProcResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...opts.env } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, opts.timeoutMs ?? 60_000);
    child.stdout.on("data", (b) => out.push(b));
    child.stderr.on("data", (b) => err.push(b));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), timedOut });
    });
    child.stdin.on("error", () => {});
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/**
 * Sends `signal` to a child by pid. `child.kill()` is not used for signals that may be sent more than once
 * (SIGSTOP/SIGCONT, or SIGTERM then SIGKILL): Deno's node:child_process marks a child killed after its first
 * `kill()`, whatever the signal, and silently sends nothing on every later call; it also reports the exit of a child
 * it signalled as (null, that signal) even when the child caught it and exited 0. A child already gone is not an error.
 */
export function signalChild(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(child.pid, signal);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
  }
}

/** Whether an executable exists on PATH (or at the given absolute path). */
export function haveCommand(cmd: string): boolean {
  if (cmd.startsWith("/")) return existsSync(cmd);
  return (process.env.PATH ?? "").split(":").some((d) => d && existsSync(`${d}/${cmd}`));
}

/** The system python that sees the Debian kafka packages. */
export const PYTHON = "/usr/bin/python3";

/** Whether /usr/bin/python3 can import `module`. */
export async function havePythonModule(module: string): Promise<boolean> {
  if (!existsSync(PYTHON)) return false;
  const r = await runProc(PYTHON, ["-c", `import ${module}`], { timeoutMs: 20_000 });
  return r.code === 0;
}
