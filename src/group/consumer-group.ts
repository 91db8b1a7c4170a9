/**
 * The state of one classic-protocol group: its members, generation, selected protocol, leader and committed
 * offsets, plus the state machine Kafka's ClassicGroup follows:
 *
 *   Empty --join--> PreparingRebalance --all joined / timeout--> CompletingRebalance --leader sync--> Stable
 *   Stable / CompletingRebalance --member joins, leaves or fails--> PreparingRebalance
 *   PreparingRebalance --nobody left--> Empty;  any --deleted / expired--> Dead
 *
 * This module holds data and pure rules only; the coordinator drives transitions, timers and persistence.
 */
import type { Clock } from "../platform/clock.ts";
import { CONSUMER_PROTOCOL_TYPE, subscribedTopicsOf } from "./consumer-protocol.ts";
import { GroupOffsets } from "./offset-store.ts";

/** A classic group's state (the names Kafka reports in ListGroups and DescribeGroups). */
export type GroupState = "Empty" | "PreparingRebalance" | "CompletingRebalance" | "Stable" | "Dead";

/** Every group state, in Kafka's order. */
export const GROUP_STATES: readonly GroupState[] = ["Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"];

/** States a group may come from when entering each state. */
const VALID_PREVIOUS_STATES: Record<GroupState, readonly GroupState[]> = {
  Empty: ["PreparingRebalance"],
  PreparingRebalance: ["Stable", "CompletingRebalance", "Empty"],
  CompletingRebalance: ["PreparingRebalance"],
  Stable: ["CompletingRebalance"],
  Dead: ["Stable", "PreparingRebalance", "CompletingRebalance", "Empty", "Dead"],
};

/** An empty assignment or metadata. */
export const EMPTY_BYTES = new Uint8Array(0);

/** One protocol a member supports, with its metadata (the consumer's subscription). */
export interface MemberProtocol {
  /** Protocol name (the assignor: range, roundrobin, sticky, cooperative-sticky, ...). */
  name: string;
  /** Protocol metadata. */
  metadata: Uint8Array;
}

/** One member as listed in a JoinGroup response to the leader. */
export interface JoinedMember {
  /** Member id. */
  memberId: string;
  /** Static instance id, or null. */
  groupInstanceId: string | null;
  /** Metadata for the selected protocol. */
  metadata: Uint8Array;
}

/** The outcome of a JoinGroup. */
export interface JoinGroupOutcome {
  /** Kafka error code. */
  errorCode: number;
  /** Generation joined, -1 on error. */
  generationId: number;
  /** Group protocol type, or null. */
  protocolType: string | null;
  /** Selected protocol, or null. */
  protocolName: string | null;
  /** Leader member id ("" on error). */
  leader: string;
  /** Whether the leader should skip computing an assignment (static leader rejoin, v9+). */
  skipAssignment: boolean;
  /** The member id the caller has now. */
  memberId: string;
  /** All members with their metadata when the caller is the leader, else empty. */
  members: JoinedMember[];
}

/** The outcome of a SyncGroup. */
export interface SyncGroupOutcome {
  /** Kafka error code. */
  errorCode: number;
  /** Group protocol type, or null. */
  protocolType: string | null;
  /** Selected protocol, or null. */
  protocolName: string | null;
  /** The caller's assignment. */
  assignment: Uint8Array;
}

/** A JoinGroup outcome carrying only an error. */
export function joinError(memberId: string, errorCode: number): JoinGroupOutcome {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: "", skipAssignment: false, memberId, members: [] };
}

/** A SyncGroup outcome carrying only an error. */
export function syncError(errorCode: number): SyncGroupOutcome {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BYTES };
}

