/**
 * Where the cluster keeps what in etcd, under one root (default `/runnel`), and the JSON records stored there:
 *   ROOT/brokers/ID            broker registration, bound to the broker's lease (epoch = the key's create revision)
 *   ROOT/controller/active     the active controller's id, bound to its lease (controller epoch = create revision)
 *   ROOT/topics/NAME           topic record (id, partition count, replication factor, config overrides)
 *   ROOT/partitions/NAME/P     partition state (replicas, ISR, leader, leader epoch, partition epoch)
 *   ROOT/cluster/id            the cluster id (written once by the first broker, adopted by the others)
 *   ROOT/configs/KIND:NAME     dynamic config overrides of a broker (NAME = node id, "" = cluster default) or group
 *   ROOT/producer-ids/next     the first producer id not yet reserved by any broker (decimal)
 *   ROOT/offline-replicas/ID   the replicas a broker's failed log dirs hold (KIP-112), bound to its registration's lease
 */
import { kvText, type KeyValue } from "./etcd-client.ts";
import type { PartitionState } from "./partition-state.ts";
import type { BrokerEndpoint, BrokerRegistration, PartitionStateRecord } from "./metadata-store.ts";

/** Default key root. */
export const DEFAULT_ETCD_ROOT = "/runnel";

/** What a broker writes about itself under its registration key (its epoch is the key's create revision). */
export interface StoredBrokerRecord {
  /** `node.id`. */
  nodeId: number;
  /** `broker.rack`, or null. */
  rack: string | null;
  /** Advertised listeners. */
  endpoints: BrokerEndpoint[];
  /** Random id of this process run (tells restarts apart). */
  incarnationId: string;
  /** Written (once, over the same key and lease) when the broker begins a controlled shutdown. */
  inControlledShutdown?: boolean;
}

/** The key layout under one root. */
export class ClusterKeys {
  /** Root, without a trailing slash. */
  readonly root: string;
  constructor(root: string = DEFAULT_ETCD_ROOT) {
    if (!root.startsWith("/") || root.endsWith("/")) throw new Error(`etcd root must start and not end with '/': ${root}`);
    this.root = root;
  }
  /** The cluster id key. */
  get clusterId(): string {
    return `${this.root}/cluster/id`;
  }
  /** Prefix of every broker registration. */
  get brokers(): string {
    return `${this.root}/brokers/`;
  }
  /** One broker's registration key. */
  broker(nodeId: number): string {
    return `${this.brokers}${nodeId}`;
  }
  /** Prefix of the controller keys. */
  get controllerPrefix(): string {
    return `${this.root}/controller/`;
  }
  /** The active controller's key. */
  get controller(): string {
    return `${this.controllerPrefix}active`;
  }
  /** Prefix of every topic record. */
  get topics(): string {
    return `${this.root}/topics/`;
  }
  /** One topic's record key. */
  topic(name: string): string {
    return `${this.topics}${name}`;
  }
  /** Prefix of every partition state. */
  get partitions(): string {
    return `${this.root}/partitions/`;
  }
  /** Prefix of one topic's partition states. */
  topicPartitions(topic: string): string {
    return `${this.partitions}${topic}/`;
  }
  /** One partition's state key. */
  partition(topic: string, partition: number): string {
    return `${this.topicPartitions(topic)}${partition}`;
  }
  /** Prefix of every broker's offline-replica record. */
  get offlineReplicas(): string {
    return `${this.root}/offline-replicas/`;
  }
  /** One broker's offline-replica record key. */
  offlineReplicasOf(nodeId: number): string {
    return `${this.offlineReplicas}${nodeId}`;
  }
  /** The producer id block counter. */
  get producerIdsNext(): string {
    return `${this.root}/producer-ids/next`;
  }
  /** Prefix of every dynamic config record. */
  get configs(): string {
    return `${this.root}/configs/`;
  }
  /** One resource's dynamic config key. */
  config(resource: string, name: string): string {
    return `${this.configs}${resource}:${name}`;
  }
  /** Resource kind and name of a config key, or null for another key. */
  parseConfigKey(key: string): { resource: string; name: string } | null {
    if (!key.startsWith(this.configs)) return null;
    const rest = key.slice(this.configs.length);
    const colon = rest.indexOf(":");
    return colon > 0 ? { resource: rest.slice(0, colon), name: rest.slice(colon + 1) } : null;
  }
  /** Topic and partition of a partition-state key, or null for another key. */
  parsePartitionKey(key: string): { topic: string; partition: number } | null {
    if (!key.startsWith(this.partitions)) return null;
    const rest = key.slice(this.partitions.length);
    const slash = rest.lastIndexOf("/");
    if (slash <= 0) return null;
    const partition = Number(rest.slice(slash + 1));
    return Number.isInteger(partition) && partition >= 0 ? { topic: rest.slice(0, slash), partition } : null;
  }
}

/** A broker registration read back from etcd; its epoch is the key's create revision. */
export function decodeBroker(kv: KeyValue): BrokerRegistration {
  const r = JSON.parse(kvText(kv)) as StoredBrokerRecord;
  const reg: BrokerRegistration = { nodeId: r.nodeId, brokerEpoch: kv.createRevision, rack: r.rack, endpoints: r.endpoints };
  if (r.inControlledShutdown === true) reg.inControlledShutdown = true;
  return reg;
}

/** A partition state read back from etcd (topic and partition come from the key). */
export function decodePartitionState(kv: KeyValue, topic: string, partition: number): PartitionStateRecord {
  const s = JSON.parse(kvText(kv)) as PartitionState;
  const out: PartitionStateRecord = { topic, partition, replicas: s.replicas, leader: s.leader, leaderEpoch: s.leaderEpoch, isr: s.isr, partitionEpoch: s.partitionEpoch };
  if (s.addingReplicas?.length || s.removingReplicas?.length) {
    out.addingReplicas = s.addingReplicas ?? [];
    out.removingReplicas = s.removingReplicas ?? [];
  }
  return out;
}

/**
 * The stored text of a partition state (fixed field order, so equal states are equal bytes); the reassignment
 * fields only while a reassignment runs.
 */
export function encodePartitionState(s: PartitionState): string {
  const base = { replicas: s.replicas, isr: s.isr, leader: s.leader, leaderEpoch: s.leaderEpoch, partitionEpoch: s.partitionEpoch };
  if (!s.addingReplicas?.length && !s.removingReplicas?.length) return JSON.stringify(base);
  return JSON.stringify({ ...base, addingReplicas: s.addingReplicas ?? [], removingReplicas: s.removingReplicas ?? [] });
}
