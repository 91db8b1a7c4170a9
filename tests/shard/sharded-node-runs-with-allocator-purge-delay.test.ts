/**
 * A sharded node on Bun (Linux) runs with mimalloc's purge delay at SHARDED_PURGE_DELAY_MS: `runnel start` re-executes
 * itself in place with MIMALLOC_PURGE_DELAY set (same process id, same pipes), so a front's socket read buffers that
 * come back from the shards' threads find their memory not yet handed back to the kernel (src/platform/
 * allocator-settings.ts). A value the environment already names is kept; a single-shard broker is not re-executed.
 * Checked on the process's own environment (/proc/PID/environ), with the node serving a client, from the sources
 * and from the compiled executable.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ALLOCATOR_PURGE_DELAY_ENV, SHARDED_PURGE_DELAY_MS } from "../../src/platform/allocator-settings.ts";
import { ROOT, startBrokerProcess, type BrokerRuntime } from "../support/broker-process.ts";
import { RawClient } from "../support/raw-client.ts";

const onBunLinux = (globalThis as { Bun?: unknown }).Bun !== undefined && process.platform === "linux";

/** The value of `name` in the environment of process `pid`, or undefined. */
function environOf(pid: number, name: string): string | undefined {
  const entry = fs.readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").find((e) => e.startsWith(`${name}=`));
  return entry?.slice(name.length + 1);
}

/** Starts a node of `shards` shards with `env`, and returns the purge delay its process runs with. */
async function purgeDelayOf(runtime: BrokerRuntime, shards: number, env: Record<string, string> = {}): Promise<string | undefined> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-allocator-"));
  const node = await startBrokerProcess(runtime, ["--port", "0", "--data-dir", dir, "--shards", String(shards)], 60_000, env);
  try {
    const raw = await RawClient.connect(node.port);
    try {
      const res = await raw.request<any>(18, 3, { clientSoftwareName: "allocator-test", clientSoftwareVersion: "1" });
      assert.equal(res.errorCode, 0, "the node serves");
    } finally {
      raw.close();
    }
    return environOf(node.child.pid!, ALLOCATOR_PURGE_DELAY_ENV);
  } finally {
    assert.equal(await node.stop(), 0, "the node stops cleanly");
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test("a sharded node re-executes itself with mimalloc's purge delay; a set value is kept; one shard is left alone", { timeout: 180_000, skip: onBunLinux ? false : "Bun on Linux only (mimalloc's environment)" }, async () => {
  assert.equal(process.env[ALLOCATOR_PURGE_DELAY_ENV], undefined, "the test runs without the variable");
  assert.equal(await purgeDelayOf("bun", 2), String(SHARDED_PURGE_DELAY_MS));
  assert.equal(await purgeDelayOf("bun", 2, { [ALLOCATOR_PURGE_DELAY_ENV]: "10" }), "10", "a value from the environment is kept");
  assert.equal(await purgeDelayOf("bun", 1), undefined, "a single-shard broker runs as started");
});

test("the compiled executable re-executes itself the same way", { timeout: 120_000, skip: !onBunLinux ? "Bun on Linux only" : !fs.existsSync(path.join(ROOT, "dist/runnel")) ? "dist/runnel missing (npm run build)" : false }, async () => {
  assert.equal(await purgeDelayOf("binary", 2), String(SHARDED_PURGE_DELAY_MS));
});
