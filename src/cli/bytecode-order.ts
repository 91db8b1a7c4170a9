/**
 * The recording run of the executable's build (src/cli/build-executable.ts): the first build is started once as a
 * broker on a fresh data directory with `BUN_BYTECODE_ORDER_OUT` set, idles, and is stopped; the file it wrote lists
 * its bytecode in the order a broker uses it. The run is bounded: a broker that does not listen within its start
 * time, or does not exit within its stop time after SIGTERM, is killed (the build then keeps its unordered output).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

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

/**
 * Starts `binary start --port 0` with a data dir in `dir` and returns the file its bytecode-use order was written to,
 * or null (it did not start, wrote nothing); `warn` hears why, with the broker's output.
 */
export async function recordBytecodeOrder(binary: string, dir: string, warn: (message: string) => void, limits: RecordingLimits = RECORDING_LIMITS): Promise<string | null> {
  const order = path.join(dir, "bytecode-order.txt");
  const child = spawn(binary, ["start", "--port", "0", "--data-dir", path.join(dir, "data")], {
    env: { ...process.env, BUN_BYTECODE_ORDER_OUT: order },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let startTimer: ReturnType<typeof setTimeout> | undefined;
  const ready = await new Promise<boolean>((resolve) => {
    startTimer = setTimeout(() => resolve(false), limits.startTimeoutMs);
    const onData = (b: Buffer) => {
      log += b.toString();
      if (LISTENING.test(log)) resolve(true);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("error", (e) => ((log += `${e.message}\n`), resolve(false)));
    void exited.then(() => resolve(false));
  });
  clearTimeout(startTimer);
  if (ready) await new Promise((r) => setTimeout(r, limits.idleMs));
  child.kill("SIGTERM");
  let stopTimer: ReturnType<typeof setTimeout> | undefined;
  const stopped = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => (stopTimer = setTimeout(() => r(false), limits.stopTimeoutMs)))]);
  clearTimeout(stopTimer);
  if (!stopped) {
    log += `(did not exit within ${limits.stopTimeoutMs} ms of SIGTERM: killed)\n`;
    child.kill("SIGKILL");
    await exited;
  }
  if (!ready || !fs.existsSync(order) || fs.statSync(order).size === 0) {
    warn(`no bytecode order recorded (broker ${ready ? "wrote none" : "did not start"}); keeping the unordered build\n${log}`);
    return null;
  }
  return order;
}
