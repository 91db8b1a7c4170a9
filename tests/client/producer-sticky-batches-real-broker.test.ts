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
import type { Partitioner } from "../../src/client/partitioner.ts";

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

/** Sends records 0..n-1 without key to `topic`, each a 30-byte value starting with its number; their acknowledgements. */
function sendNumbered(p: Producer, topic: string, n: number): Promise<RecordMetadata>[] {
  const acks: Promise<RecordMetadata>[] = [];
  for (let i = 0; i < n; i++) {
    const value = new Uint8Array(30);
    new DataView(value.buffer).setUint32(0, i);
    acks.push(p.send({ topic, value }));
  }
  return acks;
}

/** The number {@link sendNumbered} wrote in `r`'s value. */
function numberOf(r: ConsumerRecord): number {
  return new DataView(r.value!.buffer, r.value!.byteOffset).getUint32(0);
}

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
  const acks = sendNumbered(p, topic, n);
  await p.close();
  // 99 records in 33 full batches; the last record's batch is the only part-filled one (sent at close).
  assert.deepEqual(sent.map((b) => b.recordCount).sort((a, b) => a - b), [1, ...new Array(33).fill(3)], "batches sent, by record count");

  const got = await readAll(topic, partitions, n);
  const seen = got.map(numberOf).sort((a, b) => a - b);
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
    const i = numberOf(r);
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

test("a keyless record that waits for buffer memory after its partitioner moved on is not placed past a new batch again", { timeout: 60_000 }, async () => {
  // A partitioner in the style of Java's pre-KIP-794 sticky partitioner: it moves to the next partition whenever it
  // hears onNewBatch for its current one. buffer.memory holds 3 batches of 3 records, so the record that opens the
  // 4th batch is refused at the full batch, the partitioner moves on, and the record waits for memory. Java tells the
  // partitioner once per record and then waits on the partition it chose; telling it again after the wait would move
  // the partitioner past a partition that never got a batch.
  const topic = "sticky-memory-wait";
  const partitions = 4;
  const n = 60;
  await admin.createTopics([{ name: topic, numPartitions: partitions }]);
  const events: string[] = [];
  let current = 0;
  const partitioner: Partitioner = {
    partition: () => current,
    onAppend: (_t, partition) => void events.push(`append ${partition}`),
    onNewBatch: (_t, partition) => {
      events.push(`new batch ${partition}`);
      if (partition !== current) return false;
      current = (current + 1) % partitions;
      return true;
    },
  };
  const p = new Producer({ bootstrap: broker.bootstrap, lingerMs: 0, batchSize: 200, bufferMemory: 600, partitioner });
  await p.connect();
  await p.cluster.waitForTopic(topic, 20_000);
  const acks = sendNumbered(p, topic, n);
  assert.ok(p.blockedRecords > 0, "records waited for buffer memory");
  const metas = await Promise.all(acks);
  await p.close();
  // Every onNewBatch is followed by the append of the record it was called for, on the partition moved to.
  for (let i = 0; i < events.length; i++) {
    const m = /^new batch (\d+)$/.exec(events[i]);
    if (m === null) continue;
    assert.equal(events[i + 1], `append ${(Number(m[1]) + 1) % partitions}`, `event ${i} of ${JSON.stringify(events)}`);
  }
  // So each partition in turn (from 1: the first record finds no batch on 0) gets one full batch, none skipped.
  const order = metas.map((m) => m.partition).filter((q, i, all) => i === 0 || all[i - 1] !== q);
  assert.deepEqual(order, Array.from({ length: n / 3 }, (_, i) => (i + 1) % partitions), "partitions in the order the records went to them");
  const got = await readAll(topic, partitions, n);
  assert.deepEqual(got.map(numberOf).sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i), "every record read back once");
});
