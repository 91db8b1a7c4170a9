/**
 * The leader side of replication over Kafka's Fetch protocol: a follower (ReplicaState.replicaId, v15+) reads up
 * to the log end, its fetch offset moves the high watermark (releasing acks=all produces and showing the records to
 * consumers), a follower whose last fetched epoch ends earlier gets the diverging epoch instead of records, a
 * parked follower fetch wakes on an append, and a broker that is not a replica is refused.
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

test("follower fetches move the high watermark, report divergence and wait for appends", { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-replica-fetch-"));
  const store = new LocalMetadataStore(nodeFileSystem, dir);
  const lines: string[] = [];
  const broker = await Broker.start(new BrokerConfig(new Map([["listeners", "PLAINTEXT://127.0.0.1:0"], ["log.dirs", dir], ["node.id", "1"]])), { metadata: store, logger: testLogger(lines) });
  const [c, c2, follower] = await Promise.all([0, 1, 2].map(() => RawClient.connect(broker.port)));
  const produce = async (acks: number, n: number, via = c) =>
    (await via.request(0, 9, { transactionalId: null, acks, timeoutMs: 5000, topicData: [{ name: "rep", partitionData: [{ index: 0, records: makeRecordsBatch(n, Date.now()) }] }] })).responses[0].partitionResponses[0];
  const fetch = async (via: RawClient, replicaId: number, fetchOffset: bigint, lastFetchedEpoch: number, maxWaitMs = 0) =>
    (await via.request(1, 15, {
      replicaState: { replicaId, replicaEpoch: -1n }, maxWaitMs, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topicId: broker.topicsByName.get("rep")!.id, partitions: [{ partition: 0, currentLeaderEpoch: 1, fetchOffset, lastFetchedEpoch, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [], rackId: "",
    })).responses[0].partitions[0];
  const consumerHighWatermark = async () =>
    (await c.request(1, 12, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: "rep", partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [], rackId: "",
    })).responses[0].partitions[0].highWatermark;
  try {
    await broker.createTopic("rep", 1, 1, {}, false);
    assert.equal((await produce(1, 2)).errorCode, ErrorCode.NONE); // offsets 0-1 in epoch 0
    const s0 = store.partitionState("rep", 0)!;
    assert.equal(await store.compareAndSetPartition({ ...s0, replicas: [1, 2], isr: [1, 2], leaderEpoch: 1, partitionEpoch: 1 }, 0), true);
    assert.equal((await produce(1, 3)).errorCode, ErrorCode.NONE); // offsets 2-4 in epoch 1
    assert.equal(await consumerHighWatermark(), 2n, "consumers see only what the ISR has");
    const acked = produce(-1, 1, c2); // offset 5, waits for follower 2
    const p = broker.partition("rep", 0)!;
    for (let i = 0; i < 500 && p.waitingProduces === 0; i++) await new Promise((r) => setTimeout(r, 10));

    const first = await fetch(follower, 2, 0n, -1);
    assert.equal(first.errorCode, ErrorCode.NONE);
    assert.ok((first.records as Uint8Array).length > 0, "the follower reads past the high watermark, up to the log end");
    assert.equal(p.follower(2)?.logEndOffset, 0n);
    assert.equal(first.highWatermark, 2n, "a follower at offset 0 holds the high watermark where it was");

    const caughtUp = await fetch(follower, 2, 6n, 1);
    assert.equal(caughtUp.errorCode, ErrorCode.NONE);
    assert.equal(caughtUp.highWatermark, 6n, "the follower's offset moved the high watermark");
    assert.equal((await acked).errorCode, ErrorCode.NONE, "the acks=all produce is answered");
    assert.equal(await consumerHighWatermark(), 6n);

    // A follower whose epoch-0 history runs past where epoch 0 ended here is told where to truncate.
    const diverged = await fetch(follower, 2, 4n, 0);
    assert.deepEqual([diverged.errorCode, diverged.divergingEpoch?.epoch, diverged.divergingEpoch?.endOffset], [ErrorCode.NONE, 0, 2n]);
    assert.equal(p.follower(2)?.logEndOffset, 6n, "a diverging fetch does not move the follower's position");

    // A parked follower fetch is answered by the next append (the high watermark cannot move without it).
    const parked = fetch(follower, 2, 6n, 1, 20_000);
    for (let i = 0; i < 500 && p.waitingFetches === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal((await produce(1, 2)).errorCode, ErrorCode.NONE);
    const woken = await parked;
    assert.ok((woken.records as Uint8Array).length > 0);

    assert.equal((await fetch(c2, 3, 0n, -1)).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER, "broker 3 holds no replica");
    assert.equal((await fetch(c2, 1, 0n, -1)).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER, "the leader does not fetch from itself");
    assert.deepEqual(lines.filter((l) => l.startsWith("ERROR")), []);
  } finally {
    for (const x of [c, c2, follower]) x.close();
    await broker.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
