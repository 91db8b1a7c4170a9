/**
 * The single-node broker: owns the topic table, the partition logs, the listener and the background timers, and
 * builds the per-API handlers. Handlers reach storage only through the {@link Topic}/{@link PartitionState}
 * objects kept here.
 */
import * as nodePath from "node:path";
import { systemClock, type Clock } from "../platform/clock.ts";
import { nodeFileSystem, type FileSystem } from "../platform/fs.ts";
import { type RandomSource, systemRandom } from "../platform/random.ts";
import { writeStderrLine } from "../platform/stderr.ts";
import { initCrc32c } from "../protocol/crc32c.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { initCompression, codecById } from "../compression/index.ts";
import { CodecPool, defaultCodecPoolThreads } from "../compression/codec-pool.ts";
import { type ConfigRecord, LocalMetadataStore, type MetadataChange, type MetadataStore, type PartitionStateRecord, type TopicRecord } from "../cluster/metadata-store.ts";
import { applyDynamicBrokerConfigs, cleanerOptionsFrom, mergeDynamicBrokerConfigs, rememberStaticBrokerSettings } from "./dynamic-configs.ts";
import { FlushRounds } from "../storage/flush-rounds.ts";
import { LogManager, isLogDirStartFailure } from "../storage/log-manager.ts";
import type { LogCleaner } from "../storage/log-cleaner.ts";
import { FileHandleCache, RESERVED_FDS, logOpenFilesBudget } from "../storage/file-handle-cache.ts";
import { openFilesLimit } from "../platform/process-limits.ts";
import { logConfigFromBrokerProperties, parseLogConfig, type LogConfig } from "../storage/log-config.ts";
import type { BrokerConfig } from "./config.ts";
import type { ApiHandler } from "./api-handler.ts";
import { resolveHost } from "../platform/net.ts";
import { listenerLimits, startKafkaListener, type KafkaListener, type ListenFn, type ListenerLimits } from "./kafka-listener.ts";
import { escapeLogText } from "./log-escape.ts";
import { topicNameProblem, isInternalTopic } from "./topic-names.ts";
import { randomUuid, uuidFromHex, uuidHex, uuidBase64 } from "../protocol/uuid.ts";
import { buildHandlers } from "./apis/index.ts";
import { ensureMetaProperties } from "./meta-properties.ts";
// Partitions (src/partition): log, producer state, epochs, high watermark and waiting requests of each partition.
import { Partition, type PartitionDeps } from "../partition/partition.ts";
// Replication (src/replication): followers fetch from their leaders in cluster mode.
import { ReplicaFetcher } from "../replication/replica-fetcher.ts";
import { LeaderChannel } from "../replication/leader-channel.ts";
import { interBrokerSecurity } from "../security/inter-broker.ts";
import { tcpDialer, type Dialer } from "../client/connection.ts";
import { listenerEndpoint } from "../cluster/cluster-endpoints.ts";
import type { CreateTopicRequest } from "../cluster/controller.ts";
import type { ElectionResult } from "../cluster/leader-election.ts";
import { checkTarget } from "../cluster/reassignment.ts";
import { manualPlacementBrokers, manualTopicPlacement, type ManualPartition } from "../cluster/replica-assignment.ts";
import { HighWatermarkCheckpoints, readHighWatermarks } from "../partition/high-watermark-checkpoint.ts";
import type { CheckpointEntry } from "../storage/checkpoint.ts";
import { ProducerIdAllocator } from "./producer-ids.ts";
import { FetchSessionCache } from "./fetch-sessions.ts";
import { GroupCoordinator } from "../group/group-coordinator.ts";
import { groupConfigFrom } from "../group/group-config.ts";
import { OffsetsTopicLog } from "../group/offsets-topic-log.ts";
import { OFFSETS_TOPIC } from "../group/offsets-topic-storage.ts";
import type { TopicMetadataSource } from "../group/consumer-group-coordinator.ts";
// Transactions (src/transactions): coordinator, `__transaction_state`, markers, aborted-transaction index.
import { TransactionCoordinator } from "../transactions/transaction-coordinator.ts";
import { transactionConfigFrom } from "../transactions/transaction-config.ts";
import { TRANSACTION_STATE_TOPIC, TransactionStateLog } from "../transactions/transaction-log.ts";
import { remoteMarkerSender } from "../transactions/remote-txn-markers.ts";
import { PartitionMarkerWriter } from "../transactions/txn-markers.ts";
// Metrics (src/http/metrics): plain counters kept when `http.listeners` is set.
import { BrokerMetrics } from "../http/metrics/broker-metrics.ts";
import { timedFileSystem } from "../platform/timed-fs.ts";
// Security (src/security): listeners with their protocols, TLS and SASL.
import { advertisedSpec, listenerDefs, validateListeners } from "../security/listeners.ts";
import { listenerSecurity, type ListenerSecurity } from "../security/listener-security.ts";
import { fetchGet, type HttpGet } from "../platform/http-client.ts";
import { ScramCredentialStore } from "../security/scram-credentials.ts";
import { AclStore } from "../security/acl-store.ts";
import { Authorizer, parseSuperUsers } from "../security/acl.ts";
import { ClientQuotaStore } from "../security/client-quotas.ts";
import { QuotaRates } from "../security/quota-rate.ts";
import { memoryFileSystem } from "../platform/memory-fs.ts";
import { ClosestReplica } from "./closest-replica.ts";
import { parseReplicaSelector } from "../replication/replica-selector.ts";
import { FOLLOWER_REPLICATION_THROTTLED_RATE, LEADER_REPLICATION_THROTTLED_RATE, ReplicationThrottle } from "../replication/replication-throttle.ts";
import { PartitionLog } from "../storage/partition-log.ts";
import { silentStorageLogger } from "../storage/storage-deps.ts";
import { UNSHARED_LOG_DIRS, type LogDirShare } from "../storage/log-dir-share.ts";
import { createLogDir, takeBackFromShards } from "./log-dir-layout.ts";

/** Logger used across the broker. */
export interface BrokerLogger {
  /** Normal events. */
  info(msg: string): void;
  /** Handled problems. */
  warn(msg: string): void;
  /** Failures. */
  error(msg: string): void;
}

/** The most partitions a topic may have (CreateTopics, auto-creation): INVALID_PARTITIONS above. */
export const MAX_TOPIC_PARTITIONS = 100_000;
/**
 * AlterPartition errors that say the partition state moved on or this leader was fenced since the write was decided:
 * the change was not applied, but an earlier one of unknown outcome may have been, and new roles come (Broker.checkIsr).
 */
const ISR_WRITE_MOVED: ReadonlySet<number> = new Set([ErrorCode.INVALID_UPDATE_VERSION, ErrorCode.FENCED_LEADER_EPOCH, ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.STALE_BROKER_EPOCH]);

/**
 * A logger writing timestamped lines to stderr, one line per event (control characters escaped), each written
 * before the call returns, in a shard's worker thread too (src/platform/stderr.ts: a worker's `console` output
 * reaches stderr later, and is lost when the thread is terminated first).
 */
export const consoleLogger: BrokerLogger = {
  info: (m) => writeStderrLine(`${new Date().toISOString()} INFO ${escapeLogText(m)}`),
  warn: (m) => writeStderrLine(`${new Date().toISOString()} WARN ${escapeLogText(m)}`),
  error: (m) => writeStderrLine(`${new Date().toISOString()} ERROR ${escapeLogText(m)}`),
};

/** One partition of a topic of this broker (src/partition owns its log, producer state and high watermark). */
export type PartitionState = Partition<Topic>;

/** One topic. */
export interface Topic {
  /** Topic name. */
  readonly name: string;
  /** 16-byte topic id. */
  readonly id: Uint8Array;
  /** Hex form of the id (map key). */
  readonly idHex: string;
  /** Whether it is an internal topic (`__consumer_offsets`). */
  readonly internal: boolean;
  /** Partitions by index. */
  partitions: PartitionState[];
  /** Topic-level overrides as given (Kafka keys). */
  overrides: Record<string, string>;
  /** Effective config (broker defaults + overrides). */
  config: LogConfig;
  /** Replication factor recorded at creation. */
  replicationFactor: number;
}

/** What a broker of a cluster reads of its control plane (src/cluster); absent on a single node. */
export interface ClusterView {
  /** The active controller's node id, or -1 when there is none. */
  controllerId(): number;
  /** Resolves once an active controller is known: the broker says it listens only then (absent: it does not wait). */
  controllerKnown?(): Promise<void>;
  /** This broker's epoch (its registration), or -1 while fenced. */
  brokerEpoch(): number;
  /** Places and writes a new topic (INVALID_REPLICATION_FACTOR beyond the registered brokers). */
  createTopic(req: CreateTopicRequest): Promise<void>;
  /** Places (or, with `manual`, puts on the given brokers) and writes new partitions of a topic. */
  createPartitions(name: string, count: number, manual: number[][] | null): Promise<void>;
  /**
   * Writes a leader's ISR change fenced by this broker's epoch, the partition epoch and the broker epochs the joining
   * replicas fetched with; the Kafka error code.
   */
  alterIsr(state: PartitionStateRecord, isr: number[], joiningEpochs: ReadonlyMap<number, number>): Promise<number>;
  /** Starts, replaces or (target null) cancels a partition reassignment; rejects with a KafkaError. */
  alterReassignment(topic: string, partition: number, target: number[] | null, allowReplicationFactorChange: boolean): Promise<void>;
  /** Runs leader elections (ElectLeaders) of `type`; `targets` null: every partition (those needing none left out). */
  electLeaders(type: number, targets: readonly { topic: string; partition: number }[] | null): Promise<ElectionResult[]>;
  /** Reserves `size` producer ids cluster-wide, none below `floor`; the first of them. */
  reserveProducerIds(size: bigint, floor: bigint): Promise<bigint>;
  /** KIP-112: this broker's replica of partition `partition` of topic `topicIdHex` went offline (a disk failure); the others are told (a node's shards). */
  replicaOffline?(topicIdHex: string, partition: number): void;
  /** KIP-112: the replica reported offline was created anew on a working log dir (reassigned away and back): online again. */
  replicaOnline?(topicIdHex: string, partition: number): void;
  /** KIP-112: the other brokers whose replica of the partition is known offline (a node's shards: their failed log dirs). */
  offlineReplicas?(topicIdHex: string, partition: number): readonly number[];
}

