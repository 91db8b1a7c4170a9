/**
 * Cluster metadata: topics, partition states and broker registrations, behind one asynchronous, versioned,
 * watchable interface. A single node keeps it in one JSON file in the first log dir ({@link LocalMetadataStore});
 * a cluster keeps the same records in etcd behind the same interface.
 */
import * as nodePath from "node:path";
import type { FileSystem } from "../platform/fs.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { OfflineReplicaIndex, type OfflineReplicasRecord } from "./offline-replica-index.ts";

/** One topic as metadata knows it. */
export interface TopicRecord {
  /** Topic name. */
  name: string;
  /** Topic id, 16 bytes, as lowercase hex (stable text form for the file). */
  idHex: string;
  /** Number of partitions. */
  partitions: number;
  /** Replication factor asked at creation. */
  replicationFactor: number;
  /** Topic-level config overrides (Kafka keys). */
  configs: Record<string, string>;
  /** Wall-clock ms of creation. */
  createdAtMs: number;
}

/** The replication state of one partition (Kafka's PartitionRecord / PartitionChangeRecord core fields). */
export interface PartitionStateRecord {
  /** Topic name. */
  topic: string;
  /** Partition index. */
  partition: number;
  /** Node ids holding a replica, preferred leader first. */
  replicas: number[];
  /** Node id of the leader, or -1 when the partition has none. */
  leader: number;
  /** Bumped by the controller on every leader change. */
  leaderEpoch: number;
  /** Node ids in sync with the leader (the leader included). */
  isr: number[];
  /** Bumped on every change of this record; the compare-and-set version. */
  partitionEpoch: number;
  /** Replicas a reassignment is adding (Kafka's adding_replicas); absent or empty when none moves. */
  addingReplicas?: number[];
  /** Replicas a reassignment will drop once the adding ones are in sync (Kafka's removing_replicas). */
  removingReplicas?: number[];
}

/** One listener of a broker registration. */
export interface BrokerEndpoint {
  /** Listener name (`PLAINTEXT`, `REPLICATION`, ...). */
  name: string;
  /** Advertised host. */
  host: string;
  /** Advertised port. */
  port: number;
  /** Kafka security protocol of the listener. */
  securityProtocol: string;
}

/** A live broker as registered (in a cluster: under an etcd lease that ends with the broker). */
export interface BrokerRegistration {
  /** `node.id`. */
  nodeId: number;
  /** Distinguishes this incarnation of the broker from earlier ones (etcd: the lease's creation revision). */
  brokerEpoch: number;
  /** `broker.rack`, or null. */
  rack: string | null;
  /** Advertised listeners. */
  endpoints: BrokerEndpoint[];
  /** Set once the broker began a controlled shutdown: it leads nothing new and leaves the ISRs (etcd only). */
  inControlledShutdown?: boolean;
}

/**
 * Dynamic config overrides of one non-topic resource (Kafka's ConfigRecord): a broker (`name` = node id), the
 * cluster-wide broker default (`name` = ""), or a group. Topic overrides live in their TopicRecord.
 */
export interface ConfigRecord {
  /** Resource kind. */
  resource: "broker" | "group" | "user" | "acl" | "client-quota";
  /** Node id, "" for the cluster default, or the group id. */
  name: string;
  /** Kafka key to value. */
  configs: Record<string, string>;
}

/** One change as watchers see it (`offline-replicas`: a broker's failed log dirs, etcd only); `value` null means the record was removed. */
export type MetadataChange =
  | { kind: "topic"; version: number; name: string; value: TopicRecord | null }
  | { kind: "config"; version: number; resource: ConfigRecord["resource"]; name: string; value: ConfigRecord | null }
  | { kind: "partition"; version: number; topic: string; partition: number; value: PartitionStateRecord | null }
  | { kind: "broker"; version: number; nodeId: number; value: BrokerRegistration | null }
  | { kind: "offline-replicas"; version: number; nodeId: number; value: OfflineReplicasRecord | null };

/** Receives metadata changes; must not throw and must not block. */
export type MetadataListener = (change: MetadataChange) => void;

