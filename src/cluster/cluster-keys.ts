/**
 * Where the cluster keeps what in etcd, under one root (default `/runnel`), and the JSON records stored there:
 *   ROOT/brokers/ID            broker registration, bound to the broker's lease (epoch = the key's create revision)
 *   ROOT/controller/active     the active controller's id, bound to its lease (controller epoch = create revision)
 *   ROOT/topics/NAME           topic record (id, partition count, replication factor, config overrides)
 *   ROOT/partitions/NAME/P     partition state (replicas, ISR, leader, leader epoch, partition epoch)
 */
import { kvText, type KeyValue } from "./etcd-client.ts";
import type { PartitionState } from "./partition-state.ts";

/** Default key root. */
export const DEFAULT_ETCD_ROOT = "/runnel";

/** One listener a broker serves, as Kafka registers it. */
export interface BrokerEndpoint {
  /** Listener name (`PLAINTEXT`, `INTERNAL`, ...). */
  name: string;
  /** Advertised host. */
  host: string;
  /** Advertised port. */
  port: number;
  /** Security protocol of the listener. */
  securityProtocol: string;
}

/** What a broker writes about itself when it registers. */
export interface BrokerRegistrationRecord {
  /** `node.id`. */
  nodeId: number;
  /** `broker.rack`, or null. */
  rack: string | null;
  /** Advertised listeners. */
  endpoints: BrokerEndpoint[];
  /** Random id of this process run (tells restarts apart). */
  incarnationId: string;
}

/** A registered broker: its record and its epoch (the create revision of its key). */
export interface RegisteredBroker extends BrokerRegistrationRecord {
  /** Broker epoch. */
  epoch: number;
}

/** The key layout under one root. */
export class ClusterKeys {
  /** Root, without a trailing slash. */
  readonly root: string;
  constructor(root: string = DEFAULT_ETCD_ROOT) {
    if (!root.startsWith("/") || root.endsWith("/")) throw new Error(`etcd root must start and not end with '/': ${root}`);
    this.root = root;
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

/** A broker registration read back from etcd. */
export function decodeBroker(kv: KeyValue): RegisteredBroker {
  const r = JSON.parse(kvText(kv)) as BrokerRegistrationRecord;
  return { ...r, epoch: kv.createRevision };
}

/** A partition state read back from etcd. */
export function decodePartitionState(kv: KeyValue): PartitionState {
  return JSON.parse(kvText(kv)) as PartitionState;
}

/** The stored text of a partition state (fixed field order, so equal states are equal bytes). */
export function encodePartitionState(s: PartitionState): string {
  return JSON.stringify({ replicas: s.replicas, isr: s.isr, leader: s.leader, leaderEpoch: s.leaderEpoch, partitionEpoch: s.partitionEpoch });
}