/** Things tests may inject. */
export interface BrokerDeps {
  /** File system (default: the real one). */
  fs?: FileSystem;
  /** Clock (default: the real one). */
  clock?: Clock;
  /** Logger (default: stderr). */
  logger?: BrokerLogger;
  /** Randomness: ids, session ids, jitter (default: the runtime's). */
  random?: RandomSource;
  /** Called after each partition log is loaded at start (readiness reporting); start waits for a returned promise. */
  recoveryProgress?: (loaded: number, total: number) => void | Promise<void>;
  /** Cluster metadata (default: the local file store in the first log dir; a cluster passes its etcd store). */
  metadata?: MetadataStore;
  /** Cluster mode: the control plane; topics then come from the store and followers replicate from leaders. */
  cluster?: ClusterView;
  /** How plaintext Kafka listeners accept connections (default: the platform's TCP; the simulation passes its network). */
  listen?: ListenFn;
  /** How replica fetchers reach leaders (default: TCP with the inter-broker listener's security; the simulation passes its network). */
  dial?: Dialer;
  /** GETs an OAUTHBEARER JWKS from an http(s):// URL (default: the runtime's fetch). */
  httpGet?: HttpGet;
  /** The broker shut itself down (every log dir failed, KIP-112): the process should exit with an error. */
  onFatal?: (reason: string) => void;
  /**
   * A shard of a node (src/shard): its log dirs are shared with the other shards (only owned partitions, its own
   * root files), and the shard host keeps meta.properties (this broker takes `cluster.id` from its config).
   */
  logDirShare?: LogDirShare;
  /** A shard's part of the node's log-file budget (src/shard/shard-host.ts); unset: from the open-files limit. */
  maxOpenLogFiles?: number;
  /** Threads of the lz4/snappy codec pool (default: the cores but one, at most 4; a node's shards share the cores). */
  codecPoolThreads?: number;
}

/** A running broker. */
export class Broker {
  /** Settings. */
  readonly config: BrokerConfig;
  /** This broker's node id. */
  readonly nodeId: number;
  /** The persisted cluster id. */
  readonly clusterId: string;
  /** Topics by name. */
  readonly topicsByName = new Map<string, Topic>();
  /** Topics by id hex. */
  readonly topicsById = new Map<string, Topic>();
  /** The listeners' security (TLS, SASL, the OAUTHBEARER JWKS refreshes), closed on stop. */
  private listenerSecurities: ListenerSecurity[] = [];
  /** Broker-level defaults for topic configs (recomputed when dynamic broker configs change). */
  defaultLogConfig: LogConfig;
  /** Clock. */
  readonly clock: Clock;
  /** File system. */
  readonly fs: FileSystem;
  /** Logger. */
  readonly logger: BrokerLogger;
  /** Randomness (topic ids). */
  readonly random: RandomSource;
  /** Producer id allocator for idempotent producers. */
  readonly producerIds: ProducerIdAllocator;
  /** Open fetch sessions (KIP-227). */
  readonly fetchSessions: FetchSessionCache;
  /** Worker threads for lz4 and snappy work on produced batches (started on first use, stopped with the broker). */
  readonly codecPool: CodecPool;
  /** Handlers by API key. */
  handlers: ReadonlyArray<ApiHandler | undefined> = [];
  /** Consumer group coordinator (src/group), loaded from `__consumer_offsets` in {@link Broker.start}. */
  groups!: GroupCoordinator;
  /** Transaction coordinator (src/transactions), loaded from `__transaction_state` in {@link Broker.start}. */
  txns!: TransactionCoordinator;
  /** Counters for `/metrics`, or null when `http.listeners` is empty (nothing is counted then). */
  metrics: BrokerMetrics | null = null;
  private readonly logs: LogManager;
  private readonly metadata: MetadataStore;
  private listener: KafkaListener | null = null;
  /** Every Kafka listener by name (the first is also {@link Broker.listener}). */
  private readonly kafkaListeners = new Map<string, KafkaListener>();
  /** The connection limits every listener shares (null before the listeners start); re-judged after a dynamic change. */
  connectionLimits: ListenerLimits | null = null;
  /** SCRAM credentials kept in the metadata store (AlterUserScramCredentials, SASL SCRAM logins). */
  readonly scramCredentials: ScramCredentialStore;
  /** ACLs kept in the metadata store (CreateAcls, DescribeAcls, DeleteAcls). */
  readonly acls: AclStore;
  /** Decides requests when `authorizer.class.name` is set, else null (everything allowed). */
  readonly authorizer: Authorizer | null;
  /** Client quotas kept in the metadata store (DescribeClientQuotas, AlterClientQuotas). */
  readonly clientQuotas: ClientQuotaStore;
  /** Byte-rate sensors of the client quotas. */
  readonly quotaRates: QuotaRates;
  /** Sensors of the controller_mutation_rate quotas (KIP-599). */
  readonly mutationRates: QuotaRates;
  /** Replication throttle of this broker as a leader (`leader.replication.throttled.*`). */
  readonly leaderThrottle: ReplicationThrottle;
  /** Replication throttle of this broker as a follower (`follower.replication.throttled.*`). */
  readonly followerThrottle: ReplicationThrottle;
  /** KIP-392: preferred read replicas as leader, consumer reads as follower (`replica.selector.class`). */
  readonly closestReplica: ClosestReplica;
  private stopped = false;
  /** The control plane in cluster mode, else null (a single node). */
  private cluster: ClusterView | null = null;
  /** The replica fetchers' dialer when injected (BrokerDeps.dial), else null (TCP). */
  private dial: Dialer | null = null;
  /** Told when the broker shuts itself down (BrokerDeps.onFatal). */
  private onFatal: ((reason: string) => void) | null = null;
  /** Replica fetchers of the partitions this broker follows, by leader id (cluster mode). */
  private readonly fetchers = new Map<number, ReplicaFetcher>();
  /** Every inter-broker connection: the fetchers', the control channels (closed at stop). */
  private readonly leaderChannels: LeaderChannel[] = [];
  /** Connections for inter-broker control requests (WriteTxnMarkers), by node id. */
  private readonly controlChannels = new Map<number, LeaderChannel>();
  /** Bumped whenever a topic is created, deleted or grows (KIP-848 groups re-resolve subscriptions). */
  private topicsVersion = 0;
  /** Tail of the queue of topic changes (create, delete, partitions, configs). */
  private topicChanges: Promise<unknown> = Promise.resolve();
  /** What each partition needs from the broker. */
  private readonly partitionDeps: PartitionDeps;
  /** High watermarks read from the log dirs' checkpoints at start. */
  private readonly checkpointedHighWatermarks = new Map<string, bigint>();
  /** The log dirs (absolute). */
  private readonly logDirPaths: string[];
  private hwCheckpointTimer: unknown = null;
  private isrCheckTimer: unknown = null;
  private producerExpiryTimer: unknown = null;
  /** Partitions whose ISR change is being written. */
  private readonly isrWrites = new Set<PartitionState>();
  private readonly hwCheckpoints: HighWatermarkCheckpoints;
  /** Topic creations under way, by name. */
  private readonly pendingCreations = new Map<string, Promise<Topic | null>>();
  /**
   * Cluster mode: partitions this broker knows of but holds no replica of. Each is an empty stand-in kept in memory
   * (no file on disk), replaced by a real log when a reassignment adds this broker, and the real log is deleted when
   * one removes it.
   */
  private readonly standIns = new WeakSet<PartitionState>();
  /** Replicas (`topicIdHex/partition`) this broker reported offline to the cluster view (KIP-112). */
  private readonly reportedOffline = new Set<string>();
  private readonly standInFs = memoryFileSystem();

