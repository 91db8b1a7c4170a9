/**
 * Child processes for the commands that run other programs (`runnel dev` runs etcd and brokers): finding a program
 * on PATH, starting one with its output sent to a file and watched line by line, signalling it, and waiting for its
 * exit. Uses node:child_process, which Bun and Deno both provide.
 */
import { spawn } from "node:child_process";
import * as nodeFs from "node:fs";
import * as nodePath from "node:path";

/** A running child program. */
export interface ChildProgram {
  /** Its process id. */
  readonly pid: number;
  /** Resolves with the exit code (or the signal name) once it has exited. */
  readonly exited: Promise<number | string>;
  /** Whether it has exited. */
  readonly hasExited: boolean;
  /** Sends `signal`; a program that is gone already is not an error. */
  signal(signal: "SIGINT" | "SIGTERM" | "SIGKILL"): void;
}

/** The absolute path of `name` found in the directories of `pathVar` (PATH), or null. A path is checked as is. */
export function findOnPath(name: string, pathVar: string = process.env.PATH ?? ""): string | null {
  const executable = (p: string) => {
    try {
      nodeFs.accessSync(p, nodeFs.constants.X_OK);
      return nodeFs.statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (name.includes("/")) return executable(name) ? nodePath.resolve(name) : null;
  for (const dir of pathVar.split(nodePath.delimiter)) {
    if (dir !== "" && executable(nodePath.join(dir, name))) return nodePath.join(dir, name);
  }
  return null;
}

/**
 * Starts `command args`, appending its stdout and stderr to `logFile` and calling `onLine` with each output line
 * (for readiness lines). stdin is closed. With `ownProcessGroup` the child leads a process group of its own, so a
 * Ctrl-C at the terminal reaches only this process, which then stops its children in the order it chooses.
 */
export function startProgram(command: string, args: readonly string[], opts: { logFile: string; env?: Record<string, string | undefined>; ownProcessGroup?: boolean; onLine?(line: string): void }): ChildProgram {
  const log = nodeFs.openSync(opts.logFile, "a");
  const child = spawn(command, [...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...opts.env }, detached: opts.ownProcessGroup ?? false });
  let done = false;
  let partial = "";
  const take = (chunk: Uint8Array) => {
    nodeFs.writeSync(log, chunk);
    if (!opts.onLine) return;
    partial += new TextDecoder().decode(chunk);
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const l of lines) opts.onLine(l);
  };
  child.stdout!.on("data", take);
  child.stderr!.on("data", take);
  const exited = new Promise<number | string>((resolve) => {
    child.on("error", (e) => {
      done = true;
      nodeFs.writeSync(log, `\n${command}: ${e.message}\n`);
      resolve(`error: ${e.message}`);
    });
    child.on("close", (code, sig) => {
      done = true;
      nodeFs.closeSync(log);
      resolve(code ?? sig ?? -1);
    });
  });
  return {
    pid: child.pid ?? -1,
    exited,
    get hasExited() {
      return done;
    },
    signal(sig) {
      if (done || child.pid === undefined) return;
      try {
        process.kill(child.pid, sig);
      } catch (e) {
        if ((e as { code?: string }).code !== "ESRCH") throw e;
      }
    },
  };
}
