/**
 * Time-driven behaviour of the coordinator on a manual clock: session expiry removes silent members and the
 * survivors rebalance; pending MEMBER_ID_REQUIRED ids expire; members that never send SyncGroup are removed; a
 * new member's parked JoinGroup expires.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { advance, flush, harness, joinDynamic, joinInput, track, type Harness } from "./coordinator-harness.ts";

async function stableGroupOfTwo(h: Harness, session = 10_000) {
  const a = await joinDynamic(h, "g", { sessionTimeoutMs: session });
  const b = await joinDynamic(h, "g", { sessionTimeoutMs: session });
  await advance(h, 0);
  const leader = a.join.value!.leader;
  const [A, B] = [a.memberId, b.memberId];
  await h.coord.syncGroup({ groupId: "g", generationId: 1, memberId: leader, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
  await h.coord.syncGroup({ groupId: "g", generationId: 1, memberId: leader === A ? B : A, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
  assert.equal(h.coord.groupState("g"), "Stable");
  return { A, B };
}

test("a member without heartbeats for session.timeout.ms is removed and the others rebalance", async () => {
  const h = harness();
  const { A, B } = await stableGroupOfTwo(h);
  for (let i = 0; i < 3; i++) {
    await advance(h, 3000);
    assert.equal(h.coord.heartbeat({ groupId: "g", generationId: 1, memberId: A, groupInstanceId: null }), ErrorCode.NONE);
  }
  assert.equal(h.coord.groupState("g"), "Stable");
  await advance(h, 1001);
  // B was silent for more than 10 s: gone, and the group is rebalancing.
  assert.equal(h.coord.groupState("g"), "PreparingRebalance");
  assert.equal(h.coord.heartbeat({ groupId: "g", generationId: 1, memberId: A, groupInstanceId: null }), ErrorCode.REBALANCE_IN_PROGRESS);
  assert.equal(h.coord.heartbeat({ groupId: "g", generationId: 1, memberId: B, groupInstanceId: null }), ErrorCode.UNKNOWN_MEMBER_ID);
  const rejoin = track(h.coord.joinGroup(joinInput("g", { memberId: A })));
  await flush();
  assert.ok(rejoin.done);
  assert.equal(rejoin.value!.generationId, 2);
  assert.deepEqual(rejoin.value!.members.map((m) => m.memberId), [A]);
  assert.ok(h.logs.some((l) => l.includes(`member ${B} failed`)));
});

test("heartbeats keep a member alive for many session timeouts; offset commits do not", async () => {
  const h = harness();
  const { A, B } = await stableGroupOfTwo(h);
  const commit = () =>
    h.coord.commitOffsets({ groupId: "g", generationId: 1, memberId: B, groupInstanceId: null, retentionTimeMs: -1, offsets: [{ topic: "t", partition: 0, offset: 1n, leaderEpoch: -1, metadata: null }] });
  for (let i = 0; i < 3; i++) {
    await advance(h, 3000);
    assert.equal(h.coord.heartbeat({ groupId: "g", generationId: 1, memberId: A, groupInstanceId: null }), ErrorCode.NONE);
    assert.deepEqual(await commit(), [ErrorCode.NONE]);
  }
  await advance(h, 1001);
  assert.equal(h.coord.heartbeat({ groupId: "g", generationId: 1, memberId: B, groupInstanceId: null }), ErrorCode.UNKNOWN_MEMBER_ID);
  assert.deepEqual(await commit(), [ErrorCode.UNKNOWN_MEMBER_ID]);
  // A keeps going through its own rebalance and many more session timeouts.
  const rejoin = track(h.coord.joinGroup(joinInput("g", { memberId: A })));
  await flush();
  assert.equal(rejoin.value!.generationId, 2);
  await h.coord.syncGroup({ groupId: "g", generationId: 2, memberId: A, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
  for (let i = 0; i < 40; i++) {
    await advance(h, 5000);
    assert.equal(h.coord.heartbeat({ groupId: "g", generationId: 2, memberId: A, groupInstanceId: null }), ErrorCode.NONE);
  }
});

test("a MEMBER_ID_REQUIRED id that is never used expires after the session timeout", async () => {
  const h = harness({ initialRebalanceDelayMs: 0 });
  const a = await joinDynamic(h, "g");
  await advance(h, 0);
  await h.coord.syncGroup({ groupId: "g", generationId: 1, memberId: a.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
  const ghost = await h.coord.joinGroup(joinInput("g"));
  assert.equal(ghost.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  await advance(h, 10_001);
  const late = await h.coord.joinGroup(joinInput("g", { memberId: ghost.memberId }));
  assert.equal(late.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
});

test("a pending member id that never rejoins does not block the join phase beyond the rebalance timeout", async () => {
  const h = harness();
  const { A, B } = await stableGroupOfTwo(h, 30_000);
  const ghost = await h.coord.joinGroup(joinInput("g", { sessionTimeoutMs: 30_000 }));
  assert.equal(ghost.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  const ra = track(h.coord.joinGroup(joinInput("g", { memberId: A, sessionTimeoutMs: 30_000 })));
  const rb = track(h.coord.joinGroup(joinInput("g", { memberId: B, sessionTimeoutMs: 30_000 })));
  await flush();
  assert.equal(ra.done, false, "waits for the pending member");
  await advance(h, 30_000);
  assert.ok(ra.done && rb.done);
  assert.equal(ra.value!.generationId, 2);
});

test("members that never send SyncGroup within the rebalance timeout are removed and the group rebalances", async () => {
  const h = harness();
  const a = await joinDynamic(h, "g", { rebalanceTimeoutMs: 15_000, sessionTimeoutMs: 60_000 });
  const b = await joinDynamic(h, "g", { rebalanceTimeoutMs: 15_000, sessionTimeoutMs: 60_000 });
  await advance(h, 0);
  const leader = a.join.value!.leader;
  const follower = leader === a.memberId ? b.memberId : a.memberId;
  const fs = track(h.coord.syncGroup({ groupId: "g", generationId: 1, memberId: follower, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] }));
  await advance(h, 15_000);
  assert.ok(fs.done);
  assert.equal(fs.value!.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
  assert.equal(h.coord.groupState("g"), "PreparingRebalance");
  assert.equal(h.coord.heartbeat({ groupId: "g", generationId: 1, memberId: leader, groupInstanceId: null }), ErrorCode.UNKNOWN_MEMBER_ID);
});

test("a new member whose JoinGroup stays parked past the new-member timeout is dropped", async () => {
  const h = harness({ newMemberJoinTimeoutMs: 5000 });
  const { A } = await stableGroupOfTwo(h, 60_000);
  const c = await joinDynamic(h, "g", { rebalanceTimeoutMs: 300_000, sessionTimeoutMs: 60_000 });
  await advance(h, 5000);
  assert.ok(c.join.done);
  assert.equal(c.join.value!.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(h.coord.heartbeat({ groupId: "g", generationId: 1, memberId: A, groupInstanceId: null }), ErrorCode.REBALANCE_IN_PROGRESS);
});

test("stop() answers parked requests with NOT_COORDINATOR and refuses new ones", async () => {
  const h = harness({ initialRebalanceDelayMs: 3000 });
  const a = await joinDynamic(h, "g");
  h.coord.stop();
  await flush();
  assert.equal(a.join.value!.errorCode, ErrorCode.NOT_COORDINATOR);
  assert.equal(h.coord.heartbeat({ groupId: "g", generationId: 0, memberId: a.memberId, groupInstanceId: null }), ErrorCode.NOT_COORDINATOR);
  assert.equal((await h.coord.joinGroup(joinInput("g"))).errorCode, ErrorCode.NOT_COORDINATOR);
});