  private constructor(config: BrokerConfig, clusterId: string, logs: LogManager, metadata: MetadataStore, defaults: LogConfig, deps: Required<Omit<BrokerDeps, "recoveryProgress" | "metadata" | "cluster" | "listen" | "dial" | "httpGet" | "onFatal" | "logDirShare" | "codecPoolThreads" | "maxOpenLogFiles">>, share: LogDirShare, codecPoolThreads: number) {
    this.config = config;
    this.nodeId = config.nodeId;
    this.clusterId = clusterId;
    this.logs = logs;
    this.metadata = metadata;
    this.defaultLogConfig = defaults;
    this.clock = deps.clock;
    this.fs = deps.fs;
    this.logger = deps.logger;
    this.random = deps.random;
    this.fetchSessions = new FetchSessionCache(config.num("max.incremental.fetch.session.cache.slots"), deps.clock, deps.random, config.num("min.incremental.fetch.session.eviction.ms"));
    // A shard (suffixed root files) never reads the node's producer id file: the shard host keeps it.
    this.producerIds = new ProducerIdAllocator(deps.fs, share.suffix === "" ? config.logDirs.map((p) => nodePath.resolve(p))[0] : null);
    this.logDirPaths = config.logDirs.map((p) => nodePath.resolve(p));
    this.scramCredentials = new ScramCredentialStore(metadata, (r) => this.putConfigRecord(r));
    this.acls = new AclStore(metadata, (r) => this.putConfigRecord(r));
    this.clientQuotas = new ClientQuotaStore(metadata, (r) => this.putConfigRecord(r), resolveHost);
    this.quotaRates = new QuotaRates(config.num("quota.window.num"), config.num("quota.window.size.seconds") * 1000);
    this.mutationRates = new QuotaRates(config.num("controller.quota.window.num"), config.num("controller.quota.window.size.seconds") * 1000);
    const throttle = (rateKey: string, replicasField: "leaderReplicationThrottledReplicas" | "followerReplicationThrottledReplicas") =>
      new ReplicationThrottle({
        brokerId: config.nodeId,
        rate: () => Number(config.raw(rateKey)),
        replicas: (topic) => this.topicsByName.get(topic)?.config[replicasField] ?? "",
        clock: deps.clock,
        windowNum: config.num("replication.quota.window.num"),
        windowMs: config.num("replication.quota.window.size.seconds") * 1000,
      });
    this.closestReplica = new ClosestReplica({ nodeId: config.nodeId, selector: parseReplicaSelector(config.raw("replica.selector.class")), brokers: () => metadata.brokers(), info: (m) => deps.logger.info(m) });
    this.leaderThrottle = throttle(LEADER_REPLICATION_THROTTLED_RATE, "leaderReplicationThrottledReplicas");
    this.followerThrottle = throttle(FOLLOWER_REPLICATION_THROTTLED_RATE, "followerReplicationThrottledReplicas");
    this.authorizer = config.str("authorizer.class.name").trim() === "" ? null : new Authorizer(() => this.acls.all(), parseSuperUsers(config.str("super.users")), config.bool("allow.everyone.if.no.acl.found"));
    this.partitionDeps = { fs: deps.fs, clock: deps.clock, logger: deps.logger, localBrokerId: config.nodeId, maxWaitingFetches: config.num("fetch.purgatory.max.waiting.per.partition"), get producerIdExpirationMs() { return config.num("producer.id.expiration.ms"); } }; // read live: a dynamic change reaches partitions opened later (open ones: applyDynamicBrokerConfigs)
    const warn = (m: string) => deps.logger.warn(m);
    this.hwCheckpoints = new HighWatermarkCheckpoints(deps.fs, warn, share.suffix);
    this.codecPool = new CodecPool(codecPoolThreads, (e) => this.logger.warn(`a codec worker thread failed (its call ran on the event loop): ${e.message}`));
    for (const dir of this.logDirPaths) for (const [tp, hw] of readHighWatermarks(deps.fs, dir, warn, share.suffix)) this.checkpointedHighWatermarks.set(tp, hw);
  }

  /** Opens storage, recovers logs, loads topics and starts listening. */
  static async start(config: BrokerConfig, deps: BrokerDeps = {}): Promise<Broker> {
    const startedAt = performance.now();
    const d: Required<Omit<BrokerDeps, "recoveryProgress" | "metadata" | "cluster" | "listen" | "dial" | "httpGet" | "onFatal" | "logDirShare" | "codecPoolThreads" | "maxOpenLogFiles">> = { fs: deps.fs ?? nodeFileSystem, clock: deps.clock ?? systemClock, logger: deps.logger ?? consoleLogger, random: deps.random ?? systemRandom };
    const metrics = config.list("http.listeners").length > 0 ? new BrokerMetrics() : null;
    if (metrics !== null) d.fs = timedFileSystem(d.fs, (ms) => metrics.fsync.observe(ms));
    await Promise.all([initCrc32c("lazy"), initCompression("on first use")]); // every produced batch's CRC is checked: bulk once traffic is
    const dirs = config.logDirs.map((p) => nodePath.resolve(p));
    // KIP-112: a log dir whose disk fails at start goes offline and the broker starts with the others. The first one
    // also holds the metadata (meta.properties, the local metadata store): its failure stops the start (Kafka's
    // metadata log dir is fatal too).
    const failedDirs = new Map<string, unknown>();
    for (const dir of dirs) {
      try {
        createLogDir(d.fs, dir);
        d.fs.list(dir);
      } catch (e) {
        if (dir === dirs[0] || !isLogDirStartFailure(e)) throw e;
        failedDirs.set(dir, e);
      }
    }
    let metaFailure: unknown = null;
    const share = deps.logDirShare ?? UNSHARED_LOG_DIRS;
    const shardClusterId = deps.logDirShare === undefined ? null : config.raw("cluster.id");
    if (deps.logDirShare !== undefined && shardClusterId === null) throw new Error("a shard takes cluster.id from the shard host");
    const clusterId = shardClusterId ?? ensureMetaProperties(d.fs, dirs.filter((dir) => !failedDirs.has(dir)), config.nodeId, config.raw("cluster.id"), d.random, (dir, e) => {
      if (dir === dirs[0] || !isLogDirStartFailure(e)) metaFailure ??= e;
      else failedDirs.set(dir, e);
    });
    if (metaFailure !== null) throw metaFailure;
    const metadata = deps.metadata ?? new LocalMetadataStore(d.fs, dirs[0]);
    // A single node on dirs a sharded run left (runnel.shards > 1 before): its partitions and root files come back to it.
    // Dirs that already failed at start are left alone here (they go offline below).
    if (deps.metadata === undefined && deps.cluster === undefined) await takeBackFromShards(d.fs, dirs.filter((dir) => !failedDirs.has(dir)), metadata as LocalMetadataStore, config.nodeId);
    let started: Broker | null = null; // set once constructed: a runtime failure of every log dir shuts it down
    // Dynamic broker configs (KIP-226) from the metadata store count from the start: storage and the cleaner too.
    const staticSettings = new Map(config.values);
    mergeDynamicBrokerConfigs(config.values, staticSettings, metadata, config.nodeId);
    const defaults = logConfigFromBrokerProperties(config.values);
    if (!defaults.ok) throw new Error(defaults.message);
    const fdLimit = openFilesLimit();
    const maxOpenLogFiles = deps.maxOpenLogFiles ?? logOpenFilesBudget(fdLimit, config.raw("log.open.files.max") === null ? null : config.num("log.open.files.max"));
    if (typeof maxOpenLogFiles === "string") throw new Error(maxOpenLogFiles);
    const logFiles = new FileHandleCache(d.fs, maxOpenLogFiles);
    if (deps.maxOpenLogFiles === undefined) d.logger.info(`file descriptors: open-files limit ${fdLimit ?? "unknown"}, at most ${maxOpenLogFiles} log files open (log.open.files.max), the rest for connections`);
    const connectionFds = fdLimit === null ? null : fdLimit - RESERVED_FDS - maxOpenLogFiles;
    if (!(config.num("runnel.log.flush.overlapping") >= 1)) throw new Error("runnel.log.flush.overlapping must be at least 1");
    if (!(config.num("producer.id.expiration.ms") >= 1)) throw new Error("producer.id.expiration.ms must be at least 1");
    if (!(config.num("producer.id.expiration.check.interval.ms") >= 1)) throw new Error("producer.id.expiration.check.interval.ms must be at least 1");
    if (!(config.num("runnel.log.pretouch.bytes") >= 0)) throw new Error("runnel.log.pretouch.bytes must be at least 0");
    if (!(config.num("runnel.log.pretouch.pause.ms") >= 0)) throw new Error("runnel.log.pretouch.pause.ms must be at least 0");
    if (!(config.num("runnel.log.pretouch.min.append.bytes") >= 1)) throw new Error("runnel.log.pretouch.min.append.bytes must be at least 1");
    const logs = await LogManager.open(dirs, {
      fs: logFiles.fileSystem,
      flushRounds: config.bool("runnel.log.flush.rounds") ? new FlushRounds() : undefined,
      maxOverlappingFlushes: config.num("runnel.log.flush.overlapping"),
      pretouchBytes: config.num("runnel.log.pretouch.bytes"),
      pretouchPauseMs: config.num("runnel.log.pretouch.pause.ms"),
      pretouchMinAppendBytes: config.num("runnel.log.pretouch.min.append.bytes"),
      clock: d.clock,
      logger: d.logger,
      random: d.random,
      decompress: (codecId, section) => {
        const c = codecById(codecId);
        if (c === null) return section;
        return c.decompress(section, config.num("message.max.bytes") * 64);
      },
      compress: (codecId, section) => {
        const c = codecById(codecId);
        if (c === null) throw new Error(`unknown compression codec ${codecId}`);
        return c.compress(section);
      },
    }, {
      retentionCheckIntervalMs: config.num("log.retention.check.interval.ms"),
      checkpointIntervalMs: config.num("log.flush.offset.checkpoint.interval.ms"),
      cleaner: { enable: config.bool("log.cleaner.enable"), ...cleanerOptionsFrom(config) },
      afterPartitionLoaded: deps.recoveryProgress,
      failedDirs,
      onAllLogDirsFailed: (reason) => started?.fatal(reason),
      share,
    });
    // Partition-layer files (snapshots, checkpoints) share the log files' descriptor bound.
    const broker = new Broker(config, clusterId, logs, metadata, defaults.config, { ...d, fs: logFiles.fileSystem }, share, deps.codecPoolThreads ?? defaultCodecPoolThreads());
    started = broker;
    broker.onFatal = deps.onFatal ?? null;
    broker.metrics = metrics;
    broker.cluster = deps.cluster ?? null;
    if (deps.cluster) broker.producerIds.useClusterBlocks((size, floor) => deps.cluster!.reserveProducerIds(size, floor));
    broker.dial = deps.dial ?? null;
    broker.partitionDeps.replicated = broker.cluster !== null; // before any partition opens (loadTopics)
    if (broker.cluster !== null) broker.partitionDeps.aliveBrokerEpoch = (id) => metadata.broker(id)?.brokerEpoch;
    if (broker.cluster !== null) {
      const cluster = broker.cluster;
      broker.partitionDeps.unregistered = () => cluster.brokerEpoch() < 0;
      const store: MetadataStore = metadata;
      broker.partitionDeps.staleRoles = (topic, index) => cluster.brokerEpoch() > (store.partitionStateRevision?.(topic, index) ?? Infinity);
    }
    broker.partitionDeps.onFollowerCaughtUp = (topic, index) => {
      const p = broker.partition(topic, index);
      if (p !== undefined) broker.checkIsr(p);
    };
    rememberStaticBrokerSettings(broker, staticSettings);
    broker.loadTopics();
    for (const t of broker.topicsByName.values()) for (const p of t.partitions) broker.followLeader(t, p);
    broker.metadata.watch((c) => broker.applyMetadataChange(c));
    broker.scheduleHighWatermarkCheckpoint();
    broker.scheduleProducerExpiry();
    broker.scheduleIsrCheck();
    // Consumer groups: replay __consumer_offsets, then arm sessions and offset expiry.
    const offsetsLog = new OffsetsTopicLog(broker);
    broker.groups = new GroupCoordinator({ config: groupConfigFrom(config), clock: d.clock, logger: d.logger, randomId: () => d.random.uuid(), storage: offsetsLog, endOffsets: offsetsLog, metadata: broker.topicMetadata(), groupConfigs: (id) => broker.metadataView.configRecord("group", id)?.configs ?? {} });
    if (broker.cluster === null) broker.groups.load();
    // Transactions: replay __transaction_state; those caught between Prepare and Complete get their markers now.
    const remoteMarkers = broker.cluster === null ? null : remoteMarkerSender((id) => broker.interBrokerChannel(id), d.logger);
    const markers = new PartitionMarkerWriter(broker, d.clock, d.logger, broker.markerWritten, remoteMarkers);
    broker.txns = new TransactionCoordinator({ config: transactionConfigFrom(config), clock: d.clock, logger: d.logger, storage: new TransactionStateLog(broker), markers, producerIds: broker.producerIds });
    if (broker.cluster === null) broker.txns.load();
    else {
      // Cluster mode: each coordinator serves the partitions of its internal topic that this broker leads.
      broker.groups.followLeadership();
      broker.txns.followLeadership();
      broker.coordinatorsFollowLeaders();
    }
    broker.handlers = buildHandlers(broker);
    metrics?.serveApis(broker.handlers.flatMap((h) => (h === undefined ? [] : [h.apiKey])));
    for (const key of config.unknownKeys()) d.logger.warn(`The configuration '${key}' was supplied but isn't a known config; it is ignored.`);
    validateListeners(config);
    const securityDeps = { fs: d.fs, random: d.random, scram: broker.scramCredentials, nowMs: () => d.clock.nowMs(), monotonicMs: () => d.clock.monotonicMs(), log: (level: "info" | "warn", msg: string) => d.logger[level](msg), authenticated: (listener: string, ok: boolean) => metrics?.authenticationDone(listener, ok), httpGet: deps.httpGet ?? fetchGet, setTimer: (fn: () => void, ms: number) => d.clock.setTimer(fn, ms), clearTimer: (h: unknown) => d.clock.clearTimer(h) };
    const securities = listenerDefs(config).map((def) => listenerSecurity(config, def, securityDeps));
    broker.listenerSecurities = securities;
    const limits = listenerLimits(config, connectionFds, undefined, undefined, { ipRate: (ip) => broker.clientQuotas.connectionRateOf(ip) }, d.clock, { resolve: resolveHost, warn: (msg) => d.logger.error(msg) });
    broker.connectionLimits = limits;
    try {
      // the host names of max.connections.per.ip.overrides resolve before the first connection (or the start fails)
      await Promise.all([...securities.map((sec) => sec.ready()), limits.limitSource.hostsResolved()]);
      for (const sec of securities) {
        const def = sec.def;
        const l = await startKafkaListener(def.host || "0.0.0.0", def.port, config, broker.handlers, d.clock, (level, msg) => d.logger[level](msg), connectionFds, metrics ?? undefined, sec, limits, deps.listen);
        broker.kafkaListeners.set(def.name, l);
        broker.listener ??= l;
      }
    } catch (e) {
      // Close everything started so far (listeners, JWKS refreshes, logs, timers), then report the failure.
      await broker.stop().catch((stopFailure) => d.logger.warn(`stopping after a failed start: ${(stopFailure as Error).message}`));
      throw e;
    }
    const spec = securities[0].def;
    await broker.registerSelf();
    // In a cluster the controller is elected once some broker registered: a broker that says it listens names it in
    // Metadata (controller -1 fails a Kafka admin client's controller requests).
    await broker.cluster?.controllerKnown?.();
    const ms = (performance.now() - startedAt).toFixed(0);
    d.logger.info(
      `Runnel broker ${broker.nodeId} (cluster ${clusterId}) listening on ${[...broker.kafkaListeners].map(([name, l]) => `${name}://${l.listener.host}:${l.listener.port}`).join(", ")}, ` +
        `data in ${dirs.join(", ")}, ${broker.topicsByName.size} topics, ready in ${ms} ms`,
    );
    return broker;
  }

