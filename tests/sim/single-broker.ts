/**
 * Simulation (a): one broker's real storage (PartitionLog) and Partition on a {@link SimDisk}, driven by one seed.
 * Producers (idempotent and not) send batches with acks 0, 1 and all, retrying on failure as a Kafka producer
 * does (an idempotent one keeps its sequence; after an OUT_OF_ORDER_SEQUENCE_NUMBER it bumps its epoch);
 * a transactional producer commits or aborts (its COMMIT only after its batches were acknowledged, an ABORT after a
 * crash); consumers fetch up to the high watermark, and one with read_committed up to the last stable offset,
 * filtering with the aborted-transaction list as a Kafka client does; the power is cut at seeded moments (unsynced writes lost or torn),
 * and a read error also brings the broker down; the broker then recovers from what the disk kept. After the run a
 * last power cut and recovery, then the checkers.
 *
 * The producer path mirrors the Produce handler's partition calls (sequence check, appendAsLeader, whenCommitted);
 * it does not run the handler, the wire codecs or the LogManager.
 */
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { logConfigWith } from "../../src/storage/log-config.ts";
import { PartitionLog } from "../../src/storage/partition-log.ts";
import { silentStorageLogger } from "../../src/storage/storage-deps.ts";
import { Partition } from "../../src/partition/partition.ts";
import { Sim } from "./scheduler.ts";
import { SimDisk, type DiskFaults } from "./sim-disk.ts";
import { buildBatch, decodeBatches, type ReadRecord } from "./records.ts";
import { checkAcknowledged, checkReadBelowHighWatermark, checkReadCommitted, readCommittedView, type AckedRecord } from "./checkers.ts";
import { ControlRecordType, buildControlBatch } from "../../src/protocol/control-record.ts";

await initCrc32c();

/** Knobs of one run (defaults from the seed). */
export interface SingleBrokerOptions {
  /** Simulated ms of workload. */
  durationMs?: number;
  /** PLANTED BUG: the disk acknowledges fdatasync without persisting (acks=all answered before durability). */
  plantLyingFdatasync?: boolean;
  /** Print the trace as it runs. */
  verbose?: boolean;
}

/** What one run found. */
export interface SimResult {
  /** The seed. */
  seed: number;
  /** Checker violations (empty = pass). */
  violations: string[];
  /** Hash of every step's time and label. */
  traceHash: string;
  /** Simulated ms covered. */
  simulatedMs: number;
  /** Counters. */
  stats: Record<string, number>;
}

const DIR = "/data/sim-0";
const CONFIG = logConfigWith({ segmentBytes: 4096, segmentIndexBytes: 4096 });

interface Producer {
  index: number;
  id: bigint | null;
  epoch: number;
  nextSeq: number;
  counter: number;
  pending: { values: string[]; seq: number; acks: number } | null;
}

/** Every record of the log, read segment by segment; null when a batch fails its CRC. */
export function readWholeLog(p: Partition): ReadRecord[] | null {
  const out: ReadRecord[] = [];
  let at = p.log.logStartOffset;
  while (at < p.logEndOffset) {
    const recs = decodeBatches(p.log.read(at, 1 << 20, true).chunks);
    if (recs === null) return null;
    if (recs.length === 0) break;
    for (const r of recs) if (r.offset >= at) out.push(r);
    at = recs[recs.length - 1].offset + 1n;
  }
  return out;
}

