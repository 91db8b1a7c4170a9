/**
 * The classic-protocol group coordinator: JoinGroup/SyncGroup/Heartbeat/LeaveGroup membership with generations,
 * member and static-instance fencing, session and rebalance timeouts, the initial rebalance delay and protocol
 * selection; committed offsets (OffsetCommit/OffsetFetch/OffsetDelete) with expiry; group admin (list, describe,
 * delete); and persistence of groups and offsets to `__consumer_offsets`, replayed on start.
 *
 * Protocol independent: the API handlers translate requests into the plain inputs here. Time comes from the
 * injected {@link Clock} and every delayed operation (a parked JoinGroup, a session, the sync phase, offset expiry)
 * is a clock timer, so unit tests drive it with a ManualClock. Persistence goes through {@link OffsetsTopicStorage};
 * state changes are applied as soon as their records are appended (the log orders them) and responses wait for
 * the records to be durable, like Kafka's coordinator runtime.
 */
import type { Clock } from "../platform/clock.ts";
import { systemRandom } from "../platform/random.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { concatBytes } from "../protocol/wire.ts";
import { BatchBuilder } from "../protocol/record-batch.ts";
import {
  ClassicGroup,
  EMPTY_BYTES,
  GroupMember,
  joinError,
  syncError,
  type GroupState,
  type JoinGroupOutcome,
  type SyncGroupOutcome,
} from "./consumer-group.ts";
import { CONSUMER_PROTOCOL_TYPE, encodeConsumerAssignment } from "./consumer-protocol.ts";
import type { GroupConfig, GroupLogger } from "./group-config.ts";
import { describeGroupLag, type GroupLagRow, type GroupLagSource } from "./group-lag.ts";
import { offsetsPartitionFor } from "./group-partitioning.ts";
import type {
  FetchedTopic,
  GroupDescription,
  HeartbeatInput,
  JoinGroupInput,
  LeaveGroupOutcome,
  LeavingMember,
  ListedGroup,
  OffsetCommitInput,
  OffsetDeleteOutcome,
  OffsetFetchOutcome,
  SyncGroupInput,
} from "./group-requests.ts";
import { MAX_OFFSETS_PER_GROUP, type CommittedOffset } from "./offset-store.ts";
import { offsetsPartitionReplay } from "./offsets-topic-loader.ts";
import {
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  type GroupMetadataRecordValue,
} from "./offsets-topic-records.ts";
import { OFFSETS_TOPIC, type OffsetsTopicStorage, type PartitionEndOffsets } from "./offsets-topic-storage.ts";
import { PendingTxnOffsets, type TxnOffsetCommitInput } from "./txn-offsets.ts";
import { OwnedPartitions, finishSteps, untilLogCommitted, type LoadStep } from "../storage/owned-partitions.ts";
import {
  CONSUMER_GROUP_TYPE,
  ConsumerGroupCoordinator,
  type ConsumerGroupDescription,
  type ConsumerGroupHeartbeatInput,
  type ConsumerGroupHeartbeatOutcome,
  type TopicMetadataSource,
} from "./consumer-group-coordinator.ts";
import type { ModernGroup, ModernMember } from "./modern-group.ts";
import { GroupOffsets } from "./offset-store.ts";

/** Group type reported by ListGroups v5+ for classic groups. */
export const CLASSIC_GROUP_TYPE = "classic";
/** Most groups one coordinator keeps. */
export const MAX_GROUPS = 1_000_000;
/** Most member ids handed out with MEMBER_ID_REQUIRED and not yet used, per group. */
export const MAX_PENDING_MEMBERS_PER_GROUP = 10_000;
/** Most protocols one member may offer. */
export const MAX_PROTOCOLS_PER_MEMBER = 64;
/** Capacity of the batch builder for coordinator records (a larger single record gets its own buffer). */
const RECORDS_BATCH_BYTES = 256 * 1024;
/** Authorized-operations bitfield for a group when requested: READ(3), DELETE(6), DESCRIBE(8), DESCRIBE_CONFIGS(10), ALTER_CONFIGS(11) (group configs). */
export const GROUP_AUTHORIZED_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8) | (1 << 10) | (1 << 11);

/** What a coordinator is built from. */
export interface GroupCoordinatorOptions {
  /** Settings. */
  config: GroupConfig;
  /** Time and timers. */
  clock: Clock;
  /** The offsets topic. */
  storage: OffsetsTopicStorage;
  /** Log end offsets for lag (absent: lag rows carry null ends). */
  endOffsets?: PartitionEndOffsets;
  /** Logger (default: silent). */
  logger?: GroupLogger;
  /** Makes the random part of member ids (default: a UUID from the runtime's randomness). */
  randomId?: () => string;
  /** The topics KIP-848 consumer groups subscribe to (default: none). */
  metadata?: TopicMetadataSource;
  /** A group's dynamic configs (`consumer.session.timeout.ms`, `consumer.heartbeat.interval.ms`); default none. */
  groupConfigs?: (groupId: string) => Readonly<Record<string, string>>;
}

/** Topic metadata with no topics (a coordinator without a broker). */
const NO_TOPICS: TopicMetadataSource = { version: () => 0, topic: () => undefined, topicName: () => undefined, topicNames: () => [] };

interface PendingRecord {
  key: Uint8Array;
  value: Uint8Array | null;
}

type AppendOutcome = { ok: true; durable: Promise<number> } | { ok: false; errorCode: number };

/** The producer of a transactional batch of offset commits. */
interface TxnProducer {
  producerId: bigint;
  producerEpoch: number;
}

/** The group coordinator of one broker (a single node coordinates every group). */
export class GroupCoordinator {
  private readonly config: GroupConfig;
  private readonly clock: Clock;
  private readonly storage: OffsetsTopicStorage;
  private readonly endOffsets: PartitionEndOffsets | null;
  private readonly log: GroupLogger;
  private readonly randomId: () => string;
  private readonly groups = new Map<string, ClassicGroup>();
  private readonly builder = new BatchBuilder(RECORDS_BATCH_BYTES);
  /** TxnOffsetCommit offsets waiting for their transaction's marker. */
  private readonly pendingTxnOffsets = new PendingTxnOffsets();
  private expiryTimer: unknown = null;
  private stopped = false;
  /**
   * The `__consumer_offsets` partitions this coordinator serves (cluster mode: those this broker leads), each
   * loading or loaded; null on a single node, which serves every partition from {@link GroupCoordinator.load}.
   */
  private owned: OwnedPartitions | null = null;
  /** KIP-848 consumer groups (ConsumerGroupHeartbeat); group ids are unique across both kinds. */
  readonly consumer: ConsumerGroupCoordinator;

