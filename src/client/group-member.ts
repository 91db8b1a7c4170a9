/**
 * Membership of a consumer group under the classic protocol: FindCoordinator, JoinGroup with the "consumer"
 * protocol type and ConsumerProtocolSubscription metadata per assignor, SyncGroup (the leader runs the chosen
 * assignor and sends ConsumerProtocolAssignments), Heartbeat on a timer, LeaveGroup on close.
 *
 * Rebalance protocol: eager unless every configured assignor is cooperative. Eager revokes everything before
 * rejoining; cooperative keeps partitions across the rebalance, revokes only those that moved, and rejoins once
 * more so they can be handed to their new owner.
 */
import { ErrorCode, KafkaError, errorName, isRetriable } from "../protocol/errors.ts";
import { ApiKey } from "../protocol/generated/index.ts";
import { Reader, Writer } from "../protocol/wire.ts";
import type { JoinGroupRequest, JoinGroupResponse } from "../protocol/generated/11_join_group.ts";
import type { SyncGroupRequest, SyncGroupResponse } from "../protocol/generated/14_sync_group.ts";
import type { HeartbeatResponse } from "../protocol/generated/12_heartbeat.ts";
import type { LeaveGroupRequest, LeaveGroupResponse } from "../protocol/generated/13_leave_group.ts";
import { readConsumerProtocolSubscription, writeConsumerProtocolSubscription } from "../protocol/generated/data_consumer_protocol_subscription.ts";
import { readConsumerProtocolAssignment, writeConsumerProtocolAssignment } from "../protocol/generated/data_consumer_protocol_assignment.ts";
import { ClientClosedError } from "./client-errors.ts";
import type { Cluster } from "./cluster-metadata.ts";
import type { BrokerChannel } from "./connection.ts";
import type { Assignor, MemberSubscription, TopicPartition } from "./assignors.ts";
import { commitOffsets, fetchCommittedOffsets, findCoordinator, isCoordinatorError, type CommittedOffset, type OffsetToCommit } from "./group-coordinator.ts";

/** The consumer protocol type. */
export const CONSUMER_PROTOCOL_TYPE = "consumer";
/** Subscription and assignment versions written (those of Kafka 4's Java client). */
const SUBSCRIPTION_VERSION = 3;
const ASSIGNMENT_VERSION = 3;
/** Most JoinGroup/SyncGroup rounds one rebalance makes before giving up. */
const MAX_JOIN_ROUNDS = 100;
/** Longest a closing member waits for a running rebalance before leaving. */
const LEAVE_WAIT_MS = 5_000;
/** Extra time on top of rebalance.timeout.ms for a JoinGroup request to come back. */
const JOIN_REQUEST_SLACK_MS = 5_000;

/** Settings of a member. */
export interface GroupMemberOptions {
  /** `group.id`. */
  groupId: string;
  /** `session.timeout.ms` (default 45000). */
  sessionTimeoutMs: number;
  /** `max.poll.interval.ms`, sent as the rebalance timeout (default 300000). */
  rebalanceTimeoutMs: number;
  /** `heartbeat.interval.ms` (default 3000). */
  heartbeatIntervalMs: number;
  /** Assignors in preference order. */
  assignors: readonly Assignor[];
  /** `group.instance.id` (static membership), or null. */
  groupInstanceId?: string | null;
}

/** What the consumer does when partitions come and go. */
export interface RebalanceListener {
  /** Partitions are taken away after a normal rebalance (commit their offsets now). */
  onPartitionsRevoked(partitions: TopicPartition[]): Promise<void>;
  /** Partitions were assigned. */
  onPartitionsAssigned(partitions: TopicPartition[]): Promise<void>;
  /** Partitions were lost (the member was fenced; committing is no longer possible). */
  onPartitionsLost(partitions: TopicPartition[]): Promise<void>;
}