/**
 * Where cluster metadata is kept. The contract, for every implementation (local file, etcd):
 *
 * - **Reads are synchronous** and served from an in-memory view that the store keeps current. They never touch
 *   the disk or the network. Returned records must not be modified by callers.
 * - **Version.** {@link MetadataStore.version} is monotonic: every applied change has a larger version than the
 *   one before (etcd: the store revision; local: a counter kept in the file, so durable changes keep counting up
 *   across restarts). Changes written together (one create, one delete) share one version.
 * - **Durable first, then visible.** A write changes the view only after it is durable (local: the file is
 *   fsynced and renamed; etcd: the transaction committed). A write that fails leaves the view, the watchers and
 *   the stored data exactly as before, and rejects with a {@link KafkaError} whose code handlers answer as is
 *   (local I/O failure, e.g. ENOSPC or EMFILE: `KAFKA_STORAGE_ERROR`; etcd unreachable or timed out: a retriable
 *   code such as `REQUEST_TIMED_OUT`). A write that resolves is visible: when its promise resolves, the view
 *   already contains it (etcd: the store waits until its watch has applied the write's revision), so a writer
 *   reads its own writes.
 * - **Ordering.** Writes from one store are applied in the order they were called. Watchers see every change,
 *   once, in version order, after the view includes it and before the writing promise resolves.
 * - **Atomic topic writes.** {@link MetadataStore.createTopic} writes the topic and all its partition states or
 *   nothing (etcd: one transaction guarded by "topic key absent"); {@link MetadataStore.deleteTopic} removes the
 *   topic and all its partition states or nothing.
 * - **Compare-and-set on partition state.** {@link MetadataStore.compareAndSetPartition} is the only way to change
 *   an existing partition's state: it applies only if the stored `partitionEpoch` equals the expected one, and
 *   the written record carries `partitionEpoch = expected + 1`. A lost race resolves `false` (re-read, decide
 *   again); it is not an error.
 * - **Broker registrations** live as long as the broker does (etcd: under the broker's lease; local: in memory
 *   only, since a single node's registration ends with its process).
 * - **Watch.** {@link MetadataStore.watch} returns a function that removes the listener. Listeners are called
 *   synchronously in version order and must not throw. After an etcd watch is lost and restored (compaction,
 *   reconnect), the store reloads and reports the difference as ordinary changes, so a listener never misses a
 *   final state.
 */
export interface MetadataStore {
  /** Version of the view: that of the last applied change (0 for an empty store). */
  readonly version: number;
  /** All topics, sorted by name. */
  topics(): TopicRecord[];
  /** One topic, or undefined. */
  topic(name: string): TopicRecord | undefined;
  /** The state of one partition, or undefined. */
  partitionState(topic: string, partition: number): PartitionStateRecord | undefined;
  /**
   * Cluster mode: the etcd revision that last wrote a partition's state (0 when none). A broker whose registration
   * (its broker epoch) is newer holds none of the roles that state names: they were given to an earlier incarnation.
   */
  partitionStateRevision?(topic: string, partition: number): number;
  /** Registered brokers, by node id. */
  brokers(): BrokerRegistration[];
  /** The registration of broker `nodeId`, or undefined (no copy: cheap enough for every follower fetch). */
  broker(nodeId: number): BrokerRegistration | undefined;
  /** The brokers whose replica of the partition they report in a failed log dir (KIP-112; cluster mode, else none). */
  offlineReplicas(topicIdHex: string, partition: number): readonly number[];
  /** Every broker's offline-replica record (what a mirror's snapshot carries). */
  offlineReplicaRecords(): OfflineReplicasRecord[];
  /** Creates a topic with the states of all its partitions; rejects with TOPIC_ALREADY_EXISTS if the name is taken. */
  createTopic(topic: TopicRecord, partitions: readonly PartitionStateRecord[]): Promise<void>;
  /**
   * Replaces a topic record (config overrides, partition count) and adds the states of new partitions; rejects
   * with UNKNOWN_TOPIC_OR_PARTITION when no topic with that name and id exists.
   */
  updateTopic(topic: TopicRecord, addedPartitions: readonly PartitionStateRecord[]): Promise<void>;
  /** Removes a topic and its partition states; rejects with UNKNOWN_TOPIC_OR_PARTITION when it does not exist. */
  deleteTopic(name: string): Promise<void>;
  /** Writes `next` if the stored partition epoch is `expectedPartitionEpoch`; false when another change won. */
  compareAndSetPartition(next: PartitionStateRecord, expectedPartitionEpoch: number): Promise<boolean>;
  /** Registers (or re-registers) a broker. */
  registerBroker(registration: BrokerRegistration): Promise<void>;
  /** Removes a broker registration (controlled shutdown). */
  unregisterBroker(nodeId: number): Promise<void>;
  /** Calls `listener` for every later change; returns the function that stops it. */
  watch(listener: MetadataListener): () => void;
  /** The dynamic config overrides of a broker, the cluster default ("") or a group, or undefined when none. */
  configRecord(resource: ConfigRecord["resource"], name: string): ConfigRecord | undefined;
  /** Every config record of one resource kind (the users holding SCRAM credentials: "user"). */
  configRecordsOf(resource: ConfigRecord["resource"]): ConfigRecord[];
  /** Replaces a resource's dynamic config overrides, durably (an empty set removes the record). */
  putConfigRecord(record: ConfigRecord): Promise<void>;
}

