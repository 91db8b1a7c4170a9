/**
 * The log cleaner over transactional data, as Kafka's LogCleaner (CleanedTransactionMetadata): records of aborted
 * transactions go (and never count as a key's latest value); committed transactional records are compacted like any
 * other; a COMMIT/ABORT marker stays while a batch of its transaction is left, then gets a delete horizon and goes
 * in a pass after it; the aborted-transaction index keeps an entry exactly while its transaction's batches are
 * there, on disk too; nothing at or past the last stable offset is cleaned.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ManualClock } from "../../src/platform/clock.ts";
import { type FileSystem, nodeFileSystem } from "../../src/platform/fs.ts";
import { snapshotFileName } from "../../src/partition/producer-snapshot.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { logConfigWith } from "../../src/storage/log-config.ts";
import { PartitionLog } from "../../src/storage/partition-log.ts";
import { Partition } from "../../src/partition/partition.ts";
import { recordingLogger } from "./batch-fixture.ts";
import { crashingFileSystem } from "./crashing-file-system.ts";
import { controlBatch, keyedBatch, type KV, readLog, setProducer } from "./log-cleaner-records.ts";

await initCrc32c();

const TXN = 0x10;
const COMMIT = 1;
const ABORT = 0;
const A = 7n; // commits
const B = 8n; // aborts
const DELETE_RETENTION_MS = 1000;

/** A partition (one replica) over a fresh compacted log, with its clock. */
function openPartition(root: string, clock: ManualClock) {
  const logger = recordingLogger();
  const config = logConfigWith({ cleanupPolicy: ["compact"], deleteRetentionMs: DELETE_RETENTION_MS });
  const deps = { fs: nodeFileSystem, clock, logger };
  const log = PartitionLog.open(`${root}/t-0`, { topic: "t", partition: 0 }, config, deps);
  const p = Partition.open({ name: "t" }, 0, log, { ...deps, localBrokerId: 1 }, { leader: 1, leaderEpoch: 0, replicas: [1], isr: [1] });
  return { log, p, logger };
}

/** Resolves once `cond` holds, checking it every millisecond (the test's own timeout bounds the wait). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 1));
}

/** Records of the log as `offset:key=value`, control records as `offset:COMMIT/ABORT`. */
function contents(log: PartitionLog): string[] {
  return readLog(log).records.map((r) => (r.key !== null && r.key.charCodeAt(0) === 0 ? `${r.offset}:${r.key.charCodeAt(3) === COMMIT ? "COMMIT" : "ABORT"}` : `${r.offset}:${r.key}=${r.value}`));
}

