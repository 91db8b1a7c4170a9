/**
 * Issue 13 acceptance, Kafka's Java KafkaConsumer with group.protocol=classic subscribed by regular expression:
 * a topic created after the member joined, matching the pattern, is picked up (assigned and consumed), while a
 * topic that does not match is never assigned.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { javaSkip, spawnJava } from "../support/java.ts";
import { Producer } from "../../src/client/producer.ts";

test("Java KafkaConsumer classic regex subscription picks up a topic created later", { skip: javaSkip, timeout: 180_000 }, async () => {
  const b = await startTestBroker();
  const member = spawnJava("runnel.GroupMember", [
    "--bootstrap", b.bootstrap, "--group", "java-regex", "--pattern", "orders-.*", "--protocol", "classic",
    "--prop", "metadata.max.age.ms=500",
  ]);
  try {
    b.broker.createTopic("orders-eu", 2, 1, {}, false);
    b.broker.createTopic("payments", 1, 1, {}, false);
    await member.waitFor((e) => e.event === "assigned" && e.partitions.includes("orders-eu-1"), 60_000, "orders-eu assigned");
    b.broker.createTopic("orders-us", 3, 1, {}, false);
    await member.waitFor((e) => e.event === "assigned" && e.partitions.includes("orders-us-2"), 60_000, "orders-us (created later) assigned");
    const p = new Producer({ bootstrap: b.bootstrap });
    await p.connect();
    await Promise.all([p.send({ topic: "orders-us", key: "a", value: "late" }), p.send({ topic: "payments", key: "a", value: "other" }), p.send({ topic: "orders-eu", key: "b", value: "early" })]);
    await p.close();
    const seen = new Set<string>();
    await member.waitFor((e) => {
      if (e.event === "records") for (const r of e.records) seen.add(`${r[0]}:${r[4]}`);
      return seen.has("orders-us:late") && seen.has("orders-eu:early");
    }, 60_000, "records of both matching topics");
    const assignedTopics = new Set(member.events.filter((e) => e.event === "assigned").flatMap((e) => e.partitions.map((n: string) => n.replace(/-\d+$/, ""))));
    assert.deepEqual([...assignedTopics].sort(), ["orders-eu", "orders-us"]);
    assert.ok(!seen.has("payments:other"));
  } finally {
    member.send("close");
    await Promise.race([member.exited, new Promise((r) => setTimeout(r, 10_000))]);
    await member.kill();
    await b.stop();
  }
});
