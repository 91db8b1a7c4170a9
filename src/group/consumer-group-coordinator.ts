/**
 * The KIP-848 consumer group protocol (ConsumerGroupHeartbeat, ConsumerGroupDescribe), following Kafka's
 * GroupMetadataManager:
 *
 * 1. a heartbeat creates or updates the member (subscription by topic names or RE2/J regex, server assignor,
 *    rebalance timeout, static instance id); a change of subscription or of the subscribed topics' metadata bumps the
 *    group epoch;
 * 2. when the group epoch is ahead of the target assignment epoch, the server assignor computes a new target
 *    assignment for every member;
 * 3. the member reconciles towards its target incrementally (see member-reconciliation.ts): partitions are revoked
 *    first and only handed to another member once released.
 *
 * Every change is a `__consumer_offsets` record in Kafka's layout (consumer-group-records.ts). State changes only
 * by replaying those records ({@link ConsumerGroupCoordinator.replay}), right after a successful append and again
 * when the partition is loaded at start, so a restart rebuilds exactly the same groups. Responses wait until the
 * records are durable. Sessions (`group.consumer.session.timeout.ms`) and rebalance timeouts are clock timers.
 */
import type { Clock } from "../platform/clock.ts";
import type { ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse } from "../protocol/generated/68_consumer_group_heartbeat.ts";
import type { ConsumerGroupDescribeResponseDescribedGroup, ConsumerGroupDescribeResponseTopicPartitions } from "../protocol/generated/69_consumer_group_describe.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { uuidFromHex, uuidHex } from "../protocol/uuid.ts";
import type { ClassicGroup } from "./consumer-group.ts";
import type { GroupConfig, GroupLogger } from "./group-config.ts";
import {
  ConsumerGroupRecordType as T,
  decodeConsumerGroupKey,
  decodeConsumerGroupValue,
  encodeConsumerGroupKey,
  encodeConsumerGroupMemberKey,
  encodeCurrentAssignmentValue,
  encodeGroupEpochValue,
  encodeMemberMetadataValue,
  encodePartitionMetadataValue,
  encodeTargetAssignmentMemberValue,
  encodeTargetAssignmentMetadataValue,
  encodeRegularExpressionValue,
  type AssignmentEpochs,
  type ClassicMemberMetadata,
  type TopicPartitionsById,
} from "./consumer-group-records.ts";
import { bytesEqual, type JoinGroupOutcome, type SyncGroupOutcome } from "./consumer-group.ts";
import { CONSUMER_PROTOCOL_TYPE, assignedPartitionsOf, encodeConsumerAssignment, readSubscription } from "./consumer-protocol.ts";
import type { HeartbeatInput, JoinGroupInput, LeaveGroupOutcome, LeavingMember, SyncGroupInput } from "./group-requests.ts";
import { reconcileMember, type OwnedPartitions } from "./member-reconciliation.ts";
import {
  LEAVE_GROUP_MEMBER_EPOCH,
  LEAVE_GROUP_STATIC_MEMBER_EPOCH,
  MemberState,
  ModernGroup,
  copyMember,
  copyPartitions,
  newMember,
  samePartitions,
  type ModernMember,
  type SubscribedTopic,
} from "./modern-group.ts";
import { assignorByName, type AssignorMember } from "./server-assignors.ts";
import { compileTopicRegex, topicRegexProblem, type TopicRegex } from "./topic-regex.ts";
import { GroupOffsets } from "./offset-store.ts";

/** Group type reported by ListGroups v5+ and DescribeGroups for KIP-848 groups. */
export const CONSUMER_GROUP_TYPE = "consumer";
/** ConsumerGroupDescribe v1 member type of a consumer-protocol member. */
const MEMBER_TYPE_CONSUMER = 1;
/** ConsumerGroupDescribe v1 member type of a classic-protocol member. */
const MEMBER_TYPE_CLASSIC = 0;
/** Most distinct regexes resolved per metadata version (a bound on the cache). */
const MAX_CACHED_REGEXES = 10_000;

/** The topics the coordinator can see (the broker's metadata). */
export interface TopicMetadataSource {
  /** A number that changes whenever a topic is created or deleted or gains partitions. */
  version(): number;
  /** A topic's id (hex) and partition count, or undefined. */
  topic(name: string): { idHex: string; numPartitions: number } | undefined;
  /** A topic's name by id (hex), or undefined. */
  topicName(idHex: string): string | undefined;
  /** Names of every non-internal topic (regex subscriptions match these). */
  topicNames(): Iterable<string>;
}

/** One topic's partitions on the wire (topic id bytes). */
export interface WireTopicPartitions {
  topicId: Uint8Array;
  partitions: number[];
}

/** A ConsumerGroupHeartbeat as the coordinator sees it (the v1 request plus where it came from). */
export type ConsumerGroupHeartbeatInput = Omit<ConsumerGroupHeartbeatRequest, "subscribedTopicRegex" | "topicPartitions" | "_unknownTags"> & {
  subscribedTopicRegex: string | null;
  topicPartitions: WireTopicPartitions[] | null;
  clientId: string;
  clientHost: string;
  /** Request version (v1+: the client generates the member id). */
  apiVersion: number;
};

/** The answer to a ConsumerGroupHeartbeat. */
export type ConsumerGroupHeartbeatOutcome = Omit<ConsumerGroupHeartbeatResponse, "throttleTimeMs" | "assignment" | "_unknownTags"> & {
  assignment: WireTopicPartitions[] | null;
};

/** One topic of a described assignment. */
export type DescribedTopicPartitions = ConsumerGroupDescribeResponseTopicPartitions;

/** A group as ConsumerGroupDescribe reports it. */
export type ConsumerGroupDescription = Omit<ConsumerGroupDescribeResponseDescribedGroup, "authorizedOperations" | "_unknownTags">;

/** A record to append: key and value (null = tombstone). */
export interface GroupRecord {
  key: Uint8Array;
  value: Uint8Array | null;
}

/** How the coordinator writes records: the promise resolves to NONE or an error code once durable. */
export type RecordAppender = (groupId: string, records: readonly GroupRecord[]) => { ok: true; durable: Promise<number> } | { ok: false; errorCode: number };

/** What this coordinator needs from the classic one (empty classic groups are converted). */
export interface ClassicGroups {
  /** The classic group with this id, if any. */
  get(groupId: string): ClassicGroup | undefined;
  /** Forgets an (empty) classic group, returning its committed offsets. */
  take(groupId: string): GroupOffsets;
  /** Keeps offsets of a deleted consumer group as a simple classic group (the group changed type). */
  adoptOffsets(groupId: string, offsets: GroupOffsets): void;
  /** The tombstone of a classic group's metadata record. */
  tombstone(groupId: string): GroupRecord;
  /** Replaces a consumer group whose members all use the classic protocol by a classic group (online downgrade). */
  downgrade(g: { groupId: string; groupEpoch: number; offsets: GroupOffsets }, members: readonly ModernMember[], assignments: ReadonlyMap<string, Uint8Array>): void;
}

/** A request-level failure: Kafka error code and message. */
class HeartbeatError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** What the coordinator is built from. */
export interface ConsumerGroupCoordinatorOptions {
  config: GroupConfig;
  clock: Clock;
  log: GroupLogger;
  metadata: TopicMetadataSource;
  append: RecordAppender;
  classic: ClassicGroups;
  /** A group's dynamic configs (IncrementalAlterConfigs on resource type GROUP), by Kafka key; default none. */
  groupConfigs?: (groupId: string) => Readonly<Record<string, string>>;
  /** Makes member ids for classic members joining without one. */
  randomId: () => string;
}

/** The KIP-848 consumer groups of one coordinator. */
export class ConsumerGroupCoordinator {
  /** Consumer groups by id. */
  readonly groups = new Map<string, ModernGroup>();
  private readonly config: GroupConfig;
  private readonly clock: Clock;
  private readonly log: GroupLogger;
  private readonly metadata: TopicMetadataSource;
  private readonly append: RecordAppender;
  private readonly classic: ClassicGroups;
  private readonly groupConfigs: (groupId: string) => Readonly<Record<string, string>>;
  private readonly randomId: () => string;
  private regexCache = new Map<string, Set<string>>();
  private regexCacheVersion = -1;
  private stopped = false;

