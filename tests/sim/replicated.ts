/**
 * Simulation (b): three replicas of one partition, each broker its own real PartitionLog + Partition on its own
 * {@link SimDisk}; followers replicate with the real follower code (followerFetchPosition / applyLeaderAnswer on
 * the follower, Partition.acceptFollowerFetch and log reads on the leader) over a {@link SimNetwork} that delays,
 * reorders, drops, duplicates and isolates; a {@link SimController} (CAS on the partition epoch, leases) moves
 * leadership and the ISR. Leaders shrink the ISR after replica.lag.time.max.ms and expand it when a follower
 * reaches the high watermark and its epoch's start, through the controller's CAS. Idempotent producers send
 * acks 0/1/all (min.insync.replicas=2) to the leader they look up, retrying with the same sequence; consumers read
 * up to the leader's high watermark. Faults: power cuts (one broker at a time, and only while the ISR is full,
 * unless `powerCutsWhileUnderReplicated`), isolation of one broker, message loss, duplication and reordering.
 *
 * What it does not run: the Fetch/Produce handlers, wire codecs and ReplicaFetcher's loop (messages carry the
 * partition-level fields), transactions, groups.
 */
import { ErrorCode } from "../../src/protocol/errors.ts";
import { logConfigWith } from "../../src/storage/log-config.ts";
import { PartitionLog } from "../../src/storage/partition-log.ts";
import { silentStorageLogger } from "../../src/storage/storage-deps.ts";
import { Partition } from "../../src/partition/partition.ts";
import { applyLeaderAnswer, followerFetchPosition, type LeaderFetchAnswer } from "../../src/replication/follower-fetch.ts";
import { Sim } from "./scheduler.ts";
import { SimDisk } from "./sim-disk.ts";
import { SimNetwork } from "./sim-network.ts";
import { SimController, type PartitionState } from "./sim-controller.ts";
import { buildBatch, decodeBatches, type ReadRecord } from "./records.ts";
import { checkAcknowledged, checkReadBelowHighWatermark, checkReadRecordsStay, checkReplicasAgree, type AckedRecord } from "./checkers.ts";
import { readWholeLog, type SimResult } from "./single-broker.ts";

/** Knobs of one replicated run. */
export interface ReplicatedOptions {
  /** Simulated ms of workload. */
  durationMs?: number;
  /** PLANTED BUG: the leader counts an ISR follower's fetch as having the whole log (the high watermark runs ahead of the ISR). */
  plantHighWatermarkAheadOfIsr?: boolean;
  /** Also cut power while the ISR is not full (followers do not fsync: a second cut can lose acknowledged records). */
  powerCutsWhileUnderReplicated?: boolean;
  /** Print the trace as it runs. */
  verbose?: boolean;
}

const CONTROLLER = 0;
const CLIENT = 100;
const BROKERS = [1, 2, 3];
const DIR = "/data/sim-0";
const CONFIG = logConfigWith({ segmentBytes: 4096, segmentIndexBytes: 4096 });
const LEASE_MS = 300;
const HEARTBEAT_MS = 50;
const REPLICA_LAG_TIME_MAX_MS = 400;
const MIN_INSYNC_REPLICAS = 2;
const REQUEST_TIMEOUT_MS = 400;

interface Broker {
  id: number;
  disk: SimDisk;
  p: Partition | null;
  incarnation: number;
  registered: boolean;
  knownPartitionEpoch: number;
  leaderSinceMs: number;
  fetchCorr: number;
  fetchSentMs: number;
  alterPending: boolean;
  committedIsr: number[];
  /** Leader side: the broker epoch (incarnation) each follower's latest fetch carried (KIP-903). */
  followerIncarnation: Map<number, number>;
}

interface Producer {
  index: number;
  id: bigint;
  epoch: number;
  nextSeq: number;
  counter: number;
  corr: number;
  pending: { values: string[]; seq: number; acks: number } | null;
}

