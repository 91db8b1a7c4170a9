/**
 * Topic-level log settings under Kafka's key names (`segment.bytes`, `retention.ms`, ...), their Kafka 4.x
 * defaults and validators, and the typed {@link LogConfig} that storage reads. {@link LOG_CONFIG_KEYS} is the one
 * list of known keys, so DescribeConfigs can list every key with its type, default, broker synonym and doc.
 *
 * Longs: Kafka's `Long.MAX_VALUE` ("never") parses to `Infinity`, and any long above 2^53 is treated the same
 * (those are time spans of centuries or sizes of exabytes); {@link logConfigValueString} prints it back as
 * `9223372036854775807`.
 */
import { ErrorCode } from "../protocol/errors.ts";

/** Kafka's `Long.MAX_VALUE` as printed in configs. */
export const LONG_MAX_STRING = "9223372036854775807";

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

/** `cleanup.policy` values. */
export type CleanupPolicy = "delete" | "compact";
/** `message.timestamp.type` values. */
export type TimestampType = "CreateTime" | "LogAppendTime";
/** `compression.type` values for a topic. */
export type TopicCompressionType = "producer" | "uncompressed" | "gzip" | "snappy" | "lz4" | "zstd";

/** The typed topic configuration storage works from (one field per key in {@link LOG_CONFIG_KEYS}). */
export interface LogConfig {
  /** `cleanup.policy`. */
  cleanupPolicy: CleanupPolicy[];
  /** `compression.type`. */
  compressionType: TopicCompressionType;
  /** `compression.gzip.level`. */
  compressionGzipLevel: number;
  /** `compression.lz4.level`. */
  compressionLz4Level: number;
  /** `compression.zstd.level`. */
  compressionZstdLevel: number;
  /** `delete.retention.ms`. */
  deleteRetentionMs: number;
  /** `file.delete.delay.ms`. */
  fileDeleteDelayMs: number;
  /** `flush.messages` (Infinity = never). */
  flushMessages: number;
  /** `flush.ms` (Infinity = never). */
  flushMs: number;
  /** `follower.replication.throttled.replicas` (raw list text). */
  followerReplicationThrottledReplicas: string;
  /** `index.interval.bytes`. */
  indexIntervalBytes: number;
  /** `leader.replication.throttled.replicas` (raw list text). */
  leaderReplicationThrottledReplicas: string;
  /** `local.retention.bytes`. */
  localRetentionBytes: number;
  /** `local.retention.ms`. */
  localRetentionMs: number;
  /** `max.compaction.lag.ms`. */
  maxCompactionLagMs: number;
  /** `max.message.bytes`. */
  maxMessageBytes: number;
  /** `message.timestamp.after.max.ms`. */
  messageTimestampAfterMaxMs: number;
  /** `message.timestamp.before.max.ms`. */
  messageTimestampBeforeMaxMs: number;
  /** `message.timestamp.type`. */
  messageTimestampType: TimestampType;
  /** `min.cleanable.dirty.ratio`. */
  minCleanableDirtyRatio: number;
  /** `min.compaction.lag.ms`. */
  minCompactionLagMs: number;
  /** `min.insync.replicas`. */
  minInsyncReplicas: number;
  /** `preallocate`: keep zero-filled, fdatasynced space ahead of the active segment's end (see Segment.preallocateAhead). */
  preallocate: boolean;
  /** `remote.storage.enable` (accepted, only false is supported). */
  remoteStorageEnable: boolean;
  /** `remote.copy.lag.bytes`, `remote.copy.lag.ms`, `remote.log.copy.disable`, `remote.log.delete.on.disable` (tiered storage; accepted, unused). */
  remoteCopyLagBytes: number;
  /** See remoteCopyLagBytes. */
  remoteCopyLagMs: number;
  /** See remoteCopyLagBytes. */
  remoteLogCopyDisable: boolean;
  /** See remoteCopyLagBytes. */
  remoteLogDeleteOnDisable: boolean;
  /** `errors.deadletterqueue.group.enable` (share-group dead-letter queues; accepted, unused). */
  errorsDeadletterqueueGroupEnable: boolean;
  /** `max.decompressed.message.bytes` (accepted; Runnel bounds decompression by max.message.bytes). */
  maxDecompressedMessageBytes: number;
  /** `retention.bytes` (-1 = unlimited). */
  retentionBytes: number;
  /** `retention.ms` (-1 = unlimited). */
  retentionMs: number;
  /** `segment.bytes`. */
  segmentBytes: number;
  /** `segment.index.bytes`. */
  segmentIndexBytes: number;
  /** `segment.jitter.ms`. */
  segmentJitterMs: number;
  /** `segment.ms`. */
  segmentMs: number;
  /** `unclean.leader.election.enable`. */
  uncleanLeaderElectionEnable: boolean;
}

