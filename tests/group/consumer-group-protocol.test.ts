/**
 * The KIP-848 consumer group state machine on a ManualClock: group and member epochs, incremental reconciliation
 * (revoke before reassign), fencing errors, leave, static members, session and rebalance timeouts, regex
 * subscriptions, group size, assignors and restart persistence.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { advance, assignment, flush, joinDynamic, joinInput, subscription, track } from "./coordinator-harness.ts";
import { assignedPartitionsOf } from "../../src/group/consumer-protocol.ts";
import { assigned, consumerHarness, countAssigned, hb, owned, storedRecords } from "./consumer-group-harness.ts";
import { decodeConsumerGroupValue } from "../../src/group/consumer-group-records.ts";

test("a first member joins at epoch 2 (subscription and topic metadata each bump) with every partition and the broker's heartbeat interval", async () => {
  const h = consumerHarness();
  const tid = h.topics.topic("t")!.idHex;
  const r = await h.coord.consumerGroupHeartbeat(hb("g", "A"));
  assert.equal(r.errorCode, ErrorCode.NONE);
  assert.equal(r.memberId, "A");
  assert.equal(r.memberEpoch, 2);
  assert.equal(r.heartbeatIntervalMs, 5000);
  assert.deepEqual(assigned(r), { [tid]: [0, 1, 2, 3, 4, 5] });
  assert.equal(h.coord.groupState("g"), "Stable");
  const d = h.coord.describeConsumerGroup("g");
  assert.equal(d.groupEpoch, 2);
  assert.equal(d.assignmentEpoch, 2);
  assert.equal(d.assignorName, "uniform");
  // A plain heartbeat with nothing changed carries no assignment.
  const again = await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: 2 }));
  assert.equal(again.errorCode, ErrorCode.NONE);
  assert.equal(again.memberEpoch, 2);
  assert.equal(again.assignment, null);
});

test("a second member only gets partitions after the first one revoked them", async () => {
  const h = consumerHarness();
  const tid = h.topics.topic("t")!.idHex;
  await h.coord.consumerGroupHeartbeat(hb("g", "A"));
  const b1 = await h.coord.consumerGroupHeartbeat(hb("g", "B"));
  assert.equal(b1.memberEpoch, 3, "B joins at the new group epoch");
  assert.deepEqual(assigned(b1), {}, "B waits: its target partitions are still owned by A");
  assert.equal(h.coord.groupState("g"), "Reconciling");
  // A is told to keep three partitions (and so to revoke the other three); it stays at epoch 1 until it does.
  const a1 = await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: 2 }));
  assert.equal(a1.memberEpoch, 2);
  const kept = assigned(a1)![tid];
  assert.equal(kept.length, 3);
  const revoked = [0, 1, 2, 3, 4, 5].filter((p) => !kept.includes(p));
  // Still owning the revoked partitions: no progress.
  const a2 = await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: 2, topicPartitions: owned({ [tid]: [0, 1, 2, 3, 4, 5] }) }));
  assert.equal(a2.memberEpoch, 2);
  const b2 = await h.coord.consumerGroupHeartbeat(hb("g", "B", { memberEpoch: 3 }));
  assert.equal(b2.assignment, null, "nothing released yet");
  // A acknowledges the revocation: it moves to epoch 2 and B picks the partitions up.
  const a3 = await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: 2, topicPartitions: owned({ [tid]: kept }) }));
  assert.equal(a3.memberEpoch, 3);
  const b3 = await h.coord.consumerGroupHeartbeat(hb("g", "B", { memberEpoch: 3 }));
  assert.deepEqual(assigned(b3), { [tid]: revoked });
  assert.equal(h.coord.groupState("g"), "Stable");
});

test("KIP-1251: a commit with an older member epoch is accepted for partitions held since that epoch", async () => {
  const h = consumerHarness();
  const tid = h.topics.topic("t")!.idHex;
  await h.coord.consumerGroupHeartbeat(hb("g", "A"));
  await h.coord.consumerGroupHeartbeat(hb("g", "B"));
  const a = await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: 2 }));
  const kept = assigned(a)![tid];
  const a2 = await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: 2, topicPartitions: owned({ [tid]: kept }) }));
  assert.equal(a2.memberEpoch, 3);
  const b = await h.coord.consumerGroupHeartbeat(hb("g", "B", { memberEpoch: 3 }));
  const bParts = assigned(b)![tid];
  const commit = (memberId: string, epoch: number, partition: number) =>
    h.coord.commitOffsets({ groupId: "g", generationId: epoch, memberId, groupInstanceId: null, retentionTimeMs: -1, apiVersion: 9, offsets: [{ topic: "t", partition, offset: 5n, leaderEpoch: -1, metadata: null }] });
  assert.deepEqual(await commit("A", 2, kept[0]), [ErrorCode.NONE], "A has held it since epoch 2");
  const both = await h.coord.commitOffsets({ groupId: "g", generationId: 2, memberId: "A", groupInstanceId: null, retentionTimeMs: -1, apiVersion: 9, offsets: [kept[0], bParts[0]].map((partition) => ({ topic: "t", partition, offset: 6n, leaderEpoch: -1, metadata: null })) });
  assert.deepEqual(both, [ErrorCode.STALE_MEMBER_EPOCH, ErrorCode.STALE_MEMBER_EPOCH], "all or nothing, as Kafka");
  assert.deepEqual(await commit("A", 2, bParts[0]), [ErrorCode.STALE_MEMBER_EPOCH], "not A's any more");
  assert.deepEqual(await commit("B", 2, bParts[0]), [ErrorCode.STALE_MEMBER_EPOCH], "B got it at epoch 3");
  assert.deepEqual(await commit("B", 3, bParts[0]), [ErrorCode.NONE]);
  h.restart();
  assert.deepEqual(await commit("A", 2, kept[1]), [ErrorCode.NONE], "assignment epochs are persisted (tag 0 of the current assignment)");
});

test("fencing and request errors are Kafka's", async () => {
  const h = consumerHarness();
  await h.coord.consumerGroupHeartbeat(hb("g", "A"));
  const greater = await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: 6 }));
  assert.equal(greater.errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
  assert.match(greater.errorMessage!, /greater member epoch \(6\)/);
  const unknown = await h.coord.consumerGroupHeartbeat(hb("g", "Z", { memberEpoch: 2 }));
  assert.equal(unknown.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  const noGroup = await h.coord.consumerGroupHeartbeat(hb("nope", "Z", { memberEpoch: 2 }));
  assert.equal(noGroup.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  const emptyId = await h.coord.consumerGroupHeartbeat(hb("g", ""));
  assert.equal(emptyId.errorCode, ErrorCode.INVALID_REQUEST);
  const noTimeout = await h.coord.consumerGroupHeartbeat(hb("g", "C", { rebalanceTimeoutMs: -1 }));
  assert.equal(noTimeout.errorCode, ErrorCode.INVALID_REQUEST);
  assert.equal(noTimeout.errorMessage, "RebalanceTimeoutMs must be provided in first request.");
  const badEpoch = await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: -3 }));
  assert.equal(badEpoch.errorCode, ErrorCode.INVALID_REQUEST);
  const assignor = await h.coord.consumerGroupHeartbeat(hb("g", "C", { serverAssignor: "sticky" }));
  assert.equal(assignor.errorCode, ErrorCode.UNSUPPORTED_ASSIGNOR);
  for (const regex of ["(a)\\1", "t(?=x)", "(?<!a)t", "a*+", "a{1001}", "[z-a]"]) {
    const r = await h.coord.consumerGroupHeartbeat(hb("g", "C", { subscribedTopicNames: null, subscribedTopicRegex: regex }));
    assert.equal(r.errorCode, ErrorCode.INVALID_REGULAR_EXPRESSION, regex);
  }
});

test("a leaving member bumps the group epoch and the others take its partitions over", async () => {
  const h = consumerHarness();
  const tid = h.topics.topic("t")!.idHex;
  await h.coord.consumerGroupHeartbeat(hb("g", "A"));
  await h.coord.consumerGroupHeartbeat(hb("g", "B"));
  const a = await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: 2 }));
  await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: 2, topicPartitions: owned(assigned(a)!) }));
  await h.coord.consumerGroupHeartbeat(hb("g", "B", { memberEpoch: 3 }));
  assert.equal(h.coord.groupState("g"), "Stable");
  const left = await h.coord.consumerGroupHeartbeat(hb("g", "B", { memberEpoch: -1 }));
  assert.equal(left.errorCode, ErrorCode.NONE);
  assert.equal(left.memberEpoch, -1);
  assert.equal(h.coord.describeConsumerGroup("g").groupEpoch, 4);
  const a2 = await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: 3 }));
  assert.equal(a2.memberEpoch, 4);
  assert.deepEqual(assigned(a2), { [tid]: [0, 1, 2, 3, 4, 5] });
  const gone = await h.coord.consumerGroupHeartbeat(hb("g", "B", { memberEpoch: 3 }));
  assert.equal(gone.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
});

test("a member without heartbeats for group.consumer.session.timeout.ms is removed", async () => {
  const h = consumerHarness({ t: 6 }, { consumerSessionTimeoutMs: 10_000 });
  const tid = h.topics.topic("t")!.idHex;
  await h.coord.consumerGroupHeartbeat(hb("g", "A"));
  await h.coord.consumerGroupHeartbeat(hb("g", "B"));
  const a = await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: 2 }));
  await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: 2, topicPartitions: owned(assigned(a)!) }));
  let epoch = 3;
  let last = null as Awaited<ReturnType<typeof h.coord.consumerGroupHeartbeat>> | null;
  for (let i = 0; i < 3; i++) {
    await advance(h, 4000);
    last = await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: epoch }));
    assert.equal(last.errorCode, ErrorCode.NONE);
    if (i < 2) assert.equal(last.memberEpoch, 3, "B still counts before 10 s");
    epoch = last.memberEpoch;
  }
  // B never heartbeat again: gone after 10 s; A got everything at the next epoch.
  assert.equal(h.coord.describeConsumerGroup("g").members.length, 1);
  assert.equal(last!.memberEpoch, 4);
  assert.deepEqual(assigned(last!), { [tid]: [0, 1, 2, 3, 4, 5] });
  assert.ok(h.logs.some((l) => l.includes("member B removed: no heartbeat")));
});

test("per-group consumer.session.timeout.ms and consumer.heartbeat.interval.ms override the broker's", async () => {
  const h = consumerHarness({ t: 6 }, {}, { g: { "consumer.session.timeout.ms": "8000", "consumer.heartbeat.interval.ms": "6000" } });
  const a = await h.coord.consumerGroupHeartbeat(hb("g", "A"));
  assert.equal(a.heartbeatIntervalMs, 6000);
  const other = await h.coord.consumerGroupHeartbeat(hb("other", "X"));
  assert.equal(other.heartbeatIntervalMs, 5000, "other groups keep group.consumer.heartbeat.interval.ms");
  await advance(h, 7999);
  assert.equal(h.coord.describeConsumerGroup("g").members.length, 1);
  await advance(h, 2);
  assert.equal(h.coord.describeConsumerGroup("g").members.length, 0, "gone after the group's 8 s session timeout");
  assert.equal(h.coord.describeConsumerGroup("other").members.length, 1, "the broker's 45 s still holds elsewhere");
});

test("a member that does not revoke within its rebalance timeout is fenced", async () => {
  const h = consumerHarness();
  await h.coord.consumerGroupHeartbeat(hb("g", "A", { rebalanceTimeoutMs: 2000 }));
  await h.coord.consumerGroupHeartbeat(hb("g", "B"));
  const a = await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: 2 }));
  assert.equal(countAssigned(a), 3, "A must revoke three partitions");
  await advance(h, 2001);
  const late = await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: 2 }));
  assert.equal(late.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  const b = await h.coord.consumerGroupHeartbeat(hb("g", "B", { memberEpoch: 3 }));
  assert.equal(countAssigned(b), 6);
});

test("static members: UNRELEASED_INSTANCE_ID until the instance leaves with epoch -2, then the new id takes its partitions", async () => {
  const h = consumerHarness();
  const tid = h.topics.topic("t")!.idHex;
  const a = await h.coord.consumerGroupHeartbeat(hb("g", "A1", { instanceId: "i-a" }));
  assert.equal(countAssigned(a), 6);
  const clash = await h.coord.consumerGroupHeartbeat(hb("g", "A2", { instanceId: "i-a" }));
  assert.equal(clash.errorCode, ErrorCode.UNRELEASED_INSTANCE_ID);
  const fenced = await h.coord.consumerGroupHeartbeat(hb("g", "A2", { instanceId: "i-a", memberEpoch: 2 }));
  assert.equal(fenced.errorCode, ErrorCode.FENCED_INSTANCE_ID);
  const leave = await h.coord.consumerGroupHeartbeat(hb("g", "A1", { instanceId: "i-a", memberEpoch: -2 }));
  assert.equal(leave.errorCode, ErrorCode.NONE);
  assert.equal(leave.memberEpoch, -2);
  assert.equal(h.coord.describeConsumerGroup("g").members[0].memberEpoch, -2, "the instance keeps its place");
  const back = await h.coord.consumerGroupHeartbeat(hb("g", "A2", { instanceId: "i-a" }));
  assert.equal(back.errorCode, ErrorCode.NONE);
  assert.deepEqual(assigned(back), { [tid]: [0, 1, 2, 3, 4, 5] }, "the same partitions, no revocation");
  const d = h.coord.describeConsumerGroup("g");
  assert.deepEqual(d.members.map((m) => [m.memberId, m.instanceId]), [["A2", "i-a"]]);
  // Without a heartbeat a temporarily left instance is removed after the session timeout.
  await h.coord.consumerGroupHeartbeat(hb("g", "A2", { instanceId: "i-a", memberEpoch: -2 }));
  await advance(h, 45_001);
  assert.equal(h.coord.describeConsumerGroup("g").members.length, 0);
  assert.equal(h.coord.groupState("g"), "Empty");
});

test("a regex subscription picks up a topic created later, and full-matches like RE2/J", async () => {
  const h = consumerHarness({ "orders-eu": 2, "orders": 1, "other": 3 });
  const eu = h.topics.topic("orders-eu")!.idHex;
  // As in Kafka, the regex is resolved after the heartbeat that brings it; that resolution bumps the group epoch.
  const r0 = await h.coord.consumerGroupHeartbeat(hb("g", "A", { subscribedTopicNames: [], subscribedTopicRegex: "orders-.*" }));
  assert.equal(r0.errorCode, ErrorCode.NONE);
  assert.equal(r0.memberEpoch, 1);
  assert.deepEqual(assigned(r0), {});
  await advance(h, 0);
  const r = await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: 1 }));
  assert.equal(r.memberEpoch, 2);
  assert.deepEqual(assigned(r), { [eu]: [0, 1] }, "'orders' itself does not match orders-.*");
  const us = h.topics.create("orders-us", 3);
  const seen = await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: 2 }));
  assert.equal(seen.memberEpoch, 2, "the new topic is resolved after this heartbeat");
  await advance(h, 0);
  const r2 = await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: 2 }));
  assert.equal(r2.memberEpoch, 3);
  assert.deepEqual(assigned(r2), { [eu]: [0, 1], [us]: [0, 1, 2] });
  const d = h.coord.describeConsumerGroup("g");
  assert.equal(d.members[0].subscribedTopicRegex, "orders-.*");
  // Each resolution is a ConsumerGroupRegularExpression record (key version 16), as Kafka writes it.
  const regexRecords = storedRecords(h).filter((r) => r.type === 16);
  assert.deepEqual(regexRecords.map((r) => [r.group, r.member]), [["g", "orders-.*"], ["g", "orders-.*"]]);
  const last = decodeConsumerGroupValue(16, regexRecords[1].value!);
  assert.deepEqual(last.type === 16 ? last.topics : null, ["orders-eu", "orders-us"]);
  await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: -1 }));
  assert.deepEqual(await h.coord.deleteGroups(["g"]), [{ groupId: "g", errorCode: ErrorCode.NONE }]);
  assert.equal(storedRecords(h).filter((r) => r.type === 16).at(-1)!.value, null, "deleting the group tombstones its regex");
});

test("regexes match in linear time (RE2/J): a pathological one cannot stall the coordinator", async () => {
  const long = "a".repeat(240) + "b";
  const h = consumerHarness({ [long]: 1, "aaa": 1 });
  await h.coord.consumerGroupHeartbeat(hb("g", "A", { subscribedTopicNames: [], subscribedTopicRegex: "(a+)+" }));
  await advance(h, 0);
  const r = await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: 1 }));
  // A backtracking engine would need about 2^240 steps to reject the long name; RE2 needs one pass.
  assert.deepEqual(Object.keys(assigned(r)!), [h.topics.topic("aaa")!.idHex]);
});

test("new partitions of a subscribed topic bump the epoch and get assigned", async () => {
  const h = consumerHarness({ t: 2 });
  const tid = h.topics.topic("t")!.idHex;
  const r = await h.coord.consumerGroupHeartbeat(hb("g", "A"));
  h.topics.create("t", 4);
  const r2 = await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: r.memberEpoch }));
  assert.deepEqual(assigned(r2), { [tid]: [0, 1, 2, 3] });
});

test("group.consumer.max.size caps members with GROUP_MAX_SIZE_REACHED", async () => {
  const h = consumerHarness({ t: 6 }, { consumerMaxSize: 1 });
  await h.coord.consumerGroupHeartbeat(hb("g", "A"));
  const r = await h.coord.consumerGroupHeartbeat(hb("g", "B"));
  assert.equal(r.errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
  assert.equal(r.errorMessage, "The consumer group has reached its maximum capacity of 1 members.");
  const again = await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: 2 }));
  assert.equal(again.errorCode, ErrorCode.NONE);
});

test("the members pick the range assignor by name; uniform spreads a heterogeneous subscription evenly", async () => {
  const h = consumerHarness({ t: 6, u: 3 });
  const t = h.topics.topic("t")!.idHex;
  const u = h.topics.topic("u")!.idHex;
  const a = await h.coord.consumerGroupHeartbeat(hb("r", "A", { serverAssignor: "range", subscribedTopicNames: ["t", "u"] }));
  assert.equal(h.coord.describeConsumerGroup("r").assignorName, "range");
  await h.coord.consumerGroupHeartbeat(hb("r", "A", { memberEpoch: a.memberEpoch, topicPartitions: owned({}) }));
  await h.coord.consumerGroupHeartbeat(hb("r", "B", { serverAssignor: "range", subscribedTopicNames: ["t", "u"] }));
  await h.coord.consumerGroupHeartbeat(hb("r", "A", { memberEpoch: 2, topicPartitions: owned({}) }));
  await h.coord.consumerGroupHeartbeat(hb("r", "A", { memberEpoch: 3, topicPartitions: owned({}) }));
  const d = h.coord.describeConsumerGroup("r");
  const target = Object.fromEntries(d.members.map((m) => [m.memberId, Object.fromEntries(m.targetAssignment.topicPartitions.map((tp) => [tp.topicName, tp.partitions]))]));
  assert.deepEqual(target, { A: { t: [0, 1, 2], u: [0, 1] }, B: { t: [3, 4, 5], u: [2] } });
  // Uniform, heterogeneous: X subscribes to t and u, Y only to t: 9 partitions spread 5/4 or 4/5, u all on X.
  const x = await h.coord.consumerGroupHeartbeat(hb("h", "X", { subscribedTopicNames: ["t", "u"] }));
  await h.coord.consumerGroupHeartbeat(hb("h", "Y", { subscribedTopicNames: ["t"] }));
  await h.coord.consumerGroupHeartbeat(hb("h", "X", { memberEpoch: x.memberEpoch, topicPartitions: owned({}) }));
  const dh = h.coord.describeConsumerGroup("h");
  const size = (id: string) => dh.members.find((m) => m.memberId === id)!.targetAssignment.topicPartitions.reduce((n, tp) => n + tp.partitions.length, 0);
  assert.ok(Math.abs(size("X") - size("Y")) <= 1, `${size("X")} vs ${size("Y")}`);
  const xu = dh.members.find((m) => m.memberId === "X")!.targetAssignment.topicPartitions.find((tp) => tp.topicName === "u");
  assert.deepEqual(xu?.partitions, [0, 1, 2]);
  void t;
  void u;
});

test("uniform is sticky: a third member takes partitions without moving the others' remaining ones", async () => {
  const h = consumerHarness({ t: 6 });
  await h.coord.consumerGroupHeartbeat(hb("g", "A"));
  await h.coord.consumerGroupHeartbeat(hb("g", "B"));
  const before = h.coord.describeConsumerGroup("g").members.map((m) => m.targetAssignment.topicPartitions[0].partitions);
  await h.coord.consumerGroupHeartbeat(hb("g", "C"));
  const after = h.coord.describeConsumerGroup("g").members;
  for (let i = 0; i < 2; i++) {
    const now = after[i].targetAssignment.topicPartitions[0].partitions;
    assert.equal(now.length, 2);
    for (const p of now) assert.ok(before[i].includes(p), `member ${after[i].memberId} keeps ${p}`);
  }
});

test("a restart replays the consumer group records: epochs, members and assignments survive", async () => {
  const h = consumerHarness();
  const tid = h.topics.topic("t")!.idHex;
  await h.coord.consumerGroupHeartbeat(hb("g", "A", { instanceId: "ia" }));
  const b0 = await h.coord.consumerGroupHeartbeat(hb("g", "B", { subscribedTopicNames: null, subscribedTopicRegex: "t" }));
  await advance(h, 0); // B's regex is resolved: the group epoch moves on
  const a = await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: 2, instanceId: "ia" }));
  assert.equal(a.memberEpoch, 2, "A must revoke first");
  const codes = await h.coord.commitOffsets({ groupId: "g", generationId: 2, memberId: "A", groupInstanceId: null, retentionTimeMs: -1, offsets: [{ topic: "t", partition: 0, offset: 42n, leaderEpoch: -1, metadata: "" }] });
  assert.deepEqual(codes, [ErrorCode.NONE]);
  const before = h.coord.describeConsumerGroup("g");
  h.restart();
  const after = h.coord.describeConsumerGroup("g");
  assert.deepEqual(after, before);
  assert.equal(h.coord.fetchOffsets("g", [{ topic: "t", partitions: [0] }]).topics[0].partitions[0].offset, 42n);
  // Members carry on with their epochs after the restart.
  const a2 = await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: 2, instanceId: "ia", topicPartitions: owned(assigned(a)!) }));
  assert.equal(a2.errorCode, ErrorCode.NONE);
  assert.equal(a2.memberEpoch, before.groupEpoch);
  const b = await h.coord.consumerGroupHeartbeat(hb("g", "B", { memberEpoch: b0.memberEpoch }));
  assert.equal(b.errorCode, ErrorCode.NONE);
  assert.equal(countAssigned(b), 3);
  void tid;
});

test("OffsetCommit and OffsetFetch check member epochs (STALE_MEMBER_EPOCH, UNKNOWN_MEMBER_ID)", async () => {
  const h = consumerHarness();
  await h.coord.consumerGroupHeartbeat(hb("g", "A"));
  const commit = (memberId: string, epoch: number, apiVersion = 9) =>
    h.coord.commitOffsets({ groupId: "g", generationId: epoch, memberId, groupInstanceId: null, retentionTimeMs: -1, apiVersion, offsets: [{ topic: "t", partition: 1, offset: 7n, leaderEpoch: -1, metadata: null }] });
  assert.deepEqual(await commit("A", 0), [ErrorCode.STALE_MEMBER_EPOCH]);
  assert.deepEqual(await commit("Z", 1), [ErrorCode.UNKNOWN_MEMBER_ID]);
  assert.deepEqual(await commit("", -1), [ErrorCode.UNKNOWN_MEMBER_ID], "no admin commits into an active group");
  assert.deepEqual(await commit("A", 2, 8), [ErrorCode.UNSUPPORTED_VERSION]);
  assert.deepEqual(await commit("A", 2), [ErrorCode.NONE]);
  assert.equal(h.coord.fetchOffsets("g", null, { memberId: "A", memberEpoch: 0 }).errorCode, ErrorCode.STALE_MEMBER_EPOCH);
  assert.equal(h.coord.fetchOffsets("g", null, { memberId: "Z", memberEpoch: 2 }).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(h.coord.fetchOffsets("g", null, { memberId: "A", memberEpoch: 2 }).topics[0].partitions[0].offset, 7n);
  assert.equal(h.coord.fetchOffsets("g", null, { memberId: null, memberEpoch: -1 }).topics[0].partitions[0].offset, 7n);
  await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: -1 }));
  assert.deepEqual(await commit("", -1), [ErrorCode.NONE], "an empty group takes simple commits");
});

test("ListGroups reports types and states; DescribeGroups calls a consumer group not classic; DeleteGroups needs it empty", async () => {
  const h = consumerHarness();
  await h.coord.consumerGroupHeartbeat(hb("g", "A"));
  await h.coord.commitOffsets({ groupId: "simple", generationId: -1, memberId: "", groupInstanceId: null, retentionTimeMs: -1, offsets: [{ topic: "t", partition: 0, offset: 1n, leaderEpoch: -1, metadata: null }] });
  const all = h.coord.listGroups().map((g) => [g.groupId, g.type, g.state, g.protocolType]).sort();
  assert.deepEqual(all, [["g", "consumer", "Stable", "consumer"], ["simple", "classic", "Empty", ""]]);
  assert.deepEqual(h.coord.listGroups([], ["consumer"]).map((g) => g.groupId), ["g"]);
  assert.deepEqual(h.coord.listGroups(["stable"], []).map((g) => g.groupId), ["g"]);
  const d = h.coord.describeGroup("g");
  assert.equal(d.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  assert.equal(d.errorMessage, "Group g is not a classic group.");
  const cd = h.coord.describeConsumerGroup("simple");
  assert.equal(cd.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  assert.equal(cd.errorMessage, "Group simple is not a consumer group.");
  assert.deepEqual(await h.coord.deleteGroups(["g"]), [{ groupId: "g", errorCode: ErrorCode.NON_EMPTY_GROUP }]);
  await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: -1 }));
  assert.deepEqual(await h.coord.deleteGroups(["g"]), [{ groupId: "g", errorCode: ErrorCode.NONE }]);
  assert.equal(h.coord.groupState("g"), null);
  h.restart();
  assert.equal(h.coord.groupState("g"), null, "the tombstones keep it deleted after a restart");
  assert.equal(h.coord.describeConsumerGroup("g").errorMessage, "Group g not found.");
});

test("conversion: an empty classic group becomes a consumer group (offsets kept) and back", async () => {
  const h = consumerHarness();
  await h.coord.commitOffsets({ groupId: "g", generationId: -1, memberId: "", groupInstanceId: null, retentionTimeMs: -1, offsets: [{ topic: "t", partition: 2, offset: 9n, leaderEpoch: -1, metadata: null }] });
  const r = await h.coord.consumerGroupHeartbeat(hb("g", "A"));
  assert.equal(r.errorCode, ErrorCode.NONE);
  assert.equal(h.coord.listGroups().find((g) => g.groupId === "g")!.type, "consumer");
  assert.equal(h.coord.fetchOffsets("g", [{ topic: "t", partitions: [2] }]).topics[0].partitions[0].offset, 9n);
  h.restart();
  assert.equal(h.coord.listGroups().find((g) => g.groupId === "g")!.type, "consumer");
  assert.equal(h.coord.fetchOffsets("g", [{ topic: "t", partitions: [2] }]).topics[0].partitions[0].offset, 9n);
  // Once empty, a classic JoinGroup converts it back.
  await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: -1 }));
  const join = track(h.coord.joinGroup(joinInput("g", { requireKnownMemberId: false })));
  await advance(h, 0);
  assert.equal(join.value!.errorCode, ErrorCode.NONE);
  assert.equal(h.coord.listGroups().find((g) => g.groupId === "g")!.type, "classic");
  assert.equal(h.coord.fetchOffsets("g", [{ topic: "t", partitions: [2] }]).topics[0].partitions[0].offset, 9n);
  // While the classic group rebalances it is not taken over.
  const refused = await h.coord.consumerGroupHeartbeat(hb("g", "B"));
  assert.equal(refused.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  assert.equal(refused.errorMessage, "Group g is not a consumer group.");
});

/** A Stable classic group "g" of two members (range over t's 6 partitions: 0-2 and 3-5). */
async function stableClassicGroup(h: ReturnType<typeof consumerHarness>) {
  const a = await joinDynamic(h, "g", { protocols: [{ name: "range", metadata: subscription(["t"]) }] });
  const b = await joinDynamic(h, "g", { protocols: [{ name: "range", metadata: subscription(["t"]) }] });
  await advance(h, 0);
  const gen = a.join.value!.generationId;
  const assignments = [
    { memberId: a.memberId, assignment: assignment([{ topic: "t", partitions: [0, 1, 2] }]) },
    { memberId: b.memberId, assignment: assignment([{ topic: "t", partitions: [3, 4, 5] }]) },
  ];
  const leader = a.join.value!.leader === a.memberId ? a.memberId : b.memberId;
  const follower = leader === a.memberId ? b.memberId : a.memberId;
  const fs = h.coord.syncGroup({ groupId: "g", generationId: gen, memberId: follower, groupInstanceId: null, protocolType: "consumer", protocolName: "range", assignments: [] });
  await h.coord.syncGroup({ groupId: "g", generationId: gen, memberId: leader, groupInstanceId: null, protocolType: "consumer", protocolName: "range", assignments });
  await fs;
  assert.equal(h.coord.groupState("g"), "Stable");
  return { a: a.memberId, b: b.memberId, gen };
}

