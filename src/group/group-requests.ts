/**
 * The group coordinator's inputs and outcomes: the parts of the group API requests and responses it works with,
 * independent of protocol versions (the API handlers translate).
 */
import type { GroupState, MemberProtocol } from "./consumer-group.ts";

/** A JoinGroup as the coordinator sees it. */
export interface JoinGroupInput {
  /** Group id. */
  groupId: string;
  /** Member id ("" for a new member). */
  memberId: string;
  /** Static instance id, or null. */
  groupInstanceId: string | null;
  /** Session timeout (ms). */
  sessionTimeoutMs: number;
  /** Rebalance timeout (ms); JoinGroup v0 passes the session timeout. */
  rebalanceTimeoutMs: number;
  /** Protocol type ("consumer"). */
  protocolType: string;
  /** Protocols in preference order. */
  protocols: MemberProtocol[];
  /** Client id from the request header. */
  clientId: string;
  /** Client host ("/127.0.0.1"). */
  clientHost: string;
  /** v4+: a new dynamic member first gets MEMBER_ID_REQUIRED with its id. */
  requireKnownMemberId: boolean;
  /** v9+: a rejoining static leader may be told to skip the assignment. */
  supportsSkipAssignment: boolean;
  /** Client-supplied reason (v8+), for the log. */
  reason?: string | null;
}

/** A SyncGroup as the coordinator sees it. */
export interface SyncGroupInput {
  /** Group id. */
  groupId: string;
  /** Generation the member is in. */
  generationId: number;
  /** Member id. */
  memberId: string;
  /** Static instance id, or null. */
  groupInstanceId: string | null;
  /** v5+: protocol type the client believes in, or null. */
  protocolType: string | null;
  /** v5+: protocol name the client believes in, or null. */
  protocolName: string | null;
  /** The leader's assignments (empty from followers). */
  assignments: { memberId: string; assignment: Uint8Array }[];
}

/** A Heartbeat as the coordinator sees it. */
export interface HeartbeatInput {
  /** Group id. */
  groupId: string;
  /** Generation the member is in. */
  generationId: number;
  /** Member id. */
  memberId: string;
  /** Static instance id, or null. */
  groupInstanceId: string | null;
}

/** One member named in a LeaveGroup. */
export interface LeavingMember {
  /** Member id ("" to remove a static member by instance id). */
  memberId: string;
  /** Static instance id, or null. */
  groupInstanceId: string | null;
  /** Client-supplied reason, for the log. */
  reason?: string | null;
}

/** The outcome of a LeaveGroup. */
export interface LeaveGroupOutcome {
  /** Top-level error code. */
  errorCode: number;
  /** Per-member results (empty when the top-level code is an error). */
  members: { memberId: string; groupInstanceId: string | null; errorCode: number }[];
}

/** One offset to commit. */
export interface OffsetToCommit {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** Offset. */
  offset: bigint;
  /** Leader epoch, -1 if unknown. */
  leaderEpoch: number;
  /** Metadata (null = ""). */
  metadata: string | null;
}

/** An OffsetCommit as the coordinator sees it. */
export interface OffsetCommitInput {
  /** Group id. */
  groupId: string;
  /** Generation, or -1 for a commit from outside group management. */
  generationId: number;
  /** Member id, "" from outside group management. */
  memberId: string;
  /** Static instance id, or null. */
  groupInstanceId: string | null;
  /** v2-v4 retention time (ms), -1 for the broker's. */
  retentionTimeMs: number;
  /** The offsets. */
  offsets: OffsetToCommit[];
  /** Error for a generation >= 0 on an unknown group (ILLEGAL_GENERATION; GROUP_ID_NOT_FOUND from v9). */
  unknownGroupErrorCode?: number;
  /** OffsetCommit version (a KIP-848 member must commit with v9+); absent = 9. */
  apiVersion?: number;
}

/** Committed offsets of one topic in an OffsetFetch answer. */
export interface FetchedTopic {
  /** Topic. */
  topic: string;
  /** Partitions with offset, epoch, metadata and error. */
  partitions: { partition: number; offset: bigint; leaderEpoch: number; metadata: string; errorCode: number }[];
}

/** The outcome of an OffsetFetch for one group. */
export interface OffsetFetchOutcome {
  /** Group-level error code. */
  errorCode: number;
  /** Offsets by topic. */
  topics: FetchedTopic[];
}

/** The outcome of an OffsetDelete. */
export interface OffsetDeleteOutcome {
  /** Top-level error code. */
  errorCode: number;
  /** Per-partition results. */
  topics: { topic: string; partitions: { partition: number; errorCode: number }[] }[];
}

/** A group as ListGroups reports it. */
export interface ListedGroup {
  /** Group id. */
  groupId: string;
  /** Protocol type ("" for a group that only stores offsets). */
  protocolType: string;
  /** State name. */
  state: string;
  /** Group type ("classic" or "consumer"). */
  type: string;
}

/** A group as DescribeGroups reports it. */
export interface GroupDescription {
  /** Error code (GROUP_ID_NOT_FOUND for an unknown group; v0-5 callers report it as NONE + Dead). */
  errorCode: number;
  /** Error message when it differs from "Group X not found." (a group of another type). */
  errorMessage?: string;
  /** Group id. */
  groupId: string;
  /** State name. */
  state: GroupState;
  /** Protocol type, "" if none. */
  protocolType: string;
  /** Selected protocol when Stable, else "". */
  protocolData: string;
  /** Members (metadata and assignment only when Stable). */
  members: {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    metadata: Uint8Array;
    assignment: Uint8Array;
  }[];
}
