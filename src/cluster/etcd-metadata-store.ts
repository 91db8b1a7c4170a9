/**
 * The {@link MetadataStore} of a cluster, in etcd (key layout in `cluster-keys.ts`). One watch over the whole root
 * keeps an in-memory view (decoded topics, partition states, registered brokers) current; reads come from it and
 * keep working while etcd is down. The version is the etcd revision the view reflects. Writes are etcd txns, queued
 * in call order; one resolves only once the view has applied its revision, so a writer reads its own writes and
 * watchers have seen it. An unreachable etcd rejects writes with the retriable EtcdUnavailableError
 * (REQUEST_TIMED_OUT). Broker registrations live under this store's broker session (its lease).
 */
import type { Clock } from "../platform/clock.ts";
import { systemClock } from "../platform/clock.ts";
import type { RandomSource } from "../platform/random.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { kvText, type Compare, type EtcdClient, type KeyValue, type TxnOp } from "./etcd-client.ts";
import { EtcdMirror, type WatchEvent } from "./etcd-watch.ts";
import { decodeBroker, decodePartitionState, encodePartitionState, type ClusterKeys } from "./cluster-keys.ts";
import { OfflineReplicaIndex, type OfflineReplicasRecord } from "./offline-replica-index.ts";
import { BrokerSession } from "./broker-session.ts";
import { assertPartitionsOf, type BrokerRegistration, type ConfigRecord, type MetadataChange, type MetadataListener, type MetadataStore, type PartitionStateRecord, type TopicRecord } from "./metadata-store.ts";

/** etcd's default `--max-txn-ops`: operations one txn may carry. */
export const ETCD_MAX_TXN_OPS = 128;
/** Pause before this broker's offline-replica record is written again after etcd failed the write, ms. */
export const OFFLINE_REPLICAS_RETRY_BACKOFF_MS = 250;
/** Attempts of a topic update that keeps losing to concurrent updates of the same topic. */
const UPDATE_TOPIC_ATTEMPTS = 5;

/** Store settings. */
export interface EtcdMetadataStoreOptions {
  /** Lease TTL of this broker's registration, seconds (`broker.session.timeout.ms` / 1000). */
  sessionTimeoutSeconds: number;
  /** Clock for watches and keep-alives. */
  clock?: Clock;
  /** Randomness for the registration's incarnation id. */
  random?: RandomSource;
  /** This broker's registration is bound to lease `leaseId` with `epoch` (again after every re-registration). */
  onRegistered?(epoch: number, leaseId: string): void;
  /** This broker's lease was lost: it is fenced until it has registered again. */
  onFenced?(epoch: number): void;
}

const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** A {@link MetadataStore} kept in etcd. */
export class EtcdMetadataStore implements MetadataStore {
  /** The etcd client (the controller writes fenced txns with it). */
  readonly client: EtcdClient;
  /** The key layout. */
  readonly keys: ClusterKeys;
  private readonly opts: EtcdMetadataStoreOptions;
  private readonly clock: Clock;
  private readonly mirror: EtcdMirror;
  private readonly topicsByName = new Map<string, TopicRecord>();
  private readonly states = new Map<string, PartitionStateRecord>();
  private readonly registrations = new Map<number, BrokerRegistration>();
  private readonly configRecords = new Map<string, ConfigRecord>();
  private readonly listeners = new Set<MetadataListener>();
  private queue: Promise<unknown> = Promise.resolve();
  private session: BrokerSession | null = null;
  /** Every broker's offline-replica record (KIP-112). */
  private readonly offline = new OfflineReplicaIndex();
  /** This broker's own offline replicas (`topicIdHex/partition`), as it publishes them. */
  private readonly ownOffline = new Set<string>();
  /** Whether this broker ever reported an offline replica: a registration then writes its record (or its removal) again. */
  private offlineReported = false;
  private offlineWrite: Promise<void> | null = null;
  private offlineRetry: unknown = null;
  private closed = false;

  constructor(client: EtcdClient, keys: ClusterKeys, opts: EtcdMetadataStoreOptions) {
    this.client = client;
    this.keys = keys;
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.mirror = new EtcdMirror(client, `${keys.root}/`, this.clock);
    this.mirror.listen((events, revision) => this.apply(events, revision));
  }

