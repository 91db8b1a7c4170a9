/**
 * Topic and broker configs as DescribeConfigs shows them, and the config changes AlterConfigs and
 * IncrementalAlterConfigs make. Sources use Kafka's numbering.
 */
import { CONFIG_TYPE_CODE, LOG_CONFIG_KEYS, logConfigKey, logConfigValueString, parseLogConfig } from "../storage/log-config.ts";
import { BROKER_CONFIG_DEFS } from "./config.ts";
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
export const ConfigResourceType = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;

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
}

/** The effective configs of a topic (all keys, or only `keys`). */
export function describeTopicConfigs(b: Broker, topic: Topic, keys: readonly string[] | null): ConfigEntry[] {
  const out: ConfigEntry[] = [];
  for (const k of LOG_CONFIG_KEYS) {
    if (keys !== null && !keys.includes(k.name)) continue;
    const synonyms: ConfigEntry["synonyms"] = [];
    let source: number = ConfigSource.DEFAULT_CONFIG;
    if (topic.overrides[k.name] !== undefined) {
      source = ConfigSource.DYNAMIC_TOPIC_CONFIG;
      synonyms.push({ name: k.name, value: topic.overrides[k.name], source });
    }
    if (k.serverDefaultKey !== null && b.config.isSet(k.serverDefaultKey)) {
      if (source === ConfigSource.DEFAULT_CONFIG) source = ConfigSource.STATIC_BROKER_CONFIG;
      synonyms.push({ name: k.serverDefaultKey, value: b.config.raw(k.serverDefaultKey), source: ConfigSource.STATIC_BROKER_CONFIG });
    }
    synonyms.push({ name: k.serverDefaultKey ?? k.name, value: k.default, source: ConfigSource.DEFAULT_CONFIG });
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

/** The broker's static configs. */
export function describeBrokerConfigs(b: Broker, keys: readonly string[] | null): ConfigEntry[] {
  const out: ConfigEntry[] = [];
  const typeCode = { string: 2, int: 3, long: 5, boolean: 1, list: 7 } as const;
  for (const d of BROKER_CONFIG_DEFS) {
    if (keys !== null && !keys.includes(d.key)) continue;
    const set = b.config.isSet(d.key);
    const value = b.config.raw(d.key);
    out.push({
      name: d.key,
      value,
      readOnly: true,
      configSource: set ? ConfigSource.STATIC_BROKER_CONFIG : ConfigSource.DEFAULT_CONFIG,
      configType: typeCode[d.type],
      documentation: d.doc,
      synonyms: set ? [{ name: d.key, value, source: ConfigSource.STATIC_BROKER_CONFIG }] : [],
    });
  }
  return out;
}

/** AlterConfigs/IncrementalAlterConfigs operations. */
export const AlterConfigOp = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

/**
 * Applies config changes to a topic. `replace` = AlterConfigs semantics (the given set replaces all overrides);
 * otherwise incremental operations. Validates everything before changing anything.
 */
export async function alterTopicConfigs(
  b: Broker,
  topic: Topic,
  changes: readonly { name: string; op: number; value: string | null }[],
  replace: boolean,
  validateOnly: boolean,
): Promise<void> {
  const overrides: Record<string, string> = replace ? {} : { ...topic.overrides };
  for (const c of changes) {
    const key = logConfigKey(c.name);
    if (key === undefined) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${c.name}`);
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
        if (key.type !== "list") throw new KafkaError(ErrorCode.INVALID_CONFIG, `Config ${c.name} is not a list; APPEND/SUBTRACT need a list`);
        const current = (overrides[c.name] ?? logConfigValueString(topic.config, c.name) ?? "").split(",").map((s) => s.trim()).filter(Boolean);
        const items = (c.value ?? "").split(",").map((s) => s.trim()).filter(Boolean);
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
 * each resource; only topics can change, broker settings are static.
 */
export async function alterConfigResources(
  b: Broker,
  resources: readonly { resourceType: number; resourceName: string; changes: { name: string; op: number; value: string | null }[] }[],
  replace: boolean,
  validateOnly: boolean,
): Promise<AlterConfigsResult[]> {
  const results: AlterConfigsResult[] = [];
  for (const r of resources) results.push(await alterOne(r));
  return results;

  async function alterOne(r: (typeof resources)[number]): Promise<AlterConfigsResult> {
    const out: AlterConfigsResult = { errorCode: ErrorCode.NONE, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName };
    if (r.resourceType !== ConfigResourceType.TOPIC) {
      return { ...out, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "Broker configs are static; set them in server.properties" };
    }
    const t = b.topicsByName.get(r.resourceName);
    if (t === undefined) return { ...out, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
    try {
      await alterTopicConfigs(b, t, r.changes, replace, validateOnly);
    } catch (e) {
      const err = topicOperationError(e);
      if (err.unexpected) b.logger.error(`altering the configs of topic ${r.resourceName} failed: ${(e as Error)?.stack ?? e}`);
      return { ...out, errorCode: err.code, errorMessage: err.message };
    }
    return out;
  }
}
