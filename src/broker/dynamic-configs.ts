/**
 * Dynamic broker configs (KIP-226) and group configs (KIP-848), as DescribeConfigs, AlterConfigs and
 * IncrementalAlterConfigs see them. Both are kept in the metadata store (ConfigRecord), so a cluster shares them.
 *
 * Broker configs: a key Kafka can update at run time may be set for one broker (resource name = node id, source
 * DYNAMIC_BROKER_CONFIG) or as the cluster default (empty name, DYNAMIC_DEFAULT_BROKER_CONFIG); precedence is
 * per-broker, cluster default, server.properties, default. The effective values are written into the broker's
 * config map, so everything that reads a setting per request (connection limits, produce limits) sees them, and
 * the topic defaults derived from `log.*` settings are recomputed and applied to every partition at once.
 * Keys Runnel does not use are accepted and reported as Kafka does.
 */
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { logConfigFromBrokerProperties, parseLogConfig } from "../storage/log-config.ts";
import { BROKER_CONFIG_DEFS } from "./config.ts";
import type { Broker } from "./broker.ts";
import type { MetadataStore } from "../cluster/metadata-store.ts";
import type { LogCleanerOptions } from "../storage/log-cleaner.ts";
import type { BrokerConfig } from "./config.ts";
import { listenerDefs } from "../security/listeners.ts";
import { parsePerIpOverrides } from "./connection-quotas.ts";

/** DescribeConfigs source of a group config set dynamically (Kafka's DYNAMIC_GROUP_CONFIG). */
export const DYNAMIC_GROUP_CONFIG_SOURCE = 8;

/** Kafka ConfigType codes used below. */
const T = { boolean: 1, string: 2, int: 3, short: 4, long: 5, double: 6, list: 7, class: 8, password: 9 } as const;
type TypeName = keyof typeof T;

/**
 * Broker keys Kafka 4 updates at run time (its DynamicBrokerConfig set, security and listener keys left out), with
 * their types. Only these may be altered; others answer INVALID_REQUEST as Kafka does.
 */
export const DYNAMIC_BROKER_KEYS: ReadonlyMap<string, TypeName> = new Map<string, TypeName>([
  ["background.threads", "int"], ["compression.gzip.level", "int"], ["compression.lz4.level", "int"], ["compression.type", "string"],
  ["compression.zstd.level", "int"], ["errors.deadletterqueue.auto.create.topics.enable", "boolean"], ["errors.deadletterqueue.topic.name.prefix", "string"],
  ["follower.fetch.last.tiered.offset.enable", "boolean"], ["follower.replication.throttled.rate", "long"], ["leader.replication.throttled.rate", "long"], ["group.consumer.assignment.interval.ms", "int"], ["group.coordinator.cached.buffer.max.bytes", "int"],
  ["group.share.assignment.interval.ms", "int"], ["group.streams.assignment.interval.ms", "int"], ["log.cleaner.backoff.ms", "long"],
  ["log.cleaner.dedupe.buffer.size", "long"], ["log.cleaner.delete.retention.ms", "long"], ["log.cleaner.io.buffer.load.factor", "double"],
  ["log.cleaner.io.buffer.size", "int"], ["log.cleaner.io.max.bytes.per.second", "double"], ["log.cleaner.max.compaction.lag.ms", "long"],
  ["log.cleaner.min.cleanable.ratio", "double"], ["log.cleaner.min.compaction.lag.ms", "long"], ["log.cleaner.threads", "int"], ["log.cleanup.policy", "list"],
  ["log.flush.interval.messages", "long"], ["log.flush.interval.ms", "long"], ["log.index.interval.bytes", "int"], ["log.index.size.max.bytes", "int"],
  ["log.local.retention.bytes", "long"], ["log.local.retention.ms", "long"], ["log.message.timestamp.after.max.ms", "long"],
  ["log.message.timestamp.before.max.ms", "long"], ["log.message.timestamp.type", "string"], ["log.preallocate", "boolean"], ["log.remote.copy.lag.bytes", "long"],
  ["log.remote.copy.lag.ms", "long"], ["log.retention.bytes", "long"], ["log.retention.ms", "long"], ["log.roll.jitter.ms", "long"], ["log.roll.ms", "long"],
  ["log.segment.bytes", "int"], ["log.segment.delete.delay.ms", "long"], ["max.connection.creation.rate", "int"], ["max.connections", "int"],
  ["max.connections.per.ip", "int"], ["max.connections.per.ip.overrides", "string"], ["max.decompressed.message.bytes", "int"], ["message.max.bytes", "int"],
  ["metric.reporters", "list"], ["min.insync.replicas", "int"], ["num.io.threads", "int"], ["num.network.threads", "int"],
  ["num.recovery.threads.per.data.dir", "int"], ["num.replica.fetchers", "int"], ["producer.id.expiration.ms", "int"],
  ["remote.fetch.max.wait.ms", "int"], ["remote.list.offsets.request.timeout.ms", "long"], ["remote.log.index.file.cache.total.size.bytes", "long"],
  ["remote.log.manager.copier.thread.pool.size", "int"], ["remote.log.manager.copy.max.bytes.per.second", "long"],
  ["remote.log.manager.expiration.thread.pool.size", "int"], ["remote.log.manager.fetch.max.bytes.per.second", "long"],
  ["remote.log.manager.follower.thread.pool.size", "int"], ["remote.log.reader.threads", "int"], ["share.coordinator.cached.buffer.max.bytes", "int"],
  ["transaction.partition.verification.enable", "boolean"], ["unclean.leader.election.enable", "boolean"],
]);

