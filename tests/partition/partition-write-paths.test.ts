/**
 * The Partition object owns the write paths: the leader path assigns offsets and epochs, updates producer state
 * and the aborted-transaction index from the batches, moves the high watermark as far as the ISR allows and wakes
 * what waits; the follower path takes batches with offsets and epochs set and rebuilds the same state from them;
 * truncation rewinds log, epochs, producer state and aborted transactions together.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ManualClock } from "../../src/platform/clock.ts";
import { nodeFileSystem, type FileSystem } from "../../src/platform/fs.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { ControlRecordType, buildControlBatch } from "../../src/protocol/control-record.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import { logConfigWith, type LogConfig } from "../../src/storage/log-config.ts";
import { PartitionLog } from "../../src/storage/partition-log.ts";
import { Partition, type PartitionDeps, type PartitionRoles } from "../../src/partition/partition.ts";
import { LEADER_EPOCH_CHECKPOINT } from "../../src/partition/leader-epoch-cache.ts";
import { recordingLogger } from "../storage/batch-fixture.ts";

await initCrc32c();

const enc = new TextEncoder();
const LEADER = 1;
const FOLLOWER = 2;

/** A batch of `n` records; idempotent/transactional when `pid` is given. */
function batch(n: number, pid?: { id: bigint; epoch: number; seq: number; txn?: boolean }): Uint8Array {
  const bb = new BatchBuilder(1 << 16);
  bb.reset(pid === undefined ? {} : { producerId: pid.id, producerEpoch: pid.epoch, baseSequence: pid.seq, isTransactional: pid.txn ?? false });
  for (let i = 0; i < n; i++) bb.append(1_700_000_000_000 + i, null, enc.encode(`v${i}`));
  return bb.finish().slice();
}
function abortMarker(id: bigint, epoch: number): Uint8Array {
  return buildControlBatch({ producerId: id, producerEpoch: epoch, type: ControlRecordType.ABORT, coordinatorEpoch: 0, timestampMs: 1_700_000_000_000 });
}

interface Opened {
  p: Partition;
  dir: string;
  deps: PartitionDeps;
  config: LogConfig;
  reopen(roles: PartitionRoles, opts?: { crash?: boolean }): Promise<Partition>;
}

const roots: string[] = [];
function open(roles: PartitionRoles, fields: Partial<LogConfig> = {}, deps: Partial<PartitionDeps> = {}): Opened {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-partition-"));
  roots.push(root);
  const dir = `${root}/t-0`;
  const clock = new ManualClock();
  const logger = recordingLogger();
  const config = logConfigWith(fields);
  const storage = { fs: nodeFileSystem, clock, logger };
  const d: PartitionDeps = { fs: nodeFileSystem, clock, logger, localBrokerId: LEADER, ...deps };
  const o: Opened = {
    p: Partition.open({ name: "t" }, 0, PartitionLog.open(dir, { topic: "t", partition: 0 }, config, storage), d, roles),
    dir,
    deps: d,
    config,
    async reopen(r, opts = {}) {
      if (!opts.crash) {
        o.p.close();
        await o.p.log.close();
        o.p.writeStopSnapshot();
      }
      o.p = Partition.open({ name: "t" }, 0, PartitionLog.open(dir, { topic: "t", partition: 0 }, config, storage), d, r);
      return o.p;
    },
  };
  return o;
}
test.after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

const solo: PartitionRoles = { leader: LEADER, leaderEpoch: 0, replicas: [LEADER], isr: [LEADER] };

