/**
 * Starts a broker with its HTTP side: binds `http.listeners` first (so `/v1/health` answers and `/v1/ready`
 * says 503 while logs recover), then recovers the logs and starts the Kafka listener, then marks the HTTP side
 * ready. Recovery yields to the event loop after each partition so probes are answered during a long recovery.
 */
import { setImmediate } from "node:timers";
import { Broker, consoleLogger, type BrokerDeps } from "../broker/broker.ts";
import type { BrokerConfig } from "../broker/config.ts";
import { HttpServer, parseHttpListener } from "./http-server.ts";

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
 * before recovery starts (tests use it to probe readiness).
 */
export async function startBrokerWithHttp(config: BrokerConfig, deps: BrokerDeps = {}, onHttpBound?: (http: HttpServer) => void): Promise<RunningBroker> {
  const specs = config.list("http.listeners").map(parseHttpListener);
  const logger = deps.logger ?? consoleLogger;
  const http = specs.length > 0 ? await HttpServer.start(specs, logger) : null;
  if (http !== null) {
    logger.info(`HTTP (metrics, health, console) serving at ${specs.map((s, i) => `http://${s.host}:${http.ports[i]}`).join(", ")}`);
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
