/**
 * The broker's HTTP side (`http.listeners`, e.g. `http://127.0.0.1:9644`): `/metrics` (Prometheus),
 * `/v1/health` (live), `/v1/ready` (logs recovered, the Kafka listener bound and, in a cluster, the broker
 * registered and in the ISR of every partition it follows), the JSON API under `/v1/` (docs/http-api.md) and the web console at `/`. It starts before the logs
 * are recovered, so probes are answered (503) during a long recovery.
 *
 * Security: `https://` listeners use the Kafka listeners' ssl.* PEM settings (scoped as `listener.name.http.ssl.*`
 * or the plain keys); callers authenticate as `http.authentication.methods` says (http-authentication.ts), and
 * the JSON API authorizes each action as the caller's principal with the broker's ACLs (api/api-access.ts).
 */
import { serveHttp, type HttpListener, type HttpRequest, type HttpResponse } from "../platform/http.ts";
import type { TlsServerOptions } from "../platform/net.ts";
import { ApiAccess } from "./api/api-access.ts";
import type { HttpAuthentication } from "./http-authentication.ts";
import type { Broker, BrokerLogger } from "../broker/broker.ts";
import type { Authorizer } from "../security/acl.ts";
import { renderMetrics, type MetricsSource } from "./metrics/prometheus-page.ts";
import { PROMETHEUS_CONTENT_TYPE } from "./metrics/prometheus-text.ts";
import { RuntimeStats } from "./metrics/runtime-stats.ts";
import { handleApi, jsonResponse as json } from "./api/api-routes.ts";
import { consoleAsset } from "./console-assets.ts";
import { RecoveryProgress, type ShardStartWatcher } from "./recovery-progress.ts";

/** Largest request body the JSON API accepts (a produced message with headers fits well below it). */
export const HTTP_MAX_BODY_BYTES = 8 * 1024 * 1024;

/** A parsed `http.listeners` entry. */
export interface HttpListenerSpec {
  /** Host to bind. */
  host: string;
  /** Port (0 = OS-chosen). */
  port: number;
  /** HTTPS (`https://`). */
  tls: boolean;
}

/** Parses `http://host:port` or `https://host:port`. */
export function parseHttpListener(s: string): HttpListenerSpec {
  const m = /^(https?):\/\/(\[[^\]]*\]|[^:/]*):(\d+)\/?$/.exec(s.trim());
  if (!m) throw new Error(`invalid http.listeners entry '${s}' (expected http://host:port or https://host:port)`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid port in '${s}'`);
  return { host: m[2].replace(/^\[|\]$/g, "") || "0.0.0.0", port, tls: m[1] === "https" };
}

/** How the HTTP side is secured. */
export interface HttpSecurity {
  /** TLS settings of `https://` listeners, or null when there are none. */
  tls: Omit<TlsServerOptions, "onHandshakeError"> | null;
  /** Who callers are. */
  authentication: HttpAuthentication;
}

/** A readiness condition beyond recovery: null when met, else why the broker is not ready. */
export type ReadinessCheck = () => string | null;

/**
 * What the HTTP side serves once the node is up: one in-process broker ({@link brokerBackend}), or a sharded node
 * (src/shard/sharded-http.ts), whose shards live in other threads.
 */
export interface HttpBackend {
  /** Decides the JSON API's requests when `authorizer.class.name` is set, else null. */
  readonly authorizer: Authorizer | null;
  /** Counts one HTTP request's authentication (listener `http`). */
  authenticationDone(ok: boolean): void;
  /** The `/metrics` page. */
  metricsPage(runtime: RuntimeStats): Promise<string>;
  /** Serves one `/v1/...` request (not health or ready) for `access`'s caller. */
  api(req: HttpRequest, access: ApiAccess): Promise<HttpResponse>;
}

/** The HTTP side of one in-process broker (kept metrics: `http.listeners` set). */
export function brokerBackend(b: Broker): HttpBackend {
  if (b.metrics === null) throw new Error("the broker keeps no metrics (http.listeners is empty)");
  const metrics = b.metrics;
  return {
    authorizer: b.authorizer,
    authenticationDone: (ok) => metrics.authenticationDone("http", ok),
    metricsPage: (runtime) => renderMetrics(metricsSource(b), runtime),
    api: (req, access) => handleApi(b, req, access),
  };
}