test("the leader path: offsets, producer state, aborted transactions, high watermark and waiters in one step", async () => {
  const { p } = open(solo);
  let woken = 0;
  assert.equal(p.addFetchWaiter(() => woken++), true);
  const a = p.appendAsLeader(batch(3, { id: 7n, epoch: 0, seq: 0 }));
  assert.equal(a.baseOffset, 0n);
  assert.equal(p.highWatermark, 3n, "a single node's ISR is itself: the high watermark follows the append");
  assert.equal(woken, 1);
  assert.deepEqual({ ...p.producers.check(7n, 0, 0, 3), timestamp: 0 }, { kind: "duplicate", baseOffset: 0n, timestamp: 0 }, "producer state learned the batch");
  await p.whenCommitted(a.lastOffset + 1n);

  p.appendAsLeader(batch(2, { id: 9n, epoch: 0, seq: 0, txn: true }));
  assert.equal(p.lastStableOffset, 3n, "an open transaction holds the last stable offset");
  const m = p.appendAsLeader(abortMarker(9n, 0));
  assert.equal(p.lastStableOffset, 6n);
  assert.deepEqual(p.abortedTxns.entries(), [{ producerId: 9n, firstOffset: 3n, lastOffset: m.baseOffset, lastStableOffset: 6n }]);
  // The first batch of the epoch checkpoints it, off the event loop.
  const epochs = path.join(p.log.dir, LEADER_EPOCH_CHECKPOINT);
  await until(() => fs.existsSync(epochs));
  assert.equal(fs.readFileSync(epochs, "utf8"), "0\n1\n0 0\n");
});

