/**
 * A single broker keeps Kafka's partition checkpoint files: `leader-epoch-checkpoint` in each partition directory
 * (OffsetForLeaderEpoch answers from it) and `replication-offset-checkpoint` with every high watermark in each log
 * dir, written at shutdown and on `replica.high.watermark.checkpoint.interval.ms`. On a sharded node each shard keeps
 * its own root file (`replication-offset-checkpoint.shard_K`, docs/sharding.md) and the high watermark after the
 * restart is read by ListOffsets, so the same test runs single-shard and sharded.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { RawClient } from "../support/raw-client.ts";
import { startTestBroker } from "../support/broker.ts";
import { rootCheckpointOffset } from "../support/root-checkpoint.ts";
import { makeRecordsBatch } from "../storage/batch-fixture.ts";

test("leader-epoch-checkpoint and replication-offset-checkpoint are written and answer OffsetForLeaderEpoch", { timeout: 60_000 }, async () => {
  let b = await startTestBroker({ "replica.high.watermark.checkpoint.interval.ms": "100" });
  const dir = b.dir;
  try {
    await b.broker.createTopic("cp", 2, 1, {}, false);
    const c = await RawClient.connect(b.port);
    const produce = await c.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: "cp", partitionData: [{ index: 1, records: makeRecordsBatch(5, Date.now()) }] }] });
    assert.equal(produce.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    const name = "replication-offset-checkpoint";
    // The timer writes it while the broker runs (on a sharded node each shard writes its own file on its own timer,
    // and the two partitions may be on different shards: wait for both entries).
    const written = () => rootCheckpointOffset(dir, name, "cp", 1) === 5n && rootCheckpointOffset(dir, name, "cp", 0) !== -1n;
    for (let i = 0; i < 500 && !written(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(rootCheckpointOffset(dir, name, "cp", 1), 5n);
    assert.equal(rootCheckpointOffset(dir, name, "cp", 0), 0n);
    // Kafka's layout: version 0, the entry count, then one `topic partition offset` line each (per shard's file).
    let entries = 0;
    // (not a file being written: the timer writes `<file>.async.tmp`, then renames it over the file)
    for (const file of fs.readdirSync(dir).filter((n) => n === name || new RegExp(`^${name}\\.shard_\\d+$`).test(n))) {
      const lines = fs.readFileSync(path.join(dir, file), "utf8").split("\n").filter((l) => l !== "");
      assert.equal(lines[0], "0", file);
      assert.equal(Number(lines[1]), lines.length - 2, `${file}: ${lines.join("|")}`);
      for (const l of lines.slice(2)) assert.match(l, /^\S+ \d+ \d+$/);
      entries += lines.length - 2;
    }
    assert.equal(entries, 2, "one entry per partition");
    const epochs = path.join(dir, "cp-1", "leader-epoch-checkpoint");
    for (let i = 0; i < 500 && !fs.existsSync(epochs); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(fs.readFileSync(epochs, "utf8"), "0\n1\n0 0\n");
    const ofle = await c.request(23, 4, { replicaId: -1, topics: [{ topic: "cp", partitions: [{ partition: 1, currentLeaderEpoch: 0, leaderEpoch: 0 }, { partition: 0, currentLeaderEpoch: -1, leaderEpoch: 3 }] }] });
    assert.deepEqual(
      ofle.topics[0].partitions.map((p: { errorCode: number; leaderEpoch: number; endOffset: bigint }) => [p.errorCode, p.leaderEpoch, p.endOffset]),
      [[0, 0, 5n], [0, -1, -1n]],
    );
    c.close();
    await b.stop({ keepDir: true });
    b = await startTestBroker({}, dir);
    const c2 = await RawClient.connect(b.port);
    const latest = await c2.request(2, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: "cp", partitions: [{ partitionIndex: 1, currentLeaderEpoch: -1, timestamp: -1n }] }] });
    c2.close();
    assert.equal(latest.topics[0].partitions[0].offset, 5n, "the high watermark after the restart");
  } finally {
    await b.stop();
  }
});
