/**
 * The metadata store of a shard: a mirror of the shard host's store (the node's one `LocalMetadataStore`, on the
 * main thread). The host sends a snapshot, then every change in order ({@link serveMetadata}); the mirror applies
 * them to its view and tells its watchers, so reads stay synchronous and local. Writes go to the host's store and
 * resolve after the change they made has reached the mirror (the link keeps order), so a writer reads its own
 * writes, as the MetadataStore contract asks.
 */
import { MetadataView, type BrokerRegistration, type ConfigRecord, type MetadataChange, type MetadataListener, type MetadataStore, type PartitionStateRecord, type TopicRecord } from "../cluster/metadata-store.ts";
import type { OfflineReplicasRecord } from "../cluster/offline-replica-index.ts";
import type { ShardLink } from "./shard-link.ts";
import { isSiblingId, SIBLING_ID_BASE, siblingChange, siblingRegistration, siblingState, type SiblingView } from "./cluster-siblings.ts";

/** The resource kinds of config records (all of them travel in the snapshot). */
const CONFIG_RESOURCES: readonly ConfigRecord["resource"][] = ["broker", "group", "user", "acl", "client-quota"];

/** The host's store at one version. */
export interface MetadataSnapshot {
  /** Store version. */
  version: number;
  /** Every topic. */
  topics: TopicRecord[];
  /** Every partition state. */
  partitions: PartitionStateRecord[];
  /** Every config record. */
  configs: ConfigRecord[];
  /** Every registered broker (the shards). */
  brokers: BrokerRegistration[];
  /** Every broker's offline-replica record (KIP-112, a cluster's). */
  offline: OfflineReplicasRecord[];
}

/** The writes a mirror forwards (the MetadataStore methods that change the store). */
const WRITES = ["createTopic", "updateTopic", "deleteTopic", "compareAndSetPartition", "registerBroker", "unregisterBroker", "putConfigRecord"] as const;
type Write = (typeof WRITES)[number];

/** A snapshot of `store` (its view now), as shard `siblings.index` of a clustered node sees it when given. */
export function snapshotOf(store: MetadataStore, siblings?: SiblingView): MetadataSnapshot {
  const topics = store.topics();
  const partitions: PartitionStateRecord[] = [];
  for (const t of topics) {
    for (let p = 0; p < t.partitions; p++) {
      const s = store.partitionState(t.name, p);
      if (s !== undefined) partitions.push(siblings === undefined ? s : siblingState(s, siblings));
    }
  }
  return { version: store.version, topics, partitions, configs: CONFIG_RESOURCES.flatMap((r) => store.configRecordsOf(r)), brokers: store.brokers(), offline: store.offlineReplicaRecords() };
}

/**
 * Host side: sends `store`'s snapshot over `link`, then every change, and applies the mirror's forwarded writes.
 * `extra` serves other calls on the same link (the cluster view). With `siblings` (a shard of a broker of an etcd
 * cluster) the partition states go as that shard sees them (./cluster-siblings.ts) and the shard's own registration
 * is not written: the host holds the node's one registration. With `othersApplied`, a config record write (ACLs,
 * SCRAM credentials, quotas, dynamic configs) is answered once it resolves: once the other shards' mirrors applied
 * the change, so that what the writer answers (CreateAcls, ...) holds on every shard, as on one broker. Returns the
 * function that stops the stream.
 */
export function serveMetadata(store: MetadataStore, link: ShardLink, extra: (op: string, args: unknown[]) => Promise<unknown>, siblings?: SiblingView, othersApplied?: () => Promise<void>): () => void {
  link.post({ t: "snapshot", snapshot: snapshotOf(store, siblings) });
  // The changes of one write are emitted together, synchronously: they travel as one batch, so a mirror applies a
  // whole write (a topic with its partition states) before its watchers look, as the host's own view does.
  let batch: MetadataChange[] = [];
  const stop = store.watch((change) => {
    if (batch.length === 0) queueMicrotask(() => link.post({ t: "changes", changes: batch.splice(0) }));
    batch.push(siblings === undefined ? change : siblingChange(change, siblings));
  });
  link.serve((op, args) => {
    if (siblings !== undefined) {
      if (op === "registerBroker" || op === "unregisterBroker") return Promise.resolve();
      // A shard of a clustered node changes partition states only through the cluster view (ISR, reassignment).
      if (op === "compareAndSetPartition") return Promise.reject(new Error("a shard of a broker of an etcd cluster writes no partition state itself"));
    }
    if (!(WRITES as readonly string[]).includes(op)) return extra(op, args);
    const written = (store[op as Write] as (...a: unknown[]) => Promise<unknown>).apply(store, args);
    if (op !== "putConfigRecord" || othersApplied === undefined) return written;
    // the store told its watchers before its write resolved: the change went to every mirror before this asks them
    return written.then(async (value) => {
      await othersApplied();
      return value;
    });
  });
  return stop;
}