/** Waits (bounded) for a condition that a background write makes true. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
}

test("with a follower in the ISR the high watermark waits for its fetch, and acks=all waits for the high watermark", async () => {
  const { p } = open({ leader: LEADER, leaderEpoch: 3, replicas: [LEADER, FOLLOWER], isr: [LEADER, FOLLOWER] });
  const a = p.appendAsLeader(batch(4));
  assert.equal(p.highWatermark, 0n);
  let committed = false;
  const done = p.whenCommitted(a.lastOffset + 1n).then(() => (committed = true));
  let woken = 0;
  p.addFetchWaiter(() => woken++);
  p.updateFollowerFetch(FOLLOWER, 2n);
  assert.equal(p.highWatermark, 2n, "the high watermark is the smallest log end offset in the ISR");
  assert.equal(woken, 1);
  await Promise.resolve();
  assert.equal(committed, false);
  p.updateFollowerFetch(FOLLOWER, 4n);
  await done;
  assert.equal(p.highWatermark, 4n);
  assert.throws(() => p.updateFollowerFetch(5, 1n), (e) => e instanceof KafkaError);
  // Losing leadership answers parked acks=all produces.
  const b = p.appendAsLeader(batch(1));
  const lost = p.whenCommitted(b.lastOffset + 1n);
  p.takeRoles({ leader: FOLLOWER, leaderEpoch: 4, replicas: [LEADER, FOLLOWER], isr: [FOLLOWER] });
  await assert.rejects(lost, (e) => e instanceof KafkaError && e.code === ErrorCode.NOT_LEADER_OR_FOLLOWER);
  assert.throws(() => p.appendAsLeader(batch(1)), (e) => e instanceof KafkaError && e.code === ErrorCode.NOT_LEADER_OR_FOLLOWER);
});

test("a follower rebuilds producer state and epochs from the leader's batches, and truncation rewinds them all", async () => {
  const leader = open({ leader: LEADER, leaderEpoch: 0, replicas: [LEADER, FOLLOWER], isr: [LEADER] });
  leader.p.appendAsLeader(batch(2, { id: 5n, epoch: 0, seq: 0 }));
  leader.p.takeRoles({ leader: LEADER, leaderEpoch: 2, replicas: [LEADER, FOLLOWER], isr: [LEADER] });
  leader.p.appendAsLeader(batch(2, { id: 5n, epoch: 0, seq: 2 }));
  leader.p.appendAsLeader(batch(3, { id: 6n, epoch: 1, seq: 0, txn: true }));
  leader.p.appendAsLeader(abortMarker(6n, 1));
  const bytes = Buffer.concat(leader.p.log.read(0n, 1 << 20, true).chunks);

  const f = open({ leader: LEADER, leaderEpoch: 2, replicas: [LEADER, FOLLOWER], isr: [LEADER] }, {}, { localBrokerId: FOLLOWER });
  assert.throws(() => f.p.appendAsLeader(batch(1)), (e) => e instanceof KafkaError && e.code === ErrorCode.NOT_LEADER_OR_FOLLOWER);
  f.p.appendAsFollower(new Uint8Array(bytes));
  assert.equal(f.p.logEndOffset, 8n);
  assert.deepEqual(Buffer.concat(f.p.log.read(0n, 1 << 20, true).chunks), bytes, "the follower's log is the leader's, byte for byte");
  assert.deepEqual(f.p.leaderEpochs.epochEntries(), [{ epoch: 0, startOffset: 0n }, { epoch: 2, startOffset: 2n }]);
  assert.deepEqual({ ...f.p.producers.check(5n, 0, 2, 2), timestamp: 0 }, { kind: "duplicate", baseOffset: 2n, timestamp: 0 }, "a retried batch is recognised on the follower");
  assert.equal(f.p.abortedTxns.entries().length, 1);
  assert.equal(f.p.highWatermark, 0n);
  f.p.updateHighWatermarkFromLeader(6n);
  assert.equal(f.p.highWatermark, 6n);

  // A divergent tail from offset 4: the transaction and its marker go, and the epoch-2 sequence 2 batch stays.
  f.p.truncateTo(4n);
  assert.equal(f.p.logEndOffset, 4n);
  assert.equal(f.p.highWatermark, 4n);
  assert.deepEqual(f.p.abortedTxns.entries(), []);
  assert.equal(f.p.producers.ongoingTxnFirstOffset(6n), null);
  assert.deepEqual(f.p.producers.check(6n, 1, 0, 3), { kind: "append" }, "producer 6 is forgotten");
  assert.deepEqual(f.p.producers.check(5n, 0, 4, 1), { kind: "append" }, "producer 5 continues after sequence 3");
  f.p.truncateTo(2n);
  assert.deepEqual(f.p.leaderEpochs.epochEntries(), [{ epoch: 0, startOffset: 0n }]);
  assert.equal(fs.readFileSync(path.join(f.dir, LEADER_EPOCH_CHECKPOINT), "utf8"), "0\n1\n0 0\n");
  // What is on disk agrees: reopening gives the same state.
  const again = await f.reopen({ leader: LEADER, leaderEpoch: 2, replicas: [LEADER, FOLLOWER], isr: [LEADER] });
  assert.equal(again.logEndOffset, 2n);
  assert.deepEqual(again.producers.check(5n, 0, 2, 2), { kind: "append" });
  assert.deepEqual(again.abortedTxns.entries(), []);
});

test("a producer snapshot is written at every segment roll and recovery replays only what follows the newest", async () => {
  const o = open(solo, { segmentBytes: 300 });
  let seq = 0;
  const rolls: bigint[] = [];
  for (let i = 0; i < 12; i++) {
    const before = o.p.log.segmentCount;
    o.p.appendAsLeader(batch(2, { id: 11n, epoch: 0, seq }));
    seq += 2;
    if (o.p.log.segmentCount > before) rolls.push(o.p.log.segmentBaseOffsets().at(-1)!);
  }
  assert.ok(rolls.length >= 3, `segments rolled ${rolls.length} times`);
  const newest = rolls.at(-1)!;
  const name = `${newest.toString().padStart(20, "0")}.snapshot`;
  for (let i = 0; i < 200 && !fs.existsSync(path.join(o.dir, name)); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(fs.existsSync(path.join(o.dir, name)), "a snapshot named by the new segment's base offset");
  // A crash (no clean-shutdown snapshot): recovery loads the roll snapshot and replays the batches after it.
  const lines: string[] = [];
  o.deps.logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m) };
  const p = await o.reopen(solo, { crash: true });
  const replayed = Number((o.p.logEndOffset - newest) / 2n);
  assert.ok(lines.some((l) => l.includes(`1 from snapshot, ${replayed} batches replayed`)), lines.join("\n"));
  assert.deepEqual({ ...p.producers.check(11n, 0, seq - 2, 2), timestamp: 0 }, { kind: "duplicate", baseOffset: BigInt(seq - 2), timestamp: 0 });
});

test("a producer dropped as expired before a roll stays dropped after a crash: the roll writes its snapshot, empty", async () => {
  const o = open(solo, { segmentBytes: 300 });
  o.p.appendAsLeader(batch(2, { id: 11n, epoch: 0, seq: 0 }));
  assert.equal(o.p.producers.removeExpired(1_700_000_000_000 + 2 * 86_400_000), 1, "idle past producer.id.expiration.ms (1 day)");
  let roll = -1n;
  while (roll < 0n) {
    const before = o.p.log.segmentCount;
    o.p.appendAsLeader(batch(2));
    if (o.p.log.segmentCount > before) roll = o.p.log.segmentBaseOffsets().at(-1)!;
  }
  const name = `${roll.toString().padStart(20, "0")}.snapshot`;
  for (let i = 0; i < 200 && !fs.existsSync(path.join(o.dir, name)); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(fs.existsSync(path.join(o.dir, name)), "the roll wrote a snapshot though no producer is left: the log holds one's batch");
  // A crash: recovery loads that snapshot and replays only what follows it, not the expired producer's batch.
  const p = await o.reopen(solo, { crash: true });
  assert.equal(p.producers.epochOf(11n), null, "the expired producer is not rebuilt from the log");
});

test("a log no producer wrote gets no producer snapshot at a roll or a clean stop", async () => {
  const o = open(solo, { segmentBytes: 300 });
  while (o.p.log.segmentCount < 2) o.p.appendAsLeader(batch(2));
  await o.reopen(solo);
  assert.deepEqual(fs.readdirSync(o.dir).filter((f) => f.endsWith(".snapshot")), []);
});

/** Appends producer 11's two-record batches (sequences from `from`) until the log rolls; the next sequence and the roll's offset. */
function appendUntilRoll(p: Partition, from = 0): { seq: number; roll: bigint } {
  let seq = from;
  for (;;) {
    const before = p.log.segmentCount;
    p.appendAsLeader(batch(2, { id: 11n, epoch: 0, seq }));
    seq += 2;
    if (p.log.segmentCount > before) return { seq, roll: p.log.segmentBaseOffsets().at(-1)! };
  }
}

