/**
 * One partition as this broker serves it: the owner of its log, its leader epoch and epoch history, its producer
 * state and aborted-transaction index, its replicas' log end offsets, its in-sync replica set, its high watermark,
 * and the requests waiting on it (long-poll fetches, and produce requests with acks=all).
 *
 * Every write goes through one of two paths, so that "append, then producer state, then high watermark, then wake
 * the waiters" is written once:
 * - {@link Partition.appendAsLeader}: offsets and the leader epoch are assigned here (Produce, internal topics,
 *   transaction markers);
 * - {@link Partition.appendAsFollower}: batches arrive with offsets and epochs set by the leader (replication).
 * Producer state and the aborted-transaction index are rebuilt from the appended batch headers in both cases, and
 * rewound by {@link Partition.truncateTo}.
 *
 * Invariants (asserted, never clamped): logStartOffset <= highWatermark <= logEndOffset; the leader's high
 * watermark never goes backwards; it is the smallest log end offset among the in-sync replicas (on a single node
 * the ISR is this broker alone, so it is the log end offset right after each append).
 */
import type { Clock } from "../platform/clock.ts";
import type { FileSystem } from "../platform/fs.ts";
import type { AppendResult, PartitionLog } from "../storage/partition-log.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { LogStorageError, isIoError } from "../storage/storage-errors.ts";
import { BATCH_LENGTH_OFFSET, BASE_OFFSET_OFFSET, LAST_OFFSET_DELTA_OFFSET, LOG_OVERHEAD, PARTITION_LEADER_EPOCH_OFFSET, BATCH_HEADER_SIZE, dataViewOf } from "../protocol/batch-layout.ts";
import { ProducerStateTable } from "./producer-state.ts";
import { AbortedTxnIndex } from "./aborted-txn-index.ts";
import { LeaderEpochCache } from "./leader-epoch-cache.ts";
import {
  applyBatchesToProducerState,
  loadProducerState,
  producerSnapshotOffsets,
  producerSnapshotWanted,
  pruneProducerSnapshots,
  removeProducerSnapshots,
  removeProducerSnapshotsAbove,
  snapshotFileName,
  writeProducerSnapshot,
  writeProducerSnapshotAsync,
  type ReplayedAbort,
} from "./producer-snapshot.ts";

/** Default bound on the fetches parked on one partition; past it a new long poll is answered at once. */
export const MAX_WAITING_FETCHES_PER_PARTITION = 1000;
/** Default bound on the acks=all produce requests parked on one partition for the high watermark. */
export const MAX_WAITING_PRODUCES_PER_PARTITION = 10_000;
/** Bound on the DeleteRecords requests parked on one partition for its low watermark. */
export const MAX_WAITING_DELETE_RECORDS_PER_PARTITION = 1000;

/** Logging used by a partition. */
export interface PartitionLogger {
  /** Normal events. */
  info(msg: string): void;
  /** Handled problems. */
  warn(msg: string): void;
}

/** What a partition needs from its broker. */
export interface PartitionDeps {
  /** File system (producer snapshots, epoch checkpoint, aborted-transaction index). */
  fs: FileSystem;
  /** Clock (replica fetch times). */
  clock: Clock;
  /** Logger. */
  logger: PartitionLogger;
  /** This broker's node id. */
  localBrokerId: number;
  /** Bound on parked fetches (default {@link MAX_WAITING_FETCHES_PER_PARTITION}). */
  maxWaitingFetches?: number;
  /** `producer.id.expiration.ms`: how long a producer's KIP-890 joining guard lasts at most (ProducerStateTable; default Kafka's, 1 day). */
  producerIdExpirationMs?: number;
  /** Bound on parked acks=all produces (default {@link MAX_WAITING_PRODUCES_PER_PARTITION}). */
  maxWaitingProduces?: number;
  /** Cluster mode: partitions may become replicated, so a missing high watermark checkpoint starts at the log start. */
  replicated?: boolean;
  /**
   * Cluster mode: the epoch of broker `nodeId`'s current registration, or undefined while it is not registered.
   * Absent on a single node (no broker epochs). Fences follower fetches from stale incarnations and keeps them out
   * of the ISR (KIP-903).
   */
  aliveBrokerEpoch?: (nodeId: number) => number | undefined;
  /**
   * Cluster mode: whether this broker holds no registration now (restarting, or its lease lost). A broker without one
   * does not act as a leader: it takes no writes and counts no follower fetches, so it acknowledges nothing in a
   * leader epoch the controller may already have moved on from (or, restarted with a shorter log, still shows).
   */
  unregistered?: () => boolean;
  /**
   * Cluster mode: whether this partition's roles were written before this broker's registration (given to an
   * earlier incarnation, which a restart ended): it does not act as their leader until the controller elects again.
   */
  staleRoles?: (topic: string, partition: number) => boolean;
  /**
   * A follower out of the ISR has caught up on this leader (heard on its fetch): the owner writes the ISR change now
   * rather than at its next periodic check, as Kafka expands the ISR on the fetch path. Absent: the periodic check.
   */
  onFollowerCaughtUp?: (topic: string, partition: number) => void;
}

/** Who leads and who is in sync (the cluster metadata's partition state, as far as this broker needs it). */
export interface PartitionRoles {
  /** Node id of the leader (-1 for none). */
  leader: number;
  /** Current leader epoch. */
  leaderEpoch: number;
  /** Node ids holding a replica. */
  replicas: readonly number[];
  /** Node ids in sync with the leader. */
  isr: readonly number[];
}

/** What the leader knows of one follower. */
export interface FollowerState {
  /** The follower's log end offset, from its last fetch. */
  logEndOffset: bigint;
  /** Monotonic ms of its last fetch that reached the leader's log end offset (for replica.lag.time.max.ms). */
  lastCaughtUpMs: number;
  /** The broker epoch its last fetch carried (Fetch v15+ ReplicaState), or -1 when it carried none. */
  brokerEpoch: bigint;
  /** The follower's log start offset its last fetch carried, or -1 (not said). */
  logStartOffset: bigint;
}

/** A DeleteRecords request parked until every live replica's log start offset reaches `offset` (Kafka's DelayedDeleteRecords). */
interface LowWatermarkWaiter {
  offset: bigint;
  resolve: (lowWatermark: bigint) => void;
  reject: (e: Error) => void;
}