/** Encodes a ConsumerProtocolSubscription with its version prefix. */
export function encodeSubscription(topics: readonly string[], owned: readonly TopicPartition[], generation: number): Uint8Array {
  const w = new Writer(256);
  w.int16(SUBSCRIPTION_VERSION);
  writeConsumerProtocolSubscription(w, SUBSCRIPTION_VERSION, {
    topics: [...topics],
    userData: null,
    ownedPartitions: groupByTopic(owned),
    generationId: generation,
    rackId: null,
  });
  return w.finishContiguous().slice();
}

/** Decodes a subscription (any version; later versions read as the highest known, as Kafka does). */
export function decodeSubscription(memberId: string, bytes: Uint8Array): MemberSubscription {
  const r = new Reader(bytes);
  const version = Math.min(r.int16(), SUBSCRIPTION_VERSION);
  if (version < 0) throw new KafkaError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, `member ${memberId} sent subscription version ${version}`);
  const s = readConsumerProtocolSubscription(r, version);
  const owned: TopicPartition[] = [];
  for (const t of s.ownedPartitions ?? []) for (const p of t.partitions) owned.push({ topic: t.topic, partition: p });
  return { memberId, topics: s.topics, owned, generation: s.generationId ?? -1 };
}

/** Encodes a ConsumerProtocolAssignment with its version prefix. */
export function encodeAssignment(partitions: readonly TopicPartition[]): Uint8Array {
  const w = new Writer(256);
  w.int16(ASSIGNMENT_VERSION);
  writeConsumerProtocolAssignment(w, ASSIGNMENT_VERSION, { assignedPartitions: groupByTopic(partitions), userData: null });
  return w.finishContiguous().slice();
}

/** Decodes an assignment (empty bytes: nothing assigned). */
export function decodeAssignment(bytes: Uint8Array): TopicPartition[] {
  if (bytes.length === 0) return [];
  const r = new Reader(bytes);
  const version = Math.min(r.int16(), ASSIGNMENT_VERSION);
  if (version < 0) throw new KafkaError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, `assignment version ${version}`);
  const a = readConsumerProtocolAssignment(r, version);
  const out: TopicPartition[] = [];
  for (const t of a.assignedPartitions) for (const p of t.partitions) out.push({ topic: t.topic, partition: p });
  return out;
}

function groupByTopic(list: readonly TopicPartition[]): { topic: string; partitions: number[] }[] {
  const m = new Map<string, number[]>();
  for (const tp of list) {
    let l = m.get(tp.topic);
    if (l === undefined) m.set(tp.topic, (l = []));
    l.push(tp.partition);
  }
  return [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }));
}

function tpKey(tp: TopicPartition): string {
  return `${tp.topic}\u0000${tp.partition}`;
}

function minus(a: readonly TopicPartition[], b: readonly TopicPartition[]): TopicPartition[] {
  const s = new Set(b.map(tpKey));
  return a.filter((tp) => !s.has(tpKey(tp)));
}

/** A member of one consumer group. */
export class GroupMember {
  /** Member id given by the coordinator ("" before the first join). */
  memberId = "";
  /** Current generation, or -1. */
  generationId = -1;
  /** Protocol (assignor) the group chose, or null. */
  protocolName: string | null = null;
  /** Leader member id of the current generation. */
  leaderId = "";
  /** Partitions assigned in the current generation. */
  owned: TopicPartition[] = [];
  /** Whether the member has a current assignment and is heartbeating. */
  stable = false;
  private readonly cluster: Cluster;
  private readonly opts: GroupMemberOptions;
  private readonly listener: RebalanceListener;
  private readonly cooperative: boolean;
  private topics: string[] = [];
  private coordinator: BrokerChannel | null = null;
  private findingCoordinator: Promise<BrokerChannel> | null = null;
  private rejoinNeeded = true;
  private rebalancing: Promise<void> | null = null;
  private heartbeatTimer: unknown = null;
  private heartbeatInFlight = false;
  private isClosed = false;
  private fatal: Error | null = null;
  /** Partition counts the last assignment this member computed as leader was based on. */
  private assignedCounts: ReadonlyMap<string, number> | null = null;

