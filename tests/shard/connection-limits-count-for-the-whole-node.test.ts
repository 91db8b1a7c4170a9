/**
 * `max.connections` and `max.connections.per.ip` on a 2-shard node whose shard threads accept clients too
 * (SO_REUSEPORT): the limits count for the node as one broker, not per accepting thread. Many connections opened at
 * once are spread by the kernel over the three accepting threads, yet never more than `max.connections` are served
 * at once: the others wait in their thread's queue, and each close in any thread lets exactly one more in; over
 * `max.connections.per.ip` exactly the limit are served and the others closed at once, whichever thread took them,
 * and closing a served connection lets a new one in.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BrokerConfig } from "../../src/broker/config.ts";
import { reusePortSupported } from "../../src/platform/net.ts";
import { startShardedNode, type ShardedNode } from "../../src/shard/sharded-node.ts";
import { RawClient } from "../support/raw-client.ts";
import { testLogger } from "../support/broker.ts";

const skip = reusePortSupported() ? false : "SKIPPED: shard threads accept clients on Bun and on Deno on Linux only (SO_REUSEPORT)";
const apiVersions = { clientSoftwareName: "t", clientSoftwareVersion: "1" };
const ATTEMPTS = 12;

async function startNode(limits: [string, string][], lines: string[]): Promise<{ node: ShardedNode; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-node-limits-"));
  const config = new BrokerConfig(new Map([["listeners", "PLAINTEXT://127.0.0.1:0"], ["log.dirs", dir], ["runnel.shards", "2"], ["num.partitions", "2"], ...limits]));
  return { node: await startShardedNode(config, { logger: testLogger(lines) }), dir };
}

/** Connects and asks ApiVersions: the open client when answered, null when refused (not accepted, or closed at once). */
async function attempt(port: number): Promise<RawClient | null> {
  let c: RawClient;
  try {
    c = await RawClient.connect(port);
  } catch {
    return null;
  }
  c.timeoutMs = 60_000;
  try {
    assert.equal((await c.request(18, 3, apiVersions)).errorCode, 0);
    return c;
  } catch (e) {
    c.close();
    if ((e as Error).message.startsWith("no answer")) throw e;
    return null;
  }
}

/** Opens `n` connections at once; returns the served ones. */
async function openMany(port: number, n: number): Promise<RawClient[]> {
  const got = await Promise.all(Array.from({ length: n }, () => attempt(port)));
  return got.filter((c): c is RawClient => c !== null);
}

/** Tries until a new connection is served (a slot freed in any thread reopens every thread's listener). */
async function untilServed(port: number): Promise<RawClient> {
  for (;;) {
    const c = await attempt(port);
    if (c !== null) return c;
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("max.connections counts the node's connections across every accepting thread: the others wait and are served one per close", { skip, timeout: 120_000 }, async () => {
  const lines: string[] = [];
  const limit = 3;
  const { node, dir } = await startNode([["max.connections", String(limit)]], lines);
  const clients: RawClient[] = [];
  try {
    const port = node.port();
    for (let i = 0; i < ATTEMPTS; i++) clients.push(await RawClient.connect(port));
    // served and not yet closed by the test, and the most of them seen at once (at each answer)
    const answered: RawClient[] = [];
    let open = 0;
    let mostOpen = 0;
    for (const c of clients) {
      void c.request(18, 3, apiVersions).then((r) => {
        assert.equal(r.errorCode, 0);
        answered.push(c);
        mostOpen = Math.max(mostOpen, ++open);
      });
    }
    const untilAnswered = async (n: number) => {
      for (let i = 0; i < 1200 && answered.length < n; i++) await new Promise((r) => setTimeout(r, 25));
      assert.equal(answered.length, n, `${n} served:\n${lines.join("\n")}`);
    };
    await untilAnswered(limit);
    // each close, in whichever thread, serves one waiting connection of any thread
    for (let closed = 0; closed < ATTEMPTS - limit; closed++) {
      answered[closed].close();
      open--;
      await untilAnswered(limit + closed + 1);
      assert.ok(mostOpen <= limit, `at most ${limit} served at once, saw ${mostOpen}`);
    }
    assert.equal(mostOpen, limit);
  } finally {
    for (const c of clients) c.close();
    await node.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

for (const [name, limits, limit] of [
  ["max.connections.per.ip", [["max.connections.per.ip", "2"]], 2],
] as const) {
  test(`${name} counts the node's connections across every accepting thread`, { skip, timeout: 120_000 }, async () => {
    const lines: string[] = [];
    const { node, dir } = await startNode(limits as unknown as [string, string][], lines);
    const open: RawClient[] = [];
    try {
      const port = node.port();
      open.push(...(await openMany(port, ATTEMPTS)));
      assert.equal(open.length, limit, `served ${open.length} of ${ATTEMPTS} with ${name}=${limit}\n${lines.join("\n")}`);
      // The main thread's refusals (the shard threads log to stderr) name the limit.
      const refusals = lines.filter((l) => l.includes("refusing connection"));
      if (name === "max.connections.per.ip") assert.ok(refusals.every((l) => l.includes("max.connections.per.ip")), refusals.join("\n"));
      // A closed connection frees a slot for the node, whichever thread gets the next one.
      open.shift()!.close();
      open.push(await untilServed(port));
      assert.equal(open.length, limit);
      const more = await openMany(port, ATTEMPTS);
      open.push(...more);
      assert.equal(more.length, 0, `the node is full again: ${more.length} more served`);
    } finally {
      for (const c of open) c.close();
      await node.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
