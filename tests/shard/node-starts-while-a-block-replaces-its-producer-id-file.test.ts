/**
 * A sharded node starts even when its `__runnel_producer_ids` file cannot be read while the node starts (the CI failure
 * after a power cut on the forgetful disk: shard 1 asked the host for its first block and the host renamed the new
 * file over the old one while shard 0 was reading it; on a FUSE or network file system that read fails with ENOENT
 * and shard 0, so the node, could not start). The host reads the node's file once, before any shard starts; the
 * shards never read it. The injection: every read of the file after the host's first one fails with ENOENT, as that
 * read did. The ids the shards then hand out stay above what the file had reserved (none handed out again).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ApiKey } from "../../src/protocol/generated/index.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import type { ShardSet } from "../../src/shard/shard-host.ts";
import { startShards, tempDataDir } from "./support.ts";

/** Ids reserved by the node's file before this start (a node that handed out ids in an earlier run). */
const RESERVED_BEFORE = 7000n;

async function producerId(set: ShardSet, k: number): Promise<bigint> {
  const ch = await set.open(k, { remote: "ids:1" });
  try {
    for (;;) {
      const r = await ch.request<{ errorCode: number; producerId: bigint }>(ApiKey.InitProducerId, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
      if (r.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) continue;
      assert.equal(r.errorCode, ErrorCode.NONE);
      return r.producerId;
    }
  } finally {
    ch.close();
  }
}

test("a sharded node starts while its producer id file is replaced under a reader, and hands out no id twice", { timeout: 120_000 }, async () => {
  const dir = tempDataDir();
  const file = path.join(dir, "__runnel_producer_ids");
  fs.writeFileSync(file, `${RESERVED_BEFORE}\n`);
  const readFile = nodeFileSystem.readFile;
  const reads: string[] = [];
  nodeFileSystem.readFile = (p) => {
    if (path.resolve(p) !== file) return readFile(p);
    reads.push(new Error().stack ?? "");
    if (reads.length > 1) throw Object.assign(new Error(`ENOENT: no such file or directory, read (injected: ${p} replaced by a rename while being read)`), { code: "ENOENT", errno: -2 });
    return readFile(p);
  };
  let set: ShardSet | null = null;
  try {
    set = await startShards(dir, 2, true);
    assert.equal(reads.length, 1, `only the host reads the node's producer id file:\n${reads.join("\n---\n")}`);
    const ids = [await producerId(set, 0), await producerId(set, 1)];
    assert.equal(new Set(ids).size, 2, `no id handed out twice: ${ids}`);
    assert.ok(ids.every((id) => id >= RESERVED_BEFORE), `ids ${ids} above the ${RESERVED_BEFORE} the file had reserved`);
  } finally {
    nodeFileSystem.readFile = readFile;
    await set?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
