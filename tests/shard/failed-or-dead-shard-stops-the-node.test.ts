/**
 * A shard that cannot start makes the whole start fail with its reason (and the data dir stays usable); a shard
 * thread that dies while the node runs is reported through `onFatal` (the node stops with an error instead of
 * carrying on without that shard's partitions), and the node still stops cleanly.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { ShardSet } from "../../src/shard/shard-host.ts";
import type { ShardLink } from "../../src/shard/shard-link.ts";
import { nodeConfig, tempDataDir } from "./support.ts";

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

test("a shard that cannot start fails the node's start with its reason", { timeout: 60_000 }, async () => {
  const dir = tempDataDir();
  try {
    await assert.rejects(ShardSet.start(nodeConfig(dir, 2, { "runnel.log.flush.overlapping": "0" }), { logger: quiet }), /shard \d could not start: .*runnel\.log\.flush\.overlapping/);
    // The node's open-files split is checked once, by the host, before any shard starts.
    await assert.rejects(ShardSet.start(nodeConfig(dir, 2, { "log.open.files.max": "1" }), { logger: quiet }), /log\.open\.files\.max counts for the whole node of 2 shards/);
    const set = await ShardSet.start(nodeConfig(dir, 2), { logger: quiet });
    assert.equal(set.count, 2);
    await set.stop();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a shard thread that dies is reported as fatal for the node", { timeout: 60_000 }, async () => {
  const dir = tempDataDir();
  try {
    let onFatal!: (reason: string) => void;
    const fatal = new Promise<string>((r) => (onFatal = r));
    const set = await ShardSet.start(nodeConfig(dir, 2), { logger: quiet, onFatal });
    // Break shard 1 from inside: a message its control link has no receiver for throws in its thread, uncaught.
    (set as unknown as { shards: { link: ShardLink }[] }).shards[1].link.post({ t: "no-such-message" });
    assert.match(await fatal, /^shard 1 died: .*no-such-message/);
    await set.stop();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
