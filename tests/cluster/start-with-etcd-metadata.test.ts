/**
 * `runnel start -o metadata.etcd.endpoints=...` against a real etcd: the broker registers itself in etcd (node id,
 * rack, advertised endpoint) under its lease, topics created by a Kafka client are kept in etcd, records round-trip,
 * a restarted broker finds its topics there and SIGTERM deregisters it (several brokers on one etcd:
 * three-brokers-replicate-byte-identical.test.ts). With etcd down, CreateTopics answers the retriable
 * REQUEST_TIMED_OUT while existing topics keep taking writes, and all resumes when etcd returns. A malformed endpoint is refused naming the
 * key (exit 2); an unreachable etcd fails the start (exit 1).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { ClusterKeys, decodeBroker, decodePartitionState } from "../../src/cluster/cluster-keys.ts";
import { kvText } from "../../src/cluster/etcd-client.ts";
import { ETCD_SKIP_REASON, sharedTestEtcd } from "../support/etcd.ts";
import { startBrokerProcess, ROOT } from "../support/broker-process.ts";
import { runProc } from "../support/proc.ts";
import { RawClient } from "../support/raw-client.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { ErrorCode, errorName, isRetriable } from "../../src/protocol/errors.ts";

await initCrc32c();

const skip = ETCD_SKIP_REASON;
const ctx = sharedTestEtcd();
const keys = new ClusterKeys();

test("a broker in cluster mode keeps its registration and topics in etcd; restart finds them; SIGTERM deregisters", { skip, timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-etcd-mode-"));
  const args = ["--port", "0", "--data-dir", dir, "-o", "node.id=3", "-o", "broker.rack=r1", "-o", `metadata.etcd.endpoints=${ctx.etcd.endpoint}`, "-o", "broker.session.timeout.ms=2000"];
  let broker = await startBrokerProcess("bun", args, 60_000);
  try {
    const reg = decodeBroker((await ctx.client.get(keys.broker(3)))!);
    assert.equal(reg.rack, "r1");
    assert.equal(reg.endpoints[0].port, broker.port);
    const kafka = new Kafka({ clientId: "etcd-mode", brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "kept", numPartitions: 2 }] });
    await admin.disconnect();
    const topicKv = await ctx.client.get(keys.topic("kept"));
    assert.equal(JSON.parse(kvText(topicKv!)).partitions, 2, "the topic record is in etcd");
    const p1 = decodePartitionState((await ctx.client.get(keys.partition("kept", 1)))!, "kept", 1);
    assert.equal(p1.leader, 3);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: "kept", acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: i % 2 })) });
    await producer.disconnect();

    await broker.stop("SIGTERM");
    assert.equal(await ctx.client.get(keys.broker(3)), null, "SIGTERM deregistered the broker");
    broker = await startBrokerProcess("bun", args, 60_000);
    const admin2 = new Kafka({ clientId: "etcd-mode-2", brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
    await admin2.connect();
    // The restarted broker leads again once the controller has seen its new registration (a restart counts as gone
    // for one pass, so Metadata may name no leader for a moment): ask until the offsets are answered.
    let offsets: Awaited<ReturnType<typeof admin2.fetchTopicOffsets>>;
    for (const deadline = Date.now() + 30_000; ; ) {
      try {
        offsets = await admin2.fetchTopicOffsets("kept");
        break;
      } catch (e) {
        if (Date.now() > deadline || (e as { retriable?: boolean }).retriable !== true) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await admin2.disconnect();
    assert.deepEqual(offsets.map((o) => o.high).sort(), ["5", "5"], "the restarted broker serves the topic with its records");
  } finally {
    await broker.stop("SIGTERM");
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("etcd down: CreateTopics answers retriable REQUEST_TIMED_OUT while produce to existing topics works; etcd back: CreateTopics works, no restart", { skip, timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-etcd-mode-"));
  const broker = await startBrokerProcess("bun", ["--port", "0", "--data-dir", dir, "-o", "node.id=5", "-o", `metadata.etcd.endpoints=${ctx.etcd.endpoint}`, "-o", "broker.session.timeout.ms=2000"], 60_000);
  const c = await RawClient.connect(broker.port);
  const create = async (name: string) => {
    const r = await c.request(19, 7, { topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
    return r.topics[0].errorCode as number;
  };
  const produce = async (topic: string) => {
    const records = new BatchBuilder(1 << 16);
    records.reset({});
    records.append(Date.now(), null, new TextEncoder().encode("v"));
    const r = await c.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records: records.finish() }] }] });
    return r.responses[0].partitionResponses[0].errorCode as number;
  };
  try {
    assert.equal(await create("before"), ErrorCode.NONE);
    await ctx.etcd.stop();
    const code = await create("during");
    assert.equal(code, ErrorCode.REQUEST_TIMED_OUT, errorName(code));
    assert.ok(isRetriable(code));
    assert.equal(await produce("before"), ErrorCode.NONE, "an existing topic keeps taking acks=all writes");
    await ctx.etcd.resume();
    assert.equal(await create("during"), ErrorCode.NONE);
    assert.equal(JSON.parse(kvText((await ctx.client.get(keys.topic("during")))!)).partitions, 1);
  } finally {
    c.close();
    await broker.stop("SIGTERM");
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a malformed metadata.etcd.endpoints is refused (exit 2); an unreachable etcd fails the start (exit 1)", { skip, timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-etcd-mode-"));
  const bun = path.join(ROOT, "node_modules", ".bin", "bun");
  const main = path.join(ROOT, "src/cli/main.ts");
  try {
    const bad = await runProc(bun, [main, "start", "--port", "0", "--data-dir", dir, "-o", "metadata.etcd.endpoints=127.0.0.1:2379"], { timeoutMs: 60_000 });
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /metadata\.etcd\.endpoints/);
    const down = await runProc(bun, [main, "start", "--port", "0", "--data-dir", dir, "-o", "metadata.etcd.endpoints=http://127.0.0.1:9"], { timeoutMs: 60_000 });
    assert.equal(down.code, 1, down.stderr);
    assert.match(down.stderr, /etcd unavailable/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
