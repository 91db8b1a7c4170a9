/**
 * Simulation (d): three real brokers in cluster mode, each `Broker.start` on its own {@link SimDisk} with its real
 * control plane (ControlPlane: EtcdMetadataStore, registration lease, controller election, ClusterController) on a
 * {@link SimEtcd} (linearizable compare-and-set, leases expiring on the simulation clock, ordered asynchronous
 * watches), its real ReplicaFetcher loop fetching from leaders over the simulated wires, and its real ISR checks
 * writing AlterPartition compare-and-sets. Clients find the leader with Metadata and produce (idempotent, acks=all,
 * min.insync.replicas=2) and fetch through encoded frames. Faults: process kills and restarts (often before the old
 * registration lease ran out), power cuts (only while the ISR is full: followers do not fsync, so two cuts could
 * lose what a majority acknowledged), and network partitions that cut one broker (the leader too) off from etcd and
 * the other brokers. With `pipelined`, the second producer pipelines up to five batches as librdkafka does
 * (pipelined-producer.ts) and controlled shutdowns of the partition leader (a rolling restart's step) join the faults.
 * A clean stop (SIGTERM's path: controlled shutdown, `Broker.stop` with its producer snapshots, checkpoints and
 * clean-shutdown marker, the control plane closed, then a start that trusts them) of the leader or another broker
 * is about one fault in seven; while the ISR is full, some get a power cut at a seeded disk call of the stop. About
 * one fault in twelve is the solo-leader schedule ({@link SOLO_LEADER_CHANCE}): the leader left alone in the ISR
 * (min.insync.replicas=1, both followers cut off), stopped cleanly with a power cut, and back as the only replica
 * that may lead, so that what its clean start trusted is served before another replica's log replaces it.
 *
 * With `cleaning`, the cleaning workload (cleaning-workload.ts with `replicas`) runs on three-replica compacted,
 * compact+delete and delete topics, read at the leader the metadata names; to settle, every follower's log start
 * offset must also be at or past the leader's, and at the end a last DeleteRecords on a settled cluster must be
 * answered with every replica's log start already there, and every replica passes the cleaning checks.
 *
 * Checkers, once the faults stop and the cluster settles (a leader, a full ISR, equal log ends): every acks=all
 * record is at its offset, once, in order; nothing a consumer read below the high watermark is lost or changed; the
 * replicas agree byte for byte up to the high watermark, and on what they derive from it (the aborted transactions
 * and the producer states, which a replica uses once it leads); no consumer read at or past the high watermark.
 */
import { ErrorCode } from "../../src/protocol/errors.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { initCompression } from "../../src/compression/index.ts";
import { Partition } from "../../src/partition/partition.ts";
import { Sim } from "./scheduler.ts";
import { SimDisk } from "./sim-disk.ts";
import { Disconnected, SimWire, SimKafkaConnection } from "./sim-wire.ts";
import { SimEtcd } from "./sim-etcd.ts";
import { SimBrokerProcess } from "./sim-broker.ts";
import { buildBatch, decodeBatches, type ReadRecord } from "./records.ts";
import { assignedPartitionsOf, encodeConsumerAssignment } from "../../src/group/consumer-protocol.ts";
import { joinAndSync, type GroupJoinSetup, type MemberIdentity } from "./group-join.ts";
import { checkAcknowledged, checkCommittedOffsetNotOlder, checkReadBelowHighWatermark, checkReadCommitted, checkReadRecordsStay, checkReplicasAgree, readCommittedView, type AckedRecord, type OffsetCommitAttempt } from "./checkers.ts";
import { readWholeLog, type SimResult } from "./single-broker.ts";
import { readChunks } from "./replicated.ts";
import { plantOffsetCommitBeforeDurable, subscription } from "./kafka-broker.ts";
import { plantCleanStopSkipsTxnIndexSync, plantSnapshotPastLogEndLoaded } from "./planted-clean-stop-bugs.ts";
import { checkPipelinedProducer, runPipelinedProducer, type PipelinedRecord } from "./pipelined-producer.ts";
import { CLEANING_BROKER_SETTINGS, CLEANING_TOPIC_NAMES, CleaningWorkload } from "./cleaning-workload.ts";
import { plantDeleteRecordsAnsweredBeforeReplicas, plantFollowerIgnoresLeaderLogStart, plantFollowerIgnoresOutOfRange } from "./planted-replication-cleaner-bugs.ts";

/** Knobs of one run. */
export interface ClusterOptions {
  /**
   * The disk keeps namespace operations pending until a directory fsync commits them (sim-disk.ts header); on unless
   * false (false: every create, rename and remove durable at once, the model before 2026-12-06).
   */
  unsyncedDirs?: boolean;
  /** With `unsyncedDirs`: one journal per directory instead of one ordered journal (sim-disk.ts, stricter). */
  journalPerDirectory?: boolean;
  /** PLANTED BUG (with `unsyncedDirs`): writeFileAtomic skips its directory fsync. */
  plantAtomicWriteSkipsDirSync?: boolean;
  /** Simulated ms of workload. */
  durationMs?: number;
  /**
   * Also run a transactional producer (coordinator found with FindCoordinator, moving with its __transaction_state
   * partition) and check read_committed. Off in the CI budget: it finds open problems (see the test file).
   */
  transactions?: boolean;
  /**
   * Also run a consumer group of two classic members (JoinGroup, SyncGroup, Heartbeat, OffsetFetch, OffsetCommit)
   * whose coordinator is found with FindCoordinator and followed as it moves with its __consumer_offsets partition;
   * checks that committed offsets never go backwards.
   */
  groups?: boolean;
  /**
   * The second producer pipelines up to five batches and bumps its epoch by librdkafka's rules
   * ({@link runPipelinedProducer}); controlled shutdowns (leaderships handed over while the old leader still answers,
   * then the process stopped), as in a rolling restart, join the faults.
   */
  pipelined?: boolean;
  /**
   * Each broker gets two log dirs, and a failing disk (EIO on every write and sync) under the one holding the
   * partition on a broker (the leader, half the time) joins the faults (KIP-112): the controller must take that
   * replica out of the ISR and move its leadership to another in-sync replica while the broker runs on; then the
   * disk is fixed and the broker restarted. Off by default (it changes every seed's schedule).
   */
  logDirFailures?: boolean;
  /** PLANTED BUG: group coordinators answer OffsetCommit once appended, before the ISR has the record. */
  plantOffsetCommitBeforeDurable?: boolean;
  /**
   * PLANTED BUG (79c0d19 undone): Produce judges an idempotent batch by the partition's producer state before it
   * checks leadership, so an old leader or a follower answers OUT_OF_ORDER_SEQUENCE_NUMBER (or a duplicate's offset).
   */
  plantSequenceCheckBeforeLeadership?: boolean;
  /** PLANTED BUG: the leader moves the high watermark to its log end without waiting for the ISR. */
  plantHighWatermarkAheadOfIsr?: boolean;
  /** PLANTED BUG: a clean stop's snapshot is written without syncing the aborted-transaction index (planted-clean-stop-bugs.ts). */
  plantCleanStopSkipsTxnIndexSync?: boolean;
  /** PLANTED BUG: a producer snapshot past the recovered log end is loaded (planted-clean-stop-bugs.ts). */
  plantSnapshotPastLogEndLoaded?: boolean;
  /**
   * Also run the cleaning workload (cleaning-workload.ts) on three-replica topics: compacted, compact+delete and
   * delete topics with rolling segments, retention on the simulation clock, DeleteRecords, keyed producers; each
   * replica cleans on its own, followers take the leader's log start offset (or restart at it when their log end
   * lies below it). Checked at the leader as the metadata names it, through every fault, and on every replica once
   * settled (cleaning-workload.ts, `replicas`).
   */
  cleaning?: boolean;
  /** PLANTED BUG (with `cleaning`): a follower ignores the leader's log start offset (planted-replication-cleaner-bugs.ts). */
  plantFollowerIgnoresLeaderLogStart?: boolean;
  /** PLANTED BUG (with `cleaning`): DeleteRecords answers before the followers moved their log start (planted-replication-cleaner-bugs.ts). */
  plantDeleteRecordsAnsweredBeforeReplicas?: boolean;
  /** PLANTED BUG (with `cleaning`): a follower below the leader's log start never restarts there (planted-replication-cleaner-bugs.ts). */
  plantFollowerIgnoresOutOfRange?: boolean;
  /** Print the trace as it runs. */
  verbose?: boolean;
}

