/**
 * The active controller's work, on the etcd metadata store's view: creating and deleting topics (rack-aware replica
 * placement over the registered brokers) and keeping every partition led. When a broker's registration vanishes or
 * returns it elects leaders from the live ISR and drops dead brokers from ISRs (`reconcilePartition`; a broker that
 * re-registered with a new epoch before a pass saw it gone counts as gone for one pass: `liveIncarnations`); a broker in
 * a controlled shutdown loses its leaderships to other live ISR members and leaves the ISRs; and it completes
 * partition reassignments whose target replicas have all joined the ISR (`reassignment.ts`). Every write
 * is an etcd txn that compares the controller epoch (a deposed controller cannot write) and, for partitions, the
 * stored partition epoch (a concurrent ISR change wins; the controller decides again on the state it then sees).
 * A replica its broker reports in a failed log dir (KIP-112, `offline-replicas` records) counts as gone for its
 * partition: it leaves the ISR, and a partition it leads gets a new leader from the rest of the ISR.
 * It also runs Kafka's automatic leader rebalance (`auto.leader.rebalance.enable`). Only the broker holding the
 * election acts; the others answer NOT_CONTROLLER.
 */
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import type { Clock } from "../platform/clock.ts";
import { systemClock } from "../platform/clock.ts";
import { systemRandom, type RandomSource } from "../platform/random.ts";
import type { ControllerElection } from "./controller-election.ts";
import type { EtcdMetadataStore } from "./etcd-metadata-store.ts";
import type { BrokerRegistration, PartitionStateRecord, TopicRecord } from "./metadata-store.ts";
import { initialPartitionState, liveForState, liveIncarnations, reconcilePartition } from "./partition-state.ts";
import { assignReplicas, manualPartitionsPlacement, manualPlacementBrokers, manualTopicPlacement, type ManualPartition, type PlacementBroker } from "./replica-assignment.ts";
import { electLeaders, eligibleLeaders, ElectionType, withoutOfflineReplicas, type ElectionResult } from "./leader-election.ts";
import { completeReassignment } from "./reassignment.ts";

/** Kafka's topic config key for unclean election. */
export const UNCLEAN_LEADER_ELECTION = "unclean.leader.election.enable";
/** Partition changes the controller writes in one etcd txn (etcd allows 128 operations per txn). */
export const CONTROLLER_PARTITIONS_PER_TXN = 64;
/** Pause before a reconciliation pass that failed (etcd unreachable) runs again, ms. */
export const CONTROLLER_RETRY_BACKOFF_MS = 250;

/** Controller settings. */
export interface ControllerOptions {
  /** Broker default of `unclean.leader.election.enable` (Kafka: false); topics may override it. */
  uncleanLeaderElectionEnable?: boolean;
  /** Randomness for replica placement. */
  random?: RandomSource;
  /** Clock for topic creation times and retries. */
  clock?: Clock;
  /** `auto.leader.rebalance.enable` (Kafka: true) with its threshold and interval; off when absent. */
  autoLeaderRebalance?: { imbalancePercentage: number; checkIntervalMs: number } | null;
  /** Told about each automatic rebalance (the partitions given back to their preferred leaders). */
  onRebalanced?(elected: ElectionResult[]): void;
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
  /**
   * CreateTopics `assignments`: the replicas of each partition, as the request names them (then `partitions` and
   * `replicationFactor` are what they give). Checked against the registered brokers where the topic is written.
   */
  assignment?: readonly ManualPartition[];
}

/**
 * The partition states of a new topic: the request's manual assignment (checked as Kafka checks it over the registered
 * brokers; the active replicas form the ISR, the first of them leads), else the placement over `placement` brokers.
 */