/** Kafka's listener override of a broker key, `listener.name.<listener>.<key>` (DynamicBrokerConfig.ListenerConfigRegex). */
const LISTENER_OVERRIDE = /^listener\.name\.([^.]*)\.(.*)$/;

/**
 * Broker keys a listener's own setting of (`listener.name.<listener>.<key>`) may be altered at run time, per broker
 * or as the cluster default: Kafka's SocketServer.ListenerReconfigurableConfigs (KIP-402's max.connections and
 * KIP-612's max.connection.creation.rate). The value is checked as the base key's, and a listener of this broker
 * takes only a positive limit and rate (Kafka's ConnectionQuotas.ListenerConnectionQuota.validateReconfiguration).
 */
export const DYNAMIC_LISTENER_KEYS: ReadonlyMap<string, TypeName> = new Map<string, TypeName>([["max.connections", "int"], ["max.connection.creation.rate", "int"]]);

/** The listener (lower case, as Kafka's prefix) and base key of a listener override `key`, or null. */
export function listenerOverride(key: string): { listener: string; base: string } | null {
  const m = LISTENER_OVERRIDE.exec(key);
  return m === null ? null : { listener: m[1], base: m[2] };
}

/** The base key of a dynamic listener override ({@link DYNAMIC_LISTENER_KEYS}), or null. */
export function dynamicListenerBase(key: string): string | null {
  const o = listenerOverride(key);
  return o !== null && DYNAMIC_LISTENER_KEYS.has(o.base) ? o.base : null;
}

/** One group config: type, default, the broker key that supplies the default, and the allowed range. */
interface GroupConfigDef {
  type: TypeName;
  default: string;
  brokerKey: string;
  min?: number;
  max?: number;
  /** Broker keys holding the allowed range, when Kafka takes it from the broker's settings. */
  minKey?: string;
  maxKey?: string;
  oneOf?: readonly string[];
}

