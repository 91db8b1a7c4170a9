/**
 * Where a request part goes: a partition to the shard that leads it in the node's metadata (the single source of
 * truth, never the placement hash), a group or transactional id to the shard leading its `__consumer_offsets` /
 * `__transaction_state` partition (Kafka's partitionFor). What has no owner yet (an unknown topic, a coordinator
 * topic not created yet) goes to shard 0, which answers with Kafka's error or creates the topic.
 */
import { offsetsPartitionFor } from "../../group/group-partitioning.ts";
import { OFFSETS_TOPIC } from "../../group/offsets-topic-storage.ts";
import { TRANSACTION_STATE_TOPIC } from "../../transactions/transaction-log.ts";
import { transactionPartitionFor } from "../../transactions/transaction-coordinator.ts";
import type { FrontMetadata } from "./front-shards.ts";

/** The shard that answers what no shard owns. */
export const DEFAULT_SHARD = 0;

/** Coordinator key types of FindCoordinator. */
export const enum CoordinatorKind {
  Group = 0,
  Transaction = 1,
}

/** Routing reads over the node's metadata. */
export class ShardRouting {
  private idNames = new Map<string, string>();
  private idNamesAt = -1;

  constructor(
    private readonly metadata: FrontMetadata,
    /** Number of shards. */
    readonly count: number,
  ) {}

  /** The shard leading `topic`-`partition`, or {@link DEFAULT_SHARD} when unknown or leaderless. */
  partitionOwner(topic: string | undefined, partition: number): number {
    if (topic === undefined) return DEFAULT_SHARD;
    const leader = this.metadata.partitionState(topic, partition)?.leader ?? -1;
    return leader >= 0 && leader < this.count ? leader : DEFAULT_SHARD;
  }

  /** The name of the topic with id `idHex`, or undefined. */
  topicName(idHex: string): string | undefined {
    const version = this.metadata.version;
    if (version !== this.idNamesAt) {
      this.idNames = new Map(this.metadata.topics().map((t) => [t.idHex, t.name]));
      this.idNamesAt = version;
    }
    return this.idNames.get(idHex);
  }

  /** The shard coordinating group `key` (kind Group) or transactional id `key` (kind Transaction). */
  coordinator(kind: CoordinatorKind, key: string): number {
    const topic = kind === CoordinatorKind.Group ? OFFSETS_TOPIC : TRANSACTION_STATE_TOPIC;
    const partitions = this.metadata.topic(topic)?.partitions ?? 0;
    if (partitions <= 0) return DEFAULT_SHARD;
    const p = kind === CoordinatorKind.Group ? offsetsPartitionFor(key, partitions) : transactionPartitionFor(key, partitions);
    return this.partitionOwner(topic, p);
  }
}
