/**
 * Network partition (issue 9, acceptance 3). Three `runnel start` processes, each in its own network namespace on
 * a bridge; etcd in the root namespace on the bridge's address. A topic of three RF=3, min.insync.replicas=2
 * partitions; the leader of partition 0 (which follows the others) is cut off the bridge, so it reaches neither the
 * other brokers nor etcd. Then:
 * - leadership moves: its lease expires and the controller elects a new leader from the ISR;
 * - the old leader acknowledges no acks=all write made to it after the cut (an idempotent confluent-kafka producer
 *   inside its namespace, retrying after request timeouts, gets an error for every one), while acks=1 writes to it succeed and land in its log; its high watermark does not
 *   move past what the ISR had (kcat inside its namespace reads exactly the records committed before the cut);
 * - the majority side takes acks=all writes to every partition (the cut-off broker leaves the ISRs it was in);
 * - after healing, the old leader truncates the acks=1 records, rejoins the ISR, and all three replicas' segment
 *   files become byte-identical;
 * - a checker reads every partition from every replica's files: every acknowledged acks=all record is at the offset
 *   it was acknowledged with, exactly once, and no record written only to the cut-off leader is anywhere.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { ETCD_SKIP_REASON, TestEtcd } from "../support/etcd.ts";
import { startBrokerProcess, type BrokerProcess } from "../support/broker-process.ts";
import { until } from "../support/cluster-processes.ts";
import { EtcdClient, kvText } from "../../src/cluster/etcd-client.ts";
import { NetLab, netnsSkipReason } from "../support/netns.ts";
import { PYTHON, haveCommand, havePythonModule, runProc } from "../support/proc.ts";
import { readBatchHeader, RecordCursor } from "../../src/protocol/record-batch.ts";
import { BATCH_HEADER_SIZE, LOG_OVERHEAD } from "../../src/protocol/batch-layout.ts";

const skip =
  ETCD_SKIP_REASON ||
  (haveCommand("kcat") ? false : "SKIPPED: no kcat (bash tests/setup.d/*kcat*.sh)") ||
  (await netnsSkipReason()) ||
  ((await havePythonModule("confluent_kafka")) ? false : "SKIPPED: /usr/bin/python3 has no confluent_kafka (tests/setup.d/10-interop-peers.sh)");
if (skip) console.error(skip);

const TOPIC = "split";
/** Partitions of the topic (placement spreads their leaders over the brokers). */
const PARTITIONS = 3;
/** Every broker listens on this port in its own namespace. */
const PORT = 9092;
/** Lease TTL and ISR lag bound: short, so the test takes seconds. */
const SESSION_MS = 3_000;

/**
 * confluent-kafka-python: produces COUNT records PREFIX-0.. with ACKS, record i to the i-th (round robin) of the
 * comma-separated PARTITIONS, waits for every answer and prints one JSON line per record: its value, partition,
 * offset (or -1) and error (or null).
 */
const PRODUCER = `
import sys, json
from confluent_kafka import Producer
bootstrap, topic, prefix, count, acks, timeout_ms = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
partitions = [int(x) for x in sys.argv[7].split(",")]
def delivered(err, msg):
    print(json.dumps({"value": msg.value().decode(), "partition": msg.partition(), "offset": msg.offset() if err is None else -1, "error": None if err is None else err.str()}), flush=True)
p = Producer({"bootstrap.servers": bootstrap, "acks": acks, "enable.idempotence": acks == "all", "linger.ms": 5,
              "message.timeout.ms": timeout_ms, "request.timeout.ms": min(3000, timeout_ms)})
for i in range(count):
    p.produce(topic, value=("%s-%d" % (prefix, i)).encode(), partition=partitions[i % len(partitions)], on_delivery=delivered)
    p.poll(0)
left = p.flush(timeout_ms / 1000 + 30)
if left:
    sys.exit("%d records never answered" % left)
`;
import { partitionLogBytes } from "../support/segment-batches.ts";

interface Delivery {
  value: string;
  partition: number;
  offset: number;
  error: string | null;
}

/** Every partition of the topic. */
const ALL_PARTITIONS = Array.from({ length: PARTITIONS }, (_, i) => i);

/** Runs the producer (under the `exec` prefix: inside a namespace) to `partitions`; every record's answer. */
async function produce(exec: string[], bootstrap: string, prefix: string, count: number, acks: "all" | "1", timeoutMs: number, partitions = ALL_PARTITIONS): Promise<Delivery[]> {
  const argv = [...exec, PYTHON, "-c", PRODUCER, bootstrap, TOPIC, prefix, String(count), acks, String(timeoutMs), partitions.join(",")];
  const r = await runProc(argv[0], argv.slice(1), { timeoutMs: timeoutMs + 90_000 });
  assert.equal(r.code, 0, `producer ${prefix} failed:\n${r.stderr}`);
  const out = r.stdout.trim().split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as Delivery);
  assert.equal(out.length, count, `producer ${prefix}: one answer per record`);
  return out;
}

