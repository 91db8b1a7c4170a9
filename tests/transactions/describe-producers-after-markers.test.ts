/**
 * A transaction marker leaves producer state as Kafka's does (ProducerStateEntry.update): a producer whose
 * transaction added a partition it wrote nothing to is known there after the marker (epoch, last sequence -1, the
 * marker's coordinator epoch and timestamp), and DescribeProducers lists it with the coordinator epoch of its last
 * marker. Found by tests/oracle/transactions-random-match-kafka.test.ts (Kafka 4.4 listed such producers, Runnel did
 * not, and always answered coordinator epoch -1).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { ProducerStateTable } from "../../src/partition/producer-state.ts";
import { decodeProducerSnapshot, encodeProducerSnapshot } from "../../src/partition/producer-snapshot.ts";
import { RawTxnProducer } from "./raw-txn-client.ts";

await initCrc32c();

test("a marker makes the producer known where it wrote nothing; snapshots keep it; its next batch starts at sequence 0", () => {
  const t = new ProducerStateTable();
  assert.equal(t.completeTxn(7n, 2, 5, 1_000), null, "no transaction of 7 was open here");
  const entries = t.entries();
  assert.deepEqual(entries, [{ producerId: 7n, epoch: 2, lastSequence: -1, lastOffset: -1n, offsetDelta: 0, timestamp: 1_000, currentTxnFirstOffset: -1n, coordinatorEpoch: 5 }]);
  const back = new ProducerStateTable();
  back.restore(decodeProducerSnapshot(encodeProducerSnapshot(entries)));
  assert.deepEqual(back.entries(), entries);
  for (const table of [t, back]) {
    assert.equal(table.markerProblem(7n, 4), ErrorCode.TRANSACTION_COORDINATOR_FENCED, "an older coordinator's marker is fenced");
    assert.equal(table.check(7n, 1, 0, 1).kind, "error", "an older epoch is fenced");
    assert.equal(table.check(7n, 2, 3, 1).kind, "error", "the epoch's first batch starts at sequence 0");
    assert.equal(table.check(7n, 2, 0, 1).kind, "append");
  }
  // A batch after the marker: the batch's timestamp is the last; a later marker's timestamp replaces it.
  t.record(7n, 2, 0, 2, 10n, 1, 2_000);
  assert.deepEqual([t.entries()[0].lastSequence, t.entries()[0].timestamp, t.entries()[0].lastOffset], [1, 2_000, 11n]);
  t.completeTxn(7n, 2, 5, 3_000);
  assert.deepEqual([t.entries()[0].lastSequence, t.entries()[0].timestamp, t.entries()[0].coordinatorEpoch], [1, 3_000, 5]);
});

test("DescribeProducers lists a transactional producer on a partition it only added, with its marker's coordinator epoch", async () => {
  const b = await startTestBroker({ "transaction.state.log.num.partitions": "3" });
  const c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("dp", 2, 1, {}, false);
    const p = new RawTxnProducer(c, "dp-txn");
    assert.equal(await p.init(), 0);
    assert.deepEqual(await p.add("dp", [0, 1]), [0, 0]);
    assert.equal((await p.send("dp", 0, ["a", "b"])).errorCode, 0);
    assert.equal(await p.end(true), 0);
    const describe = async () => (await c.request(61, 0, { topics: [{ name: "dp", partitionIndexes: [0, 1] }] })).topics[0].partitions;
    // The commit markers are written after EndTxn answers: wait until partition 1 has one (bounded).
    const deadline = Date.now() + 4_000;
    let parts = await describe();
    while (parts[1].activeProducers.length === 0 || parts[0].activeProducers[0]?.currentTxnStartOffset !== -1n) {
      assert.ok(Date.now() < deadline, `partition 1 never listed the producer after its commit marker: ${JSON.stringify(parts, (_k, v) => (typeof v === "bigint" ? String(v) : v))}`);
      await new Promise((r) => setTimeout(r, 20));
      parts = await describe();
    }
    const [p0, p1] = parts.map((x: any) => x.activeProducers);
    assert.equal(p1.length, 1);
    assert.equal(p1[0].producerId, p.pid);
    assert.equal(p1[0].producerEpoch, p.epoch);
    assert.equal(p1[0].lastSequence, -1, "it wrote nothing to partition 1");
    assert.ok(p1[0].lastTimestamp > 0n, "the marker's timestamp");
    assert.equal(p1[0].currentTxnStartOffset, -1n);
    assert.ok(p1[0].coordinatorEpoch >= 0, `the marker's coordinator epoch, not ${p1[0].coordinatorEpoch}`);
    assert.equal(p0[0].lastSequence, 1);
    assert.equal(p0[0].coordinatorEpoch, p1[0].coordinatorEpoch, "both markers came from the same coordinator epoch");
  } finally {
    c.close();
    await b.stop();
  }
});
