/**
 * Starts a broker with its HTTP side: binds `http.listeners` first (so `/v1/health` answers and `/v1/ready`
 * says 503 while logs recover), then recovers the logs and starts the Kafka listener, then marks the HTTP side
 * ready. Recovery yields to the event loop after each partition so probes are answered during a long recovery.
 */
import { setImmediate } from "node:timers";
import { Broker, consoleLogger, type BrokerDeps } from "../broker/broker.ts";
import type { BrokerConfig } from "../broker/config.ts";
import type { HttpServer, ReadinessCheck } from "./http-server.ts";
import { nodeFileSystem } from "../platform/fs.ts";
import type { ScramCredential } from "../security/scram.ts";

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
  const logger = deps.logger ?? consoleLogger;
  let scramOf: ((user: string, mechanism: string) => ScramCredential | undefined) | null = null;
  let http: HttpServer | null = null;
  if (config.list("http.listeners").length > 0) {
    // Loaded only here: a broker without http.listeners never loads the HTTP server, the console or the /v1 API.
    const { bindHttpListeners } = await import("./http-side.ts");
    http = await bindHttpListeners(config, deps.fs ?? nodeFileSystem, logger, (u, m) => scramOf?.(u, m));
    if (readiness) http.addReadinessCheck(readiness);
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
