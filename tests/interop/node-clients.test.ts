/**
 * Issue 3 acceptance with the Node clients: kafkajs and @platformatic/kafka each create a 6-partition topic,
 * produce 10,000 keyed records with headers, consume them all back byte-exact (per-partition order and offsets
 * checked), and look up offsets by timestamp.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Kafka, logLevel } from "kafkajs";
import { startTestBroker } from "../support/broker.ts";

const COUNT = 10_000;
const PARTITIONS = 6;
const BASE_TS = 1_700_000_000_000;

function recordOf(i: number): { key: Buffer; value: Buffer; headers: Record<string, Buffer>; ts: number } {
  const value = Buffer.concat(Array.from({ length: 1 + (i % 4) }, () => createHash("sha256").update(`v${i}`).digest()));
  return { key: Buffer.from(`key-${i}`), value, headers: { h1: Buffer.from(`x${i}`), h2: Buffer.alloc(0) }, ts: BASE_TS + i };
}

interface Seen {
  partition: number;
  offset: bigint;
  key: Buffer;
  value: Buffer;
  headers: Record<string, Buffer>;
  ts: number;
}

/** Checks everything consumed against what was produced (offsets from the produce acknowledgements). */
function verify(produced: Map<number, { offset: bigint; i: number }[]>, seen: Seen[]): void {
  assert.equal(seen.length, COUNT, "every record consumed once");
  const byPartition = new Map<number, Seen[]>();
  for (const s of seen) {
    let l = byPartition.get(s.partition);
    if (!l) byPartition.set(s.partition, (l = []));
    l.push(s);
  }
  assert.equal(produced.size, PARTITIONS);
  for (const [p, exp] of produced) {
    exp.sort((a, b) => (a.offset < b.offset ? -1 : 1));
    const got = byPartition.get(p) ?? [];
    assert.equal(got.length, exp.length, `partition ${p} count`);
    got.forEach((g, j) => {
      assert.equal(g.offset, BigInt(j), `partition ${p} offsets are 0..n-1 in order`);
      assert.equal(exp[j].offset, BigInt(j));
      const e = recordOf(exp[j].i);
      assert.ok(g.key.equals(e.key) && g.value.equals(e.value), `partition ${p} offset ${j} content`);
      assert.ok(g.headers.h1.equals(e.headers.h1) && g.headers.h2.equals(e.headers.h2), `partition ${p} offset ${j} headers`);
      assert.equal(g.ts, e.ts, `partition ${p} offset ${j} timestamp`);
    });
  }
}

/** The first offset in partition p whose timestamp is >= ts (timestamps rise with offsets here). */
function expectedOffsetAt(produced: Map<number, { offset: bigint; i: number }[]>, p: number, ts: number): bigint {
  const hit = [...(produced.get(p) ?? [])].sort((a, b) => (a.offset < b.offset ? -1 : 1)).find((r) => BASE_TS + r.i >= ts);
  return hit ? hit.offset : -1n;
}

