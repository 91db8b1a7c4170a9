/**
 * The compression pipeline end to end (issue 5, broker side): batches written by kcat with each codec and by
 * kafkajs (its own gzip, the kafkajs-snappy package, the pure-JS lz4js frame codec, and Bun's native zstd) are
 * stored as sent and read back
 * byte-exact by kcat, kafkajs and confluent-kafka-python; a topic with compression.type=zstd turns uncompressed
 * batches into zstd batches on disk that every client reads back; a corrupt compressed payload gets
 * CORRUPT_MESSAGE and the broker carries on.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { createRequire } from "node:module";
import { CompressionCodecs, CompressionTypes, Kafka, logLevel } from "kafkajs";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { CODEC_IDS, batchCodecs } from "../support/segment-batches.ts";
import { PYTHON, haveCommand, havePythonModule, runProc } from "../support/proc.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";

await initCrc32c();
const require = createRequire(import.meta.url);
CompressionCodecs[CompressionTypes.Snappy] = require("kafkajs-snappy");
const lz4js = require("lz4js") as { compress(b: Uint8Array): ArrayLike<number>; decompress(b: Uint8Array): ArrayLike<number> };
CompressionCodecs[CompressionTypes.LZ4] = () => ({
  compress: async (encoder: { buffer: Buffer }) => Buffer.from(lz4js.compress(encoder.buffer)),
  decompress: async (buffer: Buffer) => Buffer.from(lz4js.decompress(buffer)),
});
CompressionCodecs[CompressionTypes.ZSTD] = () => ({
  compress: async (encoder: { buffer: Buffer }) => zlib.zstdCompressSync(encoder.buffer),
  decompress: async (buffer: Buffer) => zlib.zstdDecompressSync(buffer),
});

const kcatSkip = haveCommand("kcat") ? false : "kcat is not installed";
const pySkip = (await havePythonModule("confluent_kafka")) ? false : "confluent_kafka is not installed";
const N = 300;
const lines = Array.from({ length: N }, (_, i) => `k${i}\tvalue ${i} ${"abc".repeat(i % 40)}`);
const expected = lines.map((l) => l.replace("\t", "=")).sort();

async function readWithKcat(b: TestBroker, topic: string): Promise<string[]> {
  const r = await runProc("kcat", ["-C", "-b", b.bootstrap, "-t", topic, "-e", "-u", "-f", "%k=%s\n"], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split("\n").filter(Boolean).sort();
}

async function readWithKafkajs(b: TestBroker, topic: string): Promise<string[]> {
  const kafka = new Kafka({ brokers: [b.bootstrap], clientId: "cmp", logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `g-${topic}` });
  const got: string[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`kafkajs read ${got.length} of ${N}`)), 30_000);
      consumer.run({
        eachMessage: async ({ message }) => {
          got.push(`${message.key}=${message.value}`);
          if (got.length === N) {
            clearTimeout(timer);
            resolve();
          }
        },
      }).catch(reject);
    });
  } finally {
    await consumer.disconnect().catch(() => {});
  }
  return got.sort();
}

async function readWithRunnel(b: TestBroker, topic: string): Promise<string[]> {
  const { Consumer } = await import("../../src/client/consumer.ts");
  const k = new Consumer({ bootstrap: b.bootstrap, fetchMaxWaitMs: 50 });
  const got: string[] = [];
  try {
    await k.connect();
    k.assign([{ topic, partition: 0 }]);
    k.seek(topic, 0, 0n);
    const dec = new TextDecoder();
    for (let i = 0; i < 100 && got.length < N; i++) for (const r of await k.poll(100)) got.push(`${dec.decode(r.key!)}=${dec.decode(r.value!)}`);
  } finally {
    await k.close();
  }
  return got.sort();
}

async function readWithPython(b: TestBroker, topic: string): Promise<string[]> {
  const script = `
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "py-cmp", "enable.auto.commit": False})
c.assign([TopicPartition(sys.argv[2], 0, -2)])
n = 0
while n < ${N}:
    for m in c.consume(num_messages=500, timeout=1.0):
        if m.error(): raise SystemExit(str(m.error()))
        print("%s=%s" % (m.key().decode(), m.value().decode())); n += 1
c.close()
`;
  const r = await runProc(PYTHON, ["-c", script, b.bootstrap, topic], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split("\n").filter(Boolean).sort();
}

/** Codec ids of the batches stored on disk for partition 0 of `topic`. */
function storedCodecs(b: TestBroker, topic: string): Set<number> {
  const dir = path.join(b.dir, `${topic}-0`);
  const codecs = new Set<number>();
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith(".log"))) for (const codec of batchCodecs(path.join(dir, f))) codecs.add(codec);
  return codecs;
}

for (const codec of ["gzip", "snappy", "lz4", "zstd"] as const) {
  test(`kcat -z ${codec}: stored as ${codec} and read back by kcat, kafkajs, confluent-kafka and Runnel's consumer`, { skip: kcatSkip || pySkip }, async () => {
    const b = await startTestBroker();
    try {
      const topic = `kcat-${codec}`;
      await b.broker.createTopic(topic, 1, 1, {}, false);
      const p = await runProc("kcat", ["-P", "-b", b.bootstrap, "-t", topic, "-K", "\t", "-z", codec, "-X", "batch.num.messages=100", "-X", "linger.ms=2000"], { input: lines.join("\n") + "\n", timeoutMs: 30_000 });
      assert.equal(p.code, 0, p.stderr);
      // Full batches (linger.ms: kcat reading its input slowly under load sent a first one-record batch, which
      // librdkafka sends uncompressed when compression does not make it smaller).
      assert.deepEqual([...storedCodecs(b, topic)], [CODEC_IDS[codec]], "batches stay compressed as the producer sent them");
      assert.deepEqual(await readWithKcat(b, topic), expected);
      assert.deepEqual(await readWithKafkajs(b, topic), expected);
      assert.deepEqual(await readWithPython(b, topic), expected);
      assert.deepEqual(await readWithRunnel(b, topic), expected);
    } finally {
      await b.stop();
    }
  });
}