  constructor(cluster: Cluster, opts: GroupMemberOptions, listener: RebalanceListener) {
    if (opts.assignors.length === 0) throw new RangeError("a group member needs at least one assignor");
    this.cluster = cluster;
    this.opts = opts;
    this.listener = listener;
    this.cooperative = opts.assignors.every((a) => a.cooperative);
  }

  /** The group id. */
  get groupId(): string {
    return this.opts.groupId;
  }

  /** Sets the subscribed topics; a change triggers a rebalance. */
  subscribe(topics: readonly string[]): void {
    const next = [...new Set(topics)].sort();
    if (next.join("\u0000") === this.topics.join("\u0000")) return;
    this.topics = next;
    this.requestRejoin();
  }

  /** Asks for a rebalance (started in the background). */
  requestRejoin(): void {
    this.rejoinNeeded = true;
    if (this.stable && !this.isClosed) void this.ensureActive().catch(() => {});
  }

  /**
   * Whether this member led the current generation and a subscribed topic's partition count has changed since it
   * computed the assignment (then the group must rebalance so new partitions get consumers).
   */
  partitionCountsChanged(): boolean {
    if (!this.stable || this.leaderId !== this.memberId || this.assignedCounts === null) return false;
    for (const [topic, count] of this.assignedCounts) {
      const info = this.cluster.topics.get(topic);
      if (info !== undefined && info.partitions.length !== count) return true;
    }
    return false;
  }

  /** Whether a rebalance is needed or running. */
  get rebalanceInProgress(): boolean {
    return this.rejoinNeeded || this.rebalancing !== null;
  }

  /** Joins or rejoins when needed and resolves once the member is stable. Throws fatal group errors. */
  ensureActive(): Promise<void> {
    if (this.fatal !== null) return Promise.reject(this.fatal);
    if (this.isClosed) return Promise.reject(new ClientClosedError());
    if (this.rebalancing !== null) return this.rebalancing;
    if (!this.rejoinNeeded && this.stable) return Promise.resolve();
    const p = this.rebalance().finally(() => {
      if (this.rebalancing === p) this.rebalancing = null;
    });
    this.rebalancing = p;
    return p;
  }

  /** The coordinator connection (found on first use). */
  async coordinatorChannel(): Promise<BrokerChannel> {
    if (this.coordinator !== null && !this.coordinator.closed) return this.coordinator;
    if (this.findingCoordinator === null) {
      this.findingCoordinator = (async () => {
        const info = await findCoordinator(this.cluster, this.opts.groupId);
        const ch = await this.cluster.connectTo(info, "coordinator");
        this.coordinator = ch;
        return ch;
      })().finally(() => {
        this.findingCoordinator = null;
      });
    }
    return await this.findingCoordinator;
  }

  /** Forgets the coordinator (after NOT_COORDINATOR and the like). */
  coordinatorUnknown(): void {
    this.coordinator = null;
  }

  /** Commits offsets as this member (standalone when not in a generation). */
  async commit(offsets: readonly OffsetToCommit[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const ch = await this.coordinatorChannel();
      try {
        await commitOffsets(ch, this.opts.groupId, this.generationId, this.generationId >= 0 ? this.memberId : "", offsets, this.opts.groupInstanceId ?? null);
        return;
      } catch (e) {
        const code = e instanceof KafkaError ? e.code : ErrorCode.UNKNOWN_SERVER_ERROR;
        if (code === ErrorCode.REBALANCE_IN_PROGRESS) this.requestRejoin();
        if (code === ErrorCode.UNKNOWN_MEMBER_ID || code === ErrorCode.ILLEGAL_GENERATION) {
          this.resetGeneration(code === ErrorCode.UNKNOWN_MEMBER_ID);
          this.requestRejoin();
        }
        if (isCoordinatorError(code)) this.coordinatorUnknown();
        if (!(isCoordinatorError(code) || code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) || attempt >= 5) throw e;
        await this.cluster.sleep(this.cluster.backoff.backoffMs(attempt));
      }
    }
  }