/** Value type of a config key, as DescribeConfigs reports it. */
export type LogConfigType = "boolean" | "string" | "int" | "long" | "double" | "list";

/** DescribeConfigs `ConfigType` codes (Kafka's `ConfigDef.Type` as sent on the wire). */
export const CONFIG_TYPE_CODE: Readonly<Record<LogConfigType, number>> = {
  boolean: 1,
  string: 2,
  int: 3,
  long: 5,
  double: 6,
  list: 7,
};

/** One known topic config key. */
export interface LogConfigKey {
  /** Topic-level key, e.g. `segment.bytes`. */
  name: string;
  /** Field of {@link LogConfig} it fills. */
  field: keyof LogConfig;
  /** Value type. */
  type: LogConfigType;
  /** Kafka's default, as a string. */
  default: string;
  /** Broker-level key that supplies the default (DescribeConfigs synonym), or null. */
  serverDefaultKey: string | null;
  /** Human text for DescribeConfigs `documentation`. */
  doc: string;
  /** Inclusive lower bound for numbers. */
  min?: number;
  /** Inclusive upper bound for numbers. */
  max?: number;
  /** Allowed values for strings and list items. */
  oneOf?: readonly string[];
  /** Lists whose items are replicas (`partition:broker`), or the single wildcard `*` (Kafka's throttled-replica lists). */
  replicaList?: true;
}

