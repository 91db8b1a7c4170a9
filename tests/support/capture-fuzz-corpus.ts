/**
 * Records the fuzz corpus (tests/fixtures/fuzz-corpus/*.bin): starts a broker, puts a recording TCP proxy in front
 * of it, runs real client sessions through the proxy (kcat, kafkajs, confluent-kafka-python: metadata, admin,
 * produce with each codec, idempotent and transactional producers, consumer groups with commits) and writes every
 * distinct client-to-broker request frame (size prefix included) as one small file named by client, API key and
 * version. Frames over 16 KiB are skipped to keep the fixtures small. Re-run by hand when the clients change:
 *
 *   bun tests/support/capture-fuzz-corpus.ts
 */
import * as net from "node:net";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { Kafka, logLevel, CompressionTypes } from "kafkajs";
import { startTestBroker } from "./broker.ts";
import { runProc, PYTHON } from "./proc.ts";

const OUT = path.resolve(import.meta.dirname, "..", "fixtures", "fuzz-corpus");
const MAX_FRAME = 16 * 1024;

const b = await startTestBroker({ "num.partitions": "3" });
const seen = new Set<string>();
let client = "unknown";
const counts = new Map<string, number>();

/** A proxy on an OS-chosen port that forwards to the broker and records each request frame. */
const proxy = net.createServer((down) => {
  const up = net.connect({ host: "127.0.0.1", port: b.port });
  let buf = Buffer.alloc(0);
  down.on("data", (d: Buffer) => {
    up.write(d);
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
      const n = buf.readInt32BE(0);
      const frame = buf.subarray(0, 4 + n);
      buf = buf.subarray(4 + n);
      record(frame);
    }
  });
  up.on("data", (d) => down.write(d));
  const end = () => (down.destroy(), up.destroy());
  down.on("close", end);
  up.on("close", end);
  down.on("error", end);
  up.on("error", end);
});
await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
const port = (proxy.address() as net.AddressInfo).port;
// Clients are told the broker lives at the proxy's address, so every connection goes through it.
(b.broker.config.values as Map<string, string>).set("advertised.listeners", `PLAINTEXT://127.0.0.1:${port}`);
const bootstrap = `127.0.0.1:${port}`;

function record(frame: Buffer): void {
  if (frame.length > MAX_FRAME) return;
  const hash = createHash("sha256").update(frame).digest("hex").slice(0, 12);
  if (seen.has(hash)) return;
  seen.add(hash);
  const apiKey = frame.readInt16BE(4);
  const version = frame.readInt16BE(6);
  const name = `${client}-${String(apiKey).padStart(2, "0")}-v${version}`;
  const k = (counts.get(name) ?? 0) + 1;
  counts.set(name, k);
  if (k > 3) return; // three samples of each client/API/version are plenty
  fs.writeFileSync(path.join(OUT, `${name}-${hash}.bin`), frame);
}

async function kcatSession(): Promise<void> {
  client = "kcat";
  const run = (args: string[], input?: string) => runProc("kcat", ["-b", bootstrap, ...args], { input, timeoutMs: 30_000 });
  await run(["-L"]);
  for (const z of ["none", "gzip", "snappy", "lz4", "zstd"]) {
    await run(["-P", "-t", "kc", "-K", ":", "-H", "h=1", "-z", z, "-X", "acks=all"], Array.from({ length: 20 }, (_, i) => `k${i}:value ${i} ${z}`).join("\n") + "\n");
  }
  await run(["-P", "-t", "kc", "-X", "enable.idempotence=true"], "a\nb\nc\n");
  await run(["-C", "-t", "kc", "-o", "beginning", "-e", "-q"]);
  await run(["-Q", "-t", "kc:0:1700000000000"]);
  await run(["-G", "kcat-group", "-o", "beginning", "-c", "20", "-q", "-X", "session.timeout.ms=6000", "kc"]);
}

