/**
 * Issue 13 acceptance, sarama (IBM/sarama v1.61, Kafka 4.3 protocol versions): an idempotent acks=all SyncProducer
 * sends 1,000 keyed records, a sarama ConsumerGroup consumes every one of them with the same values, and the
 * offsets it committed (read back through sarama's OffsetManager) are each partition's end; three sarama members
 * over six partitions, one killed with SIGKILL, the others take over with nothing skipped
 * (tests/support/group-takeover.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { goSkip, runGo, spawnGo } from "../support/go.ts";
import { runGroupTakeover } from "../support/group-takeover.ts";
import { jsonLines } from "../support/json-process.ts";

test("sarama: SyncProducer and ConsumerGroup round trip with committed offsets", { skip: goSkip, timeout: 180_000 }, async () => {
  const b = await startTestBroker();
  try {
    await b.broker.createTopic("sarama-rt", 3, 1, {}, false);
    const r = await runGo("sarama-roundtrip", ["-bootstrap", b.bootstrap, "-topic", "sarama-rt", "-group", "sarama-group", "-count", "1000"], { timeoutMs: 150_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const ev = jsonLines(r.stdout);
    const acks: [number, number, number][] = ev.find((e) => e.event === "acks")!.acks;
    const consumed: [number, number, string, string][] = ev.find((e) => e.event === "consumed")!.records;
    const sent = new Map(acks.map(([i, p, o]) => [`${p}/${o}`, `v${i}`]));
    assert.equal(sent.size, 1000, "1,000 distinct acknowledged positions");
    assert.equal(consumed.length, 1000);
    for (const [p, o, k, v] of consumed) {
      assert.equal(sent.get(`${p}/${o}`), v, `record at ${p}/${o}`);
      assert.equal(k, `k${v.slice(1)}`);
    }
    const ends: Record<string, number> = {};
    for (const [, p, o] of acks) ends[p] = Math.max(ends[p] ?? 0, o + 1);
    assert.deepEqual(ev.find((e) => e.event === "committed")!.offsets, ends);
  } finally {
    await b.stop();
  }
});

test("sarama consumer group: 3 members over 6 partitions, one killed, the others take over, nothing skipped", { skip: goSkip, timeout: 240_000 }, async () => {
  await runGroupTakeover({
    topic: "sarama-takeover",
    startMember: (bootstrap) =>
      spawnGo("sarama-member", ["-bootstrap", bootstrap, "-group", "sarama-classic", "-topics", "sarama-takeover", "-session-timeout", "3s", "-heartbeat-interval", "500ms"]),
  });
});