/** The running HTTP side of one broker. */
export class HttpServer {
  private broker: HttpBackend | null = null;
  private recovery = new RecoveryProgress(1);
  private readonly runtime = new RuntimeStats();
  private readonly readinessChecks: ReadinessCheck[] = [];

  private constructor(
    private readonly listeners: HttpListener[],
    private readonly logger: BrokerLogger,
    private readonly security: HttpSecurity,
  ) {}

  /** Binds every `http.listeners` entry; the server answers 503 on `/v1/ready` until {@link HttpServer.attach}. */
  static async start(specs: readonly HttpListenerSpec[], logger: BrokerLogger, security: HttpSecurity): Promise<HttpServer> {
    const listeners: HttpListener[] = [];
    const server = new HttpServer(listeners, logger, security);
    try {
      for (const s of specs) {
        if (s.tls && security.tls === null) throw new Error(`http.listeners: https://${s.host}:${s.port} needs TLS settings (ssl.keystore.location)`);
        const tls = s.tls ? { ...security.tls!, onHandshakeError: (remote: string, msg: string) => logger.warn(`HTTPS handshake with ${remote} failed: ${msg}`) } : null;
        listeners.push(await serveHttp(s.host, s.port, HTTP_MAX_BODY_BYTES, (req) => server.route(req), (e) => logger.error(`HTTP request failed: ${(e as Error)?.stack ?? e}`), tls));
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
    this.recovery.recovering(0, loaded, total);
  }

  /** A sharded node of `shards` shards starts: `/v1/ready` reports each shard's recovery, told to the watcher returned. */
  shardsStarting(shards: number): ShardStartWatcher {
    this.recovery = new RecoveryProgress(shards);
    return this.recovery;
  }

  /** The broker is up (logs recovered, Kafka listener bound): APIs and readiness go live. */
  attach(broker: Broker | HttpBackend): void {
    this.broker = "metricsPage" in broker ? broker : brokerBackend(broker);
  }

  /** Adds a condition `/v1/ready` waits for once the logs are recovered (cluster registration, replication). */
  addReadinessCheck(check: ReadinessCheck): void {
    this.readinessChecks.push(check);
  }

  /** Stops the listeners and the runtime probes. */
  async close(): Promise<void> {
    this.runtime.stop();
    await Promise.all(this.listeners.map((l) => l.close()));
  }

  /** The caller's access (principal and ACL decisions), or the 401/503 refusing it. */
  private authorize(req: HttpRequest): ApiAccess | HttpResponse {
    const auth = this.security.authentication;
    const host = req.remoteIp;
    if (auth.exempts(req.path)) return new ApiAccess(this.broker?.authorizer ?? null, { principal: "User:ANONYMOUS", host });
    // SCRAM users live in the broker's metadata: until it is up they cannot be checked.
    if (this.broker === null) return json(503, { error: "the broker is starting (logs recovering)" });
    const id = auth.identify(req);
    this.broker.authenticationDone(id.ok);
    if (!id.ok) {
      this.logger.info(`HTTP authentication failed from ${host}: ${id.reason}`);
      const r = json(401, { error: "SASL_AUTHENTICATION_FAILED", message: "Authentication failed: invalid or missing credentials" });
      r.headers!["www-authenticate"] = auth.challenge();
      return r;
    }
    return new ApiAccess(this.broker.authorizer, { principal: id.principal, host });
  }

  private async route(req: HttpRequest): Promise<HttpResponse> {
    const access = this.authorize(req);
    if (!(access instanceof ApiAccess)) return access;
    const p = req.path;
    if (p === "/v1/health") return json(200, { status: "live" });
    if (p === "/v1/ready") {
      if (this.broker === null) {
        return json(503, { status: "starting", ...this.recovery.state() });
      }
      for (const check of this.readinessChecks) {
        const reason = check();
        if (reason !== null) return json(503, { status: "not ready", reason });
      }
      return json(200, { status: "ready" });
    }
    const b = this.broker;
    if (p === "/metrics") {
      if (b === null) return json(503, { error: "starting" });
      return { status: 200, headers: { "content-type": PROMETHEUS_CONTENT_TYPE }, body: await b.metricsPage(this.runtime) };
    }
    if (p.startsWith("/v1/")) {
      if (b === null) return json(503, { error: "the broker is starting (logs recovering)" });
      return b.api(req, access);
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
