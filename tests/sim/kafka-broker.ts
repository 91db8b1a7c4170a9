/**
 * Simulation (c): one real broker (`Broker.start`: LogManager, handlers, the group coordinator on
 * `__consumer_offsets`, the transaction coordinator on `__transaction_state`) on a {@link SimDisk}, reached only
 * through Kafka frames over a {@link SimWire}: clients encode requests with the generated codecs and the broker's
 * connection layer, handlers and encoders answer them. Power cuts (unsynced writes lost or torn) and process kills
 * hit at seeded moments; the broker then restarts through its whole start-up. A fifth of the faults are clean stops
 * (`Broker.stop`: producer snapshots, final checkpoints and the clean-shutdown marker; the next start trusts them),
 * two in five of them with a power cut at a seeded disk call of the stop (or, when the stop makes fewer, while the
 * machine is down after it). After each clean stop that left the clean-shutdown marker, before the start that
 * trusts it, a clean start and a full recovery run on copies of the disk and must agree (clean-start-check.ts).
 *
 * Clients:
 * - an idempotent producer (InitProducerId, acks=all, retries with its sequence; a new producer id after
 *   OUT_OF_ORDER_SEQUENCE_NUMBER or UNKNOWN_PRODUCER_ID) and a plain one (acks 0, 1 and all); with `pipelined`
 *   also one that pipelines up to five batches and bumps its epoch as librdkafka does (pipelined-producer.ts);
 * - a transactional producer (FindCoordinator, InitProducerId, AddPartitionsToTxn, Produce, EndTxn commit or
 *   abort; on a failure mid-transaction it aborts, or re-initialises, as Kafka's producer does);
 * - a consumer group of classic members (JoinGroup with MEMBER_ID_REQUIRED, SyncGroup with the leader's range-like
 *   assignment, Heartbeat, OffsetFetch, Fetch (one member read_committed, one read_uncommitted), OffsetCommit), a
 *   member now and then forgetting everything as a crashed consumer would.
 *
 * Checkers: every acks=all record (and every record of an acknowledged transaction commit) is in the log at its
 * offset, in order, an idempotent one once; no consumer reads at or past the high watermark, none with
 * read_committed at or past the last stable offset; no record of an aborted transaction is visible to
 * read_committed; committed offsets never go backwards: every OffsetFetch (after any number of crashes) answers the
 * last acknowledged commit of that partition or a commit sent after it; and once the faults stop, every
 * transaction is completed (the last stable offset reaches the high watermark) and every committed transactional
 * record is visible to read_committed.
 *
 * With `cleaning` (replay flag `--cleaning`) the log cleaner, retention and DeleteRecords run too, with power cuts
 * at seeded disk calls of cleaner swaps, segment deletions and checkpoint writes, and their own checkers
 * (cleaning-workload.ts: what the invariants are and why).
 */
import { ErrorCode } from "../../src/protocol/errors.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { initCompression } from "../../src/compression/index.ts";
import { Writer } from "../../src/protocol/wire.ts";
import { writeConsumerProtocolSubscription } from "../../src/protocol/generated/data_consumer_protocol_subscription.ts";
import { assignedPartitionsOf, encodeConsumerAssignment } from "../../src/group/consumer-protocol.ts";
import { joinAndSync, type GroupJoinSetup, type MemberIdentity } from "./group-join.ts";
import type { Broker } from "../../src/broker/broker.ts";
import type { Partition } from "../../src/partition/partition.ts";
import { Sim } from "./scheduler.ts";
import { SimDisk } from "./sim-disk.ts";
import { Disconnected, SimWire, SimKafkaConnection } from "./sim-wire.ts";
import { SimBrokerProcess } from "./sim-broker.ts";
import { buildBatch, decodeBatches, type ReadRecord } from "./records.ts";
import { checkAcknowledged, checkCommittedOffset, checkReadBelowHighWatermark, checkReadCommitted, readCommittedView, type AckedRecord, type OffsetCommitAttempt } from "./checkers.ts";
import { readWholeLog, type SimResult } from "./single-broker.ts";
import { plantCleanMarkerBeforeFlush, plantCleanStopSkipsTxnIndexSync, plantSnapshotPastLogEndLoaded } from "./planted-clean-stop-bugs.ts";
import { checkPipelinedProducer, runPipelinedProducer, type PipelinedRecord } from "./pipelined-producer.ts";
import { CLEANING_BROKER_SETTINGS, CleaningWorkload, cleaningPath, isCleaningTopicPartition } from "./cleaning-workload.ts";
import { plantCleanedSegmentNotSynced, plantCleanerIgnoresAbortedTxns, plantCleanStopSkipsCheckpoints, plantSwapKeepsLaterOldSegments, plantSwapRetiresOldBeforeCommit, plantSwapSkipsDirSyncs } from "./planted-cleaner-bugs.ts";
import { compareCleanStartWithFullRecovery, hasCleanShutdownMarker } from "./clean-start-check.ts";