  constructor(opts: ConsumerGroupCoordinatorOptions) {
    this.config = opts.config;
    this.clock = opts.clock;
    this.log = opts.log;
    this.metadata = opts.metadata;
    this.append = opts.append;
    this.classic = opts.classic;
    this.groupConfigs = opts.groupConfigs ?? (() => ({}));
    this.randomId = opts.randomId;
  }

  /** Arms the session of every loaded member of the groups `loaded` selects (after replaying `__consumer_offsets`). */
  afterLoad(loaded: (groupId: string) => boolean = () => true): void {
    for (const g of this.groups.values()) {
      if (!loaded(g.groupId)) continue;
      this.refreshRegexes(g, false);
      for (const m of g.members.values()) this.scheduleSession(g, m.memberId);
    }
  }

  /** Cancels every timer. */
  stop(): void {
    this.stopped = true;
    for (const g of this.groups.values()) this.clearTimers(g);
  }

  /** Forgets the groups `inPartition` selects (their partition moved to another coordinator); how many. */
  unload(inPartition: (groupId: string) => boolean): number {
    let dropped = 0;
    for (const g of [...this.groups.values()]) {
      if (!inPartition(g.groupId)) continue;
      this.clearTimers(g);
      this.groups.delete(g.groupId);
      dropped++;
    }
    return dropped;
  }

  /** The consumer group with this id, or undefined. */
  get(groupId: string): ModernGroup | undefined {
    return this.groups.get(groupId);
  }

  // -------------------------------------------------------------------------------------------------------------
  // ConsumerGroupHeartbeat

  /** Handles a ConsumerGroupHeartbeat (join, heartbeat, leave). */
  heartbeat(req: ConsumerGroupHeartbeatInput): Promise<ConsumerGroupHeartbeatOutcome> {
    const err = (code: number, message: string | null): ConsumerGroupHeartbeatOutcome => ({
      errorCode: code,
      errorMessage: message,
      memberId: null,
      memberEpoch: 0,
      heartbeatIntervalMs: 0,
      assignment: null,
    });
    if (this.stopped) return Promise.resolve(err(ErrorCode.NOT_COORDINATOR, null));
    try {
      this.validate(req);
      const isLeave = req.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH || req.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH;
      if (req.memberEpoch === 0 && !this.groups.has(req.groupId)) {
        const code = this.maybeUpgrade(req.groupId);
        if (code !== ErrorCode.NONE) return Promise.resolve(err(code, code === ErrorCode.GROUP_ID_NOT_FOUND ? `Group ${req.groupId} is not a consumer group.` : null));
      }
      const { records, outcome, after } = isLeave ? this.leave(req) : this.join(req);
      if (records.length === 0) {
        after?.();
        return Promise.resolve(outcome);
      }
      const appended = this.append(req.groupId, records);
      if (!appended.ok) return Promise.resolve(err(appended.errorCode, null));
      this.applyRecords(req.groupId, records);
      after?.();
      return appended.durable.then((code) => (code === ErrorCode.NONE ? outcome : err(code, null)));
    } catch (e) {
      if (e instanceof HeartbeatError) return Promise.resolve(err(e.code, e.message));
      throw e;
    }
  }

  private validate(req: ConsumerGroupHeartbeatInput): void {
    const invalid = (msg: string): never => {
      throw new HeartbeatError(ErrorCode.INVALID_REQUEST, msg);
    };
    if (req.apiVersion >= 1 || req.memberEpoch > 0 || req.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH) {
      if (req.memberId.trim() === "") invalid("MemberId can't be empty.");
    }
    if (req.groupId.trim() === "") invalid("GroupId can't be empty.");
    if (req.instanceId !== null && req.instanceId.trim() === "") invalid("InstanceId can't be empty.");
    if (req.rackId !== null && req.rackId.trim() === "") invalid("RackId can't be empty.");
    if (req.memberEpoch === 0) {
      if (req.rebalanceTimeoutMs === -1) invalid("RebalanceTimeoutMs must be provided in first request.");
      if (req.topicPartitions === null || req.topicPartitions.length > 0) invalid("TopicPartitions must be empty when (re-)joining.");
      if (req.subscribedTopicNames === null && req.subscribedTopicRegex === null) invalid("Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.");
    } else if (req.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      if (req.instanceId === null) invalid("InstanceId can't be null.");
    } else if (req.memberEpoch < LEAVE_GROUP_STATIC_MEMBER_EPOCH) invalid("MemberEpoch is invalid.");
    if (req.serverAssignor !== null && !this.config.consumerAssignors.includes(req.serverAssignor)) {
      throw new HeartbeatError(ErrorCode.UNSUPPORTED_ASSIGNOR, `ServerAssignor ${req.serverAssignor} is not supported. Supported assignors: ${this.config.consumerAssignors.join(", ")}.`);
    }
    if (req.subscribedTopicRegex !== null && req.subscribedTopicRegex !== "") {
      const problem = topicRegexProblem(req.subscribedTopicRegex);
      if (problem !== null) throw new HeartbeatError(ErrorCode.INVALID_REGULAR_EXPRESSION, `SubscribedTopicRegex \`${req.subscribedTopicRegex}\` is not a valid regular expression: ${problem}.`);
    }
  }