  /** Fetches committed offsets of `partitions` for this group. */
  async committed(partitions: readonly TopicPartition[]): Promise<CommittedOffset[]> {
    const byTopic = new Map<string, number[]>();
    for (const tp of partitions) {
      let l = byTopic.get(tp.topic);
      if (l === undefined) byTopic.set(tp.topic, (l = []));
      l.push(tp.partition);
    }
    for (let attempt = 0; ; attempt++) {
      const ch = await this.coordinatorChannel();
      try {
        return await fetchCommittedOffsets(ch, this.opts.groupId, [...byTopic].map(([topic, ps]) => ({ topic, partitions: ps })), true);
      } catch (e) {
        const code = e instanceof KafkaError ? e.code : ErrorCode.UNKNOWN_SERVER_ERROR;
        if (isCoordinatorError(code)) this.coordinatorUnknown();
        if (!isRetriable(code) || attempt >= 10) throw e;
        await this.cluster.sleep(this.cluster.backoff.backoffMs(attempt));
      }
    }
  }

  private resetGeneration(forgetMemberId: boolean): void {
    this.generationId = -1;
    if (forgetMemberId) this.memberId = "";
    this.stable = false;
    this.stopHeartbeats();
  }

  private async rebalance(): Promise<void> {
    for (let round = 0; round < MAX_JOIN_ROUNDS; round++) {
      if (this.isClosed) throw new ClientClosedError();
      if (!this.rejoinNeeded && this.stable) return;
      this.stable = false;
      this.stopHeartbeats();
      if (!this.cooperative && this.owned.length > 0) {
        const revoked = this.owned;
        this.owned = [];
        await this.listener.onPartitionsRevoked(revoked);
      }
      let ch: BrokerChannel;
      try {
        ch = await this.coordinatorChannel();
      } catch (e) {
        if (e instanceof KafkaError && isRetriable(e.code)) {
          await this.cluster.sleep(this.cluster.backoff.backoffMs(Math.min(round, 10)));
          continue;
        }
        throw e;
      }
      this.rejoinNeeded = false;
      const outcome = await this.joinAndSync(ch);
      if (outcome === "done") return;
      this.rejoinNeeded = true;
      if (outcome === "backoff") await this.cluster.sleep(this.cluster.backoff.backoffMs(Math.min(round, 10)));
    }
    throw new KafkaError(ErrorCode.REBALANCE_IN_PROGRESS, `group '${this.opts.groupId}': no stable assignment after ${MAX_JOIN_ROUNDS} rounds`);
  }