const FILE_NAME = "__runnel_metadata.json";
/** Version 1 held topics only; version 2 adds partition states and the store version. */
const FORMAT_VERSION = 2;

/** The file's content. */
interface MetadataDocument {
  version: number;
  storeVersion: number;
  topics: TopicRecord[];
  partitions: PartitionStateRecord[];
  /** Dynamic broker and group configs (absent in files written before they existed). */
  configs?: ConfigRecord[];
}

const configKey = (resource: string, name: string): string => `${resource}\u0000${name}`;

const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** Orders topic records by name. */
function byName(a: TopicRecord, b: TopicRecord): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** The in-memory view of a metadata store and its synchronous reads (the local store's, a shard's mirror's). */
export class MetadataView {
  protected readonly topicsByName = new Map<string, TopicRecord>();
  protected readonly states = new Map<string, PartitionStateRecord>();
  protected readonly registrations = new Map<number, BrokerRegistration>();
  protected readonly configRecords = new Map<string, ConfigRecord>();
  protected readonly offline = new OfflineReplicaIndex();

  /** All topics, sorted by name. */
  topics(): TopicRecord[] {
    return [...this.topicsByName.values()].sort(byName);
  }
  /** One topic, or undefined. */
  topic(name: string): TopicRecord | undefined {
    return this.topicsByName.get(name);
  }
  /** The state of one partition, or undefined. */
  partitionState(topic: string, partition: number): PartitionStateRecord | undefined {
    return this.states.get(partitionKey(topic, partition));
  }
  /** Registered brokers, by node id. */
  brokers(): BrokerRegistration[] {
    return [...this.registrations.values()].sort((a, b) => a.nodeId - b.nodeId);
  }
  /** The registration of broker `nodeId`, or undefined. */
  broker(nodeId: number): BrokerRegistration | undefined {
    return this.registrations.get(nodeId);
  }
  /** A resource's dynamic config overrides, or undefined. */
  configRecord(resource: ConfigRecord["resource"], name: string): ConfigRecord | undefined {
    return this.configRecords.get(configKey(resource, name));
  }
  /** Every config record of one resource kind. */
  configRecordsOf(resource: ConfigRecord["resource"]): ConfigRecord[] {
    return [...this.configRecords.values()].filter((c) => c.resource === resource);
  }

  /** The brokers whose replica of the partition is in a failed log dir (KIP-112; only a cluster's brokers report any). */
  offlineReplicas(topicIdHex: string, partition: number): readonly number[] {
    return this.offline.of(topicIdHex, partition);
  }
  /** Every broker's offline-replica record. */
  offlineReplicaRecords(): OfflineReplicasRecord[] {
    return this.offline.all();
  }

  /** Applies one change (as watchers see it) to the view. */
  protected applyChange(c: MetadataChange): void {
    if (c.kind === "topic") {
      if (c.value === null) this.topicsByName.delete(c.name);
      else this.topicsByName.set(c.name, c.value);
    } else if (c.kind === "partition") {
      if (c.value === null) this.states.delete(partitionKey(c.topic, c.partition));
      else this.states.set(partitionKey(c.topic, c.partition), c.value);
    } else if (c.kind === "config") {
      if (c.value === null) this.configRecords.delete(configKey(c.resource, c.name));
      else this.configRecords.set(configKey(c.resource, c.name), c.value);
    } else if (c.kind === "broker") {
      if (c.value === null) this.registrations.delete(c.nodeId);
      else this.registrations.set(c.nodeId, c.value);
    } else this.offline.apply(c.nodeId, c.value);
  }
}

/**
 * A {@link MetadataStore} in one local JSON file, rewritten atomically off the event loop (tmp + asynchronous
 * fdatasync + rename + asynchronous directory fsync)
 * on every change. Writes are queued and applied one at a time.
 */
export class LocalMetadataStore extends MetadataView implements MetadataStore {
  private readonly path: string;
  private readonly fs: FileSystem;
  private readonly listeners = new Set<MetadataListener>();
  private storeVersion = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(fs: FileSystem, dir: string) {
    super();
    this.fs = fs;
    this.path = `${dir}/${FILE_NAME}`;
    if (!fs.exists(this.path)) return;
    const doc = JSON.parse(new TextDecoder().decode(fs.readFile(this.path)));
    if (doc.version !== 1 && doc.version !== FORMAT_VERSION) throw new Error(`${this.path}: unknown metadata version ${doc.version}`);
    for (const t of doc.topics as TopicRecord[]) this.topicsByName.set(t.name, t);
    for (const p of (doc.partitions ?? []) as PartitionStateRecord[]) this.states.set(partitionKey(p.topic, p.partition), p);
    for (const c of (doc.configs ?? []) as ConfigRecord[]) this.configRecords.set(configKey(c.resource, c.name), c);
    this.storeVersion = doc.storeVersion ?? 0;
  }

  /** Version of the last applied change. */
  get version(): number {
    return this.storeVersion;
  }

  /** Creates a topic and its partition states, durably. */
  createTopic(topic: TopicRecord, partitions: readonly PartitionStateRecord[]): Promise<void> {
    return this.enqueue(() => {
      if (this.topicsByName.has(topic.name)) throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${topic.name}' already exists.`);
      assertPartitionsOf(topic, partitions);
      return this.commit([topic], [], partitions, []);
    });
  }

  /** Replaces a topic record and adds new partition states, durably. */
  updateTopic(topic: TopicRecord, addedPartitions: readonly PartitionStateRecord[]): Promise<void> {
    return this.enqueue(() => {
      const old = this.topicsByName.get(topic.name);
      if (old === undefined || old.idHex !== topic.idHex) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${topic.name}' does not exist.`);
      assertPartitionsOf(topic, addedPartitions);
      return this.commit([topic], [], addedPartitions, []);
    });
  }

  /** Removes a topic and its partition states, durably. */
  deleteTopic(name: string): Promise<void> {
    return this.enqueue(() => {
      const old = this.topicsByName.get(name);
      if (old === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist.`);
      const gone: PartitionStateRecord[] = [];
      for (const s of this.states.values()) if (s.topic === name) gone.push(s);
      return this.commit([], [name], [], gone);
    });
  }

  /** Writes a partition state if its stored epoch is the expected one. */
  compareAndSetPartition(next: PartitionStateRecord, expectedPartitionEpoch: number): Promise<boolean> {
    return this.enqueue(() => {
      if (next.partitionEpoch !== expectedPartitionEpoch + 1) {
        throw new Error(`partition epoch of ${next.topic}-${next.partition} must be ${expectedPartitionEpoch + 1}, not ${next.partitionEpoch}`);
      }
      const cur = this.states.get(partitionKey(next.topic, next.partition));
      if (cur === undefined || cur.partitionEpoch !== expectedPartitionEpoch) return false;
      return this.commit([], [], [next], []).then(() => true);
    });
  }

  /**
   * Replaces existing partition states in one durable commit, without compare-and-set: for start-up placement
   * changes (src/cluster/placement-normalization.ts), before anything else writes. Each must bump its partition epoch.
   */
  rewritePartitionStates(states: readonly PartitionStateRecord[]): Promise<void> {
    return this.enqueue(() => {
      for (const next of states) {
        const cur = this.states.get(partitionKey(next.topic, next.partition));
        if (cur === undefined || next.partitionEpoch !== cur.partitionEpoch + 1) throw new Error(`partition ${next.topic}-${next.partition}: a rewrite must follow the stored state (epoch ${cur?.partitionEpoch})`);
      }
      return this.commit([], [], states, []);
    });
  }

  /** Registers a broker (kept in memory: a single node's registration ends with its process). */
  registerBroker(registration: BrokerRegistration): Promise<void> {
    return this.enqueue(() => {
      this.registrations.set(registration.nodeId, registration);
      this.emit({ kind: "broker", version: ++this.storeVersion, nodeId: registration.nodeId, value: registration });
    });
  }

  /** Removes a broker registration. */
  unregisterBroker(nodeId: number): Promise<void> {
    return this.enqueue(() => {
      if (!this.registrations.delete(nodeId)) return;
      this.emit({ kind: "broker", version: ++this.storeVersion, nodeId, value: null });
    });
  }

  /** Replaces a resource's dynamic config overrides, durably; an empty set removes the record. */
  putConfigRecord(record: ConfigRecord): Promise<void> {
    return this.enqueue(() => {
      const key = configKey(record.resource, record.name);
      const value = Object.keys(record.configs).length === 0 ? null : { ...record, configs: { ...record.configs } };
      const next = new Map(this.configRecords);
      if (value === null) next.delete(key);
      else next.set(key, value);
      return this.commit([], [], [], [], next).then(() => {
        if (value === null) this.configRecords.delete(key);
        else this.configRecords.set(key, value);
        this.emit({ kind: "config", version: this.storeVersion, resource: record.resource, name: record.name, value });
      });
    });
  }

  /** Adds a listener; returns its remover. */
  watch(listener: MetadataListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** How many listeners {@link watch} holds now (tests check that a stopped part removed its own). */
  get watcherCount(): number {
    return this.listeners.size;
  }

  /** Runs `step` after every earlier write; a failed step does not stop later ones. */
  private enqueue<T>(step: () => T | Promise<T>): Promise<T> {
    const run = this.queue.then(step);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Writes the file with the changes applied, off the event loop (temp file, asynchronous fdatasync, rename,
   * directory fsync); only then applies them to the view and tells the watchers. Callers run it inside
   * {@link enqueue}, so commits never overlap.
   */
  private async commit(put: readonly TopicRecord[], removed: readonly string[], putStates: readonly PartitionStateRecord[], removedStates: readonly PartitionStateRecord[], configs: ReadonlyMap<string, ConfigRecord> = this.configRecords): Promise<void> {
    const version = this.storeVersion + 1;
    const topics = new Map(this.topicsByName);
    for (const n of removed) topics.delete(n);
    for (const t of put) topics.set(t.name, t);
    const states = new Map(this.states);
    for (const s of removedStates) states.delete(partitionKey(s.topic, s.partition));
    for (const s of putStates) states.set(partitionKey(s.topic, s.partition), s);
    const doc: MetadataDocument = { version: FORMAT_VERSION, storeVersion: version, topics: [...topics.values()].sort(byName), partitions: [...states.values()], configs: [...configs.values()] };
    try {
      await this.fs.writeFileAtomicAsync(this.path, new TextEncoder().encode(JSON.stringify(doc, null, 1)), "commit");
      await this.fs.syncDirAsync(nodePath.dirname(this.path));
    } catch (e) {
      throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `could not write ${this.path}: ${(e as Error).message}`);
    }
    this.storeVersion = version;
    for (const n of removed) this.topicsByName.delete(n);
    for (const t of put) this.topicsByName.set(t.name, t);
    for (const s of removedStates) this.states.delete(partitionKey(s.topic, s.partition));
    for (const s of putStates) this.states.set(partitionKey(s.topic, s.partition), s);
    for (const s of removedStates) this.emit({ kind: "partition", version, topic: s.topic, partition: s.partition, value: null });
    for (const n of removed) this.emit({ kind: "topic", version, name: n, value: null });
    for (const t of put) this.emit({ kind: "topic", version, name: t.name, value: t });
    for (const s of putStates) this.emit({ kind: "partition", version, topic: s.topic, partition: s.partition, value: s });
  }

  private emit(change: MetadataChange): void {
    for (const l of this.listeners) l(change);
  }
}

/** Asserts that partition states belong to `topic` and lie within its partition count. */
export function assertPartitionsOf(topic: TopicRecord, partitions: readonly PartitionStateRecord[]): void {
  for (const p of partitions) {
    if (p.topic !== topic.name || p.partition < 0 || p.partition >= topic.partitions) {
      throw new Error(`partition state ${p.topic}-${p.partition} does not belong to topic ${topic.name} with ${topic.partitions} partitions`);
    }
  }
}
