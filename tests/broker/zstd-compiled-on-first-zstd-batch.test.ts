/**
 * A broker compiles the zstd codec's WASM on the first zstd batch it has to read or write, not at start (bench row
 * "idle RSS": the compiled module is about 3 MB of an idle broker's memory). kcat's zstd batches are then checked,
 * stored and read back unchanged. The broker runs in a child process (tests/support/zstd-first-use-broker.ts) so
 * that no earlier test in this process has compiled zstd already.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { spawn } from "node:child_process";
import * as readline from "node:readline";
import { haveCommand, runProc } from "../support/proc.ts";
import { ROOT, TEST_SHARDS_ENV } from "../support/broker-process.ts";

const kcatSkip = haveCommand("kcat") ? false : "kcat is not installed";

test("a broker compiles zstd on its first zstd batch, not at start, and serves that batch", { skip: kcatSkip, timeout: 120_000 }, async () => {
  const env: Record<string, string | undefined> = { ...process.env };
  delete env[TEST_SHARDS_ENV];
  const child = spawn(path.join(ROOT, "node_modules", ".bin", "bun"), [path.join(ROOT, "tests/support/zstd-first-use-broker.ts")], { cwd: ROOT, env, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const out = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const nextLine = async (): Promise<string> => {
    const r = await out.next();
    assert.ok(!r.done, `the broker process ended early:\n${stderr}`);
    return r.value;
  };
  try {
    const ready = (await nextLine()).split(" ");
    assert.equal(ready[0], "ready", stderr);
    const bootstrap = `127.0.0.1:${ready[1]}`;
    assert.equal(ready[2], "false", "zstd compiled by the broker's start");

    const lines = Array.from({ length: 50 }, (_, i) => `k${i}\tvalue ${i} ${"xyz".repeat(i)}`);
    const p = await runProc("kcat", ["-P", "-b", bootstrap, "-t", "z", "-K", "\t", "-z", "zstd", "-X", "batch.num.messages=25", "-X", "linger.ms=500"], { input: lines.join("\n") + "\n", timeoutMs: 30_000 });
    assert.equal(p.code, 0, p.stderr);
    const r = await runProc("kcat", ["-C", "-b", bootstrap, "-t", "z", "-e", "-u", "-f", "%k=%s\n"], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.split("\n").filter(Boolean).sort(), lines.map((l) => l.replace("\t", "=")).sort());

    child.stdin!.write("state\n");
    assert.equal(await nextLine(), "state true", "the zstd batch was validated without compiling zstd");
  } finally {
    child.stdin!.end();
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r("timeout"), 30_000).unref())]);
    if (code === "timeout") child.kill("SIGKILL");
    assert.equal(code, 0, stderr);
  }
});
