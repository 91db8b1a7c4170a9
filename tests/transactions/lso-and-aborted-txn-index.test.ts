/**
 * The partition side of transactions without a broker: the producer state's ongoing transactions and last stable
 * offset, producer snapshots carrying currentTxnFirstOffset, the `.txnindex` file layout and the aborted
 * transactions a read_committed fetch of a range must carry.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { ProducerStateTable } from "../../src/partition/producer-state.ts";
import { decodeProducerSnapshot, encodeProducerSnapshot } from "../../src/partition/producer-snapshot.ts";
import { AbortedTxnIndex, TXN_INDEX_ENTRY_SIZE, type TxnIndexLog } from "../../src/partition/aborted-txn-index.ts";

await initCrc32c();

function tempLog(bases: bigint[] = [0n], start = 0n, end = 1000n): TxnIndexLog & { bases: bigint[]; start: bigint; end: bigint } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-txnindex-"));
  return {
    dir,
    bases,
    start,
    end,
    get logStartOffset() {
      return this.start;
    },
    get logEndOffset() {
      return this.end;
    },
    segmentBaseOffsets() {
      return [...this.bases];
    },
  };
}

test("the first unstable offset is the first offset of the oldest open transaction; markers end transactions", () => {
  const t = new ProducerStateTable();
  assert.equal(t.firstUnstableOffset(), null);
  t.record(1n, 0, 0, 2, 10n);
  t.beginTxn(1n, 10n);
  t.beginTxn(1n, 12n); // later batches of the same transaction do not move its first offset
  t.record(2n, 0, 0, 1, 14n);
  t.beginTxn(2n, 14n);
  assert.equal(t.firstUnstableOffset(), 10n);
  assert.equal(t.completeTxn(1n, 0), 10n);
  assert.equal(t.firstUnstableOffset(), 14n);
  assert.equal(t.completeTxn(1n, 0), null, "a second marker ends nothing");
  assert.equal(t.completeTxn(2n, 0), 14n);
  assert.equal(t.firstUnstableOffset(), null);
  assert.throws(() => {
    t.beginTxn(3n, 30n);
    t.beginTxn(4n, 29n);
  }, /starts at 29/);
});

test("a marker with a newer epoch fences older batches of the producer and restarts its sequences", () => {
  const t = new ProducerStateTable();
  t.record(1n, 3, 0, 5, 0n);
  t.beginTxn(1n, 0n);
  assert.equal(t.completeTxn(1n, 4), 0n);
  const old = t.check(1n, 3, 5, 1);
  assert.equal(old.kind, "error");
  assert.equal(t.check(1n, 4, 0, 1).kind, "append", "the new epoch starts at sequence 0");
  assert.equal(t.check(1n, 4, 3, 1).kind, "error");
});

test("producer snapshots keep each producer's open transaction (Kafka's currentTxnFirstOffset) and restore the LSO", () => {
  const t = new ProducerStateTable();
  t.record(7n, 1, 0, 3, 100n);
  t.beginTxn(7n, 100n);
  t.record(8n, 0, 0, 1, 103n);
  t.record(9n, 2, 5, 1, 104n);
  t.beginTxn(9n, 104n);
  const bytes = encodeProducerSnapshot(t.entries());
  const entries = decodeProducerSnapshot(bytes);
  assert.deepEqual(entries.map((e) => [e.producerId, e.currentTxnFirstOffset]), [[7n, 100n], [8n, -1n], [9n, 104n]]);
  const back = new ProducerStateTable();
  back.restore(entries);
  assert.equal(back.firstUnstableOffset(), 100n);
  assert.equal(back.ongoingTxnFirstOffset(9n), 104n);
  assert.equal(back.ongoingTxnFirstOffset(8n), null);
});

test("a marker from an older transaction coordinator than the last one is refused (TRANSACTION_COORDINATOR_FENCED), also after a snapshot", () => {
  const t = new ProducerStateTable();
  t.record(5n, 0, 0, 2, 0n);
  t.beginTxn(5n, 0n);
  assert.equal(t.markerProblem(5n, 3), 0);
  t.completeTxn(5n, 0, 3); // the coordinator at epoch 3 ended the transaction
  assert.equal(t.markerProblem(5n, 2), 52, "a stale coordinator (epoch 2) is fenced");
  assert.equal(t.markerProblem(5n, 3), 0, "the same coordinator again");
  assert.equal(t.markerProblem(5n, 4), 0, "a newer one");
  assert.equal(t.markerProblem(6n, 0), 0, "a producer never seen here");
  const back = new ProducerStateTable();
  back.restore(decodeProducerSnapshot(encodeProducerSnapshot(t.entries())));
  assert.equal(back.markerProblem(5n, 2), 52, "kept in Kafka's snapshot coordinator_epoch field");
});

test(".txnindex entries are Kafka's 34-byte layout, one file per segment, reloaded and trimmed at open", () => {
  const log = tempLog([0n, 100n]);
  try {
    const idx = AbortedTxnIndex.open(nodeFileSystem, log);
    idx.add({ producerId: 5n, firstOffset: 10n, lastOffset: 20n, lastStableOffset: 21n });
    idx.add({ producerId: 6n, firstOffset: 95n, lastOffset: 120n, lastStableOffset: 121n });
    idx.add({ producerId: 6n, firstOffset: 95n, lastOffset: 120n, lastStableOffset: 121n }); // a replay: ignored
    const first = fs.readFileSync(path.join(log.dir, "00000000000000000000.txnindex"));
    assert.equal(first.length, TXN_INDEX_ENTRY_SIZE);
    assert.deepEqual([...first], [0, 0, ...be64(5n), ...be64(10n), ...be64(20n), ...be64(21n)]);
    assert.equal(fs.readFileSync(path.join(log.dir, "00000000000000000100.txnindex")).length, TXN_INDEX_ENTRY_SIZE);
    // A torn last entry and an entry past a truncated log end are dropped at open.
    fs.appendFileSync(path.join(log.dir, "00000000000000000100.txnindex"), Buffer.from([0, 0, 1, 2]));
    log.end = 110n;
    const again = AbortedTxnIndex.open(nodeFileSystem, log);
    assert.deepEqual(again.entries(), [{ producerId: 5n, firstOffset: 10n, lastOffset: 20n, lastStableOffset: 21n }]);
    assert.equal(fs.existsSync(path.join(log.dir, "00000000000000000100.txnindex")), false, "the file held only dropped entries");
    // Segments deleted from the front take their index files along at the next prune.
    log.bases = [100n];
    log.start = 100n;
    again.prune();
    assert.equal(again.size, 0);
    assert.equal(fs.existsSync(path.join(log.dir, "00000000000000000000.txnindex")), false);
  } finally {
    fs.rmSync(log.dir, { recursive: true, force: true });
  }
});

test("a fetch of [from, upper) gets the aborted transactions overlapping it, stopping at the first whose LSO reaches upper", () => {
  const log = tempLog([0n]);
  try {
    const idx = AbortedTxnIndex.open(nodeFileSystem, log);
    // p1 aborted [0..10]; p2 aborted [5..30] while p3 was open from 20 (LSO after p2's marker = 20); p3 aborted [20..40].
    idx.add({ producerId: 1n, firstOffset: 0n, lastOffset: 10n, lastStableOffset: 5n });
    idx.add({ producerId: 2n, firstOffset: 5n, lastOffset: 30n, lastStableOffset: 20n });
    idx.add({ producerId: 3n, firstOffset: 20n, lastOffset: 40n, lastStableOffset: 41n });
    idx.add({ producerId: 4n, firstOffset: 50n, lastOffset: 60n, lastStableOffset: 61n });
    const pids = (from: bigint, upper: bigint) => idx.collect(from, upper).map((a) => a.producerId);
    assert.deepEqual(pids(0n, 100n), [1n, 2n, 3n, 4n]);
    assert.deepEqual(pids(11n, 25n), [2n, 3n]);
    assert.deepEqual(pids(11n, 19n), [2n], "p3 began at 20; the scan stops at p2 (its LSO 20 >= 19)");
    assert.deepEqual(pids(41n, 50n), [], "p4 starts at the upper bound");
    assert.deepEqual(pids(41n, 51n), [4n]);
    assert.deepEqual(pids(61n, 70n), []);
    assert.deepEqual(idx.collect(5n, 5n), []);
    assert.deepEqual(idx.collect(0n, 6n)[1], { producerId: 2n, firstOffset: 5n });
  } finally {
    fs.rmSync(log.dir, { recursive: true, force: true });
  }
});

function be64(v: bigint): number[] {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(v);
  return [...b];
}
