/**
 * Partition.truncateTo (a follower's divergent tail) clears the producer state and replays it from the newest
 * snapshot at or below the new end, walking the batch headers. A walk that meets a damaged batch (a segment below the
 * recovery point that recovery never checked) throws. It used to leave the partition writable with the producer state
 * half rebuilt: the replica fetcher warned, backed off and appended the leader's next records on top of it, so this
 * replica, once leader, knew neither the producers' last sequences (a retry appended twice) nor the transactions open
 * past the damage (the last stable offset ran past them). Kafka's fetcher marks such a partition failed and fetches
 * it no more; here the log is taken offline (without its log dir: no I/O error), which the fetcher drops and the
 * cluster hears of as an offline replica.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { MAGIC_OFFSET } from "../../src/protocol/batch-layout.ts";
import type { PartitionRoles } from "../../src/partition/partition.ts";
import { producerSnapshotOffsets, snapshotFileName } from "../../src/partition/producer-snapshot.ts";
import { tempPartitionDir } from "./temp-partition-dir.ts";

await initCrc32c();

const solo: PartitionRoles = { leader: 1, leaderEpoch: 0, replicas: [1], isr: [1] };
const PID = 7n;

/** A batch of `n` small records, of producer PID with `seq` when given. */
function batch(n: number, seq?: number): Uint8Array {
  const bb = new BatchBuilder(1 << 16);
  bb.reset(seq === undefined ? {} : { producerId: PID, producerEpoch: 0, baseSequence: seq });
  for (let i = 0; i < n; i++) bb.append(1_700_000_000_000 + i, null, new TextEncoder().encode(`v${i}`));
  return bb.finish().slice();
}

test("a producer-state replay that stops at a damaged batch while truncating takes the log offline", async (t) => {
  const { dir, open } = tempPartitionDir(t, "runnel-replay-damage-truncate-", { segmentBytes: 300 });
  const p = open(solo);
  p.appendAsLeader(batch(1, 0)); // 0
  for (let i = 0; i < 6; i++) p.appendAsLeader(batch(5)); // 1-30: several segments
  p.appendAsLeader(batch(2, 1)); // 31-32
  p.appendAsLeader(batch(5)); // 33-37
  const bases = p.log.segmentBaseOffsets();
  assert.ok(bases.length >= 4, `segments: ${bases.length}`);
  // Roll snapshots are written off the loop: wait for them, then lose them all (the replay then starts at 0).
  const rolls = bases.slice(1);
  for (let i = 0; i < 500 && !rolls.every((o) => fs.existsSync(`${dir}/${snapshotFileName(o)}`)); i++) await new Promise((r) => setTimeout(r, 10));
  for (const o of producerSnapshotOffsets(nodeFileSystem, dir)) fs.rmSync(`${dir}/${snapshotFileName(o)}`);
  // The disk damages the first batch of the second segment (no recovery will check it: the log stays open).
  const second = `${dir}/${snapshotFileName(bases[1]).replace(".snapshot", ".log")}`;
  const fd = fs.openSync(second, "r+");
  fs.writeSync(fd, new Uint8Array([0x7f]), 0, 1, MAGIC_OFFSET);
  fs.closeSync(fd);

  assert.throws(() => p.truncateTo(33n), /batch walk from offset 0 stopped in segment/);
  assert.equal(p.logEndOffset, 33n);
  assert.ok(p.log.isOffline, "the log with the producer state it could not rebuild is offline");
  assert.throws(() => p.appendAsLeader(batch(1)), /offline|storage/i, "it takes no more records");
});
