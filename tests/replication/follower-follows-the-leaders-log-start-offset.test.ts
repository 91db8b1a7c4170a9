/**
 * The leader's log start offset reaches its followers, as in Kafka (ReplicaFetcherThread, KIP-107): a follower
 * fetching over a real connection from a running broker
 * - moves its own log start offset up to the leader's from each fetch answer, and DeleteRecords is answered only
 *   once it has (the low watermark, the smallest log start offset over the live replicas): a follower elected leader
 *   after the answer does not serve the deleted records again;
 * - whose log end lies below the leader's log start offset (DeleteRecords or retention passed it while it was away)
 *   is answered OFFSET_OUT_OF_RANGE, asks the leader's log start with ListOffsets, empties its log, starts it there
 *   and catches up, instead of retrying the same fetch for ever.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BrokerConnection } from "../../src/client/connection.ts";
import { systemClock } from "../../src/platform/clock.ts";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { logConfigWith } from "../../src/storage/log-config.ts";
import { PartitionLog } from "../../src/storage/partition-log.ts";
import { Partition } from "../../src/partition/partition.ts";
import { ReplicaFetcher } from "../../src/replication/replica-fetcher.ts";
import { RawClient } from "../support/raw-client.ts";
import { startTestLeader } from "./leader-fixture.ts";
import { makeRecordsBatch, recordingLogger } from "../storage/batch-fixture.ts";

/** A leader broker (node 1) whose topic `rep` has replicas 1 and 2 with the ISR given, and a follower partition for node 2 fetching from it. */
async function leaderAndFollower(isr: number[]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-follow-lso-"));
  const { leader, store } = await startTestLeader(dir);
  const c = await RawClient.connect(leader.port);
  const topic = (await leader.createTopic("rep", 1, 1, {}, false))!;
  const roles = { leader: 1, leaderEpoch: 1, replicas: [1, 2], isr };
  assert.equal(await store.compareAndSetPartition({ ...store.partitionState("rep", 0)!, ...roles, partitionEpoch: 1 }, 0), true);
  const logger = recordingLogger();
  const log = PartitionLog.open(`${dir}/follower/rep-0`, { topic: "rep", partition: 0 }, logConfigWith({}), { fs: nodeFileSystem, clock: systemClock, logger });
  const follower = Partition.open({ name: "rep" }, 0, log, { fs: nodeFileSystem, clock: systemClock, logger, localBrokerId: 2 }, roles);
  const channel = await BrokerConnection.open("127.0.0.1", leader.port, 1, { clientId: "replica-2" });
  const warnings: string[] = [];
  const fetcher = new ReplicaFetcher({ replicaId: 2, brokerEpoch: -1n, channel, clock: systemClock, warn: (m) => warnings.push(m), settings: { maxWaitMs: 200, backoffMs: 50 } });
  const produce = async (acks: number) => {
    const r = await c.request(0, 9, { transactionalId: null, acks, timeoutMs: 10_000, topicData: [{ name: "rep", partitionData: [{ index: 0, records: makeRecordsBatch(10, Date.now()) }] }] });
    assert.equal(r.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
  };
  const deleteRecords = async (offset: bigint) => (await c.request(21, 2, { topics: [{ name: "rep", partitions: [{ partitionIndex: 0, offset }] }], timeoutMs: 10_000 })).topics[0].partitions[0];
  const stop = async () => {
    await fetcher.stop();
    channel.close();
    c.close();
    await leader.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { leader, lp: leader.partition("rep", 0)!, topic, follower, fetcher, warnings, produce, deleteRecords, stop };
}

/** Polls `ok` every 10 ms, at most `tries` times; whether it held. */
async function until(ok: () => boolean, tries = 1000): Promise<boolean> {
  for (let i = 0; i < tries && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  return ok();
}

test("DeleteRecords is answered once the in-sync follower has moved its log start offset to the leader's", { timeout: 60_000 }, async () => {
  const t = await leaderAndFollower([1, 2]);
  try {
    t.fetcher.add(t.topic.id, t.follower);
    t.fetcher.start();
    for (let i = 0; i < 5; i++) await t.produce(-1);
    assert.ok(await until(() => t.follower.highWatermark === 50n), "the follower caught up");
    assert.equal(t.follower.log.logStartOffset, 0n);

    const answer = await t.deleteRecords(30n);
    assert.equal(answer.errorCode, ErrorCode.NONE);
    assert.equal(answer.lowWatermark, 30n, "the low watermark: every replica's log start offset");
    assert.equal(t.follower.log.logStartOffset, 30n, "the follower moved its log start offset before the answer");
    assert.equal(t.lp.log.logStartOffset, 30n);
    assert.deepEqual(t.warnings, []);
  } finally {
    await t.stop();
  }
});

test("a follower whose log end lies below the leader's log start offset starts its log there and catches up", { timeout: 60_000 }, async () => {
  const t = await leaderAndFollower([1]);
  try {
    for (let i = 0; i < 5; i++) await t.produce(-1);
    // the follower is out of the ISR (away): DeleteRecords needs only the leader
    const answer = await t.deleteRecords(30n);
    assert.equal(answer.errorCode, ErrorCode.NONE);
    assert.equal(answer.lowWatermark, 30n);
    await t.produce(-1);

    t.fetcher.add(t.topic.id, t.follower);
    t.fetcher.start();
    const caughtUp = await until(() => t.follower.highWatermark === 60n);
    assert.ok(caughtUp, `the follower caught up from the leader's log start offset (log end ${t.follower.logEndOffset}; ${t.warnings.join("; ")})`);
    assert.equal(t.follower.log.logStartOffset, 30n);
    assert.deepEqual(Buffer.concat(t.follower.log.read(30n, 1 << 22, true).chunks), Buffer.concat(t.lp.log.read(30n, 1 << 22, true).chunks), "the same batches from the log start offset");
    assert.deepEqual(t.follower.leaderEpochs.epochEntries(), t.lp.leaderEpochs.epochEntries());
    assert.ok(t.warnings.some((w) => w.includes("below the leader's log start offset 30")), t.warnings.join("; "));
  } finally {
    await t.stop();
  }
});

test("a follower restarted at a leader's log start offset inside a batch takes that batch whole and catches up", { timeout: 60_000 }, async () => {
  const t = await leaderAndFollower([1]);
  try {
    for (let i = 0; i < 5; i++) await t.produce(-1);
    // DeleteRecords inside the batch 30..39: the leader serves that batch whole from offset 35 (Kafka's follower
    // restarts its empty log at the batch's base offset, Partition.appendRecordsToFollowerOrFutureReplica)
    const answer = await t.deleteRecords(35n);
    assert.deepEqual([answer.errorCode, answer.lowWatermark], [ErrorCode.NONE, 35n]);
    await t.produce(-1);

    t.fetcher.add(t.topic.id, t.follower);
    t.fetcher.start();
    const caughtUp = await until(() => t.follower.highWatermark === 60n);
    assert.ok(caughtUp, `the follower caught up from the batch holding the leader's log start offset (log end ${t.follower.logEndOffset}; ${t.warnings.slice(0, 3).join("; ")})`);
    assert.equal(t.follower.log.logStartOffset, 35n, "then moved its log start offset to the leader's");
    assert.deepEqual(Buffer.concat(t.follower.log.read(35n, 1 << 22, true).chunks), Buffer.concat(t.lp.log.read(35n, 1 << 22, true).chunks), "the same batches from the log start offset");
    assert.deepEqual(t.follower.leaderEpochs.epochEntries(), t.lp.leaderEpochs.epochEntries());
  } finally {
    await t.stop();
  }
});
