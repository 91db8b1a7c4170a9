/**
 * Issue 13 acceptance, Kafka's own verification tools (what Kafka's system tests run): kafka-verifiable-producer
 * sends 100,000 records with acks=all (-1) to a three-partition topic, then kafka-verifiable-consumer (classic group,
 * committing after every batch) consumes them; its report (records_consumed ranges and offsets_committed) covers
 * every record the producer reported acknowledged, exactly once, and commits each partition's end.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { javaSkip, spawnJava, KAFKA_TOOL } from "../support/java.ts";

const RECORDS = 100_000;

test("kafka-verifiable-producer (100,000 records, acks=all) and kafka-verifiable-consumer: every acked record consumed", { skip: javaSkip, timeout: 240_000 }, async () => {
  const b = await startTestBroker();
  try {
    await b.broker.createTopic("verifiable", 3, 1, {}, false);
    const producer = spawnJava(KAFKA_TOOL.verifiableProducer, ["--bootstrap-server", b.bootstrap, "--topic", "verifiable", "--max-messages", String(RECORDS), "--acks", "-1"]);
    assert.equal(await producer.exited, 0, producer.output());
    const acked = new Map<number, Set<number>>();
    for (const e of producer.events.filter((ev) => ev.name === "producer_send_success")) {
      (acked.get(e.partition) ?? acked.set(e.partition, new Set()).get(e.partition)!).add(e.offset);
    }
    const toolData = producer.events.find((e) => e.name === "tool_data")!;
    assert.deepEqual([toolData.sent, toolData.acked], [RECORDS, RECORDS], producer.output());
    assert.equal([...acked.values()].reduce((n, s) => n + s.size, 0), RECORDS, "100,000 distinct acknowledged positions");
    assert.equal(producer.events.filter((e) => e.name === "producer_send_error").length, 0);

    const consumer = spawnJava(KAFKA_TOOL.verifiableConsumer, ["--bootstrap-server", b.bootstrap, "--topic", "verifiable", "--group-id", "verifiable-g",
      "--group-protocol", "classic", "--max-messages", String(RECORDS), "--reset-policy", "earliest"]);
    assert.equal(await consumer.exited, 0, consumer.output());
    const consumed = new Map<number, Set<number>>();
    let total = 0;
    for (const e of consumer.events.filter((ev) => ev.name === "records_consumed")) {
      for (const p of e.partitions) {
        assert.equal(p.maxOffset - p.minOffset + 1, p.count, `a contiguous batch of ${p.count} on partition ${p.partition}`);
        const set = consumed.get(p.partition) ?? consumed.set(p.partition, new Set()).get(p.partition)!;
        for (let o = p.minOffset; o <= p.maxOffset; o++) set.add(o);
        total += p.count;
      }
    }
    assert.equal(total, RECORDS, "each record consumed once");
    for (const [p, offsets] of acked) {
      const got = consumed.get(p) ?? new Set();
      const missing = [...offsets].filter((o) => !got.has(o));
      assert.deepEqual(missing.slice(0, 10), [], `partition ${p}: acknowledged records not consumed`);
    }
    const commits = consumer.events.filter((e) => e.name === "offsets_committed");
    assert.ok(commits.every((e) => e.success), "every commit succeeded");
    const lastCommitted = new Map<number, number>();
    for (const e of commits) for (const o of e.offsets) lastCommitted.set(o.partition, o.offset);
    for (const [p, offsets] of acked) assert.equal(lastCommitted.get(p), Math.max(...offsets) + 1, `partition ${p} committed to its end`);
  } finally {
    await b.stop();
  }
});
