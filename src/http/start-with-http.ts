/**
 * Starts a broker with its HTTP side: binds `http.listeners` first (so `/v1/health` answers and `/v1/ready`
 * says 503 while logs recover), then recovers the logs and starts the Kafka listener, then marks the HTTP side
 * ready. Recovery yields to the event loop after each partition so probes are answered during a long recovery.
 */
import { setImmediate } from "node:timers";
import { Broker, consoleLogger, type BrokerDeps } from "../broker/broker.ts";
import type { BrokerConfig } from "../broker/config.ts";
import { HttpServer, parseHttpListener, type HttpSecurity, type ReadinessCheck } from "./http-server.ts";
import { HttpAuthentication } from "./http-authentication.ts";
import { nodeFileSystem, type FileSystem } from "../platform/fs.ts";
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

/** A broker and, when `http.listeners` is set, its HTTP server. */
export interface RunningBroker {
  /** The broker. */
  broker: Broker;
  /** The HTTP side, or null when `http.listeners` is empty. */
  http: HttpServer | null;
  /** Stops both. */
  stop(): Promise<void>;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Starts the HTTP side (if configured) and the broker. `onHttpBound` is called once the HTTP ports are bound,
 * before recovery starts (tests use it to probe readiness). `readiness` is a further condition of `/v1/ready` (cluster
 * mode: the broker is registered).
 */
export async function startBrokerWithHttp(config: BrokerConfig, deps: BrokerDeps = {}, onHttpBound?: (http: HttpServer) => void, readiness?: ReadinessCheck): Promise<RunningBroker> {
  const specs = config.list("http.listeners").map(parseHttpListener);
  const logger = deps.logger ?? consoleLogger;
  let scramOf: ((user: string, mechanism: string) => ScramCredential | undefined) | null = null;
  const http = specs.length > 0 ? await HttpServer.start(specs, logger, httpSecurity(config, deps.fs ?? nodeFileSystem, (u, m) => scramOf?.(u, m))) : null;
  if (http !== null) {
    if (readiness) http.addReadinessCheck(readiness);
    logger.info(`HTTP (metrics, health, console) serving at ${specs.map((s, i) => `${s.tls ? "https" : "http"}://${s.host}:${http.ports[i]}`).join(", ")}`);
    onHttpBound?.(http);
  }
  let broker: Broker;
  try {
    broker = await Broker.start(config, {
      ...deps,
      recoveryProgress: async (loaded, total) => {
        http?.recovering(loaded, total);
        if (deps.recoveryProgress) await deps.recoveryProgress(loaded, total);
        else if (http !== null) await yieldToEventLoop();
      },
    });
  } catch (e) {
    await http?.close();
    throw e;
  }
  scramOf = (u, m) => broker.scramCredentials.get(u, m);
  http?.attach(broker);
  return {
    broker,
    http,
    async stop() {
      await http?.close();
      await broker.stop();
    },
  };
}
