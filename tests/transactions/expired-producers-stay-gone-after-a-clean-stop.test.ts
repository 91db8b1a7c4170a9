/**
 * A producer the broker dropped as expired (producer.id.expiration.ms) stays gone after a clean stop and start, even
 * when no producer snapshot was left to carry that: none was ever written (no segment roll, no earlier stop), or
 * DeleteRecords moved the log start past every one. As Kafka's UnifiedLog.close, the stop writes a snapshot at the log
 * end, empty here, whenever the log holds a producer's batches the last snapshot does not cover; otherwise the start
 * would replay them from the log start and DescribeProducers would list the producer again, its retried batch
 * answered as a duplicate, until the next expiry check.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { until } from "../support/cluster-processes.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { batchOf, idempotentBatch, initIdempotent, produce } from "./raw-txn-client.ts";

const DAY = 86_400_000;
/** Fast expiry checks before the stop; after the start the default (10 minutes), so only the load decides. */
const CHECK_OFTEN = { "producer.id.expiration.check.interval.ms": "100" };

async function producers(c: RawClient): Promise<bigint[]> {
  const r = await c.request(61, 0, { topics: [{ name: "gone", partitionIndexes: [0] }] });
  assert.equal(r.topics[0].partitions[0].errorCode, ErrorCode.NONE);
  return r.topics[0].partitions[0].activeProducers.map((a: { producerId: bigint }) => a.producerId);
}

function snapshots(b: TestBroker, partition = 0): string[] {
  return fs.readdirSync(`${b.dir}/gone-${partition}`).filter((f) => f.endsWith(".snapshot"));
}

/** Stops `b` cleanly and starts it again on its data dir with `settings`. */
async function restart(b: TestBroker, settings: Record<string, string>): Promise<TestBroker> {
  await b.stop({ keepDir: true });
  return startTestBroker(settings, b.dir);
}

test("a producer expired before any snapshot was written is not rebuilt from the log at the next start", { timeout: 120_000 }, async () => {
  let b = await startTestBroker(CHECK_OFTEN);
  let c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("gone", 2, 1, {}, false);
    assert.equal((await produce(c, "gone", 1, batchOf(["plain"]))).errorCode, ErrorCode.NONE);
    const pid = await initIdempotent(c);
    const old = idempotentBatch(pid, 0, 2, Date.now() - 2 * DAY);
    assert.equal((await produce(c, "gone", 0, old)).baseOffset, 0n);
    await until("the expired producer to be dropped", 60_000, async () => (await producers(c)).length === 0);
    assert.deepEqual(snapshots(b), [], "no roll, no stop yet: no snapshot");
    c.close();
    b = await restart(b, {});
    c = await RawClient.connect(b.port);
    assert.deepEqual(await producers(c), [], "the expired producer is not listed after the start");
    assert.deepEqual(snapshots(b, 1), [], "a partition no producer wrote still gets no snapshot at the stop");
    assert.equal((await produce(c, "gone", 0, old)).baseOffset, 2n, "its batch sent again is a new append, not a duplicate");
  } finally {
    c.close();
    await b.stop();
  }
});

test("a producer expired after DeleteRecords moved the log start past every snapshot is not rebuilt at the next start", { timeout: 120_000 }, async () => {
  const expiry = { "producer.id.expiration.ms": "1500" };
  let b = await startTestBroker(expiry);
  let c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("gone", 1, 1, {}, false);
    const pid = await initIdempotent(c);
    assert.equal((await produce(c, "gone", 0, idempotentBatch(pid, 0, 2, Date.now()))).baseOffset, 0n);
    c.close();
    b = await restart(b, { ...expiry, ...CHECK_OFTEN });
    c = await RawClient.connect(b.port);
    assert.deepEqual(snapshots(b), ["00000000000000000002.snapshot"], "the first stop wrote a snapshot at the log end");
    assert.equal((await produce(c, "gone", 0, idempotentBatch(pid, 2, 1, Date.now()))).baseOffset, 2n);
    const later = idempotentBatch(pid, 3, 1, Date.now());
    assert.equal((await produce(c, "gone", 0, later)).baseOffset, 3n);
    const del = await c.request(21, 2, { topics: [{ name: "gone", partitions: [{ partitionIndex: 0, offset: 3n }] }], timeoutMs: 10000 });
    assert.equal(del.topics[0].partitions[0].errorCode, ErrorCode.NONE);
    assert.deepEqual(snapshots(b), [], "the snapshot below the new log start is deleted");
    await until("the expired producer to be dropped", 60_000, async () => (await producers(c)).length === 0);
    c.close();
    b = await restart(b, expiry);
    c = await RawClient.connect(b.port);
    assert.deepEqual(await producers(c), [], "the expired producer is not listed after the start");
    assert.equal((await produce(c, "gone", 0, later)).baseOffset, 4n, "its batch sent again is a new append, not a duplicate");
  } finally {
    c.close();
    await b.stop();
  }
});

test("a clean start that finds no producer snapshot replays nothing (a log left by a Runnel that skipped empty snapshots)", { timeout: 120_000 }, async () => {
  let b = await startTestBroker(CHECK_OFTEN);
  let c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("gone", 1, 1, {}, false);
    const pid = await initIdempotent(c);
    const old = idempotentBatch(pid, 0, 2, Date.now() - 2 * DAY);
    assert.equal((await produce(c, "gone", 0, old)).baseOffset, 0n);
    await until("the expired producer to be dropped", 60_000, async () => (await producers(c)).length === 0);
    c.close();
    await b.stop({ keepDir: true });
    // Runnel before 706cfe07 wrote no snapshot at a clean stop when its producer state was empty: the dir it left
    // has the clean-shutdown marker and no snapshot. Kafka's start (rebuildProducerState with reloadFromCleanShutdown)
    // replays nothing there; a replay from the log start would bring the expired producer back.
    for (const f of snapshots(b)) fs.rmSync(`${b.dir}/gone-0/${f}`);
    b = await startTestBroker({}, b.dir);
    c = await RawClient.connect(b.port);
    assert.deepEqual(await producers(c), [], "the expired producer is not replayed back");
    assert.deepEqual(snapshots(b), [], "and the start writes no snapshot (no fsync at every start for logs no producer wrote)");
    assert.equal((await produce(c, "gone", 0, old)).baseOffset, 2n, "its batch sent again is a new append, not a duplicate");
  } finally {
    c.close();
    await b.stop();
  }
});
