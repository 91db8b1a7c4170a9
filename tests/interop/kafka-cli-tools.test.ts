/**
 * Issue 13 acceptance, Kafka's own command-line tools (4.4, run by main class with the jars on the classpath, as
 * bin/kafka-*.sh do) against Runnel: kafka-topics, kafka-configs, the console producer and consumer,
 * kafka-consumer-groups (--list, --describe, --reset-offsets, --delete), kafka-get-offsets, kafka-delete-records,
 * kafka-log-dirs, kafka-transactions (list, describe, describe-producers, find-hanging) and the producer and consumer
 * perf tests; the console consumer's --include regex picks up a topic created while it runs. Each step checks the
 * tool's exit code and the lines it prints, which are built from Runnel's answers. The tools run one after another
 * in one JVM (support/java.ts startToolSession) to spare the machine a JVM start per command.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { javaSkip, startToolSession, KAFKA_TOOL, type ToolSession } from "../support/java.ts";
import { listGroups, waitFor } from "../support/group-state.ts";
import { Producer } from "../../src/client/producer.ts";

let b: TestBroker;
let bs: string[];
let tmp: string;
let tools: ToolSession;

before(async () => {
  if (javaSkip) return;
  b = await startTestBroker();
  bs = ["--bootstrap-server", b.bootstrap];
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-cli-tools-"));
  tools = startToolSession();
});

after(async () => {
  await tools?.close();
  await b?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Runs a tool, asserts exit code 0 and returns its stdout lines (trimmed, without empty ones). */