/** Kafka 4's group configs (GroupConfig), with its defaults and the bounds of the broker's min/max settings. */
export const GROUP_CONFIG_DEFS: ReadonlyMap<string, GroupConfigDef> = new Map<string, GroupConfigDef>([
  ["consumer.assignment.interval.ms", { type: "int", default: "1000", brokerKey: "group.consumer.assignment.interval.ms", min: 0 }],
  ["consumer.heartbeat.interval.ms", { type: "int", default: "5000", brokerKey: "group.consumer.heartbeat.interval.ms", min: 5000, max: 15000, minKey: "group.consumer.min.heartbeat.interval.ms", maxKey: "group.consumer.max.heartbeat.interval.ms" }],
  ["consumer.session.timeout.ms", { type: "int", default: "45000", brokerKey: "group.consumer.session.timeout.ms", min: 45000, max: 60000, minKey: "group.consumer.min.session.timeout.ms", maxKey: "group.consumer.max.session.timeout.ms" }],
  ["errors.deadletterqueue.copy.record.enable", { type: "boolean", default: "false", brokerKey: "errors.deadletterqueue.copy.record.enable" }],
  ["errors.deadletterqueue.topic.name", { type: "string", default: "", brokerKey: "errors.deadletterqueue.topic.name" }],
  ["share.assignment.interval.ms", { type: "int", default: "1000", brokerKey: "group.share.assignment.interval.ms", min: 0 }],
  ["share.auto.offset.reset", { type: "string", default: "latest", brokerKey: "share.auto.offset.reset" }],
  ["share.delivery.count.limit", { type: "int", default: "5", brokerKey: "group.share.delivery.count.limit", min: 2, max: 10 }],
  ["share.heartbeat.interval.ms", { type: "int", default: "5000", brokerKey: "group.share.heartbeat.interval.ms", min: 5000, max: 15000 }],
  ["share.isolation.level", { type: "string", default: "read_uncommitted", brokerKey: "share.isolation.level", oneOf: ["read_committed", "read_uncommitted"] }],
  ["share.partition.max.record.locks", { type: "int", default: "2000", brokerKey: "group.share.partition.max.record.locks", min: 100, max: 10000 }],
  ["share.record.lock.duration.ms", { type: "int", default: "30000", brokerKey: "group.share.record.lock.duration.ms", min: 15000, max: 3600000 }],
  ["share.renew.acknowledge.enable", { type: "boolean", default: "true", brokerKey: "share.renew.acknowledge.enable" }],
  ["share.session.timeout.ms", { type: "int", default: "45000", brokerKey: "group.share.session.timeout.ms", min: 45000, max: 60000 }],
  ["streams.assignment.interval.ms", { type: "int", default: "1000", brokerKey: "group.streams.assignment.interval.ms", min: 0 }],
  ["streams.assignor.name", { type: "string", default: "sticky", brokerKey: "group.streams.assignors" }],
  ["streams.heartbeat.interval.ms", { type: "int", default: "5000", brokerKey: "group.streams.heartbeat.interval.ms", min: 5000, max: 15000 }],
  ["streams.initial.rebalance.delay.ms", { type: "int", default: "3000", brokerKey: "group.streams.initial.rebalance.delay.ms", min: 0 }],
  ["streams.num.standby.replicas", { type: "int", default: "0", brokerKey: "group.streams.num.standby.replicas", min: 0, max: 2 }],
  ["streams.rack.aware.assignment.tags", { type: "list", default: "", brokerKey: "group.streams.rack.aware.assignment.tags" }],
  ["streams.session.timeout.ms", { type: "int", default: "45000", brokerKey: "group.streams.session.timeout.ms", min: 45000, max: 60000 }],
]);

/** Kafka ConfigType code of a type name. */
export function configTypeCode(t: TypeName): number {
  return T[t];
}

/** Why `value` is not a valid `type`, or null. */
export function typeProblem(type: TypeName, value: string): string | null {
  const v = value.trim();
  switch (type) {
    case "int":
    case "short":
    case "long": {
      if (!/^-?\d+$/.test(v)) return `Not a number of type ${type.toUpperCase()}`;
      const n = BigInt(v);
      const lim = type === "int" ? 2n ** 31n : type === "short" ? 2n ** 15n : 2n ** 63n;
      return n < -lim || n >= lim ? `Not a number of type ${type.toUpperCase()}` : null;
    }
    case "double":
      return v === "" || Number.isNaN(Number(v)) ? "Not a number of type DOUBLE" : null;
    case "boolean":
      return v === "true" || v === "false" ? null : "Expected value to be either true or false";
    default:
      return null;
  }
}

/** The static broker settings (server.properties, environment, overrides), captured before any dynamic change. */
const staticValues = new WeakMap<Broker, ReadonlyMap<string, string>>();

/** The static broker settings (before dynamic changes). */
export function staticBrokerSettings(b: Broker): ReadonlyMap<string, string> {
  return staticOf(b);
}

