/**
 * ListOffsets by timestamp and MAX_TIMESTAMP (-3) answer the leader epoch of the batch that holds the offset found,
 * not the partition's current epoch, as Kafka 4.4 (UnifiedLog.fetchOffsetByTimestamp: FileRecords.searchForTimestamp
 * and the max-timestamp batch both answer batch.partitionLeaderEpoch()). EARLIEST and EARLIEST_LOCAL (-4) answer the
 * log start's epoch, LATEST the current one, LATEST_TIERED (-5) and EARLIEST_PENDING_UPLOAD (-6) -1 (no tiered
 * storage), and nothing found answers -1.
 *
 * The log is written on a plain broker whose epoch the test moves between batches (as a leader change and back
 * does), then read after a restart of the same data directory, so that under RUNNEL_TEST_SHARDS=2 the reads go
 * through a sharded node's front and shards.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Broker } from "../../src/broker/broker.ts";
import { BrokerConfig } from "../../src/broker/config.ts";
import { LocalMetadataStore } from "../../src/cluster/metadata-store.ts";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { RawClient } from "../support/raw-client.ts";
import { startTestBroker, testLogger } from "../support/broker.ts";
import { makeRecordsBatch } from "../storage/batch-fixture.ts";
import { until } from "../cluster/cluster-fixture.ts";

/** Batches written in epochs 0, 1 and 2 (two records each, timestamps base and base + 1); the epoch is 3 after. */
const WRITES = [
  { epoch: 0, ts: 1_000 },
  { epoch: 1, ts: 5_000 }, // the largest timestamp
  { epoch: 2, ts: 2_000 },
];

test("ListOffsets by timestamp and max timestamp answer the epoch of the batch found, as Kafka", { timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-ts-epoch-"));
  const store = new LocalMetadataStore(nodeFileSystem, dir);
  const broker = await Broker.start(new BrokerConfig(new Map([["listeners", "PLAINTEXT://127.0.0.1:0"], ["log.dirs", dir], ["node.id", "1"]])), { metadata: store, logger: testLogger() });
  try {
    const c = await RawClient.connect(broker.port);
    try {
      await broker.createTopic("e", 1, 1, {}, false);
      for (const w of WRITES) {
        if (w.epoch > 0) await moveEpoch(store, broker, w.epoch);
        const produced = await c.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: "e", partitionData: [{ index: 0, records: makeRecordsBatch(2, w.ts) }] }] });
        assert.equal(produced.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
      }
      await moveEpoch(store, broker, 3);
    } finally {
      c.close();
    }
  } finally {
    await broker.stop();
  }
  const b = await startTestBroker({}, dir);
  const c = await RawClient.connect(b.port);
  try {
    const ask = async (v: number, timestamp: bigint) => {
      const r = await c.request(2, v, { replicaId: -1, isolationLevel: 0, timeoutMs: 5000, topics: [{ name: "e", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }] });
      const p = r.topics[0].partitions[0];
      return [p.errorCode, p.offset, p.leaderEpoch];
    };
    const latest = await ask(11, -1n);
    const current = latest[2] as number;
    assert.ok(current >= 3, `the current epoch is at least the last one set, got ${current}`);
    assert.deepEqual(latest, [0, 6n, current], "LATEST: the current epoch");
    // by timestamp: the first record at or after it, and its batch's epoch
    assert.deepEqual(await ask(11, 1_000n), [0, 0n, 0], "ts 1000: offset 0 in epoch 0's batch");
    assert.deepEqual(await ask(11, 1_001n), [0, 1n, 0], "ts 1001: offset 1 in epoch 0's batch");
    assert.deepEqual(await ask(11, 1_002n), [0, 2n, 1], "ts 1002: offset 2 in epoch 1's batch");
    assert.deepEqual(await ask(11, 5_001n), [0, 3n, 1], "ts 5001: offset 3 in epoch 1's batch");
    assert.deepEqual(await ask(11, 5_002n), [0, -1n, -1], "past every record: nothing found, no epoch");
    assert.deepEqual(await ask(4, 1_002n), [0, 2n, 1], "v4, the first version with the epoch");
    assert.deepEqual(await ask(3, 1_002n), [0, 2n, -1], "v3 has no epoch");
    // max timestamp: the record with the largest timestamp, in epoch 1's batch (not the last batch's epoch 2)
    assert.deepEqual(await ask(11, -3n), [0, 3n, 1], "MAX_TIMESTAMP: epoch 1's batch");
    assert.deepEqual(await ask(11, -2n), [0, 0n, 0], "EARLIEST: the log start's epoch");
    assert.deepEqual(await ask(11, -4n), [0, 0n, 0], "EARLIEST_LOCAL: as EARLIEST without tiered storage");
    assert.deepEqual(await ask(11, -5n), [0, -1n, -1], "LATEST_TIERED: no tiered offset, no epoch");
    assert.deepEqual(await ask(11, -6n), [0, -1n, -1], "EARLIEST_PENDING_UPLOAD: no tiered storage, no epoch");
  } finally {
    c.close();
    await b.stop();
  }
});

/** Moves partition e-0 to leader epoch `epoch` in the metadata store and waits until the broker leads in it. */
async function moveEpoch(store: LocalMetadataStore, broker: Broker, epoch: number): Promise<void> {
  const s = store.partitionState("e", 0)!;
  assert.equal(await store.compareAndSetPartition({ ...s, leaderEpoch: epoch, partitionEpoch: s.partitionEpoch + 1 }, s.partitionEpoch), true);
  await until(() => broker.partition("e", 0)!.leaderEpoch === epoch, 5_000, `the leader to take epoch ${epoch}`);
}
