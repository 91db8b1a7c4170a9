/**
 * The active controller's work, on top of etcd: creating and deleting topics (rack-aware replica placement over the
 * registered brokers) and keeping every partition led. It watches broker registrations and partition states; when a
 * broker's registration vanishes or returns it elects leaders from the live ISR and drops dead brokers from ISRs
 * (`reconcilePartition`). Every write is one etcd txn that compares the controller epoch (a deposed controller
 * cannot write) and the partition key's mod revision (a concurrent ISR change wins, and the controller retries
 * on the state it then sees). Only the broker holding the election acts; the others answer NOT_CONTROLLER.
 */
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import type { Clock } from "../platform/clock.ts";
import { systemClock } from "../platform/clock.ts";
import { systemRandom, type RandomSource } from "../platform/random.ts";
import { kvText, type Compare, type EtcdClient, type TxnOp } from "./etcd-client.ts";
import { EtcdMirror } from "./etcd-watch.ts";
import { decodeBroker, decodePartitionState, encodePartitionState, type ClusterKeys, type RegisteredBroker } from "./cluster-keys.ts";
import type { ControllerElection } from "./controller-election.ts";
import { initialPartitionState, reconcilePartition, type PartitionState } from "./partition-state.ts";
import { assignReplicas } from "./replica-assignment.ts";
import type { TopicRecord } from "./metadata-store.ts";

/** etcd's default `--max-txn-ops`: operations one txn may carry. */
export const ETCD_MAX_TXN_OPS = 128;
/** Kafka's topic config key for unclean election. */
export const UNCLEAN_LEADER_ELECTION = "unclean.leader.election.enable";

/** Controller settings. */
export interface ControllerOptions {
  /** Broker default of `unclean.leader.election.enable` (Kafka: false); topics may override it. */
  uncleanLeaderElectionEnable?: boolean;
  /** Randomness for replica placement. */
  random?: RandomSource;
  /** Clock for topic creation times and the watches. */
  clock?: Clock;
}

/** What a topic creation asks. */
export interface CreateTopicRequest {
  /** Topic name (already validated by the caller). */
  name: string;
  /** Partition count. */
  partitions: number;
  /** Replication factor. */
  replicationFactor: number;
  /** Topic config overrides. */
  configs?: Record<string, string>;
  /** Topic id, 16 bytes as hex (the caller makes it). */
  idHex: string;
}

/** The cluster controller (acts only while its broker holds the election). */
export class ClusterController {
  private readonly client: EtcdClient;
  private readonly keys: ClusterKeys;
  private readonly election: ControllerElection;
  private readonly unclean: boolean;
  private readonly random: RandomSource;
  private readonly clock: Clock;
  private readonly brokersView: EtcdMirror;
  private readonly partitionsView: EtcdMirror;
  private readonly topicsView: EtcdMirror;
  private readonly creating = new Set<string>();
  private reconciling = false;
  private again = false;
  private idle: (() => void)[] = [];

  constructor(client: EtcdClient, keys: ClusterKeys, election: ControllerElection, opts: ControllerOptions = {}) {
    this.client = client;
    this.keys = keys;
    this.election = election;
    this.unclean = opts.uncleanLeaderElectionEnable ?? false;
    this.random = opts.random ?? systemRandom;
    this.clock = opts.clock ?? systemClock;
    this.brokersView = new EtcdMirror(client, keys.brokers, this.clock);
    this.partitionsView = new EtcdMirror(client, keys.partitions, this.clock);
    this.topicsView = new EtcdMirror(client, keys.topics, this.clock);
    for (const m of [this.brokersView, this.partitionsView, this.topicsView]) m.listen(() => this.poke());
  }

  /** Starts the watches; reconciles whenever this broker is the active controller. */
  async start(): Promise<void> {
    await Promise.all([this.brokersView.start(), this.partitionsView.start(), this.topicsView.start()]);
    this.poke();
  }

  /** Stops the watches. */
  close(): void {
    for (const m of [this.brokersView, this.partitionsView, this.topicsView]) m.close();
  }

  /** Registered (live) brokers, by id. */
  liveBrokers(): RegisteredBroker[] {
    return this.brokersView.entries().map(decodeBroker).sort((a, b) => a.nodeId - b.nodeId);
  }

  /** A partition's state as last seen, or undefined. */
  partitionState(topic: string, partition: number): PartitionState | undefined {
    const kv = this.partitionsView.get(this.keys.partition(topic, partition));
    return kv ? decodePartitionState(kv) : undefined;
  }

