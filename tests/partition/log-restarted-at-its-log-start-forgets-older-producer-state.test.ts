/**
 * Producer state at start never comes from a snapshot below the log start. Its replay starts at the log start, so the
 * records between the snapshot and the log start were neither in the state nor replayed: a transaction the snapshot
 * saw open, whose COMMIT marker lay there, stayed open for good and the last stable offset stayed at the log start
 * (read_committed consumers saw none of the records written after it). Kafka's truncateAndReload deletes such
 * snapshots and rebuilds the state from the log start. Two ways there:
 * - a start whose recovered log ends below the checkpointed log start offset restarts the log there with no segment
 *   (fd4266b, Kafka's LogLoader.deleteSegmentsIfLogStartGreaterThanLogEnd); Kafka then also empties the producer
 *   state (ProducerStateManager.truncateFullyAndStartAt: every snapshot goes) and the deleted segments' files go
 *   whole, `.txnindex` included, which Runnel left behind;
 * - DeleteRecords past a snapshot's offset and a COMMIT marker after it, then a kill before the snapshot's removal
 *   reached the disk.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { ControlRecordType, buildControlBatch } from "../../src/protocol/control-record.ts";
import { offsetFileStem } from "../../src/storage/log-file-names.ts";
import type { LogOpenState } from "../../src/storage/partition-log.ts";
import type { Partition, PartitionRoles } from "../../src/partition/partition.ts";
import { producerSnapshotOffsets, snapshotFileName } from "../../src/partition/producer-snapshot.ts";
import { tempPartitionDir } from "./temp-partition-dir.ts";

await initCrc32c();

const enc = new TextEncoder();
const solo: PartitionRoles = { leader: 1, leaderEpoch: 0, replicas: [1], isr: [1] };
const TXN = 7n;
const ABORTED = 8n;

/** A batch of `n` records; transactional for producer `pid` when given. */
function batch(n: number, pid?: bigint): Uint8Array {
  const bb = new BatchBuilder(1 << 16);
  bb.reset(pid === undefined ? {} : { producerId: pid, producerEpoch: 0, baseSequence: 0, isTransactional: true });
  for (let i = 0; i < n; i++) bb.append(1_700_000_000_000 + i, null, enc.encode(`v${i}`));
  return bb.finish().slice();
}
function marker(pid: bigint, type: typeof ControlRecordType.COMMIT | typeof ControlRecordType.ABORT): Uint8Array {
  return buildControlBatch({ producerId: pid, producerEpoch: 0, type, coordinatorEpoch: 0, timestampMs: 1_700_000_000_000 });
}

/** A partition directory in a temp dir (removed after the test) and how to open its partition with a log open state. */
function partitionDir(t: { after(fn: () => void): void }): { dir: string; open(state?: LogOpenState): Partition } {
  const d = tempPartitionDir(t, "runnel-log-start-snapshot-");
  return { dir: d.dir, open: (state) => d.open(solo, state) };
}

test("a log restarted at its checkpointed log start keeps no producer snapshot or aborted-transaction index of the deleted segments", async (t) => {
  const { dir, open } = partitionDir(t);

  let p = open();
  p.appendAsLeader(batch(2, TXN)); // 0-1: a transaction begins
  p.appendAsLeader(batch(2)); // 2-3
  // A clean stop: the producer snapshot at 4 has the transaction open.
  p.close();
  await p.log.close();
  p.writeStopSnapshot();
  assert.deepEqual(producerSnapshotOffsets(nodeFileSystem, dir), [4n]);

  p = open();
  p.appendAsLeader(marker(TXN, ControlRecordType.COMMIT)); // 4: the transaction commits
  p.appendAsLeader(batch(1, ABORTED)); // 5
  p.appendAsLeader(marker(ABORTED, ControlRecordType.ABORT)); // 6: an aborted transaction, in the .txnindex
  p.appendAsLeader(batch(2)); // 7-8
  await p.log.sync();
  await p.abortedTxns.sync();
  const segment = `${dir}/${offsetFileStem(0n)}.log`;
  const durableBytes = fs.statSync(segment).size;
  const durableEnd = p.logEndOffset; // 9
  // acks=1 records past the high watermark at once on one replica, then DeleteRecords up to it; not yet synced.
  p.appendAsLeader(batch(3)); // 9-11
  assert.equal(p.highWatermark, 12n);
  const lowWatermark = p.log.deleteRecordsBefore(12n);
  assert.equal(lowWatermark, 12n);
  assert.equal(p.lastStableOffset, 12n);
  // The power goes: the unsynced records are lost; the log start offset checkpoint (12) was written.
  fs.truncateSync(segment, durableBytes);

  p = open({ logStartOffset: lowWatermark, recoveryPoint: durableEnd });
  assert.equal(p.log.logStartOffset, 12n);
  assert.equal(p.logEndOffset, 12n);
  assert.equal(p.producers.firstUnstableOffset(), null, "no transaction is open: the one the old snapshot saw open committed at 4");
  const leftovers = fs.readdirSync(dir).filter((f) => f.endsWith(".snapshot") || f.endsWith(".txnindex"));
  assert.deepEqual(leftovers, [], "the deleted segments' producer snapshots and aborted-transaction index go with them");
  // Records written now are stable once committed: read_committed consumers read them.
  p.appendAsLeader(batch(2)); // 12-13
  assert.equal(p.highWatermark, 14n);
  assert.equal(p.lastStableOffset, 14n);
});

test("a producer snapshot below the log start is not loaded at start: the records between it and the log start are not replayed", async (t) => {
  const { dir, open } = partitionDir(t);

  let p = open();
  p.appendAsLeader(batch(2, TXN)); // 0-1: a transaction begins
  p.close();
  await p.log.close();
  p.writeStopSnapshot(); // at 2, the transaction open
  p = open();
  p.appendAsLeader(marker(TXN, ControlRecordType.COMMIT)); // 2: it commits
  p.appendAsLeader(batch(4)); // 3-6
  const snapshot = `${dir}/${snapshotFileName(2n)}`;
  const snapshotBytes = fs.readFileSync(snapshot);
  assert.equal(p.log.deleteRecordsBefore(5n), 5n); // the log start moves past the marker; the segment stays
  assert.equal(p.lastStableOffset, 7n);
  assert.deepEqual(producerSnapshotOffsets(nodeFileSystem, dir), [], "no snapshot below the log start is kept (Kafka's deleteSnapshotsBefore)");
  await p.log.sync();
  // The process is killed (no clean stop, no new snapshot); the log start offset checkpoint held 5. The snapshot's
  // removal had not reached the disk (an unlink is durable only with a directory sync): it is back.
  fs.writeFileSync(snapshot, snapshotBytes);
  p = open({ logStartOffset: 5n, recoveryPoint: 0n });
  assert.equal(p.log.logStartOffset, 5n);
  assert.equal(p.logEndOffset, 7n);
  assert.equal(p.producers.firstUnstableOffset(), null, "the transaction committed at 2 is not open again");
  p.appendAsLeader(batch(1)); // 7
  assert.equal(p.lastStableOffset, 8n);
});
