/**
 * Issue 13 acceptance, Kafka's Java KafkaConsumer (4.4) with group.protocol=consumer (KIP-848, ConsumerGroupHeartbeat):
 * three members over six partitions, one killed with SIGKILL, the others take over and nothing is skipped; and a
 * server-side regex subscription (SubscriptionPattern, RE2/J) picks up a topic created after the member joined.
 * The broker's group.consumer.session.timeout.ms is lowered so the dead member is expelled quickly.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { javaSkip, spawnJava } from "../support/java.ts";
import { runGroupTakeover } from "../support/group-takeover.ts";
import { Producer } from "../../src/client/producer.ts";

/** Broker settings for fast KIP-848 failure detection. */
const FAST_CONSUMER_GROUPS = {
  "group.consumer.min.session.timeout.ms": "1000",
  "group.consumer.session.timeout.ms": "4000",
  "group.consumer.min.heartbeat.interval.ms": "500",
  "group.consumer.heartbeat.interval.ms": "500",
};

test("Java KafkaConsumer group.protocol=consumer: 3 members over 6 partitions, one killed, the others take over, nothing skipped", { skip: javaSkip, timeout: 240_000 }, async () => {
  await runGroupTakeover({
    topic: "java-kip848",
    brokerConfig: FAST_CONSUMER_GROUPS,
    startMember: (bootstrap) => spawnJava("runnel.GroupMember", ["--bootstrap", bootstrap, "--group", "java-kip848", "--topics", "java-kip848", "--protocol", "consumer"]),
  });
});

test("Java KafkaConsumer group.protocol=consumer with a broker-side regex (SubscriptionPattern) picks up a topic created later", { skip: javaSkip, timeout: 180_000 }, async () => {
  const b = await startTestBroker(FAST_CONSUMER_GROUPS);
  const member = spawnJava("runnel.GroupMember", ["--bootstrap", b.bootstrap, "--group", "java-re2", "--re2", "orders-.*", "--protocol", "consumer", "--prop", "metadata.max.age.ms=500"]);
  try {
    await b.broker.createTopic("orders-eu", 2, 1, {}, false);
    await b.broker.createTopic("payments", 1, 1, {}, false);
    await member.waitFor((e) => e.event === "assigned" && e.assignment.includes("orders-eu-1"), 60_000, "orders-eu assigned");
    await b.broker.createTopic("orders-us", 3, 1, {}, false);
    await member.waitFor((e) => e.event === "assigned" && e.assignment.includes("orders-us-2"), 60_000, "orders-us (created later) assigned");
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
    const d = b.broker.groups.describeConsumerGroup("java-re2");
    assert.equal(d.members[0].subscribedTopicRegex, "orders-.*");
  } finally {
    member.send("close");
    await Promise.race([member.exited, new Promise((r) => setTimeout(r, 10_000))]);
    await member.kill();
    await b.stop();
  }
});
