/**
 * A shard thread's front asked to stop while it is still starting (the host's `front.stop` arriving before
 * `front.start` finished) is stopped once its start ends, and one asked to start after its stop does not start:
 * before, a stop that found no front yet did nothing, and a start after the stop started a front, either way one
 * that listened after its stop, taking clients for a node on its way down. A node whose shard threads do not accept
 * clients (runnel.shards.accept=false) is sent `front.start` for shard 0 on a port of its own (port 0: the OS picks)
 * and `front.stop` right after it: the start answers its port, a client connecting there is refused, and a second
 * `front.start` is refused. (Here the start ends within the turn it began when nothing it waits on needs I/O, so the
 * stop may come after it; the second start is what fails without the change: it started a second front.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { startShardedNode } from "../../src/shard/sharded-node.ts";
import { RawClient } from "../support/raw-client.ts";
import { testLogger } from "../support/broker.ts";
import { nodeConfig, tempDataDir } from "./support.ts";

test("a shard thread's front stopped during its start does not listen after it, nor starts again", { timeout: 90_000 }, async () => {
  const dir = tempDataDir();
  const config = nodeConfig(dir, 2, { listeners: "PLAINTEXT://127.0.0.1:0", "runnel.shards.accept": "false" });
  const node = await startShardedNode(config, { logger: testLogger() });
  let leaked: RawClient | null = null;
  try {
    const s = node.shards;
    const args = [[...config.values], {}, s.nodeConnections, s.connectionFds, s.jwksDocuments, s.requestBudget, s.quotaSensors];
    const starting = s.call<Record<string, number>>(0, "front.start", args);
    await s.call(0, "front.stop", []);
    const port = (await starting).PLAINTEXT;
    assert.ok(port > 0, `shard 0's front bound a port of its own (${port})`);
    const refused = await RawClient.connect(port).then((c) => ((leaked = c), null), (e: NodeJS.ErrnoException) => e.code);
    assert.equal(refused, "ECONNREFUSED", "shard 0's front listens after its stop");
    await assert.rejects(s.call(0, "front.start", args), /its front was stopped/);
  } finally {
    (leaked as RawClient | null)?.close();
    await node.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
