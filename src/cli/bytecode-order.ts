/**
 * The recording run of the executable's build (src/cli/build-executable.ts): the first build is started once as a
 * broker on a fresh data directory with `BUN_BYTECODE_ORDER_OUT` set, idles, and is stopped; the file it wrote lists
 * its bytecode in the order a broker uses it. The run is bounded: the broker gets SIGTERM once it idled or did not
 * listen within its start time, and SIGKILL when it has not exited within its stop time after that (the build then
 * keeps its unordered output unless the broker wrote its order). Signals go by process id (Deno's `ChildProcess.kill`
 * sends one signal per child only), through src/platform/child-process.ts.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { startProgram } from "../platform/child-process.ts";

/** The line a broker logs once it serves clients. */
const LISTENING = /listening on \w+:\/\//;

/** Bounds of the recording run. */
export interface RecordingLimits {
  /** How long the broker may take to start (default 30 s). */
  startTimeoutMs: number;
  /** How long it idles once its listener is up (default 1 s: the idle RSS check reads memory after 1 s). */
  idleMs: number;
  /** How long it may take to exit after SIGTERM before it is killed (default 10 s). */
  stopTimeoutMs: number;
}

/** The limits `npm run build` records with. */
export const RECORDING_LIMITS: RecordingLimits = { startTimeoutMs: 30_000, idleMs: 1_000, stopTimeoutMs: 10_000 };

/** Resolves with true once `p` settles within `ms`, else false. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const settled = await Promise.race([p.then(() => true), late]);
  clearTimeout(timer);
  return settled;
}

/**
 * Starts `binary start --port 0` with a data dir in `dir` and returns the file its bytecode-use order was written to,
 * or null (it did not start, wrote nothing); `warn` hears why, with the broker's output.
 */
export async function recordBytecodeOrder(binary: string, dir: string, warn: (message: string) => void, limits: RecordingLimits = RECORDING_LIMITS): Promise<string | null> {
  const order = path.join(dir, "bytecode-order.txt");
  const logFile = path.join(dir, "recording.log");
  let listening!: () => void;
  const listens = new Promise<void>((resolve) => (listening = resolve));
  const broker = startProgram(binary, ["start", "--port", "0", "--data-dir", path.join(dir, "data")], {
    logFile,
    env: { BUN_BYTECODE_ORDER_OUT: order },
    onLine: (line) => LISTENING.test(line) && listening(),
  });
  // Ready once it listens; not when it exits first or takes longer than its start time.
  let startTimer: ReturnType<typeof setTimeout> | undefined;
  const ready = await Promise.race([listens.then(() => true), broker.exited.then(() => false), new Promise<boolean>((resolve) => (startTimer = setTimeout(() => resolve(false), limits.startTimeoutMs)))]);
  clearTimeout(startTimer);
  if (ready) await new Promise((r) => setTimeout(r, limits.idleMs));
  broker.signal("SIGTERM");
  let killed = false;
  if (!(await within(broker.exited, limits.stopTimeoutMs))) {
    killed = true;
    broker.signal("SIGKILL");
    await broker.exited;
  }
  if (!ready || !fs.existsSync(order) || fs.statSync(order).size === 0) {
    const output = fs.readFileSync(logFile, "utf8");
    warn(`no bytecode order recorded (broker ${ready ? "wrote none" : "did not start"}${killed ? `; it did not exit within ${limits.stopTimeoutMs} ms of SIGTERM and was killed` : ""}); keeping the unordered build\n${output}`);
    return null;
  }
  return order;
}
