/**
 * A sharded node's front follows the node's client quotas (its `consumer_byte_rate` charge) by watching the host's
 * metadata store; once the front stops, its watcher is gone: the store is left with the shards' own change streams
 * (one per shard), so a front stopped while the shards live on keeps nothing alive and is sent no more changes; once
 * the whole node stopped, the store holds no watcher at all.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import type { LocalMetadataStore } from "../../src/cluster/metadata-store.ts";
import { startShardedNode } from "../../src/shard/sharded-node.ts";
import { testLogger } from "../support/broker.ts";
import { nodeConfig, tempDataDir } from "./support.ts";

test("a stopped front leaves no watcher of its own on the node's metadata store", { timeout: 90_000 }, async () => {
  const dir = tempDataDir();
  const node = await startShardedNode(nodeConfig(dir, 2, { listeners: "PLAINTEXT://127.0.0.1:0" }), { logger: testLogger() });
  try {
    assert.notEqual(node.shards.quotaSensors, null, "the front charges client quotas (it watches the store)");
    const store = node.shards.metadata as LocalMetadataStore;
    const running = store.watcherCount;
    await node.front.stop();
    // Left: the change stream of each shard's metadata mirror (src/shard/metadata-mirror.ts serveMetadata).
    assert.equal(store.watcherCount, node.shards.count, `watchers with the front running: ${running}`);
    assert.ok(running > store.watcherCount);
  } finally {
    await node.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// The whole node: its HTTP side's ACL list (the authorizer's) and the shards' change streams stop following the
// store too, so a node stopped inside a process that keeps the store (a test, an embedder) leaves no watcher.
test("a stopped sharded node (front, HTTP side, shards) leaves no watcher on its metadata store", { timeout: 90_000 }, async () => {
  const dir = tempDataDir();
  const node = await startShardedNode(nodeConfig(dir, 2, { listeners: "PLAINTEXT://127.0.0.1:0", "http.listeners": "http://127.0.0.1:0" }), { logger: testLogger() });
  try {
    assert.notEqual(node.http, null, "the node has an HTTP side (its ACL list watches the store)");
    const store = node.shards.metadata as LocalMetadataStore;
    const running = store.watcherCount;
    await node.stop();
    assert.equal(store.watcherCount, 0, `watchers with the node running: ${running}`);
  } finally {
    await node.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
