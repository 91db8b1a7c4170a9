/**
 * Incremental cooperative rebalancing (KIP-429) as the broker sees it: the classic protocol runs two rebalances
 * back to back, members keep consuming and committing with their generation while the next join phase is open,
 * and nobody is dropped. The assignment itself stays the clients' job.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { advance, assignment, flush, harness, joinInput, subscription, track } from "./coordinator-harness.ts";

const COOP = "cooperative-sticky";
const proto = (owned: number[]) => [{ name: COOP, metadata: subscription(["t"], [{ topic: "t", partitions: owned }]) }];

test("cooperative-sticky: a second member gets partitions over two rebalances while the first keeps committing", async () => {
  const h = harness();
  const sync = (memberId: string, generationId: number, assignments: { memberId: string; assignment: Uint8Array }[] = []) =>
    h.coord.syncGroup({ groupId: "g", generationId, memberId, groupInstanceId: null, protocolType: "consumer", protocolName: COOP, assignments });
  const commit = (memberId: string, generationId: number, partition: number, offset: bigint) =>
    h.coord.commitOffsets({ groupId: "g", generationId, memberId, groupInstanceId: null, retentionTimeMs: -1, offsets: [{ topic: "t", partition, offset, leaderEpoch: 0, metadata: "" }] });

  // Generation 1: A alone owns every partition.
  const a0 = await h.coord.joinGroup(joinInput("g", { protocols: proto([]) }));
  const a1 = track(h.coord.joinGroup(joinInput("g", { memberId: a0.memberId, protocols: proto([]) })));
  await advance(h, 0);
  const A = a0.memberId;
  assert.equal(a1.value!.protocolName, COOP);
  await sync(A, 1, [{ memberId: A, assignment: assignment([{ topic: "t", partitions: [0, 1, 2, 3] }]) }]);

  // B arrives: the join phase opens; A is still consuming and committing with generation 1.
  const b0 = await h.coord.joinGroup(joinInput("g", { protocols: proto([]) }));
  const B = b0.memberId;
  const b1 = track(h.coord.joinGroup(joinInput("g", { memberId: B, protocols: proto([]) })));
  assert.equal(h.coord.heartbeat({ groupId: "g", generationId: 1, memberId: A, groupInstanceId: null }), ErrorCode.REBALANCE_IN_PROGRESS);
  assert.deepEqual(await commit(A, 1, 2, 100n), [ErrorCode.NONE], "commits during PreparingRebalance are accepted");

  // First rebalance: A rejoins declaring what it owns; the leader revokes 2 and 3 from A and gives B nothing yet.
  const a2 = track(h.coord.joinGroup(joinInput("g", { memberId: A, protocols: proto([0, 1, 2, 3]) })));
  await flush();
  assert.equal(a2.value!.generationId, 2);
  assert.equal(a2.value!.leader, A);
  const bSync2 = track(sync(B, 2));
  // Between JoinGroup and SyncGroup a commit is refused (no assignment yet in this generation).
  assert.deepEqual(await commit(A, 2, 0, 10n), [ErrorCode.REBALANCE_IN_PROGRESS]);
  const s2 = await sync(A, 2, [
    { memberId: A, assignment: assignment([{ topic: "t", partitions: [0, 1] }]) },
    { memberId: B, assignment: assignment([]) },
  ]);
  await flush();
  assert.equal(s2.errorCode, ErrorCode.NONE);
  assert.equal(bSync2.value!.errorCode, ErrorCode.NONE);
  assert.equal(b1.value!.generationId, 2);
  assert.equal(h.coord.groupState("g"), "Stable");

  // Second rebalance, triggered by A having revoked partitions: A keeps 0 and 1 the whole time.
  const a3 = track(h.coord.joinGroup(joinInput("g", { memberId: A, protocols: proto([0, 1]) })));
  assert.equal(h.coord.heartbeat({ groupId: "g", generationId: 2, memberId: B, groupInstanceId: null }), ErrorCode.REBALANCE_IN_PROGRESS);
  assert.deepEqual(await commit(A, 2, 0, 11n), [ErrorCode.NONE], "A commits for the partitions it kept");
  const b3 = track(h.coord.joinGroup(joinInput("g", { memberId: B, protocols: proto([]) })));
  await flush();
  assert.equal(a3.value!.generationId, 3);
  assert.equal(b3.value!.generationId, 3);
  const bSync3 = track(sync(B, 3));
  await sync(A, 3, [
    { memberId: A, assignment: assignment([{ topic: "t", partitions: [0, 1] }]) },
    { memberId: B, assignment: assignment([{ topic: "t", partitions: [2, 3] }]) },
  ]);
  await flush();
  assert.deepEqual(bSync3.value!.assignment, assignment([{ topic: "t", partitions: [2, 3] }]));
  // B resumes partition 2 from what A committed before revoking it.
  const fetched = h.coord.fetchOffsets("g", [{ topic: "t", partitions: [0, 2] }]);
  assert.deepEqual(fetched.topics[0].partitions.map((p) => p.offset), [11n, 100n]);
  assert.equal(h.coord.describeGroup("g").members.length, 2);
});

test("eager and cooperative members can share a group only through a protocol they all support", async () => {
  const h = harness();
  const both = [{ name: COOP, metadata: subscription(["t"]) }, { name: "range", metadata: subscription(["t"]) }];
  const eager = [{ name: "range", metadata: subscription(["t"]) }];
  const a = await h.coord.joinGroup(joinInput("g", { protocols: both }));
  const aj = track(h.coord.joinGroup(joinInput("g", { memberId: a.memberId, protocols: both })));
  const b = await h.coord.joinGroup(joinInput("g", { protocols: eager }));
  const bj = track(h.coord.joinGroup(joinInput("g", { memberId: b.memberId, protocols: eager })));
  await advance(h, 0);
  assert.equal(aj.value!.protocolName, "range");
  assert.equal(bj.value!.protocolName, "range");
});