  /**
   * A change seen in the metadata store: a partition whose state changed (a controller's election, an ISR
   * compare-and-set) takes its new leader, epoch and ISR, and its follower side follows the new leader. On a single
   * node topic records are applied by the writer (this broker); in a cluster every broker opens, grows and drops
   * topics as the store shows them, whoever wrote them.
   */
  private applyMetadataChange(c: MetadataChange): void {
    // A dynamic broker config changed through another broker of the cluster (KIP-226): apply it here too.
    if (c.kind === "config" && c.resource === "broker" && (c.name === "" || c.name === String(this.nodeId))) {
      applyDynamicBrokerConfigs(this);
      return;
    }
    if (c.kind === "topic") {
      if (this.cluster !== null && !this.stopped) this.applyTopicRecord(c.name, c.value);
      if (c.name === OFFSETS_TOPIC || c.name === TRANSACTION_STATE_TOPIC) this.coordinatorsFollowLeaders();
      return;
    }
    if (c.kind !== "partition" || c.value === null) return;
    const p = this.partition(c.topic, c.partition);
    if (p === undefined || c.value.leaderEpoch < p.leaderEpoch) return;
    if (this.standIns.has(p) === this.hosts(c.value)) {
      this.rehost(p.topic, p, c.value); // a reassignment added or removed this broker
    } else {
      try {
        p.takeRoles(c.value);
      } catch (e) {
        this.logger.error(`${c.topic}-${c.partition}: could not take the roles of metadata version ${c.version}: ${(e as Error).message}`);
      }
      this.followLeader(p.topic, p);
    }
    if (c.topic === OFFSETS_TOPIC || c.topic === TRANSACTION_STATE_TOPIC) this.coordinatorsFollowLeaders();
  }

  /**
   * Cluster mode: the group and transaction coordinators load the partitions of `__consumer_offsets` and
   * `__transaction_state` this broker leads now and unload those it no longer leads.
   */
  private coordinatorsFollowLeaders(): void {
    if (this.cluster === null || this.stopped || this.groups === undefined || this.txns === undefined) return;
    const offsets = this.topicsByName.get(OFFSETS_TOPIC)?.partitions ?? [];
    for (const p of offsets) {
      if (p.isLeader && !p.isRemoved) this.groups.loadPartition(p.index);
      else this.groups.unloadPartition(p.index);
    }
    const txnState = this.topicsByName.get(TRANSACTION_STATE_TOPIC)?.partitions ?? [];
    for (const p of txnState) {
      if (p.isLeader && !p.isRemoved) this.txns.loadPartitionOwnership(p.index);
      else this.txns.unloadPartitionOwnership(p.index);
    }
  }

  /** Called after a transaction marker is appended here: the group coordinator settles transactional offsets. */
  readonly markerWritten = (tp: { topic: string; partition: number }, producerId: bigint, commit: boolean): void => {
    if (tp.topic === OFFSETS_TOPIC) this.groups.onTransactionCompleted(producerId, tp.partition, commit);
  };

  /**
   * Replication factor of a new internal topic (`offsets.topic.replication.factor`,
   * `transaction.state.log.replication.factor`): at most the registered brokers (1 on a single node).
   */
  internalTopicReplicationFactor(topic: string): number {
    const configured = this.config.num(topic === TRANSACTION_STATE_TOPIC ? "transaction.state.log.replication.factor" : "offsets.topic.replication.factor");
    const registered = this.cluster === null ? 1 : this.metadata.brokers().length;
    return Math.max(1, Math.min(configured, registered));
  }

  /** Cluster mode: a connection to broker `nodeId`'s inter-broker listener for control requests (WriteTxnMarkers). */
  interBrokerChannel(nodeId: number): LeaderChannel {
    let channel = this.controlChannels.get(nodeId);
    if (channel === undefined) {
      channel = this.dialInterBroker(nodeId, `runnel-broker-${this.nodeId}`);
      this.controlChannels.set(nodeId, channel);
    }
    return channel;
  }

