/**
 * The control plane of a node's shards: the `ClusterView` (src/broker/broker.ts) each shard's Broker runs in
 * cluster mode with. The shard host serves it on the main thread over the node's one metadata store
 * ({@link shardClusterService}); each shard reaches it through its link ({@link shardClusterView}). A node is
 * still a single node to clients: one replica per partition (INVALID_REPLICATION_FACTOR beyond), placed on the
 * shard {@link shardOf} names; producer ids come in blocks from the node's file; leader elections are never needed
 * (every partition's only replica leads it); a reassignment can only name the partition's present owner.
 */
import type { ClusterView } from "../broker/broker.ts";
import type { CreateTopicRequest } from "../cluster/controller.ts";
import { decideElection, type ElectionResult } from "../cluster/leader-election.ts";
import type { LocalMetadataStore, MetadataStore, PartitionStateRecord } from "../cluster/metadata-store.ts";
import { initialPartitionState } from "../cluster/partition-state.ts";
import { checkTarget } from "../cluster/reassignment.ts";
import { manualTopicPlacement } from "../cluster/replica-assignment.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { shardOf } from "./placement.ts";
import type { LinkMessage, ShardLink } from "./shard-link.ts";

/** Where the service gets producer id blocks (the node's `__runnel_producer_ids` file). */
export type ProducerIdBlocks = (size: bigint, floor: bigint) => Promise<bigint>;

/** INVALID_REPLICATION_FACTOR for more than one replica, with the text a single node answers. */
function checkReplicationFactor(rf: number): void {
  if (rf !== 1) throw new KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, `Unable to replicate the partition ${rf} time(s): The target replication factor of ${rf} cannot be reached because only 1 broker(s) are registered.`);
}

/** The states of partitions `from` .. `to - 1` of a topic, each on its shard. */
function placed(topic: string, from: number, to: number, count: number): PartitionStateRecord[] {
  const out: PartitionStateRecord[] = [];
  for (let p = from; p < to; p++) out.push({ topic, partition: p, ...initialPartitionState([shardOf(topic, p, count)]) });
  return out;
}

/**
 * Host side: the cluster operations of a node of `count` shards over `store`, as a call handler for the links
 * (op name and arguments as {@link shardClusterView} sends them). `shard` is the calling shard.
 */