  private join(req: ConsumerGroupHeartbeatInput, classic: ClassicMemberMetadata | null = null, classicOwned: OwnedPartitions = null): { records: GroupRecord[]; outcome: ConsumerGroupHeartbeatOutcome; after?: () => void } {
    const records: GroupRecord[] = [];
    const groupId = req.groupId;
    const memberId = req.memberId;
    const createIfNotExists = req.memberEpoch === 0;
    let g = this.groups.get(groupId);
    if (g === undefined) {
      const classic = this.classic.get(groupId);
      if (classic !== undefined) {
        if (!createIfNotExists || !classic.isEmpty) throw new HeartbeatError(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} is not a consumer group.`);
        // An empty classic group is replaced by a consumer group; its offsets are kept.
        if (classic.protocolType !== null || classic.generationId > 0) records.push(this.classic.tombstone(groupId));
        this.log.info(`group ${groupId}: empty classic group converted to a consumer group`);
      } else if (!createIfNotExists) throw new HeartbeatError(ErrorCode.GROUP_ID_NOT_FOUND, `Consumer group ${groupId} not found.`);
      g = new ModernGroup(groupId);
    }
    if (!g.members.has(memberId) && g.members.size >= this.config.consumerMaxSize) {
      throw new HeartbeatError(ErrorCode.GROUP_MAX_SIZE_REACHED, `The consumer group has reached its maximum capacity of ${this.config.consumerMaxSize} members.`);
    }
    const owned: OwnedPartitions = classic !== null ? classicOwned : req.topicPartitions === null ? null : req.topicPartitions.map((t) => ({ topicIdHex: uuidHex(t.topicId), partitions: t.partitions }));
    // Find or create the member.
    let member: ModernMember;
    let replaced: ModernMember | null = null;
    let isNew = false;
    if (req.instanceId === null) {
      const existing = g.members.get(memberId);
      if (req.memberEpoch === 0) {
        member = existing ?? newMember(memberId);
        isNew = existing === undefined;
      } else {
        if (existing === undefined) throw new HeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${memberId} is not a member of group ${groupId}.`);
        this.checkEpoch(existing, req.memberEpoch, owned);
        member = existing;
      }
    } else {
      const existingId = g.staticMembers.get(req.instanceId);
      const existing = existingId === undefined ? undefined : g.members.get(existingId);
      if (req.memberEpoch === 0) {
        // Kafka 4.4 refuses an epoch-0 join of an instance still held (not left with -2), even under its own id.
        if (existing !== undefined && existing.memberId === memberId && existing.memberEpoch !== LEAVE_GROUP_STATIC_MEMBER_EPOCH && classic === null) {
          throw new HeartbeatError(ErrorCode.UNRELEASED_INSTANCE_ID, `Static member ${memberId} with instance id ${req.instanceId} cannot join the group because the instance id is owned by ${existing.memberId} member.`);
        }
        if (existing === undefined || existing.memberId === memberId) {
          member = existing ?? g.members.get(memberId) ?? newMember(memberId);
          isNew = !g.members.has(member.memberId);
        } else {
          if (existing.memberEpoch !== LEAVE_GROUP_STATIC_MEMBER_EPOCH && classic === null) {
            throw new HeartbeatError(ErrorCode.UNRELEASED_INSTANCE_ID, `Static member ${memberId} with instance id ${req.instanceId} cannot join the group because the instance id is owned by ${existing.memberId} member.`);
          }
          // The restarted static member takes over the previous instance's partitions.
          replaced = existing;
          // It keeps the instance's subscription, so the group epoch only moves if the subscription changes.
          member = { ...copyMember(existing), memberId, memberEpoch: 0, previousMemberEpoch: 0, state: MemberState.STABLE, pendingRevocation: new Map() };
          isNew = true;
          records.push(...memberRemovalRecords(groupId, existing.memberId));
          this.log.info(`group ${groupId}: static member ${req.instanceId} rejoins as ${memberId}, replacing ${existing.memberId}`);
        }
      } else {
        if (existing === undefined) throw new HeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Instance id ${req.instanceId} is unknown.`);
        if (existing.memberId !== memberId) throw new HeartbeatError(ErrorCode.FENCED_INSTANCE_ID, `Static member ${memberId} with instance id ${req.instanceId} is fenced by existing member ${existing.memberId}.`);
        this.checkEpoch(existing, req.memberEpoch, owned);
        member = existing;
      }
    }
    // 1. Update the member's subscription.
    const updated = copyMember(member);
    if (req.instanceId !== null) updated.instanceId = req.instanceId;
    if (req.rackId !== null) updated.rackId = req.rackId;
    if (req.rebalanceTimeoutMs !== -1) updated.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    if (req.serverAssignor !== null) updated.serverAssignor = req.serverAssignor;
    if (req.subscribedTopicNames !== null) updated.subscribedTopicNames = [...req.subscribedTopicNames].sort();
    if (req.subscribedTopicRegex !== null) updated.subscribedTopicRegex = req.subscribedTopicRegex === "" ? null : req.subscribedTopicRegex;
    updated.clientId = req.clientId;
    updated.clientHost = req.clientHost;
    updated.classic = classic;
    // As Kafka 4.4 answers: a new group's first member bumps; later only a changed subscription does, so a new
    // member that subscribes to nothing joins an existing group at its current epoch.
    let bump = isNew && replaced === null && g.groupEpoch === 0;
    if (isNew || metadataChanged(member, updated)) {
      records.push({ key: encodeConsumerGroupMemberKey(T.MEMBER_METADATA, groupId, memberId), value: encodeMemberMetadataValue(updated) });
      if (!sameStrings(member.subscribedTopicNames, updated.subscribedTopicNames) || member.subscribedTopicRegex !== updated.subscribedTopicRegex) bump = true;
    }
    // The members as they will be after this heartbeat.
    const members = new Map(g.members);
    if (replaced !== null) members.delete(replaced.memberId);
    members.set(memberId, updated);
    // 2. Subscribed topic metadata: recompute on a subscription change or when topics changed.
    let groupEpoch = g.groupEpoch;
    const version = this.metadata.version();
    let subscription = g.subscriptionMetadata;
    // As Kafka 4.4 answers (tests/oracle/consumer-groups-random-match-kafka): a heartbeat that changes the
    // subscription or the subscribed topics' metadata bumps the epoch once, and twice in a new group (its first
    // member joins at epoch 1, or 2 when it subscribes to existing topics).
    let bumps = bump ? 1 : 0;
    if (bump || g.metadataVersion !== version) {
      subscription = this.subscribedTopics(members.values(), g);
      if (!sameSubscription(subscription, g.subscriptionMetadata)) {
        records.push({ key: encodeConsumerGroupKey(T.PARTITION_METADATA, groupId), value: encodePartitionMetadataValue([...subscription.values()]) });
        bumps = g.groupEpoch === 0 ? bumps + 1 : 1;
      }
    }
    if (bumps > 0) {
      groupEpoch += bumps;
      records.push({ key: encodeConsumerGroupKey(T.GROUP_METADATA, groupId), value: encodeGroupEpochValue(groupEpoch) });
    }
    // 3. A new target assignment when the group epoch moved past the assignment epoch.
    let targetEpoch = g.assignmentEpoch;
    let target: TopicPartitionsById = g.targetOf(memberId);
    if (groupEpoch > g.assignmentEpoch || replaced !== null) {
      const assignment = this.computeTarget(g, members, subscription, replaced, memberId);
      for (const [id, parts] of assignment) {
        const previous = id === memberId && replaced !== null ? new Map() : g.targetOf(id);
        if (!samePartitions(previous, parts) || !g.targetAssignment.has(id)) {
          records.push({ key: encodeConsumerGroupMemberKey(T.TARGET_ASSIGNMENT_MEMBER, groupId, id), value: encodeTargetAssignmentMemberValue(parts) });
        }
      }
      targetEpoch = groupEpoch;
      records.push({ key: encodeConsumerGroupKey(T.TARGET_ASSIGNMENT_METADATA, groupId), value: encodeTargetAssignmentMetadataValue(targetEpoch) });
      target = assignment.get(memberId) ?? new Map();
    }
    // 4. Reconcile the member towards its target.
    const epochOf = (t: string, p: number): number => {
      if (replaced !== null && (replaced.assigned.get(t)?.has(p) || replaced.pendingRevocation.get(t)?.has(p))) return -1;
      return g!.currentPartitionEpoch(t, p);
    };
    let reconciled = reconcileMember(updated, targetEpoch, target, owned, epochOf);
    if (reconciled !== updated) {
      // KIP-1251: a partition kept keeps the epoch it was assigned at; a new one is assigned at the new member epoch.
      const epochs: AssignmentEpochs = new Map();
      for (const [t, set] of reconciled.assigned) {
        const e = new Map<number, number>();
        for (const p of set) e.set(p, updated.assigned.get(t)?.has(p) ? (updated.assignmentEpochs.get(t)?.get(p) ?? updated.memberEpoch) : reconciled.memberEpoch);
        epochs.set(t, e);
      }
      reconciled = { ...reconciled, assignmentEpochs: epochs };
    }
    const assignmentChanged =
      isNew ||
      reconciled.memberEpoch !== member.memberEpoch ||
      reconciled.previousMemberEpoch !== member.previousMemberEpoch ||
      reconciled.state !== member.state ||
      !samePartitions(reconciled.assigned, member.assigned) ||
      !samePartitions(reconciled.pendingRevocation, member.pendingRevocation);
    if (assignmentChanged) {
      records.push({ key: encodeConsumerGroupMemberKey(T.CURRENT_MEMBER_ASSIGNMENT, groupId, memberId), value: encodeCurrentAssignmentValue(reconciled) });
    }
    const isFull = req.memberEpoch === 0 || (req.rebalanceTimeoutMs !== -1 && (req.subscribedTopicNames !== null || req.subscribedTopicRegex !== null) && req.topicPartitions !== null);
    const outcome: ConsumerGroupHeartbeatOutcome = {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId,
      memberEpoch: reconciled.memberEpoch,
      heartbeatIntervalMs: this.groupSetting(groupId, "consumer.heartbeat.interval.ms", this.config.consumerHeartbeatIntervalMs),
      assignment: isFull || !samePartitions(member.assigned, reconciled.assigned) ? wireAssignment(reconciled.assigned) : null,
    };
    const before = g.state;
    const after = () => {
      const grp = this.groups.get(groupId);
      if (grp === undefined) return;
      grp.metadataVersion = version;
      if (grp.state !== before || grp.stateTimestampMs < 0) grp.stateTimestampMs = this.clock.nowMs();
      if (replaced !== null) this.clearMemberTimers(grp, replaced.memberId);
      this.scheduleSession(grp, memberId);
      this.maybeScheduleRegexRefresh(grp);
      if (assignmentChanged) {
        if (reconciled.state === MemberState.UNREVOKED_PARTITIONS) this.scheduleRebalanceTimeout(grp, memberId, reconciled.memberEpoch, reconciled.rebalanceTimeoutMs);
        else this.clearTimer(grp.rebalanceTimers, memberId);
      }
    };
    return { records, outcome, after };
  }

  private checkEpoch(member: ModernMember, received: number, owned: OwnedPartitions): void {
    if (received > member.memberEpoch) {
      throw new HeartbeatError(ErrorCode.FENCED_MEMBER_EPOCH, `The consumer group member has a greater member epoch (${received}) than the one known by the group coordinator (${member.memberEpoch}). The member must abandon all its partitions and rejoin.`);
    }
    if (received < member.memberEpoch && (received !== member.previousMemberEpoch || !isSubset(owned, member.assigned))) {
      throw new HeartbeatError(ErrorCode.FENCED_MEMBER_EPOCH, `The consumer group member has a smaller member epoch (${received}) than the one known by the group coordinator (${member.memberEpoch}). The member must abandon all its partitions and rejoin.`);
    }
  }

  private leave(req: ConsumerGroupHeartbeatInput): { records: GroupRecord[]; outcome: ConsumerGroupHeartbeatOutcome; after?: () => void } {
    const g = this.groups.get(req.groupId);
    if (g === undefined) {
      const msg = this.classic.get(req.groupId) !== undefined ? `Group ${req.groupId} is not a consumer group.` : `Consumer group ${req.groupId} not found.`;
      throw new HeartbeatError(ErrorCode.GROUP_ID_NOT_FOUND, msg);
    }
    const outcome: ConsumerGroupHeartbeatOutcome = { errorCode: ErrorCode.NONE, errorMessage: null, memberId: req.memberId, memberEpoch: req.memberEpoch, heartbeatIntervalMs: 0, assignment: null };
    let member: ModernMember;
    if (req.instanceId === null) {
      const m = g.members.get(req.memberId);
      if (m === undefined) throw new HeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${req.memberId} is not a member of group ${req.groupId}.`);
      member = m;
      this.log.info(`group ${g.groupId}: member ${member.memberId} left`);
    } else {
      const id = g.staticMembers.get(req.instanceId);
      const m = id === undefined ? undefined : g.members.get(id);
      if (m === undefined) throw new HeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Instance id ${req.instanceId} is unknown.`);
      if (m.memberId !== req.memberId) throw new HeartbeatError(ErrorCode.FENCED_INSTANCE_ID, `Static member ${req.memberId} with instance id ${req.instanceId} is fenced by existing member ${m.memberId}.`);
      member = m;
      if (req.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
        // Temporary leave: the instance keeps its partitions until it rejoins or its session expires.
        this.log.info(`group ${g.groupId}: static member ${req.instanceId} (${m.memberId}) left temporarily`);
        const left = { ...m, memberEpoch: LEAVE_GROUP_STATIC_MEMBER_EPOCH, pendingRevocation: new Map() };
        const records = [{ key: encodeConsumerGroupMemberKey(T.CURRENT_MEMBER_ASSIGNMENT, g.groupId, m.memberId), value: encodeCurrentAssignmentValue(left) }];
        return { records, outcome, after: () => this.clearTimer(g.rebalanceTimers, m.memberId) };
      }
      this.log.info(`group ${g.groupId}: static member ${req.instanceId} (${m.memberId}) left permanently`);
    }
    const before = g.state;
    return {
      records: this.fenceRecords(g, member),
      outcome,
      after: () => {
        this.clearMemberTimers(g, member.memberId);
        if (g.state !== before) g.stateTimestampMs = this.clock.nowMs();
        this.maybeDowngrade(g);
      },
    };
  }

  /** Records that remove a member and bump the group epoch (leave, session or rebalance timeout). */
  private fenceRecords(g: ModernGroup, member: ModernMember): GroupRecord[] {
    const records = memberRemovalRecords(g.groupId, member.memberId);
    const rest = [...g.members.values()].filter((m) => m.memberId !== member.memberId);
    const subscription = this.subscribedTopics(rest, g);
    if (!sameSubscription(subscription, g.subscriptionMetadata)) {
      records.push({ key: encodeConsumerGroupKey(T.PARTITION_METADATA, g.groupId), value: encodePartitionMetadataValue([...subscription.values()]) });
    }
    records.push({ key: encodeConsumerGroupKey(T.GROUP_METADATA, g.groupId), value: encodeGroupEpochValue(g.groupEpoch + 1) });
    // As Kafka 4.4: when the last member goes, the (empty) target assignment moves to the new group epoch.
    if (rest.length === 0) records.push({ key: encodeConsumerGroupKey(T.TARGET_ASSIGNMENT_METADATA, g.groupId), value: encodeTargetAssignmentMetadataValue(g.groupEpoch + 1) });
    return records;
  }

  /** Removes a member now (timeouts); logs when the records cannot be written. */
  private fence(g: ModernGroup, memberId: string, why: string): void {
    if (this.stopped || this.groups.get(g.groupId) !== g) return;
    const member = g.members.get(memberId);
    if (member === undefined) return;
    const before = g.state;
    const records = this.fenceRecords(g, member);
    const appended = this.append(g.groupId, records);
    if (!appended.ok) {
      this.log.warn(`group ${g.groupId}: could not remove member ${memberId} (${appended.errorCode}); retrying at its next timeout`);
      this.scheduleSession(g, memberId);
      return;
    }
    this.applyRecords(g.groupId, records);
    this.clearMemberTimers(g, memberId);
    if (g.state !== before) g.stateTimestampMs = this.clock.nowMs();
    this.log.info(`group ${g.groupId}: member ${memberId} removed: ${why}`);
    this.maybeDowngrade(g);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Online migration (group.consumer.migration.policy)

  /**
   * A consumer-protocol member joins a group held by a classic group. An empty one is replaced (always allowed);
   * a Stable, non-empty one of protocol type "consumer" is converted when the policy allows upgrades: its members
   * become classic members of the consumer group with their generation as member epoch and their assignment as
   * current and target assignment. Returns NONE, or the error to answer.
   */
  private maybeUpgrade(groupId: string): number {
    const c = this.classic.get(groupId);
    if (c === undefined || c.isEmpty) return ErrorCode.NONE;
    const policy = this.config.consumerMigrationPolicy;
    const refuse = (why: string) => {
      this.log.info(`group ${groupId}: not converted to a consumer group: ${why}`);
      return ErrorCode.GROUP_ID_NOT_FOUND;
    };
    if (policy !== "upgrade" && policy !== "bidirectional") return refuse(`group.consumer.migration.policy is ${policy}`);
    if (c.protocolType !== CONSUMER_PROTOCOL_TYPE || c.protocolName === null) return refuse(`protocol type ${c.protocolType}`);
    if (!c.is("Stable")) return refuse(`the classic group is ${c.state}`);
    if (c.size >= this.config.consumerMaxSize) return refuse("the group is full");
    const gen = c.generationId;
    const members: ModernMember[] = [];
    const owners = new Set<string>();
    for (const cm of c.members.values()) {
      const sub = readSubscription(cm.metadataFor(c.protocolName));
      const parts = assignedPartitionsOf(cm.assignment);
      if (sub === null || parts === null) return refuse(`member ${cm.memberId} has unreadable metadata`);
      const assigned: TopicPartitionsById = new Map();
      for (const tp of parts) {
        const t = this.metadata.topic(tp.topic);
        if (t === undefined) continue;
        for (const p of tp.partitions) {
          if (owners.has(`${t.idHex}:${p}`)) return refuse(`partition ${tp.topic}-${p} is assigned twice`);
          owners.add(`${t.idHex}:${p}`);
          let set = assigned.get(t.idHex);
          if (set === undefined) assigned.set(t.idHex, (set = new Set()));
          set.add(p);
        }
      }
      members.push({
        ...newMember(cm.memberId),
        instanceId: cm.groupInstanceId,
        clientId: cm.clientId,
        clientHost: cm.clientHost,
        rebalanceTimeoutMs: cm.rebalanceTimeoutMs,
        subscribedTopicNames: [...sub.topics].sort(),
        classic: { sessionTimeoutMs: cm.sessionTimeoutMs, supportedProtocols: cm.protocols.map((p) => ({ name: p.name, metadata: p.metadata })) },
        memberEpoch: gen,
        previousMemberEpoch: gen,
        assigned,
      });
    }
    const records: GroupRecord[] = [this.classic.tombstone(groupId)];
    for (const m of members) records.push({ key: encodeConsumerGroupMemberKey(T.MEMBER_METADATA, groupId, m.memberId), value: encodeMemberMetadataValue(m) });
    records.push({ key: encodeConsumerGroupKey(T.PARTITION_METADATA, groupId), value: encodePartitionMetadataValue([...this.subscribedTopics(members, null).values()]) });
    records.push({ key: encodeConsumerGroupKey(T.GROUP_METADATA, groupId), value: encodeGroupEpochValue(gen) });
    for (const m of members) records.push({ key: encodeConsumerGroupMemberKey(T.TARGET_ASSIGNMENT_MEMBER, groupId, m.memberId), value: encodeTargetAssignmentMemberValue(m.assigned) });
    records.push({ key: encodeConsumerGroupKey(T.TARGET_ASSIGNMENT_METADATA, groupId), value: encodeTargetAssignmentMetadataValue(gen) });
    for (const m of members) records.push({ key: encodeConsumerGroupMemberKey(T.CURRENT_MEMBER_ASSIGNMENT, groupId, m.memberId), value: encodeCurrentAssignmentValue(m) });
    const appended = this.append(groupId, records);
    if (!appended.ok) return appended.errorCode;
    this.applyRecords(groupId, records);
    const g = this.groups.get(groupId)!;
    g.stateTimestampMs = this.clock.nowMs();
    for (const m of members) this.scheduleSession(g, m.memberId);
    this.log.info(`group ${groupId}: classic group of generation ${gen} with ${members.length} member(s) converted to a consumer group`);
    return ErrorCode.NONE;
  }

  /**
   * After a member left: when every remaining member uses the classic protocol and the policy allows downgrades,
   * the group becomes a classic group again (its members rejoin through a rebalance).
   */
  private maybeDowngrade(g: ModernGroup): void {
    const policy = this.config.consumerMigrationPolicy;
    if (policy !== "downgrade" && policy !== "bidirectional") return;
    if (this.groups.get(g.groupId) !== g || g.members.size === 0) return;
    const members = [...g.members.values()];
    if (members.some((m) => m.classic === null)) return;
    const assignments = new Map(members.map((m) => [m.memberId, this.assignmentBytes(m.assigned)]));
    const records = this.deletionRecords(g);
    const appended = this.append(g.groupId, records);
    if (!appended.ok) {
      this.log.warn(`group ${g.groupId}: could not convert to a classic group (${appended.errorCode})`);
      return;
    }
    this.clearTimers(g);
    const offsets = g.offsets;
    g.offsets = new GroupOffsets(); // kept for the classic group rather than adopted by a simple one
    this.applyRecords(g.groupId, records);
    // The classic generation is the epoch before the leave that triggered this (Kafka converts instead of fencing).
    this.classic.downgrade({ groupId: g.groupId, groupEpoch: g.groupEpoch - 1, offsets }, members, assignments);
    this.log.info(`group ${g.groupId}: only classic members are left; converted to a classic group`);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Classic members inside a consumer group (JoinGroup, SyncGroup, Heartbeat, LeaveGroup), as Kafka serves them

  /**
   * A JoinGroup to a non-empty consumer group: the member takes part through the classic protocol. It is answered
   * at once as a follower (no leader, no member list) with its member epoch as the generation; SyncGroup then hands
   * it its reconciled assignment, and Heartbeat answers REBALANCE_IN_PROGRESS until it is fully reconciled.
   */
  classicJoin(g: ModernGroup, req: JoinGroupInput): Promise<JoinGroupOutcome> {
    const fail = (code: number, memberId = req.memberId): Promise<JoinGroupOutcome> =>
      Promise.resolve({ errorCode: code, generationId: -1, protocolType: null, protocolName: null, leader: "", skipAssignment: false, memberId, members: [] });
    if (req.protocolType !== CONSUMER_PROTOCOL_TYPE || req.protocols.length === 0) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const unknown = req.memberId === "";
    const memberId = unknown ? this.randomId() : req.memberId;
    if (!g.members.has(memberId) && g.members.size >= this.config.consumerMaxSize) return fail(ErrorCode.GROUP_MAX_SIZE_REACHED, "");
    if (unknown && req.requireKnownMemberId && req.groupInstanceId === null) return fail(ErrorCode.MEMBER_ID_REQUIRED, memberId);
    if (!unknown && req.groupInstanceId === null && !g.members.has(memberId)) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    if (!unknown && req.groupInstanceId !== null) {
      const owner = g.staticMembers.get(req.groupInstanceId);
      if (owner === undefined) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
      if (owner !== memberId) return fail(ErrorCode.FENCED_INSTANCE_ID);
    }
    const sub = readSubscription(req.protocols[0].metadata);
    if (sub === null) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const owned: OwnedPartitions = [];
    for (const o of sub.ownedPartitions) {
      const t = this.metadata.topic(o.topic);
      if (t !== undefined) owned.push({ topicIdHex: t.idHex, partitions: o.partitions });
    }
    const existing = g.members.get(memberId);
    const classic: ClassicMemberMetadata = { sessionTimeoutMs: req.sessionTimeoutMs, supportedProtocols: req.protocols.map((p) => ({ name: p.name, metadata: p.metadata })) };
    let result: ReturnType<ConsumerGroupCoordinator["join"]>;
    try {
      result = this.join(
        {
          groupId: g.groupId,
          memberId,
          memberEpoch: existing === undefined ? 0 : existing.memberEpoch,
          instanceId: req.groupInstanceId,
          rackId: null,
          rebalanceTimeoutMs: req.rebalanceTimeoutMs,
          subscribedTopicNames: sub.topics,
          subscribedTopicRegex: null,
          serverAssignor: null,
          topicPartitions: [],
          clientId: req.clientId,
          clientHost: req.clientHost,
          apiVersion: 1,
        },
        classic,
        owned,
      );
    } catch (e) {
      if (e instanceof HeartbeatError) return fail(e.code);
      throw e;
    }
    const outcome: JoinGroupOutcome = {
      errorCode: ErrorCode.NONE,
      generationId: result.outcome.memberEpoch,
      protocolType: CONSUMER_PROTOCOL_TYPE,
      protocolName: req.protocols[0].name,
      leader: "",
      skipAssignment: false,
      memberId,
      members: [],
    };
    const after = () => {
      result.after?.();
      // Kafka's sync timeout: the member must send its SyncGroup within its rebalance timeout.
      const grp = this.groups.get(g.groupId);
      if (grp !== undefined) this.setClassicDeadline(grp, memberId, req.rebalanceTimeoutMs, "did not send SyncGroup within its rebalance timeout");
    };
    return this.commit(g.groupId, result.records, after, outcome, (code) => fail(code));
  }

  /** Arms (replacing any) the deadline by which a classic member must act, else it is removed. */
  private setClassicDeadline(g: ModernGroup, memberId: string, ms: number, why: string): void {
    if (this.stopped) return;
    this.clearTimer(g.classicDeadlines, memberId);
    g.classicDeadlines.set(memberId, this.clock.setTimer(() => {
      g.classicDeadlines.delete(memberId);
      this.fence(g, memberId, why);
    }, Math.max(0, ms)));
  }

  /** A SyncGroup from a classic member of a consumer group: its current assignment. */
  classicSync(g: ModernGroup, req: SyncGroupInput): SyncGroupOutcome {
    const err = (code: number): SyncGroupOutcome => ({ errorCode: code, protocolType: null, protocolName: null, assignment: new Uint8Array(0) });
    const m = this.classicMember(g, req.memberId, req.groupInstanceId);
    if (typeof m === "number") return err(m);
    if (req.generationId !== m.memberEpoch) return err(ErrorCode.ILLEGAL_GENERATION);
    if ((req.protocolType !== null && req.protocolType !== CONSUMER_PROTOCOL_TYPE) || (req.protocolName !== null && !m.classic!.supportedProtocols.some((p) => p.name === req.protocolName))) {
      return err(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    this.scheduleSession(g, m.memberId);
    this.clearTimer(g.classicDeadlines, m.memberId);
    return { errorCode: ErrorCode.NONE, protocolType: CONSUMER_PROTOCOL_TYPE, protocolName: req.protocolName ?? m.classic!.supportedProtocols[0].name, assignment: this.assignmentBytes(m.assigned) };
  }

  /** A Heartbeat from a classic member: REBALANCE_IN_PROGRESS while it has a newer assignment to pick up. */
  classicHeartbeat(g: ModernGroup, req: HeartbeatInput): number {
    const m = this.classicMember(g, req.memberId, req.groupInstanceId);
    if (typeof m === "number") return m;
    if (req.generationId !== m.memberEpoch) return ErrorCode.ILLEGAL_GENERATION;
    this.scheduleSession(g, m.memberId);
    const target = g.targetOf(m.memberId);
    if (m.memberEpoch < g.groupEpoch || m.state !== MemberState.STABLE || !samePartitions(target, m.assigned)) {
      // Kafka's join timeout: told to rejoin, the member must do so within its rebalance timeout.
      if (!g.classicDeadlines.has(m.memberId)) this.setClassicDeadline(g, m.memberId, m.rebalanceTimeoutMs, "did not rejoin within its rebalance timeout");
      return ErrorCode.REBALANCE_IN_PROGRESS;
    }
    return ErrorCode.NONE;
  }

  /** A LeaveGroup for members of a consumer group (classic members, or consumer-protocol ones by instance id). */
  async classicLeave(g: ModernGroup, leaving: readonly LeavingMember[]): Promise<LeaveGroupOutcome> {
    const members: LeaveGroupOutcome["members"] = [];
    for (const l of leaving) {
      const id = l.memberId !== "" ? l.memberId : l.groupInstanceId === null ? undefined : g.staticMembers.get(l.groupInstanceId);
      const m = id === undefined ? undefined : g.members.get(id);
      let code: number = ErrorCode.NONE;
      if (m === undefined) code = ErrorCode.UNKNOWN_MEMBER_ID;
      else if (l.groupInstanceId !== null && m.instanceId !== l.groupInstanceId) code = ErrorCode.FENCED_INSTANCE_ID;
      else if (this.groups.get(g.groupId) === g) {
        const records = this.fenceRecords(g, m);
        const appended = this.append(g.groupId, records);
        if (!appended.ok) code = appended.errorCode;
        else {
          this.applyRecords(g.groupId, records);
          this.clearMemberTimers(g, m.memberId);
          this.log.info(`group ${g.groupId}: member ${m.memberId} left through LeaveGroup${l.reason ? ` (${l.reason})` : ""}`);
          code = await appended.durable;
          this.maybeDowngrade(g);
        }
      }
      members.push({ memberId: l.memberId, groupInstanceId: l.groupInstanceId, errorCode: code });
    }
    return { errorCode: ErrorCode.NONE, members };
  }

  private classicMember(g: ModernGroup, memberId: string, instanceId: string | null): ModernMember | number {
    if (instanceId !== null) {
      const owner = g.staticMembers.get(instanceId);
      if (owner === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (owner !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    }
    const m = g.members.get(memberId);
    if (m === undefined || m.classic === null) return ErrorCode.UNKNOWN_MEMBER_ID;
    return m;
  }

  private assignmentBytes(parts: TopicPartitionsById): Uint8Array {
    const topics: { topic: string; partitions: number[] }[] = [];
    for (const [id, set] of parts) {
      const name = this.metadata.topicName(id);
      if (name !== undefined) topics.push({ topic: name, partitions: [...set].sort((a, b) => a - b) });
    }
    return encodeConsumerAssignment(topics);
  }

  /** Appends, applies and runs `after`; resolves to `ok` once durable, else to `fail(code)`. */
  private commit<T>(groupId: string, records: GroupRecord[], after: (() => void) | undefined, ok: T, fail: (code: number) => Promise<T>): Promise<T> {
    if (records.length === 0) {
      after?.();
      return Promise.resolve(ok);
    }
    const appended = this.append(groupId, records);
    if (!appended.ok) return fail(appended.errorCode);
    this.applyRecords(groupId, records);
    after?.();
    return appended.durable.then((code) => (code === ErrorCode.NONE ? ok : fail(code)));
  }

  // -------------------------------------------------------------------------------------------------------------
  // Assignment

  /** Subscribed topics that exist, by name, for these members (names plus the group's resolved regexes). */
  private subscribedTopics(members: Iterable<ModernMember>, g: ModernGroup | null): Map<string, SubscribedTopic> {
    const names = new Set<string>();
    for (const m of members) {
      for (const n of m.subscribedTopicNames) names.add(n);
      if (m.subscribedTopicRegex !== null) for (const n of this.regexTopics(g, m.subscribedTopicRegex)) names.add(n);
    }
    const out = new Map<string, SubscribedTopic>();
    for (const name of [...names].sort()) {
      const t = this.metadata.topic(name);
      if (t !== undefined) out.set(name, { idHex: t.idHex, name, numPartitions: t.numPartitions });
    }
    return out;
  }

  /** The topics a group's regex resolved to (none before its first resolution). */
  private regexTopics(g: ModernGroup | null, regex: string): ReadonlySet<string> {
    return g?.resolvedRegexes.get(regex)?.topics ?? new Set();
  }

  /**
   * Regexes are resolved after the heartbeat that brings them, and again after topics change, as Kafka does: the
   * resolution bumps the group epoch when it changes what a regex matches, and the next heartbeat assigns.
   */
  private maybeScheduleRegexRefresh(g: ModernGroup): void {
    if (this.stopped || g.regexRefreshTimer !== null) return;
    const version = this.metadata.version();
    let stale = false;
    for (const m of g.members.values()) {
      if (m.subscribedTopicRegex === null) continue;
      if (g.resolvedRegexes.get(m.subscribedTopicRegex)?.version !== version) stale = true;
    }
    if (!stale) return;
    g.regexRefreshTimer = this.clock.setTimer(() => {
      g.regexRefreshTimer = null;
      this.refreshRegexes(g);
    }, 0);
  }

  /** Resolves every regex of the group now; writes a new group epoch when a resolution changed. */
  private refreshRegexes(g: ModernGroup, bumpOnChange = true): void {
    if (this.stopped || this.groups.get(g.groupId) !== g) return;
    const version = this.metadata.version();
    const previous = new Map(g.resolvedRegexes);
    const used = new Set<string>();
    let changed = false;
    for (const m of g.members.values()) {
      const regex = m.subscribedTopicRegex;
      if (regex === null || used.has(regex)) continue;
      used.add(regex);
      const topics = this.resolveRegex(regex);
      const old = previous.get(regex);
      if (old === undefined ? topics.size > 0 : old.topics.size !== topics.size || [...topics].some((t) => !old.topics.has(t))) changed = true;
      g.resolvedRegexes.set(regex, { topics, version });
    }
    const dropped = [...g.resolvedRegexes.keys()].filter((r) => !used.has(r));
    for (const r of dropped) g.resolvedRegexes.delete(r);
    if (!changed || !bumpOnChange) return;
    const records: GroupRecord[] = [];
    const now = this.clock.nowMs();
    for (const [regex, res] of g.resolvedRegexes) {
      const old = previous.get(regex);
      if (old !== undefined && old.topics.size === res.topics.size && [...res.topics].every((t) => old.topics.has(t))) continue;
      records.push({ key: encodeConsumerGroupMemberKey(T.REGULAR_EXPRESSION, g.groupId, regex), value: encodeRegularExpressionValue([...res.topics], res.version, now) });
    }
    for (const r of dropped) records.push({ key: encodeConsumerGroupMemberKey(T.REGULAR_EXPRESSION, g.groupId, r), value: null });
    const subscription = this.subscribedTopics(g.members.values(), g);
    if (!sameSubscription(subscription, g.subscriptionMetadata)) {
      records.push({ key: encodeConsumerGroupKey(T.PARTITION_METADATA, g.groupId), value: encodePartitionMetadataValue([...subscription.values()]) });
    }
    records.push({ key: encodeConsumerGroupKey(T.GROUP_METADATA, g.groupId), value: encodeGroupEpochValue(g.groupEpoch + 1) });
    const appended = this.append(g.groupId, records);
    if (!appended.ok) {
      this.log.warn(`group ${g.groupId}: could not record the regex resolution (${appended.errorCode}); retrying`);
      g.resolvedRegexes.clear();
      for (const [k, v] of previous) g.resolvedRegexes.set(k, v);
      this.maybeScheduleRegexRefresh(g);
      return;
    }
    this.applyRecords(g.groupId, records);
    g.metadataVersion = version;
    this.log.info(`group ${g.groupId}: regex subscriptions resolved again; group epoch ${g.groupEpoch}`);
  }

  /** Topic names matching an RE2/J regex (whole name), cached per metadata version. */
  private resolveRegex(regex: string): Set<string> {
    const version = this.metadata.version();
    if (version !== this.regexCacheVersion || this.regexCache.size >= MAX_CACHED_REGEXES) {
      this.regexCache = new Map();
      this.regexCacheVersion = version;
    }
    let out = this.regexCache.get(regex);
    if (out !== undefined) return out;
    out = new Set();
    let re: TopicRegex | null = null;
    try {
      re = compileTopicRegex(regex);
    } catch {
      re = null; // validated on the way in; a stored one that no longer compiles matches nothing
    }
    if (re !== null) for (const name of this.metadata.topicNames()) if (re.test(name)) out.add(name);
    this.regexCache.set(regex, out);
    return out;
  }

  private computeTarget(g: ModernGroup, members: Map<string, ModernMember>, subscription: Map<string, SubscribedTopic>, replaced: ModernMember | null, memberId: string): Map<string, TopicPartitionsById> {
    const topics = new Map<string, number>();
    const topicNames = new Map<string, string>();
    for (const t of subscription.values()) {
      topics.set(t.idHex, t.numPartitions);
      topicNames.set(t.idHex, t.name);
    }
    const specMembers: AssignorMember[] = [];
    for (const m of members.values()) {
      const ids = new Set<string>();
      for (const n of m.subscribedTopicNames) {
        const t = subscription.get(n);
        if (t !== undefined) ids.add(t.idHex);
      }
      if (m.subscribedTopicRegex !== null) {
        for (const n of this.regexTopics(g, m.subscribedTopicRegex)) {
          const t = subscription.get(n);
          if (t !== undefined) ids.add(t.idHex);
        }
      }
      const previous = m.memberId === memberId && replaced !== null ? g.targetOf(replaced.memberId) : g.targetOf(m.memberId);
      specMembers.push({ memberId: m.memberId, subscribedTopicIds: ids, previous });
    }
    const name = g.preferredAssignor(this.config.consumerAssignors[0], members.values());
    const assignor = assignorByName(name) ?? assignorByName(this.config.consumerAssignors[0])!;
    return assignor.assign({ members: specMembers, topics, topicNames });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Replay: the only place group state changes

  /** Appends nothing: applies records already appended (at run time) to the in-memory groups. */
  private applyRecords(groupId: string, records: readonly GroupRecord[]): void {
    for (const r of records) this.replay(r.key, r.value, groupId);
  }

  /** Applies one consumer group record (key version 3-8, or a classic group tombstone passed through). */
  replay(key: Uint8Array, value: Uint8Array | null, _groupHint?: string): void {
    const view = new DataView(key.buffer, key.byteOffset, key.byteLength);
    if (key.length >= 2 && view.getInt16(0) === 2) return; // a classic tombstone written with a conversion
    const k = decodeConsumerGroupKey(key);
    let g = this.groups.get(k.group);
    if (value === null) {
      if (g === undefined) return;
      switch (k.type) {
        case T.GROUP_METADATA:
          this.clearTimers(g);
          g.dead = true;
          this.groups.delete(k.group);
          if (g.offsets.size > 0) this.classic.adoptOffsets(k.group, g.offsets);
          return;
        case T.PARTITION_METADATA:
          g.subscriptionMetadata = new Map();
          return;
        case T.MEMBER_METADATA:
          g.removeMember(k.member!);
          return;
        case T.TARGET_ASSIGNMENT_METADATA:
          g.assignmentEpoch = 0;
          return;
        case T.TARGET_ASSIGNMENT_MEMBER:
          g.targetAssignment.delete(k.member!);
          return;
        case T.CURRENT_MEMBER_ASSIGNMENT:
          g.clearAssignment(k.member!);
          return;
        case T.REGULAR_EXPRESSION:
          g.resolvedRegexes.delete(k.member!);
          return;
      }
      return;
    }
    if (g === undefined) {
      g = new ModernGroup(k.group);
      if (this.classic.get(k.group) !== undefined) g.offsets = this.classic.take(k.group);
      this.groups.set(k.group, g);
    }
    const v = decodeConsumerGroupValue(k.type, value);
    switch (v.type) {
      case 3:
        g.groupEpoch = v.epoch;
        return;
      case 4:
        g.subscriptionMetadata = new Map(v.topics.map((t) => [t.name, { idHex: t.idHex, name: t.name, numPartitions: t.numPartitions }]));
        return;
      case 5: {
        const existing = g.members.get(k.member!);
        const m = existing ?? newMember(k.member!);
        Object.assign(m, v.member, { subscribedTopicNames: [...v.member.subscribedTopicNames] });
        g.putMemberMetadata(m);
        return;
      }
      case 6:
        g.assignmentEpoch = v.assignmentEpoch;
        return;
      case 7:
        g.targetAssignment.set(k.member!, v.partitions);
        return;
      case 8:
        if (!g.members.has(k.member!)) g.putMemberMetadata(newMember(k.member!));
        g.updateAssignment(k.member!, v.assignment);
        return;
      case 16:
        g.resolvedRegexes.set(k.member!, { topics: new Set(v.topics), version: Number(v.version) });
        return;
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Timers

  private scheduleSession(g: ModernGroup, memberId: string): void {
    if (this.stopped) return;
    this.clearTimer(g.sessionTimers, memberId);
    const ms = g.members.get(memberId)?.classic?.sessionTimeoutMs ?? this.groupSetting(g.groupId, "consumer.session.timeout.ms", this.config.consumerSessionTimeoutMs);
    g.sessionTimers.set(memberId, this.clock.setTimer(() => {
      g.sessionTimers.delete(memberId);
      this.fence(g, memberId, `no heartbeat within the session timeout (${ms} ms)`);
    }, ms));
  }

  private scheduleRebalanceTimeout(g: ModernGroup, memberId: string, memberEpoch: number, ms: number): void {
    if (this.stopped) return;
    this.clearTimer(g.rebalanceTimers, memberId);
    g.rebalanceTimers.set(memberId, this.clock.setTimer(() => {
      g.rebalanceTimers.delete(memberId);
      const m = g.members.get(memberId);
      if (m === undefined || m.memberEpoch !== memberEpoch || m.state !== MemberState.UNREVOKED_PARTITIONS) return;
      this.fence(g, memberId, `partitions not revoked within the rebalance timeout (${ms} ms)`);
    }, Math.max(0, ms)));
  }

  /** A group config (`consumer.session.timeout.ms`, ...) set for this group, else the broker-level value. */
  private groupSetting(groupId: string, key: string, brokerValue: number): number {
    const v = this.groupConfigs(groupId)[key];
    if (v === undefined) return brokerValue;
    const n = Number(v);
    return Number.isFinite(n) && n > 0 ? n : brokerValue;
  }

  private clearTimer(timers: Map<string, unknown>, memberId: string): void {
    const t = timers.get(memberId);
    if (t !== undefined) this.clock.clearTimer(t);
    timers.delete(memberId);
  }

  private clearMemberTimers(g: ModernGroup, memberId: string): void {
    this.clearTimer(g.sessionTimers, memberId);
    this.clearTimer(g.rebalanceTimers, memberId);
    this.clearTimer(g.classicDeadlines, memberId);
  }

  private clearTimers(g: ModernGroup): void {
    for (const t of g.sessionTimers.values()) this.clock.clearTimer(t);
    for (const t of g.rebalanceTimers.values()) this.clock.clearTimer(t);
    for (const t of g.classicDeadlines.values()) this.clock.clearTimer(t);
    g.sessionTimers.clear();
    g.rebalanceTimers.clear();
    g.classicDeadlines.clear();
    if (g.regexRefreshTimer !== null) this.clock.clearTimer(g.regexRefreshTimer);
    g.regexRefreshTimer = null;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Describe, delete, offsets

  /** ConsumerGroupDescribe of one group. */
  describe(groupId: string): ConsumerGroupDescription {
    const empty = (errorCode: number, errorMessage: string | null): ConsumerGroupDescription => ({
      errorCode,
      errorMessage,
      groupId,
      groupState: "",
      groupEpoch: 0,
      assignmentEpoch: 0,
      assignorName: "",
      members: [],
    });
    if (this.stopped) return empty(ErrorCode.NOT_COORDINATOR, null);
    if (groupId === "") return empty(ErrorCode.INVALID_GROUP_ID, null);
    const g = this.groups.get(groupId);
    if (g === undefined) {
      return empty(ErrorCode.GROUP_ID_NOT_FOUND, this.classic.get(groupId) !== undefined ? `Group ${groupId} is not a consumer group.` : `Group ${groupId} not found.`);
    }
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      groupId,
      groupState: g.state,
      groupEpoch: g.groupEpoch,
      assignmentEpoch: g.assignmentEpoch,
      assignorName: g.preferredAssignor(this.config.consumerAssignors[0]),
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        instanceId: m.instanceId,
        rackId: m.rackId,
        memberEpoch: m.memberEpoch,
        clientId: m.clientId,
        clientHost: m.clientHost,
        subscribedTopicNames: m.subscribedTopicNames,
        subscribedTopicRegex: m.subscribedTopicRegex ?? "",
        // As Kafka 4.4 describes it: what the member holds, including partitions it is still revoking.
        assignment: { topicPartitions: this.describedPartitions(heldPartitions(m)) },
        targetAssignment: { topicPartitions: this.describedPartitions(g.targetOf(m.memberId)) },
        memberType: m.classic !== null ? MEMBER_TYPE_CLASSIC : MEMBER_TYPE_CONSUMER,
      })),
    };
  }

  private describedPartitions(parts: TopicPartitionsById): DescribedTopicPartitions[] {
    const out: DescribedTopicPartitions[] = [];
    for (const [id, s] of parts) {
      out.push({ topicId: uuidFromHex(id), topicName: this.metadata.topicName(id) ?? "", partitions: [...s].sort((a, b) => a - b) });
    }
    return out.sort((a, b) => (a.topicName < b.topicName ? -1 : a.topicName > b.topicName ? 1 : 0));
  }

  /** The records deleting an empty group (members' records, target, metadata; the group record last). */
  deletionRecords(g: ModernGroup): GroupRecord[] {
    const records: GroupRecord[] = [];
    for (const id of g.members.keys()) records.push(...memberRemovalRecords(g.groupId, id));
    for (const id of g.targetAssignment.keys()) {
      if (!g.members.has(id)) records.push({ key: encodeConsumerGroupMemberKey(T.TARGET_ASSIGNMENT_MEMBER, g.groupId, id), value: null });
    }
    for (const regex of g.resolvedRegexes.keys()) records.push({ key: encodeConsumerGroupMemberKey(T.REGULAR_EXPRESSION, g.groupId, regex), value: null });
    records.push({ key: encodeConsumerGroupKey(T.TARGET_ASSIGNMENT_METADATA, g.groupId), value: null });
    records.push({ key: encodeConsumerGroupKey(T.PARTITION_METADATA, g.groupId), value: null });
    records.push({ key: encodeConsumerGroupKey(T.GROUP_METADATA, g.groupId), value: null });
    return records;
  }

  /** Applies records appended by the classic coordinator on this group's behalf (deletion). */
  applyAppended(groupId: string, records: readonly GroupRecord[]): void {
    this.applyRecords(groupId, records);
  }

  /**
   * Validates an OffsetCommit (or TxnOffsetCommit) against a consumer group; returns NONE or the error code.
   * Kafka: generation/epoch < 0 on an empty group is a simple commit; otherwise the member must exist, commit with
   * OffsetCommit v9+ unless transactional, and carry its current member epoch (else STALE_MEMBER_EPOCH).
   */
  validateOffsetCommit(g: ModernGroup, memberId: string, memberEpoch: number, apiVersion: number, transactional: boolean): number {
    if (memberEpoch < 0 && g.members.size === 0) return ErrorCode.NONE;
    const m = g.members.get(memberId);
    if (m === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (m.classic !== null) return memberEpoch === m.memberEpoch ? ErrorCode.NONE : ErrorCode.ILLEGAL_GENERATION;
    if (!transactional && apiVersion < 9) return ErrorCode.UNSUPPORTED_VERSION;
    if (memberEpoch !== m.memberEpoch) return ErrorCode.STALE_MEMBER_EPOCH;
    return ErrorCode.NONE;
  }

  /**
   * KIP-1251: whether a commit with an older member epoch may still write `partition` of `topic`: the member has
   * held it since that epoch or earlier.
   */
  ownsSinceEpoch(g: ModernGroup, memberId: string, memberEpoch: number, topic: string, partition: number): boolean {
    const m = g.members.get(memberId);
    const t = this.metadata.topic(topic);
    if (m === undefined || m.classic !== null || t === undefined || memberEpoch < 0 || memberEpoch > m.memberEpoch) return false;
    const since = ModernGroup.assignmentEpochOf(m, t.idHex, partition);
    return since >= 0 && since <= memberEpoch;
  }

  /** Validates an OffsetFetch v9+ carrying a member id and epoch; returns NONE or the error code. */
  validateOffsetFetch(g: ModernGroup, memberId: string | null, memberEpoch: number): number {
    if ((memberId === null || memberId === "") && memberEpoch < 0) return ErrorCode.NONE;
    const m = g.members.get(memberId ?? "");
    if (m === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (memberEpoch !== m.memberEpoch) return ErrorCode.STALE_MEMBER_EPOCH;
    return ErrorCode.NONE;
  }

  /** Topics the members subscribe to now (offsets of these never expire while the group has members). */
  subscribedTopicNames(g: ModernGroup): Set<string> {
    return new Set(this.subscribedTopics(g.members.values(), g).keys());
  }
}

/** The tombstones removing one member: current assignment, target assignment, then its metadata. */
function memberRemovalRecords(groupId: string, memberId: string): GroupRecord[] {
  return [
    { key: encodeConsumerGroupMemberKey(T.CURRENT_MEMBER_ASSIGNMENT, groupId, memberId), value: null },
    { key: encodeConsumerGroupMemberKey(T.TARGET_ASSIGNMENT_MEMBER, groupId, memberId), value: null },
    { key: encodeConsumerGroupMemberKey(T.MEMBER_METADATA, groupId, memberId), value: null },
  ];
}

function wireAssignment(parts: TopicPartitionsById): WireTopicPartitions[] {
  return [...parts.entries()].map(([id, s]) => ({ topicId: uuidFromHex(id), partitions: [...s].sort((a, b) => a - b) }));
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function metadataChanged(a: ModernMember, b: ModernMember): boolean {
  return (
    a.instanceId !== b.instanceId ||
    a.rackId !== b.rackId ||
    a.clientId !== b.clientId ||
    a.clientHost !== b.clientHost ||
    a.rebalanceTimeoutMs !== b.rebalanceTimeoutMs ||
    a.serverAssignor !== b.serverAssignor ||
    a.subscribedTopicRegex !== b.subscribedTopicRegex ||
    !sameStrings(a.subscribedTopicNames, b.subscribedTopicNames) ||
    !sameClassic(a.classic, b.classic)
  );
}

function sameClassic(a: ClassicMemberMetadata | null, b: ClassicMemberMetadata | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.sessionTimeoutMs !== b.sessionTimeoutMs || a.supportedProtocols.length !== b.supportedProtocols.length) return false;
  return a.supportedProtocols.every((p, i) => p.name === b.supportedProtocols[i].name && bytesEqual(p.metadata, b.supportedProtocols[i].metadata));
}

function sameSubscription(a: Map<string, SubscribedTopic>, b: Map<string, SubscribedTopic>): boolean {
  if (a.size !== b.size) return false;
  for (const [n, t] of a) {
    const o = b.get(n);
    if (o === undefined || o.idHex !== t.idHex || o.numPartitions !== t.numPartitions) return false;
  }
  return true;
}

function isSubset(owned: OwnedPartitions, assigned: TopicPartitionsById): boolean {
  if (owned === null) return false;
  for (const t of owned) {
    const s = assigned.get(t.topicIdHex);
    if (s === undefined) {
      if (t.partitions.length > 0) return false;
      continue;
    }
    for (const p of t.partitions) if (!s.has(p)) return false;
  }
  return true;
}

/** A member's assigned partitions plus those it is still revoking (what it holds). */
function heldPartitions(m: ModernMember): TopicPartitionsById {
  if (m.pendingRevocation.size === 0) return m.assigned;
  const out: TopicPartitionsById = new Map();
  for (const [t, s] of m.assigned) out.set(t, new Set(s));
  for (const [t, s] of m.pendingRevocation) {
    const held = out.get(t) ?? new Set<number>();
    for (const p of s) held.add(p);
    out.set(t, held);
  }
  return out;
}