/** Records a broker's static settings, taken before the dynamic ones were merged in at start. */
export function rememberStaticBrokerSettings(b: Broker, settings: ReadonlyMap<string, string>): void {
  staticValues.set(b, new Map(settings));
}

/**
 * Writes into `values` the effective settings: `statics`, then the cluster default, then this broker's own
 * dynamic configs from the metadata store (the precedence Kafka gives them).
 */
export function mergeDynamicBrokerConfigs(values: Map<string, string>, statics: ReadonlyMap<string, string>, store: Pick<MetadataStore, "configRecord">, nodeId: number): void {
  values.clear();
  for (const [k, v] of statics) values.set(k, v);
  for (const [k, v] of Object.entries(store.configRecord("broker", "")?.configs ?? {})) values.set(k, v);
  for (const [k, v] of Object.entries(store.configRecord("broker", String(nodeId))?.configs ?? {})) values.set(k, v);
}

function staticOf(b: Broker): ReadonlyMap<string, string> {
  let s = staticValues.get(b);
  if (s === undefined) {
    s = new Map(b.config.values);
    staticValues.set(b, s);
  }
  return s;
}

/** The stored dynamic configs of a broker resource ("" = cluster default). */
export function dynamicBrokerConfigs(b: Broker, name: string): Readonly<Record<string, string>> {
  return b.metadataView.configRecord("broker", name)?.configs ?? {};
}

/** The log cleaner's settings (`log.cleaner.*`) from the effective broker config. */
export function cleanerOptionsFrom(config: BrokerConfig): LogCleanerOptions {
  const cap = Number(config.raw("log.cleaner.io.max.bytes.per.second") ?? "Infinity");
  return {
    backoffMs: config.num("log.cleaner.backoff.ms"),
    dedupeBufferBytes: config.num("log.cleaner.dedupe.buffer.size"),
    ioMaxBytesPerSecond: Number.isFinite(cap) && cap > 0 ? cap : undefined,
  };
}

/**
 * Applies the stored dynamic broker configs: the effective values go into the broker's config map, the listeners
 * re-judge their connection limits, the log cleaner is reconfigured, open partitions take `producer.id.expiration.ms`, and the topic defaults derived from them are recomputed and pushed to every topic.
 * Called after each change, here or (cluster) through another broker (at start the broker merges them before
 * opening storage).
 */
export function applyDynamicBrokerConfigs(b: Broker): void {
  mergeDynamicBrokerConfigs(b.config.values, staticOf(b), b.metadataView, b.nodeId);
  // max.connections and its per-address limits are read at each accept: listeners paused at the old limit re-judge
  b.connectionLimits?.limitsChanged();
  b.logCleaner?.reconfigure(cleanerOptionsFrom(b.config));
  const expirationMs = b.config.num("producer.id.expiration.ms");
  if (expirationMs >= 1) {
    for (const t of b.topicsByName.values()) for (const p of t.partitions) p.producers.setExpirationMs(expirationMs);
  } else b.logger.warn(`dynamic producer.id.expiration.ms ${expirationMs} is below 1, keeping the previous one`);
  const defaults = logConfigFromBrokerProperties(b.config.values);
  if (!defaults.ok) {
    b.logger.warn(`dynamic broker configs give invalid topic defaults, keeping the previous ones: ${defaults.message}`);
    return;
  }
  b.defaultLogConfig = defaults.config;
  for (const t of b.topicsByName.values()) {
    const parsed = parseLogConfig(t.overrides, defaults.config);
    if (!parsed.ok) continue;
    t.config = parsed.config;
    for (const p of t.partitions) p.log.updateConfig(parsed.config);
  }
}

/** One requested change (IncrementalAlterConfigs operation codes; AlterConfigs uses SET). */
export interface ConfigChange {
  /** Key. */
  name: string;
  /** 0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT. */
  op: number;
  /** Value (null for DELETE). */
  value: string | null;
}