  /** A redialing connection to broker `nodeId` at its registered inter-broker endpoint, with that listener's security. */
  private dialInterBroker(nodeId: number, clientId: string): LeaderChannel {
    const sec = interBrokerSecurity(this.config, this.fs); // inter.broker.listener.name with its TLS and SASL
    const channel = new LeaderChannel(nodeId, () => {
      const reg = this.metadata.broker(nodeId); // a clustered shard's store also names its sibling shards (src/shard/cluster-siblings.ts)
      return reg === undefined ? undefined : (listenerEndpoint(reg, sec.listenerName) ?? reg.endpoints[0]);
    }, this.dial ?? tcpDialer({ clientId, tls: sec.tls, sasl: sec.sasl }));
    this.leaderChannels.push(channel);
    return channel;
  }

  /** Cluster mode: a topic record written by any broker, applied here (open, grow, reconfigure or drop). */
  private applyTopicRecord(name: string, rec: TopicRecord | null): void {
    const known = this.topicsByName.get(name);
    if (rec === null) {
      if (known !== undefined) this.forgetTopic(known);
      return;
    }
    const parsed = parseLogConfig(rec.configs, this.defaultLogConfig);
    const config = parsed.ok ? parsed.config : this.defaultLogConfig;
    try {
      if (known === undefined || known.idHex !== rec.idHex) {
        if (known !== undefined) this.forgetTopic(known);
        const topic = this.makeTopic(rec, config);
        topic.partitions = this.openPartitions(topic, 0, rec.partitions);
        this.register(topic);
        for (const p of topic.partitions) this.followLeader(topic, p);
        this.logger.info(`opened topic ${name} (${rec.partitions} partition(s), replication factor ${rec.replicationFactor}) from the cluster metadata`);
        return;
      }
      if (rec.partitions > known.partitions.length) {
        const added = this.openPartitions(known, known.partitions.length, rec.partitions);
        known.partitions.push(...added);
        this.topicsVersion++;
        for (const p of added) this.followLeader(known, p);
      }
      known.overrides = { ...rec.configs };
      known.config = config;
      for (const p of known.partitions) p.log.updateConfig(config);
    } catch (e) {
      this.logger.error(`topic ${name}: could not apply its metadata: ${(e as Error).message}`);
    }
  }

  /**
   * Cluster mode: makes the replica fetcher of the partition's leader follow it when this broker is one of its
   * followers, and no fetcher follow it otherwise (it leads, or is not a replica, or has no leader, or its log dir
   * failed: KIP-112).
   */
  private followLeader(topic: Topic, p: PartitionState): void {
    if (this.cluster === null || this.stopped) return;
    const leader = p.isLeader || p.isRemoved || p.log.isOffline || !p.replicas.includes(this.nodeId) ? -1 : p.leader;
    for (const [id, f] of this.fetchers) if (id !== leader) f.remove(topic.id, p.index);
    if (leader < 0) return;
    let fetcher = this.fetchers.get(leader);
    if (fetcher === undefined) {
      let channel: LeaderChannel;
      try {
        channel = this.dialInterBroker(leader, `runnel-replica-${this.nodeId}`);
      } catch (e) {
        this.logger.error(`cannot replicate ${topic.name}-${p.index} from broker ${leader}: ${(e as Error).message}`);
        return;
      }
      const cluster = this.cluster;
      fetcher = new ReplicaFetcher({
        replicaId: this.nodeId,
        // read at every fetch: the epoch of this broker's current registration (a new one after a lost lease)
        get brokerEpoch() {
          return BigInt(cluster.brokerEpoch());
        },
        channel,
        clock: this.clock,
        throttle: this.followerThrottle,
        warn: (m) => this.logger.warn(m),
        settings: {
          maxWaitMs: this.config.num("replica.fetch.wait.max.ms"),
          minBytes: this.config.num("replica.fetch.min.bytes"),
          maxBytes: this.config.num("replica.fetch.response.max.bytes"),
          partitionMaxBytes: this.config.num("replica.fetch.max.bytes"),
          backoffMs: this.config.num("replica.fetch.backoff.ms"),
        },
      });
      this.fetchers.set(leader, fetcher);
      fetcher.start();
    }
    fetcher.add(topic.id, p);
  }

  /** Registers this broker in the metadata store (a single node: in memory, for the cluster view). */
  private registerSelf(): Promise<void> {
    return this.metadata.registerBroker({
      nodeId: this.nodeId,
      brokerEpoch: this.metadata.version + 1,
      rack: this.config.raw("broker.rack"),
      endpoints: listenerDefs(this.config).map((def) => ({ name: def.name, ...this.advertised(def.name), securityProtocol: def.securityProtocol })),
    });
  }

  /** The log cleaner, or null when `log.cleaner.enable` is false (dynamic cleaner configs reconfigure it). */
  get logCleaner(): LogCleaner | null {
    return this.logs.cleaner;
  }

  /** The metadata store (read-only view and watch; changes go through the broker's methods). */
  get metadataView(): Pick<MetadataStore, "version" | "topics" | "topic" | "partitionState" | "brokers" | "watch" | "configRecord" | "configRecordsOf"> {
    return this.metadata;
  }

  /** Stores the dynamic configs of a broker resource or a group (see dynamic-configs.ts). */
  putConfigRecord(record: ConfigRecord): Promise<void> {
    return this.metadata.putConfigRecord(record).catch((e) => {
      throw this.metadataFailure(`store ${record.resource} configs of '${record.name}'`, e);
    });
  }

  /** The bound port (useful when 0 was asked). */
  get port(): number {
    return this.listener?.listener.port ?? -1;
  }

  /** The bound port of listener `name`, or -1. */
  listenerPort(name: string): number {
    return this.kafkaListeners.get(name)?.listener.port ?? -1;
  }

  /** Host and port given to clients of listener `listenerName` (default: the first listener). */
  advertised(listenerName?: string): { host: string; port: number } {
    const name = listenerName ?? this.config.listeners[0].name;
    const bound = this.config.listeners.find((l) => l.name === name) ?? this.config.listeners[0];
    const adv = advertisedSpec(this.config, bound.name) ?? bound;
    const host = adv.host === "" || adv.host === "0.0.0.0" ? "127.0.0.1" : adv.host;
    const port = adv.port === 0 ? this.listenerPort(bound.name) : adv.port;
    return { host, port };
  }

  /**
   * Another shard of the node took log dir `dir` offline after a disk failure there (KIP-112: the whole dir goes
   * offline at once): this broker's partitions in it go offline as after a failure of its own, through the same path
   * (KAFKA_STORAGE_ERROR, offline replicas reported; every dir offline stops the broker). A dir it does not use is
   * ignored.
   */
  logDirFailedElsewhere(dir: string, reason: string): void {
    if (this.stopped || !this.logDirPaths.includes(dir)) return;
    this.logs.logDirFailed(dir, new Error(reason));
  }

  /** Shuts the broker down after a failure it cannot serve through (every log dir offline), as Kafka halts. */
  fatal(reason: string): void {
    if (this.stopped) return;
    this.logger.error(`Shutting down the broker because ${reason}`);
    const told = this.onFatal;
    void this.stop()
      .catch((e) => this.logger.error(`shutdown after a fatal failure failed: ${(e as Error).message}`))
      .finally(() => told?.(reason));
  }

  /** Stops listening, flushes and closes every log. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const l of this.kafkaListeners.values()) await l.close();
    for (const sec of this.listenerSecurities) sec.close();
    if (this.hwCheckpointTimer !== null) this.clock.clearTimer(this.hwCheckpointTimer);
    if (this.isrCheckTimer !== null) this.clock.clearTimer(this.isrCheckTimer);
    if (this.producerExpiryTimer !== null) this.clock.clearTimer(this.producerExpiryTimer);
    for (const c of this.leaderChannels) c.close();
    await Promise.all([...this.fetchers.values()].map((f) => f.stop()));
    const partitionOf = new Map<PartitionState["log"], PartitionState>();
    for (const t of this.topicsByName.values()) {
      for (const p of t.partitions) {
        p.close();
        partitionOf.set(p.log, p);
      }
    }
    await this.hwCheckpoints.writeNow(this.highWatermarksByDir());
    this.txns?.stop();
    this.groups?.stop();
    // Kafka's order: each log's tail synced, then its producer snapshot, then the clean-shutdown marker
    await this.logs.close((log) => partitionOf.get(log)?.writeStopSnapshot());
    await this.codecPool.close();
    this.logger.info("Runnel broker stopped");
  }

  private loadTopics(): void {
    for (const rec of this.metadata.topics()) {
      const parsed = parseLogConfig(rec.configs, this.defaultLogConfig);
      const config = parsed.ok ? parsed.config : this.defaultLogConfig;
      if (!parsed.ok) this.logger.warn(`topic ${rec.name}: ignoring bad stored config: ${parsed.message}`);
      const topic = this.makeTopic(rec, config);
      topic.partitions = this.openPartitions(topic, 0, rec.partitions, false);
      this.register(topic);
    }
    // Partition directories whose topic metadata is gone (deleted while down) are removed by the log manager.
    this.logs.removeUnknown((name) => this.topicsByName.has(name));
  }

  private makeTopic(rec: TopicRecord, config: LogConfig): Topic {
    return {
      name: rec.name,
      id: uuidFromHex(rec.idHex),
      idHex: rec.idHex,
      internal: isInternalTopic(rec.name),
      partitions: [],
      overrides: { ...rec.configs },
      config,
      replicationFactor: rec.replicationFactor,
    };
  }

  /** Makes a topic visible to requests. */
  private register(topic: Topic): void {
    this.topicsByName.set(topic.name, topic);
    this.topicsById.set(topic.idHex, topic);
    this.topicsVersion++;
  }

