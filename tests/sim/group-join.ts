/**
 * One JoinGroup + SyncGroup round of a simulated classic consumer-group member, shared by the one-broker and the
 * three-broker simulations: MEMBER_ID_REQUIRED is answered by joining again with the given id, UNKNOWN_MEMBER_ID
 * forgets the id, other failures pause (seeded) and ask the caller to try again; the elected leader assigns.
 */
import { ErrorCode } from "../../src/protocol/errors.ts";
import type { Sim } from "./scheduler.ts";

/** A pause of `base` plus a seeded 0..`spread`-1 ms. */
export interface RetryPause {
  /** Fixed part, ms. */
  base: number;
  /** Upper bound (exclusive) of the seeded part, ms. */
  spread: number;
}

/** What a member brings to a round. */
export interface GroupJoinSetup {
  /** The simulation (seeded pauses, trace). */
  sim: Sim;
  /** The member's name in the trace and in pause labels. */
  name: string;
  /** Group id. */
  group: string;
  /** Session and rebalance timeout, ms. */
  sessionTimeoutMs: number;
  /** The member's subscription (consumer protocol metadata). */
  metadata: Uint8Array;
  /** Sends JoinGroup; null when nothing came back. */
  join(body: Record<string, unknown>): Promise<any | null>;
  /** Sends SyncGroup; null when nothing came back. */
  sync(body: Record<string, unknown>): Promise<any | null>;
  /** Waits `ms` of simulated time. */
  sleep(ms: number, label: string): Promise<void>;
  /** The leader's assignment: for the sorted member ids, each one's encoded assignment. */
  assign(memberIds: string[]): Uint8Array[];
  /** Pause after a failed JoinGroup. */
  joinRetry: RetryPause;
  /** Pause after a failed SyncGroup. */
  syncRetry: RetryPause;
  /** Whether a JoinGroup error is written to the trace. */
  traceJoinErrors: boolean;
  /** Called when a JoinGroup went through (a rebalance), before SyncGroup. */
  onJoined(): void;
}

/** A member's identity across rounds (the id it was given, empty to join as new). */
export interface MemberIdentity {
  /** The member id, "" before the first join or after the group forgot it. */
  memberId: string;
}

/** A round that went through: the generation and this member's encoded assignment. */
export interface JoinedGeneration {
  /** Generation id. */
  generation: number;
  /** The assignment SyncGroup answered. */
  assignment: Uint8Array;
}

/** Joins and syncs once; the generation, or null to try again (any pause has been taken). */
export async function joinAndSync(s: GroupJoinSetup, me: MemberIdentity): Promise<JoinedGeneration | null> {
  const join = await s.join({ groupId: s.group, sessionTimeoutMs: s.sessionTimeoutMs, rebalanceTimeoutMs: s.sessionTimeoutMs, memberId: me.memberId, groupInstanceId: null, protocolType: "consumer", protocols: [{ name: "range", metadata: s.metadata }], reason: null });
  if (join === null) {
    await s.sleep(s.joinRetry.base + s.sim.int(s.joinRetry.spread), `${s.name} join retry`);
    return null;
  }
  if (join.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
    me.memberId = join.memberId;
    return null;
  }
  if (join.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) me.memberId = "";
  if (join.errorCode !== ErrorCode.NONE) {
    if (s.traceJoinErrors) s.sim.trace(`${s.name} JoinGroup: error ${join.errorCode}`);
    await s.sleep(s.joinRetry.base + s.sim.int(s.joinRetry.spread), `${s.name} join retry`);
    return null;
  }
  me.memberId = join.memberId;
  const generation: number = join.generationId;
  s.onJoined();
  let assignments: { memberId: string; assignment: Uint8Array }[] = [];
  if (join.leader === me.memberId) {
    const ids = join.members.map((m: { memberId: string }) => m.memberId).sort();
    const encoded = s.assign(ids);
    assignments = ids.map((id: string, k: number) => ({ memberId: id, assignment: encoded[k] }));
  }
  const sync = await s.sync({ groupId: s.group, generationId: generation, memberId: me.memberId, groupInstanceId: null, protocolType: "consumer", protocolName: "range", assignments });
  if (sync === null || sync.errorCode !== ErrorCode.NONE) {
    if (sync?.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) me.memberId = "";
    await s.sleep(s.syncRetry.base + s.sim.int(s.syncRetry.spread), `${s.name} sync retry`);
    return null;
  }
  return { generation, assignment: sync.assignment };
}
