/**
 * The broker's listeners as Kafka configures them: `listeners` (NAME://host:port, several at once),
 * `listener.security.protocol.map` (NAME:PROTOCOL), `advertised.listeners` (per listener name, defaulting to the
 * bound address) and `inter.broker.listener.name`. Per-listener settings are read as
 * `listener.name.<name lowercased>.<key>` before the plain `<key>`, as in Kafka.
 */
import type { BrokerConfig, ListenerSpec } from "../broker/config.ts";
import { parseListener } from "../broker/config.ts";

/** Kafka's four security protocols. */
export type SecurityProtocol = "PLAINTEXT" | "SSL" | "SASL_PLAINTEXT" | "SASL_SSL";

const PROTOCOLS: ReadonlySet<string> = new Set(["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]);

/** One configured listener with its protocol. */
export interface ListenerDef extends ListenerSpec {
  /** The listener's security protocol from `listener.security.protocol.map`. */
  securityProtocol: SecurityProtocol;
}

/** Whether the protocol runs TLS. */
export function usesTls(p: SecurityProtocol): boolean {
  return p === "SSL" || p === "SASL_SSL";
}

/** Whether the protocol authenticates with SASL. */
export function usesSasl(p: SecurityProtocol): boolean {
  return p === "SASL_PLAINTEXT" || p === "SASL_SSL";
}

/** Parses `listener.security.protocol.map`; throws on a malformed entry or an unknown protocol. */
export function parseProtocolMap(text: string): Map<string, SecurityProtocol> {
  const map = new Map<string, SecurityProtocol>();
  for (const entry of text.split(",").map((e) => e.trim()).filter((e) => e !== "")) {
    const [name, protocol, ...rest] = entry.split(":");
    const p = protocol?.trim().toUpperCase();
    if (rest.length > 0 || name === undefined || name.trim() === "" || p === undefined || !PROTOCOLS.has(p)) {
      throw new Error(`config listener.security.protocol.map: invalid entry '${entry}' (expected NAME:PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL)`);
    }
    map.set(name.trim().toUpperCase(), p as SecurityProtocol);
  }
  return map;
}

/** The configured listeners with their protocols; throws on a duplicate name or a name missing from the map. */
export function listenerDefs(config: BrokerConfig): ListenerDef[] {
  const map = parseProtocolMap(config.str("listener.security.protocol.map"));
  const seen = new Set<string>();
  return config.list("listeners").map((text) => {
    const spec = parseListener(text);
    if (seen.has(spec.name)) throw new Error(`config listeners: listener name ${spec.name} appears twice`);
    seen.add(spec.name);
    const securityProtocol = map.get(spec.name);
    if (securityProtocol === undefined) throw new Error(`config listeners: no security protocol for listener ${spec.name} in listener.security.protocol.map`);
    return { ...spec, securityProtocol };
  });
}

/** The advertised address of listener `name` (from `advertised.listeners`), or null to advertise the bound one. */
export function advertisedSpec(config: BrokerConfig, name: string): ListenerSpec | null {
  for (const text of config.list("advertised.listeners")) {
    const spec = parseListener(text);
    if (spec.name === name) return spec;
  }
  return null;
}

/** The inter-broker listener's name (`inter.broker.listener.name`, default the first listener). */
export function interBrokerListenerName(config: BrokerConfig): string {
  const set = config.raw("inter.broker.listener.name");
  const defs = listenerDefs(config);
  if (set === null) return defs[0].name;
  const name = set.toUpperCase();
  if (!defs.some((d) => d.name === name)) throw new Error(`config inter.broker.listener.name=${set}: not one of the listeners`);
  return name;
}

/** A setting for one listener: `listener.name.<listener>.<key>` when set, else `<key>` (raw value or default). */
export function listenerSetting(config: BrokerConfig, listener: string, key: string): string | null {
  const scoped = config.values.get(`listener.name.${listener.toLowerCase()}.${key}`);
  return scoped !== undefined ? scoped : config.raw(key);
}

/** Checks every listener setting at start-up: names, protocols, advertised names, the inter-broker name. */
export function validateListeners(config: BrokerConfig): void {
  const defs = listenerDefs(config);
  if (defs.length === 0) throw new Error("config listeners: at least one listener is needed");
  for (const text of config.list("advertised.listeners")) {
    const spec = parseListener(text);
    if (!defs.some((d) => d.name === spec.name)) throw new Error(`config advertised.listeners: ${spec.name} is not one of the listeners`);
  }
  interBrokerListenerName(config);
}