for (const [name, type] of [["gzip", CompressionTypes.GZIP], ["snappy", CompressionTypes.Snappy], ["lz4", CompressionTypes.LZ4], ["zstd", CompressionTypes.ZSTD]] as const) {
  test(`kafkajs ${name} batches are read back by kcat, confluent-kafka and Runnel's consumer`, { skip: kcatSkip || pySkip }, async () => {
    const b = await startTestBroker();
    const kafka = new Kafka({ brokers: [b.bootstrap], clientId: "cmp", logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    try {
      const topic = `kjs-${name}`;
      await b.broker.createTopic(topic, 1, 1, {}, false);
      await producer.connect();
      const msgs = lines.map((l) => ({ key: l.split("\t")[0], value: l.split("\t")[1] }));
      for (let i = 0; i < N; i += 100) await producer.send({ topic, compression: type, messages: msgs.slice(i, i + 100) });
      assert.deepEqual([...storedCodecs(b, topic)], [CODEC_IDS[name]]);
      assert.deepEqual(await readWithKcat(b, topic), expected);
      assert.deepEqual(await readWithPython(b, topic), expected);
      assert.deepEqual(await readWithRunnel(b, topic), expected);
    } finally {
      await producer.disconnect().catch(() => {});
      await b.stop();
    }
  });
}

test("a topic with compression.type=zstd stores uncompressed batches as zstd that every client reads back", { skip: kcatSkip || pySkip }, async () => {
  const b = await startTestBroker();
  try {
    const topic = "to-zstd";
    await b.broker.createTopic(topic, 1, 1, { "compression.type": "zstd" }, false);
    const p = await runProc("kcat", ["-P", "-b", b.bootstrap, "-t", topic, "-K", "\t", "-z", "none", "-X", "batch.num.messages=50"], { input: lines.join("\n") + "\n", timeoutMs: 30_000 });
    assert.equal(p.code, 0, p.stderr);
    assert.deepEqual([...storedCodecs(b, topic)], [4], "every stored batch is zstd");
    assert.deepEqual(await readWithKcat(b, topic), expected);
    assert.deepEqual(await readWithKafkajs(b, topic), expected);
    assert.deepEqual(await readWithPython(b, topic), expected);
    assert.deepEqual(await readWithRunnel(b, topic), expected);
  } finally {
    await b.stop();
  }
});

test("a corrupt compressed payload with a valid CRC gets CORRUPT_MESSAGE and the broker carries on", async () => {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("bad-gzip", 1, 1, {}, false);
    const bb = new BatchBuilder(1 << 16);
    bb.reset({});
    for (let i = 0; i < 20; i++) bb.append(Date.now(), null, new TextEncoder().encode(`value-${i}`));
    const good = bb.finish({ codecId: 1, compress: (s) => new Uint8Array(zlib.gzipSync(s)) });
    const bad = good.slice();
    for (let i = 61 + 12; i < bad.length - 8; i += 3) bad[i] ^= 0x5a; // mangle the deflate stream
    const { computeBatchCrc } = await import("../../src/protocol/batch-layout.ts");
    new DataView(bad.buffer).setUint32(17, computeBatchCrc(bad, 0, bad.length));
    const produce = (records: Uint8Array) => c.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: "bad-gzip", partitionData: [{ index: 0, records }] }] });
    const r1 = await produce(bad);
    assert.equal(r1.responses[0].partitionResponses[0].errorCode, ErrorCode.CORRUPT_MESSAGE);
    const r2 = await produce(good);
    assert.equal(r2.responses[0].partitionResponses[0].errorCode, 0);
    assert.equal(r2.responses[0].partitionResponses[0].baseOffset, 0n);
  } finally {
    c.close();
    await b.stop();
  }
});

test("a compressed batch that outgrows max.message.bytes when the topic's compression.type recompresses it gets MESSAGE_TOO_LARGE", async () => {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  try {
    const topic = "grows";
    await b.broker.createTopic(topic, 1, 1, { "compression.type": "uncompressed", "max.message.bytes": "1500" }, false);
    const gzipBatch = (n: number) => {
      const bb = new BatchBuilder(1 << 16);
      bb.reset({});
      for (let i = 0; i < n; i++) bb.append(Date.now(), null, new TextEncoder().encode("a".repeat(200)));
      return bb.finish({ codecId: 1, compress: (s) => new Uint8Array(zlib.gzipSync(s)) });
    };
    const produce = (records: Uint8Array) => c.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
    const big = gzipBatch(20); // about 4 KB once stored uncompressed
    assert.ok(big.length <= 1500, `the gzip batch (${big.length} bytes) is within max.message.bytes as received`);
    const r1 = await produce(big);
    assert.equal(r1.responses[0].partitionResponses[0].errorCode, ErrorCode.MESSAGE_TOO_LARGE);
    const r2 = await produce(gzipBatch(2)); // about 450 bytes uncompressed: fits
    assert.equal(r2.responses[0].partitionResponses[0].errorCode, 0);
    assert.equal(r2.responses[0].partitionResponses[0].baseOffset, 0n, "the refused batch took no offsets");
  } finally {
    c.close();
    await b.stop();
  }
});
