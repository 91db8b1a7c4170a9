/**
 * Child processes for the commands that run other programs (`runnel dev` runs etcd and brokers): finding a program
 * on PATH, starting one with its output sent to a file and watched line by line, signalling it, and waiting for its
 * exit. Uses node:child_process, which Bun and Deno both provide.
 */
import { type ChildProcess, spawn } from "node:child_process";
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
  const lines = opts.onLine ? lineSplitter(opts.onLine) : null;
  const take = (chunk: Uint8Array) => {
    nodeFs.writeSync(log, chunk);
    lines?.(chunk);
  };
  child.stdout!.on("data", take);
  child.stderr!.on("data", take);
  return programHandle(child, {
    onError: (e) => nodeFs.writeSync(log, `\n${command}: ${e.message}\n`),
    onClose: () => nodeFs.closeSync(log),
  });
}

/** A chunk consumer that calls `onLine` with each complete line of text (for a child's pipes, or this process's stdin). */
export function lineSplitter(onLine: (line: string) => void): (chunk: Uint8Array) => void {
  let partial = "";
  const decoder = new TextDecoder();
  return (chunk) => {
    partial += decoder.decode(chunk, { stream: true });
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const l of lines) onLine(l);
  };
}

/** The {@link ChildProgram} view of a spawned child. */
function programHandle(child: ChildProcess, hooks: { onError?(e: Error): void; onClose?(): void } = {}): ChildProgram {
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.on("error", (e) => {
      done = true;
      hooks.onError?.(e);
      resolve(`error: ${e.message}`);
    });
    child.on("close", (code, sig) => {
      done = true;
      hooks.onClose?.();
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

/** A child program talked to in lines: its stdin takes lines, its stdout lines go to a callback. */
export interface LineChild extends ChildProgram {
  /** Writes one line to its stdin. */
  writeLine(line: string): void;
  /** Closes its stdin. */
  endInput(): void;
}

/**
 * Starts `command args` with stdin and stdout as pipes (each stdout line goes to `onLine`) and stderr shared with
 * this process, for a helper process of the same program that reports back in lines.
 */
export function startLineChild(command: string, args: readonly string[], onLine: (line: string) => void): LineChild {
  const child = spawn(command, [...args], { stdio: ["pipe", "pipe", "inherit"] });
  child.stdout!.on("data", lineSplitter(onLine));
  child.stdin!.on("error", () => {}); // a child that exited early: its exit code tells why
  const program = programHandle(child);
  return {
    get pid() {
      return program.pid;
    },
    exited: program.exited,
    get hasExited() {
      return program.hasExited;
    },
    signal: (sig) => program.signal(sig),
    writeLine(line) {
      if (!program.hasExited) child.stdin!.write(line + "\n");
    },
    endInput() {
      child.stdin!.end();
    },
  };
}