/** Every topic config key Runnel knows, in Kafka's alphabetical order. */
export const LOG_CONFIG_KEYS: readonly LogConfigKey[] = [
  { name: "cleanup.policy", field: "cleanupPolicy", type: "list", default: "delete", serverDefaultKey: "log.cleanup.policy", oneOf: ["compact", "delete"], doc: "delete removes old segments by retention.ms/retention.bytes; compact keeps the last record per key; an empty list keeps every segment." },
  { name: "compression.gzip.level", field: "compressionGzipLevel", type: "int", default: "-1", serverDefaultKey: "compression.gzip.level", min: -1, max: 9, doc: "Level for compression.type=gzip (-1 = codec default)." },
  { name: "compression.lz4.level", field: "compressionLz4Level", type: "int", default: "9", serverDefaultKey: "compression.lz4.level", min: 1, max: 17, doc: "Level for compression.type=lz4." },
  { name: "compression.type", field: "compressionType", type: "string", default: "producer", serverDefaultKey: "compression.type", oneOf: ["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"], doc: "Codec for stored batches; producer keeps the codec the producer used." },
  { name: "compression.zstd.level", field: "compressionZstdLevel", type: "int", default: "3", serverDefaultKey: "compression.zstd.level", min: -131072, max: 22, doc: "Level for compression.type=zstd." },
  { name: "delete.retention.ms", field: "deleteRetentionMs", type: "long", default: "86400000", serverDefaultKey: "log.cleaner.delete.retention.ms", min: 0, doc: "How long tombstones are kept in compacted topics." },
  { name: "errors.deadletterqueue.group.enable", field: "errorsDeadletterqueueGroupEnable", type: "boolean", default: "false", serverDefaultKey: null, doc: "Share-group dead-letter queue (accepted, unused)." },
  { name: "file.delete.delay.ms", field: "fileDeleteDelayMs", type: "long", default: "60000", serverDefaultKey: "log.segment.delete.delay.ms", min: 0, doc: "Wait before a deleted segment's files are removed." },
  { name: "flush.messages", field: "flushMessages", type: "long", default: LONG_MAX_STRING, serverDefaultKey: "log.flush.interval.messages", min: 1, doc: "Messages appended before a forced fdatasync." },
  { name: "flush.ms", field: "flushMs", type: "long", default: LONG_MAX_STRING, serverDefaultKey: "log.flush.interval.ms", min: 0, doc: "Time after an append before a forced fdatasync." },
  { name: "follower.replication.throttled.replicas", field: "followerReplicationThrottledReplicas", type: "list", default: "", serverDefaultKey: null, replicaList: true, doc: "Replicas (partition:broker, or *) whose out-of-sync follower fetches follower.replication.throttled.rate limits." },
  { name: "index.interval.bytes", field: "indexIntervalBytes", type: "int", default: "4096", serverDefaultKey: "log.index.interval.bytes", min: 0, doc: "Bytes appended between offset index entries." },
  { name: "leader.replication.throttled.replicas", field: "leaderReplicationThrottledReplicas", type: "list", default: "", serverDefaultKey: null, replicaList: true, doc: "Replicas (partition:broker, or *) whose leader serves out-of-sync followers at most leader.replication.throttled.rate." },
  { name: "local.retention.bytes", field: "localRetentionBytes", type: "long", default: "-2", serverDefaultKey: "log.local.retention.bytes", min: -2, doc: "Tiered storage local size limit (-2 = retention.bytes)." },
  { name: "local.retention.ms", field: "localRetentionMs", type: "long", default: "-2", serverDefaultKey: "log.local.retention.ms", min: -2, doc: "Tiered storage local time limit (-2 = retention.ms)." },
  { name: "max.compaction.lag.ms", field: "maxCompactionLagMs", type: "long", default: LONG_MAX_STRING, serverDefaultKey: "log.cleaner.max.compaction.lag.ms", min: 1, doc: "Longest a record stays ineligible for compaction." },
  { name: "max.decompressed.message.bytes", field: "maxDecompressedMessageBytes", type: "int", default: "2147483639", serverDefaultKey: "max.decompressed.message.bytes", min: 0, doc: "Largest decompressed batch (accepted; Runnel bounds decompression by max.message.bytes)." },
  { name: "max.message.bytes", field: "maxMessageBytes", type: "int", default: "1048588", serverDefaultKey: "message.max.bytes", min: 0, doc: "Largest record batch the topic accepts." },
  { name: "message.timestamp.after.max.ms", field: "messageTimestampAfterMaxMs", type: "long", default: "3600000", serverDefaultKey: "log.message.timestamp.after.max.ms", min: 0, doc: "How far a CreateTime timestamp may be ahead of the broker clock." },
  { name: "message.timestamp.before.max.ms", field: "messageTimestampBeforeMaxMs", type: "long", default: LONG_MAX_STRING, serverDefaultKey: "log.message.timestamp.before.max.ms", min: 0, doc: "How far a CreateTime timestamp may be behind the broker clock." },
  { name: "message.timestamp.type", field: "messageTimestampType", type: "string", default: "CreateTime", serverDefaultKey: "log.message.timestamp.type", oneOf: ["CreateTime", "LogAppendTime"], doc: "Whether record timestamps are the producer's or the broker's append time." },
  { name: "min.cleanable.dirty.ratio", field: "minCleanableDirtyRatio", type: "double", default: "0.5", serverDefaultKey: "log.cleaner.min.cleanable.ratio", min: 0, max: 1, doc: "Dirty share of the log before compaction runs." },
  { name: "min.compaction.lag.ms", field: "minCompactionLagMs", type: "long", default: "0", serverDefaultKey: "log.cleaner.min.compaction.lag.ms", min: 0, doc: "Shortest time a record stays uncompacted." },
  { name: "min.insync.replicas", field: "minInsyncReplicas", type: "int", default: "1", serverDefaultKey: "min.insync.replicas", min: 1, doc: "Replicas that must have a write for acks=all." },
  { name: "preallocate", field: "preallocate", type: "boolean", default: "false", serverDefaultKey: "log.preallocate", doc: "Preallocate the active segment file: Runnel keeps 0.25-1 MiB of zero-filled, fdatasynced space ahead of its end (cut off at roll and close), so acks=all fdatasyncs write only data." },
  { name: "remote.copy.lag.bytes", field: "remoteCopyLagBytes", type: "long", default: "-1", serverDefaultKey: "log.remote.copy.lag.bytes", min: -1, doc: "Tiered storage copy lag (accepted, unused)." },
  { name: "remote.copy.lag.ms", field: "remoteCopyLagMs", type: "long", default: "0", serverDefaultKey: "log.remote.copy.lag.ms", min: -1, doc: "Tiered storage copy lag (accepted, unused)." },
  { name: "remote.log.copy.disable", field: "remoteLogCopyDisable", type: "boolean", default: "false", serverDefaultKey: null, doc: "Tiered storage copy switch (accepted, unused)." },
  { name: "remote.log.delete.on.disable", field: "remoteLogDeleteOnDisable", type: "boolean", default: "false", serverDefaultKey: null, doc: "Tiered storage deletion switch (accepted, unused)." },
  { name: "remote.storage.enable", field: "remoteStorageEnable", type: "boolean", default: "false", serverDefaultKey: null, doc: "Tiered storage (not supported; must be false)." },
  { name: "retention.bytes", field: "retentionBytes", type: "long", default: "-1", serverDefaultKey: "log.retention.bytes", doc: "Size a partition may grow to before old segments are deleted (-1 = no limit)." },
  { name: "retention.ms", field: "retentionMs", type: "long", default: "604800000", serverDefaultKey: "log.retention.ms", min: -1, doc: "Age after which a segment is deleted (-1 = no limit)." },
  { name: "segment.bytes", field: "segmentBytes", type: "int", default: "1073741824", serverDefaultKey: "log.segment.bytes", min: 1048576, doc: "Segment file size before a new segment is rolled." },
  { name: "segment.index.bytes", field: "segmentIndexBytes", type: "int", default: "10485760", serverDefaultKey: "log.index.size.max.bytes", min: 4, doc: "Largest offset/time index of a segment before it rolls." },
  { name: "segment.jitter.ms", field: "segmentJitterMs", type: "long", default: "0", serverDefaultKey: "log.roll.jitter.ms", min: 0, doc: "Random jitter subtracted from segment.ms." },
  { name: "segment.ms", field: "segmentMs", type: "long", default: "604800000", serverDefaultKey: "log.roll.ms", min: 1, doc: "Segment age before a new segment is rolled." },
  { name: "unclean.leader.election.enable", field: "uncleanLeaderElectionEnable", type: "boolean", default: "false", serverDefaultKey: "unclean.leader.election.enable", doc: "Allow an out-of-sync replica to become leader." },
];

