/**
 * The state of one KIP-848 consumer group (Kafka's ConsumerGroup): the group epoch, the target assignment and its
 * epoch, the members with their subscriptions, member epochs and current assignments, and which member epoch owns
 * each partition. The state is only changed by replaying `__consumer_offsets` records
 * (see consumer-group-coordinator.ts), at run time and at load alike, so a restart rebuilds exactly this state.
 *
 * Group state (reported by ListGroups and ConsumerGroupDescribe):
 *   Empty (no members) | Assigning (group epoch > assignment epoch) | Reconciling (a member is not at the assignment
 *   epoch or not STABLE) | Stable | Dead (deleted).
 */
import type { CurrentAssignmentRecord, MemberMetadataRecord, TopicPartitionsById } from "./consumer-group-records.ts";
import { GroupOffsets } from "./offset-store.ts";

/** A consumer group's state name. */
export type ModernGroupState = "Empty" | "Assigning" | "Reconciling" | "Stable" | "Dead";

/** Kafka's MemberState values (stored in the current assignment record). */
export const MemberState = {
  STABLE: 0,
  UNREVOKED_PARTITIONS: 1,
  UNRELEASED_PARTITIONS: 2,
  UNKNOWN: 127,
} as const;

/** Member epoch of a member that leaves (ConsumerGroupHeartbeat). */
export const LEAVE_GROUP_MEMBER_EPOCH = -1;
/** Member epoch of a static member that leaves temporarily. */
export const LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2;

/** One member of a consumer group: its stored subscription and current assignment. */
export interface ModernMember extends MemberMetadataRecord, CurrentAssignmentRecord {
  memberId: string;
}

/** A new member as Kafka builds one: epoch 0, nothing assigned. */
export function newMember(memberId: string): ModernMember {
  return {
    memberId,
    instanceId: null,
    rackId: null,
    clientId: "",
    clientHost: "",
    subscribedTopicNames: [],
    subscribedTopicRegex: null,
    rebalanceTimeoutMs: -1,
    serverAssignor: null,
    classic: null,
    memberEpoch: 0,
    previousMemberEpoch: 0,
    state: MemberState.STABLE,
    assigned: new Map(),
    pendingRevocation: new Map(),
    assignmentEpochs: new Map(),
  };
}

/** A deep copy of a member (assignment sets included). */
export function copyMember(m: ModernMember): ModernMember {
  const assignmentEpochs = new Map([...m.assignmentEpochs].map(([t, e]) => [t, new Map(e)]));
  return { ...m, subscribedTopicNames: [...m.subscribedTopicNames], assigned: copyPartitions(m.assigned), pendingRevocation: copyPartitions(m.pendingRevocation), assignmentEpochs };
}

/** A deep copy of partitions by topic. */
export function copyPartitions(p: TopicPartitionsById): TopicPartitionsById {
  const out: TopicPartitionsById = new Map();
  for (const [t, s] of p) out.set(t, new Set(s));
  return out;
}

/** Whether two partition maps hold the same partitions. */
export function samePartitions(a: TopicPartitionsById, b: TopicPartitionsById): boolean {
  let na = 0;
  for (const [t, s] of a) {
    if (s.size === 0) continue;
    na++;
    const o = b.get(t);
    if (o === undefined || o.size !== s.size) return false;
    for (const p of s) if (!o.has(p)) return false;
  }
  let nb = 0;
  for (const s of b.values()) if (s.size > 0) nb++;
  return na === nb;
}

/** A subscribed topic that exists: id, name and partition count. */
export interface SubscribedTopic {
  idHex: string;
  name: string;
  numPartitions: number;
}

/** One consumer group. */
export class ModernGroup {
  /** Group id. */
  readonly groupId: string;
  /** Group epoch (bumped when members or subscribed metadata change). */
  groupEpoch = 0;
  /** Epoch of the target assignment. */
  assignmentEpoch = 0;
  /** Members by id (insertion order). */
  readonly members = new Map<string, ModernMember>();
  /** Static members: instance id -> member id. */
  readonly staticMembers = new Map<string, string>();
  /** Target assignment by member id. */
  readonly targetAssignment = new Map<string, TopicPartitionsById>();
  /** Member epoch owning each partition: topic id hex -> partition -> epoch. */
  readonly partitionEpochs = new Map<string, Map<number, number>>();
  /** Subscribed topics (stored as ConsumerGroupPartitionMetadata), by name. */
  subscriptionMetadata = new Map<string, SubscribedTopic>();
  /** Topic metadata version the subscription metadata was computed at (-1 = compute on the next heartbeat). */
  metadataVersion = -1;
  /** When the group entered its current state (for offset expiry of an empty group). */
  stateTimestampMs = -1;
  /** Whether the group was deleted. */
  dead = false;
  /** Committed offsets. */
  offsets = new GroupOffsets();
  /** Session timers by member id. */
  readonly sessionTimers = new Map<string, unknown>();
  /** Rebalance (revocation) timers by member id. */
  readonly rebalanceTimers = new Map<string, unknown>();
  /** What each regex of the members matched, and at which topic metadata version. */
  readonly resolvedRegexes = new Map<string, { topics: ReadonlySet<string>; version: number }>();
  /** Classic members' deadlines: SyncGroup after a JoinGroup, or JoinGroup after REBALANCE_IN_PROGRESS. */
  readonly classicDeadlines = new Map<string, unknown>();
  /** Pending regex resolution. */
  regexRefreshTimer: unknown = null;

