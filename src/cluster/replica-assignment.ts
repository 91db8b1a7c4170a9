/**
 * Replica placement for new partitions, as Kafka places them: leaders spread round-robin from a random start,
 * followers at a shifting distance from the leader so that one broker's partitions do not all follow it on the same
 * brokers; with racks, the broker list alternates racks and a follower goes to a rack (and broker) that holds no
 * replica of the partition yet while one is left. Manual placements (CreateTopics and CreatePartitions
 * `assignments`) are checked as Kafka's controller checks them, with its messages. Pure: the brokers and the
 * randomness are passed in.
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

/** One partition's replicas as a CreateTopics request names them (the preferred leader first). */
export interface ManualPartition {
  /** Partition index. */
  partitionIndex: number;
  /** Broker ids, in leader preference order. */
  brokerIds: readonly number[];
}

/** The brokers a manual placement is checked against. */
export interface ManualPlacementBrokers {
  /** Registered brokers' ids. */
  registered: ReadonlySet<number>;
  /** Registered brokers that may join an ISR now (Kafka's active brokers: not fenced, not in a controlled shutdown). */
  active: ReadonlySet<number>;
}

/** A manually placed partition: its replicas as named, and its first ISR (the active ones; the first of them leads). */
export interface ManualPlacement {
  /** Replicas as the request names them. */
  replicas: number[];
  /** The active replicas, in the same order. */
  isr: number[];
}

/** The registered brokers of a metadata view, and the active ones (registered, not in a controlled shutdown). */
export function manualPlacementBrokers(brokers: readonly { nodeId: number; inControlledShutdown?: boolean }[]): ManualPlacementBrokers {
  return { registered: new Set(brokers.map((b) => b.nodeId)), active: new Set(brokers.filter((b) => b.inControlledShutdown !== true).map((b) => b.nodeId)) };
}

/**
 * Checks one partition's manual replica list as Kafka's controller does (`validateManualPartitionAssignment`): not
 * empty, every broker registered and named once (checked in id order, so the lowest offending id is named), and, when
 * `replicationFactor` is given, that many replicas. Throws INVALID_REPLICA_ASSIGNMENT with Kafka's messages.
 */
export function checkManualReplicas(replicas: readonly number[], replicationFactor: number | null, registered: ReadonlySet<number>): void {
  if (replicas.length === 0) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes an empty replica list.");
  const sorted = [...replicas].sort((a, b) => a - b);
  for (let i = 0; i < sorted.length; i++) {
    if (!registered.has(sorted[i])) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment includes broker ${sorted[i]}, but no such broker is registered.`);
    if (i > 0 && sorted[i] === sorted[i - 1]) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment includes the broker ${sorted[i]} more than once.`);
  }
  if (replicationFactor !== null && sorted.length !== replicationFactor) {
    throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment includes a partition with ${sorted.length} replica(s), but this is not consistent with previous partitions, which have ${replicationFactor} replica(s).`);
  }
}

/** Partition `partition`'s placement: its active replicas form the ISR; none active is INVALID_REPLICA_ASSIGNMENT. */
function placedManually(replicas: readonly number[], partition: number, brokers: ManualPlacementBrokers): ManualPlacement {
  const isr = replicas.filter((r) => brokers.active.has(r));
  if (isr.length === 0) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `All brokers specified in the manual partition assignment for partition ${partition} are fenced or in controlled shutdown.`);
  return { replicas: [...replicas], isr };
}

/**
 * A new topic's manual placement (CreateTopics `assignments`), checked as Kafka's controller checks it, in its
 * order: each entry in request order (a partition named twice, then {@link checkManualReplicas} with the first
 * entry's replica count, then at least one active replica), then partition ids 0..n-1 without a hole. The placements
 * by partition index; throws INVALID_REPLICA_ASSIGNMENT with Kafka's messages.
 */
export function manualTopicPlacement(entries: readonly ManualPartition[], brokers: ManualPlacementBrokers): ManualPlacement[] {
  if (entries.length === 0) throw new Error("manualTopicPlacement: no partitions");
  const byIndex = new Map<number, ManualPlacement>();
  let replicationFactor: number | null = null;
  for (const e of entries) {
    if (byIndex.has(e.partitionIndex)) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Found multiple manual partition assignments for partition ${e.partitionIndex}`);
    checkManualReplicas(e.brokerIds, replicationFactor, brokers.registered);
    replicationFactor = e.brokerIds.length;
    byIndex.set(e.partitionIndex, placedManually(e.brokerIds, e.partitionIndex, brokers));
  }
  const out: ManualPlacement[] = [];
  for (let i = 0; i < byIndex.size; i++) {
    const p = byIndex.get(i);
    if (p === undefined) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, "partitions should be a consecutive 0-based integer sequence");
    out.push(p);
  }
  return out;
}

/**
 * New partitions' manual placement (CreatePartitions `assignments`), numbered from `firstPartition`, as Kafka checks
 * it: each list by {@link checkManualReplicas} with the topic's replica count, and at least one active replica.
 */
export function manualPartitionsPlacement(assignment: readonly (readonly number[])[], replicationFactor: number, firstPartition: number, brokers: ManualPlacementBrokers): ManualPlacement[] {
  return assignment.map((replicas, i) => {
    checkManualReplicas(replicas, replicationFactor, brokers.registered);
    return placedManually(replicas, firstPartition + i, brokers);
  });
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
