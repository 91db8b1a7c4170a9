/**
 * The HTTP side of a broker with `http.listeners` (metrics, health, console): its TLS and authentication from the
 * config, and binding its listeners. Loaded by start-with-http.ts only when `http.listeners` is set, so a broker
 * without them never loads the HTTP server, the console or the /v1 API.
 */
import type { BrokerLogger } from "../broker/broker.ts";
import type { BrokerConfig } from "../broker/config.ts";
import { HttpServer, parseHttpListener, type HttpSecurity } from "./http-server.ts";
import { HttpAuthentication } from "./http-authentication.ts";
import type { FileSystem } from "../platform/fs.ts";
import { listenerTls } from "../security/tls-config.ts";
import { configuredPlainUsers, PasswordVerifier } from "../security/password-verifier.ts";
import type { ScramCredential } from "../security/scram.ts";

/** The listener name whose `listener.name.<name>.ssl.*` keys configure `https://` HTTP listeners. */
export const HTTP_LISTENER_NAME = "http";

/** The HTTP side's TLS (when a listener is https) and authentication, from the config; throws naming the key. */
export function httpSecurity(config: BrokerConfig, fs: FileSystem, scram: (user: string, mechanism: string) => ScramCredential | undefined): HttpSecurity {
  const https = config.list("http.listeners").map(parseHttpListener).some((s) => s.tls);
  return {
    tls: https ? listenerTls(config, HTTP_LISTENER_NAME, fs).server : null,
    authentication: HttpAuthentication.fromConfig(config, new PasswordVerifier(configuredPlainUsers(config), scram)),
  };
}

/** Binds every `http.listeners` entry (at least one) with the config's security and logs where it serves. */
export async function bindHttpListeners(config: BrokerConfig, fs: FileSystem, logger: BrokerLogger, scram: (user: string, mechanism: string) => ScramCredential | undefined): Promise<HttpServer> {
  const specs = config.list("http.listeners").map(parseHttpListener);
  const http = await HttpServer.start(specs, logger, httpSecurity(config, fs, scram));
  logger.info(`HTTP (metrics, health, console) serving at ${specs.map((s, i) => `${s.tls ? "https" : "http"}://${s.host}:${http.ports[i]}`).join(", ")}`);
  return http;
}
