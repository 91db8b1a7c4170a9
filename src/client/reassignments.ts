/**
 * Partition reassignment from the client side (KIP-455): AlterPartitionReassignments to start or cancel moves and
 * ListPartitionReassignments to watch them, both sent to the controller through an {@link Admin}.
 */
import type { AlterPartitionReassignmentsResponse } from "../protocol/generated/45_alter_partition_reassignments.ts";
import type { ListPartitionReassignmentsResponse } from "../protocol/generated/46_list_partition_reassignments.ts";
import { errorName, ErrorCode, KafkaError } from "../protocol/errors.ts";
import type { Admin } from "./admin.ts";

/** AlterPartitionReassignments' API key. */
const ALTER_PARTITION_REASSIGNMENTS = 45;
/** ListPartitionReassignments' API key. */
const LIST_PARTITION_REASSIGNMENTS = 46;

/** One partition's new replicas (null cancels its move). */
export interface ReassignmentRequest {
  /** Topic name. */
  topic: string;
  /** Partition index. */
  partition: number;
  /** Target replicas, preferred leader first; null cancels. */
  replicas: number[] | null;
}

/** A move under way. */
export interface OngoingReassignment {
  /** Topic name. */
  topic: string;
  /** Partition index. */
  partition: number;
  /** Every replica now (target first, then those being removed). */
  replicas: number[];
  /** Replicas being added. */
  adding: number[];
  /** Replicas being removed. */
  removing: number[];
}

/** Starts (or cancels) moves; throws the first partition's error. */
export async function alterPartitionReassignments(admin: Admin, moves: readonly ReassignmentRequest[], timeoutMs = 30_000): Promise<void> {
  const byTopic = new Map<string, { partitionIndex: number; replicas: number[] | null }[]>();
  for (const m of moves) {
    const list = byTopic.get(m.topic) ?? [];
    list.push({ partitionIndex: m.partition, replicas: m.replicas === null ? null : [...m.replicas] });
    byTopic.set(m.topic, list);
  }
  const res = await admin.controllerRequest<AlterPartitionReassignmentsResponse>(ALTER_PARTITION_REASSIGNMENTS, {
    timeoutMs,
    allowReplicationFactorChange: true,
    topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
  });
  if (res.errorCode !== ErrorCode.NONE) throw new KafkaError(res.errorCode, `cannot reassign partitions: ${res.errorMessage ?? errorName(res.errorCode)}`);
  for (const t of res.responses) {
    for (const p of t.partitions) {
      if (p.errorCode !== ErrorCode.NONE) throw new KafkaError(p.errorCode, `cannot reassign ${t.name}-${p.partitionIndex}: ${p.errorMessage ?? errorName(p.errorCode)}`);
    }
  }
}

/** The moves under way (of every topic), sorted by topic and partition. */
export async function listPartitionReassignments(admin: Admin, timeoutMs = 30_000): Promise<OngoingReassignment[]> {
  const res = await admin.controllerRequest<ListPartitionReassignmentsResponse>(LIST_PARTITION_REASSIGNMENTS, { timeoutMs, topics: null });
  if (res.errorCode !== ErrorCode.NONE) throw new KafkaError(res.errorCode, `cannot list reassignments: ${res.errorMessage ?? errorName(res.errorCode)}`);
  const out: OngoingReassignment[] = [];
  for (const t of res.topics) {
    for (const p of t.partitions) out.push({ topic: t.name, partition: p.partitionIndex, replicas: p.replicas, adding: p.addingReplicas, removing: p.removingReplicas });
  }
  return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}