test("online upgrade: a consumer-protocol member converts a Stable classic group; classic members rejoin inside the consumer group", async () => {
  const h = consumerHarness({ t: 6 }, { consumerSessionTimeoutMs: 45_000 });
  const tid = h.topics.topic("t")!.idHex;
  const { a, b, gen } = await stableClassicGroup(h);
  const c = await h.coord.consumerGroupHeartbeat(hb("g", "C"));
  assert.equal(c.errorCode, ErrorCode.NONE);
  assert.equal(h.coord.listGroups().find((g) => g.groupId === "g")!.type, "consumer");
  const d = h.coord.describeConsumerGroup("g");
  assert.equal(d.groupEpoch, gen + 1);
  assert.deepEqual(Object.fromEntries(d.members.filter((m) => m.memberId !== "C").map((m) => [m.memberId, [m.memberEpoch, m.assignment.topicPartitions[0].partitions]])), { [a]: [gen, [0, 1, 2]], [b]: [gen, [3, 4, 5]] });
  assert.deepEqual(assigned(c), {}, "C waits until the classic members release partitions");
  // The classic members learn about the new assignment through their heartbeat and rejoin.
  assert.equal(h.coord.heartbeat({ groupId: "g", generationId: gen, memberId: a, groupInstanceId: null }), ErrorCode.REBALANCE_IN_PROGRESS);
  assert.equal(h.coord.heartbeat({ groupId: "g", generationId: gen + 5, memberId: a, groupInstanceId: null }), ErrorCode.ILLEGAL_GENERATION);
  for (const id of [a, b]) {
    // An eager classic consumer revokes everything before it rejoins (no owned partitions in its subscription).
    const j = await h.coord.joinGroup(joinInput("g", { memberId: id, protocols: [{ name: "range", metadata: subscription(["t"]) }] }));
    assert.equal(j.errorCode, ErrorCode.NONE);
    assert.equal(j.generationId, gen + 1);
    assert.equal(j.leader, "");
    assert.equal(j.protocolName, "range");
    const s = await h.coord.syncGroup({ groupId: "g", generationId: gen + 1, memberId: id, groupInstanceId: null, protocolType: "consumer", protocolName: "range", assignments: [] });
    assert.equal(s.errorCode, ErrorCode.NONE);
    assert.equal(assignedPartitionsOf(s.assignment)![0].partitions.length, 2);
    assert.equal(h.coord.heartbeat({ groupId: "g", generationId: gen + 1, memberId: id, groupInstanceId: null }), ErrorCode.NONE);
  }
  const c2 = await h.coord.consumerGroupHeartbeat(hb("g", "C", { memberEpoch: c.memberEpoch }));
  assert.equal(assigned(c2)![tid].length, 2);
  assert.equal(h.coord.groupState("g"), "Stable");
  // Classic members commit with their member epoch as generation.
  assert.deepEqual(await h.coord.commitOffsets({ groupId: "g", generationId: gen + 1, memberId: a, groupInstanceId: null, retentionTimeMs: -1, apiVersion: 8, offsets: [{ topic: "t", partition: 0, offset: 1n, leaderEpoch: -1, metadata: null }] }), [ErrorCode.NONE]);
  assert.deepEqual(await h.coord.commitOffsets({ groupId: "g", generationId: gen, memberId: a, groupInstanceId: null, retentionTimeMs: -1, apiVersion: 8, offsets: [{ topic: "t", partition: 0, offset: 1n, leaderEpoch: -1, metadata: null }] }), [ErrorCode.ILLEGAL_GENERATION]);
  // The mixed group survives a restart (classic member metadata is persisted).
  const before = h.coord.describeConsumerGroup("g");
  h.restart();
  assert.deepEqual(h.coord.describeConsumerGroup("g"), before);
  assert.equal(h.coord.heartbeat({ groupId: "g", generationId: gen + 1, memberId: a, groupInstanceId: null }), ErrorCode.NONE);

  // Online downgrade: the last consumer-protocol member leaves; the classic members get a classic group back.
  await h.coord.consumerGroupHeartbeat(hb("g", "C", { memberEpoch: -1 }));
  assert.equal(h.coord.listGroups().find((g) => g.groupId === "g")!.type, "classic");
  assert.equal(h.coord.groupState("g"), "PreparingRebalance");
  assert.equal(h.coord.fetchOffsets("g", [{ topic: "t", partitions: [0] }]).topics[0].partitions[0].offset, 1n);
  const ja = track(h.coord.joinGroup(joinInput("g", { memberId: a })));
  const jb = track(h.coord.joinGroup(joinInput("g", { memberId: b })));
  await flush();
  assert.ok(ja.done && jb.done);
  assert.equal(ja.value!.errorCode, ErrorCode.NONE);
  assert.equal(h.coord.groupState("g"), "CompletingRebalance");
});