/** Every record (offset, value) in the `.log` files of `partition` in `dataDir`, in file order; zeros ahead of the end and a torn tail are left out. */
function replicaRecords(dataDir: string, partition: number): { offset: bigint; value: string }[] {
  const dir = path.join(dataDir, `${TOPIC}-${partition}`);
  if (!fs.existsSync(dir)) return [];
  const out: { offset: bigint; value: string }[] = [];
  const cursor = new RecordCursor();
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith(".log")).sort()) {
    const buf = new Uint8Array(fs.readFileSync(path.join(dir, f)));
    for (let at = 0; at + BATCH_HEADER_SIZE <= buf.length; ) {
      const h = readBatchHeader(buf, at);
      const end = at + LOG_OVERHEAD + h.batchLength;
      if (h.batchLength <= 0 || end > buf.length) break; // zeros written ahead of the end, or a torn tail
      assert.equal(h.attributes & 0x7, 0, "the producers send uncompressed batches");
      cursor.resetRange(buf, at + BATCH_HEADER_SIZE, end, h.recordsCount, Number(h.baseTimestamp), h.baseOffset);
      while (cursor.next()) {
        const v = cursor.bytes.subarray(cursor.valueStart, cursor.valueStart + cursor.valueLength);
        out.push({ offset: h.baseOffset + BigInt(cursor.offsetDelta), value: Buffer.from(v).toString() });
      }
      at = end;
    }
  }
  return out;
}


