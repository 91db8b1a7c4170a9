/**
 * A sharded node logs its listening line, the one the test helpers (tests/support/broker-process.ts
 * `LISTENING_LINE`) and scripts wait for, only once every accepting thread listens: with shard 1's front held back
 * 2 s (an injected late `front.start`), the line comes after shard 1's own front says it listens and counts the
 * shard threads that accept, so a first connection never races a thread's start.
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
import { acceptingThreads } from "../support/sharded-test-broker.ts";
import { RawClient } from "../support/raw-client.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

test("the node's listening line waits for a shard thread whose front starts late", { timeout: 120_000 }, async () => {
  const dir = tempDataDir();
  const child = spawn(path.join(ROOT, "node_modules/.bin/bun"), [path.join(ROOT, "tests/shard/fixtures/node-with-late-shard-front.ts"), "--port", "0", "--data-dir", dir, "--shards", "2"], { stdio: ["ignore", "pipe", "pipe"], cwd: ROOT });
  try {
    let log = "";
    const exited = new Promise<number | string | null>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal)));
    // What the helpers see when they return: the log up to the first line they take as "listening".
    const seen = await new Promise<string>((resolve, reject) => {
      child.stderr!.on("data", (b) => {
        log += b.toString();
        if (LISTENING_LINE.test(log)) resolve(log);
      });
      void exited.then(() => reject(new Error(`the node exited before listening:\n${log}`)));
    });
    const lines = seen.split("\n");
    const main = lines.findIndex((l) => LISTENING_LINE.test(l));
    const late = lines.findIndex((l) => /\[shard 1\] front of node 1 listening on PLAINTEXT:\/\/[\d.]+:\d+ for 2 shards$/.test(l));
    assert.ok(late >= 0 && late < main, `shard 1's front listens before the node says it listens:\n${seen}`);
    assert.match(lines[main], /front of node 1 listening on PLAINTEXT:\/\/[\d.]+:\d+ for 2 shards; 2 of 2 shard threads accept clients too$/);
    assert.equal(acceptingThreads(lines), 3);
    const port = Number(LISTENING_LINE.exec(seen)![1]);
    const clients = await Promise.all(Array.from({ length: 12 }, () => RawClient.connect(port)));
    for (const c of clients) assert.equal((await c.request(18, 3, { clientSoftwareName: "t", clientSoftwareVersion: "1" })).errorCode, 0);
    for (const c of clients) c.close();
    signalChild(child, "SIGTERM");
    assert.equal(await exited, 0, log);
  } finally {
    signalChild(child, "SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
