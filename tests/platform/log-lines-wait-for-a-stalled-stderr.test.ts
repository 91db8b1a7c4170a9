/**
 * A logger whose stderr is a full pipe (its reader stalled) neither fails nor blocks its thread: the lines wait in
 * the runtime's queue (src/platform/stderr.ts) and reach the reader whole and in order once it reads. Bun only:
 * Deno keeps stderr blocking, so there the logger waits for the reader (which this test's reader never is first).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const PROGRAM = fileURLToPath(new URL("./fixtures/log-to-a-stalled-stderr.ts", import.meta.url));
const LINES = 256;

test("lines logged to a stalled stderr pipe arrive whole and in order once it is read, and the logger did not fail", { timeout: 60_000 }, async () => {
  const child = spawn(process.execPath, [PROGRAM], { stdio: ["ignore", "pipe", "pipe"] });
  try {
    // stderr is not read until the program said it logged every line (the pipe fills up: its writes would block).
    child.stderr!.pause();
    let out = "";
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on("data", (b) => ((out += b.toString()), out.includes("logged\n") && resolve()));
      child.on("exit", (code) => reject(new Error(`exited (${code}) before it said it logged: ${out}`)));
    });
    let err = "";
    child.stderr!.on("data", (b) => (err += b.toString()));
    child.stderr!.resume();
    const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.on("exit", resolve)));
    await new Promise<void>((resolve) => (child.stderr!.readableEnded ? resolve() : child.stderr!.on("end", resolve)));
    assert.equal(code, 0, err.slice(-2000));
    const got = err.split("\n").filter((l) => l !== "").map((l) => / INFO (stalled line \d+ of \d+) x{1000}$/.exec(l)?.[1] ?? `not a whole line: ${l.slice(0, 120)}`);
    assert.deepEqual(got, Array.from({ length: LINES }, (_, i) => `stalled line ${i + 1} of ${LINES}`));
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
});