const KEYS_BY_NAME = new Map(LOG_CONFIG_KEYS.map((k) => [k.name, k]));

/** The definition of a topic config key, or undefined if Runnel does not know it. */
export function logConfigKey(name: string): LogConfigKey | undefined {
  return KEYS_BY_NAME.get(name);
}

/** Outcome of parsing: a config, or Kafka's INVALID_CONFIG with Kafka's message. */
export type ParseLogConfigResult =
  | { ok: true; config: LogConfig }
  | { ok: false; errorCode: number; message: string };

type ParsedValue = LogConfig[keyof LogConfig];

function invalid(key: LogConfigKey, raw: string, why: string): string {
  return `Invalid value ${raw} for configuration ${key.name}: ${why}`;
}

/** Parses one raw value for `key`; returns the typed value or an error message. */
function parseValue(key: LogConfigKey, raw: string): { value: ParsedValue } | { error: string } {
  const text = raw.trim();
  switch (key.type) {
    case "boolean": {
      const t = text.toLowerCase();
      if (t === "true") return { value: true };
      if (t === "false") return { value: false };
      return { error: invalid(key, raw, "Expected value to be either true or false") };
    }
    case "string": {
      if (key.oneOf && !key.oneOf.includes(text)) {
        return { error: invalid(key, raw, `String must be one of: ${key.oneOf.join(", ")}`) };
      }
      return { value: text };
    }
    case "list": {
      const items = text === "" ? [] : text.split(",").map((s) => s.trim());
      if (key.oneOf) {
        for (const item of items) {
          if (!key.oneOf.includes(item)) return { error: invalid(key, raw, `Invalid value ${item}; must be one of [${key.oneOf.join(", ")}]`) };
        }
        // an empty cleanup.policy is allowed (Kafka 4.4): no cleanup at all, segments kept indefinitely
        return { value: [...new Set(items)] as CleanupPolicy[] };
      }
      if (key.replicaList && !(items.length === 1 && items[0] === "*") && !items.every((i) => /^\d+:\d+$/.test(i))) {
        return { error: invalid(key, raw, `${key.name} must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...`) };
      }
      return { value: items.join(",") };
    }
    case "int":
    case "long": {
      if (!/^[+-]?\d+$/.test(text)) {
        return { error: invalid(key, raw, `Not a number of type ${key.type.toUpperCase()}`) };
      }
      const big = BigInt(text);
      const lo = key.type === "int" ? BigInt(INT_MIN) : LONG_MIN;
      const hi = key.type === "int" ? BigInt(INT_MAX) : LONG_MAX;
      if (big < lo || big > hi) return { error: invalid(key, raw, `Not a number of type ${key.type.toUpperCase()}`) };
      const n = big > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(big);
      return checkRange(key, raw, n);
    }
    case "double": {
      const n = Number(text);
      if (text === "" || !Number.isFinite(n)) return { error: invalid(key, raw, "Not a number of type DOUBLE") };
      return checkRange(key, raw, n);
    }
  }
}

