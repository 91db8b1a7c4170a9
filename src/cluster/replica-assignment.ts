/**
 * Replica placement for new partitions, as Kafka places them: leaders spread round-robin from a random start,
 * followers at a shifting distance from the leader so that one broker's partitions do not all follow it on the same
 * brokers; with racks, the broker list alternates racks and a follower goes to a rack (and broker) that holds no
 * replica of the partition yet while one is left. Pure: the brokers and the randomness are passed in.
 */
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import type { RandomSource } from "../platform/random.ts";

/** A broker that can hold replicas. */
export interface PlacementBroker {
  /** `node.id`. */
  id: number;
  /** `broker.rack`, or null (brokers without a rack count as one rack of their own kind). */
  rack: string | null;
}

/** Brokers ordered so that consecutive ones sit in different racks: rack A's first, rack B's first, ..., A's second. */
export function rackAlternatedOrder(brokers: readonly PlacementBroker[]): number[] {
  const byRack = new Map<string, number[]>();
  for (const b of [...brokers].sort((x, y) => x.id - y.id)) {
    const rack = b.rack ?? "";
    const list = byRack.get(rack) ?? [];
    list.push(b.id);
    byRack.set(rack, list);
  }
  const racks = [...byRack.keys()].sort();
  const out: number[] = [];
  for (let round = 0; out.length < brokers.length; round++) {
    for (const r of racks) {
      const list = byRack.get(r)!;
      if (round < list.length) out.push(list[round]);
    }
  }
  return out;
}

/**
 * Checks a manual placement of new partitions (CreatePartitions with assignments), as Kafka does: each partition
 * names `replicationFactor` distinct registered brokers. Throws INVALID_REPLICA_ASSIGNMENT.
 */
export function checkManualAssignment(assignment: readonly (readonly number[])[], replicationFactor: number, registered: ReadonlySet<number>): void {
  for (const replicas of assignment) {
    if (replicas.length !== replicationFactor) {
      throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment includes a partition with ${replicas.length} replica(s), but this is not consistent with previous partitions, which have ${replicationFactor} replica(s).`);
    }
    if (new Set(replicas).size !== replicas.length) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Duplicate replica ids in ${JSON.stringify(replicas)}.`);
    const unknown = replicas.filter((r) => !registered.has(r));
    if (unknown.length > 0) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment includes broker(s) ${unknown.join(", ")} that are not registered.`);
  }
}

/** Index of the `j`-th follower of the leader at `first` with shift `shift`, in a ring of `n` brokers. */
function followerIndex(first: number, shift: number, j: number, n: number): number {
  return (first + 1 + ((shift + j) % (n - 1))) % n;
}

/**
 * Replicas for `partitions` new partitions numbered from `firstPartition` (CreatePartitions continues a topic),
 * each a list of `replicationFactor` distinct broker ids with the preferred leader first. Throws
 * INVALID_REPLICATION_FACTOR when it is not between 1 and the broker count, INVALID_PARTITIONS when `partitions` < 1.
 */
export function assignReplicas(brokers: readonly PlacementBroker[], partitions: number, replicationFactor: number, random: RandomSource, firstPartition = 0): number[][] {
  if (!(partitions >= 1)) throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `number of partitions must be at least 1, got ${partitions}`);
  if (!(replicationFactor >= 1)) throw new KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, `replication factor must be at least 1, got ${replicationFactor}`);
  if (replicationFactor > brokers.length) {
    throw new KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, `replication factor ${replicationFactor} is larger than the ${brokers.length} available brokers`);
  }
  if (new Set(brokers.map((b) => b.id)).size !== brokers.length) throw new Error("assignReplicas: duplicate broker ids");
  const order = rackAlternatedOrder(brokers);
  const rackOf = new Map(brokers.map((b) => [b.id, b.rack ?? ""]));
  const rackCount = new Set(rackOf.values()).size;
  const n = order.length;
  const start = Math.floor(random.float() * n);
  // the shifts a placement from partition 0 would have made before `firstPartition`, so later partitions continue it
  let shift = Math.floor(random.float() * n) + (firstPartition > 0 ? Math.floor((firstPartition - 1) / n) : 0);
  const out: number[][] = [];
  for (let k = 0; k < partitions; k++) {
    const p = firstPartition + k;
    if (p > 0 && p % n === 0) shift++;
    const first = (p + start) % n;
    const replicas = [order[first]];
    const racksUsed = new Set([rackOf.get(order[first])!]);
    // With one rack this is Kafka's plain placement; with several, each step skips brokers whose rack (or the broker
    // itself) already holds a replica, until every rack (or broker) holds one.
    for (let j = 0; replicas.length < replicationFactor; j++) {
      const id = order[followerIndex(first, rackCount > 1 ? shift * rackCount : shift, j, n)];
      const rackOk = !racksUsed.has(rackOf.get(id)!) || racksUsed.size === rackCount;
      if (rackOk && !replicas.includes(id)) {
        replicas.push(id);
        racksUsed.add(rackOf.get(id)!);
      }
      if (j > n * n) throw new Error("assignReplicas: no placement found (invariant broken)");
    }
    out.push(replicas);
  }
  return out;
}