interface HighWatermarkWaiter {
  offset: bigint;
  minInsyncReplicas: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** A partition of topic `T` (anything with a name). */
export class Partition<T extends { readonly name: string } = { readonly name: string }> {
  /** Owning topic. */
  readonly topic: T;
  /** Partition index. */
  readonly index: number;
  /** The durable log (reads go straight to it; writes go through this object). */
  readonly log: PartitionLog;
  /** Idempotent-producer state and ongoing transactions (the last stable offset). */
  readonly producers: ProducerStateTable;
  /** Aborted transactions, for read_committed fetches. */
  readonly abortedTxns: AbortedTxnIndex;
  /** Leader epochs and where each began (`leader-epoch-checkpoint`). */
  readonly leaderEpochs: LeaderEpochCache;
  private readonly deps: PartitionDeps;
  private roles: PartitionRoles;
  private readonly followers = new Map<number, FollowerState>();
  private readonly fetchWaiters = new Set<() => void>();
  private hwWaiters: HighWatermarkWaiter[] = [];
  /**
   * Followers an ISR write in flight adds (Kafka's PendingExpandIsr, its "maximal ISR"): until {@link takeRoles}
   * brings the outcome, the high watermark waits for them too, so a follower the write makes in-sync holds every
   * record below the high watermark (one that joined with less could be elected and lose acknowledged records).
   */
  private joiningIsr: readonly number[] = [];
  private lowWatermarkWaiters: LowWatermarkWaiter[] = [];
  private removed = false;
  /** Set by close(): the broker is stopping, and no fetch parks here any more. */
  private closed = false;
  /** Monotonic ms when this broker last took leadership (followers not heard from since count as caught up then). */
  private leaderSinceMs = -1;
  /**
   * Roll snapshots still being written (their fdatasync runs off the loop). A truncation below one marks it stale:
   * it describes records that are gone, and left under its name it would be loaded once the log grows past it again
   * (answering a retried batch as a duplicate at offsets that now hold other records).
   */
  private readonly pendingSnapshots = new Set<{ offset: bigint; stale: boolean }>();
  /**
   * Records an aborted transaction an ABORT marker ended. An I/O error writing its `.txnindex` entry takes the log
   * offline (KAFKA_STORAGE_ERROR from here on), as Kafka's LogDirFailureChannel does for any file of a log: the
   * marker is in the log but its entry is not, and going on would let a later producer snapshot cover the gap.
   */
  private readonly onAbort = (a: ReplayedAbort): void => {
    try {
      this.abortedTxns.add(a);
    } catch (e) {
      if (!isIoError(e)) throw e;
      this.log.ioFailed(e);
      throw new LogStorageError(this.log.name, e);
    }
  };
  private readonly onEpochWriteError = (e: Error): void => this.deps.logger.warn(`${this.log.name}: leader-epoch-checkpoint not written (retried): ${e.message}`);

  private constructor(topic: T, index: number, log: PartitionLog, deps: PartitionDeps, roles: PartitionRoles) {
    this.topic = topic;
    this.index = index;
    this.log = log;
    this.deps = deps;
    this.roles = roles;
    this.producers = new ProducerStateTable({ nowMs: () => deps.clock.monotonicMs(), producerIdExpirationMs: deps.producerIdExpirationMs });
    const warn = (m: string) => deps.logger.warn(m);
    this.abortedTxns = AbortedTxnIndex.open(deps.fs, log, warn);
    this.leaderEpochs = LeaderEpochCache.open(deps.fs, log.dir, log.logEndOffset, warn);
  }

  /**
   * Opens a partition over its recovered log: loads the producer state (newest snapshot plus replay), the aborted
   * transactions and the epoch history, sets the high watermark from the checkpoint (`checkpointedHighWatermark`,
   * at most the log end offset: a crash may have cut unsynced records), then takes up `roles`.
   */
  static open<T extends { readonly name: string }>(topic: T, index: number, log: PartitionLog, deps: PartitionDeps, roles: PartitionRoles, checkpointedHighWatermark?: bigint): Partition<T> {
    const p = new Partition(topic, index, log, deps, roles);
    // Snapshots past the recovered log end (written at a clean stop or a roll, then the power took the log's unsynced
    // tail) describe records that are gone: skipped now, they would be loaded once the log grew past them again (a
    // retry answered as a duplicate, ABORT markers below them never replayed). Kafka's truncateAndReload drops them too.
    removeProducerSnapshotsAbove(deps.fs, log.dir, log.logEndOffset);
    if (log.restartedAt !== null) {
      // The log restarted empty at its checkpointed log start (its recovered end lay below it): every snapshot (one
      // at the restart offset too, taken before the power cut) and every `.txnindex` describes deleted records. As
      // Kafka's ProducerStateManager.truncateFullyAndStartAt, they go and the producer state starts empty.
      removeProducerSnapshots(deps.fs, log.dir);
      p.abortedTxns.prune();
      // the epoch history too (Kafka's LogLoader clears the leader-epoch cache there): the taken roles seed it again
      p.leaderEpochs.truncateFromEnd(0n);
    }
    // The trim of the epoch history when the log start last moved may have been lost (its write failed, then a hard
    // stop): as Kafka's LogLoader ("the earliest leader epoch may not be flushed during a hard failure"), trim it
    // again at the log start, so no OffsetForLeaderEpoch or diverging-epoch answer is an end offset below the log start.
    p.leaderEpochs.truncateFromStart(log.logStartOffset);
    // A clean start that finds no producer snapshot replays nothing, as Kafka's rebuildProducerState with
    // reloadFromCleanShutdown: the stop writes one whenever the log holds a producer's batch past its log start (or
    // there is state or an older snapshot), so none means a replay would find nothing, or only producers dropped as
    // expired before the stop (a log left by a Runnel that skipped empty snapshots). Nothing is written either (Kafka
    // writes empty snapshots there): a log no producer wrote keeps starting without a read of its records or a fsync.
    const cleanWithoutSnapshot = log.openedClean && producerSnapshotOffsets(deps.fs, log.dir).length === 0;
    const loaded = cleanWithoutSnapshot ? null : loadProducerState(deps.fs, log, p.producers, deps.clock.nowMs(), p.onAbort);
    if (loaded !== null) deps.logger.info(loaded);
    // Recovery rule (as Kafka's): a checkpointed high watermark past the recovered log end (unsynced records cut
    // by a crash) or below the log start (records deleted since) starts at that bound instead. With no checkpoint
    // entry, a single node's log holds only acknowledged records (HW = log end); a replica may hold records never
    // committed, so it starts at the log start and learns the HW from the leader (or, as leader, from the ISR).
    const mayBeReplicated = deps.replicated === true || roles.replicas.length > 1;
    const hw = checkpointedHighWatermark ?? (mayBeReplicated ? log.logStartOffset : log.logEndOffset);
    log.highWatermark = hw < log.logStartOffset ? log.logStartOffset : hw > log.logEndOffset ? log.logEndOffset : hw;
    p.takeRecoveredEpochs();
    p.seedEpochHistory();
    log.onRoll = (base) => p.snapshotAtRoll(base);
    log.recoveryPointLimit = () => p.leaderEpochs.undurableFrom;
    log.onLogStartMoved = (start) => p.afterLogStartMoved(start);
    log.producerLastDataOffset = (pid) => p.producers.lastDataOffset(pid);
    log.transactions = {
      lastStableOffset: () => p.lastStableOffset,
      abortedTransactions: (from, upper) => p.abortedTxns.between(from, upper),
      cleanedAborted: (from, to, kept) => p.abortedTxns.forgetCleaned(from, to, kept),
      producerEpoch: (pid) => p.producers.epochOf(pid),
    };
    p.takeRoles(roles);
    return p;
  }