/** Runs simulation (b) for `seed`. */
export async function runReplicated(seed: number, opts: ReplicatedOptions = {}): Promise<SimResult> {
  const sim = new Sim(seed);
  sim.verbose = opts.verbose === true;
  const net = new SimNetwork(sim, { dropRate: sim.chance(0.5) ? 0.02 : 0, duplicateRate: sim.chance(0.5) ? 0.02 : 0, maxDelayMs: 1 + sim.int(15) });
  const controller = new SimController(BROKERS, LEASE_MS);
  const durationMs = opts.durationMs ?? 4000;
  const violations: string[] = [];
  const acked: AckedRecord[] = [];
  const seen = new Map<bigint, string>();
  const stats = { corruptReadsSeen: 0, produced: 0, ackedAll: 0, crashes: 0, isolations: 0, leaderChanges: 0, consumed: 0, truncations: 0, epochBumps: 0 };
  let controllerLogged = 0;
  const traceController = () => {
    for (; controllerLogged < controller.log.length; controllerLogged++) sim.trace(`controller: ${controller.log[controllerLogged]}`);
  };

  const brokers: Broker[] = BROKERS.map((id) => ({
    id,
    // Bit flips stay off here: a flip in a batch's base offset or leader epoch (outside its CRC, as in Kafka's
    // format) would be copied to the replica undetected; the single-broker run covers flips.
    disk: new SimDisk(sim, { readErrorRate: sim.chance(0.5) ? 0.001 : 0, bitFlipRate: 0, tornWriteRate: 0.5, maxSyncLatencyMs: 1 + sim.int(10) }),
    p: null,
    incarnation: 0,
    registered: false,
    knownPartitionEpoch: -1,
    leaderSinceMs: 0,
    fetchCorr: 0,
    fetchSentMs: 0,
    alterPending: false,
    committedIsr: [],
    followerIncarnation: new Map(),
  }));
  let faultsOver = false;
  const byId = (id: number) => brokers.find((b) => b.id === id)!;

  const start = (b: Broker): void => {
    b.disk.readFaultsArmed = false;
    const fs = b.disk.view();
    const log = PartitionLog.open(DIR, { topic: "sim", partition: 0 }, CONFIG, { fs, clock: sim.clock, logger: silentStorageLogger, random: sim.random });
    // A replica restarts with no high-watermark checkpoint entry (the most stale case): Partition.open's own rule
    // for a replicated partition starts it at the log start, never at the log end (which may be uncommitted).
    const p = Partition.open({ name: "sim" }, 0, log, { fs, clock: sim.clock, logger: silentStorageLogger, localBrokerId: b.id, replicated: true }, { leader: -1, leaderEpoch: 0, replicas: BROKERS, isr: [] }, undefined);
    if (opts.plantHighWatermarkAheadOfIsr) plantHighWatermarkBug(p);
    b.disk.readFaultsArmed = !faultsOver;
    b.p = p;
    b.registered = false;
    b.knownPartitionEpoch = -1;
    sim.trace(`broker ${b.id} started leo=${p.logEndOffset}`);
  };

  const applyState = (b: Broker, s: PartitionState): void => {
    const p = b.p;
    if (p === null || s.partitionEpoch <= b.knownPartitionEpoch || s.leaderEpoch < p.leaderEpoch) return;
    const wasLeader = p.isLeader;
    b.knownPartitionEpoch = s.partitionEpoch;
    b.committedIsr = [...s.isr].sort();
    p.takeRoles({ leader: s.leader, leaderEpoch: s.leaderEpoch, replicas: s.replicas, isr: s.isr });
    if (p.isLeader && !wasLeader) {
      b.leaderSinceMs = sim.nowMs;
      stats.leaderChanges++;
    }
    b.alterPending = false;
  };

  // Heartbeats and leases.
  const heartbeat = (b: Broker): void => {
    sim.after(HEARTBEAT_MS, `heartbeat ${b.id}`, () => heartbeat(b));
    if (b.p === null) return;
    const inc = b.incarnation;
    net.send(b.id, CONTROLLER, "heartbeat", () => {
      const s = controller.heartbeat(b.id, inc, sim.nowMs);
      traceController();
      net.send(CONTROLLER, b.id, "heartbeat reply", () => {
        if (b.incarnation !== inc || b.p === null) return;
        b.registered = true;
        applyState(b, s);
      });
    });
  };
  const sweep = (): void => {
    sim.after(HEARTBEAT_MS, "lease sweep", sweep);
    controller.expireLeases(sim.nowMs);
    traceController();
  };

  // Replication: one fetch in flight per follower; stale or duplicated answers are recognised by correlation id.
  const fetchLoop = (b: Broker): void => {
    sim.after(2 + sim.int(8), `fetcher ${b.id}`, () => fetchLoop(b));
    const p = b.p;
    if (p === null || p.isLeader || p.leader < 0) return;
    if (b.fetchCorr > 0 && sim.nowMs - b.fetchSentMs < REQUEST_TIMEOUT_MS) return;
    const corr = ++b.fetchCorr;
    b.fetchSentMs = sim.nowMs;
    const pos = followerFetchPosition(p);
    const epoch = p.leaderEpoch;
    const leaderId = p.leader;
    const inc = b.incarnation;
    net.send(b.id, leaderId, `fetch ${pos.fetchOffset}`, () => {
      const answer = serveFollowerFetch(byId(leaderId), b.id, inc, epoch, pos.fetchOffset, pos.lastFetchedEpoch);
      net.send(leaderId, b.id, "fetch reply", () => {
        if (b.fetchCorr !== corr || b.p !== p || p.isLeader || p.leaderEpoch !== epoch || p.logEndOffset !== pos.fetchOffset) return;
        b.fetchCorr = 0;
        try {
          const out = applyLeaderAnswer(p, answer);
          if (out.kind === "truncated") stats.truncations++;
          sim.trace(`follower ${b.id} ${out.kind === "error" ? `error ${out.errorCode}` : out.kind} leo=${p.logEndOffset} hw=${p.highWatermark}`);
        } catch (e) {
          if ((e as { code?: number }).code === ErrorCode.CORRUPT_MESSAGE) {
            stats.corruptReadsSeen++; // as the replica fetcher: log it, fetch again
            sim.trace(`follower ${b.id} rejected a corrupt batch`);
          } else crash(b, `follower append failed: ${(e as Error).message}`);
        }
      });
    });
  };
  const serveFollowerFetch = (leader: Broker, replicaId: number, incarnation: number, epoch: number, fetchOffset: bigint, lastFetchedEpoch: number): LeaderFetchAnswer => {
    const p = leader.p;
    const none = (errorCode: number): LeaderFetchAnswer => ({ errorCode, highWatermark: -1n, records: null });
    if (p === null || !p.isLeader) return none(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    // KIP-903: a fetch from an older incarnation of the follower (delayed or duplicated) says nothing of its log now.
    if (incarnation < (leader.followerIncarnation.get(replicaId) ?? -1)) return none(ErrorCode.STALE_BROKER_EPOCH);
    leader.followerIncarnation.set(replicaId, incarnation);
    if (epoch !== p.leaderEpoch) return none(epoch < p.leaderEpoch ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH);
    try {
      // As Kafka: the diverging-epoch check comes before the offset range check.
      const diverging = p.acceptFollowerFetch(replicaId, fetchOffset, lastFetchedEpoch);
      if (diverging !== null) return { errorCode: 0, highWatermark: p.highWatermark, records: null, divergingEpoch: diverging };
      if (fetchOffset > p.logEndOffset) return none(ErrorCode.OFFSET_OUT_OF_RANGE);
      const chunks = p.log.read(fetchOffset, 4096, true).chunks.map((c) => c.slice());
      return { errorCode: 0, highWatermark: p.highWatermark, records: chunks };
    } catch (e) {
      crash(leader, `leader read failed: ${(e as Error).message}`);
      return none(ErrorCode.KAFKA_STORAGE_ERROR);
    }
  };

  // The leader's ISR maintenance (Kafka's isr-expiration and expansion), through the controller's CAS.
  const isrLoop = (b: Broker): void => {
    sim.after(50, `isr check ${b.id}`, () => isrLoop(b));
    const p = b.p;
    if (p === null || !p.isLeader || b.alterPending) return;
    const now = sim.nowMs;
    const epochStart = p.leaderEpochs.epochEntries().find((e) => e.epoch === p.leaderEpoch)?.startOffset ?? p.logEndOffset;
    // Proposals start from the ISR the controller committed (the local one may hold pending additions).
    let isr = [...b.committedIsr];
    for (const id of b.committedIsr) {
      if (id === b.id) continue;
      const f = p.follower(id);
      const last = f === undefined || f.lastCaughtUpMs < 0 ? b.leaderSinceMs : Math.max(f.lastCaughtUpMs, b.leaderSinceMs);
      if (now - last > REPLICA_LAG_TIME_MAX_MS) isr = isr.filter((x) => x !== id);
    }
    for (const id of p.replicas) {
      if (isr.includes(id)) continue;
      const f = p.follower(id);
      if (f !== undefined && f.logEndOffset >= p.highWatermark && f.logEndOffset >= epochStart && now - f.lastCaughtUpMs <= REPLICA_LAG_TIME_MAX_MS) isr.push(id);
    }
    isr.sort();
    if (isr.join() === b.committedIsr.join()) return;
    b.alterPending = true;
    const [epoch, version] = [p.leaderEpoch, b.knownPartitionEpoch];
    const incarnations = new Map(isr.map((id) => [id, b.followerIncarnation.get(id) ?? -1]));
    // Kafka's maximal ISR: a member being added counts for the high watermark at once (the controller may already
    // count it in the ISR and elect it); a member being removed counts until the controller confirms.
    const maximal = [...new Set([...b.committedIsr, ...isr])].sort();
    if (maximal.join() !== [...p.isr].sort().join()) p.takeRoles({ leader: p.leader, leaderEpoch: epoch, replicas: p.replicas, isr: maximal });
    net.send(b.id, CONTROLLER, `alter isr [${isr}]`, () => {
      controller.alterIsr(b.id, epoch, version, isr, incarnations);
      traceController();
    });
    sim.after(REQUEST_TIMEOUT_MS, `alter timeout ${b.id}`, () => (b.alterPending = false));
  };

  /** The broker process dies; with `powerCut` its machine loses power too (unsynced writes lost or torn). */
  const crash = (b: Broker, why: string, powerCut = false): void => {
    if (b.p === null) return;
    sim.trace(`crash broker ${b.id}${powerCut ? " and its power" : ""}: ${why}`);
    stats.crashes++;
    b.p = null;
    b.registered = false;
    if (powerCut) b.disk.crash();
    else b.disk.endProcess();
    sim.after(20 + sim.int(200), `restart ${b.id}`, () => {
      b.incarnation++;
      b.fetchCorr = 0;
      start(b);
    });
  };

  // Producers: idempotent, one batch in flight, retried with its sequence until answered.
  const producers: Producer[] = [0, 1].map((index) => ({ index, id: BigInt(2000 + index), epoch: 0, nextSeq: 0, counter: 0, corr: 0, pending: null }));
  const send = (pr: Producer): void => {
    if (sim.nowMs > durationMs && pr.pending === null) return;
    const again = (ms: number) => sim.after(ms, `producer ${pr.index}`, () => send(pr));
    if (pr.pending === null) {
      const n = 1 + sim.int(3);
      pr.pending = { values: Array.from({ length: n }, () => `p${pr.index}-${pr.counter++}`), seq: pr.nextSeq, acks: [0, 1, -1, -1][sim.int(4)] };
    }
    const b = pr.pending;
    const leaderId = controller.state.leader; // the client's metadata lookup
    if (leaderId < 0) return again(20);
    const corr = ++pr.corr;
    const stamp = { id: pr.id, epoch: pr.epoch, seq: b.seq };
    const reply = (error: number, base: bigint) =>
      net.send(leaderId, CLIENT, "produce reply", () => {
        if (pr.corr !== corr || pr.pending !== b) return;
        pr.corr++;
        if (error === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER) {
          stats.epochBumps++;
          pr.epoch++;
          b.seq = 0;
        // The batch goes again under the new epoch, which the broker cannot deduplicate against the old one
        // (idempotence holds within one producer epoch): it carries new values, so the old ones may be in the log too.
        b.values = b.values.map((v) => `${v}~e${pr.epoch}`);
          return again(1);
        }
        if (error !== 0) return again(10 + sim.int(20));
        if (b.acks === -1) {
          b.values.forEach((value, i) => acked.push({ producer: pr.index, idempotent: true, value, offset: base + BigInt(i) }));
          stats.ackedAll += b.values.length;
        }
        sim.trace(`ack p${pr.index} ${b.values[0]} acks=${b.acks} at=${base}`);
        pr.nextSeq = b.seq + b.values.length;
        pr.pending = null;
        again(1 + sim.int(10));
      });
    net.send(CLIENT, leaderId, `produce ${b.values[0]}`, () => {
      const p = byId(leaderId).p;
      if (p === null || !p.isLeader) return reply(ErrorCode.NOT_LEADER_OR_FOLLOWER, -1n);
      const n = b.values.length;
      const check = p.producers.check(stamp.id, stamp.epoch, stamp.seq, n);
      sim.trace(`leader ${leaderId} ${check.kind} ${stamp.epoch}/${stamp.seq} ${b.values.join(",")} leo=${p.logEndOffset}`);
      if (check.kind === "error") return reply(check.code, -1n);
      let base: bigint;
      if (check.kind === "duplicate") base = check.baseOffset;
      else {
        try {
          base = p.appendAsLeader(buildBatch(b.values, sim.clock.nowMs(), stamp)).baseOffset;
          stats.produced += n;
        } catch (e) {
          crash(byId(leaderId), `append failed: ${(e as Error).message}`);
          return;
        }
      }
      if (b.acks === 0) {
        if (pr.corr === corr && pr.pending === b) {
          pr.corr++;
          pr.nextSeq = b.seq + n;
          pr.pending = null;
          again(1 + sim.int(10));
        }
        return;
      }
      if (b.acks === 1) return reply(0, base);
      p.whenCommitted(base + BigInt(n), MIN_INSYNC_REPLICAS).then(
        () => (byId(leaderId).p === p ? reply(0, base) : undefined),
        (e) => (byId(leaderId).p === p ? reply((e as { code?: number }).code ?? ErrorCode.UNKNOWN_SERVER_ERROR, -1n) : undefined),
      );
    });
    sim.after(REQUEST_TIMEOUT_MS, `produce timeout ${pr.index}`, () => {
      if (pr.corr === corr && pr.pending === b) {
        pr.corr++;
        send(pr);
      }
    });
  };

  // Consumers read from the leader up to its high watermark.
  let consumerPos = 0n;
  const consume = (): void => {
    if (sim.nowMs > durationMs) return;
    sim.after(5 + sim.int(30), "consumer", consume);
    const s = controller.state;
    const p = s.leader < 0 ? null : byId(s.leader).p;
    if (p === null || !p.isLeader) return;
    if (consumerPos > p.highWatermark) return; // this leader's high watermark has not caught up yet (Kafka answers OFFSET_NOT_AVAILABLE)
    const hw = p.highWatermark;
    let recs: ReadRecord[] | null;
    try {
      recs = decodeBatches(p.log.read(consumerPos, 2048, true, hw).chunks);
    } catch (e) {
      return crash(byId(s.leader), `read failed: ${(e as Error).message}`);
    }
    if (recs === null) {
      stats.corruptReadsSeen++; // the consumer's CRC check rejects a flipped bit; it fetches again
      return;
    }
    const fresh = recs.filter((r) => r.offset >= consumerPos);
    violations.push(...checkReadBelowHighWatermark(fresh, hw, "consumer"));
    for (const r of fresh) seen.set(r.offset, r.value);
    if (fresh.length > 0) consumerPos = fresh[fresh.length - 1].offset + 1n;
    stats.consumed += fresh.length;
  };

  // Faults: power cuts and isolation, one at a time.
  const faultLoop = (): void => {
    sim.after(150 + sim.int(600), "fault", () => {
      if (sim.nowMs > durationMs) return;
      faultLoop();
      const allUp = brokers.every((b) => b.p !== null && b.registered);
      const s = controller.state;
      if (!allUp || net.partitioned) return;
      const victim = brokers[sim.int(brokers.length)];
      if (sim.chance(0.5)) {
        if (s.isr.length < BROKERS.length && !opts.powerCutsWhileUnderReplicated) return;
        crash(victim, "power cut", true);
      } else {
        stats.isolations++;
        sim.trace(`isolate ${victim.id}`);
        net.isolate(CONTROLLER === victim.id ? -1 : victim.id);
        sim.after(100 + sim.int(700), "heal", () => {
          sim.trace("heal");
          net.heal();
        });
      }
    });
  };

  for (const b of brokers) {
    start(b);
    heartbeat(b);
    fetchLoop(b);
    isrLoop(b);
  }
  sweep();
  for (const pr of producers) sim.after(100 + sim.int(10), `producer ${pr.index}`, () => send(pr));
  sim.after(100, "consumer", consume);
  faultLoop();

  await sim.run(durationMs);
  for (const b of brokers) b.disk.readFaultsArmed = false;
  faultsOver = true;
  // Quiesce: network healed, producers finish their last batch; then wait for the ISR to be full and the replicas to agree.
  net.heal();
  let settledAt = -1;
  const settleCheck = (): void => {
    const s = controller.state;
    const leader = s.leader < 0 ? null : byId(s.leader).p;
    const done = leader !== null && s.isr.length === BROKERS.length && producers.every((pr) => pr.pending === null) && brokers.every((b) => b.p !== null && b.p.highWatermark === leader.highWatermark && b.p.logEndOffset === leader.logEndOffset);
    if (done) settledAt = sim.nowMs;
    else if (sim.nowMs < durationMs + 20_000) sim.after(50, "settle check", settleCheck);
  };
  settleCheck();
  await sim.run(durationMs + 20_000, () => settledAt >= 0);
  if (settledAt < 0) violations.push(`the cluster did not settle (leader, full ISR, equal logs) within 20 s of simulated time after the faults stopped: ${controller.log.at(-1) ?? ""}`);
  else {
    const s = controller.state;
    const leader = byId(s.leader).p!;
    const all = readWholeLog(leader);
    if (all === null) violations.push("the leader's log has a batch that fails its CRC");
    else {
      violations.push(...checkAcknowledged(acked, all));
      violations.push(...checkReadRecordsStay(seen, all));
    }
    const bytes = (p: Partition) => Buffer.concat(readChunks(p, p.highWatermark));
    const ref = bytes(leader);
    const mine = readWholeLog(leader) ?? [];
    for (const b of brokers) {
      if (b.p === leader) continue;
      const differ = checkReplicasAgree(ref, bytes(b.p!), `the high watermark ${leader.highWatermark} (leader ${s.leader}, replica ${b.id})`);
      if (differ.length > 0) {
        const theirs = readWholeLog(b.p!) ?? [];
        const i = mine.findIndex((r, k) => theirs[k]?.offset !== r.offset || theirs[k]?.value !== r.value);
        differ[0] += i < 0 ? "; the records agree (headers differ)" : `; first differing record: leader ${mine[i].offset}=${mine[i].value}, replica ${theirs[i]?.offset}=${theirs[i]?.value}`;
      }
      violations.push(...differ);
    }
  }
  return { seed, violations, traceHash: sim.traceHash, simulatedMs: sim.nowMs, stats: { ...stats, ...net.stats, steps: sim.steps } };
}

/** The log's bytes from its start up to `upTo`. */
export function readChunks(p: Partition, upTo: bigint): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = p.log.logStartOffset;
  while (at < upTo) {
    const r = p.log.read(at, 1 << 20, true, upTo);
    const recs = decodeBatches(r.chunks);
    if (recs === null || recs.length === 0) break;
    out.push(...r.chunks.map((c) => c.slice()));
    at = recs[recs.length - 1].offset + 1n;
  }
  return out;
}

/**
 * The planted bug: a follower's fetch is taken as if it had the leader's whole log, so the high watermark (and
 * acks=all) runs ahead of what the ISR holds.
 */
function plantHighWatermarkBug(p: Partition): void {
  const real = p.updateFollowerFetch.bind(p);
  p.updateFollowerFetch = (replicaId: number, _logEndOffset: bigint) => real(replicaId, p.logEndOffset);
}