  /** Loads the view and starts the watch; rejects with EtcdUnavailableError when etcd does not answer. */
  async start(): Promise<void> {
    await this.mirror.start();
  }

  /** Stops the watch and ends this broker's registration (revoking its lease). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.offlineRetry !== null) this.clock.clearTimer(this.offlineRetry);
    this.mirror.close();
    const s = this.session;
    this.session = null;
    if (s) await s.stop().catch(() => {});
  }

  /** The etcd revision the view reflects. */
  get version(): number {
    return this.mirror.revision;
  }
  /** All topics, sorted by name. */
  topics(): TopicRecord[] {
    return [...this.topicsByName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
  /** One topic, or undefined. */
  topic(name: string): TopicRecord | undefined {
    return this.topicsByName.get(name);
  }
  /** The state of one partition, or undefined. */
  partitionState(topic: string, partition: number): PartitionStateRecord | undefined {
    return this.states.get(partitionKey(topic, partition));
  }
  /** The etcd revision that last wrote a partition's state (0 when none): compared with broker epochs. */
  partitionStateRevision(topic: string, partition: number): number {
    return this.mirror.get(this.keys.partition(topic, partition))?.modRevision ?? 0;
  }
  /** Every partition state in the view. */
  partitionStates(): PartitionStateRecord[] {
    return [...this.states.values()];
  }
  /** Registered brokers, by node id. */
  brokers(): BrokerRegistration[] {
    return [...this.registrations.values()].sort((a, b) => a.nodeId - b.nodeId);
  }
  /** The registration of broker `nodeId`, or undefined. */
  broker(nodeId: number): BrokerRegistration | undefined {
    return this.registrations.get(nodeId);
  }
  /** This broker's epoch, or -1 while it is not registered (or fenced). */
  get brokerEpoch(): number {
    return this.session?.epoch ?? -1;
  }
  /** This broker's registration lease, or null while it is not registered. */
  get leaseId(): string | null {
    return this.session?.leaseId ?? null;
  }

  /**
   * The brokers whose replica of partition `partition` of topic `topicIdHex` is in a failed log dir, as their
   * offline-replica records say (KIP-112; a record lives as long as its broker's registration).
   */
  offlineReplicas(topicIdHex: string, partition: number): readonly number[] {
    return this.offline.of(topicIdHex, partition);
  }
  /** Every broker's offline-replica record. */
  offlineReplicaRecords(): OfflineReplicasRecord[] {
    return this.offline.all();
  }

  /**
   * This broker's replica of the partition is offline (its log dir failed, KIP-112): publishes it in this broker's
   * offline-replica record, under its registration lease (written with the registration when there is none yet).
   * Calls in a burst (every partition of a failed dir) share one write; a write etcd fails is tried again.
   */
  publishOfflineReplica(topicIdHex: string, partition: number): Promise<void> {
    const key = `${topicIdHex}/${partition}`;
    if (this.ownOffline.has(key)) return this.offlineWrite ?? Promise.resolve();
    this.ownOffline.add(key);
    this.offlineReported = true;
    return this.writeOfflineRecord();
  }

  /**
   * This broker holds the partition's replica on a working log dir again (it was reassigned away from the failed dir
   * and back, so the replica was created anew): drops it from the offline-replica record, which the controller reads
   * as 'never in the ISR, never leader' (as Kafka's controller takes a replica assigned to an online dir as online).
   */
  withdrawOfflineReplica(topicIdHex: string, partition: number): Promise<void> {
    if (!this.ownOffline.delete(`${topicIdHex}/${partition}`)) return Promise.resolve();
    return this.writeOfflineRecord();
  }

  /**
   * This broker reported its replica of the partition offline (its log dir failed, KIP-112) since it started, whether
   * or not the record has reached etcd yet.
   */
  isOwnReplicaOffline(topicIdHex: string, partition: number): boolean {
    return this.ownOffline.size > 0 && this.ownOffline.has(`${topicIdHex}/${partition}`);
  }

  /** Writes this broker's offline-replica record once every earlier write is done (one write for a burst of calls). */
  private writeOfflineRecord(): Promise<void> {
    this.offlineWrite ??= this.enqueue(async () => {
      this.offlineWrite = null; // what is added from now on needs another write
      try {
        const revision = (await this.session?.writeOfflineReplicas()) ?? -1;
        if (revision >= 0) await this.mirror.waitFor(revision);
      } catch {
        // etcd unreachable: write it again after a pause (a re-registration meanwhile writes it too)
        if (!this.closed && this.offlineRetry === null) {
          this.offlineRetry = this.clock.setTimer(() => {
            this.offlineRetry = null;
            if (!this.closed) void this.writeOfflineRecord();
          }, OFFLINE_REPLICAS_RETRY_BACKOFF_MS);
        }
      }
    });
    return this.offlineWrite;
  }

  /** This broker's offline-replica record as stored, or null while none of its replicas is offline. */
  private ownOfflineRecord(nodeId: number): string | null {
    if (this.ownOffline.size === 0) return null;
    const partitions = [...this.ownOffline].map((k) => {
      const slash = k.lastIndexOf("/");
      return { topicIdHex: k.slice(0, slash), partition: Number(k.slice(slash + 1)) };
    });
    const record: OfflineReplicasRecord = { nodeId, partitions };
    return JSON.stringify(record);
  }

  /** The dynamic config overrides of a broker, the cluster default ("") or a group, or undefined when none. */
  configRecord(resource: ConfigRecord["resource"], name: string): ConfigRecord | undefined {
    return this.configRecords.get(this.keys.config(resource, name));
  }

  /** Every config record of one resource kind. */
  configRecordsOf(resource: ConfigRecord["resource"]): ConfigRecord[] {
    return [...this.configRecords.values()].filter((c) => c.resource === resource);
  }

  /** Replaces a resource's dynamic config overrides (an empty set removes the record). */
  putConfigRecord(record: ConfigRecord): Promise<void> {
    return this.enqueue(async () => {
      const key = this.keys.config(record.resource, record.name);
      const r = Object.keys(record.configs).length > 0
        ? await this.client.txn([], [{ put: { key, value: JSON.stringify(record) } }])
        : await this.client.txn([{ key, target: "CREATE", result: "GREATER", value: 0 }], [{ delete: { key } }]);
      if (r.succeeded) await this.mirror.waitFor(r.revision); // a delete of nothing wrote nothing to wait for
    });
  }

  /** Calls `listener` for every later change; returns the function that stops it. */
  watch(listener: MetadataListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The cluster's id: `candidate` when this call writes it first (create-if-absent), else the id already stored,
   * which every later broker adopts.
   */
  async adoptClusterId(candidate: string): Promise<string> {
    const key = this.keys.clusterId;
    const r = await this.client.txn([{ key, target: "CREATE", result: "EQUAL", value: 0 }], [{ put: { key, value: candidate } }], [{ range: { key } }]);
    if (r.succeeded) return candidate;
    const kv = r.results[0]?.kvs[0];
    if (kv === undefined) throw new Error("etcd answered no cluster id although the key exists");
    return kvText(kv);
  }

  /**
   * Reserves `size` producer ids for this broker, cluster-wide (Kafka's AllocateProducerIds), none below `floor`:
   * moves the counter by compare-and-set and answers the first reserved id. Rejects with the retriable
   * EtcdUnavailableError while etcd does not answer.
   */
  async reserveProducerIds(size: bigint, floor = 0n): Promise<bigint> {
    const key = this.keys.producerIdsNext;
    for (;;) {
      const kv = await this.client.get(key);
      const stored = kv === null ? 0n : BigInt(kvText(kv));
      const first = stored > floor ? stored : floor;
      const guard: Compare = kv === null ? { key, target: "CREATE", result: "EQUAL", value: 0 } : { key, target: "MOD", result: "EQUAL", value: kv.modRevision };
      const r = await this.client.txn([guard], [{ put: { key, value: String(first + size) } }]);
      if (r.succeeded) return first;
    }
  }

  /** Creates a topic and its partition states (topic key absent, else TOPIC_ALREADY_EXISTS). */
  async createTopic(topic: TopicRecord, partitions: readonly PartitionStateRecord[]): Promise<void> {
    if (!(await this.createTopicGuarded([], topic, partitions))) throw new Error("unreachable: no extra guard to fail");
  }

  /**
   * {@link createTopic} that also requires `guard` (the controller epoch); false when the guard failed. A topic of
   * up to ETCD_MAX_TXN_OPS - 1 partitions is one txn; a larger one writes its partitions in txns first and the topic
   * record last, so the topic appears only complete (partition states may be seen a moment before it).
   */
  createTopicGuarded(guard: Compare[], topic: TopicRecord, partitions: readonly PartitionStateRecord[]): Promise<boolean> {
    return this.enqueue(async () => {
      assertPartitionsOf(topic, partitions);
      const topicKey = this.keys.topic(topic.name);
      const compares: Compare[] = [...guard, { key: topicKey, target: "CREATE", result: "EQUAL", value: 0 }];
      const puts: TxnOp[] = partitions.map((p) => ({ put: { key: this.keys.partition(p.topic, p.partition), value: encodePartitionState(p) } }));
      const topicPut: TxnOp = { put: { key: topicKey, value: JSON.stringify(topic) } };
      const steps: TxnOp[][] = [];
      if (puts.length < ETCD_MAX_TXN_OPS) steps.push([...puts, topicPut]);
      else {
        // clears what an interrupted earlier attempt left (etcd refuses a delete and a put of one key in one txn)
        steps.push([{ delete: { key: this.keys.topicPartitions(topic.name), prefix: true } }]);
        for (let i = 0; i < puts.length; i += ETCD_MAX_TXN_OPS) steps.push(puts.slice(i, i + ETCD_MAX_TXN_OPS));
        steps.push([topicPut]);
      }
      let revision = 0;
      for (const ops of steps) {
        const r = await this.client.txn(compares, ops, [{ range: { key: topicKey } }]);
        if (!r.succeeded) {
          if (r.results[0]?.kvs.length) throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${topic.name}' already exists.`);
          return false;
        }
        revision = r.revision;
      }
      await this.mirror.waitFor(revision);
      return true;
    });
  }

  /** Replaces a topic record (same name and id) and adds new partition states. */
  async updateTopic(topic: TopicRecord, addedPartitions: readonly PartitionStateRecord[]): Promise<void> {
    if (!(await this.updateTopicGuarded([], topic, addedPartitions))) throw new Error("unreachable: no extra guard to fail");
  }

  /** {@link updateTopic} that also requires `guard` (the controller epoch); false when the guard failed. */
  updateTopicGuarded(guard: Compare[], topic: TopicRecord, addedPartitions: readonly PartitionStateRecord[]): Promise<boolean> {
    return this.enqueue(async () => {
      assertPartitionsOf(topic, addedPartitions);
      if (addedPartitions.length + 1 > ETCD_MAX_TXN_OPS) {
        throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `at most ${ETCD_MAX_TXN_OPS - 1} partitions can be added at once`);
      }
      const topicKey = this.keys.topic(topic.name);
      for (let attempt = 0; attempt < UPDATE_TOPIC_ATTEMPTS; attempt++) {
        const kv = await this.client.get(topicKey);
        if (!kv || (JSON.parse(kvText(kv)) as TopicRecord).idHex !== topic.idHex) {
          throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${topic.name}' does not exist.`);
        }
        const compares: Compare[] = [...guard, { key: topicKey, target: "MOD", result: "EQUAL", value: kv.modRevision }];
        const ops: TxnOp[] = [{ put: { key: topicKey, value: JSON.stringify(topic) } }];
        for (const p of addedPartitions) {
          const key = this.keys.partition(p.topic, p.partition);
          compares.push({ key, target: "CREATE", result: "EQUAL", value: 0 });
          ops.push({ put: { key, value: encodePartitionState(p) } });
        }
        const r = await this.client.txn(compares, ops, [{ range: { key: topicKey } }]);
        if (r.succeeded) {
          await this.mirror.waitFor(r.revision);
          return true;
        }
        // The topic changed under us: read it again. Unchanged: the guard failed, or a partition already exists.
        if (r.results[0]?.kvs[0]?.modRevision !== kv.modRevision) continue;
        if (guard.length > 0) return false;
        throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `some of the partitions added to '${topic.name}' already exist`);
      }
      throw new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `topic '${topic.name}' kept changing under the update`);
    });
  }


