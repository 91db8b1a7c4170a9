/**
 * Where a request part goes: a partition to the shard that leads it in the node's metadata (the single source of
 * truth, never the placement hash), a group or transactional id to the shard leading its `__consumer_offsets` /
 * `__transaction_state` partition (Kafka's partitionFor). What has no owner yet (an unknown topic, a coordinator
 * topic not created yet) goes to the home shard (shard 0, or a shard front's own shard), which answers with Kafka's
 * error or creates the topic.
 */
import { offsetsPartitionFor } from "../../group/group-partitioning.ts";
import { OFFSETS_TOPIC } from "../../group/offsets-topic-storage.ts";
import { TRANSACTION_STATE_TOPIC } from "../../transactions/transaction-log.ts";
import { transactionPartitionFor } from "../../transactions/transaction-coordinator.ts";
import type { FrontMetadata } from "./front-shards.ts";
import { shardOf } from "../placement.ts";

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
    /** The shard that answers what no shard owns, and the metadata-wide requests (a shard's own front: itself). */
    readonly home: number = DEFAULT_SHARD,
    /** A broker of an etcd cluster: a known partition goes to its `shardOf` shard, which holds this node's replica if any (else answers as a non-replica). */
    private readonly clustered = false,
  ) {}

  /**
   * The shard leading `topic`-`partition` (in a cluster: the one placed to hold this node's replica), or
   * {@link ShardRouting.home} when unknown or leaderless.
   */
  partitionOwner(topic: string | undefined, partition: number): number {
    if (topic === undefined) return this.home;
    if (this.clustered) return this.metadata.partitionState(topic, partition) === undefined ? this.home : shardOf(topic, partition, this.count);
    const leader = this.metadata.partitionState(topic, partition)?.leader ?? -1;
    return leader >= 0 && leader < this.count ? leader : this.home;
  }

  /** Whether the node has partition `partition` of a topic named `topic`. */
  hasPartition(topic: string, partition: number): boolean {
    return this.metadata.partitionState(topic, partition) !== undefined;
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
    if (partitions <= 0) return this.home;
    const p = kind === CoordinatorKind.Group ? offsetsPartitionFor(key, partitions) : transactionPartitionFor(key, partitions);
    return this.partitionOwner(topic, p);
  }
}