/** One member of a classic group. */
export class GroupMember {
  /** Member id (changes only when a static member is replaced). */
  memberId: string;
  /** Static instance id (`group.instance.id`), or null for a dynamic member. */
  readonly groupInstanceId: string | null;
  /** Client id from the request header. */
  clientId: string;
  /** Client address ("/127.0.0.1", Kafka's form). */
  clientHost: string;
  /** How long the member may take to rejoin during a rebalance. */
  rebalanceTimeoutMs: number;
  /** How long without a heartbeat before the member is removed. */
  sessionTimeoutMs: number;
  /** Protocol type the member joined with. */
  readonly protocolType: string;
  /** Protocols in the member's order of preference. */
  protocols: MemberProtocol[];
  /** Assignment received in the last completed SyncGroup. */
  assignment: Uint8Array = EMPTY_BYTES;
  /** Completes the member's parked JoinGroup. */
  awaitingJoin: ((r: JoinGroupOutcome) => void) | null = null;
  /** Completes the member's parked SyncGroup. */
  awaitingSync: ((r: SyncGroupOutcome) => void) | null = null;
  /** Joined during the current rebalance (its JoinGroup expires after the new-member timeout). */
  isNew = false;
  /** Session (heartbeat) timer handle. */
  sessionTimer: unknown = null;

  constructor(init: {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    rebalanceTimeoutMs: number;
    sessionTimeoutMs: number;
    protocolType: string;
    protocols: MemberProtocol[];
  }) {
    this.memberId = init.memberId;
    this.groupInstanceId = init.groupInstanceId;
    this.clientId = init.clientId;
    this.clientHost = init.clientHost;
    this.rebalanceTimeoutMs = init.rebalanceTimeoutMs;
    this.sessionTimeoutMs = init.sessionTimeoutMs;
    this.protocolType = init.protocolType;
    this.protocols = init.protocols;
  }

  /** Whether this is a static member. */
  get isStatic(): boolean {
    return this.groupInstanceId !== null;
  }

  /** The metadata for `protocol`; throws if the member does not support it. */
  metadataFor(protocol: string): Uint8Array {
    for (const p of this.protocols) if (p.name === protocol) return p.metadata;
    throw new Error(`member ${this.memberId} does not support protocol ${protocol}`);
  }

  /** The first protocol in the member's preference order that is among `candidates`. */
  vote(candidates: ReadonlySet<string>): string {
    for (const p of this.protocols) if (candidates.has(p.name)) return p.name;
    throw new Error(`member ${this.memberId} supports none of the candidate protocols`);
  }

  /** Whether `protocols` are the member's current ones (same names, order and metadata). */
  matches(protocols: readonly MemberProtocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    for (let i = 0; i < protocols.length; i++) {
      if (protocols[i].name !== this.protocols[i].name) return false;
      if (!bytesEqual(protocols[i].metadata, this.protocols[i].metadata)) return false;
    }
    return true;
  }
}

/** Whether two byte arrays hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** One classic group. */
export class ClassicGroup {
  /** Group id. */
  readonly groupId: string;
  /** Current state. */
  state: GroupState = "Empty";
  /** State before the current one. */
  previousState: GroupState = "Empty";
  /** When the current state was entered (ms since epoch), or -1 when unknown (old records). */
  stateTimestampMs = -1;
  /** Generation id (0 before the first rebalance). */
  generationId = 0;
  /** Protocol type ("consumer", ...), or null for a group that only stores offsets. */
  protocolType: string | null = null;
  /** Protocol selected for the current generation. */
  protocolName: string | null = null;
  /** Leader member id. */
  leaderId: string | null = null;
  /** Members by member id (insertion order = join order). */
  readonly members = new Map<string, GroupMember>();
  /** Static members: instance id -> member id. */
  readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, not yet joined; value = expiry timer. */
  readonly pendingMembers = new Map<string, unknown>();
  /** Members of the current generation that have not sent SyncGroup yet. */
  readonly pendingSyncMembers = new Set<string>();
  /** A member joined during the initial delayed rebalance (it may be extended). */
  newMemberAdded = false;
  /** Join-phase timer (initial delay or rebalance timeout). */
  joinTimer: unknown = null;
  /** Sync-phase timer (members that never send SyncGroup are removed). */
  syncTimer: unknown = null;
  /** Topics the members subscribe to (consumer protocol), or null when unknown. */
  subscribedTopics: Set<string> | null = null;
  /** Committed offsets. */
  readonly offsets = new GroupOffsets();

