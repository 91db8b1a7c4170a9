/**
 * Issue 13 acceptance, franz-go's kgo consumer with the KIP-848 consumer group protocol (kgo.GroupProtocol
 * "consumer", ConsumerGroupHeartbeat): three members over six partitions, one killed with SIGKILL, the two others
 * take over every partition and nothing produced is skipped (tests/support/group-takeover.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { goSkip, spawnGo } from "../support/go.ts";
import { runGroupTakeover } from "../support/group-takeover.ts";
import { runRegexPickup } from "../support/regex-pickup.ts";
import { describeConsumerGroup, listGroups } from "../support/group-state.ts";

test("franz-go KIP-848 consumer group: 3 members over 6 partitions, one killed, the others take over, nothing skipped", { skip: goSkip, timeout: 240_000 }, async () => {
  await runGroupTakeover({
    topic: "franz-kip848",
    brokerConfig: {
      "group.consumer.min.session.timeout.ms": "1000",
      "group.consumer.session.timeout.ms": "4000",
      "group.consumer.min.heartbeat.interval.ms": "500",
      "group.consumer.heartbeat.interval.ms": "500",
    },
    check: async (b) => assert.equal((await listGroups(b.port)).find((x) => x.groupId === "franz-kip848")?.type, "consumer", "a KIP-848 group, not a classic one"),
    startMember: (bootstrap) => spawnGo("franz-member", ["-bootstrap", bootstrap, "-group", "franz-kip848", "-topics", "franz-kip848", "-protocol", "consumer"]),
  });
});

test("franz-go KIP-848 regex consumer (broker-side subscribed_topic_regex) picks up a topic created later", { skip: goSkip, timeout: 180_000 }, async () => {
  await runRegexPickup({
    brokerConfig: { "group.consumer.min.heartbeat.interval.ms": "500", "group.consumer.heartbeat.interval.ms": "500" },
    startMember: (bootstrap) => spawnGo("franz-member", ["-bootstrap", bootstrap, "-group", "franz-re2", "-topics", "orders-.*", "-regex", "-protocol", "consumer"]),
    // kgo wraps the pattern for Go's find semantics: .*(?:(?:orders-.*)).*, matched whole by the broker.
    check: async (b) => assert.equal((await describeConsumerGroup(b.port, "franz-re2")).members[0].subscribedTopicRegex, ".*(?:(?:orders-.*)).*", "the broker resolved the regex"),
  });
});