test("a roll's producer snapshot still being written when the log is cut below it is dropped, not left to describe the records cut", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let written: Promise<void> | null = null;
  // The snapshot's fdatasync takes long enough for a follower's truncation to come first.
  const slowFs: FileSystem = { ...nodeFileSystem, writeFileAtomicAsync: (file, data, tag) => (written = gate.then(() => nodeFileSystem.writeFileAtomicAsync(file, data, tag))) };
  const o = open(solo, { segmentBytes: 300 }, { fs: slowFs });
  const { seq, roll } = appendUntilRoll(o.p);
  for (let i = 0; i < 200 && written === null; i++) await new Promise((r) => setTimeout(r, 5));
  assert.notEqual(written, null, "the roll's snapshot is being written");
  // Cut below the roll: producer 11's batch at roll - 2 (sequences seq - 4, seq - 3) goes, which the snapshot holds.
  o.p.truncateTo(roll - 2n);
  release();
  await written;
  await new Promise((r) => setTimeout(r, 0));
  // Another producer's batch takes those offsets, then a crash: recovery loads the newest snapshot not past the log end.
  o.p.appendAsLeader(batch(2, { id: 12n, epoch: 0, seq: 0 }));
  assert.equal(o.p.logEndOffset, roll, "the log end is back at the roll's offset, without another roll");
  const p = await o.reopen(solo, { crash: true });
  assert.deepEqual(p.producers.check(11n, 0, seq - 4, 2), { kind: "append" }, "the cut batch is not in the log: its retry is written, not answered with offsets that now hold producer 12's records");
});