/** A shard's {@link MetadataStore}: the host's store, mirrored. */
export class MetadataMirror extends MetadataView implements MetadataStore {
  private storeVersion: number;
  private readonly listeners = new Set<MetadataListener>();

  private constructor(private readonly link: ShardLink, snapshot: MetadataSnapshot, private readonly siblings?: SiblingView) {
    super();
    this.storeVersion = snapshot.version;
    for (const value of snapshot.topics) this.applyChange({ kind: "topic", version: 0, name: value.name, value });
    for (const value of snapshot.partitions) this.applyChange({ kind: "partition", version: 0, topic: value.topic, partition: value.partition, value });
    for (const value of snapshot.configs) this.applyChange({ kind: "config", version: 0, resource: value.resource, name: value.name, value });
    for (const value of snapshot.brokers) this.applyChange({ kind: "broker", version: 0, nodeId: value.nodeId, value });
    for (const value of snapshot.offline) this.applyChange({ kind: "offline-replicas", version: 0, nodeId: value.nodeId, value });
    link.on("changes", (m) => this.apply(m.changes as MetadataChange[]));
  }

  /** Waits for the host's snapshot on `link` and mirrors from there; `siblings`: a shard of a broker of an etcd cluster. */
  static open(link: ShardLink, siblings?: SiblingView): Promise<MetadataMirror> {
    return new Promise((resolve) => link.on("snapshot", (m) => resolve(new MetadataMirror(link, m.snapshot as MetadataSnapshot, siblings))));
  }

  /** The registration of broker `nodeId`; a sibling id names another shard of this node (reached through the host). */
  override broker(nodeId: number): BrokerRegistration | undefined {
    const v = this.siblings;
    if (v === undefined || !isSiblingId(nodeId)) return super.broker(nodeId);
    const k = nodeId - SIBLING_ID_BASE;
    return k < v.count && k !== v.index ? siblingRegistration(k, super.broker(v.nodeId)?.brokerEpoch ?? 0) : undefined;
  }

  /** Version of the last applied change. */
  get version(): number {
    return this.storeVersion;
  }
  /** Adds a listener; returns its remover. */
  watch(listener: MetadataListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Forwarded to the host's store. */
  createTopic(topic: TopicRecord, partitions: readonly PartitionStateRecord[]): Promise<void> {
    return this.link.call("createTopic", [topic, partitions]);
  }
  /** Forwarded to the host's store. */
  updateTopic(topic: TopicRecord, addedPartitions: readonly PartitionStateRecord[]): Promise<void> {
    return this.link.call("updateTopic", [topic, addedPartitions]);
  }
  /** Forwarded to the host's store. */
  deleteTopic(name: string): Promise<void> {
    return this.link.call("deleteTopic", [name]);
  }
  /** Forwarded to the host's store. */
  compareAndSetPartition(next: PartitionStateRecord, expectedPartitionEpoch: number): Promise<boolean> {
    return this.link.call("compareAndSetPartition", [next, expectedPartitionEpoch]);
  }
  /** Forwarded to the host's store. */
  registerBroker(registration: BrokerRegistration): Promise<void> {
    return this.link.call("registerBroker", [registration]);
  }
  /** Forwarded to the host's store. */
  unregisterBroker(nodeId: number): Promise<void> {
    return this.link.call("unregisterBroker", [nodeId]);
  }
  /** Forwarded to the host's store. */
  putConfigRecord(record: ConfigRecord): Promise<void> {
    return this.link.call("putConfigRecord", [record]);
  }

  /** Applies the changes of one write of the host's store, then tells the watchers about each. */
  private apply(changes: readonly MetadataChange[]): void {
    for (const c of changes) this.applyOne(c);
    for (const c of changes) for (const l of this.listeners) l(c);
  }

  private applyOne(c: MetadataChange): void {
    if (c.version < this.storeVersion) throw new Error(`metadata mirror: change version ${c.version} after ${this.storeVersion}`);
    this.storeVersion = c.version;
    this.applyChange(c);
  }
}
