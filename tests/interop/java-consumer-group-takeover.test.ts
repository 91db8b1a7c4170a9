/**
 * Issue 13 acceptance, Kafka's Java KafkaConsumer (4.4) with group.protocol=classic: three members over six
 * partitions, one killed with SIGKILL, the two others take over its partitions and nothing produced is skipped
 * (tests/support/group-takeover.ts), with the eager range assignor and with the incremental cooperative-sticky one.
 * Members use a short session timeout so the broker expels the dead one quickly.
 */
import { test } from "node:test";
import { javaSkip, spawnJava } from "../support/java.ts";
import { runGroupTakeover } from "../support/group-takeover.ts";

for (const [name, assignor] of [["range (eager)", "org.apache.kafka.clients.consumer.RangeAssignor"], ["cooperative-sticky (incremental)", "org.apache.kafka.clients.consumer.CooperativeStickyAssignor"]]) {
  test(`Java KafkaConsumer classic group, ${name}: 3 members over 6 partitions, one killed, the others take over, nothing skipped`, { skip: javaSkip, timeout: 240_000 }, async () => {
    await runGroupTakeover({
      topic: "java-takeover",
      startMember: (bootstrap) =>
        spawnJava("runnel.GroupMember", [
          "--bootstrap", bootstrap, "--group", "java-classic", "--topics", "java-takeover", "--protocol", "classic",
          "--prop", "session.timeout.ms=3000", "--prop", "heartbeat.interval.ms=500", "--prop", `partition.assignment.strategy=${assignor}`,
        ]),
    });
  });
}