  /** Current leader epoch. */
  get leaderEpoch(): number {
    return this.roles.leaderEpoch;
  }
  /** Whether this broker leads the partition. */
  get isLeader(): boolean {
    return this.roles.leader === this.deps.localBrokerId;
  }
  /** Node id of the leader (-1 for none). */
  get leader(): number {
    return this.roles.leader;
  }
  /** Node ids holding a replica. */
  get replicas(): readonly number[] {
    return this.roles.replicas;
  }
  /** Node ids in sync with the leader. */
  get isr(): readonly number[] {
    return this.roles.isr;
  }
  /** Offset below which records are committed (visible to consumers, acknowledged to acks=all). */
  get highWatermark(): bigint {
    return this.log.highWatermark;
  }
  /** Offset the next record gets. */
  get logEndOffset(): bigint {
    return this.log.logEndOffset;
  }
  /**
   * The last stable offset: the high watermark, or the first offset of the oldest open transaction if lower. An open
   * transaction whose first offset DeleteRecords (or retention) moved the log start past counts from the log start's
   * batch, as Kafka's UnifiedLog.updateFirstUnstableOffset has it (see batchBaseAtLogStart).
   */
  get lastStableOffset(): bigint {
    const first = this.producers.firstUnstableOffset();
    const hw = this.log.highWatermark;
    if (first === null) return hw;
    const unstable = first < this.log.logStartOffset ? this.batchBaseAtLogStart() : first;
    return unstable < hw ? unstable : hw;
  }

  /** The log start and the base offset of the batch holding it, as last looked up (see batchBaseAtLogStart). */
  private logStartBatch: { start: bigint; base: bigint } | null = null;

  /**
   * Where Kafka's first unstable offset lands when the log start passed it: the log start turned into offset metadata
   * (UnifiedLog.updateFirstUnstableOffset), which is the base offset of the batch holding it, below the log start
   * when DeleteRecords cut inside a batch; the log start itself past the last batch. Looked up once per log start.
   */
  private batchBaseAtLogStart(): bigint {
    const start = this.log.logStartOffset;
    if (this.logStartBatch?.start === start) return this.logStartBatch.base;
    const base = start >= this.log.logEndOffset ? start : this.log.read(start, 1, true).firstOffset;
    this.logStartBatch = { start, base };
    return base;
  }
  /** Whether the partition was deleted (its topic is gone); parked requests were answered. */
  get isRemoved(): boolean {
    return this.removed;
  }
  /** Whether the partition was closed (the broker is stopping); parked requests were answered. */
  get isClosed(): boolean {
    return this.closed;
  }
  /** What the leader knows of a follower (undefined for this broker or an unknown replica). */
  follower(replicaId: number): FollowerState | undefined {
    return this.followers.get(replicaId);
  }