async function kafkajsSession(): Promise<void> {
  client = "kafkajs";
  const kafka = new Kafka({ brokers: [bootstrap], clientId: "kjs-fuzz", logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: "kj", numPartitions: 2 }, { topic: "kj-gone", numPartitions: 1 }] });
  await admin.fetchTopicMetadata({ topics: ["kj"] });
  await admin.describeConfigs({ resources: [{ type: 2, name: "kj" }], includeSynonyms: false });
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  await producer.send({ topic: "kj", messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, headers: { h: "x" } })) });
  await producer.send({ topic: "kj", compression: CompressionTypes.GZIP, messages: [{ value: "gz" }] });
  await producer.disconnect();
  const tx = kafka.producer({ transactionalId: "kj-tx", idempotent: true, maxInFlightRequests: 1 });
  await tx.connect();
  const t = await tx.transaction();
  await t.send({ topic: "kj", messages: [{ value: "in a transaction" }] });
  await t.commit();
  await tx.disconnect();
  const consumer = kafka.consumer({ groupId: "kj-group", sessionTimeout: 6000 });
  await consumer.connect();
  await consumer.subscribe({ topic: "kj", fromBeginning: true });
  let got = 0;
  await new Promise<void>((resolve) => {
    void consumer.run({ eachMessage: async () => { if (++got >= 11) resolve(); } });
  });
  await consumer.commitOffsets([{ topic: "kj", partition: 0, offset: "1" }]).catch(() => {});
  await consumer.disconnect();
  await admin.fetchOffsets({ groupId: "kj-group", topics: ["kj"] });
  await admin.describeGroups(["kj-group"]);
  await admin.listGroups();
  await admin.fetchTopicOffsets("kj");
  await admin.deleteTopics({ topics: ["kj-gone"] });
  await admin.disconnect();
}

async function confluentSession(): Promise<void> {
  client = "confluent";
  const script = `
import sys
from confluent_kafka import Producer, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic, NewPartitions
bs = sys.argv[1]
a = AdminClient({"bootstrap.servers": bs})
for f in a.create_topics([NewTopic("ck", 2, 1), NewTopic("ck-gone", 1, 1)]).values(): f.result()
a.list_topics(timeout=10)
for f in a.create_partitions([NewPartitions("ck", 3)]).values(): f.result()
p = Producer({"bootstrap.servers": bs, "enable.idempotence": True, "compression.type": "zstd", "linger.ms": 5})
for i in range(20): p.produce("ck", key=b"k%d" % i, value=b"v%d" % i, headers=[("h", b"1")])
p.flush(10)
t = Producer({"bootstrap.servers": bs, "transactional.id": "ck-tx"})
t.init_transactions(10); t.begin_transaction(); t.produce("ck", value=b"tx"); t.commit_transaction(10)
c = Consumer({"bootstrap.servers": bs, "group.id": "ck-group", "auto.offset.reset": "earliest", "isolation.level": "read_committed", "session.timeout.ms": 6000})
c.subscribe(["ck"])
n = 0
for _ in range(100):
    m = c.poll(0.2)
    if m is not None and m.error() is None: n += 1
    if n >= 21: break
c.commit(asynchronous=False)
c.committed([TopicPartition("ck", 0)], timeout=10)
c.get_watermark_offsets(TopicPartition("ck", 0), timeout=10)
c.offsets_for_times([TopicPartition("ck", 0, 1700000000000)], timeout=10)
c.close()
for f in a.delete_topics(["ck-gone"]).values(): f.result()
print(n)
`;
  const r = await runProc(PYTHON, ["-c", script, bootstrap], { timeoutMs: 60_000 });
  if (r.code !== 0) console.error(`confluent session failed: ${r.stderr}`);
}

fs.mkdirSync(OUT, { recursive: true });
for (const f of fs.readdirSync(OUT)) if (f.endsWith(".bin")) fs.rmSync(path.join(OUT, f));
await kcatSession();
await kafkajsSession();
await confluentSession();
proxy.close();
await b.stop();
const files = fs.readdirSync(OUT).filter((f) => f.endsWith(".bin"));
console.log(`${files.length} frames in ${OUT} (${files.reduce((n, f) => n + fs.statSync(path.join(OUT, f)).size, 0)} bytes)`);
process.exit(0);