/** Knobs of one run. */
export interface KafkaBrokerOptions {
  /** Simulated ms of workload. */
  durationMs?: number;
  /** PLANTED BUG: the group coordinator answers OffsetCommit before its record is durable. */
  plantOffsetCommitBeforeDurable?: boolean;
  /** PLANTED BUG: a partition forgets its aborted transactions (read_committed Fetch gets no aborted list). */
  plantForgetAbortedTransactions?: boolean;
  /** PLANTED BUG: the last stable offset ignores open transactions (read_committed reads up to the high watermark). */
  plantLsoIgnoresOpenTransactions?: boolean;
  /** Run the broker with `runnel.log.flush.rounds=true` (broker-wide flush rounds). */
  flushRounds?: boolean;
  /** Run the broker with `log.preallocate=true` (zero-filled space ahead of active segments). */
  preallocate?: boolean;
  /** Run the broker with `runnel.log.flush.overlapping` set to this (overlapping fdatasyncs per partition). */
  flushOverlapping?: number;
  /** Run the broker with zeros appended ahead of every append (`runnel.log.pretouch.*`, no pause after flushes). */
  pretouch?: boolean;
  /** PLANTED BUG (with `pretouch`): zero appends land where the file ended when they were asked for. */
  plantZerosAtAskedEnd?: boolean;
  /** PLANTED BUG: a clean stop's snapshot is written without syncing the aborted-transaction index (planted-clean-stop-bugs.ts). */
  plantCleanStopSkipsTxnIndexSync?: boolean;
  /** PLANTED BUG: a producer snapshot past the recovered log end is loaded (planted-clean-stop-bugs.ts). */
  plantSnapshotPastLogEndLoaded?: boolean;
  /** PLANTED BUG: the clean-shutdown marker is written before the logs are flushed (planted-clean-stop-bugs.ts). */
  plantCleanMarkerBeforeFlush?: boolean;
  /** `log.roll.ms` for the run (segments roll this often, so sealed segments can be unsynced at a stop). */
  rollMs?: number;
  /** Also run a producer that pipelines up to five batches to partition 0 as librdkafka does (pipelined-producer.ts). */
  pipelined?: boolean;
  /**
   * Also run the cleaning workload (cleaning-workload.ts): compacted, compact+delete and delete topics with rolling
   * segments, the cleaner, retention and DeleteRecords, power cuts at seeded cleaner/deletion/checkpoint disk calls.
   */
  cleaning?: boolean;
  /** PLANTED BUG (with `cleaning`): a cleaned segment is swapped in without being made durable (planted-cleaner-bugs.ts). */
  plantCleanedSegmentNotSynced?: boolean;
  /** PLANTED BUG (with `cleaning`): the swap retires the old segments before its commit point (planted-cleaner-bugs.ts). */
  plantSwapRetiresOldBeforeCommit?: boolean;
  /** PLANTED BUG (with `cleaning`): the swap leaves the later old segments on disk (planted-cleaner-bugs.ts). */
  plantSwapKeepsLaterOldSegments?: boolean;
  /** PLANTED BUG (with `cleaning`): the swap's directory fsyncs do nothing (planted-cleaner-bugs.ts). */
  plantSwapSkipsDirSyncs?: boolean;
  /** PLANTED BUG (with `cleaning`): the cleaner is told of no aborted transactions (planted-cleaner-bugs.ts). */
  plantCleanerIgnoresAbortedTxns?: boolean;
  /** PLANTED BUG (with `cleaning`): the clean stop writes no final checkpoints (planted-cleaner-bugs.ts). */
  plantCleanStopSkipsCheckpoints?: boolean;
  /**
   * The disk keeps namespace operations pending until a directory fsync commits them (sim-disk.ts header); on unless
   * false (false: every create, rename and remove durable at once, the model before 2026-12-06).
   */
  unsyncedDirs?: boolean;
  /** With `unsyncedDirs`: one journal per directory instead of one ordered journal (sim-disk.ts, stricter). */
  journalPerDirectory?: boolean;
  /** PLANTED BUG (with `unsyncedDirs`): writeFileAtomic skips its directory fsync. */
  plantAtomicWriteSkipsDirSync?: boolean;
  /** Print the trace as it runs. */
  verbose?: boolean;
}

const TOPIC = "sim";
const PARTITIONS = 2;
const GROUP = "sim-group";
const TXN_ID = "sim-txn";
const SESSION_TIMEOUT_MS = 1500;
const TXN_TIMEOUT_MS = 1500;

// API versions the clients speak (topic names, not ids).
const V = { produce: 9, fetch: 12, offsetCommit: 8, offsetFetch: 8, findCoordinator: 4, joinGroup: 7, heartbeat: 4, syncGroup: 5, createTopics: 7, initProducerId: 4, addPartitionsToTxn: 3, endTxn: 3 };

const RETRIABLE_COORDINATOR = new Set<number>([ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.NOT_COORDINATOR, ErrorCode.CONCURRENT_TRANSACTIONS]);

/** A classic consumer's JoinGroup metadata subscribing to `topic`. */
export function subscription(topic = TOPIC): Uint8Array {
  const w = new Writer(64);
  w.int16(0);
  writeConsumerProtocolSubscription(w, 0, { topics: [topic], userData: null } as never);
  return w.finishContiguous().slice();
}