  constructor(opts: GroupCoordinatorOptions) {
    this.config = opts.config;
    this.clock = opts.clock;
    this.storage = opts.storage;
    this.endOffsets = opts.endOffsets ?? null;
    this.log = opts.logger ?? { info: () => {}, warn: () => {}, error: () => {} };
    this.randomId = opts.randomId ?? (() => systemRandom.uuid());
    this.consumer = new ConsumerGroupCoordinator({
      config: this.config,
      clock: this.clock,
      log: this.log,
      metadata: opts.metadata ?? NO_TOPICS,
      groupConfigs: opts.groupConfigs,
      randomId: () => this.randomId(),
      append: (groupId, records) => this.append(groupId, records, false),
      classic: {
        get: (groupId) => this.groups.get(groupId),
        take: (groupId) => {
          const g = this.groups.get(groupId)!;
          const offsets = g.offsets;
          for (const m of g.members.values()) this.clearSession(m);
          this.killGroup(g, false);
          return offsets;
        },
        adoptOffsets: (groupId, offsets) => {
          const g = new ClassicGroup(groupId);
          for (const k of offsets.keys()) g.offsets.set(k.topic, k.partition, offsets.get(k.topic, k.partition)!);
          this.groups.set(groupId, g);
        },
        tombstone: (groupId) => ({ key: encodeGroupMetadataKey(groupId), value: null }),
        downgrade: (mg, members, assignments) => this.downgradeToClassic(mg, members, assignments),
      },
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Lifecycle

  /** Replays `__consumer_offsets` (when it exists), arms member sessions and starts the offset-expiry timer. */
  load(): void {
    const n = this.storage.partitionCount();
    let records = 0;
    for (let p = 0; p < n; p++) records += finishSteps(this.replayPartition(p));
    this.afterReplay(() => true);
    if (n > 0) this.log.info(`group coordinator loaded ${this.groups.size + this.consumer.groups.size} group(s) from ${records} record(s) in ${n} partition(s) of ${OFFSETS_TOPIC}`);
    this.scheduleExpiry();
  }

  /**
   * Cluster mode: serve only the partitions handed over with {@link GroupCoordinator.loadPartition} (those this
   * broker leads); every other group is answered NOT_COORDINATOR. Starts the offset-expiry timer.
   */
  followLeadership(): void {
    if (this.owned !== null) return;
    this.owned = new OwnedPartitions(this.clock);
    this.scheduleExpiry();
  }

  /**
   * This broker became the leader of `partition`: its groups are replayed from the log on the next turn of the
   * event loop (requests meanwhile get COORDINATOR_LOAD_IN_PROGRESS), then served.
   */
  loadPartition(partition: number): void {
    if (this.owned === null || this.stopped) return;
    this.owned.add(partition, () => this.loadSteps(partition));
  }

  /** Replays `partition` in steps, then arms its groups; ends with whether it loaded. */
  private *loadSteps(partition: number): Generator<LoadStep, boolean, void> {
    const before = this.groups.size + this.consumer.groups.size;
    let records: number;
    try {
      records = yield* this.replayPartition(partition);
      // answer only from offsets on the ISR (a restarted leader's own tail is not the partition's state)
      const storage = this.storage;
      if (storage.whenLogCommitted !== undefined) yield* untilLogCommitted(() => storage.whenLogCommitted!(partition), this.clock);
    } catch (e) {
      this.failed(`loading ${OFFSETS_TOPIC}-${partition}`, e);
      this.dropPartitionGroups(partition);
      return false;
    }
    this.afterReplay((groupId) => this.partitionFor(groupId) === partition);
    this.log.info(`group coordinator loaded ${OFFSETS_TOPIC}-${partition}: ${this.groups.size + this.consumer.groups.size - before} group(s) from ${records} record(s)`);
    return true;
  }

  /** This broker no longer leads `partition`: its groups are dropped, their parked requests answered NOT_COORDINATOR. */
  unloadPartition(partition: number): void {
    if (this.owned === null || !this.owned.remove(partition)) return;
    const dropped = this.dropPartitionGroups(partition);
    this.log.info(`group coordinator unloaded ${OFFSETS_TOPIC}-${partition} (${dropped} group(s))`);
  }

  /** NONE when this coordinator serves the group now, else NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS. */
  private unavailable(groupId: string): number {
    if (this.stopped) return ErrorCode.NOT_COORDINATOR;
    return this.owned === null ? ErrorCode.NONE : this.owned.errorFor(this.partitionFor(groupId));
  }

  /** Replays one partition of `__consumer_offsets` into the groups, in steps; the number of records applied. */
  private replayPartition(partition: number): Generator<void, number, void> {
    const sink = { replay: (key: Uint8Array, value: Uint8Array | null) => this.consumer.replay(key, value), offsetsOf: (id: string) => this.consumer.get(id)?.offsets };
    return offsetsPartitionReplay(this.storage, this.groups, partition, this.log, this.pendingTxnOffsets, sink);
  }

  /**
   * After a replay: arms the sessions of the loaded groups' members. A loaded group is kept even when it holds
   * nothing (an empty group's record, offsets all deleted or aborted), as Kafka keeps it until the
   * offsets.retention.check.interval.ms sweep writes its tombstone.
   */
  private afterReplay(loaded: (groupId: string) => boolean): void {
    for (const g of [...this.groups.values()]) {
      if (!loaded(g.groupId)) continue;
      for (const m of g.members.values()) this.scheduleSession(g, m, m.sessionTimeoutMs);
    }
    this.consumer.afterLoad(loaded);
  }

  /** Forgets every group of `partition` (classic and consumer) and its pending transactional offsets. */
  private dropPartitionGroups(partition: number): number {
    const inPartition = (groupId: string) => this.partitionFor(groupId) === partition;
    let dropped = 0;
    for (const g of [...this.groups.values()]) {
      if (!inPartition(g.groupId)) continue;
      for (const m of g.members.values()) {
        this.clearSession(m);
        this.completeJoin(m, joinError(m.memberId, ErrorCode.NOT_COORDINATOR));
        this.completeSync(m, syncError(ErrorCode.NOT_COORDINATOR));
      }
      this.killGroup(g, false);
      dropped++;
    }
    dropped += this.consumer.unload(inPartition);
    this.pendingTxnOffsets.dropAll(inPartition);
    return dropped;
  }

  /** Cancels every timer and answers parked requests with NOT_COORDINATOR. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.expiryTimer !== null) this.clock.clearTimer(this.expiryTimer);
    this.expiryTimer = null;
    this.owned?.clear();
    this.consumer.stop();
    for (const g of this.groups.values()) {
      this.clearJoinTimer(g);
      this.clearSyncTimer(g);
      for (const t of g.pendingMembers.values()) this.clock.clearTimer(t);
      g.pendingMembers.clear();
      for (const m of g.members.values()) {
        this.clearSession(m);
        this.completeJoin(m, joinError(m.memberId, ErrorCode.NOT_COORDINATOR));
        this.completeSync(m, syncError(ErrorCode.NOT_COORDINATOR));
      }
    }
  }

  /** Creates `__consumer_offsets` when missing; returns its partition count (throws when it cannot be created). */
  ensureOffsetsTopic(): number {
    const n = this.storage.partitionCount();
    if (n > 0) return n;
    const created = this.storage.ensureTopic(this.config.offsetsTopicPartitions, {
      "cleanup.policy": "compact",
      "compression.type": "producer",
      "segment.bytes": String(this.config.offsetsTopicSegmentBytes),
    });
    this.log.info(`created ${OFFSETS_TOPIC} with ${created} partition(s)`);
    return created;
  }

  /** The `__consumer_offsets` partition of a group. */
  partitionFor(groupId: string): number {
    const n = this.storage.partitionCount();
    return offsetsPartitionFor(groupId, n > 0 ? n : this.config.offsetsTopicPartitions);
  }

  /** The state of a group (classic or consumer), or null when unknown. */
  groupState(groupId: string): string | null {
    return this.groups.get(groupId)?.state ?? this.consumer.get(groupId)?.state ?? null;
  }

  // -------------------------------------------------------------------------------------------------------------
  // KIP-848 consumer groups

  /** Handles a ConsumerGroupHeartbeat. */
  consumerGroupHeartbeat(req: ConsumerGroupHeartbeatInput): Promise<ConsumerGroupHeartbeatOutcome> {
    const unavailable = this.unavailable(req.groupId);
    if (unavailable !== ErrorCode.NONE) return Promise.resolve({ errorCode: unavailable, errorMessage: null, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null });
    return this.consumer.heartbeat(req);
  }

  /** ConsumerGroupDescribe of one group. */
  describeConsumerGroup(groupId: string): ConsumerGroupDescription {
    const unavailable = this.unavailable(groupId);
    if (unavailable !== ErrorCode.NONE) return { errorCode: unavailable, errorMessage: null, groupId, groupState: "", groupEpoch: 0, assignmentEpoch: 0, assignorName: "", members: [] };
    return this.consumer.describe(groupId);
  }

  /** Rebuilds a classic group from a consumer group's classic members and makes them rejoin (online downgrade). */
  private downgradeToClassic(mg: { groupId: string; groupEpoch: number; offsets: GroupOffsets }, members: readonly ModernMember[], assignments: ReadonlyMap<string, Uint8Array>): void {
    const g = new ClassicGroup(mg.groupId);
    for (const k of mg.offsets.keys()) g.offsets.set(k.topic, k.partition, mg.offsets.get(k.topic, k.partition)!);
    for (const m of members) {
      const member = new GroupMember({
        memberId: m.memberId,
        groupInstanceId: m.instanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.classic!.sessionTimeoutMs,
        protocolType: CONSUMER_PROTOCOL_TYPE,
        protocols: m.classic!.supportedProtocols.map((p) => ({ name: p.name, metadata: p.metadata })),
      });
      member.assignment = assignments.get(m.memberId) ?? EMPTY_BYTES;
      g.add(member);
    }
    g.generationId = mg.groupEpoch;
    g.protocolName = g.selectProtocol();
    g.subscribedTopics = g.computeSubscribedTopics();
    g.state = "Stable";
    g.previousState = "Stable";
    g.stateTimestampMs = this.clock.nowMs();
    this.groups.set(g.groupId, g);
    const appended = this.appendGroupRecord(g, null);
    if (!appended.ok) this.log.warn(`group ${g.groupId}: could not persist the downgraded group (${appended.errorCode})`);
    for (const m of g.members.values()) this.scheduleSession(g, m, m.sessionTimeoutMs);
    this.prepareRebalance(g, "the group was converted from a consumer group (online downgrade)");
  }

  /**
   * A classic JoinGroup for an id held by an empty consumer group: it is replaced by a classic group (its offsets
   * kept). Returns NONE when the join may go on.
   */
  private convertEmptyConsumerGroup(groupId: string): number {
    const mg = this.consumer.get(groupId);
    if (mg === undefined) return ErrorCode.NONE;
    const records = this.consumer.deletionRecords(mg);
    const appended = this.append(groupId, records, false);
    if (!appended.ok) return appended.errorCode;
    this.consumer.applyAppended(groupId, records);
    this.log.info(`group ${groupId}: empty consumer group converted to a classic group`);
    return ErrorCode.NONE;
  }

  // -------------------------------------------------------------------------------------------------------------
  // JoinGroup

  /** Handles a JoinGroup; the promise settles when the member's join phase completes or fails. */
  joinGroup(req: JoinGroupInput): Promise<JoinGroupOutcome> {
    const unavailable = this.unavailable(req.groupId);
    if (unavailable !== ErrorCode.NONE) return Promise.resolve(joinError(req.memberId, unavailable));
    if (req.groupId === "") return Promise.resolve(joinError(req.memberId, ErrorCode.INVALID_GROUP_ID));
    if (req.sessionTimeoutMs < this.config.minSessionTimeoutMs || req.sessionTimeoutMs > this.config.maxSessionTimeoutMs) {
      return Promise.resolve(joinError(req.memberId, ErrorCode.INVALID_SESSION_TIMEOUT));
    }
    if (req.protocols.length > MAX_PROTOCOLS_PER_MEMBER) return Promise.resolve(joinError(req.memberId, ErrorCode.INVALID_REQUEST));
    const mg = this.consumer.get(req.groupId);
    if (mg !== undefined && mg.members.size > 0) return this.consumer.classicJoin(mg, req);
    const converted = this.convertEmptyConsumerGroup(req.groupId);
    if (converted !== ErrorCode.NONE) return Promise.resolve(joinError(req.memberId, converted));
    const isUnknown = req.memberId === "";
    let group = this.groups.get(req.groupId);
    if (group === undefined) {
      if (!isUnknown) return Promise.resolve(joinError(req.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      if (this.groups.size >= MAX_GROUPS) return Promise.resolve(joinError("", ErrorCode.COORDINATOR_NOT_AVAILABLE));
      group = new ClassicGroup(req.groupId);
      // Kafka writes an empty group's metadata (generation 0, no members) for a group its JoinGroup creates, so the
      // group survives a restart even when this join only hands out MEMBER_ID_REQUIRED or fails; a failed write
      // drops the group again and answers its error.
      const appended = this.appendGroupRecord(group, null);
      if (!appended.ok) return Promise.resolve(joinError("", appended.errorCode));
      this.groups.set(req.groupId, group);
    }
    const g = group;
    // A group a JoinGroup created or found stays, even when this join fails and it holds nothing (Kafka writes an
    // empty group's metadata for it): ListGroups and DescribeGroups show it Empty until DeleteGroups or the
    // offsets.retention.check.interval.ms sweep (expireOffsets) removes it.
    if (!this.acceptJoiningMember(g, req.memberId)) {
      const existing = g.members.get(req.memberId);
      if (existing !== undefined) this.removeMemberAndUpdateGroup(g, existing, "group is over capacity");
      return Promise.resolve(joinError("", ErrorCode.GROUP_MAX_SIZE_REACHED));
    }
    return new Promise<JoinGroupOutcome>((resolve) => {
      if (isUnknown) this.joinNewMember(g, req, resolve);
      else this.joinExistingMember(g, req, resolve);
    });
  }

  private acceptJoiningMember(g: ClassicGroup, memberId: string): boolean {
    const max = this.config.maxSize;
    switch (g.state) {
      case "Empty":
      case "Dead":
        return true;
      case "PreparingRebalance": {
        const m = g.members.get(memberId);
        return (m !== undefined && m.awaitingJoin !== null) || g.numAwaitingJoin() < max;
      }
      case "CompletingRebalance":
      case "Stable":
        return g.members.has(memberId) || g.size < max;
    }
  }

  private joinNewMember(g: ClassicGroup, req: JoinGroupInput, resolve: (r: JoinGroupOutcome) => void): void {
    if (g.is("Dead")) return resolve(joinError("", ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (!g.supportsProtocols(req.protocolType, req.protocols)) return resolve(joinError("", ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    const newMemberId = `${req.groupInstanceId ?? req.clientId}-${this.randomId()}`;
    if (req.groupInstanceId !== null) {
      const existing = g.staticMemberId(req.groupInstanceId);
      if (existing !== undefined) return this.updateStaticMember(g, req, existing, newMemberId, resolve);
      this.log.info(`group ${g.groupId}: new static member ${req.groupInstanceId} joins as ${newMemberId}`);
      return this.addMemberThenRebalanceOrCompleteJoin(g, req, newMemberId, resolve);
    }
    if (req.requireKnownMemberId) {
      if (g.pendingMembers.size >= MAX_PENDING_MEMBERS_PER_GROUP) return resolve(joinError("", ErrorCode.GROUP_MAX_SIZE_REACHED));
      const timer = this.clock.setTimer(() => this.expirePendingMember(g, newMemberId), req.sessionTimeoutMs);
      g.pendingMembers.set(newMemberId, timer);
      return resolve(joinError(newMemberId, ErrorCode.MEMBER_ID_REQUIRED));
    }
    this.addMemberThenRebalanceOrCompleteJoin(g, req, newMemberId, resolve);
  }

  private joinExistingMember(g: ClassicGroup, req: JoinGroupInput, resolve: (r: JoinGroupOutcome) => void): void {
    const memberId = req.memberId;
    if (g.is("Dead")) return resolve(joinError(memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (!g.supportsProtocols(req.protocolType, req.protocols)) return resolve(joinError(memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    if (g.pendingMembers.has(memberId)) {
      if (req.groupInstanceId !== null) return resolve(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      return this.addMemberThenRebalanceOrCompleteJoin(g, req, memberId, resolve);
    }
    const invalid = this.validateMember(g, memberId, req.groupInstanceId);
    if (invalid !== ErrorCode.NONE) return resolve(joinError(memberId, invalid));
    const member = g.members.get(memberId)!;
    switch (g.state) {
      case "PreparingRebalance":
        return this.updateMemberThenRebalanceOrCompleteJoin(g, member, req, resolve, "member rejoins during PreparingRebalance");
      case "CompletingRebalance":
        if (member.matches(req.protocols)) {
          // A retry of a JoinGroup whose answer was lost: answer with the current generation again.
          return resolve(this.joinResult(g, member, g.isLeader(memberId), g.leaderId ?? "", false));
        }
        return this.updateMemberThenRebalanceOrCompleteJoin(g, member, req, resolve, "member changed its metadata during CompletingRebalance");
      case "Stable":
        if (g.isLeader(memberId)) {
          return this.updateMemberThenRebalanceOrCompleteJoin(g, member, req, resolve, "leader rejoins");
        }
        if (!member.matches(req.protocols)) {
          return this.updateMemberThenRebalanceOrCompleteJoin(g, member, req, resolve, `member ${memberId} changed its metadata`);
        }
        return resolve(this.joinResult(g, member, false, g.leaderId ?? "", false));
      default:
        this.log.warn(`group ${g.groupId}: member ${memberId} rejoins in unexpected state ${g.state}`);
        return resolve(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  private joinResult(g: ClassicGroup, member: GroupMember, withMembers: boolean, leader: string, skipAssignment: boolean): JoinGroupOutcome {
    return {
      errorCode: ErrorCode.NONE,
      generationId: g.generationId,
      protocolType: g.protocolType,
      protocolName: g.protocolName,
      leader,
      skipAssignment,
      memberId: member.memberId,
      members: withMembers ? g.currentMembers() : [],
    };
  }

  private addMemberThenRebalanceOrCompleteJoin(g: ClassicGroup, req: JoinGroupInput, memberId: string, resolve: (r: JoinGroupOutcome) => void): void {
    const member = new GroupMember({
      memberId,
      groupInstanceId: req.groupInstanceId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      sessionTimeoutMs: req.sessionTimeoutMs,
      protocolType: req.protocolType,
      protocols: req.protocols,
    });
    member.isNew = true;
    member.awaitingJoin = resolve;
    if (g.is("PreparingRebalance") && g.previousState === "Empty") g.newMemberAdded = true;
    const pendingTimer = g.pendingMembers.get(memberId);
    if (pendingTimer !== undefined) this.clock.clearTimer(pendingTimer);
    g.add(member);
    // A parked JoinGroup cannot heartbeat: a new member that vanishes is dropped after the new-member timeout.
    this.scheduleSession(g, member, this.config.newMemberJoinTimeoutMs);
    this.maybePrepareRebalanceOrCompleteJoin(g, `adding member ${memberId}${req.reason ? ` (${req.reason})` : ""}`);
  }

  private updateMember(member: GroupMember, req: JoinGroupInput, resolve: ((r: JoinGroupOutcome) => void) | null): void {
    member.protocols = req.protocols;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;
    // A superseded parked JoinGroup must still be answered: responses go out in request order per connection.
    this.completeJoin(member, joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    member.awaitingJoin = resolve;
  }

  private updateMemberThenRebalanceOrCompleteJoin(
    g: ClassicGroup,
    member: GroupMember,
    req: JoinGroupInput,
    resolve: (r: JoinGroupOutcome) => void,
    reason: string,
  ): void {
    this.updateMember(member, req, resolve);
    this.maybePrepareRebalanceOrCompleteJoin(g, reason);
  }

  /** A static member rejoining with an unknown member id (a restarted instance) replaces its old member id. */
  private updateStaticMember(g: ClassicGroup, req: JoinGroupInput, oldMemberId: string, newMemberId: string, resolve: (r: JoinGroupOutcome) => void): void {
    const instanceId = req.groupInstanceId!;
    const currentLeader = g.leaderId ?? "";
    const old = g.members.get(oldMemberId)!;
    // Fence the previous incarnation if it still waits on a join or sync.
    this.completeJoin(old, joinError(oldMemberId, ErrorCode.FENCED_INSTANCE_ID));
    this.completeSync(old, syncError(ErrorCode.FENCED_INSTANCE_ID));
    const member = g.replaceStaticMember(instanceId, oldMemberId, newMemberId);
    this.scheduleSession(g, member, member.sessionTimeoutMs);
    const saved = {
      protocols: member.protocols,
      rebalanceTimeoutMs: member.rebalanceTimeoutMs,
      sessionTimeoutMs: member.sessionTimeoutMs,
      clientId: member.clientId,
      clientHost: member.clientHost,
    };
    this.updateMember(member, req, resolve);
    this.log.info(`group ${g.groupId}: static member ${instanceId} rejoins as ${newMemberId} (was ${oldMemberId}) in state ${g.state}`);
    switch (g.state) {
      case "Stable": {
        if (g.protocolName !== g.selectProtocol()) {
          return this.maybePrepareRebalanceOrCompleteJoin(g, `static member ${instanceId} rejoined with a change of protocol`);
        }
        // Same protocol: no rebalance. Persist the new member id, then answer with the current generation.
        const generation = g.generationId;
        const appended = this.appendGroupRecord(g, null);
        const onResult = (code: number): void => {
          if (member.awaitingJoin !== resolve) return; // a rebalance already answered this JoinGroup
          if (g.members.get(newMemberId) !== member || g.generationId !== generation) {
            this.completeJoin(member, joinError(newMemberId, ErrorCode.REBALANCE_IN_PROGRESS));
            return;
          }
          if (code !== ErrorCode.NONE) {
            this.log.warn(`group ${g.groupId}: persisting static member ${instanceId} failed (${code}); reverting to ${oldMemberId}`);
            this.completeJoin(member, joinError("", code));
            Object.assign(member, saved);
            const back = g.replaceStaticMember(instanceId, newMemberId, oldMemberId);
            this.scheduleSession(g, back, back.sessionTimeoutMs);
            return;
          }
          if (req.supportsSkipAssignment) {
            const isLeader = g.isLeader(newMemberId);
            this.completeJoin(member, this.joinResult(g, member, isLeader, g.leaderId ?? "", isLeader));
          } else {
            // The old leader id keeps a rejoining static leader from recomputing an assignment nobody would get.
            this.completeJoin(member, this.joinResult(g, member, false, currentLeader, false));
          }
        };
        if (!appended.ok) return onResult(appended.errorCode);
        void appended.durable.then(onResult).catch((e) => this.failed("static member rejoin", e));
        return;
      }
      case "CompletingRebalance":
        // The leader may already be assigning to the old member id: rebalance so the new id gets its partitions.
        return this.prepareRebalance(g, `static member ${instanceId} rejoined during CompletingRebalance`);
      case "PreparingRebalance":
        return this.maybeCompleteJoinPhase(g);
      default:
        throw new Error(`group ${g.groupId}: static member ${instanceId} rejoined in state ${g.state}`);
    }
  }

  private maybePrepareRebalanceOrCompleteJoin(g: ClassicGroup, reason: string): void {
    if (g.canRebalance()) this.prepareRebalance(g, reason);
    else this.maybeCompleteJoinPhase(g);
  }

  private maybeCompleteJoinPhase(g: ClassicGroup): void {
    if (g.is("PreparingRebalance") && g.hasAllMembersJoined() && g.previousState !== "Empty") this.completeJoinPhase(g);
  }

  private prepareRebalance(g: ClassicGroup, reason: string): void {
    if (g.is("CompletingRebalance")) this.resetAndPropagateAssignmentWithError(g, ErrorCode.REBALANCE_IN_PROGRESS);
    this.removeSyncExpiration(g);
    const initial = g.is("Empty");
    if (initial) {
      const delay = this.config.initialRebalanceDelayMs;
      const remaining = Math.max(g.rebalanceTimeoutMs() - delay, 0);
      g.newMemberAdded = false;
      this.setJoinTimer(g, delay, () => this.tryCompleteInitialRebalance(g, delay, remaining));
    }
    const from = g.state;
    g.transitionTo("PreparingRebalance", this.clock);
    this.log.info(`group ${g.groupId}: preparing to rebalance from ${from}, generation ${g.generationId} (${reason})`);
    if (!initial) this.maybeCompleteJoinElseSchedule(g);
  }

  private maybeCompleteJoinElseSchedule(g: ClassicGroup): void {
    // No member left (only MEMBER_ID_REQUIRED ones pending): the rebalance timeout of no members is 0, and Kafka's
    // group is Empty at once; a 0 ms timer would let the next JoinGroup into the old generation first.
    if (g.hasAllMembersJoined() || g.isEmpty) this.completeJoinPhase(g);
    else this.setJoinTimer(g, g.rebalanceTimeoutMs(), () => this.completeJoinPhase(g));
  }

  private tryCompleteInitialRebalance(g: ClassicGroup, delayMs: number, remainingMs: number): void {
    g.joinTimer = null;
    if (g.newMemberAdded && remainingMs !== 0) {
      g.newMemberAdded = false;
      const nextDelay = Math.min(this.config.initialRebalanceDelayMs, remainingMs);
      const nextRemaining = Math.max(remainingMs - delayMs, 0);
      this.setJoinTimer(g, nextDelay, () => this.tryCompleteInitialRebalance(g, nextDelay, nextRemaining));
      return;
    }
    this.completeJoinPhase(g);
  }

  /** Ends the join phase: drops dynamic members that did not rejoin, starts the next generation, answers joins. */
  private completeJoinPhase(g: ClassicGroup): void {
    this.clearJoinTimer(g);
    if (!g.is("PreparingRebalance")) return;
    const dropped: string[] = [];
    for (const m of [...g.members.values()]) {
      if (m.awaitingJoin === null && !m.isStatic) {
        this.clearSession(m);
        this.completeSync(m, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
        g.remove(m.memberId);
        dropped.push(m.memberId);
      }
    }
    if (dropped.length > 0) this.log.info(`group ${g.groupId}: removed members that did not rejoin: ${dropped.join(", ")}`);
    if (!g.maybeElectNewJoinedLeader() && !g.isEmpty) {
      // Only static members remain and none rejoined: wait for them or for their sessions to expire.
      this.log.warn(`group ${g.groupId}: no member rejoined; waiting another rebalance timeout`);
      this.setJoinTimer(g, g.rebalanceTimeoutMs(), () => this.completeJoinPhase(g));
      return;
    }
    g.initNextGeneration(this.clock);
    if (g.is("Empty")) {
      this.log.info(`group ${g.groupId}: generation ${g.generationId} is empty`);
      const appended = this.appendGroupRecord(g, null);
      if (!appended.ok) this.log.warn(`group ${g.groupId}: could not persist the empty generation (${appended.errorCode})`);
      return;
    }
    this.log.info(`group ${g.groupId}: generation ${g.generationId} with ${g.size} member(s), protocol ${g.protocolName}, leader ${g.leaderId}`);
    for (const m of g.members.values()) {
      const isLeader = g.isLeader(m.memberId);
      this.completeJoin(m, this.joinResult(g, m, isLeader, g.leaderId ?? "", false));
      this.scheduleSession(g, m, m.sessionTimeoutMs);
      m.isNew = false;
      g.pendingSyncMembers.add(m.memberId);
    }
    const generation = g.generationId;
    this.clearSyncTimer(g);
    g.syncTimer = this.clock.setTimer(() => this.expirePendingSync(g, generation), g.rebalanceTimeoutMs());
  }

  private expirePendingSync(g: ClassicGroup, generation: number): void {
    g.syncTimer = null;
    if (generation !== g.generationId) return;
    if (!g.is("CompletingRebalance") && !g.is("Stable")) return;
    if (g.pendingSyncMembers.size === 0) return;
    const late = [...g.pendingSyncMembers];
    for (const id of late) {
      const m = g.members.get(id);
      if (m === undefined) continue;
      this.clearSession(m);
      this.completeJoin(m, joinError("", ErrorCode.UNKNOWN_MEMBER_ID));
      g.remove(id);
    }
    this.log.info(`group ${g.groupId}: removed members that did not send SyncGroup in time: ${late.join(", ")}`);
    this.prepareRebalance(g, "members did not sync in time");
  }

  private removeSyncExpiration(g: ClassicGroup): void {
    g.pendingSyncMembers.clear();
    this.clearSyncTimer(g);
  }

  private removePendingSyncMember(g: ClassicGroup, memberId: string): void {
    g.pendingSyncMembers.delete(memberId);
    if (g.is("CompletingRebalance") || g.is("Stable")) {
      if (g.pendingSyncMembers.size === 0) this.clearSyncTimer(g);
    } else this.clearSyncTimer(g);
  }

  // -------------------------------------------------------------------------------------------------------------
  // SyncGroup

  /** Handles a SyncGroup; a follower's promise settles when the leader's assignment is stored. */
  syncGroup(req: SyncGroupInput): Promise<SyncGroupOutcome> {
    const unavailable = this.unavailable(req.groupId);
    if (unavailable !== ErrorCode.NONE) return Promise.resolve(syncError(unavailable));
    if (req.groupId === "") return Promise.resolve(syncError(ErrorCode.INVALID_GROUP_ID));
    const mg = this.consumer.get(req.groupId);
    if (mg !== undefined) return Promise.resolve(this.consumer.classicSync(mg, req));
    const g = this.groups.get(req.groupId);
    if (g === undefined) return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    if (g.is("Dead")) return Promise.resolve(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    const invalid = this.validateMember(g, req.memberId, req.groupInstanceId);
    if (invalid !== ErrorCode.NONE) return Promise.resolve(syncError(invalid));
    if (req.generationId !== g.generationId) return Promise.resolve(syncError(ErrorCode.ILLEGAL_GENERATION));
    if ((req.protocolType !== null && req.protocolType !== g.protocolType) || (req.protocolName !== null && req.protocolName !== g.protocolName)) {
      return Promise.resolve(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    const member = g.members.get(req.memberId)!;
    switch (g.state) {
      case "Empty":
        return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      case "PreparingRebalance":
        return Promise.resolve(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      case "Stable":
        this.removePendingSyncMember(g, req.memberId);
        this.scheduleSession(g, member, member.sessionTimeoutMs);
        return Promise.resolve({ errorCode: ErrorCode.NONE, protocolType: g.protocolType, protocolName: g.protocolName, assignment: member.assignment });
      case "CompletingRebalance":
        break;
      default:
        throw new Error(`group ${g.groupId}: SyncGroup in state ${g.state}`);
    }
    return new Promise<SyncGroupOutcome>((resolve) => {
      this.completeSync(member, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      member.awaitingSync = resolve;
      this.removePendingSyncMember(g, req.memberId);
      if (!g.isLeader(req.memberId)) return;
      const assignment = new Map<string, Uint8Array>();
      for (const a of req.assignments) if (g.members.has(a.memberId)) assignment.set(a.memberId, a.assignment);
      const missing = [...g.members.keys()].filter((id) => !assignment.has(id));
      if (missing.length > 0) this.log.warn(`group ${g.groupId}: empty assignment for ${missing.join(", ")} in generation ${g.generationId}`);
      const generation = g.generationId;
      const appended = this.appendGroupRecord(g, assignment);
      const onResult = (code: number) => {
        if (!g.is("CompletingRebalance") || g.generationId !== generation) return;
        if (code !== ErrorCode.NONE) {
          this.resetAndPropagateAssignmentWithError(g, code);
          this.maybePrepareRebalanceOrCompleteJoin(g, `storing the assignment failed (${code})`);
          return;
        }
        for (const m of g.members.values()) m.assignment = assignment.get(m.memberId) ?? EMPTY_BYTES;
        this.propagateAssignment(g, ErrorCode.NONE);
        g.transitionTo("Stable", this.clock);
        this.log.info(`group ${g.groupId}: generation ${g.generationId} is stable`);
      };
      if (!appended.ok) onResult(appended.errorCode);
      else void appended.durable.then(onResult).catch((e) => this.failed("storing an assignment", e));
    });
  }

  private resetAndPropagateAssignmentWithError(g: ClassicGroup, errorCode: number): void {
    if (!g.is("CompletingRebalance")) throw new Error(`group ${g.groupId} must be CompletingRebalance, is ${g.state}`);
    for (const m of g.members.values()) m.assignment = EMPTY_BYTES;
    this.propagateAssignment(g, errorCode);
  }

  private propagateAssignment(g: ClassicGroup, errorCode: number): void {
    const ok = errorCode === ErrorCode.NONE;
    for (const m of g.members.values()) {
      const sent = this.completeSync(m, {
        errorCode,
        protocolType: ok ? g.protocolType : null,
        protocolName: ok ? g.protocolName : null,
        assignment: m.assignment,
      });
      if (sent) this.scheduleSession(g, m, m.sessionTimeoutMs);
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Heartbeat and LeaveGroup

  /** Handles a Heartbeat; returns its error code. */
  heartbeat(req: HeartbeatInput): number {
    const unavailable = this.unavailable(req.groupId);
    if (unavailable !== ErrorCode.NONE) return unavailable;
    if (req.groupId === "") return ErrorCode.INVALID_GROUP_ID;
    const mg = this.consumer.get(req.groupId);
    if (mg !== undefined) return this.consumer.classicHeartbeat(mg, req);
    const g = this.groups.get(req.groupId);
    if (g === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (g.is("Dead")) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const invalid = this.validateMember(g, req.memberId, req.groupInstanceId);
    if (invalid !== ErrorCode.NONE) return invalid;
    if (req.generationId !== g.generationId) return ErrorCode.ILLEGAL_GENERATION;
    const member = g.members.get(req.memberId)!;
    switch (g.state) {
      case "Empty":
        return ErrorCode.UNKNOWN_MEMBER_ID;
      case "PreparingRebalance":
        this.scheduleSession(g, member, member.sessionTimeoutMs);
        return ErrorCode.REBALANCE_IN_PROGRESS;
      default:
        // CompletingRebalance too: members may heartbeat between their JoinGroup and SyncGroup.
        this.scheduleSession(g, member, member.sessionTimeoutMs);
        return ErrorCode.NONE;
    }
  }

  /** LeaveGroup for either kind of group: a consumer group's members leave once their removal is durable. */
  leaveAnyGroup(groupId: string, leaving: readonly LeavingMember[]): Promise<LeaveGroupOutcome> {
    const mg = this.unavailable(groupId) !== ErrorCode.NONE ? undefined : this.consumer.get(groupId);
    if (mg !== undefined) return this.consumer.classicLeave(mg, leaving);
    return Promise.resolve(this.leaveGroup(groupId, leaving));
  }

  /** Handles a LeaveGroup of one or more members (v3+ batches; static members may be removed by instance id). */
  leaveGroup(groupId: string, leaving: readonly LeavingMember[]): LeaveGroupOutcome {
    const unavailable = this.unavailable(groupId);
    if (unavailable !== ErrorCode.NONE) return { errorCode: unavailable, members: [] };
    if (groupId === "") return { errorCode: ErrorCode.INVALID_GROUP_ID, members: [] };
    const g = this.groups.get(groupId);
    const result = (m: LeavingMember, errorCode: number) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode });
    if (g === undefined) return { errorCode: ErrorCode.NONE, members: leaving.map((m) => result(m, ErrorCode.UNKNOWN_MEMBER_ID)) };
    if (g.is("Dead")) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    const members: LeaveGroupOutcome["members"] = [];
    let removed = 0;
    for (const m of leaving) {
      const why = m.reason ? ` (${m.reason})` : "";
      if (m.memberId === "") {
        const id = m.groupInstanceId === null ? undefined : g.staticMemberId(m.groupInstanceId);
        if (id === undefined) {
          members.push(result(m, ErrorCode.UNKNOWN_MEMBER_ID));
          continue;
        }
        this.removeCurrentMember(g, g.members.get(id)!, `static member ${m.groupInstanceId} removed${why}`);
      } else if (g.pendingMembers.has(m.memberId)) {
        this.clock.clearTimer(g.pendingMembers.get(m.memberId));
        g.pendingMembers.delete(m.memberId);
      } else {
        const invalid = this.validateMember(g, m.memberId, m.groupInstanceId);
        if (invalid !== ErrorCode.NONE) {
          members.push(result(m, invalid));
          continue;
        }
        this.removeCurrentMember(g, g.members.get(m.memberId)!, `member ${m.memberId} left${why}`);
      }
      removed++;
      members.push(result(m, ErrorCode.NONE));
    }
    if (removed > 0) {
      if (g.is("Stable") || g.is("CompletingRebalance")) this.maybePrepareRebalanceOrCompleteJoin(g, "members left the group");
      else if (g.is("PreparingRebalance")) this.maybeCompleteJoinPhase(g);
    }
    return { errorCode: ErrorCode.NONE, members };
  }

  private removeCurrentMember(g: ClassicGroup, member: GroupMember, reason: string): void {
    this.clearSession(member);
    this.completeJoin(member, joinError("", ErrorCode.UNKNOWN_MEMBER_ID));
    this.completeSync(member, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    g.remove(member.memberId);
    this.log.info(`group ${g.groupId}: ${reason}`);
  }

  private removeMemberAndUpdateGroup(g: ClassicGroup, member: GroupMember, reason: string): void {
    this.removeCurrentMember(g, member, reason);
    if (g.is("Stable") || g.is("CompletingRebalance")) this.maybePrepareRebalanceOrCompleteJoin(g, reason);
    else if (g.is("PreparingRebalance") && g.hasAllMembersJoined()) this.completeJoinPhase(g);
  }

  private expirePendingMember(g: ClassicGroup, memberId: string): void {
    if (!g.pendingMembers.delete(memberId)) return;
    this.log.info(`group ${g.groupId}: pending member ${memberId} did not join within its session timeout`);
    if (g.is("PreparingRebalance") && g.hasAllMembersJoined()) this.completeJoinPhase(g);
    this.maybeDropUnused(g);
  }

  private validateMember(g: ClassicGroup, memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const existing = g.staticMemberId(groupInstanceId);
      if (existing === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (existing !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
      return ErrorCode.NONE;
    }
    return g.members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Sessions and timers

  private scheduleSession(g: ClassicGroup, member: GroupMember, timeoutMs: number): void {
    this.clearSession(member);
    member.sessionTimer = this.clock.setTimer(() => this.expireSession(g, member), timeoutMs);
  }

  private clearSession(member: GroupMember): void {
    if (member.sessionTimer !== null) this.clock.clearTimer(member.sessionTimer);
    member.sessionTimer = null;
  }

  private expireSession(g: ClassicGroup, member: GroupMember): void {
    member.sessionTimer = null;
    if (g.is("Dead") || g.members.get(member.memberId) !== member) return;
    // A member parked in a rebalance is alive (its answer re-arms the session), unless it is new.
    if (!member.isNew && (member.awaitingJoin !== null || member.awaitingSync !== null)) return;
    this.removeMemberAndUpdateGroup(g, member, `member ${member.memberId} failed: no heartbeat within ${member.isNew ? this.config.newMemberJoinTimeoutMs : member.sessionTimeoutMs} ms`);
  }

  private setJoinTimer(g: ClassicGroup, ms: number, fn: () => void): void {
    this.clearJoinTimer(g);
    g.joinTimer = this.clock.setTimer(fn, ms);
  }

  private clearJoinTimer(g: ClassicGroup): void {
    if (g.joinTimer !== null) this.clock.clearTimer(g.joinTimer);
    g.joinTimer = null;
  }

  private clearSyncTimer(g: ClassicGroup): void {
    if (g.syncTimer !== null) this.clock.clearTimer(g.syncTimer);
    g.syncTimer = null;
  }

  private completeJoin(member: GroupMember, outcome: JoinGroupOutcome): boolean {
    const cb = member.awaitingJoin;
    if (cb === null) return false;
    member.awaitingJoin = null;
    cb(outcome);
    return true;
  }

  private completeSync(member: GroupMember, outcome: SyncGroupOutcome): boolean {
    const cb = member.awaitingSync;
    if (cb === null) return false;
    member.awaitingSync = null;
    cb(outcome);
    return true;
  }

  /** Forgets a group that holds nothing (no members, pending members, offsets or protocol). */
  private maybeDropUnused(g: ClassicGroup): void {
    if (g.is("Empty") && g.isEmpty && g.pendingMembers.size === 0 && g.offsets.size === 0 && g.generationId === 0 && g.protocolType === null) {
      if (this.groups.get(g.groupId) === g) this.groups.delete(g.groupId);
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Offsets

  /** Handles an OffsetCommit; resolves to one error code per input offset, in order. */
  commitOffsets(req: OffsetCommitInput): Promise<number[]> {
    const all = (code: number) => Promise.resolve(req.offsets.map(() => code));
    const unavailable = this.unavailable(req.groupId);
    if (unavailable !== ErrorCode.NONE) return all(unavailable);
    if (req.groupId === "") return all(ErrorCode.INVALID_GROUP_ID);
    const mg = this.consumer.get(req.groupId);
    if (mg !== undefined) {
      const invalid = this.consumer.validateOffsetCommit(mg, req.memberId, req.generationId, req.apiVersion ?? 9, false);
      if (invalid === ErrorCode.STALE_MEMBER_EPOCH) {
        // KIP-1251: an older epoch is accepted when the member has held every partition of the commit since then.
        const held = req.offsets.every((o) => this.consumer.ownsSinceEpoch(mg, req.memberId, req.generationId, o.topic, o.partition));
        if (!held) return all(invalid);
        return this.writeOffsets(mg.groupId, mg.offsets, req, () => {});
      }
      if (invalid !== ErrorCode.NONE) return all(invalid);
      return this.writeOffsets(mg.groupId, mg.offsets, req, () => {});
    }
    let g = this.groups.get(req.groupId);
    if (g === undefined) {
      if (req.generationId >= 0) return all(req.unknownGroupErrorCode ?? ErrorCode.ILLEGAL_GENERATION);
      if (this.groups.size >= MAX_GROUPS) return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      // A commit from outside group management creates a "simple" group that only holds offsets.
      g = new ClassicGroup(req.groupId);
      this.groups.set(req.groupId, g);
    }
    const invalid = this.validateOffsetCommit(g, req);
    if (invalid !== ErrorCode.NONE) {
      this.maybeDropUnused(g);
      return all(invalid);
    }
    const classic = g;
    return this.writeOffsets(g.groupId, g.offsets, req, () => this.maybeDropUnused(classic));
  }

  /** Writes the offsets of a validated commit; `unused` runs when nothing was written. */
  private writeOffsets(groupId: string, offsets: GroupOffsets, req: OffsetCommitInput, unused: () => void): Promise<number[]> {
    const codes = req.offsets.map(() => ErrorCode.NONE as number);
    const records: PendingRecord[] = [];
    const accepted: { i: number; value: CommittedOffset }[] = [];
    const now = this.clock.nowMs();
    const expireTimestamp = req.retentionTimeMs >= 0 ? now + req.retentionTimeMs : -1;
    let newKeys = 0;
    for (let i = 0; i < req.offsets.length; i++) {
      const o = req.offsets[i];
      const metadata = o.metadata ?? "";
      if (metadata.length > this.config.offsetMetadataMaxBytes) {
        codes[i] = ErrorCode.OFFSET_METADATA_TOO_LARGE;
        continue;
      }
      if (!offsets.has(o.topic, o.partition) && offsets.size + ++newKeys > MAX_OFFSETS_PER_GROUP) {
        codes[i] = ErrorCode.INVALID_COMMIT_OFFSET_SIZE;
        continue;
      }
      const value: CommittedOffset = { offset: o.offset, leaderEpoch: o.leaderEpoch, metadata, commitTimestamp: now, expireTimestamp };
      records.push({ key: encodeOffsetCommitKey(groupId, o.topic, o.partition), value: encodeOffsetCommitValue(value) });
      accepted.push({ i, value });
    }
    if (records.length === 0) {
      unused();
      return Promise.resolve(codes);
    }
    const appended = this.append(groupId, records, true);
    if (!appended.ok) {
      for (const a of accepted) codes[a.i] = appended.errorCode;
      unused();
      return Promise.resolve(codes);
    }
    // Committed once the write is (acks=all, as Kafka's coordinator): a refused write never becomes the answer to
    // OffsetFetch. Writes to one partition settle in log order, so the last one acknowledged wins.
    return appended.durable.then((code) => {
      if (code !== ErrorCode.NONE) {
        for (const a of accepted) codes[a.i] = code;
        unused();
        return codes;
      }
      for (const a of accepted) offsets.set(req.offsets[a.i].topic, req.offsets[a.i].partition, a.value);
      return codes;
    });
  }

  private validateOffsetCommit(g: ClassicGroup, req: OffsetCommitInput): number {
    if (g.is("Dead")) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    // Generation -1 on an empty group: a standalone consumer or an admin client.
    if (req.generationId < 0 && g.is("Empty")) return ErrorCode.NONE;
    if (req.generationId >= 0 || req.memberId !== "" || req.groupInstanceId !== null) {
      const invalid = this.validateMember(g, req.memberId, req.groupInstanceId);
      if (invalid !== ErrorCode.NONE) return invalid;
      if (req.generationId !== g.generationId) return ErrorCode.ILLEGAL_GENERATION;
    } else if (!g.is("Empty")) {
      // No member id and no generation: only accepted while nobody consumes in the group.
      return ErrorCode.UNKNOWN_MEMBER_ID;
    }
    // Members have their new generation but no assignment yet: they must finish the rebalance first.
    if (g.is("CompletingRebalance")) return ErrorCode.REBALANCE_IN_PROGRESS;
    return ErrorCode.NONE;
  }

  /**
   * Handles an OffsetFetch for one group; `topics` null = every committed offset. `member` (OffsetFetch v9+) is
   * checked against a consumer group's member epochs (STALE_MEMBER_EPOCH, UNKNOWN_MEMBER_ID).
   */
  fetchOffsets(groupId: string, topics: readonly { topic: string; partitions: readonly number[] }[] | null, member?: { memberId: string | null; memberEpoch: number }): OffsetFetchOutcome {
    const unavailable = this.unavailable(groupId);
    if (unavailable !== ErrorCode.NONE) return { errorCode: unavailable, topics: [] };
    if (groupId === "") return { errorCode: ErrorCode.INVALID_GROUP_ID, topics: [] };
    const mg = this.consumer.get(groupId);
    if (mg !== undefined && member !== undefined) {
      const invalid = this.consumer.validateOffsetFetch(mg, member.memberId, member.memberEpoch);
      if (invalid !== ErrorCode.NONE) return { errorCode: invalid, topics: [] };
    }
    const g = this.groups.get(groupId);
    const known: { offsets: GroupOffsets } | undefined = mg ?? (g !== undefined && !g.is("Dead") ? g : undefined);
    if (topics === null) {
      if (known === undefined) return { errorCode: ErrorCode.NONE, topics: [] };
      const out: FetchedTopic[] = [];
      for (const topic of known.offsets.topics().sort()) {
        const parts = known.offsets.partitionsOf(topic)!;
        const partitions = [...parts.entries()]
          .sort((a, b) => a[0] - b[0])
          .map(([partition, c]) => ({ partition, offset: c.offset, leaderEpoch: c.leaderEpoch, metadata: c.metadata, errorCode: ErrorCode.NONE }));
        out.push({ topic, partitions });
      }
      return { errorCode: ErrorCode.NONE, topics: out };
    }
    return {
      errorCode: ErrorCode.NONE,
      topics: topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((partition) => {
          const c = known?.offsets.get(t.topic, partition);
          return c === undefined
            ? { partition, offset: -1n, leaderEpoch: -1, metadata: "", errorCode: ErrorCode.NONE }
            : { partition, offset: c.offset, leaderEpoch: c.leaderEpoch, metadata: c.metadata, errorCode: ErrorCode.NONE };
        }),
      })),
    };
  }

  /** Handles an OffsetDelete: removes offsets of topics the group does not subscribe to. */
  deleteOffsets(groupId: string, topics: readonly { topic: string; partitions: readonly number[] }[]): Promise<OffsetDeleteOutcome> {
    const fail = (errorCode: number) => Promise.resolve({ errorCode, topics: [] });
    const unavailable = this.unavailable(groupId);
    if (unavailable !== ErrorCode.NONE) return fail(unavailable);
    if (groupId === "") return fail(ErrorCode.INVALID_GROUP_ID);
    const mg = this.consumer.get(groupId);
    const cg = this.groups.get(groupId);
    let g: { groupId: string; offsets: GroupOffsets };
    let isSubscribed: (topic: string) => boolean;
    if (mg !== undefined) {
      const subscribedNow = mg.members.size > 0 ? this.consumer.subscribedTopicNames(mg) : new Set<string>();
      g = mg;
      isSubscribed = (topic) => subscribedNow.has(topic);
    } else {
      if (cg === undefined || cg.is("Dead")) return fail(ErrorCode.GROUP_ID_NOT_FOUND);
      if (!cg.is("Empty") && cg.protocolType !== CONSUMER_PROTOCOL_TYPE) return fail(ErrorCode.NON_EMPTY_GROUP);
      g = cg;
      isSubscribed = (topic) => !cg.is("Empty") && cg.isSubscribedTo(topic);
    }
    const out: OffsetDeleteOutcome = { errorCode: ErrorCode.NONE, topics: [] };
    const records: PendingRecord[] = [];
    const deleted: { topic: string; partition: number }[] = [];
    for (const t of topics) {
      const subscribed = isSubscribed(t.topic);
      const partitions = t.partitions.map((partition) => {
        if (subscribed) return { partition, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC };
        // a tombstone for a committed offset or a pending transactional one (it drops those too), as Kafka
        if (g.offsets.has(t.topic, partition) || this.pendingTxnOffsets.has(g.groupId, t.topic, partition)) {
          records.push({ key: encodeOffsetCommitKey(g.groupId, t.topic, partition), value: null });
          deleted.push({ topic: t.topic, partition });
        }
        return { partition, errorCode: ErrorCode.NONE };
      });
      out.topics.push({ topic: t.topic, partitions });
    }
    if (records.length === 0) return Promise.resolve(out);
    const appended = this.append(g.groupId, records, false);
    if (!appended.ok) return fail(appended.errorCode);
    for (const d of deleted) {
      g.offsets.delete(d.topic, d.partition);
      this.pendingTxnOffsets.drop(g.groupId, d.topic, d.partition);
    }
    return appended.durable.then((code) => (code === ErrorCode.NONE ? out : { errorCode: code, topics: [] }));
  }

  /**
   * Removes expired offsets (`offsets.retention.minutes`, KIP-211 rules) and then empty groups without offsets,
   * writing tombstones; resolves to the number of offsets removed. Runs every `offsets.retention.check.interval.ms`.
   */
  expireOffsets(): Promise<number> {
    if (this.stopped) return Promise.resolve(0);
    const now = this.clock.nowMs();
    const retention = this.config.offsetsRetentionMs;
    let removed = 0;
    const waits: Promise<number>[] = [];
    for (const g of [...this.groups.values()]) {
      if (g.is("Dead")) continue;
      let expired: { topic: string; partition: number }[] = [];
      if (g.protocolType === null) {
        expired = g.offsets.expired(now, retention, (c) => c.commitTimestamp, null);
      } else if (g.is("Empty")) {
        const since = g.stateTimestampMs;
        expired = g.offsets.expired(now, retention, (c) => (since >= 0 ? since : c.commitTimestamp), null);
      } else if (g.protocolType === CONSUMER_PROTOCOL_TYPE && g.subscribedTopics !== null && g.is("Stable")) {
        expired = g.offsets.expired(now, retention, (c) => c.commitTimestamp, g.subscribedTopics);
      }
      // as Kafka: an offset with a pending transactional offset does not expire yet, and a group with one stays
      const pending = this.pendingTxnOffsets.partitionsOf(g.groupId);
      if (pending.length > 0) expired = expired.filter((k) => !this.pendingTxnOffsets.has(g.groupId, k.topic, k.partition));
      const records: PendingRecord[] = expired.map((k) => ({ key: encodeOffsetCommitKey(g.groupId, k.topic, k.partition), value: null }));
      const dropGroup = g.is("Empty") && g.offsets.size - expired.length === 0 && g.pendingMembers.size === 0 && pending.length === 0;
      if (dropGroup) records.push({ key: encodeGroupMetadataKey(g.groupId), value: null });
      if (records.length === 0) continue;
      const appended = this.append(g.groupId, records, false);
      if (!appended.ok) {
        this.log.warn(`group ${g.groupId}: could not write expiry tombstones (${appended.errorCode})`);
        continue;
      }
      for (const k of expired) g.offsets.delete(k.topic, k.partition);
      removed += expired.length;
      if (expired.length > 0) this.log.info(`group ${g.groupId}: removed ${expired.length} expired offset(s)`);
      if (dropGroup) {
        this.killGroup(g);
        this.log.info(`group ${g.groupId}: removed (empty, no offsets left)`);
      }
      waits.push(appended.durable);
    }
    for (const mg of [...this.consumer.groups.values()]) {
      // Empty: everything expires from when the group became empty; else only topics no member subscribes to.
      const since = mg.stateTimestampMs;
      const expired = (mg.members.size === 0
        ? mg.offsets.expired(now, retention, (c) => (since >= 0 ? since : c.commitTimestamp), null)
        : mg.offsets.expired(now, retention, (c) => c.commitTimestamp, this.consumer.subscribedTopicNames(mg))
      ).filter((k) => !this.pendingTxnOffsets.has(mg.groupId, k.topic, k.partition));
      if (expired.length === 0) continue;
      const appended = this.append(mg.groupId, expired.map((k) => ({ key: encodeOffsetCommitKey(mg.groupId, k.topic, k.partition), value: null })), false);
      if (!appended.ok) {
        this.log.warn(`group ${mg.groupId}: could not write expiry tombstones (${appended.errorCode})`);
        continue;
      }
      for (const k of expired) mg.offsets.delete(k.topic, k.partition);
      removed += expired.length;
      this.log.info(`group ${mg.groupId}: removed ${expired.length} expired offset(s)`);
      waits.push(appended.durable);
    }
    return Promise.all(waits).then(() => removed);
  }

  /** Drops every group's committed offsets of a deleted topic (tombstones written), as Kafka does. */
  onTopicDeleted(topic: string): void {
    if (this.stopped || topic === OFFSETS_TOPIC) return;
    for (const g of [...this.groups.values(), ...this.consumer.groups.values()]) {
      const parts = g.offsets.partitionsOf(topic);
      if (parts === undefined) continue;
      const partitions = [...parts.keys()];
      const appended = this.append(g.groupId, partitions.map((p) => ({ key: encodeOffsetCommitKey(g.groupId, topic, p), value: null })), false);
      if (!appended.ok) {
        this.log.warn(`group ${g.groupId}: could not remove offsets of deleted topic ${topic} (${appended.errorCode})`);
        continue;
      }
      for (const p of partitions) g.offsets.delete(topic, p);
    }
  }

  private scheduleExpiry(): void {
    if (this.stopped) return;
    const every = this.config.offsetsRetentionCheckIntervalMs;
    if (!(every > 0)) return;
    this.expiryTimer = this.clock.setTimer(() => {
      this.expiryTimer = null;
      void this.expireOffsets().catch((e) => this.log.error(`offset expiry failed: ${(e as Error).stack ?? e}`));
      this.scheduleExpiry();
    }, every);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Transactional offsets (TxnOffsetCommit; the transaction coordinator writes the markers)

  /**
   * Handles a TxnOffsetCommit (the caller has checked the transaction): validates like an OffsetCommit (a request
   * without member and generation is accepted, as from kafkajs and TxnOffsetCommit v0-v2), writes the offsets to
   * `__consumer_offsets` as a transactional batch of the producer and holds them until the marker; resolves to one
   * error code per input offset, in order.
   */
  commitTransactionalOffsets(req: TxnOffsetCommitInput): Promise<number[]> {
    const all = (code: number) => Promise.resolve(req.offsets.map(() => code));
    const unavailable = this.unavailable(req.groupId);
    if (unavailable !== ErrorCode.NONE) return all(unavailable);
    if (req.groupId === "") return all(ErrorCode.INVALID_GROUP_ID);
    const mg = this.consumer.get(req.groupId);
    if (mg !== undefined) {
      // A producer without the consumer's group metadata (no member, epoch -1) is accepted, as Kafka does.
      const anonymous = req.generationId < 0 && req.memberId === "";
      const invalid = anonymous ? ErrorCode.NONE : this.consumer.validateOffsetCommit(mg, req.memberId, req.generationId, 9, true);
      if (invalid !== ErrorCode.NONE) return all(invalid);
    }
    let g: ClassicGroup | { groupId: string } | undefined = mg ?? this.groups.get(req.groupId);
    if (g === undefined) {
      if (req.generationId >= 0) return all(ErrorCode.ILLEGAL_GENERATION);
      if (this.groups.size >= MAX_GROUPS) return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      const created = new ClassicGroup(req.groupId);
      this.groups.set(req.groupId, created);
      g = created;
    }
    const classic = g instanceof ClassicGroup ? g : null;
    const unused = () => {
      if (classic !== null) this.maybeDropUnused(classic);
    };
    let invalid: number = ErrorCode.NONE;
    if (classic === null) invalid = ErrorCode.NONE;
    else if (classic.is("Dead")) invalid = ErrorCode.COORDINATOR_NOT_AVAILABLE;
    else if (req.generationId >= 0 || req.memberId !== "" || req.groupInstanceId !== null) {
      invalid = this.validateMember(classic, req.memberId, req.groupInstanceId);
      if (invalid === ErrorCode.NONE && req.generationId !== classic.generationId) invalid = ErrorCode.ILLEGAL_GENERATION;
    }
    if (invalid !== ErrorCode.NONE) {
      unused();
      return all(invalid);
    }
    if (!this.pendingTxnOffsets.hasRoomFor(req.offsets.length)) return all(ErrorCode.INVALID_COMMIT_OFFSET_SIZE);
    const codes = req.offsets.map(() => ErrorCode.NONE as number);
    const records: PendingRecord[] = [];
    const accepted: { i: number; value: CommittedOffset }[] = [];
    const now = this.clock.nowMs();
    for (let i = 0; i < req.offsets.length; i++) {
      const o = req.offsets[i];
      const metadata = o.metadata ?? "";
      if (metadata.length > this.config.offsetMetadataMaxBytes) {
        codes[i] = ErrorCode.OFFSET_METADATA_TOO_LARGE;
        continue;
      }
      const value: CommittedOffset = { offset: o.offset, leaderEpoch: o.leaderEpoch, metadata, commitTimestamp: now, expireTimestamp: -1 };
      records.push({ key: encodeOffsetCommitKey(g.groupId, o.topic, o.partition), value: encodeOffsetCommitValue(value) });
      accepted.push({ i, value });
    }
    if (records.length === 0) {
      unused();
      return Promise.resolve(codes);
    }
    const appended = this.append(g.groupId, records, true, { producerId: req.producerId, producerEpoch: req.producerEpoch });
    if (!appended.ok) {
      for (const a of accepted) codes[a.i] = appended.errorCode;
      unused();
      return Promise.resolve(codes);
    }
    for (const a of accepted) {
      const o = req.offsets[a.i];
      this.pendingTxnOffsets.add(req.producerId, { groupId: g.groupId, topic: o.topic, partition: o.partition, value: a.value });
    }
    return appended.durable.then((code) => {
      if (code !== ErrorCode.NONE) for (const a of accepted) codes[a.i] = code;
      return codes;
    });
  }

  /**
   * A COMMIT/ABORT marker of `producerId` was written to `__consumer_offsets` partition `partition`: its pending
   * offsets for groups of that partition become committed offsets (COMMIT) or are dropped (ABORT).
   */
  onTransactionCompleted(producerId: bigint, partition: number, commit: boolean): void {
    const taken = this.pendingTxnOffsets.take(producerId, (groupId) => this.partitionFor(groupId) === partition);
    // A group the TxnOffsetCommit created stays after an abort, empty, as in Kafka (and its replay creates it again).
    if (!commit) return;
    for (const o of taken) {
      const mg = this.consumer.get(o.groupId);
      if (mg !== undefined) {
        mg.offsets.set(o.topic, o.partition, o.value);
        continue;
      }
      let g = this.groups.get(o.groupId);
      if (g === undefined) {
        if (this.groups.size >= MAX_GROUPS) continue;
        g = new ClassicGroup(o.groupId);
        this.groups.set(o.groupId, g);
      }
      if (g.is("Dead")) continue;
      g.offsets.set(o.topic, o.partition, o.value);
    }
  }

  /** Whether a transaction holds an uncommitted offset for the group's partition (OffsetFetch requireStable). */
  hasPendingTransactionalOffset(groupId: string, topic: string, partition: number): boolean {
    return this.pendingTxnOffsets.has(groupId, topic, partition);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Admin

  /** ListGroups: groups whose state and type match the filters (empty filter = any; case-insensitive). */
  listGroups(statesFilter: readonly string[] = [], typesFilter: readonly string[] = []): ListedGroup[] {
    if (this.stopped) return [];
    const states = new Set(statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(typesFilter.map((s) => s.toLowerCase()));
    const out: ListedGroup[] = [];
    for (const g of this.groups.values()) {
      if (g.is("Dead")) continue;
      if (states.size > 0 && !states.has(g.state.toLowerCase())) continue;
      if (types.size > 0 && !types.has(CLASSIC_GROUP_TYPE)) continue;
      out.push({ groupId: g.groupId, protocolType: g.protocolType ?? "", state: g.state, type: CLASSIC_GROUP_TYPE });
    }
    for (const g of this.consumer.groups.values()) {
      const state = g.state;
      if (states.size > 0 && !states.has(state.toLowerCase())) continue;
      if (types.size > 0 && !types.has(CONSUMER_GROUP_TYPE)) continue;
      out.push({ groupId: g.groupId, protocolType: CONSUMER_PROTOCOL_TYPE, state, type: CONSUMER_GROUP_TYPE });
    }
    return out;
  }

  /** DescribeGroups for one group. */
  describeGroup(groupId: string): GroupDescription {
    const empty = (errorCode: number): GroupDescription => ({ errorCode, groupId, state: "Dead", protocolType: "", protocolData: "", members: [] });
    const unavailable = this.unavailable(groupId);
    if (unavailable !== ErrorCode.NONE) return empty(unavailable);
    if (groupId === "") return empty(ErrorCode.INVALID_GROUP_ID);
    if (this.consumer.get(groupId) !== undefined) return { ...empty(ErrorCode.GROUP_ID_NOT_FOUND), errorMessage: `Group ${groupId} is not a classic group.` };
    const g = this.groups.get(groupId);
    if (g === undefined || g.is("Dead")) return empty(ErrorCode.GROUP_ID_NOT_FOUND);
    const stable = g.is("Stable");
    const protocol = g.protocolName;
    return {
      errorCode: ErrorCode.NONE,
      groupId,
      state: g.state,
      protocolType: g.protocolType ?? "",
      protocolData: stable ? (protocol ?? "") : "",
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        metadata: stable && protocol !== null ? safeMetadata(m, protocol) : EMPTY_BYTES,
        // Kafka describes a member outside Stable without metadata but with the assignment it holds (emptied when
        // a rebalance starts from CompletingRebalance): ClassicGroupMember.describeNoMetadata.
        assignment: m.assignment,
      })),
    };
  }

  /** DeleteGroups: deletes empty groups with their offsets; one error code per id, in order. */
  deleteGroups(groupIds: readonly string[]): Promise<{ groupId: string; errorCode: number }[]> {
    const results = groupIds.map((groupId) => ({ groupId, errorCode: this.unavailable(groupId) as number }));
    const waits: Promise<void>[] = [];
    for (const r of results) {
      if (r.errorCode !== ErrorCode.NONE) continue;
      if (r.groupId === "") {
        r.errorCode = ErrorCode.INVALID_GROUP_ID;
        continue;
      }
      const mg = this.consumer.get(r.groupId);
      if (mg !== undefined) {
        if (mg.members.size > 0) {
          r.errorCode = ErrorCode.NON_EMPTY_GROUP;
          continue;
        }
        const { records, pending } = this.offsetTombstones(mg.groupId, mg.offsets);
        const groupRecords = this.consumer.deletionRecords(mg);
        const appended = this.append(mg.groupId, [...records, ...groupRecords], false);
        if (!appended.ok) {
          r.errorCode = appended.errorCode;
          continue;
        }
        mg.offsets.clear();
        for (const k of pending) this.pendingTxnOffsets.drop(mg.groupId, k.topic, k.partition);
        this.consumer.applyAppended(mg.groupId, groupRecords);
        this.log.info(`group ${mg.groupId}: deleted`);
        waits.push(appended.durable.then((code) => void (r.errorCode = code)));
        continue;
      }
      const g = this.groups.get(r.groupId);
      if (g === undefined || g.is("Dead")) {
        r.errorCode = ErrorCode.GROUP_ID_NOT_FOUND;
        continue;
      }
      if (!g.is("Empty")) {
        r.errorCode = ErrorCode.NON_EMPTY_GROUP;
        continue;
      }
      const { records, pending } = this.offsetTombstones(g.groupId, g.offsets);
      records.push({ key: encodeGroupMetadataKey(g.groupId), value: null });
      const appended = this.append(g.groupId, records, false);
      if (!appended.ok) {
        r.errorCode = appended.errorCode;
        continue;
      }
      for (const k of pending) this.pendingTxnOffsets.drop(g.groupId, k.topic, k.partition);
      this.killGroup(g);
      this.log.info(`group ${g.groupId}: deleted`);
      waits.push(appended.durable.then((code) => void (r.errorCode = code)));
    }
    return Promise.all(waits).then(() => results);
  }

  /**
   * The tombstones that delete a group's offsets: its committed ones, and its pending transactional ones (once each,
   * as Kafka's deleteAllOffsets; their replay drops the pending offsets), with the pending partitions to drop.
   */
  private offsetTombstones(groupId: string, offsets: GroupOffsets): { records: PendingRecord[]; pending: { topic: string; partition: number }[] } {
    const records: PendingRecord[] = offsets.keys().map((k) => ({ key: encodeOffsetCommitKey(groupId, k.topic, k.partition), value: null }));
    const pending = this.pendingTxnOffsets.partitionsOf(groupId);
    for (const k of pending) if (!offsets.has(k.topic, k.partition)) records.push({ key: encodeOffsetCommitKey(groupId, k.topic, k.partition), value: null });
    return { records, pending };
  }

  private failed(what: string, e: unknown): void {
    this.log.error(`group coordinator: ${what} failed: ${(e as Error)?.stack ?? e}`);
  }

  private killGroup(g: ClassicGroup, clearOffsets = true): void {
    this.clearJoinTimer(g);
    this.clearSyncTimer(g);
    for (const t of g.pendingMembers.values()) this.clock.clearTimer(t);
    g.pendingMembers.clear();
    if (clearOffsets) g.offsets.clear();
    g.transitionTo("Dead", this.clock);
    if (this.groups.get(g.groupId) === g) this.groups.delete(g.groupId);
  }

  /** The lag table of a group (see {@link describeGroupLag}); empty for an unknown group. */
  describeGroupLag(groupId: string): Promise<GroupLagRow[]> {
    return describeGroupLag(this.lagSource(), groupId);
  }

  /** This coordinator as a {@link GroupLagSource}. */
  lagSource(): GroupLagSource {
    return {
      describeGroup: (groupId) => {
        if (this.consumer.get(groupId) !== undefined) {
          const d = this.consumer.describe(groupId);
          return Promise.resolve({
            protocolType: CONSUMER_PROTOCOL_TYPE,
            members: d.members.map((m) => ({
              memberId: m.memberId,
              clientId: m.clientId,
              host: m.clientHost,
              assignment: encodeConsumerAssignment(m.assignment.topicPartitions.map((t) => ({ topic: t.topicName, partitions: t.partitions }))),
            })),
          });
        }
        const g = this.groups.get(groupId);
        if (g === undefined || g.is("Dead")) return Promise.resolve(null);
        return Promise.resolve({
          protocolType: g.protocolType ?? "",
          members: [...g.members.values()].map((m) => ({ memberId: m.memberId, clientId: m.clientId, host: m.clientHost, assignment: m.assignment })),
        });
      },
      committedOffsets: (groupId) => {
        const r = this.fetchOffsets(groupId, null);
        return Promise.resolve(r.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.topic, partition: p.partition, offset: p.offset }))));
      },
      logEndOffsets: (parts) => Promise.resolve(parts.map((p) => this.endOffsets?.logEndOffset(p.topic, p.partition) ?? null)),
    };
  }

  // -------------------------------------------------------------------------------------------------------------
  // Persistence

  private groupRecordValue(g: ClassicGroup, assignment: ReadonlyMap<string, Uint8Array> | null): GroupMetadataRecordValue {
    const protocol = g.protocolName;
    return {
      protocolType: g.protocolType ?? "",
      generation: g.generationId,
      protocol,
      leader: g.isEmpty ? null : g.leaderId,
      currentStateTimestamp: g.stateTimestampMs,
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.sessionTimeoutMs,
        subscription: protocol === null ? EMPTY_BYTES : safeMetadata(m, protocol),
        assignment: assignment === null ? m.assignment : (assignment.get(m.memberId) ?? EMPTY_BYTES),
      })),
    };
  }

  private appendGroupRecord(g: ClassicGroup, assignment: ReadonlyMap<string, Uint8Array> | null): AppendOutcome {
    const value = encodeGroupMetadataValue(this.groupRecordValue(g, assignment));
    return this.append(g.groupId, [{ key: encodeGroupMetadataKey(g.groupId), value }], false);
  }

  /** Appends records to the group's partition; the durable promise resolves to NONE or a response error code. */
  private append(groupId: string, records: readonly PendingRecord[], forCommit: boolean, txn?: TxnProducer): AppendOutcome {
    if (records.length === 0) throw new Error("append of no records");
    let partition: number;
    try {
      this.ensureOffsetsTopic();
      partition = this.partitionFor(groupId);
    } catch (e) {
      this.log.warn(`${OFFSETS_TOPIC} unavailable: ${(e as Error).message}`);
      return { ok: false, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    }
    const batches = this.buildBatches(records, txn);
    let durable: Promise<void>;
    try {
      durable = this.storage.append(partition, batches);
    } catch (e) {
      this.log.error(`append to ${OFFSETS_TOPIC}-${partition} failed: ${(e as Error).message}`);
      return { ok: false, errorCode: appendErrorCode(e, forCommit) };
    }
    return {
      ok: true,
      durable: durable.then(
        () => ErrorCode.NONE as number,
        (e) => {
          this.log.error(`${OFFSETS_TOPIC}-${partition} did not become durable: ${(e as Error).message}`);
          return appendErrorCode(e, forCommit);
        },
      ),
    };
  }

  private buildBatches(records: readonly PendingRecord[], txn?: TxnProducer): Uint8Array {
    const now = this.clock.nowMs();
    const out: Uint8Array[] = [];
    const opts = txn === undefined ? {} : { producerId: txn.producerId, producerEpoch: txn.producerEpoch, isTransactional: true };
    const b = this.builder.reset(opts);
    for (const r of records) {
      if (b.append(now, r.key, r.value)) continue;
      out.push(b.finish());
      b.reset(opts);
      if (!b.append(now, r.key, r.value)) throw new Error("a first record must always fit in a batch");
    }
    out.push(b.finish());
    return out.length === 1 ? out[0] : concatBytes(out);
  }
}

/** A member's metadata for `protocol`, or empty bytes when it does not carry that protocol. */
function safeMetadata(m: GroupMember, protocol: string): Uint8Array {
  for (const p of m.protocols) if (p.name === protocol) return p.metadata;
  return EMPTY_BYTES;
}

/** Kafka's mapping from an append failure to the error a group or commit response carries. */
function appendErrorCode(e: unknown, forCommit: boolean): number {
  const code = e instanceof KafkaError ? e.code : ErrorCode.KAFKA_STORAGE_ERROR;
  switch (code) {
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return ErrorCode.NOT_COORDINATOR;
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
    case ErrorCode.INVALID_FETCH_SIZE:
      return forCommit ? ErrorCode.INVALID_COMMIT_OFFSET_SIZE : ErrorCode.UNKNOWN_SERVER_ERROR;
    default:
      return code;
  }
}
