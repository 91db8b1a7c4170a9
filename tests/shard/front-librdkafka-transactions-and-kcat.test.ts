/**
 * librdkafka against a front over two shards: confluent-kafka-python transactions whose coordinator is on one shard
 * and whose partitions are on both (commit, abort, offsets sent to the transaction) read back by a read_committed
 * consumer; kcat lists one broker with the node's id and reads every record of both shards.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import { PYTHON, haveCommand, havePythonModule, runProc } from "../support/proc.ts";
import { transactionPartitionFor } from "../../src/transactions/transaction-coordinator.ts";
import { FRONT_NODE_ID, startFrontOverShards } from "./front-fixture.ts";

const skip = (!(await havePythonModule("confluent_kafka")) ? "SKIPPED: confluent-kafka-python is missing for /usr/bin/python3 (tests/setup.sh installs python3-confluent-kafka)" : !haveCommand("kcat") ? "SKIPPED: kcat is not installed (tests/setup.sh installs it as root)" : false);
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "transactions", "fixtures", "librdkafka_transactions.py");

/** Runs the transactions fixture in `mode`; returns its JSON events (throws with its output on failure). */
async function py(mode: string, settings: Record<string, unknown>): Promise<Record<string, any>[]> {
  const r = await runProc(PYTHON, [SCRIPT, mode, JSON.stringify(settings)], { timeoutMs: 120_000 });
  const events = r.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  if (r.code !== 0 || events.some((e) => e.event === "error")) throw new Error(`${mode} failed (${r.code}${r.timedOut ? ", timed out" : ""}): ${r.stdout}\n${r.stderr.slice(-3000)}`);
  return events;
}

test("confluent-kafka transactions across shards, read_committed; kcat sees one broker and every record", { skip, timeout: 240_000 }, async () => {
  const node = await startFrontOverShards({ inThread: true, extra: { "group.min.session.timeout.ms": "1000" } });
  try {
    const kafka = new Kafka({ clientId: "setup", brokers: [node.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "tx-orders", numPartitions: 4 }], waitForLeaders: true });
    await admin.disconnect();
    const owners = [0, 1, 2, 3].map((p) => node.ownerOf("tx-orders", p));

    const ev = await py("produce", {
      bootstrap: node.bootstrap,
      txn_id: "front-tx",
      topic: "tx-orders",
      partitions: 4,
      offsets: { group: "tx-group", topic: "tx-orders", partition: 0, offset: 7 },
      transactions: [
        { prefix: "c1", count: 20, commit: true },
        { prefix: "a2", count: 20, commit: false, offset: 9 },
        { prefix: "c3", count: 20, commit: true, offset: 11 },
      ],
    });
    const done = ev.find((e) => e.event === "done")!;
    assert.equal(done.committed.length, 40);
    // The coordinator is one shard; the transaction wrote partitions of both.
    const coordinator = node.ownerOf("__transaction_state", transactionPartitionFor("front-tx", node.partitionsOf("__transaction_state")));
    assert.ok(owners.some((o) => o !== coordinator), `partitions ${owners} all on the coordinator's shard ${coordinator}`);

    const read = await py("consume", { bootstrap: node.bootstrap, topic: "tx-orders", group: "rc", isolation: "read_committed", expect: 40 });
    assert.deepEqual([...read.find((e) => e.event === "records")!.values].sort(), [...done.committed].sort());

    // Offsets sent to the committed transactions only (11 from the last; 9 was aborted).
    const check = kafka.admin();
    await check.connect();
    const committed = await check.fetchOffsets({ groupId: "tx-group", topics: ["tx-orders"] });
    assert.equal(committed[0].partitions.find((p) => p.partition === 0)!.offset, "11");
    await check.disconnect();

    const list = await runProc("kcat", ["-b", node.bootstrap, "-L", "-J"], { timeoutMs: 30_000 });
    assert.equal(list.code, 0, list.stderr);
    const md = JSON.parse(list.stdout);
    assert.deepEqual(md.brokers.map((b: { id: number }) => b.id), [FRONT_NODE_ID]);
    const topic = md.topics.find((t: { topic: string }) => t.topic === "tx-orders");
    assert.deepEqual(topic.partitions.map((p: { leader: number }) => p.leader), [FRONT_NODE_ID, FRONT_NODE_ID, FRONT_NODE_ID, FRONT_NODE_ID]);
    const all = await runProc("kcat", ["-C", "-b", node.bootstrap, "-t", "tx-orders", "-o", "beginning", "-e", "-u", "-f", "%s\n", "-X", "isolation.level=read_uncommitted"], { timeoutMs: 60_000 });
    assert.equal(all.code, 0, all.stderr);
    const values = all.stdout.split("\n").filter((l) => l !== "");
    assert.deepEqual(values.sort(), [...done.committed, ...done.aborted].sort());
  } finally {
    await node.close();
  }
});
