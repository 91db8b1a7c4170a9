/**
 * The producer-state replay at start walks every batch after the newest snapshot to the log end, as Kafka's
 * rebuildProducerState does. It used to stop after 512 MiB read (MAX_REPLAY_BYTES), dropping the newest part of the
 * log: after an unclean stop with more than that since the last roll snapshot (segment.bytes is 1 GiB by default),
 * a producer's retry of its last batch was appended again (a duplicate), a transaction opened there was unknown (the
 * last stable offset at the log end: read_committed consumers read its records before the commit) and an ABORT
 * marker there left its transaction open. The replay now reads headers only (and a marker's record), so the whole
 * range costs little. Here ~9 MiB of records lie between the snapshot and the producers' batches: beyond the old
 * replay's first 8 MiB read, so the old loop with its cap set below that (a patched MAX_REPLAY_BYTES) fails this.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { MAGIC_OFFSET } from "../../src/protocol/batch-layout.ts";
import { ControlRecordType, buildControlBatch } from "../../src/protocol/control-record.ts";
import type { Partition, PartitionRoles } from "../../src/partition/partition.ts";
import { producerSnapshotOffsets, snapshotFileName } from "../../src/partition/producer-snapshot.ts";
import { tempPartitionDir } from "./temp-partition-dir.ts";

await initCrc32c();

const solo: PartitionRoles = { leader: 1, leaderEpoch: 0, replicas: [1], isr: [1] };
const IDEMPOTENT = 7n;
const OPEN_TXN = 8n;
const ABORTED_TXN = 9n;
const BIG_VALUE = new Uint8Array(1 << 20);
const BIG_BATCHES = 9;

/** A batch of `n` small records, or one 1 MiB record (`big`), for producer `pid` (transactional when `txn`). */
function batch(opts: { pid?: bigint; seq?: number; n?: number; txn?: boolean; big?: boolean }): Uint8Array {
  const bb = new BatchBuilder(1 << 21);
  bb.reset(opts.pid === undefined ? {} : { producerId: opts.pid, producerEpoch: 0, baseSequence: opts.seq ?? 0, isTransactional: opts.txn ?? false });
  if (opts.big === true) bb.append(1_700_000_000_000, null, BIG_VALUE);
  else for (let i = 0; i < (opts.n ?? 1); i++) bb.append(1_700_000_000_000 + i, null, new TextEncoder().encode(`v${i}`));
  return bb.finish().slice();
}

test("after an unclean stop the producer state is rebuilt from every batch after the snapshot, the newest too", async (t) => {
  const { dir, open } = tempPartitionDir(t, "runnel-replay-to-log-end-");

  let p = open(solo);
  p.appendAsLeader(batch({ pid: IDEMPOTENT, seq: 0 })); // 0
  // A clean stop: the producer snapshot at 1.
  p.close();
  await p.log.close();
  p.writeStopSnapshot();
  assert.deepEqual(producerSnapshotOffsets(nodeFileSystem, dir), [1n]);

  p = open(solo);
  for (let i = 0; i < BIG_BATCHES; i++) p.appendAsLeader(batch({ big: true })); // 1-9: records of no producer
  p.appendAsLeader(batch({ pid: ABORTED_TXN, txn: true })); // 10
  p.appendAsLeader(buildControlBatch({ producerId: ABORTED_TXN, producerEpoch: 0, type: ControlRecordType.ABORT, coordinatorEpoch: 0, timestampMs: 1_700_000_000_000 })); // 11
  const retried = batch({ pid: IDEMPOTENT, seq: 1, n: 2 }); // 12-13
  p.appendAsLeader(retried);
  p.appendAsLeader(batch({ pid: OPEN_TXN, txn: true, n: 2 })); // 14-15: a transaction still open
  assert.equal(p.lastStableOffset, 14n);
  // The process is killed: the records are durable, no snapshot is written past the one at 1.
  await p.log.sync();
  await p.abortedTxns.sync();

  p = open(solo);
  assert.equal(p.logEndOffset, 16n);
  assert.deepEqual(producerSnapshotOffsets(nodeFileSystem, dir), [1n]);
  assert.equal(p.lastStableOffset, 14n, "the open transaction holds the last stable offset at its first offset; the aborted one ended at its marker");
  const retry = p.producers.check(IDEMPOTENT, 0, 1, 2);
  assert.equal(retry.kind, "duplicate", "the producer's retry of its last batch gets its original offset back");
  assert.equal(retry.kind === "duplicate" ? retry.baseOffset : -1n, 12n);
  assert.equal(p.producers.check(IDEMPOTENT, 0, 3, 1).kind, "append", "its next batch follows on");
});