test("aborted records go, committed transactional records are compacted, markers and the txnindex follow their transactions", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-txncompact-"));
  const clock = new ManualClock(1_700_000_000_000);
  let { log, p, logger } = openPartition(root, clock);
  const seqs = new Map<bigint, number>([[A, 0], [B, 0]]);
  const txn = (pid: bigint, recs: KV[]) => {
    const seq = seqs.get(pid)!;
    seqs.set(pid, seq + recs.length);
    return keyedBatch(recs, { attributes: TXN, producer: { id: pid, epoch: 0, seq }, ts: clock.nowMs() });
  };
  const plain = (recs: KV[]) => keyedBatch(recs, { ts: clock.nowMs() });
  const append = (...bs: Uint8Array[]) => {
    for (const b of bs) p.appendAsLeader(b);
  };
  /** Seals the active segment after a batch that makes the log dirty, then cleans once. */
  const pass = async () => {
    append(plain([{ k: "dirt", v: String(clock.nowMs()) }]));
    log.rollActive();
    // both producers write again in the active segment, so that their batches above are not their last state
    append(txn(A, [{ k: "late-a", v: "1" }]), controlBatch(COMMIT, A, clock.nowMs()), txn(B, [{ k: "late-b", v: "1" }]), controlBatch(COMMIT, B, clock.nowMs()));
    const r = await log.compact();
    assert.ok(r !== null && r.abandoned === null, logger.lines.join("\n"));
  };
  try {
    append(
      txn(A, [{ k: "a", v: "A1" }, { k: "x", v: "A1" }]), // 0-1: committed
      txn(B, [{ k: "a", v: "B1" }, { k: "b", v: "B1" }]), // 2-3: aborted
      plain([{ k: "c", v: "c1" }]), // 4
      controlBatch(COMMIT, A, clock.nowMs()), // 5
      controlBatch(ABORT, B, clock.nowMs()), // 6
      plain([{ k: "x", v: "plain" }]), // 7: supersedes A's x
    );
    assert.deepEqual(p.abortedTxns.entries().map((e) => [e.producerId, e.firstOffset, e.lastOffset]), [[B, 2n, 6n]]);
    await pass(); // seals 0-8, cleans it

    const first = contents(log).filter((r) => Number(r.split(":")[0]) <= 7);
    // B's records are gone and did not shadow A's `a`; A's `x` gave way to the later plain one; both markers stay
    // (batches of their transactions were there when the pass began)
    assert.deepEqual(first, ["0:a=A1", "4:c=c1", "5:COMMIT", "6:ABORT", "7:x=plain"]);
    const markers = readLog(log).batches.filter((b) => b.baseOffset === 5n || b.baseOffset === 6n);
    assert.deepEqual(markers.map((b) => b.hasDeleteHorizon), [false, false]);
    assert.deepEqual(p.abortedTxns.collect(0n, 7n).map((a) => [a.producerId, a.firstOffset]), [[B, 2n]], "read_committed still learns of B's transaction");
    // the cleaned segment's .txnindex holds it: a restart (crash) finds it
    log.close(); // without a producer snapshot or index sync from the partition: as a crash leaves them
    ({ log, p, logger } = openPartition(root, clock));
    assert.deepEqual(p.abortedTxns.entries().map((e) => [e.producerId, e.firstOffset, e.lastOffset]), [[B, 2n, 6n]]);

    // A's batch at 0 still holds `a`; supersede it so that A's transaction is emptied
    append(plain([{ k: "a", v: "plain" }]));
    await pass();
    const markerBatches = () => readLog(log).batches.filter((b) => b.baseOffset === 5n || b.baseOffset === 6n).map((b) => [b.baseOffset, b.count, b.hasDeleteHorizon]);
    // A's batch at 0 was there when this pass began: its COMMIT stays as it is; B's transaction left no batch in
    // the first pass, so its ABORT marker gets a delete horizon now, and its index entry goes
    assert.deepEqual(markerBatches(), [[5n, 1, false], [6n, 1, true]]);
    const abortMarker = readLog(log).batches.find((b) => b.baseOffset === 6n)!;
    assert.equal(abortMarker.baseTimestamp, BigInt(clock.nowMs() + DELETE_RETENTION_MS), "the horizon is now + delete.retention.ms");
    assert.deepEqual(p.abortedTxns.entries().filter((e) => e.lastOffset <= 6n), [], "B's entry went with its transaction's last batch");
    assert.ok(!contents(log).some((r) => r.startsWith("0:")));
    log.close();
    ({ log, p, logger } = openPartition(root, clock));
    assert.deepEqual(p.abortedTxns.entries().filter((e) => e.lastOffset <= 6n), [], "and from the .txnindex on disk");

    clock.advance(DELETE_RETENTION_MS - 1);
    await pass();
    assert.deepEqual(markerBatches(), [[5n, 1, true], [6n, 1, true]], "before its horizon the ABORT marker stays; the COMMIT gets one");
    clock.advance(1);
    await pass();
    assert.deepEqual(markerBatches(), [[5n, 1, true]], "the ABORT marker went at its horizon");
    clock.advance(DELETE_RETENTION_MS);
    await pass();
    assert.deepEqual(markerBatches(), [], "and the COMMIT marker at its own");
  } finally {
    p.close();
    await log.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("an open transaction is not cleaned: the cleanable section ends at the last stable offset", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-txncompact-"));
  const clock = new ManualClock(1_700_000_000_000);
  const { log, p, logger } = openPartition(root, clock);
  try {
    p.appendAsLeader(keyedBatch([{ k: "a", v: "1" }], { ts: clock.nowMs() })); // 0
    p.appendAsLeader(keyedBatch([{ k: "a", v: "open" }], { attributes: TXN, producer: { id: A, epoch: 0, seq: 0 }, ts: clock.nowMs() })); // 1: not yet committed
    p.appendAsLeader(keyedBatch([{ k: "a", v: "2" }], { ts: clock.nowMs() })); // 2
    log.rollActive();
    p.appendAsLeader(keyedBatch([{ k: "z", v: "1" }], { ts: clock.nowMs() })); // 3
    assert.equal(p.lastStableOffset, 1n);
    const r = await log.compact();
    assert.ok(r !== null, logger.lines.join("\n"));
    assert.equal(r.cleanedUpTo, 1n, "only below the open transaction");
    assert.deepEqual(readLog(log).records.map((x) => `${x.offset}:${x.key}=${x.value}`), ["0:a=1", "1:a=open", "2:a=2", "3:z=1"], "the open transaction's record and all after it stay");
  } finally {
    p.close();
    await log.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("a crash at any step of a pass leaves the records and the aborted-transaction index both old or both new", { timeout: 120_000 }, async () => {
  const C = 9n; // a third producer, whose transaction aborts in the dirty section of the crashing pass
  /** Builds the log (one pass already run over B's aborted transaction) and seals a dirty section; returns its partition. */
  const fill = async (root: string, clock: ManualClock, fsys: FileSystem) => {
    const logger = recordingLogger();
    const config = logConfigWith({ cleanupPolicy: ["compact"], deleteRetentionMs: DELETE_RETENTION_MS });
    const deps = { fs: fsys, clock, logger };
    const log = PartitionLog.open(`${root}/t-0`, { topic: "t", partition: 0 }, config, deps);
    const p = Partition.open({ name: "t" }, 0, log, { ...deps, localBrokerId: 1 }, { leader: 1, leaderEpoch: 0, replicas: [1], isr: [1] });
    const seqs = new Map<bigint, number>();
    // Each roll starts a producer snapshot written in the background (open + rename through `fsys`): see the end.
    const rolledAt: bigint[] = [];
    const roll = () => {
      rolledAt.push(log.logEndOffset);
      log.rollActive();
    };
    const txn = (pid: bigint, recs: KV[]) => {
      const seq = seqs.get(pid) ?? 0;
      seqs.set(pid, seq + recs.length);
      return keyedBatch(recs, { attributes: TXN, producer: { id: pid, epoch: 0, seq }, ts: clock.nowMs() });
    };
    const later = () => {
      for (const pid of [A, B, C]) p.appendAsLeader(txn(pid, [{ k: `late-${pid}`, v: String(clock.nowMs()) }]));
      for (const pid of [A, B, C]) p.appendAsLeader(controlBatch(COMMIT, pid, clock.nowMs()));
    };
    p.appendAsLeader(txn(A, [{ k: "a", v: "A1" }]));
    p.appendAsLeader(txn(B, [{ k: "a", v: "B1" }, { k: "b", v: "B1" }]));
    roll();
    p.appendAsLeader(keyedBatch([{ k: "c", v: "1" }], { ts: clock.nowMs() }));
    p.appendAsLeader(controlBatch(ABORT, B, clock.nowMs()));
    p.appendAsLeader(controlBatch(COMMIT, A, clock.nowMs()));
    roll();
    later();
    const first = await log.compact();
    assert.ok(first !== null && first.abandoned === null);
    // the crashing pass: B's emptied transaction loses its index entry, C's aborted records go (its entry stays)
    clock.advance(10);
    p.appendAsLeader(txn(C, [{ k: "a", v: "C1" }]));
    p.appendAsLeader(keyedBatch([{ k: "b", v: "2" }], { ts: clock.nowMs() }));
    roll();
    p.appendAsLeader(txn(C, [{ k: "c", v: "C2" }]));
    p.appendAsLeader(controlBatch(ABORT, C, clock.nowMs()));
    roll();
    later();
    await log.sync();
    await p.abortedTxns.sync();
    // The counted calls must be the pass's alone: a snapshot still being written when the probe or a crash run arms
    // the file system adds its open/rename to one count and not the other (seen at load: probe 39, crash run 38).
    await until(() => rolledAt.every((o) => fs.existsSync(`${log.dir}/${snapshotFileName(o)}`)));
    return { log, p };
  };
  /** What a read_committed consumer of the whole log gets, and the aborted transactions as the index has them. */
  const view = (log: PartitionLog, aborted: readonly { producerId: bigint; firstOffset: bigint; lastOffset: bigint }[]) => {
    const { batches, records } = readLog(log);
    const committed = records.filter((r) => {
      const b = batches.find((x) => x.baseOffset <= r.offset && r.offset <= x.lastOffset)!;
      if ((b.attributes & 0x30) !== TXN) return (b.attributes & 0x20) === 0;
      return !aborted.some((e) => e.producerId === b.producerId && e.firstOffset <= r.offset && r.offset < e.lastOffset);
    });
    return { committed: committed.map((r) => `${r.offset}:${r.key}=${r.value}`), aborted: aborted.map((e) => `${e.producerId}:${e.firstOffset}-${e.lastOffset}`), records: records.length };
  };

  const probeRoot = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-txncompact-"));
  const probe = crashingFileSystem();
  let operations: number;
  let oldView: ReturnType<typeof view>;
  let newView: ReturnType<typeof view>;
  {
    const { log, p } = await fill(probeRoot, new ManualClock(1_700_000_000_000), probe.fs);
    try {
      oldView = view(log, p.abortedTxns.entries());
      probe.arm(Number.MAX_SAFE_INTEGER);
      const r = await log.compact();
      operations = probe.disarm();
      assert.ok(r !== null && r.abandoned === null);
      newView = view(log, p.abortedTxns.entries());
      assert.deepEqual(newView.committed, oldView.committed, "cleaning changes no committed record here");
      assert.deepEqual(oldView.aborted, [`${B}:1-4`, `${C}:12-15`]);
      assert.deepEqual(newView.aborted, [`${C}:12-15`]);
      assert.ok(newView.records < oldView.records);
    } finally {
      p.close();
      await log.close();
      fs.rmSync(probeRoot, { recursive: true, force: true });
    }
  }
  const outcomes = { old: 0, new: 0 };
  for (let crashAt = 1; crashAt <= operations; crashAt++) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-txncompact-"));
    const crash = crashingFileSystem();
    const clock = new ManualClock(1_700_000_000_000);
    const { log } = await fill(root, clock, crash.fs);
    let reopened: { log: PartitionLog; p: Partition } | null = null;
    try {
      crash.arm(crashAt);
      await assert.rejects(log.compact(), /injected crash|offline|I\/O/, `crash at operation ${crashAt}`);
      crash.disarm();
      const again = openPartition(root, clock);
      reopened = again;
      const got = view(again.log, again.p.abortedTxns.entries());
      if (JSON.stringify(got) === JSON.stringify(oldView)) outcomes.old++;
      else if (JSON.stringify(got) === JSON.stringify(newView)) outcomes.new++;
      else assert.fail(`crash at operation ${crashAt} left a mix: ${JSON.stringify(got)}`);
      const leftovers = fs.readdirSync(`${root}/t-0`).filter((n) => /\.(cleaned|swap|deleted)$/.test(n));
      assert.deepEqual(leftovers, [], `crash at ${crashAt}: leftovers removed or completed`);
    } finally {
      reopened?.p.close();
      await reopened?.log.close();
      await log.close().catch(() => {});
      fs.rmSync(root, { recursive: true, force: true });
    }
  }
  assert.ok(outcomes.old > 0 && outcomes.new > 0, `both outcomes seen: ${JSON.stringify(outcomes)}`);
});

test("a producer with only markers of its epoch keeps its last one (emptied); markers of its older epochs go", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-txncompact-"));
  const clock = new ManualClock(1_700_000_000_000);
  const { log, p, logger } = openPartition(root, clock);
  const P = 11n;
  const pass = async () => {
    p.appendAsLeader(keyedBatch([{ k: "dirt", v: String(clock.nowMs()) }], { ts: clock.nowMs() }));
    log.rollActive();
    p.appendAsLeader(keyedBatch([{ k: "active", v: String(clock.nowMs()) }], { ts: clock.nowMs() }));
    const r = await log.compact();
    assert.ok(r !== null && r.abandoned === null, logger.lines.join("\n"));
  };
  const markers = () => readLog(log).batches.filter((b) => (b.attributes & 0x20) !== 0 && b.producerId === P).map((b) => `${b.baseOffset} n=${b.count}${b.hasDeleteHorizon ? " horizon" : ""}`);
  try {
    p.appendAsLeader(keyedBatch([{ k: "p", v: "1" }], { attributes: TXN, producer: { id: P, epoch: 0, seq: 0 }, ts: clock.nowMs() })); // 0
    p.appendAsLeader(controlBatch(ABORT, P, clock.nowMs())); // 1: epoch 0
    const bumped = controlBatch(ABORT, P, clock.nowMs()); // 2: the coordinator bumped the epoch (no data of epoch 1 here)
    setProducer(bumped, P, 1, -1);
    p.appendAsLeader(bumped);
    assert.equal(p.producers.lastDataOffset(P), -1n);
    await pass();
    assert.deepEqual(markers(), ["1 n=1", "2 n=1 horizon"]);
    clock.advance(DELETE_RETENTION_MS);
    await pass();
    assert.deepEqual(markers(), ["1 n=1 horizon", "2 n=0"], "past its horizon the epoch-1 marker stays, emptied, for the producer's epoch");
    clock.advance(DELETE_RETENTION_MS);
    await pass();
    assert.deepEqual(markers(), ["2 n=0"], "the epoch-0 marker is not the producer's state: it goes");
  } finally {
    p.close();
    await log.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});
