/**
 * `runnel start --shards 2` catches SIGTERM from its first moment: a signal that arrives while the shards are still
 * starting stops the node cleanly once it serves (exit 0, the shards' logs closed), instead of killing the process
 * with the signal's default action.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT } from "../support/broker-process.ts";
import { signalChild } from "../support/proc.ts";

/** Most starts tried until one gets its signal before the front listens (a loaded machine may start faster than the test reads). */
const ATTEMPTS = 5;

test("SIGTERM while the shards start: the node stops cleanly with exit 0", { timeout: 300_000 }, async () => {
  let early = 0;
  for (let attempt = 1; attempt <= ATTEMPTS && early === 0; attempt++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-early-term-"));
    const child = spawn(path.join(ROOT, "node_modules", ".bin", "bun"), [path.join(ROOT, "src/cli/main.ts"), "start", "--port", "0", "--data-dir", dir, "--shards", "2"], { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    const exited = new Promise<[number | null, string | null]>((resolve) => child.on("exit", (code, signal) => resolve([code, signal])));
    try {
      // The first shard line: the host is starting its shards (the front most likely does not listen yet).
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no shard started in 90 s:\n${log}`)), 90_000);
        child.stderr!.on("data", (b) => {
          log += b.toString();
          if (/\[shard \d\]/.test(log)) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      signalChild(child, "SIGTERM");
      const [code, signal] = await exited;
      // Early or not, the node stops cleanly with both shards' logs closed.
      assert.deepEqual([code, signal], [0, null], log);
      assert.match(log, /received SIGTERM, shutting down the front and 2 shards/);
      assert.equal((log.match(/\[shard \d\] Runnel broker stopped/g) ?? []).length, 2, log);
      // The node's own line says whether the signal came while it started; a late one leaves the case untried.
      const received = log.indexOf("received SIGTERM while the node starts");
      if (received >= 0) {
        assert.ok(log.indexOf("front of node") > received, `the front listened after the early signal:\n${log}`);
        early++;
      }
    } finally {
      signalChild(child, "SIGKILL");
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  assert.equal(early, 1, `the signal never arrived while the node started in ${ATTEMPTS} starts`);
});