  /** One JoinGroup + SyncGroup round: "done", "retry" (rejoin at once) or "backoff". */
  private async joinAndSync(ch: BrokerChannel): Promise<"done" | "retry" | "backoff"> {
    const metadata = encodeSubscription(this.topics, this.cooperative ? this.owned : [], this.generationId);
    const join: JoinGroupRequest = {
      groupId: this.opts.groupId,
      sessionTimeoutMs: this.opts.sessionTimeoutMs,
      rebalanceTimeoutMs: this.opts.rebalanceTimeoutMs,
      memberId: this.memberId,
      groupInstanceId: this.opts.groupInstanceId ?? null,
      protocolType: CONSUMER_PROTOCOL_TYPE,
      protocols: this.opts.assignors.map((a) => ({ name: a.name, metadata })),
      reason: null,
    };
    let res: JoinGroupResponse;
    try {
      res = await ch.request<JoinGroupResponse>(ApiKey.JoinGroup, join, { timeoutMs: this.opts.rebalanceTimeoutMs + JOIN_REQUEST_SLACK_MS });
    } catch (e) {
      return this.onRequestError(e);
    }
    switch (res.errorCode) {
      case ErrorCode.NONE:
        break;
      case ErrorCode.MEMBER_ID_REQUIRED:
        this.memberId = res.memberId;
        return "retry";
      case ErrorCode.UNKNOWN_MEMBER_ID:
        await this.lose();
        this.resetGeneration(true);
        return "retry";
      case ErrorCode.ILLEGAL_GENERATION:
        await this.lose();
        this.resetGeneration(false);
        return "retry";
      case ErrorCode.REBALANCE_IN_PROGRESS:
        return "retry";
      default:
        if (isCoordinatorError(res.errorCode)) {
          this.coordinatorUnknown();
          return "backoff";
        }
        if (isRetriable(res.errorCode)) return "backoff";
        throw this.setFatal(new KafkaError(res.errorCode, `JoinGroup for group '${this.opts.groupId}' failed: ${errorName(res.errorCode)}`));
    }
    this.memberId = res.memberId;
    this.generationId = res.generationId;
    this.protocolName = res.protocolName;
    this.leaderId = res.leader;
    let assignments: { memberId: string; assignment: Uint8Array }[] = [];
    if (res.leader === res.memberId && !(res.skipAssignment ?? false)) assignments = await this.assign(res);
    const sync: SyncGroupRequest = {
      groupId: this.opts.groupId,
      generationId: this.generationId,
      memberId: this.memberId,
      groupInstanceId: this.opts.groupInstanceId ?? null,
      protocolType: CONSUMER_PROTOCOL_TYPE,
      protocolName: this.protocolName,
      assignments,
    };
    let syncRes: SyncGroupResponse;
    try {
      syncRes = await ch.request<SyncGroupResponse>(ApiKey.SyncGroup, sync, { timeoutMs: this.opts.rebalanceTimeoutMs + JOIN_REQUEST_SLACK_MS });
    } catch (e) {
      return this.onRequestError(e);
    }
    switch (syncRes.errorCode) {
      case ErrorCode.NONE:
        break;
      case ErrorCode.REBALANCE_IN_PROGRESS:
        return "retry";
      case ErrorCode.UNKNOWN_MEMBER_ID:
        await this.lose();
        this.resetGeneration(true);
        return "retry";
      case ErrorCode.ILLEGAL_GENERATION:
        await this.lose();
        this.resetGeneration(false);
        return "retry";
      default:
        if (isCoordinatorError(syncRes.errorCode)) {
          this.coordinatorUnknown();
          return "backoff";
        }
        if (isRetriable(syncRes.errorCode)) return "backoff";
        throw this.setFatal(new KafkaError(syncRes.errorCode, `SyncGroup for group '${this.opts.groupId}' failed: ${errorName(syncRes.errorCode)}`));
    }
    const assigned = decodeAssignment(syncRes.assignment);
    this.stable = true;
    this.startHeartbeats();
    if (this.cooperative) {
      const revoked = minus(this.owned, assigned);
      const added = minus(assigned, this.owned);
      this.owned = assigned;
      if (revoked.length > 0) {
        await this.listener.onPartitionsRevoked(revoked);
        // Rejoin so the revoked partitions can go to their new owners.
        this.rejoinNeeded = true;
      }
      if (added.length > 0) await this.listener.onPartitionsAssigned(added);
      return this.rejoinNeeded ? "retry" : "done";
    }
    this.owned = assigned;
    await this.listener.onPartitionsAssigned(assigned);
    return this.rejoinNeeded ? "retry" : "done";
  }

