/** The broker settings the group coordinator reads, resolved once into numbers, and where it logs. */

/** Coordinator settings (Kafka key names in the comments). */
export interface GroupConfig {
  /** `group.min.session.timeout.ms`. */
  minSessionTimeoutMs: number;
  /** `group.max.session.timeout.ms`. */
  maxSessionTimeoutMs: number;
  /** `group.initial.rebalance.delay.ms`. */
  initialRebalanceDelayMs: number;
  /** `group.max.size`. */
  maxSize: number;
  /** `offsets.topic.num.partitions` (used when the topic is created). */
  offsetsTopicPartitions: number;
  /** `offsets.topic.segment.bytes`. */
  offsetsTopicSegmentBytes: number;
  /** `offsets.retention.minutes` in ms. */
  offsetsRetentionMs: number;
  /** `offsets.retention.check.interval.ms`. */
  offsetsRetentionCheckIntervalMs: number;
  /** `offset.metadata.max.bytes`. */
  offsetMetadataMaxBytes: number;
  /** How long a new member's JoinGroup may wait before it is dropped (Kafka's 5 minutes). */
  newMemberJoinTimeoutMs: number;
  /** `group.consumer.session.timeout.ms` (KIP-848 groups). */
  consumerSessionTimeoutMs: number;
  /** `group.consumer.heartbeat.interval.ms`. */
  consumerHeartbeatIntervalMs: number;
  /** `group.consumer.max.size`. */
  consumerMaxSize: number;
  /** `group.consumer.assignors` (built-in names; the first is the default). */
  consumerAssignors: string[];
  /** `group.consumer.migration.policy`. */
  consumerMigrationPolicy: ConsumerGroupMigrationPolicy;
}

/** Values of `group.consumer.migration.policy`. */
export type ConsumerGroupMigrationPolicy = "bidirectional" | "upgrade" | "downgrade" | "disabled";
const MIGRATION_POLICIES: readonly ConsumerGroupMigrationPolicy[] = ["bidirectional", "upgrade", "downgrade", "disabled"];

/** Kafka's `offset.metadata.max.bytes` default. */
export const DEFAULT_OFFSET_METADATA_MAX_BYTES = 4096;
/** Kafka's `group.new.member.join.timeout.ms` (internal) default. */
export const DEFAULT_NEW_MEMBER_JOIN_TIMEOUT_MS = 300_000;

/** Defaults matching Kafka's, for tests and embedding. */
export const DEFAULT_GROUP_CONFIG: Readonly<GroupConfig> = {
  minSessionTimeoutMs: 6000,
  maxSessionTimeoutMs: 1_800_000,
  initialRebalanceDelayMs: 3000,
  maxSize: 2147483647,
  offsetsTopicPartitions: 50,
  offsetsTopicSegmentBytes: 104_857_600,
  offsetsRetentionMs: 10080 * 60_000,
  offsetsRetentionCheckIntervalMs: 600_000,
  offsetMetadataMaxBytes: DEFAULT_OFFSET_METADATA_MAX_BYTES,
  newMemberJoinTimeoutMs: DEFAULT_NEW_MEMBER_JOIN_TIMEOUT_MS,
  consumerSessionTimeoutMs: 45_000,
  consumerHeartbeatIntervalMs: 5000,
  consumerMaxSize: 2147483647,
  consumerAssignors: ["uniform", "range"],
  consumerMigrationPolicy: "bidirectional",
};

/** The part of the broker's configuration read here (BrokerConfig satisfies it). */
export interface GroupConfigSource {
  /** The raw value or default of a key, or null. */
  raw(key: string): string | null;
}

/** Kafka's class names of the built-in server assignors, accepted in `group.consumer.assignors`. */
const KAFKA_ASSIGNOR_CLASSES: Record<string, string> = {
  "org.apache.kafka.coordinator.group.assignor.UniformAssignor": "uniform",
  "org.apache.kafka.coordinator.group.assignor.RangeAssignor": "range",
};