test("a failed fdatasync of the aborted-transaction index takes the log offline, and no roll snapshot is written over its entry", async () => {
  // Kafka flushes a segment's txn index with the segment: an IOException there takes the log dir offline
  // (LogDirFailureChannel). Going on instead trusts a later sync through a new descriptor, which on Linux reports
  // success once the failed pages were dropped (errors are reported to descriptors open at the time), and a roll
  // snapshot above the lost entry then hides its aborted transaction from read_committed after a power cut.
  const failingFs: FileSystem = {
    ...nodeFileSystem,
    open: (file, create) => {
      const h = nodeFileSystem.open(file, create);
      if (!file.endsWith(".txnindex")) return h;
      return Object.assign(Object.create(h) as typeof h, { datasync: () => Promise.reject(Object.assign(new Error(`EIO: i/o error, fdatasync '${file}'`), { code: "EIO" })) });
    },
  };
  const o = open(solo, { segmentBytes: 300 }, { fs: failingFs });
  o.p.appendAsLeader(batch(2, { id: 21n, epoch: 0, seq: 0, txn: true }));
  o.p.appendAsLeader(abortMarker(21n, 0));
  const { seq, roll } = appendUntilRoll(o.p);
  for (let i = 0; i < 200 && !o.p.log.isOffline; i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(o.p.log.isOffline, "the log is offline after its transaction index failed to sync");
  assert.ok(!fs.readdirSync(o.dir).some((f) => f.endsWith(".snapshot") && BigInt(f.slice(0, 20)) >= roll), "no producer snapshot at or above the roll");
  assert.throws(() => o.p.appendAsLeader(batch(1)), (e) => e instanceof KafkaError && e.code === ErrorCode.KAFKA_STORAGE_ERROR);
});

test("a roll snapshot is not written when an earlier sync of the aborted-transaction index failed, though its own fdatasync succeeded", async () => {
  // Two rolls close together: the second roll's sync fdatasyncs the .txnindex again while the first one's fdatasync
  // is in flight. The first fails (its pages may have been dropped: the entry is gone after a power cut); the second
  // succeeds (a descriptor opened after the error was reported does not see it). A snapshot at the second roll
  // would sit above the ABORT marker whose entry was lost, and recovery replays only from the snapshot.
  const pending: ((e?: Error) => void)[] = [];
  const gatedFs: FileSystem = {
    ...nodeFileSystem,
    open: (file, create) => {
      const h = nodeFileSystem.open(file, create);
      if (!file.endsWith(".txnindex")) return h;
      const datasync = () => new Promise<void>((resolve, reject) => pending.push((e) => (e === undefined ? h.datasync().then(resolve, reject) : reject(e))));
      return Object.assign(Object.create(h) as typeof h, { datasync });
    },
  };
  const o = open(solo, { segmentBytes: 300 }, { fs: gatedFs });
  o.p.appendAsLeader(batch(2, { id: 21n, epoch: 0, seq: 0, txn: true }));
  o.p.appendAsLeader(abortMarker(21n, 0));
  const first = appendUntilRoll(o.p);
  assert.equal(pending.length, 1, "the first roll's sync is fdatasyncing the .txnindex");
  const second = appendUntilRoll(o.p, first.seq);
  assert.equal(pending.length, 2, "the second roll's sync fdatasyncs it too, the first one still in flight");
  pending[0](Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }));
  await until(() => o.p.log.isOffline);
  assert.ok(o.p.log.isOffline, "the failed fdatasync took the log offline");
  pending[1]();
  const snapshotAt = (offset: bigint) => fs.existsSync(`${o.dir}/${offset.toString().padStart(20, "0")}.snapshot`);
  const lines = (o.deps.logger as ReturnType<typeof recordingLogger>).lines;
  await until(() => snapshotAt(second.roll) || lines.some((l) => l.includes(`at ${second.roll} not written`)));
  assert.ok(!snapshotAt(second.roll), "no producer snapshot at the second roll, above the entry whose sync failed");
  // The power goes: the entry's dropped pages are lost. Recovery must replay the ABORT marker to rebuild it.
  for (const f of fs.readdirSync(o.dir)) if (f.endsWith(".txnindex")) fs.rmSync(`${o.dir}/${f}`);
  const p = await o.reopen(solo, { crash: true });
  assert.deepEqual(p.abortedTxns.entries().map((e) => e.producerId), [21n], "read_committed consumers still skip the aborted transaction");
});

