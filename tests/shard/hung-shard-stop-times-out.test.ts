/**
 * `runnel.shards.stop.timeout.ms`: a sharded node whose shard 1 never stops (an injected hung shard that ignores the
 * host's stop) is stopped anyway: after the timeout the host logs which shard it gives up on, terminates its thread,
 * and the node exits with code 1 instead of hanging.
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

test("a shard that does not stop is terminated after runnel.shards.stop.timeout.ms and the node exits 1", { timeout: 120_000 }, async () => {
  const dir = tempDataDir();
  const child = spawn(path.join(ROOT, "node_modules/.bin/bun"), [
    path.join(ROOT, "tests/shard/fixtures/node-with-hung-shard.ts"),
    "--port", "0", "--data-dir", dir, "--shards", "2", "-o", "runnel.shards.stop.timeout.ms=500",
  ], { stdio: ["ignore", "pipe", "pipe"], cwd: ROOT });
  try {
    let log = "";
    const exited = new Promise<number | string | null>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal)));
    const serving = new Promise<void>((resolve, reject) => {
      child.stderr!.on("data", (b) => {
        log += b.toString();
        if (LISTENING_LINE.test(log)) resolve();
      });
      void exited.then(() => reject(new Error(`the node exited before serving:\n${log}`)));
    });
    await serving;
    signalChild(child, "SIGTERM"); // by pid: Deno's child.kill() reports the exit as by signal
    assert.equal(await exited, 1, log);
    assert.match(log, /shard 1 did not stop within runnel\.shards\.stop\.timeout\.ms=500: terminating its thread/);
    assert.match(log, /shutdown failed: shard 1 did not stop within runnel\.shards\.stop\.timeout\.ms=500/);
    assert.doesNotMatch(log, /shard 0 did not stop/);
  } finally {
    signalChild(child, "SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
