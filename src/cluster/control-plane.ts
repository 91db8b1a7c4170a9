/**
 * One broker's part of the cluster control plane, assembled: the etcd metadata store (its view, its writes, and
 * the broker's registration under a lease), the controller election bound to that lease, and the controller that
 * acts while this broker is elected. A lost lease fences the broker (it stops campaigning and resigns) until its
 * registration is renewed under a new epoch. Settings use Kafka's names where Kafka has one.
 */
import type { Clock } from "../platform/clock.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { systemClock } from "../platform/clock.ts";
import { systemRandom, type RandomSource } from "../platform/random.ts";
import { ClusterKeys, DEFAULT_ETCD_ROOT } from "./cluster-keys.ts";
import { ClusterController, growthReplicationFactor, manualPartitionStates, newTopicStates, placementBrokers, type CreateTopicRequest } from "./controller.ts";
import { NO_LEADER, initialPartitionState } from "./partition-state.ts";
import { assignReplicas } from "./replica-assignment.ts";
import { alterPartitionIsr } from "./alter-partition.ts";
import { electLeaders, type ElectionResult } from "./leader-election.ts";
import { cancelReassignment, checkTarget, startReassignment } from "./reassignment.ts";
import type { PartitionStateRecord } from "./metadata-store.ts";
import { ControllerElection } from "./controller-election.ts";
import { EtcdClient, ETCD_REQUEST_TIMEOUT_MS } from "./etcd-client.ts";
import { EtcdMetadataStore } from "./etcd-metadata-store.ts";
import type { HttpTransport } from "../platform/http-client.ts";

/** Attempts of a reassignment write that keeps losing its compare-and-set to concurrent partition changes. */
export const REASSIGNMENT_CAS_ATTEMPTS = 10;
/** How many lagging partitions a not-ready answer names. */
const READINESS_PARTITIONS_NAMED = 5;

/** Kafka's default `broker.session.timeout.ms`. */
export const DEFAULT_BROKER_SESSION_TIMEOUT_MS = 9_000;

/** What the control plane of one broker needs. */
export interface ControlPlaneSettings {
  /** `metadata.etcd.endpoints`: etcd client URLs such as `http://127.0.0.1:2379`. */
  endpoints: string[];
  /** Key root in etcd (one cluster per root). */
  root?: string;
  /** `node.id`. */
  nodeId: number;
  /** `broker.session.timeout.ms`: the registration lease TTL (rounded up to whole seconds, at least 1). */
  sessionTimeoutMs?: number;
  /** `unclean.leader.election.enable` broker default. */
  uncleanLeaderElectionEnable?: boolean;
  /** `auto.leader.rebalance.enable` with `leader.imbalance.per.broker.percentage` and the check interval; null: off. */
  autoLeaderRebalance?: { imbalancePercentage: number; checkIntervalMs: number } | null;
  /** The controller gave partitions back to their preferred leaders by itself. */
  onRebalanced?(elected: ElectionResult[]): void;
  /** Whether this broker may become controller (default true). */
  controllerCandidate?: boolean;
  /** Deadline of each etcd request, ms. */
  requestTimeoutMs?: number;
  /** Clock (keep-alives, watches, retries). */
  clock?: Clock;
  /** Randomness (replica placement, incarnation ids). */
  random?: RandomSource;
  /** How etcd's JSON gateway is reached (default: `fetch`; the simulation passes its simulated etcd). */
  transport?: HttpTransport;
  /** The broker lost its lease (fenced at `epoch`); it registers again by itself. */
  onFenced?(epoch: number): void;
  /** The broker holds a registration with `epoch` (first time and after every renewal). */
  onRegistered?(epoch: number): void;
  /** This broker became the active controller with controller epoch `epoch`. */
  onElected?(epoch: number): void;
  /** This broker stopped being the active controller. */
  onResigned?(epoch: number): void;
  /** The active controller changed (`controllerId` -1: none), as this broker's watch saw it. */
  onControllerChange?(controllerId: number): void;
}

