/**
 * The replicas brokers report in failed log dirs (KIP-112; Kafka's brokers send OfflineLogDirs in their heartbeats,
 * KIP-858): each broker's offline-replica record, and by partition the brokers whose replica there is offline. The
 * controller counts such a replica as gone for its partition; Metadata lists it in offlineReplicas.
 */

/**
 * What a broker publishes about its failed log dirs: the replicas it holds there, by topic id and partition. In etcd
 * it is written under the broker's registration lease, so it lives exactly as long as that registration: a broker
 * restarted with its disk fixed starts without one.
 */
export interface OfflineReplicasRecord {
  /** `node.id`. */
  nodeId: number;
  /** Replicas in the failed log dirs: topic id (hex) and partition index. */
  partitions: { topicIdHex: string; partition: number }[];
}

const NONE: readonly number[] = [];

/** Every broker's offline-replica record, indexed by partition. */
export class OfflineReplicaIndex {
  private readonly records = new Map<number, OfflineReplicasRecord>();
  private readonly byPartition = new Map<string, number[]>();

  /** Sets (or, `record` null, removes) broker `nodeId`'s record. */
  apply(nodeId: number, record: OfflineReplicasRecord | null): void {
    if (record === null) this.records.delete(nodeId);
    else this.records.set(nodeId, record);
    this.byPartition.clear();
    for (const [id, r] of this.records) {
      for (const { topicIdHex, partition } of r.partitions) {
        const k = `${topicIdHex}/${partition}`;
        const list = this.byPartition.get(k);
        if (list === undefined) this.byPartition.set(k, [id]);
        else if (!list.includes(id)) list.push(id);
      }
    }
  }

  /** The brokers whose replica of partition `partition` of topic `topicIdHex` is offline. */
  of(topicIdHex: string, partition: number): readonly number[] {
    if (this.byPartition.size === 0) return NONE;
    return this.byPartition.get(`${topicIdHex}/${partition}`) ?? NONE;
  }

  /** Every record, by node id. */
  all(): OfflineReplicasRecord[] {
    return [...this.records.values()].sort((a, b) => a.nodeId - b.nodeId);
  }
}
