/**
 * The broker's HTTP side (`http.listeners`, e.g. `http://127.0.0.1:9644`): `/metrics` (Prometheus),
 * `/v1/health` (live), `/v1/ready` (logs recovered and the Kafka listener bound), the JSON API under `/v1/`
 * (docs/http-api.md) and the web console at `/`. It starts before the logs are recovered, so probes are answered
 * (503) during a long recovery.
 *
 * Security seam: once SASL/TLS land, `authorize` below is where basic auth against SASL users or a bearer token is
 * checked, and the listener gets the Kafka listeners' TLS settings; today every request is allowed.
 */
import { serveHttp, type HttpListener, type HttpRequest, type HttpResponse } from "../platform/http.ts";
import type { Broker, BrokerLogger } from "../broker/broker.ts";
import { renderMetrics, type MetricsSource } from "./metrics/prometheus-page.ts";
import { PROMETHEUS_CONTENT_TYPE } from "./metrics/prometheus-text.ts";
import { RuntimeStats } from "./metrics/runtime-stats.ts";
import { handleApi, jsonResponse as json } from "./api/api-routes.ts";
import { consoleAsset } from "./console-assets.ts";

/** Largest request body the JSON API accepts (a produced message with headers fits well below it). */
export const HTTP_MAX_BODY_BYTES = 8 * 1024 * 1024;

/** A parsed `http.listeners` entry. */
export interface HttpListenerSpec {
  /** Host to bind. */
  host: string;
  /** Port (0 = OS-chosen). */
  port: number;
}

/** Parses `http://host:port` (https is refused until TLS lands). */
export function parseHttpListener(s: string): HttpListenerSpec {
  const m = /^http:\/\/(\[[^\]]*\]|[^:/]*):(\d+)\/?$/.exec(s.trim());
  if (!m) throw new Error(`invalid http.listeners entry '${s}' (expected http://host:port)`);
  const port = Number(m[2]);
  if (port > 65535) throw new Error(`invalid port in '${s}'`);
  return { host: m[1].replace(/^\[|\]$/g, "") || "0.0.0.0", port };
}

/** Start-up state reported by `/v1/ready`. */
export interface Readiness {
  /** Partitions loaded so far and found in total. */
  loaded: number;
  /** Partitions found in the log dirs. */
  total: number;
}

/** The running HTTP side of one broker. */
export class HttpServer {
  private broker: Broker | null = null;
  private readonly progress: Readiness = { loaded: 0, total: 0 };
  private readonly runtime = new RuntimeStats();

  private constructor(
    private readonly listeners: HttpListener[],
    private readonly logger: BrokerLogger,
  ) {}

  /** Binds every `http.listeners` entry; the server answers 503 on `/v1/ready` until {@link HttpServer.attach}. */
  static async start(specs: readonly HttpListenerSpec[], logger: BrokerLogger): Promise<HttpServer> {
    const listeners: HttpListener[] = [];
    const server = new HttpServer(listeners, logger);
    try {
      for (const s of specs) {
        listeners.push(await serveHttp(s.host, s.port, HTTP_MAX_BODY_BYTES, (req) => server.route(req), (e) => logger.error(`HTTP request failed: ${(e as Error)?.stack ?? e}`)));
      }
    } catch (e) {
      await server.close();
      throw e;
    }
    return server;
  }

  /** Bound ports, in `http.listeners` order. */
  get ports(): number[] {
    return this.listeners.map((l) => l.port);
  }

  /** Records recovery progress (called by the broker after each partition it loads). */
  recovering(loaded: number, total: number): void {
    this.progress.loaded = loaded;
    this.progress.total = total;
  }

  /** The broker is up (logs recovered, Kafka listener bound): APIs and readiness go live. */
  attach(broker: Broker): void {
    if (broker.metrics === null) throw new Error("the broker keeps no metrics (http.listeners is empty)");
    this.broker = broker;
  }

  /** Stops the listeners and the runtime probes. */
  async close(): Promise<void> {
    this.runtime.stop();
    await Promise.all(this.listeners.map((l) => l.close()));
  }

  private authorize(_req: HttpRequest): HttpResponse | null {
    return null; // security seam: basic auth / token once SASL lands
  }

  private async route(req: HttpRequest): Promise<HttpResponse> {
    const denied = this.authorize(req);
    if (denied !== null) return denied;
    const p = req.path;
    if (p === "/v1/health") return json(200, { status: "live" });
    if (p === "/v1/ready") {
      if (this.broker === null) {
        return json(503, { status: "starting", reason: `recovering logs: ${this.progress.loaded}/${this.progress.total} partitions loaded` });
      }
      return json(200, { status: "ready" });
    }
    const b = this.broker;
    if (p === "/metrics") {
      if (b === null) return json(503, { error: "starting" });
      return { status: 200, headers: { "content-type": PROMETHEUS_CONTENT_TYPE }, body: await renderMetrics(metricsSource(b), this.runtime) };
    }
    if (p.startsWith("/v1/")) {
      if (b === null) return json(503, { error: "the broker is starting (logs recovering)" });
      return handleApi(b, req);
    }
    if (req.method !== "GET" && req.method !== "HEAD") return json(405, { error: "method not allowed" });
    const asset = consoleAsset(p);
    if (asset === null) return { status: 404, headers: { "content-type": "text/plain" }, body: "not found\n" };
    return { status: 200, headers: { "content-type": asset.contentType, "cache-control": "no-cache", ...SECURITY_HEADERS }, body: asset.body };
  }
}

/** Headers that keep the console from running anything but its own script. */
const SECURITY_HEADERS = {
  "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
};


function metricsSource(b: Broker): MetricsSource {
  return {
    metrics: b.metrics!,
    topics: () => b.topicsByName.values(),
    groupIds: () => b.groups.listGroups().map((g) => g.groupId),
    groupLag: (id) => b.groups.describeGroupLag(id),
    nodeId: b.nodeId,
  };
}
