/**
 * Simulation (a): one broker's real storage (PartitionLog) and Partition on a {@link SimDisk}, driven by one seed.
 * Producers (idempotent and not) send batches with acks 0, 1 and all, retrying on failure as a Kafka producer
 * does (an idempotent one keeps its sequence; after an OUT_OF_ORDER_SEQUENCE_NUMBER it bumps its epoch);
 * consumers fetch up to the high watermark; the power is cut at seeded moments (unsynced writes lost or torn),
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
import { checkAcknowledged, checkReadBelowHighWatermark, type AckedRecord } from "./checkers.ts";

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
  return { seed, violations, traceHash: sim.traceHash, simulatedMs: sim.nowMs, stats: { ...stats, ...disk.stats, steps: sim.steps } };
}
