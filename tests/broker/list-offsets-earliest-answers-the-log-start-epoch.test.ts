/**
 * ListOffsets EARLIEST answers the leader epoch of the log start's records (the oldest entry of the leader epoch
 * cache), not the current epoch, as Kafka's UnifiedLog.fetchOffsetByTimestamp; LATEST answers the current one.
 * Found by tests/oracle/cluster-random-match-kafka (with outages: a 3-node Kafka answered EARLIEST epoch 1 where
 * the partition's records were written in epoch 1 and it was led in epoch 2; Runnel answered 2).
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
import { testLogger } from "../support/broker.ts";
import { makeRecordsBatch } from "../storage/batch-fixture.ts";
import { until } from "../cluster/cluster-fixture.ts";

test("ListOffsets EARLIEST answers the epoch its records were written in; LATEST the current epoch", { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-earliest-epoch-"));
  const store = new LocalMetadataStore(nodeFileSystem, dir);
  const broker = await Broker.start(new BrokerConfig(new Map([["listeners", "PLAINTEXT://127.0.0.1:0"], ["log.dirs", dir], ["node.id", "1"]])), { metadata: store, logger: testLogger() });
  const c = await RawClient.connect(broker.port);
  // EARLIEST and LATEST, one request each (a partition named twice in one request is INVALID_REQUEST, as in Kafka)
  const offsets = async () => {
    const out: unknown[] = [];
    for (const timestamp of [-2n, -1n]) {
      const r = await c.request(2, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: "e", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }] });
      const p = r.topics[0].partitions[0];
      out.push([p.errorCode, p.offset, p.leaderEpoch]);
    }
    return out;
  };
  try {
    await broker.createTopic("e", 1, 1, {}, false);
    const produced = await c.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: "e", partitionData: [{ index: 0, records: makeRecordsBatch(2, Date.now()) }] }] });
    assert.equal(produced.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    assert.deepEqual(await offsets(), [[0, 0n, 0], [0, 2n, 0]]);
    // a new leader epoch (as after a leader change and back): the records stay those of epoch 0
    const s0 = store.partitionState("e", 0)!;
    assert.equal(await store.compareAndSetPartition({ ...s0, leaderEpoch: 1, partitionEpoch: 1 }, 0), true);
    await until(() => broker.partition("e", 0)!.leaderEpoch === 1, 5_000, "the leader to take epoch 1");
    assert.deepEqual(await offsets(), [[0, 0n, 0], [0, 2n, 1]], "EARLIEST: the log start's epoch 0; LATEST: the current epoch 1");
  } finally {
    c.close();
    await broker.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
