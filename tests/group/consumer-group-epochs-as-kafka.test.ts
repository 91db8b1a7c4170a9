/**
 * KIP-848 answers that the randomized differential test against Kafka 4.4
 * (tests/oracle/consumer-groups-random-match-kafka) found Runnel giving differently, each pinned on a ManualClock:
 * when the group epoch moves, a static member rejoining under its own id, the assignment epoch of an emptied group,
 * partitions a member released and gets back (also when it rejoins owning nothing), what ConsumerGroupDescribe lists
 * as a member's assignment, and the uniform assignor's balance with overlapping subscriptions.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { assigned, consumerHarness, hb, owned } from "./consumer-group-harness.ts";

/** A group where B joined A (epoch 3) and A, at epoch 2, was told to keep three partitions and revoke the rest. */
async function revoking() {
  const h = consumerHarness();
  const tid = h.topics.topic("t")!.idHex;
  await h.coord.consumerGroupHeartbeat(hb("g", "A"));
  await h.coord.consumerGroupHeartbeat(hb("g", "B"));
  const a = await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: 2, topicPartitions: owned({ [tid]: [0, 1, 2, 3, 4, 5] }) }));
  const kept = assigned(a)![tid];
  assert.equal(kept.length, 3);
  return { h, tid, kept };
}

test("the group epoch: a new group's first member joins at 1 (no topics) or 2; later a change bumps once, an empty subscription not at all", async () => {
  const h = consumerHarness({ t: 6, u: 3 });
  const empty = await h.coord.consumerGroupHeartbeat(hb("g", "A", { subscribedTopicNames: [] }));
  assert.equal(empty.memberEpoch, 1, "a new group with a member that subscribes to nothing");
  const b = await h.coord.consumerGroupHeartbeat(hb("g", "B", { subscribedTopicNames: [] }));
  assert.equal(b.memberEpoch, 1, "a second member with nothing subscribed does not bump");
  const c = await h.coord.consumerGroupHeartbeat(hb("g", "C"));
  assert.equal(c.memberEpoch, 2, "subscription and metadata change together: one bump");
  const more = await h.coord.consumerGroupHeartbeat(hb("g", "C", { memberEpoch: 2, subscribedTopicNames: ["t", "u"] }));
  assert.equal(more.memberEpoch, 3, "adding a topic: one bump");
  const h2 = consumerHarness();
  assert.equal((await h2.coord.consumerGroupHeartbeat(hb("g", "A"))).memberEpoch, 2, "a new group's first member with topics");
});

test("a static member rejoining with epoch 0 under its own id while it holds the instance gets UNRELEASED_INSTANCE_ID", async () => {
  const h = consumerHarness();
  await h.coord.consumerGroupHeartbeat(hb("g", "A", { instanceId: "i-a" }));
  const again = await h.coord.consumerGroupHeartbeat(hb("g", "A", { instanceId: "i-a" }));
  assert.equal(again.errorCode, ErrorCode.UNRELEASED_INSTANCE_ID);
});

test("the last member leaving moves the assignment epoch to the new group epoch", async () => {
  const h = consumerHarness();
  await h.coord.consumerGroupHeartbeat(hb("g", "A"));
  await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: -1 }));
  const d = h.coord.describeConsumerGroup("g");
  assert.equal(d.groupState, "Empty");
  assert.equal(d.groupEpoch, 3);
  assert.equal(d.assignmentEpoch, 3);
});

test("partitions a member was revoking are listed by describe until released, and given back at once when the target returns them", async () => {
  const { h, tid, kept } = await revoking();
  const held = h.coord.describeConsumerGroup("g").members.find((m) => m.memberId === "A")!;
  assert.deepEqual(held.assignment.topicPartitions.flatMap((t) => t.partitions).sort(), [0, 1, 2, 3, 4, 5], "still revoking three");
  await h.coord.consumerGroupHeartbeat(hb("g", "B", { memberEpoch: -1 }));
  // A releases the three and the new target (B gone) returns them: all six in this very answer.
  const back = await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: 2, topicPartitions: owned({ [tid]: kept }) }));
  assert.equal(back.memberEpoch, 4);
  assert.deepEqual(assigned(back), { [tid]: [0, 1, 2, 3, 4, 5] });
  assert.equal(h.coord.groupState("g"), "Stable");
});

