/**
 * Issue 13 acceptance, Kafka's Java KafkaConsumer (4.4) with group.protocol=consumer (KIP-848, ConsumerGroupHeartbeat):
 * three members over six partitions, one killed with SIGKILL, the others take over and nothing is skipped; and a
 * server-side regex subscription (SubscriptionPattern, RE2/J) picks up a topic created after the member joined.
 * The broker's group.consumer.session.timeout.ms is lowered so the dead member is expelled quickly.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { javaSkip, spawnJava } from "../support/java.ts";
import { runGroupTakeover } from "../support/group-takeover.ts";
import { runRegexPickup } from "../support/regex-pickup.ts";
import { describeConsumerGroup, listGroups } from "../support/group-state.ts";

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
    check: async (b) => assert.equal((await listGroups(b.port)).find((x) => x.groupId === "java-kip848")?.type, "consumer", "a KIP-848 group, not a classic one"),
    startMember: (bootstrap) => spawnJava("runnel.GroupMember", ["--bootstrap", bootstrap, "--group", "java-kip848", "--topics", "java-kip848", "--protocol", "consumer"]),
  });
});

test("Java KafkaConsumer group.protocol=consumer with a broker-side regex (SubscriptionPattern) picks up a topic created later", { skip: javaSkip, timeout: 180_000 }, async () => {
  await runRegexPickup({
    brokerConfig: FAST_CONSUMER_GROUPS,
    startMember: (bootstrap) => spawnJava("runnel.GroupMember", ["--bootstrap", bootstrap, "--group", "java-re2", "--re2", "orders-.*", "--protocol", "consumer", "--prop", "metadata.max.age.ms=500"]),
    check: async (b) => assert.equal((await describeConsumerGroup(b.port, "java-re2")).members[0].subscribedTopicRegex, "orders-.*", "the broker resolved the regex"),
  });
});

test("Java KafkaConsumers, classic and group.protocol=consumer in one group: online upgrade when the consumer-protocol member joins, downgrade when it is killed, nothing skipped", { skip: javaSkip, timeout: 300_000 }, async () => {
  await runGroupTakeover({
    topic: "java-mixed",
    joinsLast: true,
    brokerConfig: FAST_CONSUMER_GROUPS,
    check: async (b) => {
      assert.equal((await listGroups(b.port)).find((x) => x.groupId === "java-mixed")?.type, "consumer", "upgraded to a consumer group");
      assert.equal((await describeConsumerGroup(b.port, "java-mixed")).members.length, 3);
    },
    checkAfter: async (b) => assert.equal((await listGroups(b.port)).find((x) => x.groupId === "java-mixed")?.type, "classic", "downgraded once only classic members are left"),
    startMember: (bootstrap, name) =>
      spawnJava("runnel.GroupMember", [
        "--bootstrap", bootstrap, "--group", "java-mixed", "--topics", "java-mixed",
        ...(name === "m2" ? ["--protocol", "consumer"] : ["--protocol", "classic", "--prop", "session.timeout.ms=3000", "--prop", "heartbeat.interval.ms=500"]),
      ]),
  });
});
