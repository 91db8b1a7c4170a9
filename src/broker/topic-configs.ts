/**
 * Topic and broker configs as DescribeConfigs shows them, and the config changes AlterConfigs and
 * IncrementalAlterConfigs make. Sources use Kafka's numbering.
 */
import { isSensitiveConfig } from "../security/sensitive-configs.ts";
import { CONFIG_TYPE_CODE, LOG_CONFIG_KEYS, logConfigKey, logConfigValueString, parseLogConfig } from "../storage/log-config.ts";
import { BROKER_CONFIG_DEFS, brokerConfigDef } from "./config.ts";
import { alterBrokerConfigs, alterGroupConfigs, configTypeCode, DYNAMIC_BROKER_KEYS, DYNAMIC_GROUP_CONFIG_SOURCE, DYNAMIC_LISTENER_KEYS, dynamicBrokerConfigs, dynamicListenerBase, GROUP_CONFIG_DEFS, staticBrokerSettings } from "./dynamic-configs.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import type { Broker, Topic } from "./broker.ts";
import { topicOperationError } from "./topic-operation-error.ts";

/** DescribeConfigs config sources. */
export const ConfigSource = {
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;

/** Resource types of the config APIs. */
export const ConfigResourceType = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8, GROUP: 32 } as const;

/** One described config entry. */
export interface ConfigEntry {
  /** Key. */
  name: string;
  /** Value (null for sensitive or unset). */
  value: string | null;
  /** Whether it can be altered. */
  readOnly: boolean;
  /** Where the value comes from. */
  configSource: number;
  /** Kafka ConfigType code. */
  configType: number;
  /** Documentation. */
  documentation: string;
  /** Synonyms in precedence order. */
  synonyms: { name: string; value: string | null; source: number }[];
  /** A secret (value and synonyms' values answered as null). */
  isSensitive?: boolean;
}

/**
 * Broker keys Kafka names after a time key as its synonyms (DynamicBrokerConfig.brokerConfigSynonyms: the ms form,
 * then minutes, then hours). Kafka lists them only once the key itself is set dynamically: then a describe with
 * synonyms shows, after the key's own entries, e.g. `log.retention.hours` with its default 168.
 */
const TIME_KEY_SYNONYMS: Readonly<Record<string, readonly string[]>> = {
  "log.retention.ms": ["log.retention.minutes", "log.retention.hours"],
  "log.retention.minutes": ["log.retention.hours"],
  "log.roll.ms": ["log.roll.hours"],
  "log.roll.jitter.ms": ["log.roll.jitter.hours"],
};

/**
 * The synonyms of broker key `key` that come after its own (see {@link TIME_KEY_SYNONYMS}) when `key` is set
 * dynamically on this broker or as the cluster default: each one's per-broker, cluster-default, static and default
 * values, in Kafka's order.
 */
function timeKeySynonyms(b: Broker, key: string): ConfigEntry["synonyms"] {
  const chain = TIME_KEY_SYNONYMS[key];
  if (chain === undefined) return [];
  const perBroker = dynamicBrokerConfigs(b, String(b.nodeId));
  const clusterDefault = dynamicBrokerConfigs(b, "");
  if (!(key in perBroker) && !(key in clusterDefault)) return [];
  const out: ConfigEntry["synonyms"] = [];
  for (const name of chain) {
    if (name in perBroker) out.push({ name, value: perBroker[name], source: ConfigSource.DYNAMIC_BROKER_CONFIG });
    if (name in clusterDefault) out.push({ name, value: clusterDefault[name], source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG });
    const statik = staticSetting(b, name);
    if (statik !== undefined) out.push({ name, value: statik, source: ConfigSource.STATIC_BROKER_CONFIG });
    const def = brokerConfigDef(name)?.default;
    if (def !== undefined && def !== null) out.push({ name, value: def, source: ConfigSource.DEFAULT_CONFIG });
  }
  return out;
}

