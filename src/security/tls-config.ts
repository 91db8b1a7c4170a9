/**
 * A listener's TLS settings from Kafka's keys (each may be scoped as `listener.name.<listener>.<key>`):
 * `ssl.keystore.type=PEM` with `ssl.keystore.location` (a PEM file holding the private key and certificate chain)
 * or inline `ssl.keystore.key` + `ssl.keystore.certificate.chain`; `ssl.key.password`; `ssl.truststore.location`
 * or inline `ssl.truststore.certificates`; `ssl.client.auth`; `ssl.principal.mapping.rules`.
 */
import type { FileSystem } from "../platform/fs.ts";
import type { TlsServerOptions } from "../platform/net.ts";
import type { BrokerConfig } from "../broker/config.ts";
import { listenerSetting } from "./listeners.ts";
import { PrincipalMapping } from "./principal-mapping.ts";

/** TLS settings of one listener. */
export interface ListenerTls {
  /** Options for the platform's TLS server (without the error callback). */
  server: Omit<TlsServerOptions, "onHandshakeError">;
  /** Maps certificate subjects to principal names. */
  principals: PrincipalMapping;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** The PEM blocks of `text` whose label matches `label`. */
function pemBlocks(text: string, label: RegExp): string[] {
  return [...text.matchAll(PEM_BLOCK)].filter((m) => label.test(m[1])).map((m) => m[0]);
}

/** Reads and checks the TLS settings of listener `name`; throws naming the key at fault (never a secret). */
export function listenerTls(config: BrokerConfig, name: string, fs: FileSystem): ListenerTls {
  const get = (key: string) => listenerSetting(config, name, key);
  const where = (key: string) => `listener ${name}: ${key}`;
  for (const key of ["ssl.keystore.type", "ssl.truststore.type"]) {
    const t = get(key);
    if (t !== null && t.toUpperCase() !== "PEM") throw new Error(`${where(key)}=${t}: Runnel reads PEM only`);
  }
  const readPem = (key: string): string => {
    const path = get(key)!;
    try {
      return new TextDecoder().decode(fs.readFile(path));
    } catch (e) {
      throw new Error(`${where(key)}=${path}: ${(e as Error).message}`);
    }
  };
  let keyPem: string;
  let certPem: string;
  if (get("ssl.keystore.location") !== null) {
    const text = readPem("ssl.keystore.location");
    keyPem = pemBlocks(text, /PRIVATE KEY$/).join("\n");
    certPem = pemBlocks(text, /^CERTIFICATE$/).join("\n");
    if (keyPem === "" || certPem === "") throw new Error(`${where("ssl.keystore.location")}: the PEM file needs a private key and a certificate`);
  } else if (get("ssl.keystore.key") !== null && get("ssl.keystore.certificate.chain") !== null) {
    keyPem = get("ssl.keystore.key")!;
    certPem = get("ssl.keystore.certificate.chain")!;
  } else {
    throw new Error(`${where("ssl.keystore.location")}: a TLS listener needs a key and certificate (ssl.keystore.location, or ssl.keystore.key and ssl.keystore.certificate.chain)`);
  }
  let ca: string | undefined;
  if (get("ssl.truststore.location") !== null) ca = pemBlocks(readPem("ssl.truststore.location"), /^CERTIFICATE$/).join("\n");
  else if (get("ssl.truststore.certificates") !== null) ca = get("ssl.truststore.certificates")!;
  const clientAuth = (get("ssl.client.auth") ?? "none").toLowerCase();
  if (clientAuth !== "required" && clientAuth !== "requested" && clientAuth !== "none") throw new Error(`${where("ssl.client.auth")}=${clientAuth}: expected required, requested or none`);
  if (clientAuth !== "none" && (ca === undefined || ca === "")) throw new Error(`${where("ssl.client.auth")}=${clientAuth} needs a truststore (ssl.truststore.location)`);
  return {
    server: { key: keyPem, cert: certPem, passphrase: get("ssl.key.password") ?? undefined, ca, clientAuth },
    principals: PrincipalMapping.parse(get("ssl.principal.mapping.rules") ?? "DEFAULT"),
  };
}