export function shardClusterService(store: LocalMetadataStore, count: number, producerIds: ProducerIdBlocks, nowMs: () => number) {
  return (shard: number, op: string, args: unknown[]): Promise<unknown> => {
    switch (op) {
      case "cluster.createTopic": {
        const req = args[0] as CreateTopicRequest;
        // A manual assignment names the node (the front named the calling shard for it): checked as Kafka's single
        // node checks it, then placed like any other topic (which shard holds a partition is the node's own affair).
        if (req.assignment !== undefined && req.assignment.length > 0) manualTopicPlacement(req.assignment, { registered: new Set([shard]), active: new Set([shard]) });
        checkReplicationFactor(req.replicationFactor);
        return store.createTopic({ name: req.name, idHex: req.idHex, partitions: req.partitions, replicationFactor: 1, configs: req.configs ?? {}, createdAtMs: nowMs() }, placed(req.name, 0, req.partitions, count));
      }
      case "cluster.createPartitions": {
        const [name, total, manual] = args as [string, number, number[][] | null];
        const topic = store.topic(name);
        if (topic === undefined) return Promise.reject(new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist.`));
        if (manual !== null) {
          for (const replicas of manual) checkReplicationFactor(replicas.length);
          const shards = new Set(Array.from({ length: count }, (_, k) => k));
          for (const replicas of manual) if (!shards.has(replicas[0])) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment includes broker(s) ${replicas[0]} that are not registered.`);
        }
        const added = manual === null ? placed(name, topic.partitions, total, count) : manual.map((r, i): PartitionStateRecord => ({ topic: name, partition: topic.partitions + i, ...initialPartitionState(r) }));
        return store.updateTopic({ ...topic, partitions: total }, added);
      }
      case "cluster.alterIsr": {
        const [state, isr] = args as [PartitionStateRecord, number[]];
        const now = store.partitionState(state.topic, state.partition);
        if (now === undefined) return Promise.resolve(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        if (now.partitionEpoch !== state.partitionEpoch) return Promise.resolve(ErrorCode.INVALID_UPDATE_VERSION);
        if (now.leader !== shard) return Promise.resolve(ErrorCode.NOT_LEADER_OR_FOLLOWER);
        // One replica: the only ISR is the leader itself, which it already is.
        return Promise.resolve(isr.length === 1 && isr[0] === shard ? ErrorCode.NONE : ErrorCode.INELIGIBLE_REPLICA);
      }
      case "cluster.alterReassignment": {
        const [topic, partition, target, allowRf] = args as [string, number, number[] | null, boolean];
        const s = store.partitionState(topic, partition);
        if (s === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Partition ${topic}-${partition} does not exist.`);
        if (target === null) throw new KafkaError(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, "No reassignment is in progress for this partition.");
        checkTarget(s, target, new Set(s.replicas), allowRf);
        return Promise.resolve();
      }
      case "cluster.electLeaders": {
        const [type, targets] = args as [number, { topic: string; partition: number }[] | null];
        const shards = new Set(Array.from({ length: count }, (_, k) => k));
        const out: ElectionResult[] = [];
        for (const { topic, partition } of targets ?? []) {
          const s = store.partitionState(topic, partition);
          if (s === undefined) out.push({ topic, partition, error: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: `${topic}-${partition} does not exist` });
          else {
            const d = decideElection(s, type, shards);
            if (d.state !== undefined) throw new Error(`${topic}-${partition}: a single-replica partition never needs an election (${JSON.stringify(s)})`);
            out.push({ topic, partition, error: d.error, message: d.message });
          }
        }
        return Promise.resolve(out);
      }
      case "cluster.reserveProducerIds": {
        const [size, floor] = args as [bigint, bigint];
        return producerIds(size, floor);
      }
    }
    return Promise.reject(new Error(`unknown shard cluster operation ${op}`));
  };
}

/**
 * Shard side: the replicas other shards of the node reported offline (KIP-112: their log dir failed), by topic id
 * and partition, as the host relays them, so that this shard's Metadata lists them as the node's offline replicas
 * whichever thread's front asks (the partition's owner alone knows its log is offline).
 */
export class OfflineReplicas {
  private readonly byPartition = new Map<string, number[]>();

  /**
   * Takes the host's relays on `link`: made before the shard's broker starts, so that none is missed. `idOf`: the
   * broker id shard k has in this shard's view (its index; a clustered node's sibling id).
   */
  constructor(link: ShardLink, idOf: (k: number) => number = (k) => k) {
    link.on("replica-offline", (m) => {
      const key = `${m.topicIdHex as string}/${m.partition as number}`;
      const shards = this.byPartition.get(key) ?? [];
      const id = idOf(m.shard as number);
      if (!shards.includes(id)) this.byPartition.set(key, [...shards, id]);
    });
    // that shard's replica was created anew on a working log dir (reassigned away and back)
    link.on("replica-online", (m) => {
      const key = `${m.topicIdHex as string}/${m.partition as number}`;
      const id = idOf(m.shard as number);
      const shards = (this.byPartition.get(key) ?? []).filter((s) => s !== id);
      if (shards.length > 0) this.byPartition.set(key, shards);
      else this.byPartition.delete(key);
    });
  }

  /** The broker ids of the shards whose replica of the partition is offline. */
  of(topicIdHex: string, partition: number): readonly number[] {
    return this.byPartition.get(`${topicIdHex}/${partition}`) ?? [];
  }
}

/**
 * Host side: relays shard `from`'s report of an offline replica (`replica-offline`), or of one online again
 * (`replica-online`), to every other shard (each keeps them in its {@link OfflineReplicas}).
 */
export function relayOfflineReplicas(links: readonly ShardLink[], from: number, report: LinkMessage): void {
  for (const [k, link] of links.entries()) if (k !== from) link.post({ t: report.t, topicIdHex: report.topicIdHex, partition: report.partition, shard: from });
}

/**
 * Shard side: the ClusterView of shard `index` (its broker id: the node's id in an etcd cluster), served by the
 * host over `link`; `offline` keeps the other shards' offline replicas; `controllerId` (a clustered shard: the
 * cluster's controller as the host last told it; else shard 0).
 */
export function shardClusterView(link: ShardLink, index: number, metadata: MetadataStore, offline: OfflineReplicas, controllerId: () => number = () => 0): ClusterView {
  return {
    controllerId,
    brokerEpoch: () => metadata.broker(index)?.brokerEpoch ?? -1,
    createTopic: (req) => link.call("cluster.createTopic", [req]),
    createPartitions: (name, count, manual) => link.call("cluster.createPartitions", [name, count, manual]),
    alterIsr: (state, isr, joiningEpochs) => link.call("cluster.alterIsr", [state, isr, joiningEpochs]),
    alterReassignment: (topic, partition, target, allowRf) => link.call("cluster.alterReassignment", [topic, partition, target, allowRf]),
    electLeaders: (type, targets) => link.call("cluster.electLeaders", [type, targets]),
    reserveProducerIds: (size, floor) => link.call("cluster.reserveProducerIds", [size, floor]),
    replicaOffline: (topicIdHex, partition) => link.post({ t: "replica-offline", topicIdHex, partition }),
    replicaOnline: (topicIdHex, partition) => link.post({ t: "replica-online", topicIdHex, partition }),
    // the other shards' failed log dirs, and (a clustered node) the other brokers' as they report them (KIP-112)
    offlineReplicas: (topicIdHex, partition) => {
      const shards = offline.of(topicIdHex, partition);
      const brokers = metadata.offlineReplicas(topicIdHex, partition);
      return brokers.length === 0 ? shards : shards.length === 0 ? brokers : [...shards, ...brokers];
    },
  };
}
