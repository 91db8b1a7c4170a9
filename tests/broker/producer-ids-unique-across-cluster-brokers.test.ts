/**
 * Producer ids are unique across the brokers of a cluster: each broker allocates from its own log dir, so in
 * cluster mode the ids are interleaved by node.id. Found by the three-broker simulation (tests/sim/cluster.ts): two
 * producers that got the same id from two brokers had each other's first batches answered as duplicates, and
 * acknowledged records were never written.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { ProducerIdAllocator } from "../../src/broker/producer-ids.ts";

test("three brokers' producer ids never collide, across restarts too; a single node keeps counting from 0", () => {
  const root = mkdtempSync(path.join(tmpdir(), "runnel-pids-"));
  try {
    const dirs = [1, 2, 3].map((n) => {
      const d = path.join(root, `b${n}`);
      nodeFileSystem.mkdirp(d);
      return d;
    });
    const seen = new Set<bigint>();
    for (let round = 0; round < 2; round++) {
      // round 1 is a restart of every broker: a new allocator reads its durable block end
      dirs.forEach((d, i) => {
        const a = new ProducerIdAllocator(nodeFileSystem, d);
        a.interleave(i + 1);
        for (let k = 0; k < 1500; k++) {
          const id = a.next();
          assert.ok(!seen.has(id), `producer id ${id} handed out twice`);
          assert.ok(id >= 0n && id < 2n ** 63n);
          seen.add(id);
        }
      });
    }
    const single = new ProducerIdAllocator(nodeFileSystem, path.join(root, "single"));
    nodeFileSystem.mkdirp(path.join(root, "single"));
    assert.deepEqual([single.next(), single.next()], [0n, 1n]);
    assert.throws(() => new ProducerIdAllocator(nodeFileSystem, dirs[0]).interleave(2 ** 20), /node\.id/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
