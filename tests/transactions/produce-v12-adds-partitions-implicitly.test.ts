/**
 * Produce v12+ adds a transactional batch's partition to the producer's transaction (KIP-890 part 2, as Kafka 4);
 * older versions refuse a batch outside the transaction: v11 with TRANSACTION_ABORTABLE, v10 with INVALID_TXN_STATE.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";

await initCrc32c();

function txnBatch(producerId: bigint, producerEpoch: number, baseSequence: number): Uint8Array {
  const bb = new BatchBuilder(4096);
  bb.reset({ producerId, producerEpoch, baseSequence, isTransactional: true });
  bb.append(Date.now(), null, new TextEncoder().encode("in a transaction"));
  return bb.finish();
}

test("a transactional Produce v12 joins the transaction by itself; v11 and v10 are refused outside one", async () => {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  try {
    await c.request(19, 7, { topics: [{ name: "implicit", numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
    const found = await c.requestWhileCoordinatorLoads(10, 4, { keyType: 1, coordinatorKeys: ["tx-implicit"] }, (r) => r.coordinators[0].errorCode);
    assert.equal(found.coordinators[0].errorCode, 0);
    const init = await c.requestWhileCoordinatorLoads(22, 4, { transactionalId: "tx-implicit", transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 }, (r) => r.errorCode);
    assert.equal(init.errorCode, 0);
    const send = async (version: number, partition: number, seq: number) => {
      const r = await c.request(0, version, { transactionalId: "tx-implicit", acks: -1, timeoutMs: 5000, topicData: [{ name: "implicit", partitionData: [{ index: partition, records: txnBatch(init.producerId, init.producerEpoch, seq) }] }] });
      return r.responses[0].partitionResponses[0].errorCode;
    };
    assert.equal(await send(10, 0, 0), ErrorCode.INVALID_TXN_STATE);
    assert.equal(await send(11, 1, 0), ErrorCode.TRANSACTION_ABORTABLE);
    assert.equal(await send(12, 2, 0), ErrorCode.NONE);
    const d = await c.request(65, 0, { transactionalIds: ["tx-implicit"] });
    assert.equal(d.transactionStates[0].transactionState, "Ongoing");
    assert.deepEqual(d.transactionStates[0].topics.map((t: { topic: string; partitions: number[] }) => [t.topic, t.partitions]), [["implicit", [2]]]);
    assert.equal((await c.request(26, 4, { transactionalId: "tx-implicit", producerId: init.producerId, producerEpoch: init.producerEpoch, committed: true })).errorCode, 0);
  } finally {
    c.close();
    await b.stop();
  }
});
