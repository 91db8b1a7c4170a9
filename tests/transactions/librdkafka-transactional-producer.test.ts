/**
 * librdkafka transactions through confluent-kafka-python (`/usr/bin/python3` subprocesses): a `transactional.id`
 * producer (init_transactions, begin_transaction, commit_transaction/abort_transaction, send_offsets_to_transaction)
 * read by `isolation.level=read_committed` and read_uncommitted consumers, also across clients (kafkajs-written
 * transactions read by librdkafka); a consume-transform-produce loop whose committed offsets move only when its
 * transaction commits. Skipped when the python module is missing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { PYTHON, havePythonModule, runProc } from "../support/proc.ts";
import { committedOffsets, describeTransaction, hasPendingTransactionalOffset } from "../support/group-state.ts";

const skip = (await havePythonModule("confluent_kafka")) ? false : "confluent-kafka-python is missing for /usr/bin/python3 (tests/setup.sh installs python3-confluent-kafka)";
const TEST_TIMEOUT = { timeout: 180_000, skip };
const OVERRIDES = { "transaction.state.log.num.partitions": "4", "group.min.session.timeout.ms": "1000" };
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "librdkafka_transactions.py");

/** Runs the fixture in `mode`; returns its JSON events (throws with its output on failure). */
async function py(mode: string, settings: Record<string, unknown>): Promise<Record<string, any>[]> {
  const r = await runProc(PYTHON, [SCRIPT, mode, JSON.stringify(settings)], { timeoutMs: 120_000 });
  const events = r.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  if (r.code !== 0 || events.some((e) => e.event === "error")) throw new Error(`${mode} failed (${r.code}${r.timedOut ? ", timed out" : ""}): ${r.stdout}\n${r.stderr.slice(-3000)}`);
  return events;
}

async function readAll(b: TestBroker, topic: string, group: string, isolation: "read_committed" | "read_uncommitted", expect: number): Promise<string[]> {
  const ev = await py("consume", { bootstrap: b.bootstrap, topic, group, isolation, expect });
  return ev.find((e) => e.event === "records")!.values as string[];
}

test("confluent-kafka: committed transactions reach a read_committed consumer, aborted ones only read_uncommitted (kafkajs-written ones too)", TEST_TIMEOUT, async () => {
  const b = await startTestBroker(OVERRIDES);
  try {
    await b.broker.createTopic("py-orders", 3, 1, {}, false);
    const ev = await py("produce", {
      bootstrap: b.bootstrap,
      txn_id: "py-tx",
      topic: "py-orders",
      partitions: 3,
      transactions: [
        { prefix: "c1", count: 30, commit: true },
        { prefix: "a2", count: 30, commit: false },
        { prefix: "c3", count: 30, commit: true },
      ],
    });
    const done = ev.find((e) => e.event === "done")!;
    assert.equal(done.committed.length, 60);
    assert.equal((await describeTransaction(b.port, "py-tx")).state, "CompleteCommit");

    // kafkajs writes to the same topic: one aborted and one committed transaction.
    const kafka = new Kafka({ clientId: "kjs", brokers: [b.bootstrap], logLevel: logLevel.NOTHING });
    const kp = kafka.producer({ transactionalId: "kjs-tx", idempotent: true, maxInFlightRequests: 1 });
    await kp.connect();
    for (const [prefix, commit] of [["ka", false], ["kc", true]] as const) {
      const txn = await kp.transaction();
      await txn.send({ topic: "py-orders", messages: Array.from({ length: 9 }, (_, i) => ({ value: `${prefix}-${i}`, partition: i % 3 })) });
      if (commit) await txn.commit();
      else await txn.abort();
    }
    await kp.disconnect();

    const committed = await readAll(b, "py-orders", "py-rc", "read_committed", 69);
    const expected = [...done.committed, ...Array.from({ length: 9 }, (_, i) => `kc-${i}`)];
    assert.equal(committed.length, 69, "nothing aborted, nothing twice");
    assert.deepEqual(new Set(committed), new Set(expected));
    const all = await readAll(b, "py-orders", "py-ru", "read_uncommitted", 108);
    assert.equal(all.length, 108, "read_uncommitted: every record, markers skipped");
    assert.deepEqual(new Set(all), new Set([...expected, ...done.aborted, ...Array.from({ length: 9 }, (_, i) => `ka-${i}`)]));
  } finally {
    await b.stop();
  }
});

test("confluent-kafka: send_offsets_to_transaction commits the group's offsets only when the transaction commits", TEST_TIMEOUT, async () => {
  const b = await startTestBroker(OVERRIDES);
  const committed = async (group: string, topic: string, p: number) => (await committedOffsets(b.port, group, topic, [p]))[0];
  try {
    await b.broker.createTopic("src", 1, 1, {}, false);
    // Offsets sent with an aborted transaction are dropped; with a committed one they are kept.
    await py("produce", {
      bootstrap: b.bootstrap,
      txn_id: "py-offsets",
      topic: "src",
      offsets: { group: "py-g", topic: "src", partition: 0, offset: 5 },
      transactions: [
        { prefix: "x", count: 5, commit: true, offset: 5 },
        { prefix: "y", count: 5, commit: false, offset: 10 },
      ],
    });
    assert.equal(await committed("py-g", "src", 0), 5n);
    assert.equal(await hasPendingTransactionalOffset(b.port, "py-g", "src", 0), false);

    // A consume-transform-produce loop (first transaction aborted and redone).
    await b.broker.createTopic("in", 2, 1, {}, false);
    await b.broker.createTopic("out", 2, 1, {}, false);
    const kafka = new Kafka({ clientId: "kjs", brokers: [b.bootstrap], logLevel: logLevel.NOTHING });
    const plain = kafka.producer();
    await plain.connect();
    const input = Array.from({ length: 60 }, (_, i) => `in-${i}`);
    await plain.send({ topic: "in", acks: -1, messages: input.map((value, i) => ({ value, partition: i % 2 })) });
    await plain.disconnect();
    const ev = await py("ctp", { bootstrap: b.bootstrap, txn_id: "py-ctp", group: "py-ctp", in_topic: "in", out_topic: "out", partitions: 2, expect: 60, abort_first: true });
    assert.deepEqual(ev.find((e) => e.event === "checks")!.problems, []);
    assert.equal(ev.find((e) => e.event === "done")!.processed, 60);
    assert.deepEqual([await committed("py-ctp", "in", 0), await committed("py-ctp", "in", 1)], [30n, 30n]);
    const out = await readAll(b, "out", "out-rc", "read_committed", 60);
    assert.equal(out.length, 60, "each input once in the committed output");
    assert.deepEqual(new Set(out), new Set(input.map((v) => v.toUpperCase())));
  } finally {
    await b.stop();
  }
});