/** The effective configs of a topic (all keys, or only `keys`). */
export function describeTopicConfigs(b: Broker, topic: Pick<Topic, "overrides" | "config">, keys: readonly string[] | null): ConfigEntry[] {
  const out: ConfigEntry[] = [];
  for (const k of LOG_CONFIG_KEYS) {
    if (keys !== null && !keys.includes(k.name)) continue;
    const synonyms: ConfigEntry["synonyms"] = [];
    let source: number = ConfigSource.DEFAULT_CONFIG;
    if (topic.overrides[k.name] !== undefined) {
      source = ConfigSource.DYNAMIC_TOPIC_CONFIG;
      synonyms.push({ name: k.name, value: topic.overrides[k.name], source });
    }
    if (k.serverDefaultKey !== null) {
      // The broker-level synonyms in precedence order: per-broker dynamic, cluster-default dynamic, static.
      const perBroker = dynamicBrokerConfigs(b, String(b.nodeId))[k.serverDefaultKey];
      const clusterDefault = dynamicBrokerConfigs(b, "")[k.serverDefaultKey];
      const statik = staticSetting(b, k.serverDefaultKey);
      for (const [value, src] of [[perBroker, ConfigSource.DYNAMIC_BROKER_CONFIG], [clusterDefault, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG], [statik, ConfigSource.STATIC_BROKER_CONFIG]] as const) {
        if (value === undefined) continue;
        if (source === ConfigSource.DEFAULT_CONFIG) source = src;
        synonyms.push({ name: k.serverDefaultKey, value, source: src });
      }
      // Kafka lists the default only where the broker key has one (log.retention.ms, log.roll.ms, ... have none).
      const def = brokerKeyDefault(k.serverDefaultKey, k.default);
      if (def !== null) synonyms.push({ name: k.serverDefaultKey, value: def, source: ConfigSource.DEFAULT_CONFIG });
      synonyms.push(...timeKeySynonyms(b, k.serverDefaultKey));
    }
    out.push({
      name: k.name,
      value: logConfigValueString(topic.config, k.name),
      readOnly: false,
      configSource: source,
      configType: CONFIG_TYPE_CODE[k.type],
      documentation: k.doc,
      synonyms,
    });
  }
  return out;
}

/** Broker keys whose Kafka default is unset (so DescribeConfigs lists no default synonym for them). */
const NULL_DEFAULT_BROKER_KEYS = new Set(["log.roll.jitter.ms"]);

function brokerKeyDefault(key: string, topicDefault: string): string | null {
  if (NULL_DEFAULT_BROKER_KEYS.has(key)) return null;
  const d = brokerConfigDef(key);
  return d ? d.default : topicDefault;
}

/**
 * A broker resource's configs: for this node (`name` = node id) every known key with its effective value and
 * synonyms (per-broker dynamic, cluster default, static, default), read-only unless Kafka can change it at run
 * time; for the cluster default (`name` = "") only the keys set there, as Kafka.
 */
export function describeBrokerConfigs(b: Broker, name: string, keys: readonly string[] | null): ConfigEntry[] {
  const out: ConfigEntry[] = [];
  const typeCode = { string: 2, int: 3, long: 5, boolean: 1, list: 7 } as const;
  const perBroker = name === "" ? {} : dynamicBrokerConfigs(b, name);
  const clusterDefault = dynamicBrokerConfigs(b, "");
  const seen = new Set<string>();
  const entry = (key: string, type: number, def: string | null, doc: string): ConfigEntry | null => {
    const synonyms: ConfigEntry["synonyms"] = [];
    if (key in perBroker) synonyms.push({ name: key, value: perBroker[key], source: ConfigSource.DYNAMIC_BROKER_CONFIG });
    if (key in clusterDefault) synonyms.push({ name: key, value: clusterDefault[key], source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG });
    if (name === "") {
      if (synonyms.length === 0) return null;
      return { name: key, value: synonyms[0].value, readOnly: false, configSource: synonyms[0].source, configType: type, documentation: doc, synonyms };
    }
    const statik = staticSetting(b, key);
    if (statik !== undefined) synonyms.push({ name: key, value: statik, source: ConfigSource.STATIC_BROKER_CONFIG });
    if (def !== null) synonyms.push({ name: key, value: def, source: ConfigSource.DEFAULT_CONFIG });
    if (name === String(b.nodeId)) synonyms.push(...timeKeySynonyms(b, key));
    if (isSensitiveConfig(key)) {
      for (const s of synonyms) s.value = null;
      return { name: key, value: null, readOnly: !DYNAMIC_BROKER_KEYS.has(key), configSource: synonyms[0]?.source ?? ConfigSource.DEFAULT_CONFIG, configType: type, documentation: doc, synonyms, isSensitive: true };
    }
    return {
      name: key,
      value: synonyms[0]?.value ?? def,
      readOnly: !DYNAMIC_BROKER_KEYS.has(key),
      configSource: synonyms[0]?.source ?? ConfigSource.DEFAULT_CONFIG,
      configType: type,
      documentation: doc,
      synonyms,
    };
  };
  for (const d of BROKER_CONFIG_DEFS) {
    seen.add(d.key);
    if (keys !== null && !keys.includes(d.key)) continue;
    const e = entry(d.key, typeCode[d.type], d.default, d.doc);
    if (e) out.push(e);
  }
  // The broker keys that supply topic defaults (log.cleaner.delete.retention.ms, ...) are broker configs too, with the
  // topic key's default, as Kafka lists them.
  for (const k of LOG_CONFIG_KEYS) {
    const key = k.serverDefaultKey;
    if (key === null || seen.has(key)) continue;
    seen.add(key);
    if (keys !== null && !keys.includes(key)) continue;
    const type = DYNAMIC_BROKER_KEYS.get(key);
    const e = entry(key, type ? configTypeCode(type) : CONFIG_TYPE_CODE[k.type], brokerKeyDefault(key, k.default), k.doc);
    if (e) out.push(e);
  }
  // A listener's own connection creation rate, set statically or dynamically: an int, with the base key's entries
  // after its own as synonyms (Kafka's brokerConfigSynonyms with matchListenerOverride)
  const statics = name === "" ? [] : [...staticBrokerSettings(b).keys()];
  for (const key of new Set([...Object.keys(perBroker), ...Object.keys(clusterDefault), ...statics])) {
    const base = dynamicListenerBase(key);
    if (base === null || seen.has(key) || (keys !== null && !keys.includes(key))) continue;
    seen.add(key);
    out.push(listenerOverrideEntry(b, name, key, base, perBroker, clusterDefault));
  }
  // Dynamic keys Runnel does not use itself are reported once set, as Kafka reports them.
  for (const key of new Set([...Object.keys(perBroker), ...Object.keys(clusterDefault)])) {
    if (seen.has(key) || (keys !== null && !keys.includes(key))) continue;
    const type = DYNAMIC_BROKER_KEYS.get(key);
    const e = entry(key, type ? configTypeCode(type) : 2, null, "");
    if (e) out.push(e);
  }
  return out;
}