test("the replay crosses segments: a marker and an open transaction in sealed segments, roll snapshots lost to the crash", async (t) => {
  const { dir, open: openAs } = tempPartitionDir(t, "runnel-replay-segments-", { segmentBytes: 300 });
  const open = (): Partition => openAs(solo);

  let p = open();
  p.appendAsLeader(batch({ pid: IDEMPOTENT, seq: 0 })); // 0
  p.close();
  await p.log.close();
  p.writeStopSnapshot(); // the snapshot at 1

  p = open();
  p.appendAsLeader(batch({ pid: OPEN_TXN, txn: true, n: 2 })); // 1-2: stays open
  for (let i = 0; i < 4; i++) p.appendAsLeader(batch({ n: 5 })); // 3-22
  p.appendAsLeader(batch({ pid: ABORTED_TXN, txn: true })); // 23
  p.appendAsLeader(buildControlBatch({ producerId: ABORTED_TXN, producerEpoch: 0, type: ControlRecordType.ABORT, coordinatorEpoch: 0, timestampMs: 1_700_000_000_000 })); // 24
  for (let i = 0; i < 4; i++) p.appendAsLeader(batch({ n: 5 })); // 25-44
  p.appendAsLeader(batch({ pid: IDEMPOTENT, seq: 1, n: 2 })); // 45-46
  p.appendAsLeader(batch({ n: 5 })); // 47-51
  assert.ok(p.log.segmentCount >= 4, `segments: ${p.log.segmentCount}`);
  await p.log.sync();
  await p.abortedTxns.sync();
  // Killed before the roll snapshots' renames reached the disk: only the one at 1 is left. (Each is awaited first,
  // as its write runs off the loop and would otherwise land after the removal.)
  const rolls = p.log.segmentBaseOffsets().slice(1);
  for (let i = 0; i < 500 && !rolls.every((o) => fs.existsSync(`${dir}/${snapshotFileName(o)}`)); i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(producerSnapshotOffsets(nodeFileSystem, dir), [1n, ...rolls]);
  for (const o of producerSnapshotOffsets(nodeFileSystem, dir)) if (o !== 1n) fs.rmSync(`${dir}/${snapshotFileName(o)}`);

  p = open();
  assert.equal(p.logEndOffset, 52n);
  assert.equal(p.lastStableOffset, 1n, "the transaction opened right after the snapshot is still open");
  assert.equal(p.producers.ongoingTxnFirstOffset(ABORTED_TXN), null, "the ABORT marker in a sealed segment ended its transaction");
  const retry = p.producers.check(IDEMPOTENT, 0, 1, 2);
  assert.equal(retry.kind === "duplicate" ? retry.baseOffset : retry.kind, 45n);
});

test("after a clean shutdown with no producer snapshot (no producer batch in the log) the start walks no batch", async (t) => {
  const { dir, open } = tempPartitionDir(t, "runnel-replay-clean-", { segmentBytes: 300 });
  let p = open(solo);
  for (let i = 0; i < 8; i++) p.appendAsLeader(batch({ n: 5 })); // 0-39: records of no producer, several segments
  assert.ok(p.log.segmentCount >= 3, `segments: ${p.log.segmentCount}`);
  p.close();
  await p.log.close();
  p.writeStopSnapshot();
  assert.deepEqual(producerSnapshotOffsets(nodeFileSystem, dir), [], "a log no producer wrote gets no snapshot at the stop");
  // A probe: the first batch's magic byte is damaged. A clean start checks no sealed segment below the recovery
  // point, so only a replay walking the batches would meet it (and fail the start).
  const first = `${dir}/${snapshotFileName(0n).replace(".snapshot", ".log")}`;
  const fd = fs.openSync(first, "r+");
  fs.writeSync(fd, new Uint8Array([0x7f]), 0, 1, MAGIC_OFFSET);
  fs.closeSync(fd);

  p = open(solo, { cleanShutdown: true, recoveryPoint: 40n });
  assert.equal(p.logEndOffset, 40n);
  assert.equal(p.lastStableOffset, 40n);
  // An unclean start with no snapshot does walk the log from its start: it may hold producer batches never snapshotted.
  assert.throws(() => open(solo, { recoveryPoint: 40n }), /batch walk from offset 0 stopped in segment 0: bad magic 127/);
});
