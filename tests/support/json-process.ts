/**
 * A long-running peer program (Java or Go) that prints one JSON object per line on stdout: the test reads those
 * events, waits for one that matches, and kills or stops the program. Non-JSON stdout lines and stderr are kept
 * for failure messages.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { signalChild } from "./proc.ts";

/** One event a peer program printed (a JSON object on its own stdout line). */
export type PeerEvent = Record<string, any>;

/** Parses the JSON-object lines of `text` (other lines are ignored). */
export function jsonLines(text: string): PeerEvent[] {
  const out: PeerEvent[] = [];
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (t.startsWith("{") && t.endsWith("}")) out.push(JSON.parse(t));
  }
  return out;
}

/** A running peer program. */
export interface PeerProcess {
  /** The child process. */
  child: ChildProcess;
  /** Every JSON event printed so far. */
  events: PeerEvent[];
  /** stdout and stderr so far (for failure messages; the tail is kept). */
  output(): string;
  /** Resolves with the first event (already printed or still to come) matching `pred`; rejects on exit or timeout. */
  waitFor(pred: (e: PeerEvent) => boolean, timeoutMs: number, what?: string): Promise<PeerEvent>;
  /** Writes a line to the program's stdin (programs take commands there). */
  send(line: string): void;
  /** Resolves with the exit code (or signal name) once the program has exited. */
  exited: Promise<number | string | null>;
  /** Sends `signal` (SIGKILL by default) unless it has exited, and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<number | string | null>;
}

/** Longest tail of output kept for failure messages. */
const OUTPUT_TAIL_CHARS = 20_000;

/** Starts `cmd args` as a peer program printing JSON events. */
export function spawnPeer(cmd: string, args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): PeerProcess {
  const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...opts.env }, cwd: opts.cwd });
  const events: PeerEvent[] = [];
  let text = "";
  let partial = "";
  let exitValue: number | string | null | undefined;
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const w of [...waiters]) w();
  };
  const keep = (s: string) => {
    text += s;
    if (text.length > OUTPUT_TAIL_CHARS * 2) text = text.slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (s: string) => {
    keep(s);
    partial += s;
    const lines = partial.split("\n");
    partial = lines.pop()!;
    for (const l of lines) {
      const t = l.trim();
      if (t.startsWith("{") && t.endsWith("}")) {
        try {
          events.push(JSON.parse(t));
        } catch {
          /* not an event */
        }
      }
    }
    notify();
  });
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (s: string) => keep(s));
  child.stdin!.on("error", () => {});
  const exited = new Promise<number | string | null>((resolve) => {
    child.on("close", (code, sig) => {
      exitValue = code ?? sig;
      resolve(exitValue);
      notify();
    });
    child.on("error", (e) => {
      keep(`spawn error: ${e.message}\n`);
      exitValue = -1;
      resolve(-1);
      notify();
    });
  });
  return {
    child,
    events,
    output: () => text.slice(-OUTPUT_TAIL_CHARS),
    exited,
    send(line) {
      child.stdin!.write(line + "\n");
    },
    waitFor(pred, timeoutMs, what = "event") {
      return new Promise((resolve, reject) => {
        let seen = 0;
        const check = () => {
          for (; seen < events.length; seen++) {
            if (pred(events[seen])) {
              done();
              resolve(events[seen]);
              return;
            }
          }
          if (exitValue !== undefined) {
            done();
            reject(new Error(`${cmd} exited (${exitValue}) before ${what}:\n${text.slice(-OUTPUT_TAIL_CHARS)}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}:\n${text.slice(-OUTPUT_TAIL_CHARS)}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    kill(signal = "SIGKILL") {
      if (exitValue === undefined) signalChild(child, signal);
      return exited;
    },
  };
}

/** Steps of a one-shot "story" program that prints one event per step ({"result"} or {"error"}) and then "done". */
export interface StorySteps {
  /** The step's result; fails the test when the step failed or is missing. */
  result(step: string): any;
  /** The step's error (an exception class or message), or undefined when it succeeded. */
  error(step: string): any;
}

/** Reads a story program's output; fails the test unless it printed "done". */
export function storySteps(stdout: string): StorySteps {
  const events = new Map<string, PeerEvent>(jsonLines(stdout).map((e) => [e.event, e]));
  if (!events.has("done")) throw new Error(`the program did not finish its story:\n${stdout}`);
  const step = (name: string) => {
    const e = events.get(name);
    if (e === undefined) throw new Error(`no step ${name} in:\n${stdout}`);
    return e;
  };
  return {
    result(name) {
      const e = step(name);
      if (e.error !== undefined) throw new Error(`${name} failed: ${e.error} ${e.message ?? ""}`);
      return e.result;
    },
    error: (name) => step(name).error,
  };
}