  private async assign(res: JoinGroupResponse): Promise<{ memberId: string; assignment: Uint8Array }[]> {
    const assignor = this.opts.assignors.find((a) => a.name === res.protocolName);
    if (assignor === undefined) {
      throw this.setFatal(new KafkaError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, `the group chose assignor '${res.protocolName}', which this consumer does not have`));
    }
    const members = res.members.map((m) => decodeSubscription(m.memberId, m.metadata));
    const topics = [...new Set(members.flatMap((m) => m.topics))];
    const counts = new Map<string, number>();
    if (topics.length > 0) {
      this.cluster.track(topics);
      await this.cluster.refresh(topics).catch(() => {});
      for (const t of topics) {
        const info = this.cluster.topics.get(t);
        if (info !== undefined) counts.set(t, info.partitions.length);
      }
    }
    this.assignedCounts = counts;
    const result = assignor.assign(members, counts);
    return members.map((m) => ({ memberId: m.memberId, assignment: encodeAssignment(result.get(m.memberId) ?? []) }));
  }

  private onRequestError(e: unknown): "backoff" {
    if (e instanceof KafkaError && isRetriable(e.code)) {
      this.coordinatorUnknown();
      return "backoff";
    }
    throw e;
  }

  private setFatal(e: Error): Error {
    this.fatal = e;
    return e;
  }

  private async lose(): Promise<void> {
    if (this.owned.length === 0) return;
    const lost = this.owned;
    this.owned = [];
    await this.listener.onPartitionsLost(lost);
  }

  private startHeartbeats(): void {
    this.stopHeartbeats();
    this.heartbeatTimer = this.cluster.clock.setTimer(() => this.heartbeat(), this.opts.heartbeatIntervalMs);
  }

  private stopHeartbeats(): void {
    if (this.heartbeatTimer !== null) this.cluster.clock.clearTimer(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private heartbeat(): void {
    this.heartbeatTimer = null;
    if (!this.stable || this.isClosed || this.heartbeatInFlight) return;
    this.heartbeatInFlight = true;
    const generation = this.generationId;
    void this.sendHeartbeat().then(
      (code) => {
        this.heartbeatInFlight = false;
        if (this.isClosed || generation !== this.generationId) return;
        if (code === ErrorCode.NONE) {
          if (this.stable) this.startHeartbeats();
          return;
        }
        if (code === ErrorCode.REBALANCE_IN_PROGRESS) {
          this.requestRejoin();
          return;
        }
        if (code === ErrorCode.UNKNOWN_MEMBER_ID || code === ErrorCode.ILLEGAL_GENERATION || code === ErrorCode.FENCED_INSTANCE_ID) {
          void this.lose().then(() => {
            this.resetGeneration(code === ErrorCode.UNKNOWN_MEMBER_ID);
            this.rejoinNeeded = true;
            void this.ensureActive().catch(() => {});
          });
          return;
        }
        if (isCoordinatorError(code)) this.coordinatorUnknown();
        if (this.stable) this.startHeartbeats();
      },
      () => {
        this.heartbeatInFlight = false;
        this.coordinatorUnknown();
        if (this.stable && !this.isClosed) this.startHeartbeats();
      },
    );
  }

  private async sendHeartbeat(): Promise<number> {
    const ch = await this.coordinatorChannel();
    const res = await ch.request<HeartbeatResponse>(ApiKey.Heartbeat, {
      groupId: this.opts.groupId,
      generationId: this.generationId,
      memberId: this.memberId,
      groupInstanceId: this.opts.groupInstanceId ?? null,
    });
    return res.errorCode;
  }

  /** Leaves the group (LeaveGroup) and stops heartbeating. Owned partitions are revoked first. */
  async leave(reason = "the consumer is being closed"): Promise<void> {
    if (this.isClosed) return;
    if (this.rebalancing !== null) {
      // Wait briefly for a running rebalance (so its revocations run), but never for a whole rebalance timeout.
      let timer: unknown = null;
      const bound = new Promise<void>((resolve) => {
        timer = this.cluster.clock.setTimer(resolve, Math.min(this.opts.rebalanceTimeoutMs, LEAVE_WAIT_MS));
      });
      await Promise.race([this.rebalancing.catch(() => {}), bound]);
      this.cluster.clock.clearTimer(timer);
    }
    if (this.owned.length > 0) {
      const revoked = this.owned;
      this.owned = [];
      await this.listener.onPartitionsRevoked(revoked).catch(() => {});
    }
    this.isClosed = true;
    this.stopHeartbeats();
    if (this.memberId === "" || this.opts.groupInstanceId) return;
    try {
      const ch = await this.coordinatorChannel();
      const version = ch.version(ApiKey.LeaveGroup);
      const req: LeaveGroupRequest =
        version >= 3
          ? { groupId: this.opts.groupId, members: [{ memberId: this.memberId, groupInstanceId: null, reason }] }
          : { groupId: this.opts.groupId, memberId: this.memberId };
      await ch.request<LeaveGroupResponse>(ApiKey.LeaveGroup, req);
    } catch {
      // Leaving is best effort: the session timeout removes the member anyway.
    }
    this.memberId = "";
    this.generationId = -1;
    this.stable = false;
  }
}