test("a failed write of the aborted-transaction index takes the log offline and answers KAFKA_STORAGE_ERROR", () => {
  // The ABORT marker is in the log but its .txnindex entry is not: as for any I/O error in a log's files (Kafka's
  // LogDirFailureChannel), the log goes offline instead of answering an OS error and taking more appends, whose
  // next roll snapshot would cover the missing entry.
  const failingFs: FileSystem = {
    ...nodeFileSystem,
    open: (file, create) => {
      const h = nodeFileSystem.open(file, create);
      if (!file.endsWith(".txnindex")) return h;
      return Object.assign(Object.create(h) as typeof h, { write: () => { throw Object.assign(new Error(`EIO: i/o error, write '${file}'`), { code: "EIO" }); } });
    },
  };
  const o = open(solo, {}, { fs: failingFs });
  o.p.appendAsLeader(batch(2, { id: 22n, epoch: 0, seq: 0, txn: true }));
  assert.throws(() => o.p.appendAsLeader(abortMarker(22n, 0)), (e) => e instanceof KafkaError && e.code === ErrorCode.KAFKA_STORAGE_ERROR);
  assert.ok(o.p.log.isOffline, "the log is offline after its transaction index failed to take the entry");
  assert.throws(() => o.p.appendAsLeader(batch(1)), (e) => e instanceof KafkaError && e.code === ErrorCode.KAFKA_STORAGE_ERROR);
});