  /** Runs reconciliation now (when active) and resolves once no pass is running or pending. */
  settle(): Promise<void> {
    this.poke();
    if (!this.reconciling) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  /** Creates a topic: places replicas over the live brokers and writes the topic and its partitions. */
  async createTopic(req: CreateTopicRequest): Promise<TopicRecord> {
    const epoch = this.activeEpoch();
    if (this.creating.has(req.name) || this.topicsView.get(this.keys.topic(req.name))) {
      throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${req.name}' already exists.`);
    }
    const brokers = this.liveBrokers().map((b) => ({ id: b.nodeId, rack: b.rack }));
    const assignment = assignReplicas(brokers, req.partitions, req.replicationFactor, this.random);
    const record: TopicRecord = {
      name: req.name,
      idHex: req.idHex,
      partitions: req.partitions,
      replicationFactor: req.replicationFactor,
      configs: req.configs ?? {},
      createdAtMs: this.clock.nowMs(),
    };
    const topicKey = this.keys.topic(req.name);
    const guard: Compare[] = [this.election.fence(epoch), { key: topicKey, target: "CREATE", result: "EQUAL", value: 0 }];
    const puts: TxnOp[] = assignment.map((replicas, p) => ({ put: { key: this.keys.partition(req.name, p), value: encodePartitionState(initialPartitionState(replicas)) } }));
    this.creating.add(req.name);
    try {
      // Partitions first (in txns of at most ETCD_MAX_TXN_OPS), the topic record last: a topic is visible only
      // complete. The first txn clears what an interrupted earlier attempt may have left (etcd refuses a txn that
      // deletes and puts the same key, hence its own txn).
      const ops: TxnOp[][] = [[{ delete: { key: this.keys.topicPartitions(req.name), prefix: true } }]];
      for (let i = 0; i < puts.length; i += ETCD_MAX_TXN_OPS) ops.push(puts.slice(i, i + ETCD_MAX_TXN_OPS));
      ops.push([{ put: { key: topicKey, value: JSON.stringify(record) } }]);
      for (const txnOps of ops) {
        const r = await this.client.txn(guard, txnOps);
        if (!r.succeeded) await this.explainFailure(epoch, req.name);
      }
      return record;
    } finally {
      this.creating.delete(req.name);
    }
  }

  /** Deletes a topic record and its partition states. */
  async deleteTopic(name: string): Promise<void> {
    const epoch = this.activeEpoch();
    const topicKey = this.keys.topic(name);
    const r = await this.client.txn(
      [this.election.fence(epoch), { key: topicKey, target: "CREATE", result: "GREATER", value: 0 }],
      [{ delete: { key: topicKey } }, { delete: { key: this.keys.topicPartitions(name), prefix: true } }],
    );
    if (!r.succeeded) {
      if (!this.election.isActive) throw new KafkaError(ErrorCode.NOT_CONTROLLER, "this broker is no longer the controller");
      throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist.`);
    }
  }

  private activeEpoch(): number {
    if (!this.election.isActive) throw new KafkaError(ErrorCode.NOT_CONTROLLER, "this broker is not the active controller");
    return this.election.current.epoch;
  }

  /** A topic-creation txn failed: either the controller was deposed or the topic appeared. */
  private async explainFailure(epoch: number, name: string): Promise<never> {
    const kv = await this.client.get(this.keys.controller);
    if (!kv || kv.createRevision !== epoch) throw new KafkaError(ErrorCode.NOT_CONTROLLER, "this broker is no longer the controller");
    throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`);
  }

  private poke(): void {
    if (!this.election.isActive) return;
    if (this.reconciling) {
      this.again = true;
      return;
    }
    void this.reconcileLoop();
  }

  private async reconcileLoop(): Promise<void> {
    this.reconciling = true;
    try {
      do {
        this.again = false;
        await this.reconcileOnce();
      } while (this.again && this.election.isActive);
    } finally {
      this.reconciling = false;
      for (const r of this.idle.splice(0)) r();
    }
  }

  /** One pass: every partition whose state the live broker set changes is written by CAS. */
  private async reconcileOnce(): Promise<void> {
    if (!this.election.isActive) return;
    const epoch = this.election.current.epoch;
    const live = new Set(this.liveBrokers().map((b) => b.nodeId));
    for (const kv of this.partitionsView.entries()) {
      const id = this.keys.parsePartitionKey(kv.key);
      if (!id) continue;
      const next = reconcilePartition(decodePartitionState(kv), live, this.uncleanFor(id.topic));
      if (!next) continue;
      try {
        await this.client.txn(
          [this.election.fence(epoch), { key: kv.key, target: "MOD", result: "EQUAL", value: kv.modRevision }],
          [{ put: { key: kv.key, value: encodePartitionState(next) } }],
        );
        // A lost CAS means the state changed under us; its watch event schedules another pass.
      } catch {
        // etcd unreachable: the watch reconnecting (or the next change) brings another pass
        this.again = false;
        return;
      }
      if (!this.election.isActive) return;
    }
  }

  private uncleanFor(topic: string): boolean {
    const kv = this.topicsView.get(this.keys.topic(topic));
    const v = kv ? (JSON.parse(kvText(kv)) as TopicRecord).configs?.[UNCLEAN_LEADER_ELECTION] : undefined;
    return v === undefined ? this.unclean : v === "true";
  }
}