/** Runs simulation (c) for `seed`. */
export async function runKafkaBroker(seed: number, opts: KafkaBrokerOptions = {}): Promise<SimResult> {
  // Real asynchronous start-up work (WASM codecs) happens once, before the simulation, so it cannot race the clock.
  await Promise.all([initCrc32c(), initCompression()]);
  const sim = new Sim(seed);
  sim.verbose = opts.verbose === true;
  const durationMs = opts.durationMs ?? 4000;
  const violations: string[] = [];
  const stats = { corruptBatchesRejected: 0, produced: 0, ackedAll: 0, pipelinedAcked: 0, epochBumps: 0, retries: 0, fatalErrors: 0, crashes: 0, cleanStops: 0, cleanStartChecks: 0, powerCuts: 0, txnCommitted: 0, txnAborted: 0, txnUncertain: 0, commitsAcked: 0, offsetFetches: 0, rebalances: 0, consumed: 0, readCommitted: 0 };
  // Read errors while serving: an EIO takes the only log dir offline and the broker shuts down (KIP-112), then
  // restarts. No bit flips here: a flip in a batch header's base offset or length (outside the batch CRC, as in
  // Kafka's format) reaches the consumer undetected and also bends the broker's aborted-transaction range (seed 1152
  // with flips showed read_committed records of an aborted transaction); the single-broker run covers flips.
  const disk = new SimDisk(sim, { readErrorRate: sim.chance(0.5) ? 0.01 : 0, bitFlipRate: 0, tornWriteRate: 0.5, maxSyncLatencyMs: 1 + sim.int(15), zerosAtAskedEnd: opts.plantZerosAtAskedEnd, unsyncedNamespace: opts.unsyncedDirs ?? true, journalPerDirectory: opts.journalPerDirectory, atomicWriteSkipsDirSync: opts.plantAtomicWriteSkipsDirSync });
  const wire = new SimWire(sim, 1 + sim.int(8));
  const settings: Record<string, string> = {
    "node.id": "1",
    "log.dirs": "/data/b1",
    listeners: "PLAINTEXT://127.0.0.1:9092",
    "offsets.topic.num.partitions": "2",
    "transaction.state.log.num.partitions": "2",
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": "200",
    "group.initial.rebalance.delay.ms": "0",
    "group.min.session.timeout.ms": "100",
    ...(opts.flushRounds ? { "runnel.log.flush.rounds": "true" } : {}),
    ...(opts.rollMs !== undefined ? { "log.roll.ms": String(opts.rollMs) } : {}),
    ...(opts.preallocate ? { "log.preallocate": "true" } : {}),
    ...(opts.flushOverlapping !== undefined ? { "runnel.log.flush.overlapping": String(opts.flushOverlapping) } : {}),
    ...(opts.pretouch ? { "runnel.log.pretouch.bytes": "4096", "runnel.log.pretouch.min.append.bytes": "1", "runnel.log.pretouch.pause.ms": "0" } : {}),
    ...(opts.cleaning ? CLEANING_BROKER_SETTINGS : {}),
  };
  const restore: (() => void)[] = [];
  const proc = new SimBrokerProcess(sim, disk, wire, settings, (b) => {
    if (opts.plantOffsetCommitBeforeDurable) plantOffsetCommitBeforeDurable(b);
  });
  if (opts.plantForgetAbortedTransactions) restore.push(await plantForgetAbortedTransactions());
  if (opts.plantLsoIgnoresOpenTransactions) restore.push(await plantLsoIgnoresOpenTransactions());
  if (opts.plantCleanStopSkipsTxnIndexSync) restore.push(plantCleanStopSkipsTxnIndexSync());
  if (opts.plantSnapshotPastLogEndLoaded) restore.push(plantSnapshotPastLogEndLoaded());
  if (opts.plantCleanMarkerBeforeFlush) restore.push(plantCleanMarkerBeforeFlush());
  if (opts.plantCleanedSegmentNotSynced) restore.push(plantCleanedSegmentNotSynced());
  if (opts.plantSwapRetiresOldBeforeCommit) restore.push(plantSwapRetiresOldBeforeCommit());
  if (opts.plantCleanStopSkipsCheckpoints) restore.push(plantCleanStopSkipsCheckpoints());
  if (opts.plantSwapKeepsLaterOldSegments) restore.push(plantSwapKeepsLaterOldSegments());
  if (opts.plantSwapSkipsDirSyncs) restore.push(plantSwapSkipsDirSyncs());
  if (opts.plantCleanerIgnoresAbortedTxns) restore.push(plantCleanerIgnoresAbortedTxns());
  let up = false;
  let faultsOver = false;
  const sleep = (ms: number, label: string) => new Promise<void>((resolve) => sim.after(ms, label, resolve));

  proc.onExit = (reason) => crash(false, `the broker shut itself down: ${reason}`);
  let cleaning: CleaningWorkload | null = null;
  const boot = (): void => {
    cleaning?.beforeStart();
    const started = proc.start();
    const inc = proc.incarnation;
    started.then(
      () => {
        up = true;
        disk.readFaultsArmed = !faultsOver;
        sim.trace(`broker up (incarnation ${proc.incarnation})`);
        cleaning?.readAll("right after the start");
      },
      (e) => {
        // a power cut at a seeded disk call of the start (the cleaning faults) ends that process: not a failure
        if (proc.incarnation !== inc) return;
        if (!(e as Error).message.includes("died while starting")) violations.push(`the broker failed to start: ${(e as Error).message}`);
      },
    );
  };
  const crash = (powerCut: boolean, why: string): void => {
    if (!up) return;
    up = false;
    stats.crashes++;
    if (powerCut) stats.powerCuts++;
    sim.trace(`crash (${powerCut ? "power cut" : "process killed"}): ${why}`);
    proc.crash(powerCut);
    cleaning?.processEnded(false);
    sim.after(5 + sim.int(100), "restart", boot);
  };
  /** The power goes (or the process is killed) at an armed disk call: of the serving broker, or of one still starting (recovery). */
  const cutAtDiskCall = (why: string, powerCut: boolean): void => {
    if (up) return crash(powerCut, why);
    stats.crashes++;
    if (powerCut) stats.powerCuts++;
    sim.trace(`${powerCut ? "power cut" : "process killed"} while the broker starts: ${why}`);
    proc.crash(powerCut);
    cleaning?.processEnded(false);
    sim.after(5 + sim.int(100), "restart", boot);
  };

  /**
   * A clean stop (SIGTERM: `Broker.stop` writes producer snapshots, checkpoints and the clean-shutdown marker) and a
   * restart that trusts them; now and then the power goes while it stops (or while the machine is down after it).
   */
  const cleanStop = async (): Promise<void> => {
    if (!up) return;
    up = false;
    stats.cleanStops++;
    disk.armPowerCut(null); // a cleaning fault's cut still armed must not end the process under the stop
    const cut = sim.chance(0.4) ? 1 + sim.int(80) : null;
    sim.trace(`clean stop${cut === null ? "" : `, power cut at its disk call ${cut}`}`);
    disk.readFaultsArmed = false; // a read error now would take the log dir offline: a crash, which the other faults cover
    const outcome = await proc.stopCleanly(cut).catch((e) => {
      violations.push(`the clean stop failed: ${(e as Error)?.stack ?? e}`);
      return "failed" as const;
    });
    sim.trace(`clean stop ended: ${outcome}`);
    if (outcome === "failed") proc.crash(false);
    if (outcome === "power cut during stop" || outcome === "power cut after stop") stats.powerCuts++;
    cleaning?.processEnded(outcome === "stopped");
    if (hasCleanShutdownMarker(disk, settings["log.dirs"])) {
      // Before the start that trusts the marker: would a full recovery find the same? (clean-start-check.ts)
      stats.cleanStartChecks++;
      const differences = await compareCleanStartWithFullRecovery(sim, disk, settings, settings["log.dirs"], isCleaningTopicPartition);
      for (const d of differences) sim.trace(d);
      violations.push(...differences);
    }
    sim.after(5 + sim.int(100), "restart", boot);
  };

  /** A client's connection, redialled after the broker restarts; `call` answers null when there is no answer. */
  const client = (name: string) => {
    let conn: SimKafkaConnection | null = null;
    return async <T = any>(apiKey: number, version: number, body: unknown, noResponse = false): Promise<T | null> => {
      if (conn === null || conn.closed) conn = SimKafkaConnection.open(wire, name);
      if (conn === null) return null;
      try {
        return await conn.request<T>(apiKey, version, body, noResponse);
      } catch (e) {
        if (e instanceof Disconnected) return null;
        throw e;
      }
    };
  };

  // ---------------------------------------------------------------------------------------------------------------
  // Topic creation.
  let topicReady = false;
  const admin = client("admin");
  const createTopic = async (): Promise<void> => {
    while (!topicReady) {
      const res = await admin(19, V.createTopics, { topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000 });
      const code = res?.topics[0]?.errorCode;
      if (code === ErrorCode.NONE || code === ErrorCode.TOPIC_ALREADY_EXISTS) topicReady = true;
      else await sleep(20, "admin retry");
    }
  };
  const waitTopic = async (label: string): Promise<void> => {
    while (!topicReady) await sleep(20, label);
  };

  // ---------------------------------------------------------------------------------------------------------------
  // Producers.
  const acked: AckedRecord[][] = Array.from({ length: PARTITIONS }, () => []);
  const produce = (call: ReturnType<typeof client>, acks: number, partition: number, batch: Uint8Array, transactionalId: string | null = null) =>
    call(0, V.produce, { transactionalId, acks, timeoutMs: 1000, topicData: [{ name: TOPIC, partitionData: [{ index: partition, records: batch }] }] }, acks === 0);

  const idempotentProducer = async (): Promise<void> => {
    const call = client("idempotent");
    await waitTopic("idempotent producer");
    let pid = -1n;
    let epoch = 0;
    let seq = [0, 0];
    let counter = 0;
    let generation = 0;
    while (sim.nowMs < durationMs) {
      if (pid < 0n) {
        const res = await call(22, V.initProducerId, { transactionalId: null, transactionTimeoutMs: -1, producerId: -1n, producerEpoch: -1 });
        if (res === null || res.errorCode !== ErrorCode.NONE) {
          await sleep(20, "idempotent init retry");
          continue;
        }
        [pid, epoch, seq] = [res.producerId, res.producerEpoch, [0, 0]];
        generation++;
      }
      const partition = sim.int(PARTITIONS);
      let values = Array.from({ length: 1 + sim.int(3) }, () => `i${counter++}`);
      for (;;) {
        const res = await produce(call, -1, partition, buildBatch(values, sim.clock.nowMs(), { id: pid, epoch, seq: seq[partition] }));
        const r = res?.responses[0]?.partitionResponses[0];
        if (r === undefined) {
          await sleep(10 + sim.int(20), "idempotent retry");
          continue;
        }
        if (r.errorCode === ErrorCode.NONE) {
          values.forEach((value, i) => acked[partition].push({ producer: 0, idempotent: true, value, offset: r.baseOffset + BigInt(i) }));
          stats.ackedAll += values.length;
          stats.produced += values.length;
          seq[partition] += values.length;
          sim.trace(`idempotent ${values[0]} acked at ${partition}/${r.baseOffset}`);
          break;
        }
        if (r.errorCode === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER || r.errorCode === ErrorCode.UNKNOWN_PRODUCER_ID || r.errorCode === ErrorCode.INVALID_PRODUCER_EPOCH) {
          // The broker lost what this producer had sent unacknowledged: a new producer id, and the batch with new
          // values (the old ones may be in the log under the old id: idempotence holds within one producer id).
          pid = -1n;
          values = values.map((v) => `${v}~g${generation}`);
          break;
        }
        await sleep(10 + sim.int(20), "idempotent retry");
      }
      await sleep(1 + sim.int(10), "idempotent next");
    }
  };

  const plainProducer = async (): Promise<void> => {
    const call = client("plain");
    await waitTopic("plain producer");
    let counter = 0;
    while (sim.nowMs < durationMs) {
      const partition = sim.int(PARTITIONS);
      const acks = [0, 1, -1][sim.int(3)];
      const values = Array.from({ length: 1 + sim.int(3) }, () => `p${counter++}`);
      for (;;) {
        const res = await produce(call, acks, partition, buildBatch(values, sim.clock.nowMs(), null));
        if (acks === 0) break;
        const r = res?.responses[0]?.partitionResponses[0];
        if (r?.errorCode === ErrorCode.NONE) {
          if (acks === -1) {
            values.forEach((value, i) => acked[partition].push({ producer: 1, idempotent: false, value, offset: r.baseOffset + BigInt(i) }));
            stats.ackedAll += values.length;
            sim.trace(`plain ${values.join(",")} acked at ${partition}/${r.baseOffset}`);
          }
          break;
        }
        await sleep(10 + sim.int(20), "plain retry");
      }
      stats.produced += values.length;
      await sleep(1 + sim.int(10), "plain next");
    }
  };

  // Transactions: values of definitely aborted transactions, and of transactions whose outcome the client never learnt.
  const abortedValues = new Set<string>();
  const uncertainValues = new Set<string>();
  const committedTxnValues: { partition: number; value: string; offset: bigint }[] = [];
  let txnDone = false;
  const transactionalProducer = async (): Promise<void> => {
    const call = client("transactional");
    await waitTopic("transactional producer");
    let pid = -1n;
    let epoch = 0;
    let txnNo = 0;
    let seq = [0, 0]; // sequences run on across transactions of one producer epoch
    const init = async (): Promise<void> => {
      for (;;) {
        const fc = await call(10, V.findCoordinator, { keyType: 1, coordinatorKeys: [TXN_ID] });
        const c = fc?.coordinators?.[0];
        if (c === undefined || c.errorCode !== ErrorCode.NONE) {
          await sleep(20, "txn find coordinator retry");
          continue;
        }
        const res = await call(22, V.initProducerId, { transactionalId: TXN_ID, transactionTimeoutMs: TXN_TIMEOUT_MS, producerId: -1n, producerEpoch: -1 });
        if (res !== null && res.errorCode === ErrorCode.NONE) {
          [pid, epoch, seq] = [res.producerId, res.producerEpoch, [0, 0]];
          sim.trace(`txn producer ${pid}/${epoch}`);
          return;
        }
        await sleep(20 + sim.int(30), "txn init retry");
      }
    };
    /** Ends the open transaction; true when the coordinator answered success. */
    const endTxn = async (commit: boolean): Promise<"ok" | "fenced" | "failed"> => {
      for (let attempt = 0; attempt < 20; attempt++) {
        const res = await call(26, V.endTxn, { transactionalId: TXN_ID, producerId: pid, producerEpoch: epoch, committed: commit });
        if (res !== null && res.errorCode === ErrorCode.NONE) return "ok";
        if (res !== null && (res.errorCode === ErrorCode.INVALID_PRODUCER_EPOCH || res.errorCode === ErrorCode.PRODUCER_FENCED || res.errorCode === ErrorCode.INVALID_TXN_STATE)) return "fenced";
        await sleep(20 + sim.int(30), "end txn retry");
      }
      return "failed";
    };
    await init();
    while (sim.nowMs < durationMs) {
      txnNo++;
      const written: { partition: number; value: string; offset: bigint | null }[] = [];
      const partitions = sim.chance(0.5) ? [0, 1] : [sim.int(PARTITIONS)];
      let ok = false;
      for (let attempt = 0; attempt < 10 && !ok; attempt++) {
        const res = await call(24, V.addPartitionsToTxn, { v3AndBelowTransactionalId: TXN_ID, v3AndBelowProducerId: pid, v3AndBelowProducerEpoch: epoch, v3AndBelowTopics: [{ name: TOPIC, partitions }] });
        const codes = res?.resultsByTopicV3AndBelow?.[0]?.resultsByPartition.map((p: { partitionErrorCode: number }) => p.partitionErrorCode) ?? [-1];
        if (codes.every((c: number) => c === ErrorCode.NONE)) ok = true;
        else if (codes.some((c: number) => c === ErrorCode.INVALID_PRODUCER_EPOCH || c === ErrorCode.PRODUCER_FENCED || c === ErrorCode.INVALID_TXN_STATE)) break;
        else await sleep(20 + sim.int(30), "add partitions retry");
      }
      let failed = !ok;
      const batches = 1 + sim.int(3);
      for (let i = 0; i < batches && !failed; i++) {
        const partition = partitions[sim.int(partitions.length)];
        const values = Array.from({ length: 1 + sim.int(2) }, (_, k) => `t${txnNo}-${written.length + k}`);
        const entries = values.map((value) => ({ partition, value, offset: null as bigint | null }));
        written.push(...entries);
        let done = false;
        for (let attempt = 0; attempt < 10 && !done && !failed; attempt++) {
          const res = await produce(call, -1, partition, buildBatch(values, sim.clock.nowMs(), { id: pid, epoch, seq: seq[partition], transactional: true }), TXN_ID);
          const r = res?.responses[0]?.partitionResponses[0];
          if (r?.errorCode === ErrorCode.NONE) {
            entries.forEach((e, k) => (e.offset = r.baseOffset + BigInt(k)));
            seq[partition] += values.length;
            done = true;
          } else if (r !== undefined && r.errorCode !== ErrorCode.NOT_LEADER_OR_FOLLOWER && r.errorCode !== ErrorCode.KAFKA_STORAGE_ERROR && r.errorCode !== ErrorCode.REQUEST_TIMED_OUT) failed = true;
          else await sleep(10 + sim.int(20), "txn produce retry");
        }
        if (!done) failed = true;
      }
      const commit = !failed && sim.chance(0.6);
      const outcome = await endTxn(commit);
      if (commit && outcome === "ok") {
        stats.txnCommitted++;
        for (const w of written) {
          acked[w.partition].push({ producer: 100, idempotent: true, value: w.value, offset: w.offset! });
          committedTxnValues.push({ partition: w.partition, value: w.value, offset: w.offset! });
        }
        sim.trace(`txn ${txnNo} committed`);
      } else if (!commit && outcome !== "failed") {
        // An abort answered, or the coordinator had fenced this epoch (it aborted the transaction itself).
        stats.txnAborted++;
        for (const w of written) abortedValues.add(w.value);
        sim.trace(`txn ${txnNo} aborted`);
      } else if (!commit) {
        // Never asked to commit: re-initialising fences and aborts it.
        stats.txnAborted++;
        for (const w of written) abortedValues.add(w.value);
        sim.trace(`txn ${txnNo} abandoned, re-initialising`);
      } else {
        // A commit whose outcome the client cannot know (no answer, or fenced after asking).
        stats.txnUncertain++;
        for (const w of written) uncertainValues.add(w.value);
        sim.trace(`txn ${txnNo} commit outcome unknown (${outcome})`);
      }
      // A batch whose outcome the producer does not know (its answer lost, or refused after a retry) may be in the log
      // with the sequence this producer would send next: as Kafka's producer does (KIP-360), it bumps its epoch, which
      // starts the sequences again, before another transaction; a same-epoch batch at a reused sequence is a duplicate
      // to the broker (answered with the first copy's offset, as Kafka answers it).
      if (outcome !== "ok" || failed) await init();
      await sleep(1 + sim.int(20), "txn next");
    }
    txnDone = true;
  };

  // ---------------------------------------------------------------------------------------------------------------
  // Consumer group members and the committed offsets they make.
  const commits: OffsetCommitAttempt[][] = Array.from({ length: PARTITIONS }, () => []);
  const commitInFlight = [false, false];
  const readCommittedSeen: ReadRecord[] = [];

  const offsetFetch = async (call: ReturnType<typeof client>, partitions: number[], who: string): Promise<Map<number, bigint> | null> => {
    const before = partitions.map((p) => commits[p].length);
    const lastAcked = partitions.map((p) => commits[p].findLastIndex((c) => c.acked));
    const res = await call(9, V.offsetFetch, { groups: [{ groupId: GROUP, topics: [{ name: TOPIC, partitionIndexes: partitions }] }], requireStable: true });
    const g = res?.groups?.[0];
    if (g === undefined || g.errorCode !== ErrorCode.NONE) return null;
    const out = new Map<number, bigint>();
    for (const t of g.topics) {
      for (const p of t.partitions) {
        if (p.errorCode !== ErrorCode.NONE) return null;
        const i = partitions.indexOf(p.partitionIndex);
        stats.offsetFetches++;
        violations.push(...checkCommittedOffset(commits[p.partitionIndex], lastAcked[i], p.committedOffset, `${who}: OffsetFetch of ${TOPIC}-${p.partitionIndex} at ${sim.nowMs} ms (${before[i]} commits sent before)`));
        out.set(p.partitionIndex, p.committedOffset);
      }
    }
    return out;
  };

  const member = async (index: number): Promise<void> => {
    const name = `member-${index}`;
    const readCommitted = index === 0;
    let call = client(name);
    await waitTopic(name);
    const me: MemberIdentity = { memberId: "" };
    const setup: GroupJoinSetup = {
      sim,
      name,
      group: GROUP,
      sessionTimeoutMs: SESSION_TIMEOUT_MS,
      metadata: subscription(),
      join: (body) => call(11, V.joinGroup, body),
      sync: (body) => call(14, V.syncGroup, body),
      sleep,
      assign: (ids) => ids.map((_, k) => encodeConsumerAssignment([{ topic: TOPIC, partitions: Array.from({ length: PARTITIONS }, (_, p) => p).filter((p) => p % ids.length === k) }])),
      joinRetry: { base: 20, spread: 30 },
      syncRetry: { base: 10, spread: 20 },
      traceJoinErrors: false,
      onJoined: () => void stats.rebalances++,
    };
    while (sim.nowMs < durationMs) {
      const joined = await joinAndSync(setup, me);
      if (joined === null) continue;
      const generation = joined.generation;
      const mine = (assignedPartitionsOf(joined.assignment) ?? []).flatMap((t) => t.partitions);
      sim.trace(`${name} generation ${generation} owns [${mine}]`);
      const committed = mine.length === 0 ? new Map<number, bigint>() : await offsetFetch(call, mine, name);
      if (committed === null) continue;
      const position = new Map(mine.map((p) => [p, committed.get(p)! < 0n ? 0n : committed.get(p)!]));
      let lastHeartbeat = sim.nowMs;
      let lastCommit = sim.nowMs;
      // Consume until a rebalance, a lost coordinator or this member's own crash.
      for (;;) {
        if (sim.nowMs >= durationMs) return;
        if (sim.chance(0.002)) {
          // The consumer process dies: it forgets its member id and assignment; the group fences it after its session.
          sim.trace(`${name} consumer crashed`);
          me.memberId = "";
          call = client(`${name}-again`);
          await sleep(SESSION_TIMEOUT_MS / 2, `${name} restart`);
          break;
        }
        if (sim.nowMs - lastHeartbeat >= 100) {
          const hb = await call(12, V.heartbeat, { groupId: GROUP, generationId: generation, memberId: me.memberId, groupInstanceId: null });
          if (hb === null) break;
          lastHeartbeat = sim.nowMs;
          if (hb.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) me.memberId = "";
          if (hb.errorCode !== ErrorCode.NONE) break;
        }
        if (mine.length > 0) {
          const ok = await fetchOnce(call, position, readCommitted, name);
          if (!ok) break;
        }
        if (mine.length > 0 && sim.nowMs - lastCommit >= 50 + sim.int(100)) {
          lastCommit = sim.nowMs;
          const parts = mine.filter((p) => !commitInFlight[p]);
          if (parts.length > 0) {
            const attempts = parts.map((p) => {
              const a: OffsetCommitAttempt = { value: position.get(p)!, acked: false, who: name };
              commits[p].push(a);
              commitInFlight[p] = true;
              return a;
            });
            const res = await call(8, V.offsetCommit, {
              groupId: GROUP,
              generationIdOrMemberEpoch: generation,
              memberId: me.memberId,
              groupInstanceId: null,
              topics: [{ name: TOPIC, partitions: parts.map((p) => ({ partitionIndex: p, committedOffset: position.get(p)!, committedLeaderEpoch: -1, committedMetadata: "" })) }],
            });
            for (const p of parts) commitInFlight[p] = false;
            if (res === null) break;
            let stale = false;
            for (const r of res.topics[0].partitions) {
              const a = attempts[parts.indexOf(r.partitionIndex)];
              if (r.errorCode === ErrorCode.NONE) {
                a.acked = true;
                stats.commitsAcked++;
              } else stale = true;
            }
            if (stale) break;
          }
        }
        await sleep(10 + sim.int(30), `${name} poll`);
      }
    }
  };

  /** One Fetch of the member's partitions; false when the member must rejoin or reconnect. */
  const fetchOnce = async (call: ReturnType<typeof client>, position: Map<number, bigint>, readCommitted: boolean, who: string): Promise<boolean> => {
    const parts = [...position.keys()];
    const res = await call(1, V.fetch, {
      replicaId: -1,
      maxWaitMs: 20,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: readCommitted ? 1 : 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic: TOPIC, partitions: parts.map((p) => ({ partition: p, fetchOffset: position.get(p)!, partitionMaxBytes: 8192 })) }],
    });
    if (res === null || res.errorCode !== ErrorCode.NONE) return false;
    for (const pd of res.responses[0]?.partitions ?? []) {
      const p = pd.partitionIndex;
      if (pd.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
        position.set(p, 0n); // the log lost an unacknowledged tail: start over (auto.offset.reset=earliest)
        continue;
      }
      if (pd.errorCode !== ErrorCode.NONE) continue;
      const recs = decodeBatches(pd.records === null ? [] : Array.isArray(pd.records) ? pd.records : [pd.records]);
      if (recs === null) {
        stats.corruptBatchesRejected++; // the consumer's CRC check: fetch again
        continue;
      }
      const pos = position.get(p)!;
      const fresh = recs.filter((r) => r.offset >= pos);
      if (fresh.length === 0) continue;
      violations.push(...checkReadBelowHighWatermark(fresh, pd.highWatermark, `${who} ${TOPIC}-${p}`));
      if (readCommitted) {
        const visible = readCommittedView(fresh, pd.abortedTransactions ?? []);
        sim.trace(`${who} read_committed ${TOPIC}-${p} from ${pos} below ${pd.lastStableOffset}: ${fresh.length} records, aborted ${(pd.abortedTransactions ?? []).map((a: { producerId: bigint; firstOffset: bigint }) => `${a.producerId}@${a.firstOffset}`).join(",")}, ${visible.length} visible`);
        violations.push(...checkReadCommitted(visible, pd.lastStableOffset, abortedValues, `${who} ${TOPIC}-${p}`));
        readCommittedSeen.push(...visible);
        stats.readCommitted += visible.length;
      }
      stats.consumed += fresh.length;
      position.set(p, fresh[fresh.length - 1].offset + 1n);
    }
    return true;
  };

  // ---------------------------------------------------------------------------------------------------------------
  // Faults.
  const faults = async (): Promise<void> => {
    while (sim.nowMs < durationMs) {
      await sleep(150 + sim.int(700), "fault");
      if (sim.nowMs >= durationMs) break;
      if (sim.chance(0.2)) await cleanStop();
      else if (cleaning !== null && sim.chance(0.4)) {
        // A power cut (or a kill) at a seeded one of the next disk calls on cleaner swap files, deleted segments or
        // checkpoints: inside a swap, a segment deletion or a checkpoint write, maybe of the next start's recovery.
        const n = 1 + sim.int(12);
        const powerCut = sim.chance(0.7);
        sim.trace(`${powerCut ? "power cut" : "kill"} armed at the ${n}th cleaner/deletion/checkpoint disk call from now`);
        disk.armPowerCut(n, (path) => cutAtDiskCall(`at a seeded cleaner/deletion/checkpoint disk call (${n}: ${path})`, powerCut), cleaningPath);
      } else crash(sim.chance(0.7), "seeded fault");
    }
    disk.armPowerCut(null);
    faultsOver = true;
  };

  const fail = (e: unknown) => violations.push(`a simulated client threw: ${(e as Error)?.stack ?? e}`);
  boot();
  void createTopic().catch(fail);
  void idempotentProducer().catch(fail);
  void plainProducer().catch(fail);
  const pipelinedRecords: PipelinedRecord[] = [];
  if (opts.pipelined) {
    const partition0 = () => proc.broker?.topicsByName.get(TOPIC)?.partitions[0] as Partition | undefined;
    void runPipelinedProducer({ sim, index: 2, topic: TOPIC, wireOf: () => wire, leaderOf: async () => (up && topicReady ? 1 : -1), sleep, running: () => sim.nowMs < durationMs, records: pipelinedRecords, stats, leads: () => { const p = partition0(); return p !== undefined && p.isLeader && !p.log.isOffline; }, violations }).catch(fail);
  }
  void transactionalProducer().catch(fail);
  void member(0).catch(fail);
  void member(1).catch(fail);
  void faults().catch(fail);
  if (opts.cleaning) {
    cleaning = new CleaningWorkload({ sim, disk, violations, durationMs, sleep, client, broker: () => (up ? proc.broker : null), up: () => up });
    cleaning.start(fail);
  }

  try {
    await sim.run(durationMs + 3000, () => violations.length > 20);
    // Last power cut, then recovery; the coordinator finishes or aborts what was open; then the final checks.
    faultsOver = true;
    disk.readFaultsArmed = false;
    disk.armPowerCut(null);
    await sim.run(durationMs + 10_000, () => up);
    crash(true, "final power cut");
    let settled = false;
    const waitSettled = async (): Promise<void> => {
      while (!up || !txnDone) await sleep(50, "settle wait");
      await sleep(TXN_TIMEOUT_MS * 2, "settle: transaction timeouts");
      settled = true;
    };
    void waitSettled().catch(fail);
    await sim.run(durationMs + 30_000, () => settled);
    if (!settled) violations.push("the broker did not come back and settle within 30 s of simulated time after the last power cut");
    else await finalChecks();
  } finally {
    for (const r of restore) r();
  }

  async function finalChecks(): Promise<void> {
    const b = proc.broker!;
    cleaning?.readAll("final read");
    const topic = b.topicsByName.get(TOPIC);
    if (topic === undefined) {
      if (acked.some((a) => a.length > 0)) violations.push(`topic ${TOPIC} is gone after the final recovery`);
      return;
    }
    for (let p = 0; p < PARTITIONS; p++) {
      const part = topic.partitions[p] as unknown as Partition;
      const log = readWholeLog(part);
      if (log === null) {
        violations.push(`${TOPIC}-${p}: the recovered log has a batch that fails its CRC`);
        continue;
      }
      violations.push(...checkAcknowledged(acked[p], log).map((v) => `final ${TOPIC}-${p}: ${v}`));
      if (p === 0) violations.push(...checkPipelinedProducer(pipelinedRecords, log, `final ${TOPIC}-0: pipelined producer`));
      if (part.lastStableOffset !== part.highWatermark) violations.push(`${TOPIC}-${p}: a transaction is still open after the faults stopped and its timeout passed (last stable offset ${part.lastStableOffset}, high watermark ${part.highWatermark})`);
      // What read_committed sees of the whole log now.
      const visible = readCommittedView(log.filter((r) => r.offset < part.lastStableOffset), part.abortedTxns.collect(0n, part.lastStableOffset));
      const visibleValues = new Set(visible.map((r) => r.value));
      violations.push(...checkReadCommitted(visible, part.lastStableOffset, abortedValues, `final read_committed ${TOPIC}-${p}`));
      const missing = committedTxnValues.find((c) => c.partition === p && !visibleValues.has(c.value));
      if (missing !== undefined) violations.push(`${TOPIC}-${p}: ${missing.value} of a committed transaction is not visible to read_committed`);
    }
    const late = readCommittedSeen.find((r) => abortedValues.has(r.value));
    if (late !== undefined) violations.push(`a read_committed consumer saw ${late.value} at ${late.offset}, a record of a transaction aborted later`);
    // Committed offsets after the last recovery, through the protocol.
    const call = client("final");
    for (let attempt = 0; attempt < 50; attempt++) {
      let done = false;
      const p = offsetFetch(call, Array.from({ length: PARTITIONS }, (_, i) => i), "final check").then((r) => {
        done = true;
        return r;
      });
      await sim.run(sim.nowMs + 2000, () => done);
      if ((await p) !== null) return;
      await sim.run(sim.nowMs + 50);
    }
    violations.push("OffsetFetch never succeeded after the final recovery");
  }

  return { seed, violations, traceHash: sim.traceHash, simulatedMs: sim.nowMs, stats: { ...stats, ...disk.stats, ...wire.stats, ...(cleaning?.stats ?? {}), steps: sim.steps } };
}