const TOPIC = "rep";
const NODES = [1, 2, 3];
const PORT_BASE = 9090;
const ISR_KEY = `/runnel/partitions/${TOPIC}/0`;
const GROUP = "rep-group";
const GROUP_SESSION_TIMEOUT_MS = 1500;
/** How long (simulated ms) a follower's log end may stay below its leader's log start offset once the faults stop. */
const STUCK_BELOW_LEADER_START_MS = 5000;
/** Chance that a fault is the solo-leader schedule (the leader alone in the ISR, stopped cleanly with a power cut). */
const SOLO_LEADER_CHANCE = 0.08;
/** With `logDirFailures`: chance that a fault is a failing disk under one log dir. */
const LOG_DIR_FAILURE_CHANCE = 0.25;
/** Simulated ms within which the controller must move a failed replica's leadership and ISR place. */
const LOG_DIR_FAILURE_MOVE_MS = 3000;

interface StoredState {
  replicas: number[];
  isr: number[];
  leader: number;
  leaderEpoch: number;
}

/** Runs simulation (d) for `seed`. */
export async function runCluster(seed: number, opts: ClusterOptions = {}): Promise<SimResult> {
  await Promise.all([initCrc32c(), initCompression()]);
  const sim = new Sim(seed);
  sim.verbose = opts.verbose === true;
  const durationMs = opts.durationMs ?? 5000;
  const violations: string[] = [];
  const stats = { produced: 0, ackedAll: 0, pipelinedAcked: 0, epochBumps: 0, retries: 0, fatalErrors: 0, controlledShutdowns: 0, cleanStops: 0, soloLeaderStops: 0, soloLeaderCuts: 0, logDirFailures: 0, crashes: 0, powerCuts: 0, partitions: 0, consumed: 0, leaderChanges: 0, commitsAcked: 0, offsetFetches: 0, rebalances: 0, coordinatorMoves: 0 };
  const isolated = new Set<number>();
  const etcd = new SimEtcd(sim, 1 + sim.int(5));
  const wires = new Map<number, SimWire>();
  for (const n of NODES) wires.set(PORT_BASE + n, new SimWire(sim, 1 + sim.int(5), n, isolated));
  const restore: (() => void)[] = [];
  if (opts.plantHighWatermarkAheadOfIsr) restore.push(plantHighWatermarkBug());
  if (opts.plantSequenceCheckBeforeLeadership) restore.push(plantSequenceCheckBeforeLeadership());
  if (opts.plantCleanStopSkipsTxnIndexSync) restore.push(plantCleanStopSkipsTxnIndexSync());
  if (opts.plantSnapshotPastLogEndLoaded) restore.push(plantSnapshotPastLogEndLoaded());
  if (opts.plantFollowerIgnoresLeaderLogStart) restore.push(plantFollowerIgnoresLeaderLogStart());
  if (opts.plantDeleteRecordsAnsweredBeforeReplicas) restore.push(plantDeleteRecordsAnsweredBeforeReplicas());
  if (opts.plantFollowerIgnoresOutOfRange) restore.push(plantFollowerIgnoresOutOfRange());
  const procs = new Map<number, SimBrokerProcess>();
  const up = new Map<number, boolean>();
  for (const n of NODES) {
    const settings: Record<string, string> = {
      "node.id": String(n),
      "log.dirs": opts.logDirFailures ? `/data/b${n},/data/b${n}x` : `/data/b${n}`,
      listeners: `PLAINTEXT://127.0.0.1:${PORT_BASE + n}`,
      "broker.session.timeout.ms": "1000",
      "replica.lag.time.max.ms": "600",
      "replica.fetch.wait.max.ms": "50",
      "replica.fetch.backoff.ms": "50",
      "offsets.topic.replication.factor": "3",
      "group.initial.rebalance.delay.ms": "0",
      "group.min.session.timeout.ms": "100",
      ...(opts.cleaning ? CLEANING_BROKER_SETTINGS : {}),
    };
    procs.set(n, new SimBrokerProcess(sim, new SimDisk(sim, { readErrorRate: 0, bitFlipRate: 0, tornWriteRate: 0.5, maxSyncLatencyMs: 1 + sim.int(10), unsyncedNamespace: opts.unsyncedDirs ?? true, journalPerDirectory: opts.journalPerDirectory, atomicWriteSkipsDirSync: opts.plantAtomicWriteSkipsDirSync }), wires.get(PORT_BASE + n)!, settings, (b) => {
      if (opts.plantOffsetCommitBeforeDurable) plantOffsetCommitBeforeDurable(b);
    }, { etcd, wires }));
    up.set(n, false);
  }
  const sleep = (ms: number, label: string) => new Promise<void>((resolve) => sim.after(ms, label, resolve));

  const boot = (n: number): void => {
    procs.get(n)!.start().then(
      () => {
        up.set(n, true);
        sim.trace(`broker ${n} up (incarnation ${procs.get(n)!.incarnation})`);
      },
      (e) => {
        const msg = (e as Error).message;
        if (msg.includes("died while starting")) return;
        // etcd out of reach at start-up: the process exits and is started again.
        sim.trace(`broker ${n} failed to start: ${msg}`);
        procs.get(n)!.crash(false);
        sim.after(100 + sim.int(100), `restart ${n}`, () => boot(n));
      },
    );
  };
  const crash = (n: number, powerCut: boolean, why: string): void => {
    if (!up.get(n)) return;
    up.set(n, false);
    stats.crashes++;
    if (powerCut) stats.powerCuts++;
    sim.trace(`crash broker ${n} (${powerCut ? "power cut" : "process killed"}): ${why}`);
    const alone = soleReplicaOf(n);
    procs.get(n)!.crash(powerCut);
    afterProcessLoss(n, alone);
    // Often before its previous registration lease ran out: it then starts unregistered and must not lead yet.
    sim.after(50 + sim.int(sim.chance(0.5) ? 300 : 1500), `restart ${n}`, () => boot(n));
  };
  /**
   * The disk under broker `n`'s log dir holding the partition fails (EIO). The broker runs on with its other dir;
   * where the partition has another in-sync replica the controller must move the leadership off `n` and take it
   * out of the ISR (waited for up to LOG_DIR_FAILURE_MOVE_MS of simulated time: a violation if it does not). Then
   * the disk is fixed and the process restarted, to rejoin as usual.
   */
  const logDirFailure = async (n: number): Promise<void> => {
    const proc = procs.get(n)!;
    const dir = [`/data/b${n}`, `/data/b${n}x`].find((d) => proc.disk.exists(`${d}/${TOPIC}-0`));
    if (!up.get(n) || proc.broker === null || dir === undefined) return;
    stats.logDirFailures++;
    sim.trace(`log dir failure: broker ${n}'s ${dir} fails with EIO`);
    proc.disk.failingUnder = `${dir}/`;
    const before = stored();
    const others = before === null ? [] : before.isr.filter((r) => r !== n && up.get(r) && !isolated.has(r));
    if (others.length > 0) {
      const deadline = sim.nowMs + LOG_DIR_FAILURE_MOVE_MS;
      // a positive event: the stored state without `n` as leader or ISR member
      while (sim.nowMs < deadline) {
        const s = stored();
        if (s !== null && s.leader !== n && !s.isr.includes(n)) break;
        await sleep(20, "log dir failure: wait for the controller");
      }
      const s = stored();
      if (s !== null && (s.leader === n || s.isr.includes(n)) && proc.disk.failingUnder !== null) {
        // only when the write that takes the dir offline came (a replica with nothing to write never notices)
        if (proc.broker?.topicsByName.get(TOPIC)?.partitions[0]?.log.isOffline === true) {
          violations.push(`broker ${n}'s replica is offline (its log dir failed) but after ${LOG_DIR_FAILURE_MOVE_MS} ms it still ${s.leader === n ? "leads" : "is in the ISR"}: ${JSON.stringify(s)}`);
        }
      }
    }
    await sleep(100 + sim.int(500), "log dir failure lasts");
    proc.disk.failingUnder = null;
    sim.trace(`log dir failure: broker ${n}'s disk fixed, restarting it`);
    crash(n, false, "restarted after its log dir's disk was fixed");
  };
  /**
   * A clean stop as SIGTERM runs it (controlled shutdown, `Broker.stop` with its producer snapshots, checkpoints and
   * clean-shutdown marker, the control plane closed), then a restart that trusts what it wrote. With `cutAllowed`
   * (every replica in sync, as for the other power cuts) the power goes now and then during the stop or after it.
   */
  const cleanStop = async (n: number, cutAllowed: boolean): Promise<void> => {
    const proc = procs.get(n)!;
    if (!up.get(n) || proc.broker === null) return;
    up.set(n, false);
    stats.cleanStops++;
    const cut = cutAllowed && sim.chance(0.4) ? 1 + sim.int(60) : null;
    sim.trace(`clean stop of broker ${n}${cut === null ? "" : `, power cut at its disk call ${cut}`}`);
    const alone = soleReplicaOf(n);
    const outcome = await proc.stopCleanly(cut).catch((e) => {
      violations.push(`broker ${n}: the clean stop failed: ${(e as Error)?.stack ?? e}`);
      return "failed" as const;
    });
    sim.trace(`broker ${n}: clean stop ended: ${outcome}`);
    if (outcome === "failed") proc.crash(false);
    if (outcome === "power cut during stop" || outcome === "power cut after stop") {
      stats.powerCuts++;
      afterProcessLoss(n, [...alone, ...soleReplicaOf(n)]);
    }
    sim.after(50 + sim.int(sim.chance(0.5) ? 300 : 1500), `restart ${n}`, () => boot(n));
  };
  /** The cleaning topics whose ISR is broker `n` alone now (none without the cleaning workload). */
  const soleReplicaOf = (n: number): string[] =>
    !opts.cleaning ? [] : CLEANING_TOPIC_NAMES.filter((topic) => {
      const st = JSON.parse(etcd.peek(`/runnel/partitions/${topic}/0`) ?? "null") as StoredState | null;
      return st !== null && st.isr.length === 1 && st.isr[0] === n;
    });
  /**
   * Broker `n`'s process died (killed, or the power went): for the cleaning topics it alone held in sync (`alone`),
   * a log start offset it had not written to its checkpoint (or, after a power cut, not made durable) is gone.
   */
  const afterProcessLoss = (n: number, alone: readonly string[]): void => {
    if (cleaning !== null && alone.length > 0) cleaning.soleReplicaDied(procs.get(n)!.disk, `/data/b${n}`, alone, `broker ${n}`);
  };
  const stored = (): StoredState | null => {
    const text = etcd.peek(ISR_KEY);
    return text === null ? null : (JSON.parse(text) as StoredState);
  };

  /**
   * Sets the topic's min.insync.replicas through IncrementalAlterConfigs at `node` (any broker when null, a new one
   * each attempt); whether it was answered without error.
   */
  const setMinInsyncReplicas = async (value: string, node: number | null): Promise<boolean> => {
    const call = client("admin-configs");
    for (let attempt = 0; attempt < 20; attempt++) {
      const res = await call(node ?? NODES[sim.int(NODES.length)], 44, 1, { resources: [{ resourceType: 2, resourceName: TOPIC, configs: [{ name: "min.insync.replicas", configOperation: 0, value }] }], validateOnly: false });
      const code = res?.responses?.[0]?.errorCode;
      sim.trace(`min.insync.replicas=${value}: ${code === undefined ? "no answer" : `error ${code}`}`);
      if (code === ErrorCode.NONE) return true;
      await sleep(50 + sim.int(50), "configs retry");
    }
    return false;
  };
  /** Waits (polling) until `ok` holds, at most `ms` simulated ms; whether it did. */
  const waitFor = async (ms: number, label: string, ok: () => boolean): Promise<boolean> => {
    const until = sim.nowMs + ms;
    while (!ok()) {
      if (sim.nowMs >= until) return false;
      await sleep(50, label);
    }
    return true;
  };
  /** Set when the solo-leader schedule's power cut may have taken what the consumer read: it reads again from here. */
  let rewindConsumerTo: bigint | null = null;
  /**
   * The leader left alone in the ISR, then stopped cleanly with a power cut, and back as the only replica that may
   * lead (unclean election stays off): the case where what a clean start trusts (its producer snapshot, its
   * aborted-transaction index) is served as leader before any other replica's log can replace it. Steps:
   * min.insync.replicas=1 (so acks=all writes go on with the leader alone); both followers cut off from etcd, the
   * brokers and the clients; once the ISR is the leader alone, every log of the leader is fdatasynced (what it took
   * as a follower of another leader is in its page cache only: with one in-sync replica a power cut would lose
   * acknowledged records, which Kafka does not promise to keep either); some traffic on the leader alone; its clean
   * stop with a power cut at a seeded disk call counted from its first call on this partition's files (the producer
   * snapshot, the transaction index sync, the log flush, the checkpoints), or after the stop; its restart; once it
   * leads again, more traffic (retries of the batches it lost come to it); then the followers return and truncate to
   * it, and min.insync.replicas goes back to 2. Consumers may have read, below the high watermark the leader alone
   * set, records appended after that fdatasync and lost by the cut (acks=all ones wait for the leader's own
   * fdatasync, so none of those): those reads are forgotten and the consumer reads from there again.
   */
  const soloLeaderCleanStop = async (leader: number): Promise<void> => {
    const proc = procs.get(leader)!;
    const followers = NODES.filter((n) => n !== leader);
    const heal = () => {
      isolated.clear();
      etcd.heal();
      sim.trace("solo leader: followers back");
    };
    stats.soloLeaderStops++;
    sim.trace(`solo leader: broker ${leader} to be left alone in the ISR`);
    if (!(await setMinInsyncReplicas("1", leader))) return;
    for (const f of followers) {
      isolated.add(f);
      etcd.isolate(f);
      for (const w of wires.values()) w.cutNode(f);
    }
    const alone = await waitFor(4000, "solo leader waits for the ISR", () => {
      const s = stored();
      return s !== null && s.leader === leader && s.isr.length === 1 && up.get(leader) === true && sim.nowMs < durationMs;
    });
    const b = proc.broker;
    if (!alone || b === null) {
      sim.trace("solo leader: the ISR did not shrink to the leader (or the run ended)");
      heal();
      await setMinInsyncReplicas("2", null);
      return;
    }
    const parts = [...b.topicsByName.values()].flatMap((t) => t.partitions as Partition[]);
    const from = (b.topicsByName.get(TOPIC)!.partitions[0] as Partition).logEndOffset;
    await Promise.all(parts.map((p) => p.log.sync().catch(() => {})));
    sim.trace(`solo leader: broker ${leader} alone in the ISR, its logs synced (${TOPIC}-0 to ${from})`);
    await sleep(100 + sim.int(400), "solo leader takes writes");
    // Not once the faults have stopped (the settle phase healed the followers and may already have settled): a stop
    // then took the broker away under the final checks (cleaning seed 98: the final DeleteRecords found it gone).
    if (proc.broker !== b || !up.get(leader) || sim.nowMs >= durationMs) {
      heal();
      await setMinInsyncReplicas("2", null);
      return;
    }
    up.set(leader, false);
    stats.cleanStops++;
    const cut = 1 + sim.int(8);
    sim.trace(`solo leader: clean stop of broker ${leader}, power cut at its disk call ${cut} from its first on ${TOPIC}-0`);
    const soleOf = soleReplicaOf(leader);
    const outcome = await proc.stopCleanly(cut, `/data/b${leader}/${TOPIC}-0/`).catch((e) => {
      violations.push(`broker ${leader}: the clean stop failed: ${(e as Error)?.stack ?? e}`);
      return "failed" as const;
    });
    sim.trace(`broker ${leader}: clean stop ended: ${outcome}`);
    if (outcome === "failed") proc.crash(false);
    if (outcome === "power cut during stop" || outcome === "power cut after stop") {
      stats.powerCuts++;
      stats.soloLeaderCuts++;
      afterProcessLoss(leader, [...soleOf, ...soleReplicaOf(leader)]);
      rewindConsumerTo = from;
      for (const offset of [...seen.keys()]) if (offset >= from) seen.delete(offset);
    }
    sim.after(50 + sim.int(sim.chance(0.5) ? 300 : 1500), `restart ${leader}`, () => boot(leader));
    const leads = await waitFor(6000, "solo leader waits to lead again", () => {
      const p = procs.get(leader)!.broker?.topicsByName.get(TOPIC)?.partitions[0] as Partition | undefined;
      return up.get(leader) === true && p !== undefined && p.isLeader;
    });
    sim.trace(`solo leader: broker ${leader} ${leads ? "leads again" : "does not lead again in time"}`);
    if (leads) await sleep(200 + sim.int(600), "solo leader takes retries");
    heal();
    await setMinInsyncReplicas("2", leads ? leader : null);
  };

  /** A client's connection to one broker, redialled as needed; null when there is no answer. */
  const client = (name: string) => {
    const conns = new Map<number, SimKafkaConnection>();
    return async <T = any>(node: number, apiKey: number, version: number, body: unknown): Promise<T | null> => {
      let conn = conns.get(node);
      if (conn === undefined || conn.closed) {
        const c = SimKafkaConnection.open(wires.get(PORT_BASE + node)!, name);
        if (c === null) return null;
        conns.set(node, c);
        conn = c;
      }
      let timer = false;
      const timeout = new Promise<null>((resolve) => sim.after(2000, `${name} request timeout`, () => ((timer = true), resolve(null))));
      try {
        const r = await Promise.race([conn.request<T>(apiKey, version, body), timeout]);
        if (timer) conn.close();
        return r;
      } catch (e) {
        if (e instanceof Disconnected) return null;
        throw e;
      }
    };
  };
  const leaderOf = async (call: ReturnType<typeof client>): Promise<number> => {
    const n = NODES[sim.int(NODES.length)];
    const md = await call(n, 3, 12, { topics: [{ name: TOPIC }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    return md?.topics?.[0]?.partitions?.[0]?.leaderId ?? -1;
  };

  // Topic creation through any broker (the cluster's CreateTopics path).
  let topicReady = false;
  const createTopic = async (): Promise<void> => {
    const call = client("admin");
    while (!topicReady) {
      const n = NODES[sim.int(NODES.length)];
      const res = await call(n, 19, 7, { topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: 3, assignments: [], configs: [{ name: "min.insync.replicas", value: "2" }] }], timeoutMs: 2000 });
      const code = res?.topics?.[0]?.errorCode;
      if (code === ErrorCode.NONE || code === ErrorCode.TOPIC_ALREADY_EXISTS) topicReady = true;
      else await sleep(50 + sim.int(50), "admin retry");
    }
    sim.trace("topic created");
  };

  const acked: AckedRecord[] = [];
  const pipelinedRecords: PipelinedRecord[] = [];
  let producersDone = 0;
  const producer = async (index: number): Promise<void> => {
    const call = client(`producer-${index}`);
    while (!topicReady) await sleep(50, `producer ${index} waits`);
    let pid = -1n;
    let epoch = 0;
    let seq = 0;
    let counter = 0;
    let generation = 0;
    let leader = -1;
    while (sim.nowMs < durationMs) {
      if (pid < 0n) {
        const res = await call(NODES[sim.int(NODES.length)], 22, 4, { transactionalId: null, transactionTimeoutMs: -1, producerId: -1n, producerEpoch: -1 });
        if (res === null || res.errorCode !== ErrorCode.NONE) {
          await sleep(50, "init retry");
          continue;
        }
        [pid, epoch, seq] = [res.producerId, res.producerEpoch, 0];
        generation++;
      }
      let values = Array.from({ length: 1 + sim.int(3) }, () => `p${index}-${counter++}`);
      for (let attempt = 0; ; attempt++) {
        if (leader < 0) leader = await leaderOf(call);
        if (leader < 0) {
          await sleep(50 + sim.int(50), "no leader");
          continue;
        }
        const res = await call(leader, 0, 9, { transactionalId: null, acks: -1, timeoutMs: 1500, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: buildBatch(values, sim.clock.nowMs(), { id: pid, epoch, seq }) }] }] });
        const r = res?.responses?.[0]?.partitionResponses?.[0];
        if (r?.errorCode === ErrorCode.NONE) {
          values.forEach((value, i) => acked.push({ producer: index, idempotent: true, value, offset: r.baseOffset + BigInt(i) }));
          stats.ackedAll += values.length;
          stats.produced += values.length;
          seq += values.length;
          sim.trace(`producer ${index} ${values[0]} acked at ${r.baseOffset} by ${leader}`);
          break;
        }
        if (r !== undefined && (r.errorCode === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER || r.errorCode === ErrorCode.UNKNOWN_PRODUCER_ID || r.errorCode === ErrorCode.INVALID_PRODUCER_EPOCH)) {
          pid = -1n;
          values = values.map((v) => `${v}~g${generation}`);
          break;
        }
        leader = -1; // refresh the leader (not the leader, no answer, not enough replicas)
        await sleep(20 + sim.int(40), "produce retry");
      }
    }
    producersDone++;
  };

  // A transactional producer: its coordinator is found with FindCoordinator (any broker can hold it, and it moves
  // with the leadership of its __transaction_state partition); batches go to the partition leader.
  const abortedValues = new Set<string>();
  const committedTxnValues: string[] = [];
  let txnDone = opts.transactions !== true;
  const transactional = async (): Promise<void> => {
    const call = client("transactional");
    while (!topicReady) await sleep(50, "txn producer waits");
    let coordinator = -1;
    let pid = -1n;
    let epoch = 0;
    let seq = 0;
    let leader = -1;
    let txnNo = 0;
    const RETRY = new Set<number>([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.CONCURRENT_TRANSACTIONS, ErrorCode.REQUEST_TIMED_OUT]);
    const toCoordinator = async (apiKey: number, version: number, body: unknown): Promise<any> => {
      for (let attempt = 0; attempt < 30; attempt++) {
        if (coordinator < 0) {
          const fc = await call(NODES[sim.int(NODES.length)], 10, 4, { keyType: 1, coordinatorKeys: ["rep-txn"] });
          const c = fc?.coordinators?.[0];
          if (c !== undefined && c.errorCode === ErrorCode.NONE) coordinator = c.nodeId;
          else {
            await sleep(50 + sim.int(50), "txn find coordinator retry");
            continue;
          }
        }
        const res = await call(coordinator, apiKey, version, body);
        const code = res === null ? -1 : (res.errorCode ?? res.resultsByTopicV3AndBelow?.[0]?.resultsByPartition?.[0]?.partitionErrorCode ?? 0);
        sim.trace(`txn api ${apiKey} to ${coordinator}: error ${code}${res?.producerId === undefined ? "" : `, producer ${res.producerId} epoch ${res.producerEpoch}`}`);
        if (res !== null && !RETRY.has(code)) return res;
        if (res === null || code === ErrorCode.NOT_COORDINATOR || code === ErrorCode.COORDINATOR_NOT_AVAILABLE) coordinator = -1;
        await sleep(30 + sim.int(50), "txn coordinator retry");
      }
      return null;
    };
    const init = async (): Promise<void> => {
      for (;;) {
        const res = await toCoordinator(22, 4, { transactionalId: "rep-txn", transactionTimeoutMs: 2000, producerId: -1n, producerEpoch: -1 });
        if (res !== null && res.errorCode === ErrorCode.NONE) {
          [pid, epoch, seq] = [res.producerId, res.producerEpoch, 0];
          return;
        }
        await sleep(50, "txn init retry");
      }
    };
    await init();
    while (sim.nowMs < durationMs) {
      txnNo++;
      const written: string[] = [];
      let failed = false;
      // A batch sent without an answer may be in the log: its sequence numbers are spent. As Kafka's producer does
      // (unresolved sequences), end the transaction, then bump the epoch before the next one (resending the same
      // sequence with other records would be taken for a duplicate of that batch).
      let unresolved = false;
      const added = await toCoordinator(24, 3, { v3AndBelowTransactionalId: "rep-txn", v3AndBelowProducerId: pid, v3AndBelowProducerEpoch: epoch, v3AndBelowTopics: [{ name: TOPIC, partitions: [0] }] });
      if (added?.resultsByTopicV3AndBelow?.[0]?.resultsByPartition?.[0]?.partitionErrorCode !== ErrorCode.NONE) failed = true;
      for (let b = 0; b < 1 + sim.int(3) && !failed; b++) {
        const values = Array.from({ length: 1 + sim.int(2) }, (_, k) => `t${txnNo}-${written.length + k}`);
        written.push(...values);
        let done = false;
        for (let attempt = 0; attempt < 20 && !done && !failed; attempt++) {
          if (leader < 0) leader = await leaderOf(call);
          if (leader < 0) {
            await sleep(50, "txn no leader");
            continue;
          }
          const res = await call(leader, 0, 9, { transactionalId: "rep-txn", acks: -1, timeoutMs: 1500, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: buildBatch(values, sim.clock.nowMs(), { id: pid, epoch, seq, transactional: true }) }] }] });
          const r = res?.responses?.[0]?.partitionResponses?.[0];
          sim.trace(`txn produce ${values.join(",")} (epoch ${epoch}, sequence ${seq}) to ${leader}: ${r === undefined ? "no answer" : `error ${r.errorCode} at ${r.baseOffset}`}`);
          if (r?.errorCode === ErrorCode.NONE) {
            seq += values.length;
            done = true;
          } else if (r !== undefined && (r.errorCode === ErrorCode.INVALID_PRODUCER_EPOCH || r.errorCode === ErrorCode.PRODUCER_FENCED || r.errorCode === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER || r.errorCode === ErrorCode.INVALID_TXN_STATE || r.errorCode === ErrorCode.TRANSACTION_ABORTABLE)) failed = true;
          else {
            leader = -1;
            await sleep(30 + sim.int(40), "txn produce retry");
          }
        }
        if (!done) {
          failed = true;
          unresolved = true;
        }
      }
      const commit = !failed && sim.chance(0.6);
      const end = await toCoordinator(26, 3, { transactionalId: "rep-txn", producerId: pid, producerEpoch: epoch, committed: commit });
      const ok = end !== null && end.errorCode === ErrorCode.NONE;
      if (commit && ok) {
        committedTxnValues.push(...written);
        sim.trace(`cluster txn ${txnNo} committed`);
      } else if (!commit) {
        // aborted by us, or (no answer) fenced and aborted by the coordinator when we re-initialise: never committed
        for (const v of written) abortedValues.add(v);
        sim.trace(`cluster txn ${txnNo} aborted`);
      }
      if (!ok || unresolved) await init();
      await sleep(5 + sim.int(30), "txn next");
    }
    txnDone = true;
  };

  // A read_committed consumer reading from the leader up to its last stable offset; what it read must stay.
  const seen = new Map<bigint, string>();
  const readCommittedSeen: ReadRecord[] = [];
  const consumer = async (): Promise<void> => {
    const call = client("consumer");
    while (!topicReady) await sleep(50, "consumer waits");
    let pos = 0n;
    let leader = -1;
    while (sim.nowMs < durationMs) {
      await sleep(10 + sim.int(40), "consumer poll");
      if (rewindConsumerTo !== null) {
        if (pos > rewindConsumerTo) pos = rewindConsumerTo;
        rewindConsumerTo = null;
      }
      if (leader < 0) leader = await leaderOf(call);
      if (leader < 0) continue;
      const res = await call(leader, 1, 12, { replicaId: -1, maxWaitMs: 20, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 1, sessionId: 0, sessionEpoch: -1, topics: [{ topic: TOPIC, partitions: [{ partition: 0, fetchOffset: pos, partitionMaxBytes: 8192 }] }] });
      const pd = res?.responses?.[0]?.partitions?.[0];
      if (pd === undefined || pd.errorCode !== ErrorCode.NONE) {
        leader = -1;
        continue;
      }
      const recs = decodeBatches(pd.records === null ? [] : Array.isArray(pd.records) ? pd.records : [pd.records]);
      if (recs === null) continue;
      const fresh = recs.filter((r) => r.offset >= pos);
      violations.push(...checkReadBelowHighWatermark(fresh, pd.highWatermark, `consumer (leader ${leader})`));
      const visible = readCommittedView(fresh, pd.abortedTransactions ?? []);
      violations.push(...checkReadCommitted(visible, pd.lastStableOffset, abortedValues, `consumer (leader ${leader})`));
      readCommittedSeen.push(...visible);
      for (const r of fresh) seen.set(r.offset, r.value);
      stats.consumed += fresh.length;
      if (fresh.length > 0) pos = fresh[fresh.length - 1].offset + 1n;
    }
  };

  // Consumer group members: the coordinator found with FindCoordinator (keyType 0) and found again after
  // NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS or no answer, as Kafka's consumer does.
  // Every commit of the partition, in the order sent (one in flight at a time), for the committed-offset checker.
  const commits: OffsetCommitAttempt[] = [];
  let commitInFlight = false;
  const COORDINATOR_GONE = new Set<number>([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS]);
  const groupCoordinator = (call: ReturnType<typeof client>, who: string) => {
    let coordinator = -1;
    /** One request to the coordinator; null when it has moved or did not answer (the caller rejoins or retries). */
    return async (apiKey: number, version: number, body: unknown, codeOf: (res: any) => number): Promise<any> => {
      if (coordinator < 0) {
        const fc = await call(NODES[sim.int(NODES.length)], 10, 4, { keyType: 0, coordinatorKeys: [GROUP] });
        const c = fc?.coordinators?.[0];
        if (c === undefined || c.errorCode !== ErrorCode.NONE) {
          sim.trace(`${who} FindCoordinator: ${c === undefined ? "no answer" : `error ${c.errorCode}`}`);
          return null;
        }
        if (c.nodeId !== lastGroupCoordinator) {
          if (lastGroupCoordinator >= 0) stats.coordinatorMoves++;
          lastGroupCoordinator = c.nodeId;
        }
        coordinator = c.nodeId;
      }
      const res = await call(coordinator, apiKey, version, body);
      const code = res === null ? -1 : codeOf(res);
      if (res === null || COORDINATOR_GONE.has(code)) {
        sim.trace(`${who} api ${apiKey} to coordinator ${coordinator}: ${res === null ? "no answer" : `error ${code}`}, finding it again`);
        coordinator = -1;
        return null;
      }
      return res;
    };
  };
  let lastGroupCoordinator = -1;
  let groupsDone = opts.groups !== true;
  let membersDone = 0;

  const offsetFetch = async (toCoordinator: ReturnType<typeof groupCoordinator>, who: string): Promise<bigint | null> => {
    const sentBefore = commits.length;
    const ackedBefore = commits.reduce((m, c) => (c.acked && c.value > m ? c.value : m), -1n);
    const res = await toCoordinator(9, 8, { groups: [{ groupId: GROUP, topics: [{ name: TOPIC, partitionIndexes: [0] }] }], requireStable: true }, (r) => r.groups?.[0]?.errorCode ?? 0);
    const g = res?.groups?.[0];
    if (g === undefined || g.errorCode !== ErrorCode.NONE) return null;
    const p = g.topics?.[0]?.partitions?.[0];
    if (p === undefined || p.errorCode !== ErrorCode.NONE) return null;
    stats.offsetFetches++;
    violations.push(...checkCommittedOffsetNotOlder(commits, ackedBefore, p.committedOffset, `${who}: OffsetFetch of ${TOPIC}-0 at ${sim.nowMs} ms (${sentBefore} commits sent before)`));
    return p.committedOffset;
  };

  const member = async (index: number): Promise<void> => {
    const name = `member-${index}`;
    let call = client(name);
    let toCoordinator = groupCoordinator(call, name);
    while (!topicReady) await sleep(50, `${name} waits`);
    const me: MemberIdentity = { memberId: "" };
    let leader = -1;
    const setup: GroupJoinSetup = {
      sim,
      name,
      group: GROUP,
      sessionTimeoutMs: GROUP_SESSION_TIMEOUT_MS,
      metadata: subscription(TOPIC),
      join: (body) => toCoordinator(11, 7, body, (r) => r.errorCode),
      sync: (body) => toCoordinator(14, 5, body, (r) => r.errorCode),
      sleep,
      assign: (ids) => ids.map((_, k) => encodeConsumerAssignment([{ topic: TOPIC, partitions: k === 0 ? [0] : [] }])),
      joinRetry: { base: 30, spread: 50 },
      syncRetry: { base: 20, spread: 30 },
      traceJoinErrors: true,
      onJoined: () => void stats.rebalances++,
    };
    while (sim.nowMs < durationMs) {
      const joined = await joinAndSync(setup, me);
      if (joined === null) continue;
      const generation = joined.generation;
      const owns = (assignedPartitionsOf(joined.assignment) ?? []).some((t) => t.partitions.includes(0));
      sim.trace(`${name} generation ${generation}${owns ? " owns partition 0" : " owns nothing"}`);
      let position = 0n;
      if (owns) {
        const committed = await offsetFetch(toCoordinator, name);
        if (committed === null) continue;
        position = committed < 0n ? 0n : committed;
      }
      let lastHeartbeat = sim.nowMs;
      let lastCommit = sim.nowMs;
      for (;;) {
        if (sim.nowMs >= durationMs) break;
        if (sim.chance(0.003)) {
          // The consumer process dies: it forgets its member id; the group fences it after its session.
          sim.trace(`${name} consumer crashed`);
          me.memberId = "";
          call = client(`${name}-again`);
          toCoordinator = groupCoordinator(call, name);
          leader = -1;
          await sleep(GROUP_SESSION_TIMEOUT_MS / 2, `${name} restart`);
          break;
        }
        if (sim.nowMs - lastHeartbeat >= 100) {
          const hb = await toCoordinator(12, 4, { groupId: GROUP, generationId: generation, memberId: me.memberId, groupInstanceId: null }, (r) => r.errorCode);
          if (hb === null) break;
          lastHeartbeat = sim.nowMs;
          if (hb.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) me.memberId = "";
          if (hb.errorCode !== ErrorCode.NONE) break;
        }
        if (owns) {
          if (leader < 0) leader = await leaderOf(call);
          if (leader >= 0) {
            const res = await call(leader, 1, 12, { replicaId: -1, maxWaitMs: 20, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [{ topic: TOPIC, partitions: [{ partition: 0, fetchOffset: position, partitionMaxBytes: 8192 }] }] });
            const pd = res?.responses?.[0]?.partitions?.[0];
            if (pd === undefined || pd.errorCode !== ErrorCode.NONE) leader = -1;
            else {
              const recs = decodeBatches(pd.records === null ? [] : Array.isArray(pd.records) ? pd.records : [pd.records]);
              const fresh = (recs ?? []).filter((r) => r.offset >= position);
              violations.push(...checkReadBelowHighWatermark(fresh, pd.highWatermark, `${name} (leader ${leader})`));
              if (fresh.length > 0) position = fresh[fresh.length - 1].offset + 1n;
            }
          }
          if (sim.nowMs - lastCommit >= 50 + sim.int(100) && !commitInFlight) {
            lastCommit = sim.nowMs;
            const attempt: OffsetCommitAttempt = { value: position, acked: false, who: name };
            commits.push(attempt);
            commitInFlight = true;
            const res = await toCoordinator(8, 8, { groupId: GROUP, generationIdOrMemberEpoch: generation, memberId: me.memberId, groupInstanceId: null, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: position, committedLeaderEpoch: -1, committedMetadata: "" }] }] }, (r) => r.topics?.[0]?.partitions?.[0]?.errorCode ?? 0);
            commitInFlight = false;
            if (res === null) break;
            const code = res.topics?.[0]?.partitions?.[0]?.errorCode;
            sim.trace(`${name} commit ${position} (generation ${generation}): error ${code}`);
            if (code !== ErrorCode.NONE) break;
            attempt.acked = true;
            stats.commitsAcked++;
          }
        }
        await sleep(10 + sim.int(30), `${name} poll`);
      }
    }
    if (++membersDone === 2) groupsDone = true;
  };

  // Faults: one at a time, with every broker up and nothing cut off.
  let lastLeader = -1;
  const faults = async (): Promise<void> => {
    while (sim.nowMs < durationMs) {
      await sleep(300 + sim.int(700), "fault");
      const s = stored();
      if (s !== null && s.leader !== lastLeader) {
        stats.leaderChanges++;
        lastLeader = s.leader;
      }
      if (sim.nowMs >= durationMs || isolated.size > 0 || NODES.some((n) => !up.get(n))) continue;
      const victim = NODES[sim.int(NODES.length)];
      if (sim.chance(SOLO_LEADER_CHANCE) && s !== null && s.leader >= 0 && s.isr.length === NODES.length) {
        await soloLeaderCleanStop(s.leader);
        continue;
      }
      if (opts.logDirFailures && sim.chance(LOG_DIR_FAILURE_CHANCE)) {
        await logDirFailure(sim.chance(0.5) && s !== null && s.leader >= 0 ? s.leader : victim);
        continue;
      }
      if (sim.chance(0.15)) {
        // A clean stop (SIGTERM) of the partition leader or another broker, now and then with a power cut during it.
        await cleanStop(sim.chance(0.5) && s !== null && s.leader >= 0 ? s.leader : victim, s !== null && s.isr.length === NODES.length);
        continue;
      }
      const roll = sim.int(opts.pipelined ? 4 : 3);
      if (roll === 0) crash(victim, false, "process killed");
      else if (roll === 3) {
        // A rolling restart's step at the partition leader: it hands its leaderships over (Kafka's controlled
        // shutdown) while it still answers the clients connected to it, then the process stops and starts again.
        const leader = s?.leader ?? -1;
        if (leader < 0) continue;
        const proc = procs.get(leader)!;
        const plane = proc.plane;
        if (plane === null) continue;
        stats.controlledShutdowns++;
        sim.trace(`controlled shutdown of broker ${leader} (the partition leader)`);
        const incarnation = proc.incarnation;
        const moved = await plane.controlledShutdown({ maxRetries: 2, retryBackoffMs: 300 }).catch(() => false);
        if (proc.incarnation === incarnation) crash(leader, false, `stopped after its controlled shutdown (${moved ? "leaderships moved" : "not all moved"})`);
      }
      else if (roll === 1) {
        if (s === null || s.isr.length < NODES.length) continue; // a power cut only while every replica is in sync
        crash(victim, true, "power cut");
      } else {
        stats.partitions++;
        sim.trace(`partition: broker ${victim} cut off`);
        isolated.add(victim);
        etcd.isolate(victim);
        for (const w of wires.values()) w.cutNode(victim);
        await sleep(300 + sim.int(1200), "partition lasts");
        isolated.clear();
        etcd.heal();
        sim.trace("partition healed");
      }
    }
  };

  const fail = (e: unknown) => violations.push(`a simulated client threw: ${(e as Error)?.stack ?? e}`);
  let cleaning: CleaningWorkload | null = null;
  /** The cleaning workload's client: Produce and DeleteRecords go to the topic's leader (found with Metadata), the rest anywhere. */
  const cleaningClient = (name: string) => {
    const call = client(name);
    const leaders = new Map<string, number>();
    return async <T = any>(apiKey: number, version: number, body: any): Promise<T | null> => {
      const topic: string | undefined = apiKey === 0 ? body.topicData?.[0]?.name : apiKey === 21 ? body.topics?.[0]?.name : undefined;
      let node = NODES[sim.int(NODES.length)];
      if (topic !== undefined) {
        let l = leaders.get(topic) ?? -1;
        if (l < 0) {
          const md = await call(node, 3, 12, { topics: [{ name: topic }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
          l = md?.topics?.[0]?.partitions?.[0]?.leaderId ?? -1;
          if (l < 0) return null;
          leaders.set(topic, l);
        }
        node = l;
      }
      const res = await call<any>(node, apiKey, version, body);
      const code = apiKey === 0 ? res?.responses?.[0]?.partitionResponses?.[0]?.errorCode : apiKey === 21 ? res?.topics?.[0]?.partitions?.[0]?.errorCode : 0;
      if (topic !== undefined && (res === null || code !== ErrorCode.NONE)) leaders.delete(topic);
      return res as T | null;
    };
  };
  const partitionAt = (node: number, topic: string): Partition | undefined => (up.get(node) ? (procs.get(node)!.broker?.topicsByName.get(topic)?.partitions[0] as Partition | undefined) : undefined);
  /** The cleaning topic's partition at the leader the cluster metadata names, if that broker is up and leads it in that epoch. */
  const cleaningLeaderPartition = (topic: string): Partition | undefined => {
    const text = etcd.peek(`/runnel/partitions/${topic}/0`);
    if (text === null) return undefined;
    const st = JSON.parse(text) as StoredState;
    const p = st.leader >= 0 ? partitionAt(st.leader, topic) : undefined;
    return p !== undefined && p.isLeader && p.leaderEpoch === st.leaderEpoch ? p : undefined;
  };
  /**
   * Whether a cleaning topic has a leader, a full ISR, equal log ends and high watermarks on every replica, and every
   * follower's log start offset at or past the leader's (Kafka's follower takes the leader's from each fetch answer).
   */
  const cleaningSettled = (topic: string): boolean => {
    const leader = cleaningLeaderPartition(topic);
    const st = JSON.parse(etcd.peek(`/runnel/partitions/${topic}/0`) ?? "null") as StoredState | null;
    if (leader === undefined || st === null || st.isr.length !== NODES.length) return false;
    return NODES.every((n) => {
      const p = partitionAt(n, topic);
      return p !== undefined && p.logEndOffset === leader.logEndOffset && p.highWatermark === leader.logEndOffset && p.log.logStartOffset >= leader.log.logStartOffset;
    });
  };
  /** Each cleaning topic's state for a report: the metadata's, then each replica's log start, high watermark and log end. */
  const cleaningState = (): string =>
    CLEANING_TOPIC_NAMES.map((topic) => `${topic}: ${etcd.peek(`/runnel/partitions/${topic}/0`)}, ${NODES.map((n) => {
      const p = partitionAt(n, topic);
      return p === undefined ? `${n} down` : `${n} [${p.log.logStartOffset}, ${p.highWatermark}, ${p.logEndOffset}]`;
    }).join(" ")}`).join("; ");
  try {
    for (const n of NODES) boot(n);
    void createTopic().catch(fail);
    void producer(0).catch(fail);
    if (opts.pipelined) {
      const metadata = client("pipelined-metadata");
      void runPipelinedProducer({ sim, index: 1, topic: TOPIC, wireOf: (n) => wires.get(PORT_BASE + n)!, leaderOf: () => leaderOf(metadata), sleep, running: () => sim.nowMs < durationMs, records: pipelinedRecords, stats, leads: (n) => { const p = procs.get(n)!.broker?.topicsByName.get(TOPIC)?.partitions[0] as Partition | undefined; return p !== undefined && p.isLeader && !p.log.isOffline; }, violations })
        .then(() => void producersDone++)
        .catch(fail);
    } else void producer(1).catch(fail);
    void consumer().catch(fail);
    if (opts.transactions) void transactional().catch(fail);
    if (opts.groups) {
      void member(0).catch(fail);
      void member(1).catch(fail);
    }
    void faults().catch(fail);
    if (opts.cleaning) {
      cleaning = new CleaningWorkload({ sim, disk: procs.get(1)!.disk, violations, durationMs, sleep, client: cleaningClient, broker: () => null, up: () => NODES.some((n) => up.get(n)), replicas: NODES.length, leaderPartition: cleaningLeaderPartition, registrationOf: (node) => etcd.peekCreateRevision(`/runnel/brokers/${node}`) });
      cleaning.start(fail);
    }
    await sim.run(durationMs, () => violations.length > 20);
    // Settle: no more faults; every broker up, one leader, a full ISR, equal log ends and high watermarks.
    isolated.clear();
    etcd.heal();
    let settled = false;
    let stuck = false;
    /** Since when (simulated ms) each "topic/replica" has had its log end below its leader's log start offset. */
    const belowLeaderStart = new Map<string, number>();
    /** Cleaning: a follower whose log end stays below the leader's log start offset for 5 s never catches up (it must restart its log there). */
    const checkStuckBelowLeaderStart = (): void => {
      for (const topic of CLEANING_TOPIC_NAMES) {
        const leader = cleaningLeaderPartition(topic);
        for (const n of NODES) {
          const p = partitionAt(n, topic);
          const key = `${topic}/${n}`;
          if (leader === undefined || p === undefined || p === leader || p.logEndOffset >= leader.log.logStartOffset) {
            belowLeaderStart.delete(key);
            continue;
          }
          const since = belowLeaderStart.get(key) ?? sim.nowMs;
          belowLeaderStart.set(key, since);
          if (sim.nowMs - since >= STUCK_BELOW_LEADER_START_MS && !stuck) {
            stuck = true;
            violations.push(`${topic}-0: replica ${n}'s log end offset ${p.logEndOffset} stayed below the leader's log start offset ${leader.log.logStartOffset} for ${STUCK_BELOW_LEADER_START_MS} ms after the faults stopped (a follower must restart its log at the leader's log start)`);
          }
        }
      }
    };
    const settle = async (): Promise<void> => {
      for (;;) {
        await sleep(100, "settle check");
        if (opts.cleaning) checkStuckBelowLeaderStart();
        for (const n of NODES) if (!up.get(n) && procs.get(n)!.broker === null) continue;
        const s = stored();
        if (s === null || s.leader < 0 || s.isr.length !== NODES.length || producersDone < 2 || !txnDone || !groupsDone || NODES.some((n) => !up.get(n))) continue;
        const parts = NODES.map((n) => procs.get(n)!.broker?.topicsByName.get(TOPIC)?.partitions[0] as Partition | undefined);
        if (parts.some((p) => p === undefined)) continue;
        const leader = parts[NODES.indexOf(s.leader)]!;
        if (!leader.isLeader || parts.some((p) => p!.logEndOffset !== leader.logEndOffset || p!.highWatermark !== leader.highWatermark || leader.highWatermark !== leader.logEndOffset)) continue;
        // The coordinator writes transaction markers after it answers EndTxn (retrying while the leader is away):
        // wait for them, up to the settle bound, rather than checking a moment after a commit was answered.
        if (leader.lastStableOffset !== leader.highWatermark && sim.nowMs < durationMs + 20_000) continue;
        if (opts.cleaning && !CLEANING_TOPIC_NAMES.every(cleaningSettled)) continue;
        settled = true;
        return;
      }
    };
    void settle().catch(fail);
    await sim.run(durationMs + 30_000, () => settled || stuck || violations.length > 20);
    if (!settled && !stuck) {
      const s = stored();
      violations.push(`the cluster did not settle (leader, full ISR, equal logs) within 30 s of simulated time after the faults stopped: ${JSON.stringify(s)}, up ${NODES.filter((n) => up.get(n))}${opts.cleaning ? `; cleaning topics (replica [log start, high watermark, log end]): ${cleaningState()}` : ""}`);
    } else if (settled) {
      finalChecks();
      if (cleaning !== null) {
        const replicasOf = (topic: string) => NODES.map((node) => ({ node, part: procs.get(node)!.broker!.topicsByName.get(topic)!.partitions[0] as Partition }));
        let done = false;
        const deleted = cleaning.finalDeleteRecords(replicasOf).finally(() => (done = true));
        await sim.run(sim.nowMs + 30_000, () => done);
        if (done) await deleted;
        else violations.push("the final DeleteRecords did not end within 30 s of simulated time");
        cleaning.checkReplicas(replicasOf);
      }
      if (opts.groups) await finalOffsetFetch();
    }
  } finally {
    for (const r of restore) r();
  }

  /** The committed offset once the faults stopped, through FindCoordinator and OffsetFetch. */
  async function finalOffsetFetch(): Promise<void> {
    const toCoordinator = groupCoordinator(client("final"), "final check");
    for (let attempt = 0; attempt < 50; attempt++) {
      let done = false;
      const p = offsetFetch(toCoordinator, "final check").then((r) => {
        done = true;
        return r;
      });
      await sim.run(sim.nowMs + 3000, () => done);
      if ((await p) !== null) return;
      await sim.run(sim.nowMs + 100);
    }
    violations.push("OffsetFetch never succeeded after the faults stopped");
  }

  function finalChecks(): void {
    const s = stored()!;
    const parts = new Map(NODES.map((n) => [n, procs.get(n)!.broker!.topicsByName.get(TOPIC)!.partitions[0] as Partition]));
    const leader = parts.get(s.leader)!;
    const all = readWholeLog(leader);
    if (all === null) {
      violations.push("the leader's log has a batch that fails its CRC");
      return;
    }
    violations.push(...checkAcknowledged(acked, all));
    violations.push(...checkPipelinedProducer(pipelinedRecords, all, "pipelined producer 1"));
    violations.push(...checkReadRecordsStay(seen, all));
    if (leader.lastStableOffset !== leader.highWatermark) violations.push(`a transaction is still open after the faults stopped and its timeout passed (last stable offset ${leader.lastStableOffset}, high watermark ${leader.highWatermark})`);
    const visibleNow = readCommittedView(all.filter((r) => r.offset < leader.lastStableOffset), leader.abortedTxns.collect(0n, leader.lastStableOffset));
    violations.push(...checkReadCommitted(visibleNow, leader.lastStableOffset, abortedValues, "final read_committed"));
    const visibleValues = new Set(visibleNow.map((r) => r.value));
    const missing = committedTxnValues.find((v) => !visibleValues.has(v));
    if (missing !== undefined) violations.push(`${missing} of a committed transaction is not visible to read_committed`);
    const late = readCommittedSeen.find((r) => abortedValues.has(r.value));
    if (late !== undefined) violations.push(`a read_committed consumer saw ${late.value} at ${late.offset}, a record of a transaction aborted later`);
    const bytes = (p: Partition) => Buffer.concat(readChunks(p, p.highWatermark));
    const ref = bytes(leader);
    for (const [n, p] of parts) if (p !== leader) violations.push(...checkReplicasAgree(ref, bytes(p), `the high watermark ${leader.highWatermark} (leader ${s.leader}, replica ${n})`));
    // Equal logs make equal derived state: the aborted transactions (read_committed's list, whichever replica
    // leads next) and the producer states (sequence checks, whichever replica leads next).
    const derived = (p: Partition) => ({
      aborted: p.abortedTxns.entries().map((a) => `${a.producerId} ${a.firstOffset}-${a.lastOffset} lso ${a.lastStableOffset}`).join("; "),
      producers: p.producers.entries().map((e) => `${e.producerId}/${e.epoch} seq ${e.lastSequence} at ${e.lastOffset} (delta ${e.offsetDelta}) txn ${e.currentTxnFirstOffset ?? -1n}`).sort().join("; "),
    });
    const mine = derived(leader);
    for (const [n, p] of parts) {
      if (p === leader) continue;
      const theirs = derived(p);
      if (theirs.aborted !== mine.aborted) violations.push(`replicas differ in their aborted transactions: leader ${s.leader} has ${mine.aborted}, replica ${n} has ${theirs.aborted}`);
      if (theirs.producers !== mine.producers) violations.push(`replicas differ in their producer states: leader ${s.leader} has ${mine.producers}, replica ${n} has ${theirs.producers}`);
    }
  }

  return { seed, violations, traceHash: sim.traceHash, simulatedMs: sim.nowMs, stats: { ...stats, ...etcd.stats, ...(cleaning?.stats ?? {}), steps: sim.steps } };
}

/**
 * The planted bug of 79c0d19 on every Partition: leadership is checked only inside appendAsLeader, after Produce's
 * appendValidated has judged the batch's sequence by the producer state (the cluster simulation sends no
 * ListOffsets, the other caller of checkLeader).
 */
function plantSequenceCheckBeforeLeadership(): () => void {
  const proto = Partition.prototype as unknown as { checkLeader(this: Partition): void; appendAsLeader(this: Partition, ...args: unknown[]): unknown };
  const [checkLeader, appendAsLeader] = [proto.checkLeader, proto.appendAsLeader];
  let appending = 0;
  proto.checkLeader = function () {
    if (appending > 0) checkLeader.call(this);
  };
  proto.appendAsLeader = function (...args: unknown[]) {
    appending++;
    try {
      return appendAsLeader.apply(this, args);
    } finally {
      appending--;
    }
  };
  return () => {
    [proto.checkLeader, proto.appendAsLeader] = [checkLeader, appendAsLeader];
  };
}

/**
 * The planted bug on every Partition: the leader moves the high watermark to its log end without waiting for the
 * ISR (every in-sync follower counts as having the whole log), so acks=all is answered before any follower has
 * the records.
 */
function plantHighWatermarkBug(): () => void {
  type Follower = { logEndOffset: bigint; lastCaughtUpMs: number; brokerEpoch: bigint };
  const proto = Partition.prototype as unknown as { maybeAdvanceHighWatermark(this: Partition): void };
  const real = proto.maybeAdvanceHighWatermark;
  proto.maybeAdvanceHighWatermark = function () {
    const self = this as unknown as { followers: Map<number, Follower>; roles: { isr: number[] }; deps: { localBrokerId: number } };
    for (const id of self.roles.isr) {
      if (id === self.deps.localBrokerId) continue;
      const f = self.followers.get(id);
      self.followers.set(id, { logEndOffset: this.logEndOffset, lastCaughtUpMs: f?.lastCaughtUpMs ?? -1, brokerEpoch: f?.brokerEpoch ?? -1n });
    }
    real.call(this);
  };
  return () => {
    proto.maybeAdvanceHighWatermark = real;
  };
}
