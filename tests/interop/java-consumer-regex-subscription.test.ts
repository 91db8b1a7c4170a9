/**
 * Issue 13 acceptance, Kafka's Java KafkaConsumer with group.protocol=classic subscribed by regular expression:
 * a topic created after the member joined, matching the pattern, is picked up (assigned and consumed), while a
 * topic that does not match is never assigned (tests/support/regex-pickup.ts).
 */
import { test } from "node:test";
import { javaSkip, spawnJava } from "../support/java.ts";
import { runRegexPickup } from "../support/regex-pickup.ts";

test("Java KafkaConsumer classic regex subscription picks up a topic created later", { skip: javaSkip, timeout: 180_000 }, async () => {
  await runRegexPickup({
    startMember: (bootstrap) =>
      spawnJava("runnel.GroupMember", ["--bootstrap", bootstrap, "--group", "java-regex", "--pattern", "orders-.*", "--protocol", "classic", "--prop", "metadata.max.age.ms=500"]),
  });
});