test("parked fetches are bounded per partition, and deletion answers what is parked", async () => {
  const { p } = open(solo, {}, { maxWaitingFetches: 2 });
  let woken = 0;
  assert.equal(p.addFetchWaiter(() => woken++), true);
  assert.equal(p.addFetchWaiter(() => woken++), true);
  assert.equal(p.addFetchWaiter(() => woken++), false, "the third is answered at once by its caller");
  assert.equal(p.waitingFetches, 2);
  p.markRemoved();
  assert.equal(woken, 2);
  assert.equal(p.addFetchWaiter(() => woken++), false);
  assert.throws(() => p.appendAsLeader(batch(1)), (e) => e instanceof KafkaError && e.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
});

test("when the log start moves, older epochs and producer snapshots go with it", async () => {
  const o = open(solo, { segmentBytes: 300 });
  let seq = 0;
  for (let i = 0; i < 6; i++, seq += 2) o.p.appendAsLeader(batch(2, { id: 12n, epoch: 0, seq }));
  o.p.takeRoles({ ...solo, leaderEpoch: 1 });
  for (let i = 0; i < 6; i++, seq += 2) o.p.appendAsLeader(batch(2, { id: 12n, epoch: 0, seq }));
  assert.deepEqual(o.p.leaderEpochs.epochEntries(), [{ epoch: 0, startOffset: 0n }, { epoch: 1, startOffset: 12n }]);
  const snapshots = () => fs.readdirSync(o.dir).filter((f) => f.endsWith(".snapshot")).sort().map((f) => BigInt(f.slice(0, 20)));
  const rolls = o.p.log.segmentBaseOffsets().slice(1);
  for (let i = 0; i < 200 && snapshots().length < rolls.length; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(snapshots(), rolls, "one snapshot per roll");
  const cut = o.p.log.segmentBaseOffsets().find((b) => b > 12n)!;
  o.p.log.deleteRecordsBefore(cut);
  assert.deepEqual(o.p.leaderEpochs.epochEntries(), [{ epoch: 1, startOffset: cut }]);
  assert.equal(fs.readFileSync(path.join(o.dir, LEADER_EPOCH_CHECKPOINT), "utf8"), `0\n1\n1 ${cut}\n`);
  assert.deepEqual(snapshots(), rolls.filter((r) => r >= cut), "snapshots below the log start are gone");
});

test("the leader proposes to drop a follower lagging past replica.lag.time.max.ms and to take back one that caught up", () => {
  const clock = new ManualClock();
  const o = open({ leader: LEADER, leaderEpoch: 1, replicas: [LEADER, FOLLOWER, 3], isr: [LEADER, FOLLOWER, 3] }, {}, { clock });
  const p = o.p;
  p.appendAsLeader(batch(4));
  assert.equal(p.proposedIsr(clock.monotonicMs(), 30_000), null, "everyone is within the lag time of the election");
  clock.advance(20_000);
  p.updateFollowerFetch(FOLLOWER, 4n); // caught up now
  p.updateFollowerFetch(3, 1n); // fetching, but behind
  clock.advance(15_000);
  assert.deepEqual(p.proposedIsr(clock.monotonicMs(), 30_000), [LEADER, FOLLOWER], "3 has not been caught up for 35 s");
  p.takeRoles({ leader: LEADER, leaderEpoch: 1, replicas: [LEADER, FOLLOWER, 3], isr: [LEADER, FOLLOWER] });
  assert.equal(p.highWatermark, 4n, "without 3 the high watermark reaches the log end");
  assert.equal(p.proposedIsr(clock.monotonicMs(), 30_000), null);
  p.updateFollowerFetch(3, 4n);
  assert.deepEqual(p.proposedIsr(clock.monotonicMs(), 30_000), [LEADER, FOLLOWER, 3], "3 reached the high watermark: it comes back");
  assert.equal(open({ ...solo, leader: FOLLOWER }).p.proposedIsr(0, 1), null, "only the leader decides");
});

test("the leader refuses a follower fetch from a stale broker epoch and takes a follower into the ISR only as its current registration", () => {
  const clock = new ManualClock();
  const registered = new Map<number, number>([[FOLLOWER, 7], [3, 9]]);
  const o = open({ leader: LEADER, leaderEpoch: 1, replicas: [LEADER, FOLLOWER, 3], isr: [LEADER, 3] }, {}, { clock, aliveBrokerEpoch: (id) => registered.get(id) });
  const p = o.p;
  p.appendAsLeader(batch(4));
  const notLeader = (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.NOT_LEADER_OR_FOLLOWER;
  assert.throws(() => p.acceptFollowerFetch(FOLLOWER, 4n, 1, 6n), notLeader, "epoch 6 is older than the registration 7");
  assert.equal(p.follower(FOLLOWER), undefined, "a refused fetch is not tracked");
  assert.equal(p.acceptFollowerFetch(FOLLOWER, 4n, 1, 7n), null);
  assert.equal(p.follower(FOLLOWER)!.brokerEpoch, 7n);
  registered.set(FOLLOWER, 8); // it restarted and registered again before the leader decided
  assert.equal(p.proposedIsr(clock.monotonicMs(), 30_000), null, "caught up, but as the previous registration");
  assert.throws(() => p.acceptFollowerFetch(FOLLOWER, 4n, 1, 7n), notLeader, "the old incarnation is fenced now");
  p.acceptFollowerFetch(FOLLOWER, 4n, 1, 8n);
  assert.deepEqual(p.proposedIsr(clock.monotonicMs(), 30_000), [LEADER, FOLLOWER, 3], "fetching as its current registration, it joins");
  p.takeRoles({ leader: LEADER, leaderEpoch: 1, replicas: [LEADER, FOLLOWER, 3], isr: [LEADER, 3] });
  assert.equal(p.acceptFollowerFetch(FOLLOWER, 4n, 1, -1n), null, "a fetch without a broker epoch is not fenced");
  assert.equal(p.proposedIsr(clock.monotonicMs(), 30_000), null, "but does not join: the follower is not registered yet");
  p.acceptFollowerFetch(FOLLOWER, 4n, 1, 8n);
  registered.delete(FOLLOWER);
  assert.equal(p.proposedIsr(clock.monotonicMs(), 30_000), null, "an unregistered broker does not join");
});

test("the leader calls onFollowerCaughtUp from the fetch path when a follower out of the ISR catches up, not before", () => {
  const calls: string[] = [];
  const o = open({ leader: LEADER, leaderEpoch: 1, replicas: [LEADER, FOLLOWER], isr: [LEADER] }, {}, { onFollowerCaughtUp: (t, i) => calls.push(`${t}-${i}`) });
  o.p.appendAsLeader(batch(4));
  o.p.acceptFollowerFetch(FOLLOWER, 2n, 1);
  assert.deepEqual(calls, [], "behind the high watermark");
  o.p.acceptFollowerFetch(FOLLOWER, 4n, 1);
  assert.deepEqual(calls, ["t-0"], "caught up: the ISR change is wanted now");
  o.p.takeRoles({ leader: LEADER, leaderEpoch: 1, replicas: [LEADER, FOLLOWER], isr: [LEADER, FOLLOWER] });
  o.p.acceptFollowerFetch(FOLLOWER, 4n, 1);
  assert.deepEqual(calls, ["t-0"], "already in the ISR");
});

test("a leader whose roles were written before this broker's registration takes no writes and serves no follower fetch until elected again", () => {
  let stale = true;
  const asked: string[] = [];
  const o = open({ leader: LEADER, leaderEpoch: 0, replicas: [LEADER, FOLLOWER], isr: [LEADER, FOLLOWER] }, {}, {
    staleRoles: (topic, partition) => {
      asked.push(`${topic}-${partition}`);
      return stale;
    },
  });
  assert.throws(() => o.p.appendAsLeader(batch(2)), (e: KafkaError) => e.code === ErrorCode.NOT_LEADER_OR_FOLLOWER, "a restarted leader does not write in its earlier incarnation's leader epoch");
  assert.throws(() => o.p.acceptFollowerFetch(FOLLOWER, 0n, -1), (e: KafkaError) => e.code === ErrorCode.NOT_LEADER_OR_FOLLOWER, "nor moves the high watermark");
  assert.deepEqual(asked, ["t-0", "t-0"]);
  stale = false; // the controller wrote the partition again (here: re-elected it)
  o.p.takeRoles({ leader: LEADER, leaderEpoch: 1, replicas: [LEADER, FOLLOWER], isr: [LEADER] });
  assert.equal(o.p.appendAsLeader(batch(2)).baseOffset, 0n);
});

test("the end of the producer batches follows every write path: leader, marker, follower, truncation, full restart", async () => {
  const leader = open({ leader: LEADER, leaderEpoch: 0, replicas: [LEADER, FOLLOWER], isr: [LEADER] });
  leader.p.appendAsLeader(batch(2));
  assert.equal(leader.p.producers.producerBatchEnd, -1n, "a batch without a producer id is none");
  leader.p.appendAsLeader(batch(2, { id: 5n, epoch: 0, seq: 0 }));
  leader.p.appendAsLeader(batch(3, { id: 6n, epoch: 1, seq: 0, txn: true }));
  assert.equal(leader.p.producers.producerBatchEnd, 7n);
  leader.p.appendAsLeader(abortMarker(6n, 1));
  assert.equal(leader.p.producers.producerBatchEnd, 8n, "a marker counts");
  const bytes = Buffer.concat(leader.p.log.read(0n, 1 << 20, true).chunks);

  const f = open({ leader: LEADER, leaderEpoch: 0, replicas: [LEADER, FOLLOWER], isr: [LEADER] }, {}, { localBrokerId: FOLLOWER });
  f.p.appendAsFollower(new Uint8Array(bytes));
  assert.equal(f.p.producers.producerBatchEnd, 8n, "a follower's appends count");
  f.p.truncateTo(4n);
  assert.equal(f.p.producers.producerBatchEnd, 4n, "after a truncation: the replayed batches only, never above the log end");
  f.p.truncateTo(2n);
  assert.equal(f.p.producers.producerBatchEnd, -1n, "no producer batch left");
  // Nothing a replay would rebuild: a clean stop writes no snapshot (none below the log start, none above the end).
  await f.reopen({ leader: LEADER, leaderEpoch: 0, replicas: [LEADER, FOLLOWER], isr: [LEADER] });
  assert.deepEqual(fs.readdirSync(f.dir).filter((n) => n.endsWith(".snapshot")), []);
  f.p.appendAsFollower(new Uint8Array(Buffer.concat(leader.p.log.read(2n, 1 << 20, true).chunks)));
  assert.equal(f.p.producers.producerBatchEnd, 8n);
  f.p.truncateFullyAndStartAt(100n);
  assert.equal(f.p.producers.producerBatchEnd, -1n, "a log restarted empty holds no producer batch");
  await f.reopen({ leader: LEADER, leaderEpoch: 0, replicas: [LEADER, FOLLOWER], isr: [LEADER] });
  assert.deepEqual(fs.readdirSync(f.dir).filter((n) => n.endsWith(".snapshot")), [], "no snapshot for an empty log");
});
