/**
 * Static membership (`group.instance.id`, KIP-345): a restarted instance rejoining within its session timeout gets a
 * new member id and its old assignment without rebalancing the others; its old id is fenced; a leader gets
 * skipAssignment (KIP-814); silence past the session timeout still removes it; admins can remove it by instance id.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { advance, assignment, flush, harness, joinInput, track, type Harness } from "./coordinator-harness.ts";

const SESSION = 10_000;

async function staticGroup(h: Harness) {
  const opts = (id: string) => ({ groupInstanceId: id, sessionTimeoutMs: SESSION });
  // Static members get their member id on the first JoinGroup (no MEMBER_ID_REQUIRED round trip).
  const a = track(h.coord.joinGroup(joinInput("g", opts("inst-a"))));
  const b = track(h.coord.joinGroup(joinInput("g", opts("inst-b"))));
  await advance(h, 0);
  assert.equal(a.value!.errorCode, ErrorCode.NONE);
  const A = a.value!.memberId;
  const B = b.value!.memberId;
  assert.match(A, /^inst-a-/);
  const leader = a.value!.leader;
  const aA = assignment([{ topic: "t", partitions: [0, 1] }]);
  const aB = assignment([{ topic: "t", partitions: [2, 3] }]);
  const byId = new Map([[A, aA], [B, aB]]);
  const follower = leader === A ? B : A;
  const fs = track(h.coord.syncGroup({ groupId: "g", generationId: 1, memberId: follower, groupInstanceId: follower === A ? "inst-a" : "inst-b", protocolType: null, protocolName: null, assignments: [] }));
  await h.coord.syncGroup({
    groupId: "g",
    generationId: 1,
    memberId: leader,
    groupInstanceId: leader === A ? "inst-a" : "inst-b",
    protocolType: null,
    protocolName: null,
    assignments: [...byId].map(([memberId, assignment]) => ({ memberId, assignment })),
  });
  await flush();
  assert.ok(fs.done);
  assert.equal(h.coord.groupState("g"), "Stable");
  return { A, B, aA, aB, leader };
}

test("a static member restarting within its session timeout gets its old assignment without a rebalance", async () => {
  const h = harness();
  const { A, B, aA, aB, leader } = await staticGroup(h);
  const restarted = leader === A ? "inst-b" : "inst-a";
  const oldId = restarted === "inst-a" ? A : B;
  const otherId = restarted === "inst-a" ? B : A;
  await advance(h, 6000);
  h.coord.heartbeat({ groupId: "g", generationId: 1, memberId: otherId, groupInstanceId: restarted === "inst-a" ? "inst-b" : "inst-a" });
  const j = await h.coord.joinGroup(joinInput("g", { groupInstanceId: restarted, sessionTimeoutMs: SESSION }));
  assert.equal(j.errorCode, ErrorCode.NONE);
  assert.notEqual(j.memberId, oldId);
  assert.equal(j.generationId, 1, "same generation: no rebalance");
  assert.equal(j.members.length, 0);
  assert.equal(h.coord.groupState("g"), "Stable");
  const s = await h.coord.syncGroup({ groupId: "g", generationId: 1, memberId: j.memberId, groupInstanceId: restarted, protocolType: null, protocolName: null, assignments: [] });
  assert.equal(s.errorCode, ErrorCode.NONE);
  assert.deepEqual(s.assignment, restarted === "inst-a" ? aA : aB);
  // The other member never noticed anything.
  assert.equal(h.coord.heartbeat({ groupId: "g", generationId: 1, memberId: otherId, groupInstanceId: restarted === "inst-a" ? "inst-b" : "inst-a" }), ErrorCode.NONE);
  // The previous incarnation is fenced.
  assert.equal(h.coord.heartbeat({ groupId: "g", generationId: 1, memberId: oldId, groupInstanceId: restarted }), ErrorCode.FENCED_INSTANCE_ID);
  const c = await h.coord.commitOffsets({ groupId: "g", generationId: 1, memberId: oldId, groupInstanceId: restarted, retentionTimeMs: -1, offsets: [{ topic: "t", partition: 0, offset: 5n, leaderEpoch: -1, metadata: null }] });
  assert.deepEqual(c, [ErrorCode.FENCED_INSTANCE_ID]);
});

test("a restarted static leader is told to skip the assignment (v9+) and an old client gets the old leader id", async () => {
  const h = harness();
  const { A, B, leader } = await staticGroup(h);
  const inst = leader === A ? "inst-a" : "inst-b";
  const j = await h.coord.joinGroup(joinInput("g", { groupInstanceId: inst, sessionTimeoutMs: SESSION }));
  assert.equal(j.skipAssignment, true);
  assert.equal(j.leader, j.memberId);
  assert.equal(j.members.length, 2);
  assert.ok(j.members.every((m) => m.groupInstanceId !== null));
  const j2 = await h.coord.joinGroup(joinInput("g", { groupInstanceId: inst, sessionTimeoutMs: SESSION, supportsSkipAssignment: false }));
  assert.equal(j2.skipAssignment, false);
  assert.equal(j2.leader, j.memberId, "the leader id before this rejoin");
  assert.equal(j2.members.length, 0);
  assert.notEqual(j2.memberId, j.memberId);
  assert.equal(h.coord.groupState("g"), "Stable");
  void B;
});

test("a static member silent past its session timeout is removed and the group rebalances", async () => {
  const h = harness();
  const { A, B } = await staticGroup(h);
  for (let i = 0; i < 4; i++) {
    await advance(h, 3000);
    h.coord.heartbeat({ groupId: "g", generationId: 1, memberId: A, groupInstanceId: "inst-a" });
  }
  assert.equal(h.coord.groupState("g"), "PreparingRebalance");
  assert.equal(h.coord.heartbeat({ groupId: "g", generationId: 1, memberId: B, groupInstanceId: "inst-b" }), ErrorCode.UNKNOWN_MEMBER_ID);
});

test("a static member with a known member id but a different instance id is fenced", async () => {
  const h = harness();
  const { A } = await staticGroup(h);
  assert.equal(h.coord.heartbeat({ groupId: "g", generationId: 1, memberId: A, groupInstanceId: "inst-b" }), ErrorCode.FENCED_INSTANCE_ID);
  const j = await h.coord.joinGroup(joinInput("g", { memberId: A, groupInstanceId: "inst-b" }));
  assert.equal(j.errorCode, ErrorCode.FENCED_INSTANCE_ID);
  const l = h.coord.leaveGroup("g", [{ memberId: A, groupInstanceId: "inst-b" }]);
  assert.equal(l.members[0].errorCode, ErrorCode.FENCED_INSTANCE_ID);
});

test("an admin removes static members by instance id (LeaveGroup v3+ with no member id)", async () => {
  const h = harness();
  const { B } = await staticGroup(h);
  const l = h.coord.leaveGroup("g", [
    { memberId: "", groupInstanceId: "inst-b" },
    { memberId: "", groupInstanceId: "inst-zzz" },
  ]);
  assert.deepEqual(l.members.map((m) => m.errorCode), [ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID]);
  assert.equal(h.coord.heartbeat({ groupId: "g", generationId: 1, memberId: B, groupInstanceId: "inst-b" }), ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(h.coord.groupState("g"), "PreparingRebalance");
});

test("a static member rejoining during CompletingRebalance forces a new rebalance; the replaced id's parked sync is fenced", async () => {
  const h = harness();
  const a = track(h.coord.joinGroup(joinInput("g", { groupInstanceId: "inst-a" })));
  const b = track(h.coord.joinGroup(joinInput("g", { groupInstanceId: "inst-b" })));
  await advance(h, 0);
  const leader = a.value!.leader;
  const followerInst = leader === a.value!.memberId ? "inst-b" : "inst-a";
  const followerId = leader === a.value!.memberId ? b.value!.memberId : a.value!.memberId;
  const parked = track(h.coord.syncGroup({ groupId: "g", generationId: 1, memberId: followerId, groupInstanceId: followerInst, protocolType: null, protocolName: null, assignments: [] }));
  await flush();
  const again = track(h.coord.joinGroup(joinInput("g", { groupInstanceId: followerInst })));
  await flush();
  assert.equal(parked.value!.errorCode, ErrorCode.FENCED_INSTANCE_ID);
  assert.equal(h.coord.groupState("g"), "PreparingRebalance");
  const lj = track(h.coord.joinGroup(joinInput("g", { memberId: leader, groupInstanceId: followerInst === "inst-a" ? "inst-b" : "inst-a" })));
  await flush();
  assert.ok(lj.done && again.done);
  assert.equal(again.value!.generationId, 2);
});
