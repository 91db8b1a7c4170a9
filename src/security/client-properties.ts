/**
 * Kafka client security properties (what `--command-config` files of Kafka's tools hold) to Runnel client
 * connection options: `security.protocol`, `sasl.mechanism`, `sasl.jaas.config` (PlainLoginModule /
 * ScramLoginModule username and password), `ssl.truststore.location` and `ssl.keystore.location` (PEM files).
 */
import type { FileSystem } from "../platform/fs.ts";
import type { TlsClientOptions } from "../platform/net.ts";
import type { SaslCredentials } from "./sasl-client.ts";
import { parseJaasConfig } from "./jaas.ts";

/** The TLS and SASL options a properties map asks for; throws naming the property at fault. */
export function clientSecurityFromProperties(props: ReadonlyMap<string, string>, fs: FileSystem): { tls?: TlsClientOptions; sasl?: SaslCredentials } {
  const protocol = (props.get("security.protocol") ?? "PLAINTEXT").toUpperCase();
  if (!["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"].includes(protocol)) throw new Error(`security.protocol=${protocol}: expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL`);
  const out: { tls?: TlsClientOptions; sasl?: SaslCredentials } = {};
  const read = (key: string) => {
    const path = props.get(key);
    return path === undefined ? undefined : new TextDecoder().decode(fs.readFile(path));
  };
  if (protocol.endsWith("SSL")) {
    const keystore = read("ssl.keystore.location");
    out.tls = {
      ca: read("ssl.truststore.location"),
      cert: keystore?.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)?.join("\n"),
      key: keystore?.match(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/)?.[0],
      passphrase: props.get("ssl.key.password"),
    };
  }
  if (protocol.startsWith("SASL")) {
    const jaas = props.get("sasl.jaas.config");
    if (jaas === undefined) throw new Error("sasl.jaas.config with username and password is needed for SASL");
    const options = parseJaasConfig(jaas).options;
    const username = options.get("username");
    const password = options.get("password");
    if (username === undefined || password === undefined) throw new Error("sasl.jaas.config needs username=\"...\" and password=\"...\"");
    out.sasl = { mechanism: (props.get("sasl.mechanism") ?? "PLAIN").toUpperCase(), username, password };
  }
  return out;
}
