/**
 * A single broker keeps Kafka's partition checkpoint files: `leader-epoch-checkpoint` in each partition directory
 * (OffsetForLeaderEpoch answers from it) and `replication-offset-checkpoint` with every high watermark in each log
 * dir, written at shutdown and on `replica.high.watermark.checkpoint.interval.ms`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { RawClient } from "../support/raw-client.ts";
import { startTestBroker } from "../support/broker.ts";
import { makeRecordsBatch } from "../storage/batch-fixture.ts";

test("leader-epoch-checkpoint and replication-offset-checkpoint are written and answer OffsetForLeaderEpoch", { timeout: 60_000 }, async () => {
  let b = await startTestBroker({ "replica.high.watermark.checkpoint.interval.ms": "100" });
  const dir = b.dir;
  try {
    await b.broker.createTopic("cp", 2, 1, {}, false);
    const c = await RawClient.connect(b.port);
    const produce = await c.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: "cp", partitionData: [{ index: 1, records: makeRecordsBatch(5, Date.now()) }] }] });
    assert.equal(produce.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    const file = path.join(dir, "replication-offset-checkpoint");
    const lines = () => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n") : []);
    // The timer writes it while the broker runs.
    for (let i = 0; i < 500 && !lines().includes("cp 1 5"); i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(lines().slice(0, 2), ["0", "2"]);
    assert.ok(lines().includes("cp 0 0") && lines().includes("cp 1 5"), lines().join("|"));
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
    assert.equal(b.broker.partition("cp", 1)?.highWatermark, 5n);
  } finally {
    await b.stop();
  }
});