test("a member that released its revoked partitions but must revoke more under a newer target keeps its epoch", async () => {
  const { h, tid, kept } = await revoking();
  const c = await h.coord.consumerGroupHeartbeat(hb("g", "C"));
  assert.equal(c.memberEpoch, 4);
  // A releases the three, but the epoch-4 target leaves it two: it revokes one more, still at epoch 2.
  const again = await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: 2, topicPartitions: owned({ [tid]: kept }) }));
  assert.equal(again.memberEpoch, 2);
  assert.equal(assigned(again)![tid].length, 2);
  const done = await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: 2, topicPartitions: owned({ [tid]: assigned(again)![tid] }) }));
  assert.equal(done.memberEpoch, 4);
});

test("a member revoking partitions that rejoins with epoch 0 and owns nothing gets the ones it was revoking back at once", async () => {
  const h = consumerHarness({ t: 6, u: 3 });
  const [t, u] = [h.topics.topic("t")!.idHex, h.topics.topic("u")!.idHex];
  const all = await h.coord.consumerGroupHeartbeat(hb("g", "A", { subscribedTopicNames: ["t", "u"] }));
  assert.deepEqual(assigned(all), { [t]: [0, 1, 2, 3, 4, 5], [u]: [0, 1, 2] });
  // A drops u but still owns it: it keeps t and revokes u at its epoch.
  const revoking = await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: all.memberEpoch, subscribedTopicNames: ["t"], topicPartitions: owned({ [t]: [0, 1, 2, 3, 4, 5], [u]: [0, 1, 2] }) }));
  assert.equal(revoking.memberEpoch, all.memberEpoch);
  assert.deepEqual(assigned(revoking), { [t]: [0, 1, 2, 3, 4, 5] });
  // It rejoins (epoch 0, owning nothing) subscribing to u alone: t needs no revocation (not owned) and u, which only
  // A itself was revoking, is free: Kafka 4.4 assigns it in this answer.
  const back = await h.coord.consumerGroupHeartbeat(hb("g", "A", { subscribedTopicNames: ["u"] }));
  assert.equal(back.memberEpoch, all.memberEpoch + 2);
  assert.deepEqual(assigned(back), { [u]: [0, 1, 2] });
  assert.equal(h.coord.groupState("g"), "Stable");
});

test("with overlapping subscriptions the uniform assignor balances through the member that subscribes to both topics", async () => {
  const h = consumerHarness({ t: 6, u: 3 });
  await h.coord.consumerGroupHeartbeat(hb("g", "B", { subscribedTopicNames: ["t", "u"] }));
  await h.coord.consumerGroupHeartbeat(hb("g", "A", { subscribedTopicNames: ["t"] }));
  await h.coord.consumerGroupHeartbeat(hb("g", "C", { subscribedTopicNames: ["t", "u"] }));
  // B keeps u alone. A could give a partition of t to C and C one of u to B: 3/3/3 (Kafka 4.4's target), not
  // A 4, B 2, C 3, where no single move helps.
  await h.coord.consumerGroupHeartbeat(hb("g", "B", { subscribedTopicNames: ["u"] }));
  const d = h.coord.describeConsumerGroup("g");
  const counts = Object.fromEntries(d.members.map((m) => [m.memberId, m.targetAssignment.topicPartitions.reduce((n, t) => n + t.partitions.length, 0)]));
  assert.deepEqual(counts, { A: 3, B: 3, C: 3 });
});
