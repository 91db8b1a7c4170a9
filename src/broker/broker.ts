/**
 * The single-node broker: owns the topic table, the partition logs, the listener and the background timers, and
 * builds the per-API handlers. Handlers reach storage only through the {@link Topic}/{@link PartitionState}
 * objects kept here.
 */
import * as nodePath from "node:path";
import { systemClock, type Clock } from "../platform/clock.ts";
import { nodeFileSystem, type FileSystem } from "../platform/fs.ts";
import { type RandomSource, systemRandom } from "../platform/random.ts";
import { initCrc32c } from "../protocol/crc32c.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { initCompression, codecById } from "../compression/index.ts";
import { LocalMetadataStore, type MetadataStore, type TopicRecord } from "../cluster/metadata-store.ts";
import { LogManager } from "../storage/log-manager.ts";
import type { PartitionLog } from "../storage/partition-log.ts";
import { logConfigFromBrokerProperties, parseLogConfig, type LogConfig } from "../storage/log-config.ts";
import type { BrokerConfig } from "./config.ts";
import type { ApiHandler } from "./api-handler.ts";
import { startKafkaListener, type KafkaListener } from "./kafka-listener.ts";
import { escapeLogText } from "./log-escape.ts";
import { topicNameProblem, isInternalTopic } from "./topic-names.ts";
import { randomUuid, uuidFromHex, uuidHex, uuidBase64 } from "../protocol/uuid.ts";
import { buildHandlers } from "./apis/index.ts";
import { ensureMetaProperties } from "./meta-properties.ts";
import { ProducerStateTable } from "./producer-state.ts";
import { ProducerIdAllocator } from "./producer-ids.ts";
import { loadProducerState, writeProducerSnapshot } from "./producer-snapshot.ts";
import { FetchSessionCache } from "./fetch-sessions.ts";
import { GroupCoordinator } from "../group/group-coordinator.ts";
import { groupConfigFrom } from "../group/group-config.ts";
import { OffsetsTopicLog } from "../group/offsets-topic-log.ts";
import { OFFSETS_TOPIC } from "../group/offsets-topic-storage.ts";
// Transactions (src/transactions): coordinator, `__transaction_state`, markers, aborted-transaction index.
import { TransactionCoordinator } from "../transactions/transaction-coordinator.ts";
import { transactionConfigFrom } from "../transactions/transaction-config.ts";
import { TransactionStateLog } from "../transactions/transaction-log.ts";
import { PartitionMarkerWriter } from "../transactions/txn-markers.ts";
import { AbortedTxnIndex } from "../transactions/aborted-txn-index.ts";
// Metrics (src/http/metrics): plain counters kept when `http.listeners` is set.
import { BrokerMetrics } from "../http/metrics/broker-metrics.ts";
import { timedFileSystem } from "../platform/timed-fs.ts";

/** Logger used across the broker. */
export interface BrokerLogger {
  /** Normal events. */
  info(msg: string): void;
  /** Handled problems. */
  warn(msg: string): void;
  /** Failures. */
  error(msg: string): void;
}

/** A logger writing timestamped lines to stderr, one line per event (control characters escaped). */
export const consoleLogger: BrokerLogger = {
  info: (m) => console.error(`${new Date().toISOString()} INFO ${escapeLogText(m)}`),
  warn: (m) => console.error(`${new Date().toISOString()} WARN ${escapeLogText(m)}`),
  error: (m) => console.error(`${new Date().toISOString()} ERROR ${escapeLogText(m)}`),
};

