/**
 * Segment.scan (under locate, index rebuild, truncation and the producer-state replay's header walk) reads a batch
 * header alone (61 bytes) after a batch larger than 8 KiB instead of a 16 KiB window. Batches of sizes on both sides
 * of that bound, and of the window's, mixed with small ones, a transaction ended by an ABORT marker as a segment's
 * last batch, over several segments: the header walk from every offset (inside a batch: from the batch holding it;
 * from the log end: nothing) visits exactly the batches with a last offset at or after it, a read at every offset
 * starts at the batch holding it, and after an unclean stop the replay rebuilds the producers' sequences and ends
 * the transaction.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { BASE_OFFSET_OFFSET, LAST_OFFSET_DELTA_OFFSET, dataViewOf } from "../../src/protocol/batch-layout.ts";
import { ControlRecordType, buildControlBatch } from "../../src/protocol/control-record.ts";
import type { PartitionRoles } from "../../src/partition/partition.ts";
import { producerSnapshotOffsets, snapshotFileName } from "../../src/partition/producer-snapshot.ts";
import { tempPartitionDir } from "./temp-partition-dir.ts";

await initCrc32c();

const solo: PartitionRoles = { leader: 1, leaderEpoch: 0, replicas: [1], isr: [1] };
const PID = 7n;
const TXN = 9n;
/** Batch sizes around the header-only bound (8 KiB) and the readahead window (16 KiB). */
const SIZES = [100, 8191, 8192, 8193, 200, 16384, 16385, 300, 8193, 8193, 16300, 30000, 150, 8192];

/** A batch of 3 records of producer `pid` (sequence `seq`) exactly `size` bytes long. */
function batchOfSize(size: number, pid: bigint, seq: number, txn = false): Uint8Array {
  const build = (valueBytes: number): Uint8Array => {
    const bb = new BatchBuilder(1 << 16);
    bb.reset({ producerId: pid, producerEpoch: 0, baseSequence: seq, isTransactional: txn });
    bb.append(1_700_000_000_000, null, new Uint8Array(1));
    bb.append(1_700_000_000_001, null, new Uint8Array(valueBytes));
    bb.append(1_700_000_000_002, null, new Uint8Array(1));
    return bb.finish().slice();
  };
  let v = Math.max(0, size - 100);
  for (let i = 0; i < 8; i++) {
    const b = build(v);
    if (b.length === size) return b;
    v += size - b.length;
  }
  throw new Error(`no batch of ${size} bytes`);
}

test("header walks and reads around the header-only read size find every batch; the replay rebuilds from them", async (t) => {
  const { dir, open } = tempPartitionDir(t, "runnel-header-walk-", { segmentBytes: 40_000 });
  let p = open(solo);
  const batches: { base: bigint; last: bigint }[] = [];
  const add = (bytes: Uint8Array): void => {
    const r = p.appendAsLeader(bytes);
    batches.push({ base: r.baseOffset, last: r.lastOffset });
  };
  add(batchOfSize(120, TXN, 0, true)); // a transaction, ended by the marker below
  SIZES.forEach((size, i) => add(batchOfSize(size, PID, i * 3)));
  add(buildControlBatch({ producerId: TXN, producerEpoch: 0, type: ControlRecordType.ABORT, coordinatorEpoch: 0, timestampMs: 1_700_000_000_000 }));
  p.log.rollActive(); // the marker ends its segment
  add(batchOfSize(9000, PID, SIZES.length * 3));
  add(batchOfSize(100, PID, SIZES.length * 3 + 3));
  assert.ok(p.log.segmentCount >= 4, `segments: ${p.log.segmentCount}`);
  const leo = p.logEndOffset;
  assert.equal(leo, batches.at(-1)!.last + 1n);

  for (let o = 0n; o <= leo; o++) {
    const seen: bigint[] = [];
    p.log.forEachBatchHeader(o, (buf, dv, at) => {
      seen.push(dv.getBigInt64(at + BASE_OFFSET_OFFSET));
      assert.ok(at + 61 <= buf.length);
    });
    assert.deepEqual(seen, batches.filter((b) => b.last >= o).map((b) => b.base), `walk from ${o}`);
    if (o === leo) continue;
    const r = p.log.read(o, 1, true);
    const first = r.chunks[0];
    const holder = batches.find((b) => b.last >= o)!;
    assert.equal(dataViewOf(first).getBigInt64(BASE_OFFSET_OFFSET), holder.base, `read at ${o}`);
    assert.equal(holder.base + BigInt(dataViewOf(first).getInt32(LAST_OFFSET_DELTA_OFFSET)), holder.last);
  }

  // An unclean stop with every snapshot lost: the replay walks all of it.
  await p.log.sync();
  await p.abortedTxns.sync();
  const rolls = p.log.segmentBaseOffsets().slice(1);
  for (let i = 0; i < 500 && !rolls.every((o) => fs.existsSync(`${dir}/${snapshotFileName(o)}`)); i++) await new Promise((r) => setTimeout(r, 10));
  for (const o of producerSnapshotOffsets(nodeFileSystem, dir)) fs.rmSync(`${dir}/${snapshotFileName(o)}`);
  p = open(solo, { recoveryPoint: 0n });
  assert.equal(p.logEndOffset, leo);
  assert.equal(p.producers.ongoingTxnFirstOffset(TXN), null, "the ABORT marker ending a segment ended the transaction");
  assert.equal(p.lastStableOffset, leo);
  const lastSeq = SIZES.length * 3 + 3;
  const retry = p.producers.check(PID, 0, lastSeq, 3);
  assert.equal(retry.kind === "duplicate" ? retry.baseOffset : retry.kind, batches.at(-1)!.base);
  for (let o = 0n; o < leo; o++) {
    const r = p.log.read(o, 1, true);
    assert.equal(dataViewOf(r.chunks[0]).getBigInt64(BASE_OFFSET_OFFSET), batches.find((b) => b.last >= o)!.base, `read at ${o} after recovery`);
  }
});
