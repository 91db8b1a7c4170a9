/**
 * Producers idle for producer.id.expiration.ms or longer (by their last batch's timestamp) are left out when a
 * restart loads the producer snapshot, as Kafka's snapshot load drops them: DescribeProducers no longer lists them
 * and a batch of theirs sent again is a new append, not a duplicate. A producer written recently is kept, and so is
 * one with a transaction still open, however old.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { idempotentBatch, initIdempotent, produce, RawTxnProducer } from "./raw-txn-client.ts";

const DAY = 86_400_000;
async function producers(c: RawClient, partition: number): Promise<bigint[]> {
  const r = await c.request(61, 0, { topics: [{ name: "exp", partitionIndexes: [partition] }] });
  return r.topics[0].partitions[0].activeProducers.map((a: any) => a.producerId).sort();
}

test("a restart drops producers idle past producer.id.expiration.ms from the loaded snapshot, keeps the others", { timeout: 120_000 }, async () => {
  const settings = { "transaction.state.log.num.partitions": "2" };
  let b = await startTestBroker(settings);
  const dir = b.dir;
  let c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("exp", 2, 1, {}, false);
    const [old, recent] = [await initIdempotent(c), await initIdempotent(c)];
    const oldBatch = idempotentBatch(old, 0, 2, Date.now() - 2 * DAY);
    assert.equal((await produce(c, "exp", 0, oldBatch)).baseOffset, 0n);
    assert.equal((await produce(c, "exp", 0, idempotentBatch(recent, 0, 1, Date.now()))).baseOffset, 2n);
    // a transaction still open, its batch as old: kept
    const txn = new RawTxnProducer(c, "exp-tx");
    assert.equal(await txn.init(), ErrorCode.NONE);
    assert.deepEqual(await txn.add("exp", [1]), [ErrorCode.NONE]);
    const b0 = new BatchBuilder(64 * 1024);
    b0.reset({ producerId: txn.pid, producerEpoch: txn.epoch, baseSequence: 0, isTransactional: true });
    b0.append(Date.now() - 2 * DAY, null, new TextEncoder().encode("t"));
    assert.equal((await produce(c, "exp", 1, b0.finish(), "exp-tx")).errorCode, ErrorCode.NONE);
    assert.deepEqual(await producers(c, 0), [old, recent].sort(), "both before the restart (expiry runs at load here)");
    assert.equal((await produce(c, "exp", 0, oldBatch)).baseOffset, 0n, "a duplicate before the restart");
    c.close();
    await b.stop({ keepDir: true });
    b = await startTestBroker(settings, dir);
    c = await RawClient.connect(b.port);
    assert.deepEqual(await producers(c, 0), [recent], "the idle producer is gone after the restart");
    assert.deepEqual(await producers(c, 1), [txn.pid], "the producer with an open transaction is kept");
    assert.equal((await produce(c, "exp", 0, oldBatch)).baseOffset, 3n, "its batch sent again is appended, not a duplicate");
    assert.equal((await produce(c, "exp", 0, idempotentBatch(recent, 0, 1, Date.now()))).baseOffset, 2n, "the recent producer's retry is still a duplicate");
  } finally {
    c.close();
    await b.stop();
  }
});