/**
 * The entry of listener override `key` (of base key `base`) of broker resource `name`: synonyms are the per-broker
 * dynamic values of `key` then `base`, the cluster default's, the static ones and the base key's default (only the
 * cluster default's for `name` ""), from the first of `key`'s own on (Kafka's ConfigHelper.configSynonyms); read-only
 * as Kafka reports it (its dynamic config set names the base key only).
 */
function listenerOverrideEntry(b: Broker, name: string, key: string, base: string, perBroker: Readonly<Record<string, string>>, clusterDefault: Readonly<Record<string, string>>): ConfigEntry {
  const chain = [key, base];
  const synonyms: ConfigEntry["synonyms"] = [];
  for (const n of chain) if (n in perBroker) synonyms.push({ name: n, value: perBroker[n], source: ConfigSource.DYNAMIC_BROKER_CONFIG });
  for (const n of chain) if (n in clusterDefault) synonyms.push({ name: n, value: clusterDefault[n], source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG });
  if (name !== "") {
    for (const n of chain) {
      const statik = staticSetting(b, n);
      if (statik !== undefined) synonyms.push({ name: n, value: statik, source: ConfigSource.STATIC_BROKER_CONFIG });
    }
    const def = brokerConfigDef(base)?.default;
    if (def !== undefined && def !== null) synonyms.push({ name: base, value: def, source: ConfigSource.DEFAULT_CONFIG });
  }
  const own = synonyms.slice(synonyms.findIndex((s) => s.name === key));
  const type = configTypeCode(DYNAMIC_LISTENER_KEYS.get(base)!);
  return { name: key, value: own[0].value, readOnly: true, configSource: own[0].source, configType: type, documentation: "", synonyms: own };
}

/** The static (server.properties / environment / override) value of a broker key, or undefined. */
function staticSetting(b: Broker, key: string): string | undefined {
  return staticBrokerSettings(b).get(key);
}

/** A group's configs: every group config with its value, the group's own setting first, then the broker default. */
export function describeGroupConfigs(b: Broker, group: string, keys: readonly string[] | null): ConfigEntry[] {
  const own = b.metadataView.configRecord("group", group)?.configs ?? {};
  const out: ConfigEntry[] = [];
  for (const [key, d] of GROUP_CONFIG_DEFS) {
    if (keys !== null && !keys.includes(key)) continue;
    const synonyms: ConfigEntry["synonyms"] = [];
    if (key in own) synonyms.push({ name: key, value: own[key], source: DYNAMIC_GROUP_CONFIG_SOURCE });
    const brokerValue = b.config.raw(d.brokerKey) ?? d.default;
    synonyms.push({ name: d.brokerKey, value: brokerValue, source: b.config.isSet(d.brokerKey) ? ConfigSource.STATIC_BROKER_CONFIG : ConfigSource.DEFAULT_CONFIG });
    out.push({ name: key, value: synonyms[0].value, readOnly: false, configSource: synonyms[0].source, configType: configTypeCode(d.type), documentation: "", synonyms });
  }
  return out;
}

/** AlterConfigs/IncrementalAlterConfigs operations. */
export const AlterConfigOp = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