export function newTopicStates(req: CreateTopicRequest, registered: readonly BrokerRegistration[], placement: readonly PlacementBroker[], random: RandomSource): PartitionStateRecord[] {
  if (req.assignment !== undefined && req.assignment.length > 0) {
    const placed = manualTopicPlacement(req.assignment, manualPlacementBrokers(registered));
    if (placed.length !== req.partitions || placed[0].replicas.length !== req.replicationFactor) {
      throw new Error(`create topic ${req.name}: the request says ${req.partitions} partition(s) x ${req.replicationFactor} but its assignment gives ${placed.length} x ${placed[0].replicas.length}`);
    }
    return placed.map((p, partition): PartitionStateRecord => ({ topic: req.name, partition, ...initialPartitionState(p.replicas, p.isr) }));
  }
  return assignReplicas(placement, req.partitions, req.replicationFactor, random).map((replicas, partition): PartitionStateRecord => ({ topic: req.name, partition, ...initialPartitionState(replicas) }));
}

/** The states of partitions `first`.. of a topic of `replicationFactor` growing by `manual` (CreatePartitions `assignments`, Kafka's checks). */
export function manualPartitionStates(topic: string, manual: readonly (readonly number[])[], replicationFactor: number, first: number, registered: readonly BrokerRegistration[]): PartitionStateRecord[] {
  return manualPartitionsPlacement(manual, replicationFactor, first, manualPlacementBrokers(registered)).map((p, i): PartitionStateRecord => ({ topic, partition: first + i, ...initialPartitionState(p.replicas, p.isr) }));
}

/**
 * The replica count a topic's new partitions get (CreatePartitions): its first partition's, as Kafka's controller
 * takes it (a reassignment may have changed it since the topic was created), else the topic's creation factor.
 */
export function growthReplicationFactor(topic: TopicRecord, first: PartitionStateRecord | undefined): number {
  return first !== undefined && first.replicas.length > 0 ? first.replicas.length : topic.replicationFactor;
}

/** Brokers that new replicas are placed on: registered and not in a controlled shutdown (Kafka's usable brokers). */
export function placementBrokers(store: Pick<EtcdMetadataStore, "brokers">): PlacementBroker[] {
  return store.brokers().filter((b) => !b.inControlledShutdown).map((b) => ({ id: b.nodeId, rack: b.rack }));
}

/** The cluster controller (acts only while its broker holds the election). */
export class ClusterController {
  private readonly store: EtcdMetadataStore;
  private readonly election: ControllerElection;
  private readonly unclean: boolean;
  private readonly random: RandomSource;
  private readonly clock: Clock;
  private readonly creating = new Set<string>();
  private stopWatching: (() => void) | null = null;
  private reconciling = false;
  private again = false;
  private retryTimer: unknown = null;
  private rebalanceTimer: unknown = null;
  private readonly rebalance: ControllerOptions["autoLeaderRebalance"];
  private readonly onRebalanced: ControllerOptions["onRebalanced"];
  private idle: (() => void)[] = [];
  /** Registration epochs of the brokers at this controller's last complete pass (a changed one is a new incarnation). */
  private readonly seenEpochs = new Map<number, number>();

  constructor(store: EtcdMetadataStore, election: ControllerElection, opts: ControllerOptions = {}) {
    this.store = store;
    this.election = election;
    this.unclean = opts.uncleanLeaderElectionEnable ?? false;
    this.random = opts.random ?? systemRandom;
    this.clock = opts.clock ?? systemClock;
    this.rebalance = opts.autoLeaderRebalance ?? null;
    this.onRebalanced = opts.onRebalanced;
  }

  /** Starts reacting to metadata changes (reconciles whenever this broker is the active controller). */
  start(): void {
    this.stopWatching = this.store.watch(() => this.poke());
    this.poke();
    this.scheduleRebalanceCheck();
  }

  /** Stops reacting. */
  close(): void {
    this.stopWatching?.();
    if (this.retryTimer !== null) this.clock.clearTimer(this.retryTimer);
    if (this.rebalanceTimer !== null) this.clock.clearTimer(this.rebalanceTimer);
    this.rebalanceTimer = null;
  }

  /** Runs elections of `type` (ElectLeaders) fenced by the controller epoch; `targets` null: every partition. */
  electLeaders(type: number, targets: readonly { topic: string; partition: number }[] | null): Promise<ElectionResult[]> {
    return electLeaders(this.store, [this.election.fence(this.activeEpoch())], type, targets);
  }

