/**
 * Runs a program asynchronously for tests (spawnSync would block the in-process test broker the program talks
 * to), with stdin, a time limit, and collected output; and checks whether a program is installed.
 */
import { spawn, spawnSync } from "node:child_process";
import { Buffer } from "node:buffer";

/** The outcome of a finished program. */
export interface ProcessResult {
  /** Exit code (-1 when killed by the time limit or a signal). */
  code: number;
  /** Everything written to stdout. */
  stdout: string;
  /** Everything written to stderr. */
  stderr: string;
}

/** Runs `cmd args`, feeding `input` on stdin, killing it after `timeoutMs`. */
export function runProcess(cmd: string, args: string[], opts: { input?: string | Uint8Array; timeoutMs?: number; env?: Record<string, string>; cwd?: string } = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ["pipe", "pipe", "pipe"] });
    const out: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    child.stdout.on("data", (c: Uint8Array) => out.push(c));
    child.stderr.on("data", (c: Uint8Array) => err.push(c));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      const text = (parts: Uint8Array[]) => Buffer.concat(parts).toString("utf8");
      resolve({ code: code ?? -1, stdout: text(out), stderr: text(err) });
    });
    child.stdin.on("error", () => {});
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** null when `cmd args` runs with exit code 0, else why not (for skip messages). */
export function unavailable(cmd: string, args: string[]): string | null {
  try {
    const r = spawnSync(cmd, args, { stdio: "ignore", timeout: 10_000 });
    if (r.error) return `${cmd} is not installed (${r.error.message})`;
    return r.status === 0 ? null : `${cmd} ${args.join(" ")} exited with ${r.status}`;
  } catch (e) {
    return `${cmd} is not installed (${(e as Error).message})`;
  }
}

/** A program started with {@link startProcess}. */
export interface RunningProcess {
  /** Sends a signal. */
  kill(signal: "SIGINT" | "SIGTERM" | "SIGKILL"): void;
  /** stdout so far. */
  stdout(): string;
  /** Resolves when the program exits. */
  done: Promise<ProcessResult>;
}

/** Starts `cmd args` and returns at once, so a test can watch its output and signal it. */
export function startProcess(cmd: string, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): RunningProcess {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: process.env, stdio: ["ignore", "pipe", "pipe"] });
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  child.stdout!.on("data", (c: Uint8Array) => out.push(c));
  child.stderr!.on("data", (c: Uint8Array) => err.push(c));
  const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
  const done = new Promise<ProcessResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
    });
  });
  // process.kill rather than child.kill: Deno's child_process reports a child it signalled itself as killed
  // (exit code null) even when the child handles the signal and exits normally.
  return { kill: (s) => void process.kill(child.pid!, s), stdout: () => Buffer.concat(out).toString("utf8"), done };
}