/** Applies SET/DELETE/APPEND/SUBTRACT to a key -> value map; `isList` tells which keys take APPEND/SUBTRACT. */
function applyChanges(current: Record<string, string>, changes: readonly ConfigChange[], isList: (key: string) => boolean, defaultOf: (key: string) => string): Record<string, string> {
  const next = { ...current };
  for (const c of changes) {
    switch (c.op) {
      case 0:
        if (c.value === null) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Null value not supported for ${c.name}`);
        next[c.name] = c.value;
        break;
      case 1:
        delete next[c.name];
        break;
      case 2:
      case 3: {
        if (!isList(c.name)) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Config value ${c.op === 2 ? "append" : "subtract"} is not allowed for config key: ${c.name}`);
        const items = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);
        const cur = items(next[c.name] ?? defaultOf(c.name));
        const given = items(c.value ?? "");
        next[c.name] = (c.op === 2 ? [...cur, ...given.filter((i) => !cur.includes(i))] : cur.filter((i) => !given.includes(i))).join(",");
        break;
      }
      default:
        throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unknown config operation ${c.op}`);
    }
  }
  return next;
}

const brokerDefault = (key: string): string => BROKER_CONFIG_DEFS.find((d) => d.key === key)?.default ?? "";

/**
 * Alters the dynamic configs of a broker resource (`name` = this node's id, or "" for the cluster default);
 * `replace` = AlterConfigs (the given set replaces the stored one). Throws KafkaError as Kafka answers.
 */
export async function alterBrokerConfigs(b: Broker, name: string, changes: readonly ConfigChange[], replace: boolean, validateOnly: boolean): Promise<void> {
  if (name !== "" && name !== String(b.nodeId)) {
    throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${b.nodeId}, but received ${name}`);
  }
  const known = (k: string) => DYNAMIC_BROKER_KEYS.has(k) || BROKER_CONFIG_DEFS.some((d) => d.key === k);
  const notDynamic = changes.filter((c) => known(c.name) && !DYNAMIC_BROKER_KEYS.has(c.name)).map((c) => c.name);
  if (notDynamic.length > 0) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Cannot update these configs dynamically: [${notDynamic.join(", ")}]`);
  for (const c of changes) {
    // a listener override is checked as its base key (Kafka's DynamicBrokerConfig.validateConfigTypes)
    const key = dynamicListenerBase(c.name) ?? c.name;
    const type = DYNAMIC_BROKER_KEYS.get(key);
    const problem = type !== undefined && c.value !== null && c.op === 0 ? typeProblem(type, c.value) : null;
    if (problem !== null) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Invalid value ${c.value} for configuration ${key}: ${problem}`);
    if (key === "producer.id.expiration.ms" && c.op === 0 && Number(c.value) < 1) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Invalid value ${c.value} for configuration ${key}: Value must be at least 1`);
    if ((key === "max.connection.creation.rate" || key === "max.connections" || key === "max.connections.per.ip") && c.op === 0 && Number(c.value) < 0) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Invalid value ${c.value} for configuration ${key}: Value must be at least 0`);
    if (key === "max.connections.per.ip.overrides" && c.op === 0 && c.value !== null) {
      try {
        parsePerIpOverrides(c.value);
      } catch (e) {
        throw new KafkaError(ErrorCode.INVALID_REQUEST, `Invalid value ${c.value} for configuration ${key}: ${(e as Error).message}`);
      }
    }
  }
  const current = replace ? {} : { ...dynamicBrokerConfigs(b, name) };
  const next = applyChanges(current, changes, (k) => DYNAMIC_BROKER_KEYS.get(k) === "list", (k) => b.config.raw(k) ?? brokerDefault(k));
  checkListenerQuotas(b, name, next);
  checkPerIpLimit(b, name, next);
  if (validateOnly) return;
  await b.putConfigRecord({ resource: "broker", name, configs: next });
  applyDynamicBrokerConfigs(b);
}

/**
 * This broker's effective config values (static, then the cluster default and its own dynamic records) as they would
 * be with the broker resource `name` (this broker's id, or "" for the cluster default) holding `next`.
 */
function brokerValuesAfter(b: Broker, name: string, next: Readonly<Record<string, string>>): Map<string, string> {
  const view = b.metadataView;
  const changed: Pick<MetadataStore, "configRecord"> = { configRecord: (resource, n) => (resource === "broker" && n === name ? { resource, name, configs: { ...next } } : view.configRecord(resource, n)) };
  const after = new Map<string, string>();
  mergeDynamicBrokerConfigs(after, staticOf(b), changed, b.nodeId);
  return after;
}

