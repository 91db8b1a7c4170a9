/**
 * A running broker drops the producers idle for producer.id.expiration.ms (by their last batch's timestamp) every
 * producer.id.expiration.check.interval.ms, as Kafka's broker does: DescribeProducers stops listing them and a batch of
 * theirs sent again is a new append, not a duplicate. A producer written recently is kept, and so is one whose
 * transaction is still open, however old its batch.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { until } from "../support/cluster-processes.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { produce, RawTxnProducer } from "./raw-txn-client.ts";

const DAY = 86_400_000;

/** A batch of `n` records at `ts`, from an idempotent producer or (with `txn`) a transactional one. */
function batch(pid: bigint, epoch: number, seq: number, n: number, ts: number, txn = false): Uint8Array {
  const bb = new BatchBuilder(64 * 1024);
  bb.reset({ producerId: pid, producerEpoch: epoch, baseSequence: seq, isTransactional: txn });
  for (let i = 0; i < n; i++) bb.append(ts, null, new TextEncoder().encode(`v${seq + i}`));
  return bb.finish();
}

async function producers(c: RawClient, partition: number): Promise<bigint[]> {
  const r = await c.request(61, 0, { topics: [{ name: "idle", partitionIndexes: [partition] }] });
  return r.topics[0].partitions[0].activeProducers.map((a: { producerId: bigint }) => a.producerId).sort();
}

test("every producer.id.expiration.check.interval.ms the broker drops producers idle past producer.id.expiration.ms, keeps the others", { timeout: 120_000 }, async () => {
  const b = await startTestBroker({ "transaction.state.log.num.partitions": "2", "producer.id.expiration.check.interval.ms": "200" });
  const c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("idle", 2, 1, {}, false);
    const init = async () => (await c.request(22, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 })).producerId as bigint;
    const [old, recent] = [await init(), await init()];
    const oldBatch = batch(old, 0, 0, 2, Date.now() - 2 * DAY);
    assert.equal((await produce(c, "idle", 0, oldBatch)).baseOffset, 0n);
    // a transaction still open, its batch as old as the idle producer's
    const txn = new RawTxnProducer(c, "idle-tx");
    assert.equal(await txn.init(), ErrorCode.NONE);
    assert.deepEqual(await txn.add("idle", [1]), [ErrorCode.NONE]);
    assert.equal((await produce(c, "idle", 1, batch(txn.pid, txn.epoch, 0, 1, Date.now() - 2 * DAY, true), "idle-tx")).errorCode, ErrorCode.NONE);
    // the recent producer writes on until the idle one is gone: it stays, each write fresh
    let seq = 0;
    await until("the idle producer to be dropped", 60_000, async () => {
      assert.equal((await produce(c, "idle", 0, batch(recent, 0, seq++, 1, Date.now()))).errorCode, ErrorCode.NONE);
      return !(await producers(c, 0)).includes(old);
    });
    assert.deepEqual(await producers(c, 0), [recent], "the recent producer is kept");
    assert.deepEqual(await producers(c, 1), [txn.pid], "the producer with an open transaction is kept");
    const again = await produce(c, "idle", 0, oldBatch);
    assert.equal(again.errorCode, ErrorCode.NONE);
    assert.equal(again.baseOffset, BigInt(2 + seq), "the dropped producer's batch sent again is a new append, not a duplicate");
  } finally {
    c.close();
    await b.stop();
  }
});