  /** Whether this broker holds a replica of a partition in state `state` (always on a single node). */
  private hosts(state: { replicas: readonly number[] } | undefined): boolean {
    return this.cluster === null || state === undefined || state.replicas.includes(this.nodeId);
  }

  /**
   * A reassignment added this broker to a partition's replicas (a real log replaces the stand-in and follows the
   * leader) or removed it (the log's files are deleted and a stand-in takes its place). The old object takes the
   * new roles first, so parked acks=all produces hear NOT_LEADER_OR_FOLLOWER.
   */
  private rehost(topic: Topic, old: PartitionState, state: PartitionStateRecord): void {
    try {
      old.takeRoles(state);
    } catch (e) {
      this.logger.warn(`${old.log.name}: ${(e as Error).message}`);
    }
    old.markRemoved();
    this.followLeader(topic, old);
    const hosted = this.hosts(state);
    if (hosted) this.standInFs.removeTree(old.log.dir);
    let next: PartitionState;
    try {
      if (!hosted) this.logs.delete({ topic: topic.name, partition: old.index });
      next = this.openPartition(topic, old.index, state);
    } catch (e) {
      this.logger.error(`${old.log.name}: could not ${hosted ? "open the new replica" : "drop the replica"}: ${(e as Error).message}`);
      return;
    }
    topic.partitions[old.index] = next;
    this.logger.info(`${old.log.name}: ${hosted ? "now a replica here (reassigned), replicating from broker " + state.leader : "no longer a replica here (reassigned away), its files deleted"}`);
    this.followLeader(topic, next);
  }

  /**
   * Opens partition `i` of `topic` in the roles `state` gives it: on its log (created where missing) when this
   * broker hosts it, else as an in-memory stand-in, after deleting a log left here from before.
   */
  private openPartition(topic: Topic, i: number, state: PartitionStateRecord | undefined, isNew = true): PartitionState {
    const roles = state ?? { leader: this.nodeId, leaderEpoch: 0, replicas: [this.nodeId], isr: [this.nodeId] };
    const tp = { topic: topic.name, partition: i };
    if (!this.hosts(state)) {
      if (this.logs.getLog(tp) !== undefined) {
        this.logger.info(`${topic.name}-${i}: this broker is not one of its replicas ${roles.replicas.join(",")}; deleting its local log`);
        this.logs.delete(tp);
      }
      this.standInFs.removeTree(`/${topic.name}-${i}`);
      const log = PartitionLog.open(`/${topic.name}-${i}`, tp, topic.config, { fs: this.standInFs, clock: this.clock, logger: silentStorageLogger });
      const p = Partition.open(topic, i, log, { ...this.partitionDeps, fs: this.standInFs }, roles);
      this.standIns.add(p);
      return p;
    }
    let log: PartitionLog;
    try {
      log = this.logs.getOrCreate(tp, topic.config, uuidBase64(topic.id), isNew);
    } catch (e) {
      if (isNew || !this.logs.hasOfflineLogDirs) throw e;
      // Its log dir may be the offline one (KIP-112): the partition is offline here, answering KAFKA_STORAGE_ERROR.
      this.logger.warn(`${topic.name}-${i}: offline, ${(e as Error).message}`);
      this.standInFs.removeTree(`/${topic.name}-${i}`);
      const stand = PartitionLog.open(`/${topic.name}-${i}`, tp, topic.config, { fs: this.standInFs, clock: this.clock, logger: silentStorageLogger });
      const p = Partition.open(topic, i, stand, { ...this.partitionDeps, fs: this.standInFs }, roles);
      stand.takeOffline(e);
      this.tellOffline(topic, i, stand);
      return p;
    }
    this.tellOffline(topic, i, log);
    return Partition.open(topic, i, log, this.partitionDeps, roles, this.checkpointedHighWatermarks.get(`${topic.name}-${i}`));
  }

  /**
   * Cluster mode: tells the cluster view when this broker's replica on `log` is (or goes) offline (KIP-112), and when
   * a replica it reported offline is on a working log again (created anew after a reassignment away and back).
   */
  private tellOffline(topic: Topic, i: number, log: PartitionLog): void {
    const cluster = this.cluster;
    if (cluster?.replicaOffline === undefined) return;
    const key = `${topic.idHex}/${i}`;
    if (log.isOffline) {
      this.reportedOffline.add(key);
      cluster.replicaOffline(topic.idHex, i);
    } else {
      if (this.reportedOffline.delete(key)) cluster.replicaOnline?.(topic.idHex, i);
      log.onOffline = () => {
        this.reportedOffline.add(key);
        cluster.replicaOffline!(topic.idHex, i);
        // a follower stops fetching into a log that takes no writes (after the append that failed has unwound)
        queueMicrotask(() => {
          const p = this.topicsByName.get(topic.name)?.partitions[i];
          if (p !== undefined && p.log === log) this.followLeader(topic, p);
        });
      };
    }
  }

