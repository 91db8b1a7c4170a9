/**
 * A sharded node whose shard thread dies while the node starts (before the shard serves, or after every shard serves
 * but before the node's start is done) does not start: the process names the dead shard, stops the other shard
 * cleanly and exits 1, without logging that it listens. When stopping the other shard fails too, the start's own
 * error is the one reported (the cleanup's failure is logged besides).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { tempDataDir } from "./support.ts";
import { signalChild } from "../support/proc.ts";
import { LISTENING_LINE } from "../support/broker-process.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** How long the node may take to fail its start on a loaded machine before the test takes it as hung. */
const HANG_MS = 60_000;

/** Runs the node with shard 1 dying at `at` (and shard 0 ignoring the stop when `shard0IgnoresStop`); resolves with its exit code and log. */
async function startWithShardDyingAt(at: "start" | "front.start", shard0IgnoresStop = false): Promise<{ exit: number | string | null; log: string }> {
  const dir = tempDataDir();
  const child = spawn(path.join(ROOT, "node_modules/.bin/bun"), [
    path.join(ROOT, "tests/support/node-with-test-shard-worker.ts"),
    "--port", "0", "--data-dir", dir, "--shards", "2", ...(shard0IgnoresStop ? ["-o", "runnel.shards.stop.timeout.ms=1000"] : []),
  ], { stdio: ["ignore", "pipe", "pipe"], cwd: ROOT, env: { ...process.env, RUNNEL_TEST_SHARD_WORKER: path.join(ROOT, "tests/shard/fixtures/shard-dying-at-start-worker.ts"), RUNNEL_TEST_SHARD_DIES_AT: at, RUNNEL_TEST_SHARD_0_IGNORES_STOP: shard0IgnoresStop ? "1" : "0" } });
  try {
    let log = "";
    child.stdout!.on("data", (b) => (log += b.toString()));
    child.stderr!.on("data", (b) => (log += b.toString()));
    // A node that hangs instead of exiting is killed (SIGTERM would only start a stop it may never finish).
    const hung = setTimeout(() => signalChild(child, "SIGKILL"), HANG_MS);
    const exit = await new Promise<number | string | null>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal)));
    clearTimeout(hung);
    return { exit, log };
  } finally {
    signalChild(child, "SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test("a shard thread that dies before it serves fails the node's start: exit 1, the shard named", { timeout: 90_000 }, async () => {
  const { exit, log } = await startWithShardDyingAt("start");
  assert.equal(exit, 1, log);
  assert.match(log, /runnel start: shard 1 could not start: .*test: shard 1 dies while starting/);
  assert.match(log, /\[shard 0\] Runnel broker stopped/, log);
  assert.doesNotMatch(log, LISTENING_LINE);
  assert.doesNotMatch(log, /TypeError|undefined is not an object|Cannot read properties/);
});

test("a shard thread that dies after every shard serves, before the node's start is done, fails the start: exit 1", { timeout: 90_000 }, async () => {
  const { exit, log } = await startWithShardDyingAt("front.start");
  assert.equal(exit, 1, log);
  assert.match(log, /runnel start: shard 1 died: .*test: shard 1 dies at front\.start/);
  assert.match(log, /\[shard 0\] Runnel broker stopped/, log);
  assert.doesNotMatch(log, LISTENING_LINE);
  assert.doesNotMatch(log, /TypeError|undefined is not an object|Cannot read properties/);
});

test("a start that fails and whose cleanup fails too (shard 0 does not stop) reports the start's error: exit 1", { timeout: 90_000 }, async () => {
  const { exit, log } = await startWithShardDyingAt("front.start", true);
  assert.equal(exit, 1, log);
  assert.match(log, /runnel start: shard 1 died: .*test: shard 1 dies at front\.start/);
  assert.match(log, /while stopping after a failed start: shard 0 did not stop within runnel\.shards\.stop\.timeout\.ms=1000/, log);
  assert.doesNotMatch(log, LISTENING_LINE);
  assert.doesNotMatch(log, /TypeError|undefined is not an object|Cannot read properties/);
});
