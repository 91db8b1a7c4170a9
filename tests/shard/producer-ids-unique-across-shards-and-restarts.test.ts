/**
 * Producer ids of a sharded node: every shard takes its blocks from the node's one `__runnel_producer_ids` file
 * through the host (a shard using a file of its own would hand out its neighbours' ids). Ids handed out by
 * different shards never collide, and after a restart (even with another shard count) no id is handed out again.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ApiKey } from "../../src/protocol/generated/index.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import type { ShardSet } from "../../src/shard/shard-host.ts";
import { startShards, tempDataDir } from "./support.ts";

/** Asks shard `k` for `n` idempotent producer ids (retrying while its first block is on the way). */
async function producerIds(set: ShardSet, k: number, n: number): Promise<bigint[]> {
  const ch = await set.open(k, { remote: "ids:1" });
  const out: bigint[] = [];
  while (out.length < n) {
    const r = await ch.request<{ errorCode: number; producerId: bigint }>(ApiKey.InitProducerId, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
    if (r.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) continue;
    assert.equal(r.errorCode, ErrorCode.NONE);
    out.push(r.producerId);
  }
  ch.close();
  return out;
}

test("producer ids from different shards and from successive runs never repeat", { timeout: 120_000 }, async () => {
  const dir = tempDataDir();
  try {
    const seen = new Set<bigint>();
    let total = 0;
    for (const count of [3, 2]) {
      const set = await startShards(dir, count, true);
      try {
        const ids = (await Promise.all(Array.from({ length: count }, (_, k) => producerIds(set, k, 1200)))).flat();
        for (const id of ids) seen.add(id);
        total += ids.length;
        assert.equal(seen.size, total, "no id handed out twice");
      } finally {
        await set.stop();
      }
      const reservedEnd = BigInt(fs.readFileSync(path.join(dir, "__runnel_producer_ids"), "utf8").trim());
      assert.ok([...seen].every((id) => id < reservedEnd), `the file (${reservedEnd}) covers every id handed out`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
