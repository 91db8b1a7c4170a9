/**
 * Talking to a group's coordinator: finding it (FindCoordinator, retried while the coordinator is loading or not
 * yet available), and committing and fetching the group's offsets (OffsetCommit / OffsetFetch in both the
 * single-group and the batched request layouts).
 */
import { ErrorCode, KafkaError, errorName, isRetriable } from "../protocol/errors.ts";
import { ApiKey } from "../protocol/generated/index.ts";
import type { FindCoordinatorResponse } from "../protocol/generated/10_find_coordinator.ts";
import type { OffsetCommitRequest, OffsetCommitResponse } from "../protocol/generated/08_offset_commit.ts";
import type { OffsetFetchRequest, OffsetFetchResponse } from "../protocol/generated/09_offset_fetch.ts";
import { ClientTimeoutError } from "./client-errors.ts";
import type { BrokerInfo, Cluster } from "./cluster-metadata.ts";
import type { BrokerChannel } from "./connection.ts";

/** FindCoordinator key type of a consumer group. */
export const COORDINATOR_KEY_GROUP = 0;
/** Most FindCoordinator attempts before giving up. */
const MAX_FIND_COORDINATOR_ATTEMPTS = 50;

/** Errors meaning "ask FindCoordinator again". */
const COORDINATOR_ERRORS: ReadonlySet<number> = new Set([
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.NETWORK_EXCEPTION,
  ErrorCode.REQUEST_TIMED_OUT,
]);

/** Whether `code` means the coordinator moved or is unreachable. */
export function isCoordinatorError(code: number): boolean {
  return COORDINATOR_ERRORS.has(code);
}

/** A committed offset. */
export interface CommittedOffset {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** Offset (-1: none committed). */
  offset: bigint;
  /** Leader epoch stored with it, or -1. */
  leaderEpoch: number;
  /** Metadata string, or null. */
  metadata: string | null;
}

/** An offset to commit. */
export interface OffsetToCommit {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** The next offset to consume. */
  offset: bigint;
  /** Optional metadata string. */
  metadata?: string | null;
}

/** Finds the coordinator of `groupId` and returns it (retrying while it is loading or unavailable). */
export async function findCoordinator(cluster: Cluster, groupId: string, timeoutMs = 30_000): Promise<BrokerInfo> {
  const deadline = cluster.clock.monotonicMs() + timeoutMs;
  let last = "";
  for (let attempt = 0; attempt < MAX_FIND_COORDINATOR_ATTEMPTS; attempt++) {
    if (attempt > 0) {
      if (cluster.clock.monotonicMs() >= deadline) break;
      await cluster.sleep(cluster.backoff.backoffMs(attempt - 1));
    }
    let res: FindCoordinatorResponse;
    let version: number;
    try {
      const ch = await cluster.anyChannel();
      version = ch.version(ApiKey.FindCoordinator);
      const req = version >= 4 ? { keyType: COORDINATOR_KEY_GROUP, coordinatorKeys: [groupId] } : { key: groupId, keyType: COORDINATOR_KEY_GROUP };
      res = await ch.request<FindCoordinatorResponse>(ApiKey.FindCoordinator, req);
    } catch (e) {
      if (e instanceof KafkaError && isRetriable(e.code)) {
        last = e.message;
        continue;
      }
      throw e;
    }
    const c = version >= 4 ? res.coordinators?.[0] : undefined;
    const code = c !== undefined ? c.errorCode : (res.errorCode ?? ErrorCode.NONE);
    if (code === ErrorCode.NONE) {
      if (c !== undefined) return { nodeId: c.nodeId, host: c.host, port: c.port, rack: null };
      return { nodeId: res.nodeId ?? -1, host: res.host ?? "", port: res.port ?? -1, rack: null };
    }
    last = errorName(code);
    if (!isRetriable(code)) throw new KafkaError(code, `FindCoordinator for group '${groupId}' failed: ${errorName(code)}`);
  }
  throw new ClientTimeoutError(`no coordinator found for group '${groupId}': ${last}`);
}

/** Fetches the committed offsets of `groupId` (all topics when `topics` is null). */
export async function fetchCommittedOffsets(
  ch: BrokerChannel,
  groupId: string,
  topics: readonly { topic: string; partitions: number[] }[] | null,
  requireStable = false,
): Promise<CommittedOffset[]> {
  const version = ch.version(ApiKey.OffsetFetch);
  const list = topics === null ? null : topics.map((t) => ({ name: t.topic, partitionIndexes: t.partitions }));
  const req: OffsetFetchRequest =
    version >= 8
      ? { groups: [{ groupId, memberId: null, memberEpoch: -1, topics: list }], requireStable }
      : { groupId, topics: list, requireStable };
  const res = await ch.request<OffsetFetchResponse>(ApiKey.OffsetFetch, req);
  const out: CommittedOffset[] = [];
  const check = (code: number, where: string) => {
    if (code !== ErrorCode.NONE) throw new KafkaError(code, `OffsetFetch for group '${groupId}'${where} failed: ${errorName(code)}`);
  };
  if (version >= 8) {
    const g = res.groups?.find((x) => x.groupId === groupId) ?? res.groups?.[0];
    if (g === undefined) return out;
    check(g.errorCode, "");
    for (const t of g.topics) {
      for (const p of t.partitions) {
        check(p.errorCode, ` (${t.name}-${p.partitionIndex})`);
        out.push({ topic: t.name ?? "", partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.metadata });
      }
    }
  } else {
    check(res.errorCode ?? ErrorCode.NONE, "");
    for (const t of res.topics ?? []) {
      for (const p of t.partitions) {
        check(p.errorCode, ` (${t.name}-${p.partitionIndex})`);
        out.push({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch ?? -1, metadata: p.metadata });
      }
    }
  }
  return out;
}

/**
 * Commits offsets for `groupId` as member `memberId` of `generation` (-1 and "" for a standalone commit, which
 * the coordinator accepts only while the group has no members). Throws the first partition error.
 */
export async function commitOffsets(
  ch: BrokerChannel,
  groupId: string,
  generation: number,
  memberId: string,
  offsets: readonly OffsetToCommit[],
  groupInstanceId: string | null = null,
): Promise<void> {
  if (offsets.length === 0) return;
  const byTopic = new Map<string, { partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: string | null }[]>();
  for (const o of offsets) {
    let l = byTopic.get(o.topic);
    if (l === undefined) byTopic.set(o.topic, (l = []));
    l.push({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: -1, committedMetadata: o.metadata ?? "" });
  }
  const req: OffsetCommitRequest = {
    groupId,
    generationIdOrMemberEpoch: generation,
    memberId,
    groupInstanceId,
    retentionTimeMs: -1n,
    topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
  };
  const res = await ch.request<OffsetCommitResponse>(ApiKey.OffsetCommit, req);
  for (const t of res.topics) {
    for (const p of t.partitions) {
      if (p.errorCode !== ErrorCode.NONE) {
        throw new KafkaError(p.errorCode, `OffsetCommit for group '${groupId}' (${t.name}-${p.partitionIndex}) failed: ${errorName(p.errorCode)}`);
      }
    }
  }
}
