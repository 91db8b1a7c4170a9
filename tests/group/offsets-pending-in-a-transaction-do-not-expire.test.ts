/**
 * Offset expiry (offsets.retention.minutes) skips a partition that has a transactional offset pending (written by a
 * TxnOffsetCommit, its marker not yet written), and a group with such an offset is not removed even when every
 * committed offset it had expired, as Kafka's OffsetMetadataManager.cleanupExpiredOffsets does: the commit marker
 * that comes later must find the group and its partition. Shown with simple groups (KIP-848 groups take the same
 * filter).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { harness } from "./coordinator-harness.ts";

const off = (topic: string, partition: number, offset: bigint) => ({ topic, partition, offset, leaderEpoch: -1, metadata: null });
const RETENTION = 60_000;

test("an offset with a transactional offset pending does not expire, nor does its group", async () => {
  const h = harness({ offsetsRetentionMs: RETENTION });
  const commit = (groupId: string, partitions: number[]) => h.coord.commitOffsets({ groupId, generationId: -1, memberId: "", groupInstanceId: null, retentionTimeMs: -1, offsets: partitions.map((p) => off("t", p, 1n)) });
  const pending = (groupId: string, partition: number) => h.coord.commitTransactionalOffsets({ groupId, producerId: 7n, producerEpoch: 0, generationId: -1, memberId: "", groupInstanceId: null, offsets: [off("t", partition, 9n)] });
  await commit("s", [0, 1]);
  await commit("only-pending", [0]);
  assert.deepEqual(await pending("s", 0), [0]);
  assert.deepEqual(await pending("only-pending", 1), [0]);
  assert.ok(h.coord.hasPendingTransactionalOffset("s", "t", 0));
  h.clock.advance(RETENTION);
  // s: partition 1 expires, partition 0 (pending) stays; only-pending: its offset expires, the group stays
  assert.equal(await h.coord.expireOffsets(), 2);
  assert.deepEqual(h.coord.fetchOffsets("s", null).topics[0].partitions.map((p) => [p.partition, p.offset]), [[0, 1n]]);
  assert.notEqual(h.coord.groupState("only-pending"), null, "a group with a pending transactional offset is kept");
});