/** One broker's control plane. */
export class ControlPlane {
  /** The metadata store (the broker's MetadataStore in cluster mode). */
  readonly store: EtcdMetadataStore;
  /** The controller election as this broker sees it. */
  readonly election: ControllerElection;
  /** The controller (acts only while elected). */
  readonly controller: ClusterController;

  /** This broker's `node.id`. */
  readonly nodeId: number;
  private readonly random: RandomSource;
  private readonly clock: Clock;

  private constructor(nodeId: number, store: EtcdMetadataStore, election: ControllerElection, controller: ClusterController, random: RandomSource, clock: Clock) {
    this.nodeId = nodeId;
    this.random = random;
    this.clock = clock;
    this.store = store;
    this.election = election;
    this.controller = controller;
  }

  /**
   * Connects to etcd, loads the metadata view and starts watching and campaigning (the broker then registers
   * through `store.registerBroker`). Rejects with the retriable EtcdUnavailableError when etcd does not answer.
   */
  static async start(s: ControlPlaneSettings): Promise<ControlPlane> {
    const clock = s.clock ?? systemClock;
    const client = new EtcdClient({ endpoints: s.endpoints, requestTimeoutMs: s.requestTimeoutMs ?? ETCD_REQUEST_TIMEOUT_MS, transport: s.transport, clock });
    const keys = new ClusterKeys(s.root ?? DEFAULT_ETCD_ROOT);
    let controller: ClusterController | null = null;
    const election = new ControllerElection(client, keys, {
      nodeId: s.nodeId,
      candidate: s.controllerCandidate ?? true,
      clock,
      onElected: (epoch) => {
        controller?.activated();
        s.onElected?.(epoch);
      },
      onResigned: (epoch) => s.onResigned?.(epoch),
      onChange: (view) => s.onControllerChange?.(view.controllerId),
    });
    const store = new EtcdMetadataStore(client, keys, {
      sessionTimeoutSeconds: Math.max(1, Math.ceil((s.sessionTimeoutMs ?? DEFAULT_BROKER_SESSION_TIMEOUT_MS) / 1000)),
      clock,
      random: s.random,
      onFenced: (epoch) => {
        election.setLease(null);
        s.onFenced?.(epoch);
      },
      onRegistered: (epoch, lease) => {
        election.setLease(lease);
        s.onRegistered?.(epoch);
      },
    });
    controller = new ClusterController(store, election, { uncleanLeaderElectionEnable: s.uncleanLeaderElectionEnable, random: s.random, clock, autoLeaderRebalance: s.autoLeaderRebalance, onRebalanced: s.onRebalanced });
    await store.start();
    controller.start();
    await election.start();
    return new ControlPlane(s.nodeId, store, election, controller, s.random ?? systemRandom, clock);
  }

  /** The active controller's node id, or -1 when there is none (Metadata's controller_id). */
  get controllerId(): number {
    return this.election.current.controllerId;
  }

  /** Resolves once this broker's watch knows an active controller (after registering, its campaign or another's). */
  controllerKnown(): Promise<void> {
    return this.election.controllerKnown();
  }

  /**
   * Creates a topic in the cluster. On the active controller, the controller does it (its placement, fenced by the
   * controller epoch). Elsewhere this broker writes it itself with the controller's placement function over the
   * registered brokers, as a create-if-absent etcd txn (not fenced by the controller epoch; CreateTopics is not
   * forwarded). INVALID_REPLICATION_FACTOR when it exceeds the registered brokers; a manual assignment is checked as
   * Kafka checks it (INVALID_REPLICA_ASSIGNMENT) and kept as given, its first active replica leading.
   */
  async createTopic(req: CreateTopicRequest): Promise<void> {
    if (this.election.isActive) {
      await this.controller.createTopic(req);
      return;
    }
    const states = newTopicStates(req, this.store.brokers(), placementBrokers(this.store), this.random);
    await this.store.createTopic({ name: req.name, idHex: req.idHex, partitions: req.partitions, replicationFactor: req.replicationFactor, configs: req.configs ?? {}, createdAtMs: this.clock.nowMs() }, states);
  }

