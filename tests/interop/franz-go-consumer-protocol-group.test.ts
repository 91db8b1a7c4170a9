/**
 * Issue 13 acceptance, franz-go's kgo consumer with the KIP-848 consumer group protocol (kgo.GroupProtocol
 * "consumer", ConsumerGroupHeartbeat): three members over six partitions, one killed with SIGKILL, the two others
 * take over every partition and nothing produced is skipped (tests/support/group-takeover.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { goSkip, spawnGo } from "../support/go.ts";
import { runGroupTakeover } from "../support/group-takeover.ts";

test("franz-go KIP-848 consumer group: 3 members over 6 partitions, one killed, the others take over, nothing skipped", { skip: goSkip, timeout: 240_000 }, async () => {
  await runGroupTakeover({
    topic: "franz-kip848",
    brokerConfig: {
      "group.consumer.min.session.timeout.ms": "1000",
      "group.consumer.session.timeout.ms": "4000",
      "group.consumer.min.heartbeat.interval.ms": "500",
      "group.consumer.heartbeat.interval.ms": "500",
    },
    check: (b) => assert.equal(b.broker.groups.listGroups().find((x) => x.groupId === "franz-kip848")?.type, "consumer", "a KIP-848 group, not a classic one"),
    startMember: (bootstrap) => spawnGo("franz-member", ["-bootstrap", bootstrap, "-group", "franz-kip848", "-topics", "franz-kip848", "-protocol", "consumer"]),
  });
});