test("group.consumer.migration.policy=disabled keeps a non-empty classic group classic", async () => {
  const h = consumerHarness({ t: 6 }, { consumerMigrationPolicy: "disabled" });
  await stableClassicGroup(h);
  const c = await h.coord.consumerGroupHeartbeat(hb("g", "C"));
  assert.equal(c.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  assert.equal(c.errorMessage, "Group g is not a consumer group.");
  assert.equal(h.coord.listGroups().find((g) => g.groupId === "g")!.type, "classic");
});

test("offsets of a consumer group expire like Kafka's: unsubscribed topics while members remain, everything once empty", async () => {
  const h = consumerHarness({ t: 2, u: 1 }, { offsetsRetentionMs: 60_000, offsetsRetentionCheckIntervalMs: 0, consumerSessionTimeoutMs: 120_000 });
  await h.coord.consumerGroupHeartbeat(hb("g", "A"));
  const commit = (topic: string, memberId: string, epoch: number) =>
    h.coord.commitOffsets({ groupId: "g", generationId: epoch, memberId, groupInstanceId: null, retentionTimeMs: -1, apiVersion: 9, offsets: [{ topic, partition: 0, offset: 1n, leaderEpoch: -1, metadata: null }] });
  assert.deepEqual(await commit("t", "A", 2), [ErrorCode.NONE]);
  assert.deepEqual(await commit("u", "A", 2), [ErrorCode.NONE], "a member may commit any topic");
  await advance(h, 60_001);
  await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: 2 }));
  assert.equal(await h.coord.expireOffsets(), 1, "u is not subscribed: it expires");
  assert.deepEqual(h.coord.fetchOffsets("g", null).topics.map((t) => t.topic), ["t"]);
  await h.coord.consumerGroupHeartbeat(hb("g", "A", { memberEpoch: -1 }));
  await advance(h, 59_000);
  assert.equal(await h.coord.expireOffsets(), 0, "the retention runs from when the group became empty");
  await advance(h, 1_001);
  assert.equal(await h.coord.expireOffsets(), 1);
  assert.deepEqual(h.coord.fetchOffsets("g", null).topics, []);
});

