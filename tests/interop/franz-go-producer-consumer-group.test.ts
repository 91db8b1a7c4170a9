/**
 * Issue 13 acceptance, franz-go (kgo v1.22): the kgo producer (idempotent, acks=all) gets every record acknowledged
 * at contiguous offsets; three kgo members of a classic consumer group (cooperative-sticky, kgo's default) share six
 * partitions, one is killed with SIGKILL, the two others take over and nothing is skipped
 * (tests/support/group-takeover.ts); a regex subscription picks up a topic created later
 * (tests/support/regex-pickup.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { goSkip, runGo, spawnGo } from "../support/go.ts";
import { jsonLines } from "../support/json-process.ts";
import { runGroupTakeover } from "../support/group-takeover.ts";
import { runRegexPickup } from "../support/regex-pickup.ts";

test("franz-go kgo producer: 2,000 records acknowledged at contiguous offsets per partition", { skip: goSkip, timeout: 120_000 }, async () => {
  const b = await startTestBroker();
  try {
    await b.broker.createTopic("franz-produce", 4, 1, {}, false);
    const r = await runGo("franz-produce", ["-bootstrap", b.bootstrap, "-topic", "franz-produce", "-count", "2000"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const acks: [number, number, number][] = jsonLines(r.stdout).find((e) => e.event === "acks")!.acks;
    const byPartition = new Map<number, number[]>();
    for (const [, p, o] of acks) (byPartition.get(p) ?? byPartition.set(p, []).get(p)!).push(o);
    assert.equal(byPartition.size, 4);
    for (const [p, offs] of byPartition) assert.deepEqual([...offs].sort((x, y) => x - y), offs.map((_, i) => i), `partition ${p}`);
  } finally {
    await b.stop();
  }
});

test("franz-go classic group: 3 members over 6 partitions, one killed, the others take over, nothing skipped", { skip: goSkip, timeout: 240_000 }, async () => {
  await runGroupTakeover({
    topic: "franz-takeover",
    startMember: (bootstrap) =>
      spawnGo("franz-member", ["-bootstrap", bootstrap, "-group", "franz-classic", "-topics", "franz-takeover", "-protocol", "classic", "-session-timeout", "3s", "-heartbeat-interval", "500ms"]),
  });
});

test("franz-go classic group with a regex subscription (kgo.ConsumeRegex) picks up a topic created later", { skip: goSkip, timeout: 180_000 }, async () => {
  await runRegexPickup({
    startMember: (bootstrap) =>
      spawnGo("franz-member", ["-bootstrap", bootstrap, "-group", "franz-regex", "-topics", "orders-.*", "-regex", "-protocol", "classic", "-metadata-max-age", "500ms"]),
  });
});
