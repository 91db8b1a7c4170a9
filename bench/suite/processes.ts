/**
 * The processes the bench suite starts: servers (Runnel, redis-server, nats-server, iperf3) and one-shot tools
 * (fio, `runnel bench`). Every child is tracked and `stopAll()` ends exactly those, by pid; the suite calls it on
 * exit and on SIGINT/SIGTERM. Also: free loopback ports, waiting for a listener, and reading a process's RSS.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import { signalChild } from "../../tests/support/proc.ts";

/** How long a stopped child gets between SIGTERM and SIGKILL. */
const STOP_GRACE_MS = 3000;
/** Longest any one-shot command may run. */
export const MAX_COMMAND_MS = 120_000;

const children = new Set<ChildProcess>();

/** A free TCP port on 127.0.0.1 (chosen by the OS; released before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** `n` distinct free loopback ports: each is held open until all are picked, so none is handed out twice. */
export async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const srv = net.createServer();
      servers.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => resolve());
      });
    }
    return servers.map((srv) => (srv.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((srv) => new Promise((resolve) => srv.close(resolve))));
  }
}

/**
 * Waits until every one of `ports` can be bound on 127.0.0.1 (ports kept for a restarted server, taken meanwhile):
 * the first port still taken after `timeoutMs`, or null once all are free.
 */
export async function waitForFreePorts(ports: readonly number[], timeoutMs: number): Promise<number | null> {
  const deadline = Date.now() + timeoutMs;
  for (const port of ports) {
    while (!(await portBindable(port))) {
      if (Date.now() > deadline) return port;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return null;
}

/** Whether `port` can be bound on 127.0.0.1 right now (a port kept for a restarted server may have been taken). */
async function portBindable(port: number): Promise<boolean> {
  const srv = net.createServer();
  const ok = await new Promise<boolean>((resolve) => {
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => resolve(true));
  });
  if (ok) await new Promise((r) => srv.close(r));
  return ok;
}

/** A server child process. */
export interface Server {
  /** The child. */
  child: ChildProcess;
  /** Its pid. */
  pid: number;
  /** Everything it wrote so far (stdout and stderr, capped). */
  log(): string;
  /** Stops it (SIGTERM, then SIGKILL after a grace period). */
  stop(): Promise<void>;
}

/** Most log bytes kept per server. */
const MAX_LOG_CHARS = 64 * 1024;

/** Starts `cmd args` as a tracked server. */
export function startServer(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Server {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
  children.add(child);
  let log = "";
  const keep = (b: Buffer) => {
    if (log.length < MAX_LOG_CHARS) log += b.toString();
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  child.on("exit", () => children.delete(child));
  return { child, pid: child.pid, log: () => log, stop: () => stopChild(child) };
}

/** Stops one tracked child and waits for it to exit. */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    children.delete(child);
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => signalChild(child, "SIGKILL"), STOP_GRACE_MS);
    child.once("exit", () => {
      clearTimeout(timer);
      children.delete(child);
      resolve();
    });
    signalChild(child, "SIGTERM");
  });
}

/** Stops every child this process started and that is still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...children].map(stopChild));
}

/** Kills every tracked child synchronously (for process exit). */
export function killAllNow(): void {
  for (const c of children) signalChild(c, "SIGKILL");
  children.clear();
}

/**
 * Runs a bench script's `main`: every child it started is stopped when it ends, fails, or gets SIGINT/SIGTERM, and
 * killed at process exit; a failure is printed as "`what` failed: ..." with exit code 1.
 */
export async function runBenchMain(what: string, main: () => Promise<void>): Promise<void> {
  const onSignal = (sig: string) => {
    console.error(`\n${sig}: stopping everything the ${what} started`);
    void stopAll().finally(() => process.exit(130));
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("exit", killAllNow);
  try {
    await main();
  } catch (e) {
    console.error(`${what} failed: ${(e as Error).stack ?? e}`);
    process.exitCode = 1;
  } finally {
    await stopAll();
  }
}

/** The outcome of a one-shot command. */
export interface CommandResult {
  /** Exit code (-1 when killed). */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/** Runs a one-shot command (tracked, killed after `timeoutMs`), collecting its output. */
export function runCommand(cmd: string, args: string[], opts: { cwd?: string; timeoutMs?: number; env?: Record<string, string>; echoStderr?: boolean } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on("data", (b: Buffer) => out.push(b));
    child.stderr!.on("data", (b: Buffer) => {
      err.push(b);
      if (opts.echoStderr) process.stderr.write(`    ${b.toString().trimEnd().replace(/\n/g, "\n    ")}\n`);
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? MAX_COMMAND_MS);
    child.once("error", (e) => {
      clearTimeout(timer);
      children.delete(child);
      reject(e);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

/** Resolves with the ms it took until 127.0.0.1:`port` accepts a connection; rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs: number, since = performance.now()): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  // Each attempt is one connect; the loop ends at the deadline.
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return performance.now() - since;
    if (performance.now() > deadline) throw new Error(`nothing listened on port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Resident set size of a process in MiB (from /proc), or NaN when unavailable. */
export function rssMiB(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Whether `cmd` is on the PATH. */
export function haveCommand(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir !== "" && fs.existsSync(`${dir}/${cmd}`)) return true;
  }
  return false;
}
