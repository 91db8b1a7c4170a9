/**
 * Keyless records against a real Runnel broker, read back with a consumer: the producer's sticky partition is left
 * only when the next record would open a new batch there (KIP-794), and the record at each batch boundary is
 * written exactly once (the accumulator refuses it where it would open a batch, the partitioner moves on, and it is
 * appended on the next partition).
 */
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { Producer, type RecordMetadata } from "../../src/client/producer.ts";
import { Consumer, type ConsumerRecord } from "../../src/client/consumer.ts";
import { Admin } from "../../src/client/admin.ts";
import type { ProducerBatch } from "../../src/client/record-accumulator.ts";

let broker: TestBroker;
let admin: Admin;

before(async () => {
  broker = await startTestBroker();
  admin = new Admin({ bootstrap: broker.bootstrap });
  await admin.connect();
});

after(async () => {
  await admin?.close();
  await broker?.stop();
});

async function readAll(topic: string, partitions: number, n: number): Promise<ConsumerRecord[]> {
  const c = new Consumer({ bootstrap: broker.bootstrap, autoOffsetReset: "earliest", fetchMaxWaitMs: 100 });
  await c.connect();
  c.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition })));
  const out: ConsumerRecord[] = [];
  const deadline = Date.now() + 20_000;
  while (out.length < n && Date.now() < deadline) out.push(...(await c.poll(200)));
  // A duplicate would come after the n-th record: read once more.
  out.push(...(await c.poll(300)));
  await c.close();
  return out;
}

test("keyless records fill a partition's batches before moving on, and each record at a batch boundary is written once", { timeout: 60_000 }, async () => {
  // batch.size 200 holds 3 records of a 30-byte value (61-byte header + 3 x 37 bytes; a 4th would make 209). The
  // partitioner counts 30 bytes per record, reaches batch.size (200) at the 7th record, and may leave only when the
  // next record would open a new batch: after the 9th. So records go in runs of 9 (3 full batches) per partition.
  const topic = "sticky-batches";
  const partitions = 4;
  const n = 100;
  await admin.createTopics([{ name: topic, numPartitions: partitions }]);
  const sent: ProducerBatch[] = [];
  const p = new Producer({
    bootstrap: broker.bootstrap,
    lingerMs: 60_000,
    batchSize: 200,
    instrument: { requestSent: (batches) => sent.push(...batches), timerFired: () => {}, windowFull: () => {} },
  });
  await p.connect();
  await p.cluster.waitForTopic(topic, 20_000);
  const acks: Promise<RecordMetadata>[] = [];
  for (let i = 0; i < n; i++) {
    const value = new Uint8Array(30);
    new DataView(value.buffer).setUint32(0, i);
    acks.push(p.send({ topic, value }));
  }
  await p.close();
  // 99 records in 33 full batches; the last record's batch is the only part-filled one (sent at close).
  assert.deepEqual(sent.map((b) => b.recordCount).sort((a, b) => a - b), [1, ...new Array(33).fill(3)], "batches sent, by record count");

  const got = await readAll(topic, partitions, n);
  const seen = got.map((r) => new DataView(r.value!.buffer, r.value!.byteOffset).getUint32(0)).sort((a, b) => a - b);
  assert.deepEqual(seen, Array.from({ length: n }, (_, i) => i), "every record read back exactly once");

  const metas = await Promise.all(acks);
  const runs: { partition: number; from: number; to: number }[] = [];
  for (let i = 0; i < n; i++) {
    const last = runs.at(-1);
    if (last !== undefined && last.partition === metas[i].partition) last.to = i;
    else runs.push({ partition: metas[i].partition, from: i, to: i });
  }
  assert.deepEqual(runs.map((r) => r.to - r.from + 1), [...new Array(11).fill(9), 1], `runs of records per partition: ${JSON.stringify(runs)}`);
  for (const r of got) {
    const i = new DataView(r.value!.buffer, r.value!.byteOffset).getUint32(0);
    assert.equal(r.partition, metas[i].partition, `record ${i} is on the partition its acknowledgement named`);
    assert.equal(r.offset, metas[i].offset, `record ${i} is at the offset its acknowledgement named`);
  }
});

test("batches built in reused buffers reach the broker intact (values read back as sent)", { timeout: 60_000 }, async () => {
  const topic = "reused-buffers";
  await admin.createTopics([{ name: topic, numPartitions: 2 }]);
  const p = new Producer({ bootstrap: broker.bootstrap, lingerMs: 0, batchSize: 1024 });
  await p.connect();
  const sentValues: string[] = [];
  for (let round = 0; round < 4; round++) {
    // Each round is acknowledged before the next starts, so its batches are built in the buffers of the last round's.
    const acks: Promise<RecordMetadata>[] = [];
    for (let i = 0; i < 150; i++) {
      const value = `r${round}-${i}-${"x".repeat((i * 7 + round) % 90)}`;
      sentValues.push(value);
      acks.push(p.send({ topic, value }));
    }
    await Promise.all(acks);
  }
  await p.close();
  const got = await readAll(topic, 2, sentValues.length);
  assert.deepEqual(got.map((r) => new TextDecoder().decode(r.value!)).sort(), [...sentValues].sort());
});
