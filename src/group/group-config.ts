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
}

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
};

/** The part of the broker's configuration read here (BrokerConfig satisfies it). */
export interface GroupConfigSource {
  /** The raw value or default of a key, or null. */
  raw(key: string): string | null;
}

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
  };
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