test("network partition: the cut-off leader acknowledges no acks=all write, leadership moves, its acks=1 tail is truncated on healing, no acknowledged record is lost", { skip, timeout: 300_000 }, async () => {
  const lab = await NetLab.create(3);
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-netsplit-"));
  const brokers: BrokerProcess[] = [];
  let etcd: TestEtcd | undefined;
  const dataDirs = [1, 2, 3].map((id) => path.join(base, `b${id}`));
  const addr = (id: number) => `${lab.address(id)}:${PORT}`;
  try {
    etcd = await TestEtcd.start(lab.hostAddress);
    for (const id of [1, 2, 3]) {
      const args = [
        "--data-dir", dataDirs[id - 1],
        "-o", `listeners=PLAINTEXT://${addr(id)}`,
        "-o", `node.id=${id}`,
        "-o", `metadata.etcd.endpoints=${etcd.endpoint}`,
        "-o", `broker.session.timeout.ms=${SESSION_MS}`,
        "-o", `replica.lag.time.max.ms=${SESSION_MS}`,
        "-o", "replica.fetch.wait.max.ms=100",
        "-o", "replica.fetch.backoff.ms=100",
      ];
      brokers.push(await startBrokerProcess("bun", args, 90_000, {}, lab.exec(id)));
    }
    const all = [1, 2, 3].map(addr);
    // Every broker's view has all three registrations before the topic is placed (a sharded broker's shards learn
    // them a hop after its etcd watch does).
    for (const a of all) {
      const one = new Kafka({ clientId: "netsplit-registrations", brokers: [a], logLevel: logLevel.NOTHING }).admin();
      await one.connect();
      await until(`broker at ${a} to see three registered brokers`, 60_000, async () => (await one.describeCluster()).brokers.length === 3);
      await one.disconnect();
    }
    const kafka = new Kafka({ clientId: "netsplit", brokers: all, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, configEntries: [{ name: "min.insync.replicas", value: "2" }] }] });
    const states = async (a = admin) => (await a.fetchTopicMetadata({ topics: [TOPIC] })).topics[0].partitions;
    const state = async (a = admin) => (await states(a)).find((p) => p.partitionId === 0)!;
    await until("every ISR to hold all three replicas", 60_000, async () => (await states()).every((p) => p.isr.length === 3));
    const old = (await state()).leader;
    await admin.disconnect();
    const others = [1, 2, 3].filter((id) => id !== old);

    const before = await produce([], all.join(","), "before", 200, "all", 60_000);
    assert.deepEqual(before.filter((d) => d.error !== null), [], "acks=all before the cut");

    await lab.cut(old);
    const cutAt = Date.now();
    // Clients inside the old leader's namespace still reach it; it still believes it leads.
    const oldSide = Promise.all([
      produce(lab.exec(old), addr(old), "one", 50, "1", 20_000, [0]),
      produce(lab.exec(old), addr(old), "lost", 20, "all", 10_000, [0]),
    ]);

    const survivors = new Kafka({ clientId: "netsplit-majority", brokers: others.map(addr), logLevel: logLevel.NOTHING }).admin();
    await survivors.connect();
    /** The partitions as the majority side reports them, or undefined when the admin client picked the cut-off broker. */
    const majorityStates = () => states(survivors).catch(() => undefined);
    try {
      await until("a new leader elected on the majority side", 60_000, async () => {
        const s = (await majorityStates())?.find((p) => p.partitionId === 0);
        return s !== undefined && others.includes(s.leader);
      });
    } catch (e) {
      const c = new EtcdClient({ endpoints: [etcd.endpoint], requestTimeoutMs: 5_000 });
      const kvs = (await c.range("/runnel/", { prefix: true })).kvs.map((kv) => `${kv.key} lease=${kv.lease} ${kvText(kv)}`);
      console.error(`etcd now:\n${kvs.join("\n")}`);
      throw e;
    }
    console.error(`leadership moved ${Date.now() - cutAt} ms after the cut`);
    const during = await produce([], others.map(addr).join(","), "during", 200, "all", 60_000);
    assert.deepEqual(during.filter((d) => d.error !== null), [], "acks=all on the majority side during the cut");

    const [ones, lost] = await oldSide;
    assert.deepEqual(ones.filter((d) => d.error !== null), [], "acks=1 writes to the old leader succeed during the cut");
    const lostAcked = lost.filter((d) => d.error === null);
    assert.deepEqual(lostAcked, [], "the cut-off leader acknowledged no acks=all write");
    // Its high watermark stayed where the ISR left it: a consumer reading it to the end sees only what was committed.
    const read = [...lab.exec(old), "kcat", "-C", "-b", addr(old), "-t", TOPIC, "-p", "0", "-o", "beginning", "-e", "-q", "-f", "%s\\n"];
    const seen = await runProc(read[0], read.slice(1), { timeoutMs: 60_000 });
    assert.equal(seen.code, 0, seen.stderr);
    assert.deepEqual(seen.stdout.split("\n").filter((l) => l.length > 0), before.filter((d) => d.partition === 0).map((d) => d.value), "the cut-off leader's high watermark did not pass what its ISR had");
    const oldLog = new Set(replicaRecords(dataDirs[old - 1], 0).map((r) => r.value));
    assert.ok(ones.every((d) => oldLog.has(d.value)), "the acks=1 records are in the old leader's log during the cut");

    await lab.heal(old);
    await until("the cut-off broker to rejoin every ISR", 90_000, async () => (await majorityStates())?.every((p) => p.isr.length === 3) === true);
    await survivors.disconnect();
    const after = await produce([], all.join(","), "after", 50, "all", 60_000);
    assert.deepEqual(after.filter((d) => d.error !== null), [], "acks=all after healing");

    await until("the three replicas of every partition to hold the same bytes", 60_000, () =>
      ALL_PARTITIONS.every((p) => {
        const b = dataDirs.map((d) => partitionLogBytes(d, TOPIC, p));
        return b[0].length > 0 && b[0].equals(b[1]) && b[0].equals(b[2]);
      }),
    );
    for (const [i, dir] of dataDirs.entries()) {
      for (const p of ALL_PARTITIONS) {
        const acked = [...before, ...during, ...after].filter((d) => d.partition === p);
        const records = replicaRecords(dir, p);
        const at = new Map(records.map((r) => [r.value, r.offset]));
        const count = new Map<string, number>();
        for (const r of records) count.set(r.value, (count.get(r.value) ?? 0) + 1);
        for (const d of acked) {
          assert.equal(at.get(d.value), BigInt(d.offset), `broker ${i + 1}, partition ${p}: ${d.value} at its acknowledged offset ${d.offset}`);
          assert.equal(count.get(d.value), 1, `broker ${i + 1}, partition ${p}: ${d.value} exactly once`);
        }
        const stray = records.filter((r) => r.value.startsWith("one-") || r.value.startsWith("lost-"));
        assert.deepEqual(stray, [], `broker ${i + 1}, partition ${p}: nothing written only to the cut-off leader survives`);
      }
    }
  } catch (e) {
    for (const [i, b] of brokers.entries()) console.error(`--- broker ${i + 1} log tail:\n${b.log().slice(-4000)}`);
    throw e;
  } finally {
    for (const b of brokers) await b.stop("SIGKILL");
    await etcd?.close();
    await lab.close();
    fs.rmSync(base, { recursive: true, force: true });
  }
});
