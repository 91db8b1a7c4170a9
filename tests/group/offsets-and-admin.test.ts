/**
 * Committed offsets (commit validation, simple commits, fetch, delete, expiry by offsets.retention.minutes) and the
 * admin operations (ListGroups filters, DescribeGroups, DeleteGroups) on the coordinator state machine, plus the
 * lag table.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { GroupCoordinator } from "../../src/group/group-coordinator.ts";
import { DEFAULT_GROUP_CONFIG } from "../../src/group/group-config.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import { MemoryOffsetsStorage, advance, assignment, flush, harness, joinDynamic, type Harness } from "./coordinator-harness.ts";

const off = (topic: string, partition: number, offset: bigint, metadata: string | null = null) => ({ topic, partition, offset, leaderEpoch: 3, metadata });

async function oneMemberGroup(h: Harness, groupId = "g") {
  const a = await joinDynamic(h, groupId);
  await advance(h, 0);
  const A = a.memberId;
  await h.coord.syncGroup({
    groupId,
    generationId: 1,
    memberId: A,
    groupInstanceId: null,
    protocolType: null,
    protocolName: null,
    assignments: [{ memberId: A, assignment: assignment([{ topic: "t", partitions: [0, 1] }]) }],
  });
  await flush();
  return A;
}

test("simple commits (generation -1) create an offsets-only group; fetch returns them with metadata", async () => {
  const h = harness();
  const codes = await h.coord.commitOffsets({ groupId: "s", generationId: -1, memberId: "", groupInstanceId: null, retentionTimeMs: -1, offsets: [off("t", 0, 42n, "meta"), off("t", 1, 7n)] });
  assert.deepEqual(codes, [0, 0]);
  const f = h.coord.fetchOffsets("s", [{ topic: "t", partitions: [0, 1, 2] }]);
  assert.deepEqual(f.topics[0].partitions, [
    { partition: 0, offset: 42n, leaderEpoch: 3, metadata: "meta", errorCode: 0 },
    { partition: 1, offset: 7n, leaderEpoch: 3, metadata: "", errorCode: 0 },
    { partition: 2, offset: -1n, leaderEpoch: -1, metadata: "", errorCode: 0 },
  ]);
  const all = h.coord.fetchOffsets("s", null);
  assert.deepEqual(all.topics.map((t) => [t.topic, t.partitions.length]), [["t", 2]]);
  assert.deepEqual(h.coord.fetchOffsets("unknown", null).topics, []);
  assert.deepEqual(h.coord.fetchOffsets("unknown", [{ topic: "t", partitions: [0] }]).topics[0].partitions[0].offset, -1n);
  const listed = h.coord.listGroups();
  assert.deepEqual(listed, [{ groupId: "s", protocolType: "", state: "Empty", type: "classic" }]);
});

test("commits are validated against the group: generation, member and state", async () => {
  const h = harness();
  const A = await oneMemberGroup(h);
  const commit = (over: object) =>
    h.coord.commitOffsets({ groupId: "g", generationId: 1, memberId: A, groupInstanceId: null, retentionTimeMs: -1, offsets: [off("t", 0, 1n)], ...over });
  assert.deepEqual(await commit({}), [ErrorCode.NONE]);
  assert.deepEqual(await commit({ generationId: 0 }), [ErrorCode.ILLEGAL_GENERATION]);
  assert.deepEqual(await commit({ memberId: "x" }), [ErrorCode.UNKNOWN_MEMBER_ID]);
  assert.deepEqual(await commit({ generationId: -1, memberId: "" }), [ErrorCode.UNKNOWN_MEMBER_ID], "simple commits into an active group are refused");
  assert.deepEqual(await commit({ groupId: "" }), [ErrorCode.INVALID_GROUP_ID]);
  assert.deepEqual(await commit({ groupId: "nope" }), [ErrorCode.ILLEGAL_GENERATION]);
  assert.deepEqual(await commit({ groupId: "nope", unknownGroupErrorCode: ErrorCode.GROUP_ID_NOT_FOUND }), [ErrorCode.GROUP_ID_NOT_FOUND]);
  const big = "x".repeat(DEFAULT_GROUP_CONFIG.offsetMetadataMaxBytes + 1);
  assert.deepEqual(await commit({ offsets: [off("t", 0, 2n, big), off("t", 1, 2n)] }), [ErrorCode.OFFSET_METADATA_TOO_LARGE, ErrorCode.NONE]);
  assert.equal(h.coord.fetchOffsets("g", [{ topic: "t", partitions: [0] }]).topics[0].partitions[0].offset, 1n);
});

test("a failed append answers COORDINATOR_NOT_AVAILABLE / NOT_COORDINATOR and stores nothing", async () => {
  const h = harness();
  h.coord.ensureOffsetsTopic();
  h.storage.failAppends = new Error("disk gone");
  const codes = await h.coord.commitOffsets({ groupId: "s", generationId: -1, memberId: "", groupInstanceId: null, retentionTimeMs: -1, offsets: [off("t", 0, 1n)] });
  assert.deepEqual(codes, [ErrorCode.NOT_COORDINATOR]);
  assert.equal(h.coord.fetchOffsets("s", [{ topic: "t", partitions: [0] }]).topics[0].partitions[0].offset, -1n);
  assert.equal(h.coord.groupState("s"), null);
  h.storage.failAppends = null;
  h.storage.failDurability = new Error("fsync failed");
  const codes2 = await h.coord.commitOffsets({ groupId: "s", generationId: -1, memberId: "", groupInstanceId: null, retentionTimeMs: -1, offsets: [off("t", 0, 1n)] });
  assert.deepEqual(codes2, [ErrorCode.NOT_COORDINATOR]);
});

test("OffsetDelete removes offsets of topics the group does not consume; subscribed topics are refused", async () => {
  const h = harness();
  const A = await oneMemberGroup(h); // subscribes to "t"
  await h.coord.commitOffsets({ groupId: "g", generationId: 1, memberId: A, groupInstanceId: null, retentionTimeMs: -1, offsets: [off("t", 0, 5n), off("old", 0, 9n)] });
  const r = await h.coord.deleteOffsets("g", [{ topic: "t", partitions: [0] }, { topic: "old", partitions: [0, 1] }]);
  assert.equal(r.errorCode, ErrorCode.NONE);
  assert.deepEqual(r.topics.map((t) => t.partitions.map((p) => p.errorCode)), [[ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC], [0, 0]]);
  const f = h.coord.fetchOffsets("g", null);
  assert.deepEqual(f.topics.map((t) => t.topic), ["t"]);
  assert.equal((await h.coord.deleteOffsets("nope", [])).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  // Once the group is empty, any offset can be deleted.
  h.coord.leaveGroup("g", [{ memberId: A, groupInstanceId: null }]);
  const r2 = await h.coord.deleteOffsets("g", [{ topic: "t", partitions: [0] }]);
  assert.deepEqual(r2.topics[0].partitions[0].errorCode, ErrorCode.NONE);
  assert.deepEqual(h.coord.fetchOffsets("g", null).topics, []);
});

test("offsets expire offsets.retention.minutes after the group became empty; then the group is removed", async () => {
  const h = harness({ offsetsRetentionMs: 60_000, offsetsRetentionCheckIntervalMs: 10_000 });
  const A = await oneMemberGroup(h);
  await h.coord.commitOffsets({ groupId: "g", generationId: 1, memberId: A, groupInstanceId: null, retentionTimeMs: -1, offsets: [off("t", 0, 5n), off("gone", 0, 1n)] });
  // While the member is alive and subscribed to "t", its offset does not expire; "gone" (not subscribed) does.
  for (let i = 0; i < 9; i++) {
    await advance(h, 9000);
    h.coord.heartbeat({ groupId: "g", generationId: 1, memberId: A, groupInstanceId: null });
  }
  assert.deepEqual(h.coord.fetchOffsets("g", null).topics.map((t) => t.topic), ["t"]);
  h.coord.leaveGroup("g", [{ memberId: A, groupInstanceId: null }]);
  await flush();
  assert.equal(h.coord.groupState("g"), "Empty");
  await advance(h, 50_000);
  assert.equal(h.coord.fetchOffsets("g", null).topics.length, 1, "kept until retention has passed since the group became empty");
  await advance(h, 20_000);
  assert.equal(h.coord.fetchOffsets("g", null).topics.length, 0);
  assert.equal(h.coord.groupState("g"), null, "an empty group without offsets is removed");
  // The removal is persisted: a restart does not bring the group back.
  h.restart();
  assert.equal(h.coord.groupState("g"), null);
});

test("simple-group offsets expire retention after their commit; an explicit retention time (v2-v4) wins", async () => {
  const h = harness({ offsetsRetentionMs: 60_000 });
  await h.coord.commitOffsets({ groupId: "s", generationId: -1, memberId: "", groupInstanceId: null, retentionTimeMs: -1, offsets: [off("t", 0, 1n)] });
  await h.coord.commitOffsets({ groupId: "s", generationId: -1, memberId: "", groupInstanceId: null, retentionTimeMs: 10_000, offsets: [off("t", 1, 1n)] });
  h.clock.advance(10_000);
  assert.equal(await h.coord.expireOffsets(), 1);
  assert.deepEqual(h.coord.fetchOffsets("s", null).topics[0].partitions.map((p) => p.partition), [0]);
  h.clock.advance(50_000);
  assert.equal(await h.coord.expireOffsets(), 1);
  assert.equal(h.coord.groupState("s"), null);
});

test("ListGroups filters by state and type; DescribeGroups reports members and assignments when Stable", async () => {
  const h = harness();
  const A = await oneMemberGroup(h, "live");
  await h.coord.commitOffsets({ groupId: "simple", generationId: -1, memberId: "", groupInstanceId: null, retentionTimeMs: -1, offsets: [off("t", 0, 1n)] });
  const ids = (gs: { groupId: string }[]) => gs.map((g) => g.groupId).sort();
  assert.deepEqual(ids(h.coord.listGroups()), ["live", "simple"]);
  assert.deepEqual(ids(h.coord.listGroups(["stable"])), ["live"]);
  assert.deepEqual(ids(h.coord.listGroups(["Empty"])), ["simple"]);
  assert.deepEqual(ids(h.coord.listGroups([], ["Classic"])), ["live", "simple"]);
  assert.deepEqual(ids(h.coord.listGroups([], ["consumer"])), []);
  const d = h.coord.describeGroup("live");
  assert.equal(d.errorCode, 0);
  assert.equal(d.state, "Stable");
  assert.equal(d.protocolType, "consumer");
  assert.equal(d.protocolData, "range");
  assert.equal(d.members[0].memberId, A);
  assert.equal(d.members[0].clientHost, "/127.0.0.1");
  assert.deepEqual(d.members[0].assignment, assignment([{ topic: "t", partitions: [0, 1] }]));
  assert.ok(d.members[0].metadata.length > 0);
  const missing = h.coord.describeGroup("missing");
  assert.equal(missing.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  assert.equal(missing.state, "Dead");
});

test("DeleteGroups refuses a group with members, deletes an empty one with its offsets, and reports unknown ones", async () => {
  const h = harness();
  const A = await oneMemberGroup(h, "live");
  await h.coord.commitOffsets({ groupId: "live", generationId: 1, memberId: A, groupInstanceId: null, retentionTimeMs: -1, offsets: [off("t", 0, 1n)] });
  await h.coord.commitOffsets({ groupId: "idle", generationId: -1, memberId: "", groupInstanceId: null, retentionTimeMs: -1, offsets: [off("t", 0, 1n)] });
  const r = await h.coord.deleteGroups(["live", "idle", "nope", ""]);
  assert.deepEqual(r.map((x) => x.errorCode), [ErrorCode.NON_EMPTY_GROUP, ErrorCode.NONE, ErrorCode.GROUP_ID_NOT_FOUND, ErrorCode.INVALID_GROUP_ID]);
  assert.equal(h.coord.groupState("idle"), null);
  assert.deepEqual(h.coord.fetchOffsets("idle", null).topics, []);
  h.restart();
  assert.equal(h.coord.groupState("idle"), null, "deletion survives a restart");
  assert.equal(h.coord.groupState("live"), "Stable");
});

test("describeGroupLag gives committed offset, log end offset and lag per assigned or committed partition", async () => {
  const clock = new ManualClock();
  const ends = new Map([["t/0", 100n], ["t/1", 50n], ["old/0", 9n]]);
  const coord = new GroupCoordinator({
    config: { ...DEFAULT_GROUP_CONFIG, initialRebalanceDelayMs: 0, offsetsTopicPartitions: 2 },
    clock,
    storage: new MemoryOffsetsStorage(),
    endOffsets: { logEndOffset: (t, p) => ends.get(`${t}/${p}`) ?? null },
  });
  coord.load();
  const h = { clock, coord } as unknown as Harness;
  const A = await oneMemberGroup(h);
  await coord.commitOffsets({ groupId: "g", generationId: 1, memberId: A, groupInstanceId: null, retentionTimeMs: -1, offsets: [off("t", 0, 60n), off("old", 0, 9n)] });
  const rows = await coord.describeGroupLag("g");
  assert.deepEqual(rows, [
    { topic: "old", partition: 0, committed: 9n, logEndOffset: 9n, lag: 0n, memberId: null, clientId: null, host: null },
    { topic: "t", partition: 0, committed: 60n, logEndOffset: 100n, lag: 40n, memberId: A, clientId: "client", host: "/127.0.0.1" },
    { topic: "t", partition: 1, committed: null, logEndOffset: 50n, lag: null, memberId: A, clientId: "client", host: "/127.0.0.1" },
  ]);
  assert.deepEqual(await coord.describeGroupLag("missing"), []);
  coord.stop();
});

test("deleting a topic removes every group's committed offsets of it, durably", async () => {
  const h = harness();
  for (const g of ["a", "b"]) {
    await h.coord.commitOffsets({ groupId: g, generationId: -1, memberId: "", groupInstanceId: null, retentionTimeMs: -1, offsets: [off("gone", 0, 1n), off("gone", 1, 2n), off("kept", 0, 3n)] });
  }
  h.coord.onTopicDeleted("gone");
  await flush();
  for (const g of ["a", "b"]) assert.deepEqual(h.coord.fetchOffsets(g, null).topics.map((t) => t.topic), ["kept"]);
  h.restart();
  for (const g of ["a", "b"]) assert.deepEqual(h.coord.fetchOffsets(g, null).topics.map((t) => t.topic), ["kept"]);
});
