/**
 * `/v1/ready` of a sharded node reports every shard's log recovery, as one broker reports its own: after an unclean
 * stop (clean-shutdown markers and indexes removed) a 2-shard node whose shard 1 holds its recovery after its first
 * partition (an injected worker, released by the test) answers 503 "starting" with each shard's partitions loaded
 * of those found, shard 1 at 1, while `/v1/health` is live; once released, 200 "ready" with every message back.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT, startBrokerProcess } from "../support/broker-process.ts";
import { HTTP_LINE, httpJson, waitUntilReady } from "../support/http-broker.ts";
import { signalChild } from "../support/proc.ts";
import { Producer } from "../../src/client/producer.ts";
import { CLEAN_SHUTDOWN_FILE } from "../../src/storage/log-manager.ts";

const PARTITIONS = 8;
const MESSAGES = 400;

test("a sharded node's /v1/ready reports each shard's log recovery, then ready", { timeout: 180_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-sharded-ready-"));
  const gate = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-sharded-ready-gate-"));
  const release = path.join(gate, "release");
  const args = ["--port", "0", "--data-dir", dir, "--shards", "2", "--http", "http://127.0.0.1:0"];
  try {
    const first = await startBrokerProcess("bun", args, 90_000);
    try {
      const url = HTTP_LINE.exec(first.log())![1];
      await waitUntilReady(url);
      assert.equal((await httpJson(`${url}/v1/topics`, "POST", { name: "big", partitions: PARTITIONS })).status, 201);
      const p = new Producer({ bootstrap: first.bootstrap, acks: "all" });
      await p.connect();
      await Promise.all(Array.from({ length: MESSAGES }, (_, i) => p.send({ topic: "big", key: `k${i}`, value: `v${i}`.padEnd(200, "v") })));
      await p.close();
    } finally {
      assert.equal(await first.stop("SIGTERM"), 0, first.log().slice(-3000));
    }
    // The next start recovers every partition: no clean-shutdown markers, no indexes.
    const markers = fs.readdirSync(dir).filter((n) => n.startsWith(`${CLEAN_SHUTDOWN_FILE}.shard_`));
    assert.equal(markers.length, 2, "each shard left its clean-shutdown marker");
    for (const m of markers) fs.rmSync(path.join(dir, m));
    for (const d of fs.readdirSync(dir).filter((n) => n.startsWith("big-"))) {
      for (const f of fs.readdirSync(path.join(dir, d))) if (f.endsWith(".index") || f.endsWith(".timeindex")) fs.rmSync(path.join(dir, d, f));
    }

    const child = spawn(path.join(ROOT, "node_modules/.bin/bun"), [path.join(ROOT, "tests/http/fixtures/node-with-held-shard-recovery.ts"), ...args], { stdio: ["ignore", "pipe", "pipe"], cwd: ROOT, env: { ...process.env, RUNNEL_TEST_RECOVERY_RELEASE: release } });
    let log = "";
    const exited = new Promise<number | string | null>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stderr!.on("data", (b) => {
          log += b.toString();
          const m = HTTP_LINE.exec(log);
          if (m !== null) resolve(m[1]);
        });
        void exited.then(() => reject(new Error(`the node exited before serving HTTP:\n${log}`)));
      });
      // Shard 1 is held one partition into its recovery, and shard 0 (not held) has reported: the node says so.
      let held: { status: number; body: any } | null = null;
      for (const deadline = Date.now() + 90_000; held === null; ) {
        const r = await httpJson(`${url}/v1/ready`);
        if (r.status === 200 || Date.now() > deadline) assert.fail(`never saw shard 1 held mid-recovery: ${JSON.stringify(r)}\n${log.slice(-3000)}`);
        if (r.body.shards?.[1]?.loaded === 1 && r.body.shards[0].total > 0) held = r;
        else await new Promise((res) => setTimeout(res, 20));
      }
      assert.equal(held.status, 503);
      assert.equal(held.body.status, "starting");
      const [s0, s1] = held.body.shards;
      assert.deepEqual([s1.shard, s1.loaded, s1.recovered], [1, 1, false]);
      assert.ok(s1.total >= 1 && s0.total >= 1 && s0.total + s1.total === PARTITIONS, JSON.stringify(held.body));
      assert.match(held.body.reason, new RegExp(`^recovering logs: ${s0.loaded + 1}/${PARTITIONS} partitions loaded \\(shard 0: ${s0.loaded}/${s0.total}${s0.recovered ? ", recovered" : ""}; shard 1: 1/${s1.total}\\)$`));
      assert.equal((await httpJson(`${url}/v1/health`)).status, 200);

      fs.writeFileSync(release, "");
      await waitUntilReady(url);
      const ready = await httpJson(`${url}/v1/ready`);
      assert.deepEqual([ready.status, ready.body.status], [200, "ready"]);
      const recovered = new Set([...log.matchAll(/recovered (big-\d+): .*rebuilt index/g)].map((m) => m[1]));
      assert.equal(recovered.size, PARTITIONS, `every partition's log was recovered:\n${log.slice(-3000)}`);
      assert.equal((await httpJson(`${url}/v1/topics/big`)).body.messages, MESSAGES);
      signalChild(child, "SIGTERM");
      assert.equal(await exited, 0, log.slice(-3000));
    } finally {
      signalChild(child, "SIGKILL");
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(gate, { recursive: true, force: true });
  }
});
