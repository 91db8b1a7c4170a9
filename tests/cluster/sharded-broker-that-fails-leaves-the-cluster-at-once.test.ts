/**
 * A sharded broker of an etcd cluster whose shard fails stops with exit code 1 and gives up its registration as it
 * goes (its lease revoked, as one broker that fails does), so the controller moves its leaderships at once rather than
 * after `broker.session.timeout.ms` (60 s here). Shard 1 of a 2-shard node fails on a signal file (an injected worker).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ClusterKeys } from "../../src/cluster/cluster-keys.ts";
import { ETCD_SKIP_REASON, sharedTestEtcd } from "../support/etcd.ts";
import { ROOT } from "../support/broker-process.ts";
import { until } from "../support/cluster-processes.ts";

const skip = ETCD_SKIP_REASON;
const ctx = sharedTestEtcd();
const NODE_ID = 47;

test("a sharded broker of an etcd cluster whose shard fails exits 1 without its registration left behind", { skip, timeout: 180_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-sharded-fails-"));
  const trigger = path.join(dir, "die");
  const args = ["--port", "0", "--data-dir", path.join(dir, "data"), "--shards", "2", "-o", `node.id=${NODE_ID}`, "-o", `metadata.etcd.endpoints=${ctx.etcd.endpoint}`, "-o", "broker.session.timeout.ms=60000"];
  const child = spawn(path.join(ROOT, "node_modules/.bin/bun"), [path.join(ROOT, "tests/cluster/fixtures/node-with-dying-shard.ts"), ...args], { stdio: ["ignore", "pipe", "pipe"], cwd: ROOT, env: { ...process.env, RUNNEL_TEST_SHARD_DIES: trigger } });
  let log = "";
  child.stderr!.on("data", (b) => (log += b.toString()));
  child.stdout!.on("data", (b) => (log += b.toString()));
  const exited = new Promise<number | string | null>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal)));
  const key = new ClusterKeys().broker(NODE_ID);
  try {
    await until("the node's registration in etcd", 90_000, async () => (await ctx.client.get(key)) !== null);
    fs.writeFileSync(trigger, "");
    assert.equal(await exited, 1, log.slice(-3000));
    assert.equal(await ctx.client.get(key), null, "registration gone when the node has exited");
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
