/**
 * Partitions take their leader epoch, replicas and ISR from the metadata store's partition state: a
 * compare-and-set on it (what a controller or an ISR change will write) reaches the partition through the store's
 * watch. Metadata reports it, the high watermark waits for an in-sync follower that has not fetched,
 * min.insync.replicas counts the ISR (up to the replica count: Kafka's effectiveMinIsr), and an acks=all produce
 * whose ISR shrank below it while it waited answers NOT_ENOUGH_REPLICAS_AFTER_APPEND.
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
import { ZERO_UUID } from "../../src/protocol/wire.ts";
import { RawClient } from "../support/raw-client.ts";
import { testLogger } from "../support/broker.ts";
import { makeRecordsBatch } from "../storage/batch-fixture.ts";
import { until } from "../cluster/cluster-fixture.ts";

test("a compare-and-set of a partition's state changes its leader epoch, ISR and high watermark", { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-roles-"));
  const store = new LocalMetadataStore(nodeFileSystem, dir);
  const broker = await Broker.start(new BrokerConfig(new Map([["listeners", "PLAINTEXT://127.0.0.1:0"], ["log.dirs", dir], ["node.id", "1"]])), { metadata: store, logger: testLogger() });
  const c = await RawClient.connect(broker.port);
  const c2 = await RawClient.connect(broker.port);
  const produce = async (acks: number, via = c) =>
    (await via.request(0, 9, { transactionalId: null, acks, timeoutMs: 5000, topicData: [{ name: "r", partitionData: [{ index: 0, records: makeRecordsBatch(2, Date.now()) }] }] })).responses[0].partitionResponses[0];
  const highWatermark = async () =>
    (await c.request(1, 12, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: "r", partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [], rackId: "",
    })).responses[0].partitions[0].highWatermark;
  try {
    await broker.createTopic("r", 1, 1, { "min.insync.replicas": "2" }, false);
    assert.equal((await produce(-1)).errorCode, ErrorCode.NONE, "one replica: min.insync.replicas=2 asks for all of them (Kafka's effectiveMinIsr)");
    assert.equal(await highWatermark(), 2n);

    const s0 = store.partitionState("r", 0)!;
    assert.deepEqual([s0.leader, s0.leaderEpoch, s0.isr, s0.partitionEpoch], [1, 0, [1], 0]);
    assert.equal(await store.compareAndSetPartition({ ...s0, replicas: [1, 2], isr: [1], leaderEpoch: 1, partitionEpoch: 1 }, 0), true);
    await until(() => broker.partition("r", 0)!.replicas.length === 2, 5_000, "the leader to see two replicas");
    assert.equal((await produce(-1)).errorCode, ErrorCode.NOT_ENOUGH_REPLICAS, "two replicas, ISR {1}: below min.insync.replicas=2");
    assert.equal(await store.compareAndSetPartition({ ...store.partitionState("r", 0)!, isr: [1, 2], partitionEpoch: 2 }, 1), true);
    await until(() => broker.partition("r", 0)!.isr.length === 2, 5_000, "the leader to see the ISR {1,2}");
    const md = await c.request(3, 12, { topics: [{ topicId: ZERO_UUID, name: "r" }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    const mp = md.topics[0].partitions[0];
    assert.deepEqual([mp.leaderId, mp.leaderEpoch, mp.replicaNodes, mp.isrNodes], [1, 1, [1, 2], [1, 2]]);
    assert.equal(broker.partition("r", 0)!.leaderEpochs.endOffsetFor(0, 2n).endOffset, 2n, "epoch 1 began at the log end");

    assert.equal((await produce(1)).errorCode, ErrorCode.NONE);
    assert.equal(await highWatermark(), 2n, "follower 2 is in sync but has fetched nothing: the high watermark waits");
    const waiting = produce(-1, c2); // ISR {1,2} meets min.insync.replicas=2: appended, then waits for the follower
    const p = broker.partition("r", 0)!;
    for (let i = 0; i < 500 && p.waitingProduces === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(p.waitingProduces, 1);
    // The ISR shrinks back to the leader alone: the high watermark reaches the log end, below min.insync.replicas.
    const s1 = store.partitionState("r", 0)!;
    assert.equal(await store.compareAndSetPartition({ ...s1, isr: [1], partitionEpoch: 3 }, 2), true);
    assert.equal((await waiting).errorCode, ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND);
    assert.equal(await highWatermark(), 6n);
    assert.equal(await store.compareAndSetPartition({ ...s1, isr: [1, 2], partitionEpoch: 3 }, 2), false, "a stale compare-and-set loses");
  } finally {
    c.close();
    c2.close();
    await broker.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