/** The planted bug: offset commits answered as soon as they are appended, before the offsets topic made them durable. */
export function plantOffsetCommitBeforeDurable(b: Broker): void {
  const storage = (b.groups as unknown as { storage: { append(p: number, batches: Uint8Array): Promise<void> } }).storage;
  const real = storage.append.bind(storage);
  storage.append = (p, batches) => {
    real(p, batches).catch(() => {});
    return Promise.resolve();
  };
}

/** The planted bug: every partition's aborted-transaction index answers nothing (read_committed cannot filter). */
async function plantForgetAbortedTransactions(): Promise<() => void> {
  const { AbortedTxnIndex } = await import("../../src/partition/aborted-txn-index.ts");
  const proto = AbortedTxnIndex.prototype as unknown as { collect: (...a: unknown[]) => unknown[] };
  const real = proto.collect;
  proto.collect = () => [];
  return () => {
    proto.collect = real;
  };
}

/** The planted bug: the last stable offset is the high watermark, open transactions or not. */
async function plantLsoIgnoresOpenTransactions(): Promise<() => void> {
  const { Partition } = await import("../../src/partition/partition.ts");
  const real = Object.getOwnPropertyDescriptor(Partition.prototype, "lastStableOffset")!;
  Object.defineProperty(Partition.prototype, "lastStableOffset", {
    configurable: true,
    get(this: { highWatermark: bigint }) {
      return this.highWatermark;
    },
  });
  return () => {
    Object.defineProperty(Partition.prototype, "lastStableOffset", real);
  };
}