  /**
   * Kafka's automatic leader rebalance, one check: for every broker whose share of its preferred partitions led by
   * others exceeds `leader.imbalance.per.broker.percentage`, and that is live and not shutting down, a preferred
   * election of those partitions (those whose preferred replica is in the ISR). Returns what it elected.
   */
  async rebalanceLeaders(imbalancePercentage: number): Promise<ElectionResult[]> {
    if (!this.election.isActive) return [];
    const eligible = eligibleLeaders(this.store);
    const byPreferred = new Map<number, PartitionStateRecord[]>();
    for (const s of this.store.partitionStates()) {
      const list = byPreferred.get(s.replicas[0]) ?? [];
      list.push(s);
      byPreferred.set(s.replicas[0], list);
    }
    const targets: { topic: string; partition: number }[] = [];
    for (const [broker, list] of byPreferred) {
      const elsewhere = list.filter((s) => s.leader !== broker);
      if (!eligible.has(broker) || elsewhere.length * 100 <= imbalancePercentage * list.length) continue;
      for (const s of elsewhere) if (s.isr.includes(broker)) targets.push({ topic: s.topic, partition: s.partition });
    }
    if (targets.length === 0) return [];
    return (await this.electLeaders(ElectionType.PREFERRED, targets)).filter((r) => r.error === ErrorCode.NONE);
  }

  private scheduleRebalanceCheck(): void {
    const r = this.rebalance;
    if (!r) return;
    this.rebalanceTimer = this.clock.setTimer(() => {
      if (this.rebalanceTimer === null) return;
      this.rebalanceLeaders(r.imbalancePercentage).then(
        (elected) => elected.length > 0 && this.onRebalanced?.(elected),
        () => {}, // etcd unreachable or deposed: the next check tries again
      ).finally(() => {
        if (this.rebalanceTimer !== null) this.scheduleRebalanceCheck();
      });
    }, r.checkIntervalMs);
  }

  /** The election became active: reconcile what changed while another controller (or none) was in charge. */
  activated(): void {
    this.seenEpochs.clear(); // epochs seen in an earlier term say nothing of what another controller has handled since
    this.poke();
  }

  /** Registered (live) brokers, by id. */
  liveBrokers(): BrokerRegistration[] {
    return this.store.brokers();
  }