  /** Grows a topic to `count` partitions, placed like {@link ControlPlane.createTopic} places them. */
  async createPartitions(name: string, count: number, manual: number[][] | null = null): Promise<void> {
    if (this.election.isActive) {
      await this.controller.createPartitions(name, count, manual);
      return;
    }
    const topic = this.store.topic(name);
    if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist.`);
    const factor = growthReplicationFactor(topic, this.store.partitionState(name, 0));
    const added =
      manual !== null
        ? manualPartitionStates(name, manual, factor, topic.partitions, this.store.brokers())
        : assignReplicas(placementBrokers(this.store), count - topic.partitions, factor, this.random, topic.partitions).map((replicas, i): PartitionStateRecord => ({ topic: name, partition: topic.partitions + i, ...initialPartitionState(replicas) }));
    await this.store.updateTopic({ ...topic, partitions: count }, added);
  }

  /**
   * A partition leader's ISR change (Kafka's AlterPartition), fenced by this broker's epoch and the partition epoch
   * it saw, and by the broker epochs joining replicas fetched with (`joiningEpochs`): the Kafka error code (NONE
   * when written).
   */
  async alterIsr(state: PartitionStateRecord, isr: number[], joiningEpochs?: ReadonlyMap<number, number>): Promise<number> {
    const r = await alterPartitionIsr(this.store, state.topic, state.partition, this.store.brokerEpoch, { leaderId: state.leader, leaderEpoch: state.leaderEpoch, partitionEpoch: state.partitionEpoch, isr }, joiningEpochs);
    return r.error;
  }

  /**
   * Starts, replaces or (with `target` null) cancels the reassignment of one partition (AlterPartitionReassignments):
   * a compare-and-set on the partition epoch from any broker, retried on a lost race; the controller completes the
   * move once the target replicas are in sync. Throws a KafkaError (UNKNOWN_TOPIC_OR_PARTITION,
   * INVALID_REPLICA_ASSIGNMENT, NO_REASSIGNMENT_IN_PROGRESS, ...).
   */
  async alterReassignment(topic: string, partition: number, target: number[] | null, allowReplicationFactorChange = true): Promise<void> {
    for (let attempt = 0; attempt < REASSIGNMENT_CAS_ATTEMPTS; attempt++) {
      const s = this.store.partitionState(topic, partition);
      if (!s || !this.store.topic(topic)) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Partition ${topic}-${partition} does not exist.`);
      const live = new Set(this.store.brokers().map((b) => b.nodeId));
      let next: PartitionStateRecord | null;
      if (target === null) next = cancelReassignment(s, live);
      else {
        checkTarget(s, target, live, allowReplicationFactorChange);
        next = startReassignment(s, target, live);
      }
      if (next === null || (await this.store.compareAndSetPartition(next, s.partitionEpoch))) return;
    }
    throw new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `partition ${topic}-${partition} kept changing under the reassignment`);
  }

  /**
   * Why this broker is not ready to serve in the cluster (`/v1/ready`), or null: it must hold its registration (not
   * fenced), hold none of its replicas in a failed log dir (KIP-112: such a replica never catches up until the broker
   * restarts with a working disk, so that is the reason given), and be in the ISR of every partition it follows that
   * has a leader (a restarted broker is ready once it has caught up, so a rolling restart can wait for it before
   * stopping the next one).
   */
  readinessProblem(): string | null {
    if (this.store.brokerEpoch < 0) return "not registered in the cluster metadata (etcd): registering or fenced";
    const offline: string[] = [];
    const behind: string[] = [];
    for (const s of this.store.partitionStates()) {
      if (!s.replicas.includes(this.nodeId)) continue;
      const idHex = this.store.topic(s.topic)?.idHex;
      if (idHex !== undefined && this.store.isOwnReplicaOffline(idHex, s.partition)) offline.push(`${s.topic}-${s.partition}`);
      else if (s.leader !== NO_LEADER && s.leader !== this.nodeId && !s.isr.includes(this.nodeId)) behind.push(`${s.topic}-${s.partition}`);
    }
    if (offline.length > 0) return `log dir failed: ${offline.length} replica(s) here are offline (${named(offline)}); restart the broker with a working disk`;
    if (behind.length === 0) return null;
    return `catching up: not yet in the ISR of ${behind.length} partition(s) it follows (${named(behind)})`;
  }

  /**
   * ElectLeaders (API 43) of `type` for `targets` (null: every partition, leaving out those that need none): on the
   * active controller fenced by its epoch, elsewhere by the partition epochs alone.
   */
  electLeaders(type: number, targets: readonly { topic: string; partition: number }[] | null): Promise<ElectionResult[]> {
    if (this.election.isActive) return this.controller.electLeaders(type, targets);
    return electLeaders(this.store, [], type, targets);
  }

  /**
   * Partitions this broker leads that another live ISR member (not itself shutting down) could lead: what a
   * controlled shutdown waits to see moved.
   */
  movableLeaderships(): PartitionStateRecord[] {
    const me = this.store.brokerEpoch >= 0 ? this.nodeId : -1;
    const eligible = new Set(this.store.brokers().filter((b) => !b.inControlledShutdown && b.nodeId !== me).map((b) => b.nodeId));
    return this.store.partitionStates().filter((p) => p.leader === me && p.isr.some((r) => eligible.has(r)));
  }

  /**
   * Kafka's controlled shutdown: marks this broker's registration so that the controller moves its leaderships to
   * other ISR members and takes it out of the ISRs, then waits until this broker's view shows none it could hand
   * over (partitions with no other live ISR member stay led until the broker is gone). Each of `maxRetries`
   * attempts (`controlled.shutdown.max.retries`) waits up to `retryBackoffMs` (`controlled.shutdown.retry.backoff.ms`)
   * and reports what is still led; `signal` (a second SIGTERM) ends the wait at once. True when everything moved.
   */
  async controlledShutdown(opts: { maxRetries: number; retryBackoffMs: number; signal?: AbortSignal; onRemaining?(remaining: PartitionStateRecord[], attempt: number): void }): Promise<boolean> {
    if (!(await this.store.beginControlledShutdown())) return false;
    for (let attempt = 1; attempt <= opts.maxRetries; attempt++) {
      if (await this.waitForView(() => this.movableLeaderships().length === 0, opts.retryBackoffMs, opts.signal)) return true;
      opts.onRemaining?.(this.movableLeaderships(), attempt);
      if (opts.signal?.aborted) return false;
    }
    return false;
  }

  /** Resolves true as soon as `done()` holds for the metadata view, false after `timeoutMs` or on `signal`. */
  private waitForView(done: () => boolean, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = (v: boolean) => {
        stopWatching();
        this.clock.clearTimer(timer);
        signal?.removeEventListener("abort", onAbort);
        resolve(v);
      };
      const onAbort = () => finish(false);
      const stopWatching = this.store.watch(() => {
        if (done()) finish(true);
      });
      const timer = this.clock.setTimer(() => finish(done()), timeoutMs);
      signal?.addEventListener("abort", onAbort);
    });
  }

  /** Stops the controller, resigns, deregisters the broker and stops watching. */
  async close(): Promise<void> {
    this.controller.close();
    await this.election.close();
    await this.store.close();
  }
}

/** The first {@link READINESS_PARTITIONS_NAMED} of `partitions`, comma-separated ("..." when there are more). */
function named(partitions: readonly string[]): string {
  return `${partitions.slice(0, READINESS_PARTITIONS_NAMED).join(", ")}${partitions.length > READINESS_PARTITIONS_NAMED ? ", ..." : ""}`;
}
