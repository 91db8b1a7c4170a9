/**
 * The classic group state machine on a manual clock: joining (MEMBER_ID_REQUIRED, leader election, protocol
 * selection), the sync phase, and the error codes for stale generations, unknown members and bad requests.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { advance, assignment, flush, harness, joinDynamic, joinInput, subscription, track } from "./coordinator-harness.ts";

test("a first JoinGroup v4+ gets MEMBER_ID_REQUIRED with a client-id based member id", async () => {
  const h = harness();
  const r = await h.coord.joinGroup(joinInput("g", { clientId: "app" }));
  assert.equal(r.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  assert.equal(r.memberId, "app-uuid1");
  assert.equal(r.generationId, -1);
});

test("one member joins, becomes leader, syncs its assignment and the group is Stable", async () => {
  const h = harness();
  const { memberId, join } = await joinDynamic(h, "g");
  await advance(h, 0); // initial rebalance delay 0
  assert.ok(join.done);
  const j = join.value!;
  assert.equal(j.errorCode, ErrorCode.NONE);
  assert.equal(j.generationId, 1);
  assert.equal(j.leader, memberId);
  assert.equal(j.protocolName, "range");
  assert.equal(j.protocolType, "consumer");
  assert.deepEqual(j.members.map((m) => m.memberId), [memberId]);
  assert.equal(h.coord.groupState("g"), "CompletingRebalance");
  const a = assignment([{ topic: "t", partitions: [0, 1] }]);
  const s = await h.coord.syncGroup({ groupId: "g", generationId: 1, memberId, groupInstanceId: null, protocolType: "consumer", protocolName: "range", assignments: [{ memberId, assignment: a }] });
  assert.equal(s.errorCode, ErrorCode.NONE);
  assert.deepEqual(s.assignment, a);
  assert.equal(h.coord.groupState("g"), "Stable");
  assert.equal(h.coord.heartbeat({ groupId: "g", generationId: 1, memberId, groupInstanceId: null }), ErrorCode.NONE);
});

test("JoinGroup v0-v3 adds the member directly without MEMBER_ID_REQUIRED", async () => {
  const h = harness();
  const join = track(h.coord.joinGroup(joinInput("g", { requireKnownMemberId: false })));
  await advance(h, 0);
  assert.equal(join.value!.errorCode, ErrorCode.NONE);
  assert.equal(join.value!.memberId, "client-uuid1");
  assert.equal(join.value!.generationId, 1);
});

test("the initial rebalance delay waits for more members, extended while new ones arrive", async () => {
  const h = harness({ initialRebalanceDelayMs: 3000 });
  const a = await joinDynamic(h, "g");
  await advance(h, 2000);
  const b = await joinDynamic(h, "g");
  await advance(h, 1500); // first delay expired, but a member was added: extended
  assert.equal(a.join.done, false);
  await advance(h, 3000);
  assert.ok(a.join.done && b.join.done);
  assert.equal(a.join.value!.generationId, 1);
  assert.equal(a.join.value!.members.length, 2, "the leader sees both members");
  assert.equal(b.join.value!.members.length, 0, "followers get no member list");
});

test("a second member triggers a rebalance; followers wait for the leader's SyncGroup", async () => {
  const h = harness();
  const a = await joinDynamic(h, "g");
  await advance(h, 0);
  const A = a.memberId;
  await h.coord.syncGroup({ groupId: "g", generationId: 1, memberId: A, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
  const b = await joinDynamic(h, "g");
  assert.equal(h.coord.groupState("g"), "PreparingRebalance");
  assert.equal(h.coord.heartbeat({ groupId: "g", generationId: 1, memberId: A, groupInstanceId: null }), ErrorCode.REBALANCE_IN_PROGRESS);
  // Syncing during the join phase is refused.
  const early = await h.coord.syncGroup({ groupId: "g", generationId: 1, memberId: A, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
  assert.equal(early.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
  const rejoin = track(h.coord.joinGroup(joinInput("g", { memberId: A })));
  await flush();
  assert.ok(rejoin.done && b.join.done);
  assert.equal(rejoin.value!.generationId, 2);
  assert.equal(rejoin.value!.leader, A, "the old leader stays leader");
  const B = b.memberId;
  const follower = track(h.coord.syncGroup({ groupId: "g", generationId: 2, memberId: B, groupInstanceId: null, protocolType: "consumer", protocolName: "range", assignments: [] }));
  await flush();
  assert.equal(follower.done, false, "a follower waits for the leader");
  assert.equal(h.coord.heartbeat({ groupId: "g", generationId: 2, memberId: B, groupInstanceId: null }), ErrorCode.NONE, "heartbeats are fine while completing");
  const aA = assignment([{ topic: "t", partitions: [0] }]);
  const aB = assignment([{ topic: "t", partitions: [1] }]);
  const leader = await h.coord.syncGroup({ groupId: "g", generationId: 2, memberId: A, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [{ memberId: A, assignment: aA }, { memberId: B, assignment: aB }] });
  await flush();
  assert.deepEqual(leader.assignment, aA);
  assert.ok(follower.done);
  assert.deepEqual(follower.value!.assignment, aB);
  assert.equal(follower.value!.protocolName, "range");
  assert.equal(h.coord.groupState("g"), "Stable");
});

test("DescribeGroups shows the assignment members keep while a rebalance runs, as Kafka does", async () => {
  // Found by tests/oracle/classic-groups-random-match-kafka: Kafka describes members outside Stable without their
  // metadata but with the assignment they hold (ClassicGroupMember.describeNoMetadata); it is emptied only when a
  // rebalance starts from CompletingRebalance.
  const h = harness();
  const a = await joinDynamic(h, "g");
  await advance(h, 0);
  const A = a.memberId;
  const aA = assignment([{ topic: "t", partitions: [0, 1] }]);
  await h.coord.syncGroup({ groupId: "g", generationId: 1, memberId: A, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [{ memberId: A, assignment: aA }] });
  const b = await joinDynamic(h, "g");
  const held = h.coord.describeGroup("g");
  assert.equal(held.state, "PreparingRebalance");
  assert.deepEqual(held.members.find((m) => m.memberId === A)!.assignment, aA);
  assert.deepEqual(held.members.find((m) => m.memberId === A)!.metadata, new Uint8Array(0), "no metadata outside Stable");
  assert.deepEqual(held.members.find((m) => m.memberId === b.memberId)!.assignment, new Uint8Array(0));
  track(h.coord.joinGroup(joinInput("g", { memberId: A })));
  await flush();
  const completing = h.coord.describeGroup("g");
  assert.equal(completing.state, "CompletingRebalance");
  assert.deepEqual(completing.members.find((m) => m.memberId === A)!.assignment, aA);
});

test("the last member leaving while a MEMBER_ID_REQUIRED member is pending empties the group at once, as Kafka does", async () => {
  // Found by tests/oracle/classic-groups-random-match-kafka: a JoinGroup right after the leave got generation 2
  // (the old generation's rebalance) where Kafka answers 3 (the group was Empty at generation 2 already).
  const h = harness();
  const pending = await h.coord.joinGroup(joinInput("g"));
  assert.equal(pending.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  const a = track(h.coord.joinGroup(joinInput("g", { requireKnownMemberId: false })));
  await advance(h, 0);
  assert.equal(a.value!.generationId, 1);
  h.coord.leaveGroup("g", [{ memberId: a.value!.memberId, groupInstanceId: null, reason: null }]);
  assert.equal(h.coord.groupState("g"), "Empty", "no timer needed to empty the group");
  const s = track(h.coord.joinGroup(joinInput("g", { groupInstanceId: "static" })));
  await advance(h, 0);
  assert.equal(s.value!.generationId, 3);
});

test("a group a JoinGroup created stays listed Empty after a join that fails, as Kafka keeps it", async () => {
  // Found by tests/oracle/classic-groups-random-match-kafka: Kafka 4.4 writes an empty group's metadata for a group a
  // JoinGroup creates and lists it Empty until DeleteGroups or the offsets retention sweep; Runnel forgot such a group
  // at the end of any JoinGroup that left it holding nothing.
  const h = harness();
  const pending = await h.coord.joinGroup(joinInput("g"));
  assert.equal(pending.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  assert.equal(h.coord.leaveGroup("g", [{ memberId: pending.memberId, groupInstanceId: null, reason: null }]).members[0].errorCode, ErrorCode.NONE);
  const bogus = await h.coord.joinGroup(joinInput("g", { memberId: "nobody", groupInstanceId: "static" }));
  assert.equal(bogus.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(h.coord.groupState("g"), "Empty");
  assert.deepEqual(h.coord.listGroups(["Empty"]).map((g) => g.groupId), ["g"]);
});

test("stale generations, unknown members and unknown groups get Kafka's error codes", async () => {
  const h = harness();
  const a = await joinDynamic(h, "g");
  await advance(h, 0);
  const A = a.memberId;
  await h.coord.syncGroup({ groupId: "g", generationId: 1, memberId: A, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
  const hb = (over: object) => h.coord.heartbeat({ groupId: "g", generationId: 1, memberId: A, groupInstanceId: null, ...over });
  assert.equal(hb({ generationId: 0 }), ErrorCode.ILLEGAL_GENERATION);
  assert.equal(hb({ generationId: 7 }), ErrorCode.ILLEGAL_GENERATION);
  assert.equal(hb({ memberId: "nobody" }), ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(hb({ groupId: "other" }), ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(hb({ groupId: "" }), ErrorCode.INVALID_GROUP_ID);
  assert.equal(hb({ groupInstanceId: "x" }), ErrorCode.UNKNOWN_MEMBER_ID);
  const sync = (over: object) =>
    h.coord.syncGroup({ groupId: "g", generationId: 1, memberId: A, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [], ...over });
  assert.equal((await sync({ generationId: 2 })).errorCode, ErrorCode.ILLEGAL_GENERATION);
  assert.equal((await sync({ memberId: "nobody" })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal((await sync({ groupId: "other" })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal((await sync({ protocolName: "roundrobin" })).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal((await sync({ protocolType: "connect" })).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  const join = (over: object) => h.coord.joinGroup(joinInput("g", over));
  assert.equal((await join({ memberId: "nobody" })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal((await h.coord.joinGroup(joinInput("nogroup", { memberId: "m" }))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal((await join({ sessionTimeoutMs: 1000 })).errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
  assert.equal((await join({ sessionTimeoutMs: 1_800_001 })).errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
  assert.equal((await join({ protocolType: "connect" })).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal((await join({ protocols: [{ name: "roundrobin", metadata: subscription(["t"]) }] })).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal((await h.coord.joinGroup(joinInput(""))).errorCode, ErrorCode.INVALID_GROUP_ID);
  assert.equal((await h.coord.joinGroup(joinInput("fresh", { protocols: [] }))).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal(h.coord.groupState("fresh"), "Empty", "a group created by a failed join is kept, as Kafka 4.4 keeps it");
  const leave = h.coord.leaveGroup("g", [{ memberId: "nobody", groupInstanceId: null }]);
  assert.equal(leave.errorCode, ErrorCode.NONE);
  assert.equal(leave.members[0].errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  const leaveUnknownGroup = h.coord.leaveGroup("nope", [{ memberId: "m", groupInstanceId: null }]);
  assert.equal(leaveUnknownGroup.members[0].errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
});

test("the protocol all members support with the most first-choice votes is selected", async () => {
  const h = harness();
  const p = (...names: string[]) => names.map((name) => ({ name, metadata: subscription(["t"]) }));
  const a = await joinDynamic(h, "g", { protocols: p("roundrobin", "range") });
  const b = await joinDynamic(h, "g", { protocols: p("range", "roundrobin", "sticky") });
  const c = await joinDynamic(h, "g", { protocols: p("range", "roundrobin") });
  await advance(h, 0);
  assert.equal(a.join.value!.protocolName, "range");
  assert.equal(b.join.value!.protocolName, "range");
  assert.equal(c.join.value!.generationId, 1);
  // A member that supports none of the group's candidate protocols cannot join.
  const d = await h.coord.joinGroup(joinInput("g", { protocols: p("sticky") }));
  assert.equal(d.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
});

test("LeaveGroup removes members (batched, v3+) and the rest rebalance; the last one leaving empties the group", async () => {
  const h = harness();
  const a = await joinDynamic(h, "g");
  const b = await joinDynamic(h, "g");
  const c = await joinDynamic(h, "g");
  await advance(h, 0);
  const [A, B, C] = [a.memberId, b.memberId, c.memberId];
  await h.coord.syncGroup({ groupId: "g", generationId: 1, memberId: A, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
  const r = h.coord.leaveGroup("g", [
    { memberId: B, groupInstanceId: null },
    { memberId: C, groupInstanceId: null, reason: "shutdown" },
    { memberId: "ghost", groupInstanceId: null },
  ]);
  assert.deepEqual(r.members.map((m) => m.errorCode), [ErrorCode.NONE, ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID]);
  assert.equal(h.coord.groupState("g"), "PreparingRebalance");
  const rejoin = track(h.coord.joinGroup(joinInput("g", { memberId: A })));
  await flush();
  assert.equal(rejoin.value!.generationId, 2);
  assert.deepEqual(rejoin.value!.members.map((m) => m.memberId), [A]);
  await h.coord.syncGroup({ groupId: "g", generationId: 2, memberId: A, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
  h.coord.leaveGroup("g", [{ memberId: A, groupInstanceId: null }]);
  await flush();
  assert.equal(h.coord.groupState("g"), "Empty");
  assert.equal(h.coord.heartbeat({ groupId: "g", generationId: 3, memberId: A, groupInstanceId: null }), ErrorCode.UNKNOWN_MEMBER_ID);
});

test("a member that fails to rejoin within the rebalance timeout is dropped and the others proceed", async () => {
  const h = harness();
  const a = await joinDynamic(h, "g", { rebalanceTimeoutMs: 20_000, sessionTimeoutMs: 30_000 });
  const b = await joinDynamic(h, "g", { rebalanceTimeoutMs: 20_000, sessionTimeoutMs: 30_000 });
  await advance(h, 0);
  const [A, B] = [a.memberId, b.memberId];
  await h.coord.syncGroup({ groupId: "g", generationId: 1, memberId: A, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
  await h.coord.syncGroup({ groupId: "g", generationId: 1, memberId: B, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
  const c = await joinDynamic(h, "g", { rebalanceTimeoutMs: 20_000, sessionTimeoutMs: 30_000 });
  const rejoinA = track(h.coord.joinGroup(joinInput("g", { memberId: A, rebalanceTimeoutMs: 20_000, sessionTimeoutMs: 30_000 })));
  // B keeps heartbeating but never rejoins.
  for (let i = 0; i < 6; i++) {
    await advance(h, 3000);
    if (!rejoinA.done) assert.equal(h.coord.heartbeat({ groupId: "g", generationId: 1, memberId: B, groupInstanceId: null }), ErrorCode.REBALANCE_IN_PROGRESS);
  }
  assert.equal(rejoinA.done, false);
  await advance(h, 2000); // 20 s rebalance timeout
  assert.ok(rejoinA.done && c.join.done);
  assert.equal(rejoinA.value!.generationId, 2);
  assert.deepEqual(new Set(rejoinA.value!.members.map((m) => m.memberId)), new Set([A, c.memberId]));
  assert.equal(h.coord.heartbeat({ groupId: "g", generationId: 2, memberId: B, groupInstanceId: null }), ErrorCode.UNKNOWN_MEMBER_ID);
});

test("group.max.size refuses new members with GROUP_MAX_SIZE_REACHED", async () => {
  const h = harness({ maxSize: 2 });
  await joinDynamic(h, "g");
  await joinDynamic(h, "g");
  await advance(h, 0);
  const third = await h.coord.joinGroup(joinInput("g"));
  assert.equal(third.errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
  assert.equal(third.memberId, "");
  // While the join phase is open, members beyond the limit are refused too.
  const h2 = harness({ maxSize: 2, initialRebalanceDelayMs: 1000 });
  const p1 = await h2.coord.joinGroup(joinInput("g"));
  const p2 = await h2.coord.joinGroup(joinInput("g"));
  const p3 = await h2.coord.joinGroup(joinInput("g"));
  assert.deepEqual([p1, p2, p3].map((p) => p.errorCode), [79, 79, 79], "ids are handed out before the limit applies");
  track(h2.coord.joinGroup(joinInput("g", { memberId: p1.memberId })));
  track(h2.coord.joinGroup(joinInput("g", { memberId: p2.memberId })));
  const refused = await h2.coord.joinGroup(joinInput("g", { memberId: p3.memberId }));
  assert.equal(refused.errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
});

test("a retried JoinGroup during CompletingRebalance gets the same generation back", async () => {
  const h = harness();
  const a = await joinDynamic(h, "g");
  await advance(h, 0);
  const again = await h.coord.joinGroup(joinInput("g", { memberId: a.memberId }));
  assert.equal(again.errorCode, ErrorCode.NONE);
  assert.equal(again.generationId, 1);
  assert.equal(again.leader, a.memberId);
  assert.equal(again.members.length, 1);
  assert.equal(h.coord.groupState("g"), "CompletingRebalance");
});

test("a follower rejoining a Stable group with unchanged metadata gets the current generation without a rebalance", async () => {
  const h = harness();
  const a = await joinDynamic(h, "g");
  const b = await joinDynamic(h, "g");
  await advance(h, 0);
  const follower = a.join.value!.leader === a.memberId ? b.memberId : a.memberId;
  const leader = a.join.value!.leader;
  await h.coord.syncGroup({ groupId: "g", generationId: 1, memberId: leader, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
  const r = await h.coord.joinGroup(joinInput("g", { memberId: follower }));
  assert.equal(r.generationId, 1);
  assert.equal(h.coord.groupState("g"), "Stable");
  // Changed subscription: rebalance.
  const changed = track(h.coord.joinGroup(joinInput("g", { memberId: follower, protocols: [{ name: "range", metadata: subscription(["t", "u"]) }] })));
  await flush();
  assert.equal(changed.done, false);
  assert.equal(h.coord.groupState("g"), "PreparingRebalance");
});
