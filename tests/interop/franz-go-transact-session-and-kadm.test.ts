/**
 * Issue 13 acceptance, franz-go: a kgo GroupTransactSession consume-transform-produce loop turns 1,000 input records
 * into exactly 1,000 output records (read_committed) and commits the group's offsets inside its transactions; and
 * kadm's admin calls (topics, configs, partitions, offsets, DeleteRecords, groups, lag, log dirs, brokers, API
 * versions, transactions) answer as a Kafka broker does.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { goSkip, runGo } from "../support/go.ts";
import { jsonLines, storySteps } from "../support/json-process.ts";
import { Producer } from "../../src/client/producer.ts";
import { Consumer } from "../../src/client/consumer.ts";
import { Admin } from "../../src/client/admin.ts";

const COUNT = 1000;

test("franz-go GroupTransactSession: consume-transform-produce, exactly once, offsets committed in the transaction", { skip: goSkip, timeout: 180_000 }, async () => {
  const b = await startTestBroker({ "transaction.state.log.num.partitions": "3" });
  try {
    await b.broker.createTopic("etl-in", 3, 1, {}, false);
    await b.broker.createTopic("etl-out", 3, 1, {}, false);
    const p = new Producer({ bootstrap: b.bootstrap, acks: "all" });
    await p.connect();
    const sent = await Promise.all([...Array(COUNT).keys()].map((i) => p.send({ topic: "etl-in", key: `k${i}`, value: `record ${i}` })));
    await p.close();

    const r = await runGo("franz-transact", ["-bootstrap", b.bootstrap, "-group", "etl", "-input", "etl-in", "-output", "etl-out", "-count", String(COUNT)], { timeoutMs: 150_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const ev = jsonLines(r.stdout);
    assert.equal(ev.find((e) => e.event === "done")?.processed, COUNT);
    assert.ok(ev.filter((e) => e.event === "transaction" && e.committed).length >= 1);

    const c = new Consumer({ bootstrap: b.bootstrap, isolationLevel: "read_committed", autoOffsetReset: "earliest", fetchMaxWaitMs: 100 });
    await c.connect();
    c.assign([0, 1, 2].map((partition) => ({ topic: "etl-out", partition })));
    const out = new Map<string, string>();
    let total = 0;
    const deadline = Date.now() + 30_000;
    while (total < COUNT && Date.now() < deadline) {
      for (const rec of await c.poll(300)) {
        out.set(new TextDecoder().decode(rec.key!), new TextDecoder().decode(rec.value!));
        total++;
      }
    }
    await c.close();
    assert.equal(total, COUNT, "exactly one output record per input record");
    for (let i = 0; i < COUNT; i++) assert.equal(out.get(`k${i}`), `RECORD ${i}`);

    const admin = new Admin({ bootstrap: b.bootstrap });
    await admin.connect();
    const committed = await admin.groupOffsets("etl", [{ topic: "etl-in", partitions: [0, 1, 2] }]);
    await admin.close();
    const ends = new Map<number, bigint>();
    for (const m of sent) ends.set(m.partition, (ends.get(m.partition) ?? 0n) > m.offset + 1n ? ends.get(m.partition)! : m.offset + 1n);
    assert.deepEqual(new Map(committed.map((o) => [o.partition, o.offset])), ends, "the group committed every input partition's end");
  } finally {
    await b.stop();
  }
});

test("franz-go kadm: admin calls answer as Kafka does", { skip: goSkip, timeout: 120_000 }, async () => {
  const b = await startTestBroker();
  try {
    const r = await runGo("franz-admin", ["-bootstrap", b.bootstrap]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const { result, error } = storySteps(r.stdout);
    const partition = (p: number) => ({ p, leader: 1, replicas: [1], isr: [1] });
    assert.deepEqual(result("CreateTopics"), { "kadm-a": { err: null, partitions: 2, rf: 1, idSet: true }, "kadm-b": { err: null, partitions: 2, rf: 1, idSet: true } });
    assert.match(error("CreateTopics-existing") ?? result("CreateTopics-existing"), /^TOPIC_ALREADY_EXISTS/);
    assert.deepEqual(result("ListTopics"), { "kadm-a": { internal: false, partitions: [partition(0), partition(1)] }, "kadm-b": { internal: false, partitions: [partition(0), partition(1)] } });
    assert.deepEqual(result("AlterTopicConfigs"), {
      "cleanup.policy": { value: "compact", source: "DYNAMIC_TOPIC_CONFIG" },
      "retention.ms": { value: "7200000", source: "DYNAMIC_TOPIC_CONFIG" },
      "segment.bytes": { value: "1073741824", source: "DEFAULT_CONFIG" },
    });
    assert.equal(result("CreatePartitions"), null);
    assert.equal(result("Produce"), null);
    assert.deepEqual(result("ListEndOffsets"), { "kadm-a-0": 5, "kadm-a-1": 5 });
    // kadm-a is compact-only now: Kafka refuses to delete records from it.
    assert.match(result("DeleteRecords").err, /^POLICY_VIOLATION/);
    assert.deepEqual(result("ListStartOffsets"), { "kadm-a-0": 0, "kadm-a-1": 0 });
    assert.equal(result("CommitOffsets"), null);
    assert.deepEqual(result("ListGroups"), [{ group: "kadm-g", protocolType: "", state: "Empty", type: "classic" }]);
    assert.deepEqual(result("DescribeGroups"), { state: "Empty", protocolType: "", members: 0, err: null });
    assert.deepEqual(result("FetchOffsets"), { "kadm-a-0": [3, "by kadm"] });
    assert.deepEqual(result("Lag"), { "kadm-a-0": 2, "kadm-a-1": 5 });
    assert.equal(result("CommitOffsets-second"), null);
    assert.deepEqual(result("FetchOffsets-after-commit"), { "kadm-a-0": 3, "kadm-a-1": 1 });
    assert.equal(result("DeleteGroups"), null);
    assert.deepEqual(result("DescribeBrokerLogDirs"), [{ err: null, partitions: ["kadm-a-0", "kadm-a-1"] }]);
    assert.deepEqual(result("ListBrokers"), [{ id: 1, host: "127.0.0.1", port: b.port }]);
    assert.ok(result("ApiVersions").includes(65), "DescribeTransactions advertised");
    assert.deepEqual(result("DescribeTransactions"), { state: "Ongoing", timeoutMs: 40_000, partitions: [result("DescribeTransactions").partitions[0]], listed: ["kadm-txn:Ongoing"], err: null });
    assert.match(result("DescribeTransactions").partitions[0], /^kadm-b-[0-3]$/);
    assert.equal(result("DeleteTopics"), null);
  } finally {
    await b.stop();
  }
});