  /**
   * Takes up new roles from cluster metadata. As leader of a newer epoch, the epoch begins at the log end offset;
   * a broker that stops leading answers its parked acks=all produces with NOT_LEADER_OR_FOLLOWER.
   */
  takeRoles(roles: PartitionRoles): void {
    if (roles.leaderEpoch < this.roles.leaderEpoch) throw new Error(`${this.log.name}: leader epoch ${roles.leaderEpoch} is older than ${this.roles.leaderEpoch}`);
    const newEpoch = roles.leaderEpoch !== this.roles.leaderEpoch;
    this.roles = { leader: roles.leader, leaderEpoch: roles.leaderEpoch, replicas: [...roles.replicas], isr: [...roles.isr] };
    this.joiningIsr = [];
    for (const id of [...this.followers.keys()]) if (!roles.replicas.includes(id)) this.followers.delete(id);
    if (!this.isLeader) {
      this.followers.clear();
      this.failHighWatermarkWaiters(new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `${this.log.name}: this broker no longer leads it`));
      this.failLowWatermarkWaiters(new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `${this.log.name}: this broker no longer leads it`));
      return;
    }
    if (newEpoch || this.leaderSinceMs < 0) this.leaderSinceMs = this.deps.clock.monotonicMs();
    if (newEpoch || this.leaderEpochs.latestEpoch < roles.leaderEpoch) this.leaderEpochs.assign(roles.leaderEpoch, this.log.logEndOffset, false);
    this.maybeAdvanceHighWatermark();
    this.checkLowWatermarkWaiters();
  }

  /**
   * Leader: the low watermark (Kafka's Partition.lowWatermarkIfLeader), the smallest log start offset over this
   * replica and every follower on a live broker (registered, in a cluster; in the ISR without a registry), as each
   * follower's last fetch reported it (-1 until it has fetched). Records below it are gone from every replica that
   * could lead, so DeleteRecords answers with it.
   */
  get lowWatermark(): bigint {
    let low = this.log.logStartOffset;
    for (const id of this.roles.replicas) {
      if (id === this.deps.localBrokerId) continue;
      const live = this.deps.aliveBrokerEpoch === undefined ? this.roles.isr.includes(id) : this.deps.aliveBrokerEpoch(id) !== undefined;
      if (!live) continue;
      const reported = this.followers.get(id)?.logStartOffset ?? -1n;
      if (reported < low) low = reported;
    }
    return low;
  }

  /**
   * DeleteRecords' wait (Kafka's DelayedDeleteRecords): resolves with the {@link lowWatermark} once it reaches
   * `offset` (every live follower fetched after moving its log start there); rejects with REQUEST_TIMED_OUT after
   * `timeoutMs` or when too many wait, NOT_LEADER_OR_FOLLOWER when leadership is lost, UNKNOWN_TOPIC_OR_PARTITION
   * when the partition goes.
   */
  whenLowWatermarkReaches(offset: bigint, timeoutMs: number): Promise<bigint> {
    this.checkLeader();
    const low = this.lowWatermark;
    if (low >= offset) return Promise.resolve(low);
    if (this.lowWatermarkWaiters.length >= MAX_WAITING_DELETE_RECORDS_PER_PARTITION) {
      return Promise.reject(new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `${this.log.name}: too many DeleteRecords requests wait for the replicas`));
    }
    return new Promise<bigint>((resolve, reject) => {
      const clock = this.deps.clock;
      const w: LowWatermarkWaiter = {
        offset,
        resolve: (lw) => {
          clock.clearTimer(timer);
          resolve(lw);
        },
        reject: (e) => {
          clock.clearTimer(timer);
          reject(e);
        },
      };
      const timer = clock.setTimer(() => {
        this.lowWatermarkWaiters = this.lowWatermarkWaiters.filter((x) => x !== w);
        reject(new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `${this.log.name}: the replicas' log start offsets did not reach ${offset} within ${timeoutMs} ms (low watermark ${this.isLeader ? this.lowWatermark : -1n})`));
      }, timeoutMs);
      this.lowWatermarkWaiters.push(w);
    });
  }

  private checkLowWatermarkWaiters(): void {
    if (this.lowWatermarkWaiters.length === 0 || !this.isLeader) return;
    const low = this.lowWatermark;
    const still: LowWatermarkWaiter[] = [];
    for (const w of this.lowWatermarkWaiters) {
      if (w.offset <= low) w.resolve(low);
      else still.push(w);
    }
    this.lowWatermarkWaiters = still;
  }

  private failLowWatermarkWaiters(e: Error): void {
    const ws = this.lowWatermarkWaiters;
    this.lowWatermarkWaiters = [];
    for (const w of ws) w.reject(e);
  }

  /**
   * Throws unless the partition's log takes an append now: deleted (UNKNOWN_TOPIC_OR_PARTITION), offline after an
   * I/O error (KAFKA_STORAGE_ERROR, KIP-112), or closed (an Error: the broker is stopping).
   */
  checkAppendable(): void {
    this.checkWritable();
    this.log.checkWritable();
  }

  /** Throws NOT_LEADER_OR_FOLLOWER unless this broker may act as the partition's leader now (Produce, ListOffsets). */
  checkLeader(): void {
    if (!this.isLeader) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `${this.log.name}: this broker is not the leader`);
    this.checkRegistered();
  }

  /** Whether this broker holds a replica of the partition (not an in-memory stand-in for one held elsewhere). */
  get isLocalReplica(): boolean {
    return this.roles.replicas.includes(this.deps.localBrokerId);
  }

  /** Throws NOT_LEADER_OR_FOLLOWER when this broker may not act as leader: unregistered, or its roles predate its registration. */
  private checkRegistered(): void {
    if (this.deps.unregistered?.()) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `${this.log.name}: this broker is not registered in the cluster (starting, or fenced)`);
    if (this.deps.staleRoles?.(this.topic.name, this.index)) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `${this.log.name}: its leadership was given to an earlier incarnation of this broker; waiting for the controller`);
  }

  /**
   * The leader's write path (Produce, internal topics, transaction markers): appends whole, validated batches with
   * offsets and this epoch assigned, updates producer state and the aborted-transaction index from them, moves the
   * high watermark as far as the ISR allows and wakes what waits on it. Throws NOT_LEADER_OR_FOLLOWER on a
   * follower, and the log's error on an I/O failure (nothing was appended then).
   */
  appendAsLeader(records: Uint8Array, logAppendTimeMs?: number): AppendResult {
    this.checkWritable();
    this.checkLeader();
    const r = this.log.append(records, { leaderEpoch: this.roles.leaderEpoch, logAppendTimeMs });
    this.leaderEpochs.assign(this.roles.leaderEpoch, r.baseOffset, false);
    if (this.leaderEpochs.dirty) this.leaderEpochs.flushSoon(this.onEpochWriteError);
    applyBatchesToProducerState(this.producers, records, r.baseOffset, this.onAbort);
    this.maybeAdvanceHighWatermark();
    this.wakeFetches(); // followers wait for the log end, not the high watermark (a no-op when it already woke them)
    return r;
  }

  /**
   * The follower's write path: batches fetched from the leader with offsets and leader epochs already set; the
   * epoch history and producer state are rebuilt from them. The high watermark follows the leader's through
   * {@link Partition.updateHighWatermarkFromLeader}.
   */
  appendAsFollower(records: Uint8Array): AppendResult {
    this.checkWritable();
    if (this.isLeader) throw new Error(`${this.log.name}: the leader does not take follower appends`);
    const dv = dataViewOf(records);
    this.takeWholeFirstBatch(records, dv);
    const r = this.log.appendWithOffsets(records);
    for (let at = 0; at + BATCH_HEADER_SIZE <= records.length; at += dv.getInt32(at + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD) {
      const epoch = dv.getInt32(at + PARTITION_LEADER_EPOCH_OFFSET);
      if (epoch > this.leaderEpochs.latestEpoch) this.leaderEpochs.assign(epoch, dv.getBigInt64(at + BASE_OFFSET_OFFSET), false);
    }
    if (this.leaderEpochs.dirty) this.leaderEpochs.flushSoon(this.onEpochWriteError);
    applyBatchesToProducerState(this.producers, records, r.baseOffset, this.onAbort);
    return r;
  }

  /**
   * An empty follower log that starts inside the first batch fetched (restarted at a leader's log start offset that
   * DeleteRecords put inside a batch, which the leader serves whole) restarts at that batch's base offset, as Kafka's
   * Partition.appendRecordsToFollowerOrFutureReplica does on UnexpectedAppendOffsetException; the leader's log start
   * offset in the same answer then moves it up again. Any other batch below the log end is refused by the append.
   */
  private takeWholeFirstBatch(records: Uint8Array, dv: DataView): void {
    const end = this.log.logEndOffset;
    if (records.length < BATCH_HEADER_SIZE || end !== this.log.logStartOffset) return;
    const base = dv.getBigInt64(BASE_OFFSET_OFFSET);
    if (base >= end || base + BigInt(dv.getInt32(LAST_OFFSET_DELTA_OFFSET)) < end) return;
    this.deps.logger.info(`${this.log.name}: the first batch fetched (offsets from ${base}) holds the log start offset ${end} of the empty log; restarting the log at ${base}`);
    this.truncateFullyAndStartAt(base);
  }

  /** A follower takes the leader's high watermark, up to its own log end offset (what it has of the log). */
  updateHighWatermarkFromLeader(leaderHighWatermark: bigint): void {
    if (this.isLeader) throw new Error(`${this.log.name}: the leader sets its own high watermark`);
    const hw = leaderHighWatermark < this.log.logEndOffset ? leaderHighWatermark : this.log.logEndOffset;
    if (hw <= this.log.highWatermark) return;
    this.log.highWatermark = hw;
    this.wakeFetches();
  }

  /**
   * Cuts the log back to `offset` (a follower's divergent tail): the log, its epoch history, producer state
   * (reloaded from the newest snapshot at or below the new end and replayed) and the aborted-transaction index all
   * forget what came at or after it. The high watermark comes down with the log end when it was above it.
   */
  truncateTo(offset: bigint): void {
    this.checkWritable();
    const before = this.log.logEndOffset;
    this.log.truncateTo(offset);
    const end = this.log.logEndOffset;
    this.deps.logger.info(`${this.log.name}: truncated the log from log end offset ${before} to ${end} (leader epoch ${this.roles.leaderEpoch}, leader ${this.roles.leader})`);
    this.leaderEpochs.truncateFromEnd(end);
    for (const pending of this.pendingSnapshots) if (pending.offset > end) pending.stale = true;
    removeProducerSnapshotsAbove(this.deps.fs, this.log.dir, end);
    this.producers.clear();
    this.abortedTxns.truncateTo(end);
    try {
      loadProducerState(this.deps.fs, this.log, this.producers, this.deps.clock.nowMs(), this.onAbort);
    } catch (e) {
      // The replay met a damaged batch (a segment no recovery checked) or an I/O error: the producer state is half
      // rebuilt, so the log must take no more records (the fetcher would append on top of it; as leader it would miss
      // sequences and open transactions). Offline, the fetcher drops it, as Kafka's marks the partition failed.
      if (!this.log.isOffline) {
        this.deps.logger.warn(`${this.log.name}: producer state not rebuilt after truncating to ${end}, log taken offline: ${(e as Error).message}`);
        this.log.takeOffline(e);
      }
      throw e;
    }
    this.assertHighWatermark();
  }

  /**
   * A follower whose log end lies below the leader's log start offset (the leader answered OFFSET_OUT_OF_RANGE):
   * empties the log and starts it at `offset` (Kafka's truncateFullyAndStartAt), forgetting its epoch history,
   * producer state, producer snapshots and aborted transactions; it then fetches from `offset`.
   */
  truncateFullyAndStartAt(offset: bigint): void {
    this.checkWritable();
    if (this.isLeader) throw new Error(`${this.log.name}: the leader does not restart its log at another offset`);
    const before = this.log.logEndOffset;
    this.log.truncateFullyAndStartAt(offset);
    this.deps.logger.info(`${this.log.name}: emptied the log (log end offset ${before}) to fetch from the leader's log start offset ${offset} (leader epoch ${this.roles.leaderEpoch}, leader ${this.roles.leader})`);
    this.leaderEpochs.truncateFromEnd(0n);
    for (const pending of this.pendingSnapshots) pending.stale = true;
    removeProducerSnapshots(this.deps.fs, this.log.dir);
    this.producers.clear();
    this.abortedTxns.truncateTo(offset);
    this.abortedTxns.prune();
    this.assertHighWatermark();
  }

  /**
   * The leader side of a follower's fetch (Fetch with a replica id): when the follower's last fetched epoch ends
   * earlier here (or is unknown), returns that epoch and its end offset, to be answered instead of records so the
   * follower truncates first (KIP-595's diverging epoch); otherwise takes the fetch offset as the follower's log end
   * offset (moving the high watermark) and returns null. Throws NOT_LEADER_OR_FOLLOWER unless this broker leads
   * and `replicaId` is another replica, and (as Kafka does) when `brokerEpoch` (ReplicaState's replica epoch, -1 for
   * none) is older than the follower's current registration: the fetch comes from a stale incarnation of it.
   */
  acceptFollowerFetch(replicaId: number, fetchOffset: bigint, lastFetchedEpoch: number, brokerEpoch = -1n, logStartOffset = -1n): { epoch: number; endOffset: bigint } | null {
    if (!this.isLeader || replicaId === this.deps.localBrokerId || !this.roles.replicas.includes(replicaId)) {
      throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `${this.log.name}: broker ${replicaId} cannot fetch it as a follower here`);
    }
    this.checkRegistered();
    const registered = this.deps.aliveBrokerEpoch?.(replicaId);
    if (brokerEpoch >= 0n && registered !== undefined && BigInt(registered) > brokerEpoch) {
      throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `${this.log.name}: stale fetch from broker ${replicaId}: broker epoch ${brokerEpoch}, registered with ${registered}`);
    }
    if (lastFetchedEpoch >= 0) {
      const end = this.leaderEpochs.endOffsetFor(lastFetchedEpoch, this.log.logEndOffset);
      if (end.endOffset < fetchOffset || end.epoch < lastFetchedEpoch) return end;
    }
    if (fetchOffset <= this.log.logEndOffset) this.updateFollowerFetch(replicaId, fetchOffset, brokerEpoch, logStartOffset);
    return null;
  }

  /**
   * The leader hears a follower's fetch position (and the broker epoch the fetch carried, -1 for none): tracks it
   * and moves the high watermark when the ISR allows.
   */
  updateFollowerFetch(replicaId: number, logEndOffset: bigint, brokerEpoch = -1n, logStartOffset = -1n): void {
    if (!this.isLeader) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `${this.log.name}: this broker is not the leader`);
    if (!this.roles.replicas.includes(replicaId) || replicaId === this.deps.localBrokerId) {
      throw new KafkaError(ErrorCode.UNKNOWN_LEADER_EPOCH, `${this.log.name}: ${replicaId} is not a follower of it`);
    }
    const prev = this.followers.get(replicaId);
    const caughtUp = logEndOffset >= this.log.logEndOffset;
    const f: FollowerState = { logEndOffset, lastCaughtUpMs: caughtUp ? this.deps.clock.monotonicMs() : (prev?.lastCaughtUpMs ?? -1), brokerEpoch, logStartOffset };
    this.followers.set(replicaId, f);
    this.maybeAdvanceHighWatermark();
    this.checkLowWatermarkWaiters();
    if (this.deps.onFollowerCaughtUp !== undefined && !this.roles.isr.includes(replicaId) && this.mayJoinIsr(replicaId, f)) this.deps.onFollowerCaughtUp(this.topic.name, this.index);
  }

  /**
   * The leader's ISR decision (Kafka's ISR shrink and expand; applied by the caller as a compare-and-set of the
   * partition state, whose result comes back through {@link Partition.takeRoles}): an in-sync follower that has not
   * been caught up to the log end for `replicaLagTimeMaxMs` (`replica.lag.time.max.ms`) leaves; a follower out of
   * the ISR whose log end offset reached the high watermark and the start of the current epoch joins, if (in a
   * cluster) its last fetch carried the epoch of its current registration (KIP-903). Null when the ISR stays as it
   * is (or this broker does not lead).
   */
  proposedIsr(nowMs: number, replicaLagTimeMaxMs: number): number[] | null {
    if (!this.isLeader) return null;
    const self = this.deps.localBrokerId;
    const next: number[] = [];
    let changed = false;
    for (const id of this.roles.replicas) {
      if (id === self) {
        next.push(id);
        continue;
      }
      const f = this.followers.get(id);
      const lastCaughtUp = f !== undefined && f.lastCaughtUpMs >= 0 ? f.lastCaughtUpMs : this.leaderSinceMs;
      if (this.roles.isr.includes(id)) {
        if (nowMs - lastCaughtUp > replicaLagTimeMaxMs) changed = true;
        else next.push(id);
      } else if (f !== undefined && this.mayJoinIsr(id, f)) {
        next.push(id);
        changed = true;
      }
    }
    return changed ? next : null;
  }

  /** The followers {@link setIsrJoining} last named (an ISR write adding them in flight, or of unknown outcome). */
  get isrJoining(): readonly number[] {
    return this.joiningIsr;
  }

  /**
   * The leader's ISR write adding `joining` (followers out of the ISR) is in flight; an empty list: it failed or was
   * not applied. Until then, or until {@link takeRoles} brings the new roles, the high watermark counts them as
   * in-sync (the maximal ISR, as Kafka's Partition does while an AlterPartition is pending).
   */
  setIsrJoining(joining: readonly number[]): void {
    if (!this.isLeader) return;
    for (const id of joining) if (!this.roles.replicas.includes(id) || id === this.deps.localBrokerId) throw new Error(`${this.log.name}: broker ${id} cannot join the ISR`);
    const dropped = this.joiningIsr.some((id) => !joining.includes(id));
    this.joiningIsr = [...joining];
    // a joiner that held the high watermark no longer does: it moves now, not at the next append or fetch (the
    // joiner may have stopped fetching, and an acks=all produce would wait for its timeout)
    if (dropped) this.maybeAdvanceHighWatermark();
  }

  /**
   * Parks a long-poll fetch until the high watermark moves (or the partition goes). False when
   * `maxWaitingFetches` are already parked, or the partition is deleted or closed: the caller answers at once.
   */
  addFetchWaiter(wake: () => void): boolean {
    if (this.removed || this.closed) return false;
    if (this.fetchWaiters.size >= (this.deps.maxWaitingFetches ?? MAX_WAITING_FETCHES_PER_PARTITION)) return false;
    this.fetchWaiters.add(wake);
    return true;
  }

  /** Unparks a fetch. */
  removeFetchWaiter(wake: () => void): void {
    this.fetchWaiters.delete(wake);
  }

  /** acks=all produces parked for the high watermark now. */
  get waitingProduces(): number {
    return this.hwWaiters.length;
  }

  /** Fetches parked now. */
  get waitingFetches(): number {
    return this.fetchWaiters.size;
  }

  /**
   * The acks=all wait (Kafka's produce purgatory): resolves once the high watermark reaches `offset` and this
   * broker's copy is fdatasynced (Runnel's acks=all promise); rejects when the partition goes, leadership is lost,
   * too many produces wait, or the fdatasync fails, and with NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR has
   * fewer than `minInsyncReplicas` (at most the replica count: effectiveMinIsr) members by the time the high watermark
   * gets there (Kafka's rule).
   */
  whenCommitted(offset: bigint, minInsyncReplicas = 1): Promise<void> {
    if (this.removed) return Promise.reject(new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${this.log.name} was deleted`));
    const synced = this.log.sync();
    if (offset <= this.log.highWatermark) {
      const short = this.isrShortOf(minInsyncReplicas);
      if (short === null) return synced;
      synced.catch(() => {});
      return Promise.reject(short);
    }
    if (this.hwWaiters.length >= (this.deps.maxWaitingProduces ?? MAX_WAITING_PRODUCES_PER_PARTITION)) {
      synced.catch(() => {}); // the caller hears of the bound, not of this flush
      return Promise.reject(new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `${this.log.name}: too many produce requests wait for replication`));
    }
    const replicated = new Promise<void>((resolve, reject) => this.hwWaiters.push({ offset, minInsyncReplicas, resolve, reject }));
    return Promise.all([replicated, synced]).then(() => undefined);
  }

  /** The topic is deleted: parked fetches are woken (they find the partition gone), parked produces rejected. */
  markRemoved(): void {
    this.removed = true;
    this.log.onRoll = null;
    this.log.onLogStartMoved = null;
    this.log.producerLastDataOffset = null;
    this.log.transactions = null;
    this.wakeFetches();
    this.failHighWatermarkWaiters(new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${this.log.name} was deleted`));
    this.failLowWatermarkWaiters(new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${this.log.name} was deleted`));
  }

  /**
   * Clean shutdown, first step: wakes parked fetches and fails the waits for the high watermark; nothing more is
   * appended. Once the log's tail is durable (its close), {@link Partition.writeStopSnapshot} writes the producer
   * snapshot and makes the epoch history durable (the clean-shutdown marker skips recovery, which would otherwise
   * take the epochs of the recovered batches).
   */
  close(): void {
    this.closed = true; // before the wake: a woken fetch cannot park again and answers now, while the log is open
    this.log.onRoll = null;
    this.log.onLogStartMoved = null;
    this.log.producerLastDataOffset = null;
    this.log.transactions = null;
    this.wakeFetches();
    this.failHighWatermarkWaiters(new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `${this.log.name}: the broker is stopping`));
    this.failLowWatermarkWaiters(new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `${this.log.name}: the broker is stopping`));
  }

  /**
   * Clean shutdown, after the log closed (its tail synced): the producer snapshot at the log end, after the
   * aborted-transaction index it must not overtake. In Kafka's order (LogManager.shutdown flushes the log, then
   * UnifiedLog.close snapshots the producer state, then the clean-shutdown marker is written), so a power cut at any
   * step leaves no snapshot past the durable log end (one written before the tail sync could: 76a9c1e). A failed sync
   * or snapshot write takes the log offline, so its dir gets no clean-shutdown marker.
   */
  writeStopSnapshot(): void {
    if (!this.closed) throw new Error(`${this.log.name}: the producer snapshot of a clean stop is written after close`);
    // Nothing is written into a log taken offline by a disk failure (or whose closing sync failed): a snapshot there
    // could claim what its log or transaction index never got, and recovery replays only from the snapshot.
    if (this.log.isOffline) return;
    try {
      this.abortedTxns.syncNow(); // durable before the snapshot that recovery replays from
    } catch (e) {
      // The log's final sync failed (its transaction index's), as at a roll: the log goes offline, and its log dir
      // with a disk failure, so the stop writes no clean-shutdown marker for it and the next start recovers it
      // (Kafka's LogManager.shutdown marks a dir clean only when every log's flush and close there succeeded).
      this.log.ioFailed(e);
      this.deps.logger.warn(`${this.log.name}: the aborted-transaction index could not be synced at the stop, no producer snapshot written: ${(e as Error).message}`);
      return;
    }
    try {
      // An epoch checkpointed off the append path whose write (or directory fsync) has not completed: a start after
      // the clean-shutdown marker recovers nothing, so it would never learn that epoch again after a power cut.
      if (this.leaderEpochs.undurableFrom !== null) this.leaderEpochs.flush();
    } catch (e) {
      this.log.ioFailed(e);
      this.deps.logger.warn(`${this.log.name}: the leader-epoch-checkpoint could not be written at the stop: ${(e as Error).message}`);
      return;
    }
    try {
      writeProducerSnapshot(this.deps.fs, this.log, this.producers);
    } catch (e) {
      // Kafka's UnifiedLog.close takes the snapshot under maybeHandleIOException: a failure fails the log dir, which
      // then gets no clean-shutdown marker, so the next start recovers the log fully instead of trusting a clean
      // stop whose producer state is older than its log end.
      this.log.ioFailed(e);
      this.deps.logger.warn(`${this.log.name}: the producer snapshot could not be written at the stop: ${(e as Error).message}`);
    }
  }

  /** Leader: the high watermark becomes the smallest log end offset in the ISR, if that is further. */
  private maybeAdvanceHighWatermark(): void {
    if (!this.isLeader) return;
    let hw = this.log.logEndOffset;
    for (const id of this.joiningIsr.length === 0 ? this.roles.isr : [...this.roles.isr, ...this.joiningIsr]) {
      if (id === this.deps.localBrokerId) continue;
      const f = this.followers.get(id);
      if (f === undefined) return; // an in-sync follower not heard from yet holds the high watermark
      if (f.logEndOffset < hw) hw = f.logEndOffset;
    }
    if (hw <= this.log.highWatermark) return;
    this.log.highWatermark = hw;
    this.assertHighWatermark();
    this.wakeFetches();
    if (this.hwWaiters.length === 0) return;
    const still: HighWatermarkWaiter[] = [];
    for (const w of this.hwWaiters) {
      if (w.offset > hw) {
        still.push(w);
        continue;
      }
      const short = this.isrShortOf(w.minInsyncReplicas);
      if (short === null) w.resolve();
      else w.reject(short);
    }
    this.hwWaiters = still;
  }

  /**
   * Whether follower `id` (out of the ISR) may join it: its log end offset reached the high watermark and the start
   * of the current epoch, and (in a cluster) it is registered and fetching as that registration.
   */
  private mayJoinIsr(id: number, f: FollowerState): boolean {
    const currentEpochStart = this.leaderEpochs.epochEntries().find((e) => e.epoch === this.roles.leaderEpoch)?.startOffset ?? 0n;
    if (f.logEndOffset < this.log.highWatermark || f.logEndOffset < currentEpochStart) return false;
    if (this.deps.aliveBrokerEpoch === undefined) return true;
    const registered = this.deps.aliveBrokerEpoch(id);
    // Stricter than Kafka, which also admits fetches without an epoch (older followers): every Runnel follower fetches
    // with ReplicaState, so -1 means it is not registered yet, and may be a restarted process whose predecessor's
    // registration has not expired.
    return registered !== undefined && f.brokerEpoch === BigInt(registered);
  }

  /** NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR is smaller than `min`, else null. */
  /**
   * The ISR size an acks=all write needs: `min.insync.replicas`, but never more than the partition's replicas (adding
   * ones included), as Kafka's Partition.effectiveMinIsr; a topic asking for more in-sync replicas than it has is
   * written as if it asked for all of them.
   */
  effectiveMinIsr(minInsyncReplicas: number): number {
    return Math.min(minInsyncReplicas, this.roles.replicas.length);
  }

  private isrShortOf(configured: number): KafkaError | null {
    const min = this.effectiveMinIsr(configured);
    if (this.roles.isr.length >= min) return null;
    return new KafkaError(ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND, `${this.log.name}: the ISR shrank to ${this.roles.isr.length}, below min.insync.replicas=${min}, after the append`);
  }

  private assertHighWatermark(): void {
    const { logStartOffset, highWatermark, logEndOffset } = this.log;
    if (highWatermark < logStartOffset || highWatermark > logEndOffset) {
      throw new Error(`${this.log.name}: high watermark ${highWatermark} outside [${logStartOffset}, ${logEndOffset}]`);
    }
  }

  private wakeFetches(): void {
    if (this.fetchWaiters.size === 0) return;
    const woken = [...this.fetchWaiters];
    this.fetchWaiters.clear();
    for (const w of woken) w();
  }

  private failHighWatermarkWaiters(e: Error): void {
    const ws = this.hwWaiters;
    this.hwWaiters = [];
    for (const w of ws) w.reject(e);
  }

  private checkWritable(): void {
    if (this.removed) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${this.log.name} was deleted`);
  }

  /**
   * After an unclean start, every batch the log recovered (from `log.recoveredFrom` to the log end) that carries an
   * epoch newer than the history's latest starts that epoch, as Kafka's LogSegment.recover assigns them: the
   * checkpoint is written off the append path, so a power cut before that write and its directory fsync complete
   * may keep the records of a new epoch (synced with the log) and lose the checkpoint naming it; the recovery point
   * stays below such an epoch's start until then (PartitionLog.recoveryPointLimit), so the rescan covers it. A
   * leader with such a hole answered a follower holding that epoch "diverging at the previous epoch's end" on every
   * fetch, and the follower truncated and fetched the same records again for ever (found by the cluster
   * simulation, seed 98 with --transactions). The walk reads batch headers only (PartitionLog.forEachBatchHeader).
   */
  private takeRecoveredEpochs(): void {
    const recovered = this.log.recoveredFrom;
    if (recovered === null) return;
    const start = this.log.logStartOffset;
    this.log.forEachBatchHeader(recovered < start ? start : recovered, (_buf, dv, at) => {
      const epoch = dv.getInt32(at + PARTITION_LEADER_EPOCH_OFFSET);
      // the batch holding a log start DeleteRecords put inside it begins below it: its epoch starts at the log
      // start (as Kafka's cache, trimmed there after recovery), so no epoch answer is an end offset below it
      const base = dv.getBigInt64(at + BASE_OFFSET_OFFSET);
      if (epoch > this.leaderEpochs.latestEpoch) this.leaderEpochs.assign(epoch, base < start ? start : base, false);
    });
    if (this.leaderEpochs.dirty) this.leaderEpochs.flush();
  }

  /** A log written before epoch checkpoints existed: its history starts with the epoch of its first batch. */
  private seedEpochHistory(): void {
    if (this.leaderEpochs.latestEpoch >= 0 || this.log.logEndOffset === this.log.logStartOffset) return;
    const first = this.log.read(this.log.logStartOffset, 1, true).chunks[0];
    if (first === undefined || first.length < BATCH_HEADER_SIZE) return;
    const epoch = dataViewOf(first).getInt32(PARTITION_LEADER_EPOCH_OFFSET);
    if (epoch >= 0) this.leaderEpochs.assign(epoch, dataViewOf(first).getBigInt64(BASE_OFFSET_OFFSET), false);
  }

  /** Retention or DeleteRecords moved the log start: older epochs, snapshots and aborted transactions go too. */
  private afterLogStartMoved(logStartOffset: bigint): void {
    try {
      this.leaderEpochs.truncateFromStart(logStartOffset);
      this.abortedTxns.prune();
      pruneProducerSnapshots(this.deps.fs, this.log.dir, logStartOffset);
    } catch (e) {
      this.deps.logger.warn(`${this.log.name}: cleaning up below log start offset ${logStartOffset} failed (retried at the next move): ${(e as Error).message}`);
    }
    this.checkLowWatermarkWaiters();
  }

  /**
   * At a segment roll: a producer snapshot at the new segment's base offset, written without blocking. One that a
   * truncation below it made stale meanwhile is not written, or removed once written (the rename and this check run
   * in one turn of the loop, so no load sees it between them).
   */
  private snapshotAtRoll(baseOffset: bigint): void {
    const entries = this.producers.entries();
    const { fs } = this.deps;
    const dir = this.log.dir;
    if (!producerSnapshotWanted(fs, this.log, this.producers, entries.length)) return;
    const pending = { offset: baseOffset, stale: false };
    this.pendingSnapshots.add(pending);
    let written = false;
    this.abortedTxns
      .sync() // the aborted transactions below the snapshot are durable before it is
      .then(
        () => {
          if (pending.stale) return;
          written = true;
          return writeProducerSnapshotAsync(fs, dir, baseOffset, entries);
        },
        (e) => {
          // A failed fdatasync may have dropped the entries' pages; a later sync through a new descriptor would not
          // see that error and a snapshot above them would hide their aborted transactions for good: the log goes
          // offline, as Kafka's does when a segment's txn index flush fails.
          this.log.ioFailed(e);
          throw e;
        },
      )
      .then(
        () => {
          const file = `${dir}/${snapshotFileName(baseOffset)}`;
          if (pending.stale && written && fs.exists(file)) fs.remove(file);
          else pruneProducerSnapshots(fs, dir, this.log.logStartOffset);
        },
        (e) => this.deps.logger.warn(`producer snapshot of ${this.log.name} at ${baseOffset} not written (recovery replays more): ${(e as Error).message}`),
      )
      .finally(() => this.pendingSnapshots.delete(pending));
  }
}