  /**
   * Opens (creating where missing) partitions `from` to `to - 1` of `topic`. With `undo` (new partitions), all of
   * them or none: a failure deletes the logs opened so far. Without it (start-up), a failure stops the start.
   */
  private openPartitions(topic: Topic, from: number, to: number, undo = true): PartitionState[] {
    const opened: PartitionState[] = [];
    try {
      for (let i = from; i < to; i++) opened.push(this.openPartition(topic, i, this.metadata.partitionState(topic.name, i), undo));
    } catch (e) {
      if (!undo) throw e;
      this.logger.error(`could not open partitions of ${topic.name}: ${(e as Error).message}`);
      this.dropPartitions(topic.name, from, to);
      throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `could not create partitions of ${topic.name}: ${(e as Error).message}`);
    }
    return opened;
  }

  /** Deletes the logs of partitions `from` to `to - 1` (a creation undone, or a topic deleted). */
  private dropPartitions(topic: string, from: number, to: number): void {
    for (let i = from; i < to; i++) {
      try {
        this.logs.delete({ topic, partition: i });
      } catch (e) {
        this.logger.warn(`could not delete log ${topic}-${i} (removed at the next start): ${(e as Error).message}`);
      }
    }
  }

  /** The states recorded for new partitions of a topic on this single node. */
  private localPartitionStates(topic: string, from: number, to: number): PartitionStateRecord[] {
    const out: PartitionStateRecord[] = [];
    for (let i = from; i < to; i++) out.push({ topic, partition: i, replicas: [this.nodeId], leader: this.nodeId, leaderEpoch: 0, isr: [this.nodeId], partitionEpoch: 0 });
    return out;
  }

  /** Runs topic changes one at a time, so that each sees the result of the one before. */
  private serialize<T>(change: () => Promise<T>): Promise<T> {
    const run = this.topicChanges.then(change);
    this.topicChanges = run.catch(() => undefined);
    return run;
  }

  /**
   * Validates and (unless `validateOnly`) creates a topic: partition logs first, then the metadata record, then
   * visible to requests. All or nothing: when a log or the metadata write fails, the logs created are deleted and
   * it rejects with a {@link KafkaError} (KAFKA_STORAGE_ERROR for I/O). With a manual `assignment` (CreateTopics
   * `assignments`; then both counts must be -1) the partitions go on the brokers it names, checked as Kafka checks
   * them: on a single node only this node is registered; in a cluster the control plane checks and writes it.
   */
  async createTopic(name: string, partitions: number, replicationFactor: number, configs: Record<string, string>, validateOnly: boolean, assignment: readonly ManualPartition[] | null = null): Promise<Topic | null> {
    const problem = topicNameProblem(name);
    if (problem) throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, problem);
    this.checkNameFree(name);
    // the configs before the counts, as Kafka's controller validates them
    const parsed = parseLogConfig(configs, this.defaultLogConfig);
    if (!parsed.ok) throw new KafkaError(parsed.errorCode, parsed.message);
    const manual = assignment !== null && assignment.length > 0 ? assignment : null;
    if (manual !== null) {
      if (replicationFactor !== -1) throw new KafkaError(ErrorCode.INVALID_REQUEST, "A manual partition assignment was specified, but replication factor was not set to -1.");
      if (partitions !== -1) throw new KafkaError(ErrorCode.INVALID_REQUEST, "A manual partition assignment was specified, but numPartitions was not set to -1.");
      // Checked here on a single node and when only validating (this broker's view); a cluster's write checks again.
      if (this.cluster === null) manualTopicPlacement(manual, manualPlacementBrokers([{ nodeId: this.nodeId }]));
      else if (validateOnly) manualTopicPlacement(manual, manualPlacementBrokers(this.metadata.brokers()));
      partitions = manual.length;
      replicationFactor = manual[0].brokerIds.length;
      if (partitions > MAX_TOPIC_PARTITIONS) throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `Number of partitions is above ${MAX_TOPIC_PARTITIONS}.`);
    } else {
      if (partitions === -1) partitions = this.config.num("num.partitions");
      if (replicationFactor === -1) replicationFactor = this.config.num("default.replication.factor");
      if (partitions <= 0) throw new KafkaError(ErrorCode.INVALID_PARTITIONS, "Number of partitions must be larger than 0.");
      if (partitions > MAX_TOPIC_PARTITIONS) throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `Number of partitions is above ${MAX_TOPIC_PARTITIONS}.`);
      if (replicationFactor <= 0) throw new KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, "Replication factor must be larger than 0.");
      const registered = this.cluster === null ? 1 : this.metadata.brokers().length;
      if (replicationFactor > registered) {
        throw new KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, `Unable to replicate the partition ${replicationFactor} time(s): The target replication factor of ${replicationFactor} cannot be reached because only ${registered} broker(s) are registered.`);
      }
    }
    if (validateOnly) return null;
    const cluster = this.cluster;
    if (cluster !== null) {
      // Cluster mode: the placement is written to the store; every replica (this broker too) opens it from the watch.
      const creation = this.serialize(async () => {
        this.checkNameFree(name);
        try {
          await cluster.createTopic({ name, partitions, replicationFactor, configs, idHex: uuidHex(randomUuid(this.random)), ...(manual === null ? {} : { assignment: manual.map((a) => ({ partitionIndex: a.partitionIndex, brokerIds: [...a.brokerIds] })) }) });
        } catch (e) {
          throw this.metadataFailure(`create topic ${name}`, e);
        }
        const topic = this.topicsByName.get(name);
        if (topic === undefined) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `topic ${name} was written but could not be opened here`);
        this.logger.info(`created topic ${name} with ${partitions} partition(s), replication factor ${replicationFactor}${manual === null ? "" : " (as assigned)"}`);
        return topic;
      });
      this.pendingCreations.set(name, creation);
      return creation.finally(() => this.pendingCreations.delete(name));
    }
    const creation = this.serialize(async () => {
      this.checkNameFree(name);
      const rec: TopicRecord = { name, idHex: uuidHex(randomUuid(this.random)), partitions, replicationFactor, configs, createdAtMs: this.clock.nowMs() };
      const topic = this.makeTopic(rec, parsed.config);
      topic.partitions = this.openPartitions(topic, 0, partitions);
      try {
        await this.logs.syncCreated(); // the new logs' fsyncs, off the event loop, before the topic is recorded
        await this.metadata.createTopic(rec, this.localPartitionStates(name, 0, partitions));
      } catch (e) {
        this.dropPartitions(name, 0, partitions);
        throw this.metadataFailure(`create topic ${name}`, e);
      }
      this.register(topic);
      this.logger.info(`created topic ${name} with ${partitions} partition(s)`);
      return topic;
    });
    this.pendingCreations.set(name, creation);
    return creation.finally(() => this.pendingCreations.delete(name));
  }

  /** Throws TOPIC_ALREADY_EXISTS or INVALID_TOPIC_EXCEPTION (collision) unless `name` is free. */
  private checkNameFree(name: string): void {
    if (this.topicsByName.has(name)) throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`);
    const collides = [...this.topicsByName.keys()].find((n) => n !== name && n.replace(/\./g, "_") === name.replace(/\./g, "_"));
    if (collides) throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${name}' collides with existing topic '${collides}'.`);
  }

  /**
   * A metadata write failure as the KafkaError to answer (a store rejects with one; anything else is I/O). A store's,
   * controller's or sharded node's host's verdict on the request (a KafkaError other than KAFKA_STORAGE_ERROR: the
   * topic exists already, the partition does not, two shards created `__consumer_offsets` at once) is the client's
   * answer, logged as INFO; only a failure to write is an ERROR.
   */
  private metadataFailure(what: string, e: unknown): KafkaError {
    const verdict = e instanceof KafkaError && e.code !== ErrorCode.KAFKA_STORAGE_ERROR;
    this.logger[verdict ? "info" : "error"](`could not ${what}: ${(e as Error).message}`);
    return e instanceof KafkaError ? e : new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `could not ${what}: ${(e as Error).message}`);
  }

  /** The topics as KIP-848 consumer groups see them. */
  topicMetadata(): TopicMetadataSource {
    return {
      version: () => this.topicsVersion,
      topic: (name) => {
        const t = this.topicsByName.get(name);
        return t === undefined ? undefined : { idHex: t.idHex, numPartitions: t.partitions.length };
      },
      topicName: (idHex) => this.topicsById.get(idHex)?.name,
      topicNames: () => [...this.topicsByName.values()].filter((t) => !t.internal).map((t) => t.name),
    };
  }

  /** Auto-creates a topic for Metadata; resolves to a Kafka error code. */
  async autoCreateTopic(name: string): Promise<number> {
    try {
      await this.createTopic(name, -1, -1, {}, false);
      return ErrorCode.NONE;
    } catch (e) {
      if (e instanceof KafkaError) return e.code === ErrorCode.TOPIC_ALREADY_EXISTS ? ErrorCode.NONE : e.code;
      throw e;
    }
  }

  /**
   * Runs `ensure` (a coordinator's "create my internal topic when missing", which starts the creation and throws
   * while it is under way); when a creation of `name` is in flight, waits for it and runs `ensure` once more.
   */
  async ensureInternalTopic(name: string, ensure: () => number): Promise<number> {
    try {
      return ensure();
    } catch (e) {
      const pending = this.pendingCreations.get(name);
      if (pending === undefined) throw e;
      await pending.catch(() => undefined);
      return ensure();
    }
  }

  /** Deletes a topic and its data: the metadata record first; when that write fails, the topic stays usable. */
  deleteTopic(topic: Topic): Promise<void> {
    return this.serialize(async () => {
      if (this.topicsByName.get(topic.name) !== topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${topic.name}' does not exist.`);
      try {
        await this.metadata.deleteTopic(topic.name);
      } catch (e) {
        throw this.metadataFailure(`delete topic ${topic.name}`, e);
      }
      // in cluster mode the store's watch may have dropped it already
      if (this.topicsByName.get(topic.name) === topic) this.forgetTopic(topic);
    });
  }

  /** Drops a deleted topic here: no longer visible, parked requests answered, logs deleted. */
  private forgetTopic(topic: Topic): void {
    this.topicsByName.delete(topic.name);
    this.topicsById.delete(topic.idHex);
    this.topicsVersion++;
    this.groups?.onTopicDeleted(topic.name); // committed offsets of a deleted topic go too
    this.metrics?.topicDeleted(topic.name);
    for (const p of topic.partitions) {
      p.markRemoved();
      this.followLeader(topic, p);
    }
    this.dropPartitions(topic.name, 0, topic.partitions.length);
    this.logger.info(`deleted topic ${topic.name}`);
  }

  /** Grows a topic to `count` partitions (increase only); new logs first, then metadata, then visible. */
  async createPartitions(topic: Topic, count: number, validateOnly: boolean, manual: number[][] | null = null): Promise<void> {
    const check = (): void => {
      if (count < topic.partitions.length) {
        throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `Topic currently has ${topic.partitions.length} partitions, which is higher than the requested ${count}.`);
      }
      if (count === topic.partitions.length) throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `Topic already has ${count} partitions.`);
    };
    check();
    if (validateOnly) return;
    await this.serialize(async () => {
      if (this.topicsByName.get(topic.name) !== topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${topic.name}' does not exist.`);
      check();
      const cluster = this.cluster;
      if (cluster !== null) {
        try {
          await cluster.createPartitions(topic.name, count, manual);
        } catch (e) {
          throw this.metadataFailure(`add partitions to ${topic.name}`, e);
        }
        return; // the store's watch opens them
      }
      const from = topic.partitions.length;
      const added = this.openPartitions(topic, from, count);
      try {
        await this.logs.syncCreated();
        await this.metadata.updateTopic(this.recordOf(topic, count), this.localPartitionStates(topic.name, from, count));
      } catch (e) {
        this.dropPartitions(topic.name, from, count);
        throw this.metadataFailure(`add partitions to ${topic.name}`, e);
      }
      topic.partitions.push(...added);
      this.topicsVersion++;
    });
  }

  /** Replaces a topic's config overrides (already validated by {@link parseLogConfig}), durably first. */
  setTopicConfig(topic: Topic, overrides: Record<string, string>, config: LogConfig): Promise<void> {
    return this.serialize(async () => {
      if (this.topicsByName.get(topic.name) !== topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${topic.name}' does not exist.`);
      try {
        await this.metadata.updateTopic({ ...this.recordOf(topic, topic.partitions.length), configs: overrides }, []);
      } catch (e) {
        throw this.metadataFailure(`change the configs of ${topic.name}`, e);
      }
      topic.overrides = { ...overrides };
      topic.config = config;
      for (const p of topic.partitions) p.log.updateConfig(config);
    });
  }

  private recordOf(topic: Topic, partitions: number): TopicRecord {
    return {
      name: topic.name,
      idHex: topic.idHex,
      partitions,
      replicationFactor: topic.replicationFactor,
      configs: { ...topic.overrides },
      createdAtMs: this.metadata.topic(topic.name)?.createdAtMs ?? this.clock.nowMs(),
    };
  }

  /**
   * Leader elections (ElectLeaders). In a cluster through the control plane; a single node leads every partition,
   * so each one it has needs no election.
   */
  electLeaders(type: number, targets: readonly { topic: string; partition: number }[] | null): Promise<ElectionResult[]> {
    if (this.cluster !== null) return this.cluster.electLeaders(type, targets);
    return Promise.resolve((targets ?? []).map(({ topic, partition }) => {
      const known = this.partition(topic, partition) !== undefined;
      return { topic, partition, error: known ? ErrorCode.ELECTION_NOT_NEEDED : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: known ? `broker ${this.nodeId} already leads it` : `${topic}-${partition} does not exist` };
    }));
  }

  /** Every topic of the cluster's metadata, internal ones included (the topics an election over all partitions answers for). */
  electionTopicNames(): string[] {
    return this.metadata.topics().map((t) => t.name);
  }

  /**
   * AlterPartitionReassignments for one partition: in a cluster written to the metadata store (the controller
   * completes it); on a single node the only placement is this broker, so only a no-op move is valid.
   */
  async alterReassignment(topic: string, partition: number, target: number[] | null, allowReplicationFactorChange: boolean): Promise<void> {
    if (this.cluster !== null) {
      try {
        await this.cluster.alterReassignment(topic, partition, target, allowReplicationFactorChange);
      } catch (e) {
        throw this.metadataFailure(`reassign ${topic}-${partition}`, e);
      }
      return;
    }
    const state = this.metadata.partitionState(topic, partition);
    if (state === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Partition ${topic}-${partition} does not exist.`);
    if (target === null) throw new KafkaError(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, "No reassignment is in progress for this partition.");
    checkTarget(state, target, new Set([this.nodeId]), allowReplicationFactorChange);
  }

  /** Whether this broker is part of a cluster (etcd metadata) rather than a single node. */
  get isClustered(): boolean {
    return this.cluster !== null;
  }

  /** The active controller's node id (this broker on a single node; -1 in a cluster without one). */
  get controllerId(): number {
    return this.cluster === null ? this.nodeId : this.cluster.controllerId();
  }

  /**
   * The brokers clients are told about, each at its endpoint for listener `listenerName` (default: the first):
   * every registered broker in a cluster, this one alone on a single node.
   */
  clusterBrokers(listenerName?: string): { nodeId: number; host: string; port: number; rack: string | null }[] {
    if (this.cluster === null) return [{ nodeId: this.nodeId, ...this.advertised(listenerName), rack: null }];
    const name = listenerName ?? this.config.listeners[0].name;
    const out: { nodeId: number; host: string; port: number; rack: string | null }[] = [];
    for (const reg of this.metadata.brokers()) {
      const e = listenerEndpoint(reg, name) ?? reg.endpoints[0];
      if (e !== undefined) out.push({ nodeId: reg.nodeId, host: e.host, port: e.port, rack: reg.rack });
    }
    return out.sort((a, b) => a.nodeId - b.nodeId);
  }

  /**
   * Broker `nodeId` as {@link Broker.clusterBrokers} lists it, found by its registration (in a clustered shard's
   * store also a sibling shard of its node, src/shard/cluster-siblings.ts, which no list names), or undefined.
   */
  clusterBroker(nodeId: number, listenerName?: string): { nodeId: number; host: string; port: number; rack: string | null } | undefined {
    if (this.cluster === null) return nodeId === this.nodeId ? this.clusterBrokers(listenerName)[0] : undefined;
    const reg = this.metadata.broker(nodeId);
    const e = reg === undefined ? undefined : (listenerEndpoint(reg, listenerName ?? this.config.listeners[0].name) ?? reg.endpoints[0]);
    return e === undefined ? undefined : { nodeId, host: e.host, port: e.port, rack: reg!.rack };
  }

  /** Replicas of `p` that are offline: on a registered-broker basis in a cluster, plus this broker's failed log dir. */
  offlineReplicas(p: PartitionState): number[] {
    const out = p.log.isOffline ? [this.nodeId] : [];
    if (this.cluster === null) return out;
    for (const r of this.cluster.offlineReplicas?.(p.topic.idHex, p.index) ?? []) if (!out.includes(r)) out.push(r);
    for (const r of p.replicas) if (this.metadata.broker(r) === undefined && !out.includes(r)) out.push(r);
    return out;
  }

  /**
   * Whether the partition's leader is a broker clients can reach: it has one (not -1) and, in a cluster, that broker
   * is registered. Kafka's Metadata answers LEADER_NOT_AVAILABLE with no leader id otherwise (KRaftMetadataCache).
   */
  leaderAvailable(p: PartitionState): boolean {
    if (p.leader < 0) return false;
    return this.cluster === null || this.metadata.broker(p.leader) !== undefined;
  }

  /** The partition, or undefined when the topic or partition is unknown. */
  partition(topicName: string, index: number): PartitionState | undefined {
    return this.topicsByName.get(topicName)?.partitions[index];
  }

  /** Each log dir's partitions with their high watermarks, for `replication-offset-checkpoint`. */
  private highWatermarksByDir(): Map<string, CheckpointEntry[]> {
    // an offline log dir gets no more writes (Kafka's handleLogDirFailure drops its high watermark checkpoint)
    const byDir = new Map<string, CheckpointEntry[]>(this.logDirPaths.filter((d) => !this.logs.isLogDirOffline(d)).map((d) => [d, []]));
    for (const t of this.topicsByName.values()) {
      for (const p of t.partitions) {
        const dir = this.logs.logDirOf({ topic: t.name, partition: p.index });
        if (dir === undefined || p.log.isOffline) continue;
        byDir.get(dir)?.push({ topic: t.name, partition: p.index, offset: p.highWatermark });
      }
    }
    return byDir;
  }

  /**
   * Every half `replica.lag.time.max.ms`, each partition this broker leads with followers decides its ISR
   * (Partition.proposedIsr); a change is written as a compare-and-set of the partition state, and the partition
   * takes it when the store's watch reports it. A lost race is simply decided again next time.
   */
  private scheduleIsrCheck(): void {
    const lagMs = this.config.num("replica.lag.time.max.ms");
    this.isrCheckTimer = this.clock.setTimer(() => {
      if (this.stopped) return;
      for (const t of this.topicsByName.values()) for (const p of t.partitions) this.checkIsr(p);
      this.scheduleIsrCheck();
    }, Math.max(1, Math.floor(lagMs / 2)));
  }

  /** A leader's ISR decision for one partition, written when it changes (one write at a time per partition). */
  private checkIsr(p: PartitionState): void {
    if (this.stopped || !p.isLeader || p.replicas.length < 2 || this.isrWrites.has(p)) return;
    const proposed = p.proposedIsr(this.clock.monotonicMs(), this.config.num("replica.lag.time.max.ms"));
    const name = p.topic.name;
    const state = this.metadata.partitionState(name, p.index);
    if (proposed === null || state === undefined || state.leaderEpoch !== p.leaderEpoch || state.leader !== this.nodeId) return;
    // a broker in a controlled shutdown does not join an ISR (the controller takes it out)
    const isr = proposed.filter((r) => state.isr.includes(r) || !this.metadata.brokers().some((b) => b.nodeId === r && b.inControlledShutdown));
    // joiners of an earlier write whose outcome is unknown (an etcd answer lost: it may have been applied) hold the
    // high watermark until a write settles it: rewriting the ISR as it stands (a compare-and-set on the partition
    // epoch) either wins, so the earlier write was not applied, or loses to the state that came since
    const unsettled = p.isrJoining.filter((id) => !state.isr.includes(id));
    if (isr.length === state.isr.length && isr.every((r) => state.isr.includes(r)) && unsettled.length === 0) return;
    // in a cluster fenced by this broker's epoch too (a fenced leader cannot change the ISR)
    const joiningEpochs = new Map(isr.filter((id) => !state.isr.includes(id)).map((id) => [id, Number(p.follower(id)?.brokerEpoch ?? -1n)]));
    // while the write is in flight the high watermark waits for the joining followers too (Partition.setIsrJoining)
    const joining = [...new Set([...unsettled, ...joiningEpochs.keys()])];
    if (joining.length > 0) p.setIsrJoining(joining);
    // "moved": the partition state changed since, or this leader was fenced: takeRoles brings the outcome (as Kafka's
    // Partition stays pending on INVALID_UPDATE_VERSION and FENCED_LEADER_EPOCH)
    const write: Promise<boolean | "moved"> =
      this.cluster === null
        ? this.metadata.compareAndSetPartition({ ...state, isr, partitionEpoch: state.partitionEpoch + 1 }, state.partitionEpoch)
        : this.cluster.alterIsr(state, isr, joiningEpochs).then((code) => code === ErrorCode.NONE || (ISR_WRITE_MOVED.has(code) ? "moved" : false));
    this.isrWrites.add(p);
    write
      .then(
        (applied) => {
          if (applied === true) this.logger.info(`${name}-${p.index}: ISR ${state.isr.join(",")} -> ${isr.join(",")}`);
          else if (applied === false) p.setIsrJoining([]);
        },
        (e) => {
          // the outcome is unknown (etcd may have applied the write and lost the answer): the joiners keep holding the
          // high watermark until the roles or a later write settle it (Kafka's Partition keeps its pending state and
          // retries); dropping them let the high watermark pass a follower the ISR held
          this.logger.warn(`${name}-${p.index}: ISR change to ${isr.join(",")} not written: ${(e as Error).message}`);
        },
      )
      .finally(() => this.isrWrites.delete(p));
  }

  /**
   * Every `producer.id.expiration.check.interval.ms`, each partition drops the producers idle for
   * `producer.id.expiration.ms` with no transaction open (as Kafka's broker does), so DescribeProducers and the next
   * producer snapshot no longer hold them.
   */
  private scheduleProducerExpiry(): void {
    this.producerExpiryTimer = this.clock.setTimer(() => {
      if (this.stopped) return;
      const now = this.clock.nowMs();
      for (const t of this.topicsByName.values()) for (const p of t.partitions) p.producers.removeExpired(now);
      this.scheduleProducerExpiry();
    }, this.config.num("producer.id.expiration.check.interval.ms"));
  }

  /** Checkpoints high watermarks every `replica.high.watermark.checkpoint.interval.ms`. */
  private scheduleHighWatermarkCheckpoint(): void {
    this.hwCheckpointTimer = this.clock.setTimer(() => {
      if (this.stopped) return;
      this.hwCheckpoints.writeSoon(this.highWatermarksByDir());
      this.scheduleHighWatermarkCheckpoint();
    }, this.config.num("replica.high.watermark.checkpoint.interval.ms"));
  }

  /** Log directories with their partitions, for DescribeLogDirs. */
  logDirs(): { dir: string; partitions: { topic: string; partition: number; size: number }[]; offline: string | null }[] {
    return this.logs.describe();
  }
}