/**
 * Refuses a change that leaves one of this broker's listeners a `max.connections` or a connection creation rate
 * that is not positive, each the listener's own setting or else the broker's (Kafka's
 * ListenerConnectionQuota.validateReconfiguration, run for each listener whose limit or rate the change moves, and
 * checking both, the limit first).
 */
function checkListenerQuotas(b: Broker, name: string, next: Readonly<Record<string, string>>): void {
  const before = new Map<string, string>();
  mergeDynamicBrokerConfigs(before, staticOf(b), b.metadataView, b.nodeId);
  const after = brokerValuesAfter(b, name, next);
  const bases = [...DYNAMIC_LISTENER_KEYS.keys()];
  for (const def of listenerDefs(b.config)) {
    const valueOf = (values: ReadonlyMap<string, string>, base: string) => values.get(`listener.name.${def.name.toLowerCase()}.${base}`) ?? values.get(base) ?? brokerDefault(base);
    if (bases.every((base) => valueOf(after, base) === valueOf(before, base))) continue;
    for (const base of bases) {
      const value = valueOf(after, base);
      // Kafka's words: its ConfigException wrapped in "Invalid dynamic configuration", quoted as a value
      if (!(Number(value) > 0)) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Invalid value org.apache.kafka.common.config.ConfigException: Invalid ${base} ${value} for configuration Invalid dynamic configuration`);
    }
  }
}

/**
 * Refuses a change that leaves this broker `max.connections.per.ip` 0 without `max.connections.per.ip.overrides`
 * (every new connection would be closed, the admin's too), as Kafka's config validation does ("can be set to zero
 * only if max.connections.per.ip.overrides property is set"); the check is on the values the change results in.
 */
function checkPerIpLimit(b: Broker, name: string, next: Readonly<Record<string, string>>): void {
  const after = brokerValuesAfter(b, name, next);
  const perIp = after.get("max.connections.per.ip") ?? brokerDefault("max.connections.per.ip");
  const overrides = after.get("max.connections.per.ip.overrides") ?? brokerDefault("max.connections.per.ip.overrides");
  if (Number(perIp) === 0 && parsePerIpOverrides(overrides).size === 0) {
    throw new KafkaError(ErrorCode.INVALID_REQUEST, "max.connections.per.ip can be set to zero only if max.connections.per.ip.overrides property is set.");
  }
}

/** Alters a group's configs (IncrementalAlterConfigs / AlterConfigs on resource type GROUP). */
export async function alterGroupConfigs(b: Broker, group: string, changes: readonly ConfigChange[], replace: boolean, validateOnly: boolean): Promise<void> {
  if (group === "") throw new KafkaError(ErrorCode.INVALID_REQUEST, "Default group resources are not allowed.");
  const current = replace ? {} : { ...(b.metadataView.configRecord("group", group)?.configs ?? {}) };
  for (const c of changes) if (!GROUP_CONFIG_DEFS.has(c.name)) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Unknown group config name: ${c.name}`);
  const next = applyChanges(current, changes, (k) => GROUP_CONFIG_DEFS.get(k)?.type === "list", (k) => GROUP_CONFIG_DEFS.get(k)!.default);
  for (const [k, v] of Object.entries(next)) {
    const d = GROUP_CONFIG_DEFS.get(k)!;
    const problem = typeProblem(d.type, v);
    if (problem !== null) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Invalid value ${v} for configuration ${k}: ${problem}`);
    if (d.oneOf && !d.oneOf.includes(v)) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Invalid value ${v} for configuration ${k}: must be one of ${d.oneOf.join(", ")}`);
    const n = Number(v);
    const min = d.minKey !== undefined ? b.config.num(d.minKey) : d.min;
    const max = d.maxKey !== undefined ? b.config.num(d.maxKey) : d.max;
    if (min !== undefined && n < min) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Invalid value ${v} for configuration ${k}: Value must be at least ${min}`);
    if (max !== undefined && n > max) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Invalid value ${v} for configuration ${k}: Value must be no more than ${max}`);
  }
  if (validateOnly) return;
  await b.putConfigRecord({ resource: "group", name: group, configs: next });
}
