/**
 * Runnel's consumer reads what independent producers wrote through a real Runnel broker: kcat (librdkafka) with
 * every codec, confluent-kafka-python (librdkafka from Python) with every codec, and kafkajs (uncompressed and
 * gzip, the codecs kafkajs implements itself). Keys, values, headers and per-partition order must match.
 * kcat and Python cases skip with a message when the tool is missing.
 */
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel, CompressionTypes } from "kafkajs";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { Consumer, type ConsumerRecord } from "../../src/client/consumer.ts";
import { Admin } from "../../src/client/admin.ts";
import { runProcess, unavailable } from "./subprocess.ts";

const CODECS = ["none", "gzip", "snappy", "lz4", "zstd"] as const;
const PYTHON = "/usr/bin/python3";
const kcatSkip = unavailable("kcat", ["-V"]);
const pythonSkip = unavailable(PYTHON, ["-c", "import confluent_kafka"]);
if (kcatSkip !== null) console.log(`kcat interop tests skipped: ${kcatSkip}`);
if (pythonSkip !== null) console.log(`confluent-kafka-python interop tests skipped: ${pythonSkip}`);

let broker: TestBroker;
const dec = new TextDecoder();

before(async () => {
  broker = await startTestBroker({ "num.partitions": "2" });
});

after(async () => {
  await broker?.stop();
});

interface Plain {
  partition: number;
  key: string | null;
  value: string;
  headers: [string, string][];
}

/** Reads `count` records of every partition of `topic` from the beginning with our consumer. */
async function readAll(topic: string, count: number): Promise<ConsumerRecord[]> {
  const admin = new Admin({ bootstrap: broker.bootstrap });
  await admin.connect();
  const [info] = await admin.describeTopics([topic]);
  await admin.close();
  const consumer = new Consumer({ bootstrap: broker.bootstrap, autoOffsetReset: "earliest", maxPollRecords: 37 });
  await consumer.connect();
  consumer.assign(info.partitions.map((p) => ({ topic, partition: p.partition })));
  const out: ConsumerRecord[] = [];
  const deadline = Date.now() + 30_000;
  while (out.length < count && Date.now() < deadline) {
    const batch = await consumer.poll(500);
    assert.ok(batch.length <= 37, "max.poll.records is honoured");
    out.push(...batch);
  }
  await consumer.close();
  return out;
}

function plain(r: ConsumerRecord): Plain {
  return {
    partition: r.partition,
    key: r.key === null ? null : dec.decode(r.key),
    value: dec.decode(r.value!),
    headers: r.headers.map((h) => [h.key, h.value === null ? "" : dec.decode(h.value)]),
  };
}

/** Checks that per partition, offsets are consecutive from 0 and records appear in `sent` order. */
function checkOrder(got: ConsumerRecord[], sent: Plain[]): void {
  assert.equal(got.length, sent.length);
  const byPartition = new Map<number, ConsumerRecord[]>();
  for (const r of got) {
    if (!byPartition.has(r.partition)) byPartition.set(r.partition, []);
    byPartition.get(r.partition)!.push(r);
  }
  for (const [p, list] of byPartition) {
    assert.deepEqual(list.map((r) => Number(r.offset)), list.map((_, i) => i), `offsets of partition ${p}`);
    const expectedOrder = sent.filter((s) => s.partition === p || s.partition < 0).map((s) => s.value);
    const gotValues = list.map((r) => dec.decode(r.value!));
    // Records of one partition keep the order they were sent in.
    assert.deepEqual(gotValues, expectedOrder.filter((v) => gotValues.includes(v)));
  }
  const sortKey = (x: Plain) => x.value;
  assert.deepEqual(got.map(plain).map((x) => ({ ...x, partition: 0 })).sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1)), sent.map((x) => ({ ...x, partition: 0 })).sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1)));
}

for (const codec of CODECS) {
  test(`our consumer reads what kcat produced with ${codec}`, { skip: kcatSkip ?? false }, async () => {
    const topic = `from-kcat-${codec}`;
    const sent: Plain[] = [];
    let input = "";
    for (let i = 0; i < 200; i++) {
      sent.push({ partition: -1, key: `k${i % 7}`, value: `kcat value ${i} ${"y".repeat(i % 30)}`, headers: [["h", "1"], ["n", `${i % 2}`]] });
      input += `k${i % 7}|kcat value ${i} ${"y".repeat(i % 30)}\n`;
    }
    // kcat applies -H to every message.
    for (const s of sent) s.headers = [["h", "1"], ["n", "0"]];
    const r = await runProcess("kcat", ["-P", "-b", broker.bootstrap, "-t", topic, "-K", "|", "-z", codec, "-H", "h=1", "-H", "n=0"], { input, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    checkOrder(await readAll(topic, sent.length), sent);
  });
}

/** Produces with confluent-kafka-python: argv bootstrap, topic, codec, count. */
const PY_PRODUCE = String.raw`
import sys
from confluent_kafka import Producer
bootstrap, topic, codec, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
p = Producer({"bootstrap.servers": bootstrap, "compression.type": codec, "linger.ms": 20})
errors = []
def cb(err, msg):
    if err is not None:
        errors.append(str(err))
for i in range(n):
    key = None if i % 5 == 0 else ("pk%d" % (i % 11)).encode()
    p.produce(topic, value=("py value %d" % i).encode(), key=key, headers=[("i", str(i).encode())], on_delivery=cb)
    p.poll(0)
left = p.flush(30)
if errors or left:
    print("errors:", errors, "unflushed:", left, file=sys.stderr)
    sys.exit(1)
`;

for (const codec of CODECS) {
  test(`our consumer reads what confluent-kafka-python produced with ${codec}`, { skip: pythonSkip ?? false }, async () => {
    const topic = `from-python-${codec}`;
    const n = 150;
    const r = await runProcess(PYTHON, ["-c", PY_PRODUCE, broker.bootstrap, topic, codec, String(n)], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    const sent: Plain[] = [];
    for (let i = 0; i < n; i++) sent.push({ partition: -1, key: i % 5 === 0 ? null : `pk${i % 11}`, value: `py value ${i}`, headers: [["i", String(i)]] });
    checkOrder(await readAll(topic, n), sent);
  });
}

for (const compression of [CompressionTypes.None, CompressionTypes.GZIP]) {
  test(`our consumer reads what kafkajs produced (${compression === CompressionTypes.None ? "none" : "gzip"})`, async () => {
    const topic = `from-kafkajs-${compression}`;
    const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    const sent: Plain[] = [];
    const messages = [];
    for (let i = 0; i < 120; i++) {
      const partition = i % 2;
      sent.push({ partition, key: `jk${i}`, value: `kafkajs value ${i}`, headers: [["src", "kafkajs"]] });
      messages.push({ partition, key: `jk${i}`, value: `kafkajs value ${i}`, headers: { src: "kafkajs" } });
    }
    // Several sends make several batches per partition.
    for (let i = 0; i < messages.length; i += 40) await producer.send({ topic, compression, messages: messages.slice(i, i + 40) });
    await producer.disconnect();
    const got = await readAll(topic, sent.length);
    checkOrder(got, sent);
    for (const r of got) assert.equal(Number(dec.decode(r.value!).split(" ")[2]) % 2, r.partition, "explicit partitions kept");
  });
}
