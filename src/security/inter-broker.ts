/**
 * How a broker connects to the others (replication, and later controller traffic): over `inter.broker.listener.name`
 * with that listener's protocol. TLS trusts the listener's `ssl.truststore.*` and presents its keystore when the
 * listener asks for client certificates; SASL uses `sasl.mechanism.inter.broker.protocol` and the `username` /
 * `password` options of that mechanism's login config (`listener.name.<l>.<mechanism>.sasl.jaas.config`), as in Kafka.
 */
import type { BrokerConfig } from "../broker/config.ts";
import type { FileSystem } from "../platform/fs.ts";
import type { TlsClientOptions } from "../platform/net.ts";
import type { SaslCredentials } from "./sasl-client.ts";
import { interBrokerListenerName, listenerDefs, listenerSetting, usesSasl, usesTls } from "./listeners.ts";
import { listenerTls } from "./tls-config.ts";
import { parseJaasConfig } from "./jaas.ts";

/** The security part of an inter-broker connection's options. */
export interface InterBrokerSecurity {
  /** The listener the brokers use between themselves. */
  listenerName: string;
  /** TLS settings, when the listener runs TLS. */
  tls?: TlsClientOptions;
  /** SASL login, when the listener runs SASL. */
  sasl?: SaslCredentials;
}

/** Resolves the inter-broker connection security from the config; throws naming the missing setting. */
export function interBrokerSecurity(config: BrokerConfig, fs: FileSystem): InterBrokerSecurity {
  const name = interBrokerListenerName(config);
  const def = listenerDefs(config).find((d) => d.name === name)!;
  const out: InterBrokerSecurity = { listenerName: name };
  if (usesTls(def.securityProtocol)) {
    const t = listenerTls(config, name, fs).server;
    out.tls = { ca: t.ca, ...(t.clientAuth !== "none" ? { cert: t.cert, key: t.key, passphrase: t.passphrase } : {}) };
  }
  if (usesSasl(def.securityProtocol)) {
    const mechanism = (config.raw("sasl.mechanism.inter.broker.protocol") ?? "PLAIN").toUpperCase();
    const key = `listener.name.${name.toLowerCase()}.${mechanism.toLowerCase()}.sasl.jaas.config`;
    const jaas = config.values.get(key) ?? listenerSetting(config, name, "sasl.jaas.config");
    if (jaas === null) throw new Error(`inter-broker SASL on ${name}: ${key} with username and password is needed`);
    const options = parseJaasConfig(jaas).options;
    const username = options.get("username");
    const password = options.get("password");
    if (username === undefined || password === undefined) throw new Error(`inter-broker SASL on ${name}: ${key} needs username="..." and password="..."`);
    out.sasl = { mechanism, username, password };
  }
  return out;
}
