/**
 * `__consumer_offsets` persistence: Kafka's record layouts (keys v1/v2, values v0-v4, tombstones), Java's
 * group-to-partition hash, and a coordinator restart that reloads groups and offsets so members carry on in the
 * same generation without a rebalance.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { Writer } from "../../src/protocol/wire.ts";
import { RecordCursor } from "../../src/protocol/record-batch.ts";
import { javaStringHashCode, offsetsPartitionFor } from "../../src/group/group-partitioning.ts";
import {
  decodeGroupMetadataValue,
  decodeOffsetCommitValue,
  decodeOffsetsTopicKey,
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
} from "../../src/group/offsets-topic-records.ts";
import { advance, assignment, flush, harness, joinDynamic, joinInput, track } from "./coordinator-harness.ts";

test("Java String.hashCode and Kafka's abs() pick the same partition as a Kafka broker", () => {
  assert.equal(javaStringHashCode(""), 0);
  assert.equal(javaStringHashCode("hello"), 99162322);
  assert.equal(javaStringHashCode("polygenelubricants"), -2147483648);
  assert.equal(offsetsPartitionFor("polygenelubricants", 50), 0, "Utils.abs(Integer.MIN_VALUE) is 0");
  assert.equal(javaStringHashCode("Aa"), javaStringHashCode("BB"));
  assert.equal(javaStringHashCode("groupé"), ((javaStringHashCode("group") * 31 + 0xe9) | 0));
  assert.equal(offsetsPartitionFor("hello", 50), 99162322 % 50);
  const neg = javaStringHashCode("console-consumer-12345");
  assert.equal(offsetsPartitionFor("console-consumer-12345", 50), Math.abs(neg) % 50);
});

test("offset commit keys and values use Kafka's layouts and round-trip", () => {
  const key = encodeOffsetCommitKey("grp", "topic", 7);
  // int16 version 1, int16 len + "grp", int16 len + "topic", int32 partition
  assert.deepEqual([...key], [0, 1, 0, 3, 103, 114, 112, 0, 5, 116, 111, 112, 105, 99, 0, 0, 0, 7]);
  assert.deepEqual(decodeOffsetsTopicKey(key), { kind: "offset", group: "grp", topic: "topic", partition: 7 });
  assert.deepEqual(decodeOffsetsTopicKey(encodeGroupMetadataKey("grp")), { kind: "group", group: "grp" });
  assert.deepEqual(decodeOffsetsTopicKey(new Uint8Array([0, 11, 0, 0])), { kind: "other", version: 11 });
  const v = { offset: 123456789012n, leaderEpoch: 4, metadata: "m", commitTimestamp: 1_700_000_000_123, expireTimestamp: -1 };
  const bytes = encodeOffsetCommitValue(v);
  assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getInt16(0), 3);
  assert.deepEqual(decodeOffsetCommitValue(bytes), v);
  const withExpiry = { ...v, leaderEpoch: -1, expireTimestamp: 1_700_000_100_000 };
  const b1 = encodeOffsetCommitValue(withExpiry);
  assert.equal(new DataView(b1.buffer, b1.byteOffset).getInt16(0), 1);
  assert.deepEqual(decodeOffsetCommitValue(b1), withExpiry);
  // Version 0 (old brokers) and version 4 (flexible, Kafka 3.x+ with topic ids in tags).
  const w0 = new Writer(64);
  w0.int16(0);
  w0.int64(5n);
  w0.string("x");
  w0.int64(99n);
  assert.deepEqual(decodeOffsetCommitValue(w0.finishContiguous().slice()), { offset: 5n, leaderEpoch: -1, metadata: "x", commitTimestamp: 99, expireTimestamp: -1 });
  const w4 = new Writer(64);
  w4.int16(4);
  w4.int64(6n);
  w4.int32(2);
  w4.compactString("y");
  w4.int64(100n);
  w4.uvarint(1); // one tagged field
  w4.uvarint(0);
  w4.uvarint(16);
  w4.raw(new Uint8Array(16));
  assert.deepEqual(decodeOffsetCommitValue(w4.finishContiguous().slice()), { offset: 6n, leaderEpoch: 2, metadata: "y", commitTimestamp: 100, expireTimestamp: -1 });
});

test("group metadata values round-trip (v3), including static members and null protocol", () => {
  const v = {
    protocolType: "consumer",
    generation: 5,
    protocol: "range",
    leader: "m1",
    currentStateTimestamp: 1234,
    members: [
      { memberId: "m1", groupInstanceId: null, clientId: "c", clientHost: "/127.0.0.1", rebalanceTimeoutMs: 300000, sessionTimeoutMs: 45000, subscription: new Uint8Array([1, 2]), assignment: new Uint8Array([3]) },
      { memberId: "m2", groupInstanceId: "i2", clientId: "c2", clientHost: "/10.0.0.1", rebalanceTimeoutMs: 1, sessionTimeoutMs: 2, subscription: new Uint8Array(0), assignment: new Uint8Array(0) },
    ],
  };
  assert.deepEqual(decodeGroupMetadataValue(encodeGroupMetadataValue(v)), v);
  const empty = { protocolType: "consumer", generation: 6, protocol: null, leader: null, currentStateTimestamp: 99, members: [] };
  assert.deepEqual(decodeGroupMetadataValue(encodeGroupMetadataValue(empty)), empty);
});

test("every stored batch is a valid record batch whose records decode back", async () => {
  const h = harness();
  await h.coord.commitOffsets({ groupId: "s", generationId: -1, memberId: "", groupInstanceId: null, retentionTimeMs: -1, offsets: [{ topic: "t", partition: 0, offset: 3n, leaderEpoch: 0, metadata: "" }] });
  const p = h.coord.partitionFor("s");
  assert.equal(p, offsetsPartitionFor("s", 4));
  const batch = h.storage.partitions[p][0].bytes;
  const c = new RecordCursor().resetBatch(batch, 0, batch.length);
  assert.ok(c.next());
  assert.deepEqual(decodeOffsetsTopicKey(c.key()!), { kind: "offset", group: "s", topic: "t", partition: 0 });
  assert.equal(decodeOffsetCommitValue(c.value()!).offset, 3n);
  assert.equal(c.next(), false);
});

test("after a restart, groups, members, generations, assignments and offsets are back; members carry on", async () => {
  const h = harness();
  const a = await joinDynamic(h, "g", { sessionTimeoutMs: 10_000 });
  const b = await joinDynamic(h, "g", { sessionTimeoutMs: 10_000 });
  await advance(h, 0);
  const leader = a.join.value!.leader;
  const [A, B] = [a.memberId, b.memberId];
  const aA = assignment([{ topic: "t", partitions: [0] }]);
  const aB = assignment([{ topic: "t", partitions: [1] }]);
  const fs = track(h.coord.syncGroup({ groupId: "g", generationId: 1, memberId: leader === A ? B : A, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] }));
  await h.coord.syncGroup({ groupId: "g", generationId: 1, memberId: leader, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [{ memberId: A, assignment: aA }, { memberId: B, assignment: aB }] });
  await flush();
  assert.ok(fs.done);
  await h.coord.commitOffsets({ groupId: "g", generationId: 1, memberId: A, groupInstanceId: null, retentionTimeMs: -1, offsets: [{ topic: "t", partition: 0, offset: 17n, leaderEpoch: 0, metadata: "a" }] });
  await h.coord.commitOffsets({ groupId: "g", generationId: 1, memberId: B, groupInstanceId: null, retentionTimeMs: -1, offsets: [{ topic: "t", partition: 1, offset: 4n, leaderEpoch: 0, metadata: "b" }] });
  await h.coord.commitOffsets({ groupId: "g", generationId: 1, memberId: B, groupInstanceId: null, retentionTimeMs: -1, offsets: [{ topic: "t", partition: 1, offset: 8n, leaderEpoch: 0, metadata: "b2" }] });

  const c = h.restart();
  assert.equal(c.groupState("g"), "Stable");
  const d = c.describeGroup("g");
  assert.deepEqual(d.members.map((m) => m.memberId).sort(), [A, B].sort());
  assert.deepEqual(d.members.find((m) => m.memberId === B)!.assignment, aB);
  assert.equal(d.protocolData, "range");
  assert.deepEqual(c.fetchOffsets("g", [{ topic: "t", partitions: [0, 1] }]).topics[0].partitions.map((p) => [p.offset, p.metadata]), [[17n, "a"], [8n, "b2"]]);
  // Members keep heartbeating and syncing in generation 1: no rebalance.
  assert.equal(c.heartbeat({ groupId: "g", generationId: 1, memberId: A, groupInstanceId: null }), ErrorCode.NONE);
  const s = await c.syncGroup({ groupId: "g", generationId: 1, memberId: B, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
  assert.deepEqual(s.assignment, aB);
  // A member that never comes back after the restart expires after its session timeout.
  for (let i = 0; i < 4; i++) {
    await advance(h, 3000);
    c.heartbeat({ groupId: "g", generationId: 1, memberId: A, groupInstanceId: null });
  }
  assert.equal(c.groupState("g"), "PreparingRebalance");
  assert.equal(c.heartbeat({ groupId: "g", generationId: 1, memberId: B, groupInstanceId: null }), ErrorCode.UNKNOWN_MEMBER_ID);
});

test("a static member rejoining after a coordinator restart keeps its partitions without a rebalance", async () => {
  const h = harness();
  const j = track(h.coord.joinGroup(joinInput("g", { groupInstanceId: "i1" })));
  await advance(h, 0);
  const M = j.value!.memberId;
  const a = assignment([{ topic: "t", partitions: [0, 1, 2] }]);
  await h.coord.syncGroup({ groupId: "g", generationId: 1, memberId: M, groupInstanceId: "i1", protocolType: null, protocolName: null, assignments: [{ memberId: M, assignment: a }] });
  await flush();
  const c = h.restart();
  const r = await c.joinGroup(joinInput("g", { groupInstanceId: "i1" }));
  assert.equal(r.errorCode, ErrorCode.NONE);
  assert.equal(r.generationId, 1);
  assert.equal(r.skipAssignment, true, "it was the leader");
  const s = await c.syncGroup({ groupId: "g", generationId: 1, memberId: r.memberId, groupInstanceId: "i1", protocolType: "consumer", protocolName: "range", assignments: [] });
  assert.deepEqual(s.assignment, a);
  // The replaced member id was persisted too.
  const c2 = h.restart();
  assert.equal(c2.describeGroup("g").members[0].memberId, r.memberId);
});

test("an emptied group is persisted as empty with its generation; a new member starts the next generation", async () => {
  const h = harness();
  const a = await joinDynamic(h, "g");
  await advance(h, 0);
  await h.coord.syncGroup({ groupId: "g", generationId: 1, memberId: a.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
  await h.coord.commitOffsets({ groupId: "g", generationId: 1, memberId: a.memberId, groupInstanceId: null, retentionTimeMs: -1, offsets: [{ topic: "t", partition: 0, offset: 1n, leaderEpoch: 0, metadata: "" }] });
  h.coord.leaveGroup("g", [{ memberId: a.memberId, groupInstanceId: null }]);
  await flush();
  const c = h.restart();
  assert.equal(c.groupState("g"), "Empty");
  const b = await joinDynamic(h, "g");
  await advance(h, 0);
  assert.equal(b.join.value!.generationId, 3);
});