  constructor(groupId: string) {
    this.groupId = groupId;
  }

  /** The group's state (Kafka's ConsumerGroup state rules). */
  get state(): ModernGroupState {
    if (this.dead) return "Dead";
    if (this.members.size === 0) return "Empty";
    if (this.groupEpoch > this.assignmentEpoch) return "Assigning";
    for (const m of this.members.values()) {
      if (m.memberEpoch !== this.assignmentEpoch || m.state !== MemberState.STABLE) return "Reconciling";
    }
    return "Stable";
  }

  /** KIP-1251: the epoch since which `m` holds a partition (its member epoch when unknown), or -1 when it does not. */
  static assignmentEpochOf(m: ModernMember, topicId: string, partition: number): number {
    if (!m.assigned.get(topicId)?.has(partition)) return -1;
    return m.assignmentEpochs.get(topicId)?.get(partition) ?? m.memberEpoch;
  }

  /** The member epoch owning a partition, or -1 when free. */
  currentPartitionEpoch(topicId: string, partition: number): number {
    return this.partitionEpochs.get(topicId)?.get(partition) ?? -1;
  }

  /** Adds or replaces a member's subscription fields (its assignment is kept). */
  putMemberMetadata(m: ModernMember): void {
    const old = this.members.get(m.memberId);
    if (old !== undefined && old.instanceId !== null && this.staticMembers.get(old.instanceId) === m.memberId) this.staticMembers.delete(old.instanceId);
    this.members.set(m.memberId, m);
    if (m.instanceId !== null) this.staticMembers.set(m.instanceId, m.memberId);
  }

  /** Removes a member (its assignment must be released already). */
  removeMember(memberId: string): void {
    const m = this.members.get(memberId);
    if (m === undefined) return;
    this.releasePartitions(m);
    this.members.delete(memberId);
    if (m.instanceId !== null && this.staticMembers.get(m.instanceId) === memberId) this.staticMembers.delete(m.instanceId);
  }

  /** Sets a member's epochs, state and assignment, moving partition ownership. */
  updateAssignment(memberId: string, a: { memberEpoch: number; previousMemberEpoch: number; state: number; assigned: TopicPartitionsById; pendingRevocation: TopicPartitionsById; assignmentEpochs: Map<string, Map<number, number>> }): void {
    const m = this.members.get(memberId);
    if (m === undefined) throw new Error(`group ${this.groupId}: assignment of unknown member ${memberId}`);
    this.releasePartitions(m);
    m.memberEpoch = a.memberEpoch;
    m.previousMemberEpoch = a.previousMemberEpoch;
    m.state = a.state;
    m.assigned = a.assigned;
    m.pendingRevocation = a.pendingRevocation;
    m.assignmentEpochs = a.assignmentEpochs;
    this.claimPartitions(m);
  }

  /** Clears a member's assignment (tombstone of its current assignment). */
  clearAssignment(memberId: string): void {
    const m = this.members.get(memberId);
    if (m === undefined) return;
    this.releasePartitions(m);
    m.memberEpoch = 0;
    m.previousMemberEpoch = 0;
    m.state = MemberState.STABLE;
    m.assigned = new Map();
    m.pendingRevocation = new Map();
    m.assignmentEpochs = new Map();
  }

  private releasePartitions(m: ModernMember): void {
    for (const parts of [m.assigned, m.pendingRevocation]) {
      for (const [t, s] of parts) {
        const epochs = this.partitionEpochs.get(t);
        if (epochs === undefined) continue;
        for (const p of s) epochs.delete(p);
        if (epochs.size === 0) this.partitionEpochs.delete(t);
      }
    }
  }

  private claimPartitions(m: ModernMember): void {
    for (const parts of [m.assigned, m.pendingRevocation]) {
      for (const [t, s] of parts) {
        let epochs = this.partitionEpochs.get(t);
        if (epochs === undefined) this.partitionEpochs.set(t, (epochs = new Map()));
        for (const p of s) {
          if (epochs.has(p)) throw new Error(`group ${this.groupId}: partition ${t}-${p} is owned twice (member ${m.memberId})`);
          epochs.set(p, m.memberEpoch);
        }
      }
    }
  }

  /** The target assignment of a member (empty when none). */
  targetOf(memberId: string): TopicPartitionsById {
    return this.targetAssignment.get(memberId) ?? new Map();
  }

  /** The assignor most members ask for, else `fallback` (Kafka's preferred server assignor). */
  preferredAssignor(fallback: string, members: Iterable<ModernMember> = this.members.values()): string {
    const votes = new Map<string, number>();
    for (const m of members) if (m.serverAssignor !== null) votes.set(m.serverAssignor, (votes.get(m.serverAssignor) ?? 0) + 1);
    let best = fallback;
    let n = 0;
    for (const [name, v] of votes) if (v > n) [best, n] = [name, v];
    return best;
  }
}
