/**
 * A follower's long-polling Fetch (v15, ReplicaState) parked on two partitions of a leader is answered once for a
 * Produce that appends to both: the answer carries both partitions' records. (Before, the first partition's append
 * woke the fetch and it answered with that partition alone, so the other took another fetch round.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { RawClient } from "../support/raw-client.ts";
import { startTestLeader } from "./leader-fixture.ts";
import { makeRecordsBatch } from "../storage/batch-fixture.ts";

test("a follower's parked fetch answers a two-partition produce with both partitions' records", { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-follower-wake-"));
  const { leader, store } = await startTestLeader(dir);
  const follower = await RawClient.connect(leader.port);
  const producer = await RawClient.connect(leader.port);
  try {
    const topic = (await leader.createTopic("wake", 2, 1, {}, false))!;
    for (const p of [0, 1]) {
      const s = store.partitionState("wake", p)!;
      assert.equal(await store.compareAndSetPartition({ ...s, leader: 1, leaderEpoch: 1, replicas: [1, 2], isr: [1, 2], partitionEpoch: 1 }, s.partitionEpoch), true);
    }
    for (let i = 0; i < 500 && [0, 1].some((p) => leader.partition("wake", p)!.leaderEpoch !== 1); i++) await new Promise((r) => setTimeout(r, 10));

    const fetched = follower.request(1, 15, {
      replicaState: { replicaId: 2, replicaEpoch: -1n },
      maxWaitMs: 30_000,
      minBytes: 1,
      maxBytes: 10 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topicId: topic.id, partitions: [0, 1].map((p) => ({ partition: p, currentLeaderEpoch: 1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: 0n, partitionMaxBytes: 1 << 20 })) }],
      forgottenTopicsData: [],
      rackId: "",
    });
    // parked on both partitions
    for (let i = 0; i < 2000 && [0, 1].some((p) => leader.partition("wake", p)!.waitingFetches === 0); i++) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual([0, 1].map((p) => leader.partition("wake", p)!.waitingFetches), [1, 1], "the follower's fetch waits on both partitions");

    const produced = await producer.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 10_000, topicData: [{ name: "wake", partitionData: [0, 1].map((index) => ({ index, records: makeRecordsBatch(3, Date.now()) })) }] });
    assert.deepEqual(produced.responses[0].partitionResponses.map((r: { errorCode: number }) => r.errorCode), [ErrorCode.NONE, ErrorCode.NONE]);

    const answer = await fetched;
    assert.equal(answer.errorCode, ErrorCode.NONE);
    const bytes = (records: Uint8Array | Uint8Array[] | null) => (records === null ? 0 : Array.isArray(records) ? records.reduce((n, r) => n + r.length, 0) : records.length);
    const byPartition = new Map<number, number>(answer.responses[0].partitions.map((p: { partitionIndex: number; records: Uint8Array | Uint8Array[] | null }) => [p.partitionIndex, bytes(p.records)]));
    assert.ok((byPartition.get(0) ?? 0) > 0 && (byPartition.get(1) ?? 0) > 0, `one answer with both partitions' records, got bytes by partition ${JSON.stringify([...byPartition])}`);
  } finally {
    follower.close();
    producer.close();
    await leader.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