/** One partition led by this broker. */
export interface PartitionState {
  /** Owning topic. */
  readonly topic: Topic;
  /** Partition index. */
  readonly index: number;
  /** The durable log. */
  readonly log: PartitionLog;
  /** Current leader epoch (a single node bumps it never; replication will). */
  leaderEpoch: number;
  /** Fetches waiting for data on this partition. */
  readonly waiters: Set<() => void>;
  /** Idempotent-producer state of this partition (and its ongoing transactions, for the LSO). */
  readonly producers: ProducerStateTable;
  /** Aborted transactions of this partition, for read_committed fetches. */
  readonly abortedTxns: AbortedTxnIndex;
}

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
  /** Broker-level defaults for topic configs. */
  readonly defaultLogConfig: LogConfig;
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
  private stopped = false;

  private constructor(config: BrokerConfig, clusterId: string, logs: LogManager, metadata: MetadataStore, defaults: LogConfig, deps: Required<Omit<BrokerDeps, "recoveryProgress">>) {
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
    this.fetchSessions = new FetchSessionCache(config.num("max.incremental.fetch.session.cache.slots"), deps.clock, deps.random);
    this.producerIds = new ProducerIdAllocator(deps.fs, config.logDirs.map((p) => nodePath.resolve(p))[0]);
  }

  /** Opens storage, recovers logs, loads topics and starts listening. */
  static async start(config: BrokerConfig, deps: BrokerDeps = {}): Promise<Broker> {
    const startedAt = performance.now();
    const d: Required<Omit<BrokerDeps, "recoveryProgress">> = { fs: deps.fs ?? nodeFileSystem, clock: deps.clock ?? systemClock, logger: deps.logger ?? consoleLogger, random: deps.random ?? systemRandom };
    const metrics = config.list("http.listeners").length > 0 ? new BrokerMetrics() : null;
    if (metrics !== null) d.fs = timedFileSystem(d.fs, (ms) => metrics.fsync.observe(ms));
    await Promise.all([initCrc32c(), initCompression()]);
    const dirs = config.logDirs.map((p) => nodePath.resolve(p));
    for (const dir of dirs) d.fs.mkdirp(dir);
    const clusterId = ensureMetaProperties(d.fs, dirs, config.nodeId, config.raw("cluster.id"), d.random);
    const defaults = logConfigFromBrokerProperties(config.values);
    if (!defaults.ok) throw new Error(defaults.message);
    const logs = await LogManager.open(dirs, {
      fs: d.fs,
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
      cleaner: {
        enable: config.bool("log.cleaner.enable"),
        backoffMs: config.num("log.cleaner.backoff.ms"),
        dedupeBufferBytes: config.num("log.cleaner.dedupe.buffer.size"),
      },
      afterPartitionLoaded: deps.recoveryProgress,
    });
    const metadata = new LocalMetadataStore(d.fs, dirs[0]);
    const broker = new Broker(config, clusterId, logs, metadata, defaults.config, d);
    broker.metrics = metrics;
    broker.loadTopics();
    // Consumer groups: replay __consumer_offsets, then arm sessions and offset expiry.
    const offsetsLog = new OffsetsTopicLog(broker);
    broker.groups = new GroupCoordinator({ config: groupConfigFrom(config), clock: d.clock, logger: d.logger, randomId: () => d.random.uuid(), storage: offsetsLog, endOffsets: offsetsLog });
    broker.groups.load();
    // Transactions: replay __transaction_state; those caught between Prepare and Complete get their markers now.
    const markers = new PartitionMarkerWriter(broker, d.clock, d.logger, (tp, producerId, commit) => {
      if (tp.topic === OFFSETS_TOPIC) broker.groups.onTransactionCompleted(producerId, tp.partition, commit);
    });
    broker.txns = new TransactionCoordinator({ config: transactionConfigFrom(config), clock: d.clock, logger: d.logger, storage: new TransactionStateLog(broker), markers, producerIds: broker.producerIds });
    broker.txns.load();
    broker.handlers = buildHandlers(broker);
    metrics?.serveApis(broker.handlers.flatMap((h) => (h === undefined ? [] : [h.apiKey])));
    const spec = config.listeners[0];
    for (const key of config.unknownKeys()) d.logger.warn(`The configuration '${key}' was supplied but isn't a known config; it is ignored.`);
    broker.listener = await startKafkaListener(spec.host || "0.0.0.0", spec.port, config, broker.handlers, d.clock, (level, msg) => d.logger[level](msg), metrics ?? undefined);
    const ms = (performance.now() - startedAt).toFixed(0);
    d.logger.info(
      `Runnel broker ${broker.nodeId} (cluster ${clusterId}) listening on ${spec.name}://${broker.listener.listener.host}:${broker.listener.listener.port}, ` +
        `data in ${dirs.join(", ")}, ${broker.topicsByName.size} topics, ready in ${ms} ms`,
    );
    return broker;
  }

  /** The bound port (useful when 0 was asked). */
  get port(): number {
    return this.listener?.listener.port ?? -1;
  }

  /** Host and port given to clients. */
  advertised(): { host: string; port: number } {
    const adv = this.config.advertisedListeners[0];
    const host = adv.host === "" || adv.host === "0.0.0.0" ? "127.0.0.1" : adv.host;
    const port = adv.port === 0 ? this.port : adv.port;
    return { host, port };
  }

  /** Stops listening, flushes and closes every log. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.listener?.close();
    for (const t of this.topicsByName.values()) {
      for (const p of t.partitions) {
        for (const w of p.waiters) w();
        try {
          writeProducerSnapshot(this.fs, p.log, p.producers);
        } catch (e) {
          this.logger.warn(`could not write the producer snapshot of ${t.name}-${p.index}: ${(e as Error).message}`);
        }
      }
    }
    this.txns?.stop();
    this.groups?.stop();
    await this.logs.close();
    this.logger.info("Runnel broker stopped");
  }

  private loadTopics(): void {
    for (const rec of this.metadata.topics()) {
      const parsed = parseLogConfig(rec.configs, this.defaultLogConfig);
      const config = parsed.ok ? parsed.config : this.defaultLogConfig;
      if (!parsed.ok) this.logger.warn(`topic ${rec.name}: ignoring bad stored config: ${parsed.message}`);
      const topic = this.makeTopic(rec, config);
      this.addPartitions(topic, rec.partitions);
    }
    // Partition directories whose topic metadata is gone (deleted while down) are removed by the log manager.
    this.logs.removeUnknown((name) => this.topicsByName.has(name));
  }

  private makeTopic(rec: TopicRecord, config: LogConfig): Topic {
    const id = uuidFromHex(rec.idHex);
    const topic: Topic = {
      name: rec.name,
      id,
      idHex: rec.idHex,
      internal: isInternalTopic(rec.name),
      partitions: [],
      overrides: { ...rec.configs },
      config,
      replicationFactor: rec.replicationFactor,
    };
    this.topicsByName.set(topic.name, topic);
    this.topicsById.set(topic.idHex, topic);
    return topic;
  }

  private addPartitions(topic: Topic, count: number): void {
    for (let i = topic.partitions.length; i < count; i++) {
      const log = this.logs.getOrCreate({ topic: topic.name, partition: i }, topic.config, uuidBase64(topic.id));
      log.highWatermark = log.logEndOffset;
      const producers = new ProducerStateTable();
      const abortedTxns = AbortedTxnIndex.open(this.fs, log, (m) => this.logger.warn(m));
      const loaded = loadProducerState(this.fs, log, producers, (a) => abortedTxns.add(a));
      if (loaded !== null) this.logger.info(loaded);
      topic.partitions.push({ topic, index: i, log, leaderEpoch: 0, waiters: new Set(), producers, abortedTxns });
    }
  }

  /** Validates and (unless `validateOnly`) creates a topic; throws {@link KafkaError} on failure. */
  createTopic(name: string, partitions: number, replicationFactor: number, configs: Record<string, string>, validateOnly: boolean): Topic | null {
    const problem = topicNameProblem(name);
    if (problem) throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, problem);
    if (this.topicsByName.has(name)) throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`);
    const collides = [...this.topicsByName.keys()].find((n) => n !== name && n.replace(/\./g, "_") === name.replace(/\./g, "_"));
    if (collides) throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${name}' collides with existing topic '${collides}'.`);
    if (partitions === -1) partitions = this.config.num("num.partitions");
    if (replicationFactor === -1) replicationFactor = this.config.num("default.replication.factor");
    if (partitions <= 0) throw new KafkaError(ErrorCode.INVALID_PARTITIONS, "Number of partitions must be larger than 0.");
    if (partitions > 100_000) throw new KafkaError(ErrorCode.INVALID_PARTITIONS, "Number of partitions is above 100000.");
    if (replicationFactor <= 0) throw new KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, "Replication factor must be larger than 0.");
    if (replicationFactor > 1) {
      throw new KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, `Unable to replicate the partition ${replicationFactor} time(s): The target replication factor of ${replicationFactor} cannot be reached because only 1 broker(s) are registered.`);
    }
    const parsed = parseLogConfig(configs, this.defaultLogConfig);
    if (!parsed.ok) throw new KafkaError(parsed.errorCode, parsed.message);
    if (validateOnly) return null;
    const rec: TopicRecord = { name, idHex: uuidHex(randomUuid(this.random)), partitions, replicationFactor, configs, createdAtMs: this.clock.nowMs() };
    this.metadata.put(rec);
    const topic = this.makeTopic(rec, parsed.config);
    this.addPartitions(topic, partitions);
    this.logger.info(`created topic ${name} with ${partitions} partition(s)`);
    return topic;
  }

  /** Auto-creates a topic for Metadata; returns a Kafka error code. */
  autoCreateTopic(name: string): number {
    try {
      this.createTopic(name, -1, -1, {}, false);
      return ErrorCode.NONE;
    } catch (e) {
      if (e instanceof KafkaError) return e.code === ErrorCode.TOPIC_ALREADY_EXISTS ? ErrorCode.NONE : e.code;
      throw e;
    }
  }

  /** Deletes a topic and its data. */
  deleteTopic(topic: Topic): void {
    this.metadata.remove(topic.name);
    this.topicsByName.delete(topic.name);
    this.topicsById.delete(topic.idHex);
    this.groups?.onTopicDeleted(topic.name); // committed offsets of a deleted topic go too
    this.metrics?.topicDeleted(topic.name);
    for (const p of topic.partitions) {
      for (const w of p.waiters) w();
      this.logs.delete({ topic: topic.name, partition: p.index });
    }
    this.logger.info(`deleted topic ${topic.name}`);
  }

  /** Grows a topic to `count` partitions (increase only). */
  createPartitions(topic: Topic, count: number, validateOnly: boolean): void {
    if (count < topic.partitions.length) {
      throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `Topic currently has ${topic.partitions.length} partitions, which is higher than the requested ${count}.`);
    }
    if (count === topic.partitions.length) {
      throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `Topic already has ${count} partitions.`);
    }
    if (validateOnly) return;
    this.metadata.put(this.recordOf(topic, count));
    this.addPartitions(topic, count);
  }

  /** Replaces a topic's config overrides (already validated by {@link parseLogConfig}). */
  setTopicConfig(topic: Topic, overrides: Record<string, string>, config: LogConfig): void {
    this.metadata.put({ ...this.recordOf(topic, topic.partitions.length), configs: overrides });
    topic.overrides = { ...overrides };
    topic.config = config;
    for (const p of topic.partitions) p.log.updateConfig(config);
  }

  private recordOf(topic: Topic, partitions: number): TopicRecord {
    const old = this.metadata.topics().find((t) => t.name === topic.name);
    return {
      name: topic.name,
      idHex: topic.idHex,
      partitions,
      replicationFactor: topic.replicationFactor,
      configs: { ...topic.overrides },
      createdAtMs: old?.createdAtMs ?? this.clock.nowMs(),
    };
  }

  /** The partition, or undefined when the topic or partition is unknown. */
  partition(topicName: string, index: number): PartitionState | undefined {
    return this.topicsByName.get(topicName)?.partitions[index];
  }

  /** Wakes fetches waiting on `p` (called after an append moves the high watermark). */
  notifyAppend(p: PartitionState): void {
    if (p.waiters.size === 0) return;
    const ws = [...p.waiters];
    p.waiters.clear();
    for (const w of ws) w();
  }

  /** Log directories with their partitions, for DescribeLogDirs. */
  logDirs(): { dir: string; partitions: { topic: string; partition: number; size: number }[] }[] {
    return this.logs.describe();
  }
}
