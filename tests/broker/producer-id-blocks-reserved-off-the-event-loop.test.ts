/**
 * A single broker reserves producer id blocks in its file without a blocking fsync on the event loop: the blocking
 * `writeFileAtomic` is never used, each block is made durable by an asynchronous fdatasync before any id of it is
 * handed out, the next block is reserved ahead, and after a restart no id is handed out twice.
 */
import assert from "node:assert/strict";
import * as nodeFs from "node:fs";
import { test } from "node:test";
import { PRODUCER_ID_BLOCK_SIZE, ProducerIdAllocator } from "../../src/broker/producer-ids.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import { tempDir } from "../storage/batch-fixture.ts";
import { asyncOnlyFileSystem } from "../support/async-only-fs.ts";

/** Takes `n` ids, waiting for a reserved block whenever the allocator answers COORDINATOR_LOAD_IN_PROGRESS. */
async function take(a: ProducerIdAllocator, n: number): Promise<bigint[]> {
  const ids: bigint[] = [];
  while (ids.length < n) {
    try {
      ids.push(a.next());
    } catch (e) {
      assert.ok(e instanceof KafkaError && e.code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, String(e));
      await a.ready();
    }
  }
  return ids;
}

test("producer id blocks are reserved with asynchronous fsyncs, ahead of use, and never reused after a restart", async () => {
  const root = tempDir("runnel-pids-");
  try {
    const { fs, syncs } = asyncOnlyFileSystem();
    const file = `${root.dir}/__runnel_producer_ids`;
    const a = new ProducerIdAllocator(fs, root.dir);
    await a.ready();
    assert.equal(nodeFs.readFileSync(file, "utf8"), `${PRODUCER_ID_BLOCK_SIZE}\n`, "the first block is durable before its first id");
    const first = await take(a, Number(PRODUCER_ID_BLOCK_SIZE) + 10);
    assert.deepEqual(first, first.map((_, i) => BigInt(i)), "consecutive ids from 0");
    const blockSyncs = syncs.files.filter((p) => p.startsWith(file)).length;
    assert.ok(blockSyncs >= 2, `each block fsynced asynchronously (${blockSyncs})`);
    assert.ok(syncs.dirs.includes(root.dir), "and its directory entry");
    await a.ready();
    const reserved = BigInt(nodeFs.readFileSync(file, "utf8").trim());
    assert.ok(reserved >= 2n * PRODUCER_ID_BLOCK_SIZE, `the block after the first reserved ahead (${reserved})`);

    const b = new ProducerIdAllocator(fs, root.dir);
    const [afterRestart] = await take(b, 1);
    assert.ok(afterRestart >= reserved, `id ${afterRestart} after a restart is beyond every reserved id (${reserved})`);
  } finally {
    root.cleanup();
  }
});