function checkRange(key: LogConfigKey, raw: string, n: number): { value: number } | { error: string } {
  if (key.min !== undefined && n < key.min) {
    return { error: invalid(key, raw, key.max !== undefined ? `Value must be between ${key.min} and ${key.max}` : `Value must be at least ${key.min}`) };
  }
  if (key.max !== undefined && n > key.max) {
    return { error: invalid(key, raw, `Value must be between ${key.min} and ${key.max}`) };
  }
  return { value: n };
}

function buildDefaults(): LogConfig {
  const out: Record<string, ParsedValue> = {};
  for (const key of LOG_CONFIG_KEYS) {
    const parsed = parseValue(key, key.default);
    if ("error" in parsed) throw new Error(`bad built-in default: ${parsed.error}`);
    out[key.field] = parsed.value;
  }
  return out as unknown as LogConfig;
}

/** Kafka's defaults for every topic config key. */
export const DEFAULT_LOG_CONFIG: Readonly<LogConfig> = Object.freeze(buildDefaults());

/** Cross-key rules that single-key validation cannot express. */
function checkCombination(config: LogConfig): string | null {
  if (config.remoteStorageEnable) return "Invalid value true for configuration remote.storage.enable: Tiered storage is not supported";
  return null;
}

/**
 * Applies topic-level `overrides` (Kafka key -> string value, e.g. from CreateTopics or AlterConfigs) on top of
 * `brokerDefaults`. Unknown keys and bad values give INVALID_CONFIG with Kafka's wording.
 */