/** Runs simulation (a) for `seed`. */
export async function runSingleBroker(seed: number, opts: SingleBrokerOptions = {}): Promise<SimResult> {
  const sim = new Sim(seed);
  sim.verbose = opts.verbose === true;
  const faults: DiskFaults = {
    readErrorRate: sim.chance(0.5) ? 0.002 : 0,
    bitFlipRate: sim.chance(0.5) ? 0.01 : 0,
    tornWriteRate: 0.5,
    maxSyncLatencyMs: 1 + sim.int(20),
    lieAboutSync: opts.plantLyingFdatasync === true,
  };
  const disk = new SimDisk(sim, faults);
  const durationMs = opts.durationMs ?? 3000;
  const violations: string[] = [];
  const acked: AckedRecord[] = [];
  const stats = { produced: 0, ackedAll: 0, crashes: 0, corruptReadsSeen: 0, consumed: 0, duplicatesAnswered: 0, epochBumps: 0 };
  let p: Partition | null = null;
  let incarnation = 0;

  const open = (): Partition => {
    disk.readFaultsArmed = false;
    const fs = disk.view();
    const deps = { fs, clock: sim.clock, logger: silentStorageLogger, random: sim.random };
    const log = PartitionLog.open(DIR, { topic: "sim", partition: 0 }, CONFIG, deps);
    const part = Partition.open({ name: "sim" }, 0, log, { fs, clock: sim.clock, logger: silentStorageLogger, localBrokerId: 1 }, { leader: 1, leaderEpoch: incarnation, replicas: [1], isr: [1] });
    disk.readFaultsArmed = true;
    return part;
  };
  const crash = (why: string): void => {
    if (p === null) return;
    sim.trace(`crash ${why}`);
    stats.crashes++;
    p = null;
    disk.crash();
    sim.after(5 + sim.int(100), "restart", () => {
      incarnation++;
      p = open();
      sim.trace(`recovered leo=${p.logEndOffset}`);
      checkAfterRecovery(p, `recovery at ${sim.nowMs} ms`);
    });
  };
  const checkAfterRecovery = (part: Partition, when: string): void => {
    disk.readFaultsArmed = false;
    const all = readWholeLog(part);
    disk.readFaultsArmed = true;
    if (all === null) violations.push(`${when}: the recovered log has a batch that fails its CRC`);
    else violations.push(...checkAcknowledged(acked, all).map((v) => `${when}: ${v}`));
  };
  p = open();

  const producers: Producer[] = [0, 1, 2].map((index) => ({ index, id: index < 2 ? BigInt(1000 + index) : null, epoch: 0, nextSeq: 0, counter: 0, pending: null }));
  const send = (pr: Producer): void => {
    if (sim.nowMs > durationMs && pr.pending === null) return;
    const again = (ms: number) => sim.after(ms, `producer ${pr.index}`, () => send(pr));
    if (pr.pending === null) {
      const n = 1 + sim.int(3);
      pr.pending = { values: Array.from({ length: n }, () => `p${pr.index}-${pr.counter++}`), seq: pr.nextSeq, acks: [0, 1, -1][sim.int(3)] };
    }
    const part = p;
    if (part === null) return again(20);
    const b = pr.pending;
    const n = b.values.length;
    const done = (offset: bigint | null) => {
      if (offset !== null && b.acks === -1) {
        b.values.forEach((value, i) => acked.push({ producer: pr.index, idempotent: pr.id !== null, value, offset: offset + BigInt(i) }));
        stats.ackedAll += n;
      }
      sim.trace(`ack p${pr.index} ${b.values[0]} acks=${b.acks} at=${offset}`);
      pr.nextSeq = b.seq + n;
      pr.pending = null;
      again(1 + sim.int(10));
    };
    let base: bigint;
    try {
      const check = pr.id === null ? { kind: "append" as const } : part.producers.check(pr.id, pr.epoch, b.seq, n);
      if (check.kind === "error") {
        // The idempotent producer cannot tell what the broker lost: it bumps its epoch and restarts at sequence 0.
        stats.epochBumps++;
        pr.epoch++;
        b.seq = 0;
        // The batch goes again under the new epoch, which the broker cannot deduplicate against the old one
        // (idempotence holds within one producer epoch): it carries new values, so the old ones may be in the log too.
        b.values = b.values.map((v) => `${v}~e${pr.epoch}`);
        return again(1);
      }
      if (check.kind === "duplicate") {
        stats.duplicatesAnswered++;
        base = check.baseOffset;
      } else {
        base = part.appendAsLeader(buildBatch(b.values, sim.clock.nowMs(), pr.id === null ? null : { id: pr.id, epoch: pr.epoch, seq: b.seq })).baseOffset;
        stats.produced += n;
      }
    } catch (e) {
      crash(`append failed: ${(e as Error).message}`);
      return again(20);
    }
    if (b.acks === 0) return done(null);
    if (b.acks === 1) return done(base);
    part.whenCommitted(base + BigInt(n)).then(
      () => (p === part ? done(base) : again(20)), // a crashed broker's answer never reaches the client
      () => again(20),
    );
  };
  for (const pr of producers) sim.after(sim.int(10), `producer ${pr.index}`, () => send(pr));

  // A transactional producer with its coordinator folded in: 1-3 batches, then a COMMIT or ABORT marker; a crash
  // while the transaction is open turns the decision into ABORT with a bumped epoch (as a coordinator's timeout);
  // a marker not yet durable at a crash is written again after recovery while the transaction is still open.
  const TXN_PID = 3000n;
  const txn = { epoch: 0, seq: 0, no: 0, batchesLeft: 0, values: [] as string[], offsets: [] as bigint[], startedIn: -1, marker: null as null | "commit" | "abort" };
  const abortedValues = new Set<string>();
  const readCommittedSeen: { value: string; offset: bigint }[] = [];
  const txnStep = (): void => {
    if (sim.nowMs > durationMs && txn.batchesLeft === 0 && txn.marker === null) return;
    const again = (ms: number) => sim.after(ms, "txn producer", txnStep);
    const part = p;
    if (part === null) return again(20);
    try {
      if (txn.marker === null && txn.batchesLeft === 0) {
        if (sim.nowMs > durationMs) return;
        txn.no++;
        txn.batchesLeft = 1 + sim.int(3);
        txn.values = [];
        txn.offsets = [];
        txn.startedIn = incarnation;
      }
      if (txn.marker === null && txn.startedIn !== incarnation) txn.marker = "abort"; // a crash interrupted it
      if (txn.marker === null && txn.batchesLeft > 0) {
        const values = Array.from({ length: 1 + sim.int(2) }, (_, i) => `t${txn.no}-${txn.values.length + i}`);
        const r = part.appendAsLeader(buildBatch(values, sim.clock.nowMs(), { id: TXN_PID, epoch: txn.epoch, seq: txn.seq, transactional: true }));
        txn.seq += values.length;
        values.forEach((v, i) => (txn.values.push(v), txn.offsets.push(r.baseOffset + BigInt(i))));
        if (--txn.batchesLeft > 0) return again(1 + sim.int(10));
        if (!sim.chance(0.6)) {
          txn.marker = "abort";
          return again(1 + sim.int(10));
        }
        // EndTxn(commit) comes only after every batch of the transaction was acknowledged with acks=all.
        part.whenCommitted(r.lastOffset + 1n).then(
          () => {
            txn.marker = p === part ? "commit" : "abort";
            again(1);
          },
          () => {
            txn.marker = "abort";
            again(20);
          },
        );
        return;
      }
      const decision = txn.marker!;
      if (decision === "abort") for (const v of txn.values) abortedValues.add(v);
      const crashed = txn.startedIn !== incarnation;
      if (crashed && part.producers.ongoingTxnFirstOffset(TXN_PID) === null) return finishTxn(decision); // nothing open survived, or the marker did
      if (crashed && decision === "abort" && txn.startedIn >= 0) {
        txn.epoch++; // the coordinator fences the old epoch when it aborts after a failure
        txn.seq = 0;
        txn.startedIn = -1;
      }
      const type = decision === "commit" ? ControlRecordType.COMMIT : ControlRecordType.ABORT;
      const r = part.appendAsLeader(buildControlBatch({ producerId: TXN_PID, producerEpoch: txn.epoch, type, coordinatorEpoch: 0, timestampMs: sim.clock.nowMs() }));
      sim.trace(`txn ${txn.no} ${decision} marker at ${r.baseOffset}`);
      part.whenCommitted(r.baseOffset + 1n).then(
        () => (p === part ? finishTxn(decision) : again(20)),
        () => again(20),
      );
    } catch (e) {
      crash(`transaction append failed: ${(e as Error).message}`);
      again(20);
    }
  };
  const finishTxn = (decision: "commit" | "abort"): void => {
    if (decision === "commit") txn.values.forEach((value, i) => acked.push({ producer: 100, idempotent: true, value, offset: txn.offsets[i] }));
    sim.trace(`txn ${txn.no} ${decision} done`);
    txn.marker = null;
    txn.batchesLeft = 0;
    sim.after(1 + sim.int(10), "txn producer", txnStep);
  };
  sim.after(sim.int(10), "txn producer", txnStep);

  let committedPos = 0n;
  const consumeCommitted = (): void => {
    if (sim.nowMs > durationMs) return;
    sim.after(5 + sim.int(30), "read_committed consumer", consumeCommitted);
    const part = p;
    if (part === null) return;
    if (committedPos > part.logEndOffset) committedPos = part.logEndOffset;
    const lso = part.lastStableOffset;
    if (committedPos >= lso) return;
    let recs: ReadRecord[] | null;
    try {
      recs = decodeBatches(part.log.read(committedPos, 2048, true, lso).chunks);
    } catch (e) {
      return crash(`read failed: ${(e as Error).message}`);
    }
    if (recs === null) return void stats.corruptReadsSeen++;
    const fresh = recs.filter((r) => r.offset >= committedPos);
    if (fresh.length === 0) return;
    const abortedList = part.abortedTxns.collect(committedPos, lso);
    const visible = readCommittedView(fresh, abortedList);
    violations.push(...checkReadCommitted(visible, lso, abortedValues, "consumer 2"));
    for (const r of visible) readCommittedSeen.push(r);
    committedPos = fresh[fresh.length - 1].offset + 1n;
  };
  consumeCommitted();

  const consumerPos = [0n, 0n];
  const consume = (c: number): void => {
    if (sim.nowMs > durationMs) return;
    sim.after(5 + sim.int(30), `consumer ${c}`, () => consume(c));
    const part = p;
    if (part === null) return;
    if (consumerPos[c] > part.logEndOffset) consumerPos[c] = part.logEndOffset; // the log lost its tail: reset
    if (consumerPos[c] < part.log.logStartOffset) consumerPos[c] = part.log.logStartOffset;
    const hw = part.highWatermark;
    let recs: ReadRecord[] | null;
    try {
      recs = decodeBatches(part.log.read(consumerPos[c], 2048, true, hw).chunks);
    } catch (e) {
      return crash(`read failed: ${(e as Error).message}`);
    }
    if (recs === null) {
      stats.corruptReadsSeen++; // a consumer's CRC check rejects a flipped bit; it fetches again
      return;
    }
    const fresh = recs.filter((r) => r.offset >= consumerPos[c]);
    violations.push(...checkReadBelowHighWatermark(fresh, hw, `consumer ${c}`));
    if (fresh.length > 0) consumerPos[c] = fresh[fresh.length - 1].offset + 1n;
    stats.consumed += fresh.length;
  };
  consume(0);
  consume(1);

  const scheduleCrash = (): void => {
    sim.after(100 + sim.int(900), "power cut", () => {
      if (sim.nowMs <= durationMs) {
        crash("power cut");
        scheduleCrash();
      }
    });
  };
  scheduleCrash();

  await sim.run(durationMs + 5000);
  // Last power cut, recovery without read faults, and the check of everything acknowledged.
  crash("final power cut");
  await sim.run(Infinity);
  const final = p as Partition | null;
  if (final === null) throw new Error("the broker did not restart");
  checkAfterRecovery(final, "final recovery");
  const lateAborted = readCommittedSeen.find((r) => abortedValues.has(r.value));
  if (lateAborted !== undefined) violations.push(`consumer 2 (read_committed) saw ${lateAborted.value} at ${lateAborted.offset} before its transaction was aborted`);
  return { seed, violations, traceHash: sim.traceHash, simulatedMs: sim.nowMs, stats: { ...stats, ...disk.stats, steps: sim.steps } };
}