test("classic members of a consumer group must rejoin and sync within their rebalance timeout", async () => {
  const h = consumerHarness({ t: 6 }, { consumerSessionTimeoutMs: 60_000 });
  const { a, b, gen } = await stableClassicGroup(h);
  await h.coord.consumerGroupHeartbeat(hb("g", "C"));
  assert.equal(h.coord.heartbeat({ groupId: "g", generationId: gen, memberId: a, groupInstanceId: null }), ErrorCode.REBALANCE_IN_PROGRESS);
  assert.equal(h.coord.heartbeat({ groupId: "g", generationId: gen, memberId: b, groupInstanceId: null }), ErrorCode.REBALANCE_IN_PROGRESS);
  // a rejoins (but never syncs); b never rejoins. Both keep heartbeating, so only the deadlines can remove them.
  const j = await h.coord.joinGroup(joinInput("g", { memberId: a, protocols: [{ name: "range", metadata: subscription(["t"]) }] }));
  assert.equal(j.errorCode, ErrorCode.NONE);
  for (let t = 0; t < 25_000; t += 5000) {
    await advance(h, 5000);
    h.coord.heartbeat({ groupId: "g", generationId: j.generationId, memberId: a, groupInstanceId: null });
    h.coord.heartbeat({ groupId: "g", generationId: gen, memberId: b, groupInstanceId: null });
  }
  assert.equal(h.coord.describeConsumerGroup("g").members.length, 3, "heartbeats keep their sessions alive");
  await advance(h, 5001);
  const left = h.coord.describeConsumerGroup("g").members.map((m) => m.memberId);
  assert.deepEqual(left, ["C"], "both classic members missed their 30 s rebalance timeout");
  assert.ok(h.logs.some((l) => l.includes(`member ${a} removed: did not send SyncGroup`)));
  assert.ok(h.logs.some((l) => l.includes(`member ${b} removed: did not rejoin`)));
});

test("OffsetDelete on a consumer group refuses subscribed topics and deletes the others", async () => {
  const h = consumerHarness({ t: 1, u: 1 });
  await h.coord.consumerGroupHeartbeat(hb("g", "A"));
  for (const topic of ["t", "u"]) {
    assert.deepEqual(await h.coord.commitOffsets({ groupId: "g", generationId: 2, memberId: "A", groupInstanceId: null, retentionTimeMs: -1, apiVersion: 9, offsets: [{ topic, partition: 0, offset: 3n, leaderEpoch: -1, metadata: null }] }), [ErrorCode.NONE]);
  }
  const r = await h.coord.deleteOffsets("g", [{ topic: "t", partitions: [0] }, { topic: "u", partitions: [0] }]);
  assert.deepEqual(r.topics.map((t) => [t.topic, t.partitions[0].errorCode]), [["t", ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC], ["u", ErrorCode.NONE]]);
  assert.deepEqual(h.coord.fetchOffsets("g", null).topics.map((t) => t.topic), ["t"]);
  h.restart();
  assert.deepEqual(h.coord.fetchOffsets("g", null).topics.map((t) => t.topic), ["t"], "the deletion is a tombstone");
});
