/**
 * The metadata store of a shard: a mirror of the shard host's store (the node's one `LocalMetadataStore`, on the
 * main thread). The host sends a snapshot, then every change in order ({@link serveMetadata}); the mirror applies
 * them to its view and tells its watchers, so reads stay synchronous and local. Writes go to the host's store and
 * resolve after the change they made has reached the mirror (the link keeps order), so a writer reads its own
 * writes, as the MetadataStore contract asks.
 */
import { MetadataView, type BrokerRegistration, type ConfigRecord, type MetadataChange, type MetadataListener, type MetadataStore, type PartitionStateRecord, type TopicRecord } from "../cluster/metadata-store.ts";
import type { ShardLink } from "./shard-link.ts";

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
}

/** The writes a mirror forwards (the MetadataStore methods that change the store). */
const WRITES = ["createTopic", "updateTopic", "deleteTopic", "compareAndSetPartition", "registerBroker", "unregisterBroker", "putConfigRecord"] as const;
type Write = (typeof WRITES)[number];

/** A snapshot of `store` (its view now). */
export function snapshotOf(store: MetadataStore): MetadataSnapshot {
  const topics = store.topics();
  const partitions: PartitionStateRecord[] = [];
  for (const t of topics) {
    for (let p = 0; p < t.partitions; p++) {
      const s = store.partitionState(t.name, p);
      if (s !== undefined) partitions.push(s);
    }
  }
  return { version: store.version, topics, partitions, configs: CONFIG_RESOURCES.flatMap((r) => store.configRecordsOf(r)), brokers: store.brokers() };
}

/**
 * Host side: sends `store`'s snapshot over `link`, then every change, and applies the mirror's forwarded writes.
 * `extra` serves other calls on the same link (the cluster view). Returns the function that stops the stream.
 */
export function serveMetadata(store: MetadataStore, link: ShardLink, extra: (op: string, args: unknown[]) => Promise<unknown>): () => void {
  link.post({ t: "snapshot", snapshot: snapshotOf(store) });
  // The changes of one write are emitted together, synchronously: they travel as one batch, so a mirror applies a
  // whole write (a topic with its partition states) before its watchers look, as the host's own view does.
  let batch: MetadataChange[] = [];
  const stop = store.watch((change) => {
    if (batch.length === 0) queueMicrotask(() => link.post({ t: "changes", changes: batch.splice(0) }));
    batch.push(change);
  });
  link.serve((op, args) => {
    if ((WRITES as readonly string[]).includes(op)) return (store[op as Write] as (...a: unknown[]) => Promise<unknown>).apply(store, args);
    return extra(op, args);
  });
  return stop;
}

/** A shard's {@link MetadataStore}: the host's store, mirrored. */
export class MetadataMirror extends MetadataView implements MetadataStore {
  private storeVersion: number;
  private readonly listeners = new Set<MetadataListener>();

  private constructor(private readonly link: ShardLink, snapshot: MetadataSnapshot) {
    super();
    this.storeVersion = snapshot.version;
    for (const value of snapshot.topics) this.applyChange({ kind: "topic", version: 0, name: value.name, value });
    for (const value of snapshot.partitions) this.applyChange({ kind: "partition", version: 0, topic: value.topic, partition: value.partition, value });
    for (const value of snapshot.configs) this.applyChange({ kind: "config", version: 0, resource: value.resource, name: value.name, value });
    for (const value of snapshot.brokers) this.applyChange({ kind: "broker", version: 0, nodeId: value.nodeId, value });
    link.on("changes", (m) => this.apply(m.changes as MetadataChange[]));
  }

  /** Waits for the host's snapshot on `link` and mirrors from there. */
  static open(link: ShardLink): Promise<MetadataMirror> {
    return new Promise((resolve) => link.on("snapshot", (m) => resolve(new MetadataMirror(link, m.snapshot as MetadataSnapshot))));
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