export function parseLogConfig(overrides: Record<string, string>, brokerDefaults: Readonly<LogConfig> = DEFAULT_LOG_CONFIG): ParseLogConfigResult {
  const out: Record<string, ParsedValue> = { ...(brokerDefaults as unknown as Record<string, ParsedValue>) };
  if (Array.isArray(brokerDefaults.cleanupPolicy)) out.cleanupPolicy = [...brokerDefaults.cleanupPolicy];
  for (const [name, raw] of Object.entries(overrides)) {
    const key = KEYS_BY_NAME.get(name);
    if (!key) return { ok: false, errorCode: ErrorCode.INVALID_CONFIG, message: `Unknown topic config name: ${name}` };
    const parsed = parseValue(key, raw);
    if ("error" in parsed) return { ok: false, errorCode: ErrorCode.INVALID_CONFIG, message: parsed.error };
    out[key.field] = parsed.value;
  }
  const config = out as unknown as LogConfig;
  const combo = checkCombination(config);
  if (combo) return { ok: false, errorCode: ErrorCode.INVALID_CONFIG, message: combo };
  return { ok: true, config };
}

/** Broker keys that give a topic default in a unit other than ms, with their multiplier: [key, field key, factor]. */
const BROKER_TIME_FALLBACKS: readonly [string, string, number][] = [
  ["log.retention.minutes", "retention.ms", 60_000],
  ["log.retention.hours", "retention.ms", 3_600_000],
  ["log.roll.hours", "segment.ms", 3_600_000],
  ["log.roll.jitter.hours", "segment.jitter.ms", 3_600_000],
];

/**
 * Topic defaults from broker properties (`log.segment.bytes`, `log.retention.hours`, ...), Kafka's synonyms of
 * each topic key. The ms form of a time key wins over minutes, which wins over hours, as in Kafka.
 */
export function logConfigFromBrokerProperties(props: ReadonlyMap<string, string> | Record<string, string>): ParseLogConfigResult {
  const get = (k: string): string | undefined => (props instanceof Map ? props.get(k) : (props as Record<string, string>)[k]);
  const overrides: Record<string, string> = {};
  for (const [brokerKey, topicKey, factor] of BROKER_TIME_FALLBACKS.slice().reverse()) {
    const v = get(brokerKey);
    if (v === undefined || v.trim() === "") continue;
    if (!/^\d+$/.test(v.trim())) {
      return { ok: false, errorCode: ErrorCode.INVALID_CONFIG, message: `Invalid value ${v} for configuration ${brokerKey}: Not a number of type INT` };
    }
    overrides[topicKey] = String(BigInt(v.trim()) * BigInt(factor));
  }
  for (const key of LOG_CONFIG_KEYS) {
    if (key.serverDefaultKey === null) continue;
    const v = get(key.serverDefaultKey);
    if (v !== undefined && v.trim() !== "") overrides[key.name] = v;
  }
  return parseLogConfig(overrides, DEFAULT_LOG_CONFIG);
}

/** The value of `name` in `config` as Kafka prints it (DescribeConfigs), or null for an unknown key. */
export function logConfigValueString(config: Readonly<LogConfig>, name: string): string | null {
  const key = KEYS_BY_NAME.get(name);
  if (!key) return null;
  const v = config[key.field];
  if (Array.isArray(v)) return v.join(",");
  if (typeof v === "number" && v === Infinity) return key.type === "int" ? String(INT_MAX) : LONG_MAX_STRING;
  return String(v);
}

/** Builds a config from defaults plus typed fields, for code and tests that do not start from strings. */
export function logConfigWith(fields: Partial<LogConfig>, base: Readonly<LogConfig> = DEFAULT_LOG_CONFIG): LogConfig {
  return { ...base, cleanupPolicy: [...base.cleanupPolicy], ...fields };
}
