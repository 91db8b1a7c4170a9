/**
 * Batches Runnel's producer writes with each codec (none, gzip, snappy, lz4, zstd) are read correctly by three
 * independent clients through a real Runnel broker: kcat (librdkafka), kafkajs, and confluent-kafka-python
 * (librdkafka from Python). Keys, values, headers, partitions and offsets must all match what was sent.
 * kcat and Python tests skip with a message when the tool is missing (Debian: apt-get install kcat
 * python3-confluent-kafka). kafkajs decodes gzip itself; for snappy, lz4 and zstd it is given decompressors
 * (kafkajs ships none), so those cases check kafkajs's batch and record parsing of our compressed batches.
 */
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Kafka, logLevel, CompressionCodecs, CompressionTypes } from "kafkajs";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { Producer } from "../../src/client/producer.ts";
import { codecByName, initCompression, MAX_DECOMPRESSED_BYTES } from "../../src/compression/index.ts";
import { runProcess, unavailable } from "./subprocess.ts";

const CODECS = ["none", "gzip", "snappy", "lz4", "zstd"] as const;
const RECORDS = 300;
const PARTITIONS = 3;
const PYTHON = "/usr/bin/python3";

const kcatSkip = unavailable("kcat", ["-V"]);
const pythonSkip = unavailable(PYTHON, ["-c", "import confluent_kafka"]);
if (kcatSkip !== null) console.log(`kcat interop tests skipped: ${kcatSkip}`);
if (pythonSkip !== null) console.log(`confluent-kafka-python interop tests skipped: ${pythonSkip}`);

interface Expected {
  partition: number;
  offset: number;
  key: string | null;
  value: string;
  headers: [string, string][];
}

let broker: TestBroker;
/** What each topic should hold, in (partition, offset) order. */
const expected = new Map<string, Expected[]>();

const topicOf = (codec: string) => `interop-${codec}`;

function sortRecords<T extends { partition: number; offset: number }>(list: T[]): T[] {
  return list.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

before(async () => {
  await initCompression();
  broker = await startTestBroker({ "num.partitions": String(PARTITIONS) });
  for (const codec of CODECS) {
    const producer = new Producer({ bootstrap: broker.bootstrap, compressionType: codec, lingerMs: 20, batchSize: 4096 });
    await producer.connect();
    const sends = [];
    for (let i = 0; i < RECORDS; i++) {
      const key = i % 10 === 0 ? null : `key-${i % 37}`;
      const value = `value ${i} ${"x".repeat(i % 50)} üñí`;
      const headers: [string, string][] = i % 3 === 0 ? [["trace", `t-${i}`], ["codec", codec]] : [];
      sends.push(
        producer.send({ topic: topicOf(codec), key, value, headers: headers.map(([k, v]) => ({ key: k, value: new TextEncoder().encode(v) })) }).then((m) => ({
          partition: m.partition,
          offset: Number(m.offset),
          key,
          value,
          headers,
        })),
      );
    }
    expected.set(topicOf(codec), sortRecords(await Promise.all(sends)));
    await producer.close();
  }
});

after(async () => {
  await broker?.stop();
});

test("our producer spread keyed records over every partition and got consecutive offsets", () => {
  for (const codec of CODECS) {
    const list = expected.get(topicOf(codec))!;
    assert.equal(list.length, RECORDS);
    const parts = new Set(list.map((r) => r.partition));
    assert.equal(parts.size, PARTITIONS, `${codec}: partitions used ${[...parts]}`);
    for (const p of parts) {
      const offs = list.filter((r) => r.partition === p).map((r) => r.offset);
      assert.deepEqual(offs, offs.map((_, i) => i), `${codec}: offsets of partition ${p}`);
    }
  }
});

for (const codec of CODECS) {
  test(`kcat reads what our producer wrote with ${codec}`, { skip: kcatSkip ?? false }, async () => {
    const r = await runProcess("kcat", ["-C", "-b", broker.bootstrap, "-t", topicOf(codec), "-e", "-q", "-J"], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    const got = sortRecords(
      r.stdout.trim().split("\n").filter((l) => l !== "").map((line) => {
        const j = JSON.parse(line);
        const hs: [string, string][] = [];
        for (let i = 0; i < (j.headers ?? []).length; i += 2) hs.push([j.headers[i], j.headers[i + 1]]);
        return { partition: j.partition, offset: j.offset, key: j.key, value: j.payload, headers: hs };
      }),
    );
    assert.deepEqual(got, expected.get(topicOf(codec)));
  });
}

for (const codec of CODECS) {
  test(`kafkajs reads what our producer wrote with ${codec}`, async () => {
    const ours = (name: string) => {
      const c = codecByName(name)!;
      return () => ({
        compress: () => Promise.reject(new Error("not used")),
        decompress: (buf: Buffer) => Promise.resolve(Buffer.from(c.decompress(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), MAX_DECOMPRESSED_BYTES))),
      });
    };
    // deno-lint-ignore no-explicit-any
    const codecs = CompressionCodecs as any;
    codecs[CompressionTypes.Snappy] = ours("snappy");
    codecs[CompressionTypes.LZ4] = ours("lz4");
    codecs[CompressionTypes.ZSTD] = ours("zstd");
    const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, clientId: "interop" });
    const consumer = kafka.consumer({ groupId: `kafkajs-${codec}`, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic: topicOf(codec), fromBeginning: true });
    const got: Expected[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`kafkajs read ${got.length} of ${RECORDS} records`)), 60_000);
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            const headers: [string, string][] = Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]);
            got.push({ partition, offset: Number(message.offset), key: message.key === null ? null : message.key.toString(), value: message.value!.toString(), headers });
            if (got.length === RECORDS) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    try {
      await done;
    } finally {
      await consumer.disconnect();
    }
    assert.deepEqual(sortRecords(got), expected.get(topicOf(codec)));
  });
}

/** Reads a whole topic with confluent-kafka-python and prints the records as JSON. */
const PY_READ = String.raw`
import json, sys, time
from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
bootstrap, topic, parts, want = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "py-interop", "enable.auto.commit": False})
c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(parts)])
out = []
deadline = time.time() + 60
while len(out) < want and time.time() < deadline:
    m = c.poll(0.5)
    if m is None:
        continue
    if m.error():
        if m.error().code() == -191:  # partition EOF
            continue
        print(m.error(), file=sys.stderr)
        sys.exit(2)
    hs = [[k, v.decode("utf-8")] for k, v in (m.headers() or [])]
    key = None if m.key() is None else m.key().decode("utf-8")
    out.append({"partition": m.partition(), "offset": m.offset(), "key": key, "value": m.value().decode("utf-8"), "headers": hs})
c.close()
print(json.dumps(out))
`;

for (const codec of CODECS) {
  test(`confluent-kafka-python reads what our producer wrote with ${codec}`, { skip: pythonSkip ?? false }, async () => {
    const r = await runProcess(PYTHON, ["-c", PY_READ, broker.bootstrap, topicOf(codec), String(PARTITIONS), String(RECORDS)], { timeoutMs: 90_000 });
    assert.equal(r.code, 0, r.stderr);
    const got = sortRecords(JSON.parse(r.stdout) as Expected[]);
    assert.deepEqual(got, expected.get(topicOf(codec)));
  });
}
