/**
 * Long-running consumer subprocesses for the group tests: streams stdout lines (JSON events from our fixtures, or
 * kcat's formatted records), waits for conditions with a deadline, and stops with SIGTERM (clean close) or
 * SIGKILL (a crash: no LeaveGroup, no final commit).
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { signalChild } from "../support/proc.ts";

/** Repository root. */
export const ROOT = path.resolve(import.meta.dirname, "..", "..");
/** The bun binary used to run TypeScript fixtures. */
export const BUN = path.join(ROOT, "node_modules", ".bin", "bun");
/** Fixture directory. */
export const FIXTURES = path.join(ROOT, "tests", "group", "fixtures");

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `cond` every 50 ms until it is true; throws `what` after `timeoutMs`. */
export async function waitUntil(cond: () => boolean, timeoutMs: number, what: string | (() => string)): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === "string" ? what : what()}`);
    await sleep(50);
  }
}

/** A consumer subprocess. */
export class ConsumerProcess {
  /** Name used in messages. */
  readonly name: string;
  /** Every stdout line so far. */
  readonly lines: string[] = [];
  /** Stderr so far. */
  stderr = "";
  /** Exit code or signal once exited. */
  exit: number | string | null | undefined = undefined;
  private readonly child: ChildProcess;
  private partial = "";
  private readonly exited: Promise<void>;

  constructor(name: string, cmd: string, args: string[], env: Record<string, string> = {}) {
    this.name = name;
    this.child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], cwd: ROOT, env: { ...process.env, ...env } });
    this.child.stdout!.setEncoding("utf8");
    this.child.stdout!.on("data", (s: string) => {
      const parts = (this.partial + s).split("\n");
      this.partial = parts.pop()!;
      for (const l of parts) if (l !== "") this.lines.push(l);
    });
    this.child.stderr!.setEncoding("utf8");
    this.child.stderr!.on("data", (s: string) => {
      if (this.stderr.length < 1_000_000) this.stderr += s;
    });
    this.exited = new Promise((resolve) => {
      this.child.on("exit", (code, signal) => {
        this.exit = code ?? signal;
        resolve();
      });
      this.child.on("error", (e) => {
        this.stderr += String(e);
        this.exit = "spawn-error";
        resolve();
      });
    });
  }

  /** Stdout lines parsed as JSON events (lines that are not JSON are skipped). */
  events(): Record<string, any>[] {
    const out: Record<string, any>[] = [];
    for (const l of this.lines) {
      if (!l.startsWith("{")) continue;
      try {
        out.push(JSON.parse(l));
      } catch {
        // partial or foreign line
      }
    }
    return out;
  }

  /** Waits until `cond(this)` holds; includes stderr in the timeout message. */
  async waitFor(cond: (p: ConsumerProcess) => boolean, timeoutMs: number, what: string): Promise<void> {
    await waitUntil(() => cond(this) || this.exit !== undefined, timeoutMs, () => `${this.name}: ${what}\n--- stderr ---\n${this.stderr.slice(-3000)}`);
    if (!cond(this)) throw new Error(`${this.name} exited (${this.exit}) before ${what}\n--- stderr ---\n${this.stderr.slice(-3000)}`);
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs`). */
  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 15_000): Promise<void> {
    if (this.exit !== undefined) return;
    signalChild(this.child, signal);
    const timer = setTimeout(() => signalChild(this.child, "SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Stops every process (SIGKILL), ignoring failures; for `finally` blocks. */
export async function killAll(procs: readonly ConsumerProcess[]): Promise<void> {
  await Promise.all(procs.map((p) => p.stop("SIGKILL", 5000).catch(() => {})));
}