  constructor(groupId: string) {
    this.groupId = groupId;
  }

  /** Moves to `next`, asserting the transition is one Kafka allows. */
  transitionTo(next: GroupState, clock: Clock): void {
    if (!VALID_PREVIOUS_STATES[next].includes(this.state)) {
      throw new Error(`group ${this.groupId}: invalid transition ${this.state} -> ${next}`);
    }
    this.previousState = this.state;
    this.state = next;
    this.stateTimestampMs = clock.nowMs();
  }

  /** Whether the group is in `s`. */
  is(s: GroupState): boolean {
    return this.state === s;
  }

  /** Number of members. */
  get size(): number {
    return this.members.size;
  }

  /** Whether the group has no members. */
  get isEmpty(): boolean {
    return this.members.size === 0;
  }

  /** Whether `memberId` is the leader. */
  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  /** Whether a rebalance may start from the current state. */
  canRebalance(): boolean {
    return VALID_PREVIOUS_STATES.PreparingRebalance.includes(this.state);
  }

  /** Adds a member (the first one fixes the protocol type and becomes leader). */
  add(member: GroupMember): void {
    if (this.members.has(member.memberId)) throw new Error(`member ${member.memberId} already in group ${this.groupId}`);
    if (this.members.size === 0) this.protocolType = member.protocolType;
    this.members.set(member.memberId, member);
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    this.pendingMembers.delete(member.memberId);
    if (this.leaderId === null) this.leaderId = member.memberId;
  }

  /** Removes a member; a removed leader is replaced by another member (or none). */
  remove(memberId: string): GroupMember | undefined {
    const m = this.members.get(memberId);
    if (m === undefined) return undefined;
    this.members.delete(memberId);
    if (m.groupInstanceId !== null && this.staticMembers.get(m.groupInstanceId) === memberId) this.staticMembers.delete(m.groupInstanceId);
    this.pendingSyncMembers.delete(memberId);
    if (this.leaderId === memberId) {
      const next = this.members.keys().next();
      this.leaderId = next.done ? null : next.value;
    }
    return m;
  }

  /** Gives a static member a new member id (a restarted instance); returns the member. */
  replaceStaticMember(groupInstanceId: string, oldMemberId: string, newMemberId: string): GroupMember {
    const m = this.members.get(oldMemberId);
    if (m === undefined || m.groupInstanceId !== groupInstanceId) throw new Error(`no static member ${groupInstanceId} with id ${oldMemberId}`);
    this.members.delete(oldMemberId);
    m.memberId = newMemberId;
    this.members.set(newMemberId, m);
    this.staticMembers.set(groupInstanceId, newMemberId);
    if (this.leaderId === oldMemberId) this.leaderId = newMemberId;
    if (this.pendingSyncMembers.delete(oldMemberId)) this.pendingSyncMembers.add(newMemberId);
    return m;
  }

  /** The member id bound to a static instance id, or undefined. */
  staticMemberId(groupInstanceId: string): string | undefined {
    return this.staticMembers.get(groupInstanceId);
  }

  /** Protocol names every member supports. */
  candidateProtocols(): Set<string> {
    let out: Set<string> | null = null;
    for (const m of this.members.values()) {
      const names = new Set(m.protocols.map((p) => p.name));
      if (out === null) out = names;
      else for (const n of out) if (!names.has(n)) out.delete(n);
    }
    return out ?? new Set();
  }

  /** Whether a member with this protocol type and protocols may join (Kafka's supportsProtocols). */
  supportsProtocols(protocolType: string, protocols: readonly MemberProtocol[]): boolean {
    if (this.isEmpty) return protocolType !== "" && protocols.length > 0;
    if (this.protocolType !== protocolType) return false;
    const candidates = this.candidateProtocols();
    return protocols.some((p) => candidates.has(p.name));
  }