  /** Resolves once no reconciliation pass is running or pending. */
  settle(): Promise<void> {
    if (!this.reconciling) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  /** Creates a topic: places replicas over the live brokers (or as its manual assignment names them) and writes the topic and its partitions. */
  async createTopic(req: CreateTopicRequest): Promise<TopicRecord> {
    const epoch = this.activeEpoch();
    if (this.creating.has(req.name) || this.store.topic(req.name)) {
      throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${req.name}' already exists.`);
    }
    const states = newTopicStates(req, this.store.brokers(), placementBrokers(this.store), this.random);
    const record: TopicRecord = {
      name: req.name,
      idHex: req.idHex,
      partitions: req.partitions,
      replicationFactor: req.replicationFactor,
      configs: req.configs ?? {},
      createdAtMs: this.clock.nowMs(),
    };
    this.creating.add(req.name);
    try {
      if (!(await this.store.createTopicGuarded([this.election.fence(epoch)], record, states))) throw this.deposed();
      return record;
    } finally {
      this.creating.delete(req.name);
    }
  }

  /** Grows a topic to `count` partitions, placing the new ones like the first or on `manual` (CreatePartitions). */
  async createPartitions(name: string, count: number, manual: number[][] | null = null): Promise<TopicRecord> {
    const epoch = this.activeEpoch();
    const topic = this.store.topic(name);
    if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist.`);
    if (count <= topic.partitions) {
      throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `Topic currently has ${topic.partitions} partitions, which is higher than or equal to the requested ${count}.`);
    }
    const factor = growthReplicationFactor(topic, this.store.partitionState(name, 0));
    const states =
      manual !== null
        ? manualPartitionStates(name, manual, factor, topic.partitions, this.store.brokers())
        : assignReplicas(placementBrokers(this.store), count - topic.partitions, factor, this.random, topic.partitions).map((replicas, i): PartitionStateRecord => ({ topic: name, partition: topic.partitions + i, ...initialPartitionState(replicas) }));
    const grown: TopicRecord = { ...topic, partitions: count };
    if (!(await this.store.updateTopicGuarded([this.election.fence(epoch)], grown, states))) throw this.deposed();
    return grown;
  }

  /** Deletes a topic record and its partition states. */
  async deleteTopic(name: string): Promise<void> {
    if (!(await this.store.deleteTopicGuarded([this.election.fence(this.activeEpoch())], name))) throw this.deposed();
  }

  private activeEpoch(): number {
    if (!this.election.isActive) throw new KafkaError(ErrorCode.NOT_CONTROLLER, "this broker is not the active controller");
    return this.election.current.epoch;
  }

  private deposed(): KafkaError {
    return new KafkaError(ErrorCode.NOT_CONTROLLER, "this broker is no longer the controller");
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
        if (!(await this.reconcileOnce()) && this.retryTimer === null) {
          this.retryTimer = this.clock.setTimer(() => {
            this.retryTimer = null;
            this.poke();
          }, CONTROLLER_RETRY_BACKOFF_MS);
        }
      } while (this.again && this.election.isActive);
    } finally {
      this.reconciling = false;
      for (const r of this.idle.splice(0)) r();
    }
  }

  /**
   * One pass over every partition; false when etcd failed it (a timer retries). Changes go in txns of
   * CONTROLLER_PARTITIONS_PER_TXN; a batch that loses a compare is retried one partition at a time, so one
   * concurrent ISR change does not hold back the others.
   */
  private async reconcileOnce(): Promise<boolean> {
    if (!this.election.isActive) return true;
    const fence = [this.election.fence(this.election.current.epoch)];
    const registered = this.store.brokers();
    const { live, restarted } = liveIncarnations(registered, this.seenEpochs);
    const shuttingDown = new Set(this.store.brokers().filter((b) => b.inControlledShutdown).map((b) => b.nodeId));
    const changes: { next: PartitionStateRecord; expected: number }[] = [];
    let staleLeaders = false;
    for (const s of this.store.partitionStates()) {
      const liveForLeader = liveForState(s.leader, registered, live, this.store.partitionStateRevision(s.topic, s.partition));
      staleLeaders ||= liveForLeader !== live;
      // a replica in a failed log dir (KIP-112) counts as gone for this partition: out of the ISR, never its leader
      const liveHere = withoutOfflineReplicas(liveForLeader, this.store, s.topic, s.partition);
      // a partition whose leadership is settled may finish its reassignment (its target replicas all in sync)
      const next = reconcilePartition(s, liveHere, this.uncleanFor(s.topic), shuttingDown) ?? completeReassignment(s, liveHere);
      if (next) changes.push({ next, expected: s.partitionEpoch });
    }
    let allApplied = true;
    try {
      for (let i = 0; i < changes.length && this.election.isActive; i += CONTROLLER_PARTITIONS_PER_TXN) {
        const batch = changes.slice(i, i + CONTROLLER_PARTITIONS_PER_TXN);
        if (await this.store.compareAndSetPartitionsGuarded(fence, batch)) continue;
        // A lost CAS means that state changed under us; its watch event schedules another pass.
        for (const c of batch) if (this.election.isActive && !(await this.store.compareAndSetPartitionGuarded(fence, c.next, c.expected))) allApplied = false;
      }
    } catch {
      return false;
    }
    // A restarted broker counts as live from the next pass on, once this one has taken its old incarnation's roles.
    if (allApplied && this.election.isActive) {
      this.seenEpochs.clear();
      for (const b of registered) this.seenEpochs.set(b.nodeId, b.brokerEpoch);
      if (restarted.length > 0 || staleLeaders) this.again = true;
    }
    return true;
  }

  private uncleanFor(topic: string): boolean {
    const v = this.store.topic(topic)?.configs[UNCLEAN_LEADER_ELECTION];
    return v === undefined ? this.unclean : v === "true";
  }
}
