/**
 * A broker compiles the zstd codec's WASM on the first zstd batch it has to read or write, and lz4's on the first
 * lz4 compression, not at start (bench row "idle RSS": the two compiled modules are about 3.5 MB of an idle
 * broker's memory). The batches are then checked, stored (kcat's zstd batches as sent, uncompressed batches
 * compressed with lz4 for a compression.type=lz4 topic) and read back unchanged. The broker runs in a child process
 * (tests/support/codec-first-use-broker.ts) so that no earlier test in this process has compiled the codecs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { spawn } from "node:child_process";
import * as readline from "node:readline";
import { haveCommand, runProc } from "../support/proc.ts";
import { ROOT, TEST_SHARDS_ENV } from "../support/broker-process.ts";

const kcatSkip = haveCommand("kcat") ? false : "kcat is not installed";

/** Produces `lines` (key TAB value) with kcat's `codec` and reads the topic back as sorted `key=value` lines. */
async function roundTrip(bootstrap: string, topic: string, codec: string, lines: string[]): Promise<string[]> {
  const p = await runProc("kcat", ["-P", "-b", bootstrap, "-t", topic, "-K", "\t", "-z", codec, "-X", "batch.num.messages=25", "-X", "linger.ms=500"], { input: lines.join("\n") + "\n", timeoutMs: 30_000 });
  assert.equal(p.code, 0, p.stderr);
  const r = await runProc("kcat", ["-C", "-b", bootstrap, "-t", topic, "-e", "-u", "-f", "%k=%s\n"], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split("\n").filter(Boolean).sort();
}

test("a broker compiles zstd on its first zstd batch and lz4 on its first lz4 compression, not at start", { skip: kcatSkip, timeout: 120_000 }, async () => {
  const env: Record<string, string | undefined> = { ...process.env };
  delete env[TEST_SHARDS_ENV];
  const child = spawn(path.join(ROOT, "node_modules", ".bin", "bun"), [path.join(ROOT, "tests/support/codec-first-use-broker.ts")], { cwd: ROOT, env, stdio: ["pipe", "pipe", "pipe"] });
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
    assert.deepEqual(ready.slice(2), ["false", "false"], "zstd and lz4 WASM compiled by the broker's start");

    const lines = Array.from({ length: 50 }, (_, i) => `k${i}\tvalue ${i} ${"xyz".repeat(i)}`);
    const expected = lines.map((l) => l.replace("\t", "=")).sort();
    assert.deepEqual(await roundTrip(bootstrap, "z", "zstd", lines), expected);
    child.stdin!.write("state\n");
    assert.equal(await nextLine(), "state true false", "after the zstd batches: zstd compiled, lz4 not");

    assert.deepEqual(await roundTrip(bootstrap, "l", "none", lines), expected);
    child.stdin!.write("state\n");
    assert.equal(await nextLine(), "state true true", "after batches compressed for a compression.type=lz4 topic");
  } finally {
    child.stdin!.end();
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r("timeout"), 30_000).unref())]);
    if (code === "timeout") child.kill("SIGKILL");
    assert.equal(code, 0, stderr);
  }
});
