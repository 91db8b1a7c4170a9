/**
 * A line a worker thread logs (a shard's "Runnel broker stopped") is on the process's stderr once the logger's call
 * returns: terminating the thread, and exiting the process, right after it cannot lose it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { runProc } from "../support/proc.ts";

const PROGRAM = fileURLToPath(new URL("./fixtures/log-then-terminated.ts", import.meta.url));
/** Runs of the program: a line lost by one of them fails the test. */
const RUNS = 5;

test("every line a worker logged before it was terminated and the process exited is on stderr, whole and in order", { timeout: 120_000 }, async () => {
  const runtime = "Deno" in globalThis ? [process.execPath, "run", "-A", PROGRAM] : [process.execPath, PROGRAM];
  for (let run = 1; run <= RUNS; run++) {
    const r = await runProc(runtime[0], runtime.slice(1), { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.split("\n").filter((l) => l.includes("worker line"));
    assert.deepEqual(lines.map((l) => / INFO (worker line \d+ of 20)$/.exec(l)?.[1]), Array.from({ length: 20 }, (_, i) => `worker line ${i + 1} of 20`), `run ${run}:\n${r.stderr}`);
  }
});