  /** Removes a topic and its partition states. */
  async deleteTopic(name: string): Promise<void> {
    if (!(await this.deleteTopicGuarded([], name))) throw new Error("unreachable: no extra guard to fail");
  }

  /** {@link deleteTopic} that also requires `guard`; false when the guard failed. */
  deleteTopicGuarded(guard: Compare[], name: string): Promise<boolean> {
    return this.enqueue(async () => {
      const topicKey = this.keys.topic(name);
      const r = await this.client.txn(
        [...guard, { key: topicKey, target: "CREATE", result: "GREATER", value: 0 }],
        [{ delete: { key: topicKey } }, { delete: { key: this.keys.topicPartitions(name), prefix: true } }],
        [{ range: { key: topicKey } }],
      );
      if (!r.succeeded) {
        if (!r.results[0]?.kvs.length) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist.`);
        return false;
      }
      await this.mirror.waitFor(r.revision);
      return true;
    });
  }

  /** Writes `next` if the stored partition epoch is `expectedPartitionEpoch`. */
  compareAndSetPartition(next: PartitionStateRecord, expectedPartitionEpoch: number): Promise<boolean> {
    return this.compareAndSetPartitionGuarded([], next, expectedPartitionEpoch);
  }

  /** {@link compareAndSetPartition} that also requires `guard` (controller epoch, leader's broker epoch). */
  compareAndSetPartitionGuarded(guard: Compare[], next: PartitionStateRecord, expectedPartitionEpoch: number): Promise<boolean> {
    return this.enqueue(async () => {
      if (next.partitionEpoch !== expectedPartitionEpoch + 1) {
        throw new Error(`partition epoch of ${next.topic}-${next.partition} must be ${expectedPartitionEpoch + 1}, not ${next.partitionEpoch}`);
      }
      const key = this.keys.partition(next.topic, next.partition);
      let kv: KeyValue | null | undefined = this.mirror.get(key);
      if (!kv || decodePartitionState(kv, next.topic, next.partition).partitionEpoch !== expectedPartitionEpoch) {
        kv = await this.client.get(key); // the view may lag etcd: decide on etcd's copy
        if (!kv || decodePartitionState(kv, next.topic, next.partition).partitionEpoch !== expectedPartitionEpoch) return false;
      }
      // The mod revision pins the exact stored state whose epoch was checked.
      const r = await this.client.txn([...guard, { key, target: "MOD", result: "EQUAL", value: kv.modRevision }], [{ put: { key, value: encodePartitionState(next) } }]);
      if (!r.succeeded) return false;
      await this.mirror.waitFor(r.revision);
      return true;
    });
  }

  /**
   * Several partition compare-and-sets (each `next` against its expected epoch, as in
   * {@link compareAndSetPartitionGuarded}) in one txn: all apply or none does. At most ETCD_MAX_TXN_OPS - 1 changes.
   */
  compareAndSetPartitionsGuarded(guard: Compare[], changes: readonly { next: PartitionStateRecord; expected: number }[]): Promise<boolean> {
    return this.enqueue(async () => {
      if (changes.length + guard.length > ETCD_MAX_TXN_OPS) throw new Error(`at most ${ETCD_MAX_TXN_OPS - guard.length} partition changes per txn`);
      const compares: Compare[] = [...guard];
      const ops: TxnOp[] = [];
      for (const { next, expected } of changes) {
        if (next.partitionEpoch !== expected + 1) throw new Error(`partition epoch of ${next.topic}-${next.partition} must be ${expected + 1}, not ${next.partitionEpoch}`);
        const key = this.keys.partition(next.topic, next.partition);
        const kv = this.mirror.get(key);
        if (!kv || decodePartitionState(kv, next.topic, next.partition).partitionEpoch !== expected) return false;
        compares.push({ key, target: "MOD", result: "EQUAL", value: kv.modRevision });
        ops.push({ put: { key, value: encodePartitionState(next) } });
      }
      const r = await this.client.txn(compares, ops);
      if (!r.succeeded) return false;
      await this.mirror.waitFor(r.revision);
      return true;
    });
  }

  /**
   * Registers this broker under a new lease (its epoch is the key's create revision, whatever `brokerEpoch` says),
   * waiting out an older registration of the same node id; keeps it alive, and re-registers after a lost lease.
   */
  registerBroker(registration: BrokerRegistration): Promise<void> {
    return this.enqueue(async () => {
      if (this.session) throw new Error("registerBroker: this store already holds a registration");
      const session = new BrokerSession(this.client, this.keys, {
        nodeId: registration.nodeId,
        rack: registration.rack,
        endpoints: registration.endpoints,
        sessionTimeoutSeconds: this.opts.sessionTimeoutSeconds,
        clock: this.clock,
        random: this.opts.random,
        onRegistered: (epoch, lease) => {
          this.opts.onRegistered?.(epoch, lease);
          // A replica reported while this registration's txn was in flight is missing from the record it wrote, and
          // that report's own write found no registration to write under: write the record again under this one
          // (and one withdrawn meanwhile may still be in what it wrote).
          if (this.offlineReported) void this.writeOfflineRecord();
        },
        offlineReplicas: () => this.ownOfflineRecord(registration.nodeId),
        onFenced: (epoch) => {
          // etcd just answered (the lease is gone): a watch stream older than an outage may be dead, and this broker
          // must see what the controller changed meanwhile (new leaders) before it acts as a leader any longer.
          this.mirror.reconnect();
          this.opts.onFenced?.(epoch);
        },
      });
      this.session = session;
      try {
        await this.mirror.waitFor(await session.start());
      } catch (e) {
        this.session = null;
        throw e;
      }
    });
  }

  /**
   * Marks this broker's registration as in a controlled shutdown (the controller then moves its leaderships and
   * takes it out of the ISRs); resolves true once the view shows the mark, false when not registered.
   */
  beginControlledShutdown(): Promise<boolean> {
    return this.enqueue(async () => {
      const revision = (await this.session?.markControlledShutdown()) ?? -1;
      if (revision < 0) return false;
      await this.mirror.waitFor(revision);
      return true;
    });
  }

  /** Ends this broker's registration (controlled shutdown); other node ids are not this store's to remove. */
  unregisterBroker(nodeId: number): Promise<void> {
    return this.enqueue(async () => {
      const s = this.session;
      if (!s || s.nodeId !== nodeId) return;
      this.session = null;
      await s.stop();
    });
  }

  /** Runs `step` after every earlier write; a failed step does not stop later ones. */
  private enqueue<T>(step: () => Promise<T>): Promise<T> {
    const run = this.queue.then(step);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Applies watched events to the decoded view, then tells the listeners, in revision order. */
  private apply(events: readonly WatchEvent[], revision: number): void {
    const changes: MetadataChange[] = [];
    for (const e of events) {
      const key = e.kv.key;
      const version = e.kv.modRevision || revision;
      const put = e.type === "put";
      if (key.startsWith(this.keys.topics)) {
        const name = key.slice(this.keys.topics.length);
        const value = put ? (JSON.parse(kvText(e.kv)) as TopicRecord) : null;
        if (value) this.topicsByName.set(name, value);
        else this.topicsByName.delete(name);
        changes.push({ kind: "topic", version, name, value });
      } else if (key.startsWith(this.keys.brokers)) {
        const nodeId = Number(key.slice(this.keys.brokers.length));
        const value = put ? decodeBroker(e.kv) : null;
        if (value) this.registrations.set(nodeId, value);
        else this.registrations.delete(nodeId);
        changes.push({ kind: "broker", version, nodeId, value });
      } else if (key.startsWith(this.keys.offlineReplicas)) {
        const nodeId = Number(key.slice(this.keys.offlineReplicas.length));
        const value = put ? (JSON.parse(kvText(e.kv)) as OfflineReplicasRecord) : null;
        this.offline.apply(nodeId, value);
        changes.push({ kind: "offline-replicas", version, nodeId, value });
      } else if (key.startsWith(this.keys.configs)) {
        const id = this.keys.parseConfigKey(key);
        if (!id) continue;
        const value = put ? (JSON.parse(kvText(e.kv)) as ConfigRecord) : null;
        if (value) this.configRecords.set(key, value);
        else this.configRecords.delete(key);
        changes.push({ kind: "config", version, resource: id.resource as ConfigRecord["resource"], name: id.name, value });
      } else {
        const id = this.keys.parsePartitionKey(key);
        if (!id) continue;
        const value = put ? decodePartitionState(e.kv, id.topic, id.partition) : null;
        if (value) this.states.set(partitionKey(id.topic, id.partition), value);
        else this.states.delete(partitionKey(id.topic, id.partition));
        changes.push({ kind: "partition", version, topic: id.topic, partition: id.partition, value });
      }
    }
    for (const c of changes) for (const l of this.listeners) l(c);
  }
}
