/**
 * Consumer lag of a group, the way `kafka-consumer-groups --describe` computes it: one row per partition that is
 * assigned to a member or has a committed offset, with the committed offset, the log end offset (the high
 * watermark, what ListOffsets LATEST returns) and their difference. The inputs come from a {@link GroupLagSource}:
 * the coordinator in-process ({@link GroupCoordinator.describeGroupLag}), or an admin client over the wire
 * (DescribeGroups + OffsetFetch + ListOffsets).
 */
import { CONSUMER_PROTOCOL_TYPE, assignedPartitionsOf } from "./consumer-protocol.ts";

/** One row of a group's lag table. */
export interface GroupLagRow {
  /** Topic name. */
  topic: string;
  /** Partition index. */
  partition: number;
  /** Committed offset, or null when the group has none for this partition. */
  committed: bigint | null;
  /** Log end offset (high watermark), or null when the partition is unknown. */
  logEndOffset: bigint | null;
  /** logEndOffset - committed, or null when either is missing. */
  lag: bigint | null;
  /** Member the partition is assigned to, or null when unassigned. */
  memberId: string | null;
  /** That member's client id, or null. */
  clientId: string | null;
  /** That member's host, or null. */
  host: string | null;
}

/** A member as the lag table needs it. */
export interface LagMember {
  /** Member id. */
  memberId: string;
  /** Client id. */
  clientId: string;
  /** Client host. */
  host: string;
  /** The member's assignment bytes (consumer protocol), empty when not Stable. */
  assignment: Uint8Array;
}

/** Where the lag inputs come from. */
export interface GroupLagSource {
  /** The group's protocol type and members, or null when the group does not exist. */
  describeGroup(groupId: string): Promise<{ protocolType: string; members: LagMember[] } | null>;
  /** Every committed offset of the group. */
  committedOffsets(groupId: string): Promise<{ topic: string; partition: number; offset: bigint }[]>;
  /** Log end offsets of the given partitions (null for an unknown one), in the same order. */
  logEndOffsets(partitions: readonly { topic: string; partition: number }[]): Promise<(bigint | null)[]>;
}

/** Most rows one lag table holds (a bound on the work one describe can cause). */
export const MAX_LAG_ROWS = 1_000_000;

/**
 * The lag rows of `groupId` sorted by topic then partition (none for an unknown group). A committed offset of -1
 * (none) counts as missing; a negative difference (offsets committed past a truncated log) is reported as 0.
 */
export async function describeGroupLag(source: GroupLagSource, groupId: string): Promise<GroupLagRow[]> {
  const group = await source.describeGroup(groupId);
  const committed = await source.committedOffsets(groupId);
  if (group === null && committed.length === 0) return [];
  const rows = new Map<string, GroupLagRow>();
  const keyOf = (topic: string, partition: number) => `${partition}\u0000${topic}`;
  const rowFor = (topic: string, partition: number): GroupLagRow => {
    const k = keyOf(topic, partition);
    let row = rows.get(k);
    if (row === undefined) {
      if (rows.size >= MAX_LAG_ROWS) throw new RangeError(`group ${groupId} has more than ${MAX_LAG_ROWS} partitions`);
      row = { topic, partition, committed: null, logEndOffset: null, lag: null, memberId: null, clientId: null, host: null };
      rows.set(k, row);
    }
    return row;
  };
  if (group !== null && group.protocolType === CONSUMER_PROTOCOL_TYPE) {
    for (const m of group.members) {
      for (const t of assignedPartitionsOf(m.assignment) ?? []) {
        for (const p of t.partitions) {
          const row = rowFor(t.topic, p);
          row.memberId = m.memberId;
          row.clientId = m.clientId;
          row.host = m.host;
        }
      }
    }
  }
  for (const c of committed) if (c.offset >= 0n) rowFor(c.topic, c.partition).committed = c.offset;
  const list = [...rows.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  const ends = await source.logEndOffsets(list);
  if (ends.length !== list.length) throw new Error(`logEndOffsets returned ${ends.length} values for ${list.length} partitions`);
  for (let i = 0; i < list.length; i++) {
    const row = list[i];
    row.logEndOffset = ends[i];
    if (row.committed !== null && row.logEndOffset !== null) {
      const lag = row.logEndOffset - row.committed;
      row.lag = lag < 0n ? 0n : lag;
    }
  }
  return list;
}
