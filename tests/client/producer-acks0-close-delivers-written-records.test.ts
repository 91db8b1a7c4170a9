/**
 * A producer with acks=0 that is flushed and closed has delivered every record it wrote: close ends its broker
 * connections gracefully once nothing waits for an answer, so requests still queued behind a full socket are sent
 * (an abrupt close dropped them: 40 of 100 2 KB records reached a real broker). A consumer reads all of them back.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { Producer } from "../../src/client/producer.ts";
import { Consumer } from "../../src/client/consumer.ts";
import { Admin } from "../../src/client/admin.ts";

const RECORDS = 100;
const VALUE_BYTES = 2000;

test("acks=0: every record written before flush and close reaches the broker", { timeout: 60_000 }, async () => {
  const broker = await startTestBroker();
  const admin = new Admin({ bootstrap: broker.bootstrap });
  try {
    await admin.connect();
    await admin.createTopics([{ name: "acks0", numPartitions: 1 }]);
    const producer = new Producer({ bootstrap: broker.bootstrap, acks: 0, lingerMs: 5 });
    await producer.connect();
    await producer.cluster.waitForTopic("acks0", 20_000);
    for (let i = 0; i < RECORDS; i++) {
      const value = new Uint8Array(VALUE_BYTES).fill(i);
      new DataView(value.buffer).setUint32(0, i);
      assert.ok(producer.sendAndForget({ topic: "acks0", partition: 0, value }));
    }
    await producer.flush();
    await producer.close();
    assert.equal(producer.failedRecords, 0);

    const consumer = new Consumer({ bootstrap: broker.bootstrap, autoOffsetReset: "earliest", fetchMaxWaitMs: 100 });
    await consumer.connect();
    consumer.assign([{ topic: "acks0", partition: 0 }]);
    const got: number[] = [];
    const deadline = Date.now() + 30_000;
    while (got.length < RECORDS && Date.now() < deadline) {
      for (const r of await consumer.poll(200)) got.push(new DataView(r.value!.buffer, r.value!.byteOffset).getUint32(0));
    }
    await consumer.close();
    assert.deepEqual(got, Array.from({ length: RECORDS }, (_, i) => i), "every record, in order");
  } finally {
    await admin.close();
    await broker.stop();
  }
});
