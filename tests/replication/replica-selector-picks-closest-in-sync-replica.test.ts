/**
 * KIP-392 replica selection (pure): Kafka's class names are accepted (an unknown one is refused); the rack-aware
 * selector keeps the leader when it shares the consumer's rack, else picks the replica in that rack with the most
 * data that already holds the fetch offset, else the leader; no rack or the leader selector means the leader.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { LEADER_SELECTOR, parseReplicaSelector, RACK_AWARE_REPLICA_SELECTOR, selectReadReplica } from "../../src/replication/replica-selector.ts";

const views = [
  { id: 1, rack: "a", logEndOffset: 100n },
  { id: 2, rack: "b", logEndOffset: 90n },
  { id: 3, rack: "b", logEndOffset: 95n },
  { id: 4, rack: "c", logEndOffset: 10n },
];

test("replica.selector.class takes Kafka's class names", () => {
  assert.equal(parseReplicaSelector(RACK_AWARE_REPLICA_SELECTOR), "rack-aware");
  assert.equal(parseReplicaSelector(LEADER_SELECTOR), "leader");
  assert.equal(parseReplicaSelector(null), null);
  assert.equal(parseReplicaSelector(" "), null);
  assert.throws(() => parseReplicaSelector("com.example.Nearest"), /not available/);
});

test("the rack-aware selector prefers the leader in the rack, then the most caught-up replica there that has the offset", () => {
  assert.equal(selectReadReplica("rack-aware", "a", 1, views, 50n), 1, "the leader is in rack a");
  assert.equal(selectReadReplica("rack-aware", "b", 1, views, 50n), 3, "3 has more data than 2");
  assert.equal(selectReadReplica("rack-aware", "c", 1, views, 50n), 1, "4 does not hold offset 50 yet");
  assert.equal(selectReadReplica("rack-aware", "c", 1, views, 5n), 4);
  assert.equal(selectReadReplica("rack-aware", "z", 1, views, 5n), 1, "no replica in rack z");
  assert.equal(selectReadReplica("rack-aware", "", 1, views, 5n), 1, "a consumer without client.rack");
  assert.equal(selectReadReplica("leader", "b", 1, views, 5n), 1);
});