test("kafkajs: 10,000 keyed records with headers round-trip byte-exact on a 6-partition topic", async () => {
  const b = await startTestBroker();
  const kafka = new Kafka({ brokers: [b.bootstrap], clientId: "kjs", logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId: "kjs-rt", sessionTimeout: 10_000, heartbeatInterval: 500 });
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "kjs", numPartitions: PARTITIONS }] });
    await producer.connect();
    const produced = new Map<number, { offset: bigint; i: number }[]>();
    for (let start = 0; start < COUNT; start += 500) {
      // One send per key so the acknowledgement tells each record's partition and offset.
      const results = await Promise.all(
        Array.from({ length: 500 }, (_, j) => {
          const i = start + j;
          const r = recordOf(i);
          return producer.send({ topic: "kjs", acks: -1, messages: [{ key: r.key, value: r.value, headers: r.headers, timestamp: String(r.ts) }] }).then((md) => ({ i, md: md[0] }));
        }),
      );
      for (const { i, md } of results) {
        let l = produced.get(md.partition);
        if (!l) produced.set(md.partition, (l = []));
        l.push({ offset: BigInt(md.baseOffset!), i });
      }
    }
    const seen: Seen[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: "kjs", fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumed ${seen.length} of ${COUNT} in 60 s`)), 60_000);
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            seen.push({ partition, offset: BigInt(message.offset), key: message.key!, value: message.value!, headers: message.headers as Record<string, Buffer>, ts: Number(message.timestamp) });
            if (seen.length === COUNT) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    seen.sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : 1));
    verify(produced, seen);
    const mid = BASE_TS + COUNT / 2;
    const byTime = await admin.fetchTopicOffsetsByTimestamp("kjs", mid);
    for (const { partition, offset } of byTime) assert.equal(BigInt(offset), expectedOffsetAt(produced, partition, mid), `ListOffsets by timestamp, partition ${partition}`);
  } finally {
    await consumer.disconnect().catch(() => {});
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
    await b.stop();
  }
});

test("@platformatic/kafka: 10,000 keyed records with headers round-trip byte-exact on a 6-partition topic", async () => {
  const { Admin, Producer, Consumer, ProduceAcks } = await import("@platformatic/kafka");
  const b = await startTestBroker();
  const admin = new Admin({ clientId: "pk-admin", bootstrapBrokers: [b.bootstrap] });
  const producer = new Producer({ clientId: "pk-prod", bootstrapBrokers: [b.bootstrap], acks: ProduceAcks.ALL });
  const consumer = new Consumer({ groupId: "pk-rt", clientId: "pk-cons", bootstrapBrokers: [b.bootstrap], sessionTimeout: 10_000, heartbeatInterval: 500 });
  try {
    await admin.createTopics({ topics: ["pk"], partitions: PARTITIONS, replicas: 1 });
    const produced = new Map<number, { offset: bigint; i: number }[]>();
    for (let start = 0; start < COUNT; start += 500) {
      const results = await Promise.all(
        Array.from({ length: 500 }, async (_, j) => {
          const i = start + j;
          const r = recordOf(i);
          const res = await producer.send({ messages: [{ topic: "pk", key: r.key, value: r.value, headers: new Map(Object.entries(r.headers).map(([k, v]) => [Buffer.from(k), v])), timestamp: BigInt(r.ts) }] });
          return { i, off: res.offsets![0] };
        }),
      );
      for (const { i, off } of results) {
        let l = produced.get(off.partition);
        if (!l) produced.set(off.partition, (l = []));
        l.push({ offset: BigInt(off.offset), i });
      }
    }
    const seen: Seen[] = [];
    const stream = await consumer.consume({ topics: ["pk"], mode: "earliest", autocommit: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumed ${seen.length} of ${COUNT} in 60 s`)), 60_000);
      stream.on("data", (m: { partition: number; offset: bigint; key: Buffer; value: Buffer; headers: Map<Buffer, Buffer>; timestamp: bigint }) => {
        const headers: Record<string, Buffer> = {};
        for (const [k, v] of m.headers) headers[k.toString()] = v;
        seen.push({ partition: m.partition, offset: m.offset, key: m.key, value: m.value, headers, ts: Number(m.timestamp) });
        if (seen.length === COUNT) {
          clearTimeout(timer);
          resolve();
        }
      });
      stream.on("error", reject);
    });
    await stream.close();
    seen.sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : 1));
    verify(produced, seen);
    const mid = BASE_TS + COUNT / 2;
    const offsets = await admin.listOffsets({ topics: [{ name: "pk", partitions: Array.from({ length: PARTITIONS }, (_, p) => ({ partitionIndex: p, timestamp: BigInt(mid) })) }] });
    for (const t of offsets) for (const p of t.partitions) assert.equal(BigInt(p.offset), expectedOffsetAt(produced, p.partitionIndex, mid), `ListOffsets by timestamp, partition ${p.partitionIndex}`);
  } finally {
    await Promise.resolve(consumer.close(true) as unknown).catch(() => {});
    await producer.close().catch(() => {});
    await admin.close().catch(() => {});
    await b.stop();
  }
});
