/**
 * Kafka's replication throttle (KIP-73) on an injected clock: a throttled-replica list names `partition:broker`
 * pairs or `*`; only partitions listed for this broker and only out-of-sync replicas are held back, once the bytes
 * counted pass the rate's allowance; the allowance comes back as time passes; with no rate set (Kafka's Long.MAX)
 * nothing is throttled.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import { ReplicationThrottle, throttledReplicasInclude } from "../../src/replication/replication-throttle.ts";
import { parseLogConfig } from "../../src/storage/log-config.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";

test("a throttled-replica list names partition:broker pairs or every replica", () => {
  assert.ok(throttledReplicasInclude("0:1,1:2", 1, 2));
  assert.ok(throttledReplicasInclude(" 0:1, 1:2 ", 1, 2), "spaces around entries are allowed");
  assert.ok(!throttledReplicasInclude("0:1,1:2", 1, 1));
  assert.ok(!throttledReplicasInclude("0:1,1:2", 2, 2));
  assert.ok(throttledReplicasInclude("*", 7, 9));
  assert.ok(!throttledReplicasInclude("", 0, 1));
  // as topic configs, Kafka's format is enforced (INVALID_CONFIG otherwise)
  for (const ok of ["0:1, 1:2", "*", ""]) assert.ok(parseLogConfig({ "leader.replication.throttled.replicas": ok }).ok, ok);
  for (const bad of ["0-1", "a:1", "*,0:1"]) {
    const r = parseLogConfig({ "follower.replication.throttled.replicas": bad });
    assert.ok(!r.ok && r.errorCode === ErrorCode.INVALID_CONFIG && /\[partitionId\]:\[brokerId\]/.test(r.message), bad);
  }
});

test("out-of-sync replicas of listed partitions are held back once the rate's allowance is spent, and let go as time passes", () => {
  const clock = new ManualClock(0);
  let rate = 1000;
  const t = new ReplicationThrottle({ brokerId: 1, rate: () => rate, replicas: (topic) => (topic === "moving" ? "0:1,1:2" : ""), clock, windowNum: 11, windowMs: 1000 });
  assert.ok(t.isThrottled("moving", 0));
  assert.ok(!t.isThrottled("moving", 1), "1:2 throttles partition 1 on broker 2, not here");
  assert.ok(!t.isThrottled("other", 0));
  assert.ok(!t.shouldThrottle("moving", 0, false), "nothing counted yet");
  // the allowance is (window.num - 1) windows at the rate: 10 s x 1000 B/s
  t.record("moving", 0, 10_000);
  assert.ok(!t.shouldThrottle("moving", 0, false), "exactly at the allowance");
  t.record("moving", 0, 500);
  assert.ok(t.shouldThrottle("moving", 0, false), "over the allowance: held back");
  assert.ok(!t.shouldThrottle("moving", 0, true), "an in-sync replica is never throttled");
  assert.ok(!t.shouldThrottle("other", 0, false), "an unlisted partition is never throttled");
  t.record("other", 0, 1_000_000);
  assert.equal(t.throttledBytes, 10_500, "only listed partitions count");
  clock.advance(600);
  assert.ok(!t.shouldThrottle("moving", 0, false), "0.6 s at 1000 B/s paid the 500 bytes back");
  rate = Number("9223372036854775807");
  t.record("moving", 0, 1_000_000);
  assert.ok(!t.shouldThrottle("moving", 0, false), "Kafka's default rate (Long.MAX) throttles nothing");
});