/** Reads the coordinator settings from broker settings, falling back to Kafka's defaults. */
export function groupConfigFrom(src: GroupConfigSource): GroupConfig {
  const num = (key: string, fallback: number): number => {
    const v = src.raw(key);
    if (v === null || v.trim() === "") return fallback;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`config ${key}=${v}: expected a number`);
    return n;
  };
  const d = DEFAULT_GROUP_CONFIG;
  const cfg: GroupConfig = {
    minSessionTimeoutMs: num("group.min.session.timeout.ms", d.minSessionTimeoutMs),
    maxSessionTimeoutMs: num("group.max.session.timeout.ms", d.maxSessionTimeoutMs),
    initialRebalanceDelayMs: num("group.initial.rebalance.delay.ms", d.initialRebalanceDelayMs),
    maxSize: num("group.max.size", d.maxSize),
    offsetsTopicPartitions: num("offsets.topic.num.partitions", d.offsetsTopicPartitions),
    offsetsTopicSegmentBytes: num("offsets.topic.segment.bytes", d.offsetsTopicSegmentBytes),
    offsetsRetentionMs: num("offsets.retention.minutes", d.offsetsRetentionMs / 60_000) * 60_000,
    offsetsRetentionCheckIntervalMs: num("offsets.retention.check.interval.ms", d.offsetsRetentionCheckIntervalMs),
    offsetMetadataMaxBytes: num("offset.metadata.max.bytes", d.offsetMetadataMaxBytes),
    newMemberJoinTimeoutMs: num("group.new.member.join.timeout.ms", d.newMemberJoinTimeoutMs),
    consumerSessionTimeoutMs: num("group.consumer.session.timeout.ms", d.consumerSessionTimeoutMs),
    consumerHeartbeatIntervalMs: num("group.consumer.heartbeat.interval.ms", d.consumerHeartbeatIntervalMs),
    consumerMaxSize: num("group.consumer.max.size", d.consumerMaxSize),
    consumerAssignors: (src.raw("group.consumer.assignors") ?? d.consumerAssignors.join(","))
      .split(",")
      .map((a) => a.trim())
      .filter((a) => a !== "")
      .map((a) => KAFKA_ASSIGNOR_CLASSES[a] ?? a),
    consumerMigrationPolicy: (src.raw("group.consumer.migration.policy") ?? d.consumerMigrationPolicy).trim().toLowerCase() as ConsumerGroupMigrationPolicy,
  };
  if (!MIGRATION_POLICIES.includes(cfg.consumerMigrationPolicy)) throw new Error(`group.consumer.migration.policy must be one of ${MIGRATION_POLICIES.join(", ")}`);
  const unknown = cfg.consumerAssignors.filter((a) => a !== "uniform" && a !== "range");
  if (unknown.length > 0 || cfg.consumerAssignors.length === 0) throw new Error(`group.consumer.assignors: only the built-in uniform and range are supported (got ${cfg.consumerAssignors.join(",")})`);
  const minSession = num("group.consumer.min.session.timeout.ms", 45_000);
  const maxSession = num("group.consumer.max.session.timeout.ms", 60_000);
  if (cfg.consumerSessionTimeoutMs < minSession || cfg.consumerSessionTimeoutMs > maxSession) {
    throw new Error(`group.consumer.session.timeout.ms must lie within group.consumer.min.session.timeout.ms (${minSession}) and group.consumer.max.session.timeout.ms (${maxSession})`);
  }
  const minHb = num("group.consumer.min.heartbeat.interval.ms", 5000);
  const maxHb = num("group.consumer.max.heartbeat.interval.ms", 15_000);
  if (cfg.consumerHeartbeatIntervalMs < minHb || cfg.consumerHeartbeatIntervalMs > maxHb) {
    throw new Error(`group.consumer.heartbeat.interval.ms must lie within group.consumer.min.heartbeat.interval.ms (${minHb}) and group.consumer.max.heartbeat.interval.ms (${maxHb})`);
  }
  if (cfg.consumerHeartbeatIntervalMs >= cfg.consumerSessionTimeoutMs) throw new Error("group.consumer.heartbeat.interval.ms must be less than group.consumer.session.timeout.ms");
  if (cfg.offsetsTopicPartitions < 1) throw new Error("offsets.topic.num.partitions must be at least 1");
  if (cfg.maxSize < 1) throw new Error("group.max.size must be at least 1");
  if (cfg.minSessionTimeoutMs > cfg.maxSessionTimeoutMs) throw new Error("group.min.session.timeout.ms exceeds group.max.session.timeout.ms");
  return cfg;
}

/** Where the coordinator reports events. */
export interface GroupLogger {
  /** Normal events. */
  info(msg: string): void;
  /** Handled problems. */
  warn(msg: string): void;
  /** Failures. */
  error(msg: string): void;
}