async function tool(cls: string, args: string[], input?: string): Promise<string[]> {
  const r = await tools.run(cls, args, input);
  assert.equal(r.code, 0, `${cls} ${args.join(" ")} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout.split("\n").map((l) => l.trimEnd()).filter((l) => l.trim() !== "");
}

/** Splits table rows on runs of whitespace. */
const cells = (line: string) => line.trim().split(/\s+/);

const opts = { skip: javaSkip, timeout: 120_000 };

test("kafka-topics: --create, --list, --describe, --alter --partitions, --delete", opts, async () => {
  assert.deepEqual(await tool(KAFKA_TOOL.topics, [...bs, "--create", "--topic", "cli-t", "--partitions", "3", "--config", "retention.ms=1000000"]), ["Created topic cli-t."]);
  await tool(KAFKA_TOOL.topics, [...bs, "--create", "--topic", "cli-gone", "--partitions", "1"]);
  assert.deepEqual(await tool(KAFKA_TOOL.topics, [...bs, "--list"]), ["cli-gone", "cli-t"]);
  await tool(KAFKA_TOOL.topics, [...bs, "--alter", "--topic", "cli-t", "--partitions", "4"]);
  const d = await tool(KAFKA_TOOL.topics, [...bs, "--describe", "--topic", "cli-t"]);
  assert.match(d[0], /^Topic: cli-t\tTopicId: [A-Za-z0-9_-]{22}\tPartitionCount: 4\tReplicationFactor: 1\tConfigs: retention.ms=1000000$/);
  assert.deepEqual(d.slice(1).map((l) => l.trim()), [0, 1, 2, 3].map((p) => `Topic: cli-t\tPartition: ${p}\tLeader: 1\tReplicas: 1\tIsr: 1\tElr: \tLastKnownElr:`));
  await tool(KAFKA_TOOL.topics, [...bs, "--delete", "--topic", "cli-gone"]);
  assert.deepEqual(await tool(KAFKA_TOOL.topics, [...bs, "--list"]), ["cli-t"]);
});

test("kafka-configs: --alter --add-config, --describe, --delete-config on a topic", opts, async () => {
  const topic = ["--entity-type", "topics", "--entity-name", "cli-t"];
  assert.deepEqual(await tool(KAFKA_TOOL.configs, [...bs, ...topic, "--alter", "--add-config", "retention.ms=2000000,cleanup.policy=[delete,compact]"]), ["Completed updating config for topic cli-t."]);
  const d = await tool(KAFKA_TOOL.configs, [...bs, ...topic, "--describe"]);
  assert.equal(d[0], "Dynamic configs for topic cli-t are:");
  assert.match(d[1], /^ {2}cleanup.policy=delete,compact sensitive=false synonyms=\{DYNAMIC_TOPIC_CONFIG:cleanup.policy=delete,compact, DEFAULT_CONFIG:log.cleanup.policy=delete\}$/);
  // As Kafka: log.retention.ms has no default, so the topic override is retention.ms's only synonym.
  assert.equal(d[2], "  retention.ms=2000000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=2000000}");
  assert.equal(d.length, 3);
  await tool(KAFKA_TOOL.configs, [...bs, ...topic, "--alter", "--delete-config", "cleanup.policy"]);
  const after = await tool(KAFKA_TOOL.configs, [...bs, ...topic, "--describe"]);
  assert.equal(after.length, 2, after.join("\n"));
  assert.ok(after[1].startsWith("  retention.ms=2000000 "), after.join("\n"));
});

test("console producer and consumer: 20 keyed records round-trip, the consumer's group commits", opts, async () => {
  const input = Array.from({ length: 20 }, (_, i) => `k${i}:v${i}`).join("\n") + "\n";
  await tool(KAFKA_TOOL.consoleProducer, [...bs, "--topic", "cli-t", "--reader-property", "parse.key=true", "--reader-property", "key.separator=:", "--command-property", "acks=all"], input);
  const out = await tool(KAFKA_TOOL.consoleConsumer, [...bs, "--topic", "cli-t", "--from-beginning", "--max-messages", "20", "--group", "cli-g",
    "--formatter-property", "print.key=true", "--formatter-property", "print.partition=true", "--formatter-property", "print.offset=true"]);
  const rows = out.map((l) => l.split("\t"));
  assert.deepEqual(rows.map((r) => r[2]).sort(), Array.from({ length: 20 }, (_, i) => `k${i}`).sort());
  for (const [, , k, v] of rows) assert.equal(v, `v${k.slice(1)}`);
  const perPartition = new Map<string, number[]>();
  for (const [p, o] of rows) (perPartition.get(p) ?? perPartition.set(p, []).get(p)!).push(Number(o.slice("Offset:".length)));
  for (const [p, offs] of perPartition) assert.deepEqual(offs, offs.map((_, i) => i), `${p}: offsets contiguous from 0`);
});

test("kafka-get-offsets, kafka-consumer-groups --list/--describe/--reset-offsets/--delete, kafka-delete-records, kafka-log-dirs", opts, async () => {
  const ends = new Map((await tool(KAFKA_TOOL.getOffsets, [...bs, "--topic", "cli-t", "--time", "-1"])).map((l) => [l.split(":")[1], Number(l.split(":")[2])]));
  assert.equal([...ends.values()].reduce((a, n) => a + n, 0), 20);
  assert.deepEqual(await tool(KAFKA_TOOL.consumerGroups, [...bs, "--list"]), ["cli-g"]);

  const described = await tool(KAFKA_TOOL.consumerGroups, [...bs, "--describe", "--group", "cli-g"]);
  assert.deepEqual(cells(described[0]), ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"]);
  assert.deepEqual(described.slice(1).map(cells), [0, 1, 2, 3].map((p) => ["cli-g", "cli-t", `${p}`, `${ends.get(`${p}`)}`, `${ends.get(`${p}`)}`, "0", "-", "-", "-"]));
  const state = await tool(KAFKA_TOOL.consumerGroups, [...bs, "--describe", "--group", "cli-g", "--state"]);
  assert.deepEqual(cells(state[1]), ["cli-g", `127.0.0.1:${b.port}`, "(1)", "-", "Empty", "0"]);

  const reset = await tool(KAFKA_TOOL.consumerGroups, [...bs, "--reset-offsets", "--group", "cli-g", "--topic", "cli-t", "--to-earliest", "--execute"]);
  assert.deepEqual(reset.slice(1).map(cells).sort(), [0, 1, 2, 3].map((p) => ["cli-g", "cli-t", `${p}`, "0"]));
  const lagging = await tool(KAFKA_TOOL.consumerGroups, [...bs, "--describe", "--group", "cli-g"]);
  assert.deepEqual(lagging.slice(1).map((l) => cells(l).slice(3, 6)), [0, 1, 2, 3].map((p) => ["0", `${ends.get(`${p}`)}`, `${ends.get(`${p}`)}`]));

  const offsetsFile = path.join(tmp, "delete.json");
  fs.writeFileSync(offsetsFile, JSON.stringify({ version: 1, partitions: [{ topic: "cli-t", partition: 0, offset: 2 }] }));
  const del = await tool(KAFKA_TOOL.deleteRecords, [...bs, "--offset-json-file", offsetsFile]);
  assert.equal(del.at(-1), "partition: cli-t-0\tlow_watermark: 2");
  assert.deepEqual(await tool(KAFKA_TOOL.getOffsets, [...bs, "--topic", "cli-t", "--partitions", "0", "--time", "-2"]), ["cli-t:0:2"]);

  const dirs = JSON.parse((await tool(KAFKA_TOOL.logDirs, [...bs, "--describe", "--topic-list", "cli-t"])).at(-1)!);
  assert.equal(dirs.brokers.length, 1);
  const [dir] = dirs.brokers[0].logDirs;
  assert.equal(dir.logDir, b.dir);
  assert.equal(dir.error, null);
  assert.deepEqual(dir.partitions.map((p: any) => p.partition).sort(), ["cli-t-0", "cli-t-1", "cli-t-2", "cli-t-3"]);
  for (const p of dir.partitions) assert.deepEqual([p.size > 0, p.offsetLag, p.isFuture], [true, 0, false], p.partition);

  assert.deepEqual(await tool(KAFKA_TOOL.consumerGroups, [...bs, "--delete", "--group", "cli-g"]), ["Deletion of requested consumer groups ('cli-g') was successful."]);
  assert.deepEqual(await tool(KAFKA_TOOL.consumerGroups, [...bs, "--list"]), []);
});

test("producer perf test (transactional, acks=all) and consumer perf test, then kafka-transactions list/describe/describe-producers/find-hanging", opts, async () => {
  const prod = await tool(KAFKA_TOOL.producerPerf, ["--topic", "perf", "--num-records", "20000", "--record-size", "100", "--throughput", "-1",
    "--transactional-id", "perf-txn", "--transaction-duration-ms", "300", "--command-property", `bootstrap.servers=${b.bootstrap}`, "acks=all"]);
  assert.match(prod.at(-1)!, /^20000 records sent, [\d.]+ records\/sec/);
  const cons = await tool(KAFKA_TOOL.consumerPerf, [...bs, "--topic", "perf", "--num-records", "20000"]);
  const header = cons.findIndex((l) => l.startsWith("start.time"));
  const values = Object.fromEntries(cons[header].split(", ").map((k, i) => [k, cons[header + 1].split(", ")[i]]));
  assert.equal(values["data.consumed.in.nMsg"], "20000");
  assert.equal(Number(values["data.consumed.in.MB"]).toFixed(4), ((20000 * 100) / 1024 / 1024).toFixed(4));

  const list = await tool(KAFKA_TOOL.transactions, [...bs, "list"]);
  assert.deepEqual(cells(list[0]), ["TransactionalId", "Coordinator", "ProducerId", "TransactionState"]);
  assert.deepEqual([cells(list[1])[0], cells(list[1])[1], cells(list[1])[3]], ["perf-txn", "1", "CompleteCommit"]);
  const desc = await tool(KAFKA_TOOL.transactions, [...bs, "describe", "--transactional-id", "perf-txn"]);
  const row = Object.fromEntries(cells(desc[0]).map((k, i) => [k, cells(desc[1])[i]]));
  assert.deepEqual([row.CoordinatorId, row.TransactionalId, row.ProducerId, row.TransactionState, row.TransactionTimeoutMs], ["1", "perf-txn", cells(list[1])[2], "CompleteCommit", "60000"]);

  const producers = await tool(KAFKA_TOOL.transactions, [...bs, "describe-producers", "--topic", "perf", "--partition", "0"]);
  assert.deepEqual(cells(producers[0]), ["ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence", "LastTimestamp", "CurrentTransactionStartOffset"]);
  assert.equal(producers.length, 2, producers.join("\n"));
  const [pid, epoch, , lastSeq, , txnStart] = cells(producers[1]);
  assert.deepEqual([pid, epoch, txnStart], [cells(list[1])[2], "0", "None"], "the perf test's producer, its transactions all ended");
  assert.ok(Number(lastSeq) > 0);
  const hanging = await tool(KAFKA_TOOL.transactions, [...bs, "find-hanging", "--broker-id", "1"]);
  assert.deepEqual(hanging.map(cells), [["Topic", "Partition", "ProducerId", "ProducerEpoch", "CoordinatorEpoch", "StartOffset", "LastTimestamp", "Duration(min)"]], "no hanging transaction");
});

test("console consumer --include (a regex) picks up a matching topic created while it runs", opts, async () => {
  await b.broker.createTopic("re-early", 1, 1, {}, false);
  const consumed = tools.run(KAFKA_TOOL.consoleConsumer, [...bs, "--include", "re-.*", "--group", "cli-re", "--from-beginning", "--max-messages", "2",
    "--timeout-ms", "60000", "--command-property", "metadata.max.age.ms=500", "--formatter-property", "print.key=false"]);
  await waitFor(async () => (await listGroups(b.port)).some((g) => g.groupId === "cli-re" && g.state === "Stable"), 60_000, "the console consumer's group to be stable");
  await b.broker.createTopic("re-late", 1, 1, {}, false);
  await b.broker.createTopic("other", 1, 1, {}, false);
  // The tool session runs one tool at a time, so the records are written with Runnel's own producer meanwhile.
  const p = new Producer({ bootstrap: b.bootstrap });
  await p.connect();
  await Promise.all([p.send({ topic: "other", value: "not matched" }), p.send({ topic: "re-early", value: "early" }), p.send({ topic: "re-late", value: "late" })]);
  await p.close();
  const r = await consumed;
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(r.stdout.split("\n").filter((l) => l !== "").sort(), ["early", "late"], r.stdout + r.stderr);
});