  /** Picks the protocol for the next generation: every member votes for its preferred candidate; most votes wins. */
  selectProtocol(): string {
    if (this.isEmpty) throw new Error(`cannot select a protocol for empty group ${this.groupId}`);
    const candidates = this.candidateProtocols();
    if (candidates.size === 0) throw new Error(`group ${this.groupId} has no protocol all members support`);
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const v = m.vote(candidates);
      votes.set(v, (votes.get(v) ?? 0) + 1);
    }
    let best = "";
    let bestVotes = -1;
    for (const [name, n] of votes) {
      if (n > bestVotes) {
        best = name;
        bestVotes = n;
      }
    }
    return best;
  }

  /** Number of members whose JoinGroup is parked. */
  numAwaitingJoin(): number {
    let n = 0;
    for (const m of this.members.values()) if (m.awaitingJoin !== null) n++;
    return n;
  }

  /** Whether every member has rejoined and no MEMBER_ID_REQUIRED member is still expected. */
  hasAllMembersJoined(): boolean {
    return this.members.size === this.numAwaitingJoin() && this.pendingMembers.size === 0;
  }

  /** Largest rebalance timeout among members (how long a rebalance may wait). */
  rebalanceTimeoutMs(): number {
    let t = 0;
    for (const m of this.members.values()) if (m.rebalanceTimeoutMs > t) t = m.rebalanceTimeoutMs;
    return t;
  }

  /** Makes sure the leader is a member that rejoined; false when no member rejoined. */
  maybeElectNewJoinedLeader(): boolean {
    if (this.leaderId === null) return false;
    const leader = this.members.get(this.leaderId);
    if (leader !== undefined && leader.awaitingJoin !== null) return true;
    for (const m of this.members.values()) {
      if (m.awaitingJoin !== null) {
        this.leaderId = m.memberId;
        return true;
      }
    }
    return false;
  }

  /** Starts the next generation: selects the protocol and moves to CompletingRebalance, or to Empty. */
  initNextGeneration(clock: Clock): void {
    this.generationId++;
    if (!this.isEmpty) {
      this.protocolName = this.selectProtocol();
      this.subscribedTopics = this.computeSubscribedTopics();
      this.transitionTo("CompletingRebalance", clock);
    } else {
      this.protocolName = null;
      this.subscribedTopics = this.computeSubscribedTopics();
      this.transitionTo("Empty", clock);
    }
    this.pendingSyncMembers.clear();
  }

  /** Topics subscribed by the members of a consumer group, or null when unknown (another protocol type). */
  computeSubscribedTopics(): Set<string> | null {
    if (this.protocolType !== CONSUMER_PROTOCOL_TYPE || this.protocolName === null) return this.isEmpty ? new Set() : null;
    const out = new Set<string>();
    for (const m of this.members.values()) {
      let metadata: Uint8Array;
      try {
        metadata = m.metadataFor(this.protocolName);
      } catch {
        return null;
      }
      const topics = subscribedTopicsOf(metadata);
      if (topics === null) return null;
      for (const t of topics) out.add(t);
    }
    return out;
  }

  /**
   * Whether the members subscribe to `topic`. When unknown (a member's subscription does not parse), a group of the
   * consumer protocol type counts as subscribed, to be safe, and any other as not (Kafka's ClassicGroup).
   */
  isSubscribedTo(topic: string): boolean {
    return this.subscribedTopics !== null ? this.subscribedTopics.has(topic) : this.protocolType === CONSUMER_PROTOCOL_TYPE;
  }

  /** Members of the current generation with their metadata for the selected protocol. */
  currentMembers(): JoinedMember[] {
    const protocol = this.protocolName;
    if (protocol === null) throw new Error(`group ${this.groupId} has no selected protocol`);
    return [...this.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadataFor(protocol) }));
  }
}