/**
 * Applies config changes to a topic. `replace` = AlterConfigs semantics (the given set replaces all overrides);
 * otherwise incremental operations. Validates everything before changing anything. A topic that does not exist
 * (`topic` undefined, `name` asked) is refused with UNKNOWN_TOPIC_OR_PARTITION only once the changes are valid, as
 * Kafka's controller validates the configs before it checks that the resource exists.
 */
export async function alterTopicConfigs(
  b: Broker,
  topic: Topic | undefined,
  changes: readonly { name: string; op: number; value: string | null }[],
  replace: boolean,
  validateOnly: boolean,
  name = topic?.name ?? "",
): Promise<void> {
  const overrides: Record<string, string> = replace || topic === undefined ? {} : { ...topic.overrides };
  for (const c of changes) {
    const key = logConfigKey(c.name);
    // DELETE of an unknown key leaves nothing unknown behind: Kafka validates the resulting configs, so it passes
    if (key === undefined && c.op !== AlterConfigOp.DELETE) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${c.name}`);
    switch (c.op) {
      case AlterConfigOp.SET:
        if (c.value === null) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Null value not supported for ${c.name}`);
        overrides[c.name] = c.value;
        break;
      case AlterConfigOp.DELETE:
        delete overrides[c.name];
        break;
      case AlterConfigOp.APPEND:
      case AlterConfigOp.SUBTRACT: {
        if (key!.type !== "list") throw new KafkaError(ErrorCode.INVALID_CONFIG, `Config ${c.name} is not a list; APPEND/SUBTRACT need a list`);
        const current = (overrides[c.name] ?? logConfigValueString(topic?.config ?? b.defaultLogConfig, c.name) ?? "").split(",").map((s) => s.trim()).filter(Boolean);
        // APPEND keeps empty items ("" or "a,,b"): Kafka appends them and then refuses the invalid list
        const items = (c.value ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "" || c.op === AlterConfigOp.APPEND);
        const next = c.op === AlterConfigOp.APPEND ? [...current, ...items.filter((i) => !current.includes(i))] : current.filter((i) => !items.includes(i));
        overrides[c.name] = next.join(",");
        break;
      }
      default:
        throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unknown config operation ${c.op}`);
    }
  }
  const parsed = parseLogConfig(overrides, b.defaultLogConfig);
  if (!parsed.ok) throw new KafkaError(parsed.errorCode, parsed.message);
  if (topic === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${name}' does not exist.`);
  if (!validateOnly) await b.setTopicConfig(topic, overrides, parsed.config);
}

/** The result of altering one config resource, as both alter APIs report it. */
export interface AlterConfigsResult {
  /** Kafka error code. */
  errorCode: number;
  /** Error text, or null. */
  errorMessage: string | null;
  /** Resource type as asked. */
  resourceType: number;
  /** Resource name as asked. */
  resourceName: string;
}

/**
 * Applies AlterConfigs (`replace`: the given set replaces all overrides) or IncrementalAlterConfigs changes to
 * each resource: topics, brokers (dynamic broker configs) and groups. A resource listed twice is refused, as Kafka.
 */
export async function alterConfigResources(
  b: Broker,
  resources: readonly { resourceType: number; resourceName: string; changes: { name: string; op: number; value: string | null }[] }[],
  replace: boolean,
  validateOnly: boolean,
): Promise<AlterConfigsResult[]> {
  const count = new Map<string, number>();
  for (const r of resources) count.set(`${r.resourceType}:${r.resourceName}`, (count.get(`${r.resourceType}:${r.resourceName}`) ?? 0) + 1);
  const results: AlterConfigsResult[] = [];
  for (const r of resources) {
    const out: AlterConfigsResult = { errorCode: ErrorCode.NONE, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName };
    results.push(out);
    if (count.get(`${r.resourceType}:${r.resourceName}`)! > 1) {
      out.errorCode = ErrorCode.INVALID_REQUEST;
      out.errorMessage = `Error due to duplicate config keys`;
      continue;
    }
    try {
      if (r.resourceType === ConfigResourceType.TOPIC) {
        await alterTopicConfigs(b, b.topicsByName.get(r.resourceName), r.changes, replace, validateOnly, r.resourceName);
      } else if (r.resourceType === ConfigResourceType.BROKER) {
        await alterBrokerConfigs(b, r.resourceName, r.changes, replace, validateOnly);
      } else if (r.resourceType === ConfigResourceType.GROUP) {
        await alterGroupConfigs(b, r.resourceName, r.changes, replace, validateOnly);
      } else {
        throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unsupported resource type ${r.resourceType}`);
      }
    } catch (e) {
      const err = topicOperationError(e);
      if (err.unexpected) b.logger.error(`altering the configs of ${r.resourceName} failed: ${(e as Error)?.stack ?? e}`);
      out.errorCode = err.code;
      out.errorMessage = err.message;
    }
  }
  return results;
}
