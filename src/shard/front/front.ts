/**
 * The front of a sharded node: listens on the node's Kafka listeners (TLS and SASL terminated here, with the
 * broker's own listener code and limits) and serves every connection with the front's handlers, which route each
 * request, or each partition-level part of it, to the owning shard. Clients see one broker with the node's id.
 */
import { BrokerConfig } from "../../broker/config.ts";
import type { BrokerLogger } from "../../broker/broker.ts";
import { FetchSessionCache } from "../../broker/fetch-sessions.ts";
import { FrameBufferPool } from "../../broker/frame-buffer-pool.ts";
import { listenerLimits, startKafkaListener, type KafkaListener, type ListenFn, type ListenerLimits } from "../../broker/kafka-listener.ts";
import type { Clock } from "../../platform/clock.ts";
import { fileIdentity, mmapSupported, type FileSystem } from "../../platform/fs.ts";
import { SegmentMaps } from "./segment-maps.ts";
import { fetchGet } from "../../platform/http-client.ts";
import type { RandomSource } from "../../platform/random.ts";
import { SharedTexts } from "../../platform/shared-text.ts";
import { SharedKeyTable } from "../../platform/shared-table.ts";
import { resolveHost } from "../../platform/net.ts";
import { monotonicOriginMs } from "../../platform/clock.ts";
import { ClientQuotaStore } from "../../security/client-quotas.ts";
import { mergeDynamicBrokerConfigs } from "../../broker/dynamic-configs.ts";
import { listenerSecurity, type ListenerSecurity } from "../../security/listener-security.ts";
import { advertisedSpec, listenerDefs } from "../../security/listeners.ts";
import type { ScramCredentialStore } from "../../security/scram-credentials.ts";
import type { BrokerMetrics } from "../../http/metrics/broker-metrics.ts";
import { buildFrontHandlers, FrontRouter, shardApiVersions } from "./front-handlers.ts";
import { frontFetchQuota, type QuotaMetadata } from "./front-fetch-quota.ts";
import type { FrontIdentity, FrontShards } from "./front-shards.ts";

/** What the front runs with. */
export interface FrontDeps {
  /** The node's config (listeners, limits, `node.id`, `broker.rack`). */
  config: BrokerConfig;
  /** The node's shards. */
  shards: FrontShards;
  /** SCRAM credentials for SASL/SCRAM listeners (read from the node's metadata). */
  scram: ScramCredentialStore;
  clock: Clock;
  fs: FileSystem;
  random: RandomSource;
  logger: BrokerLogger;
  /** Listens for plain TCP (tests may pass a simulated network). */
  listen?: ListenFn;
  /** Bind with SO_REUSEPORT, so the fronts of several threads share the node's ports. */
  reusePort?: boolean;
  /** Ports to bind by listener name instead of the configured ones (a shard's front binds the ports the main one got). */
  ports?: Readonly<Record<string, number>>;
  /** The node's connection table (every accepting thread counts `max.connections` and per-address limits in it). */
  nodeConnections?: SharedArrayBuffer;
  /** Client connections the whole node may hold by its open-files limit (`shardedFdBudget`; null or unset: unknown). */
  connectionFds?: number | null;
  /** The node's JWKS documents, one slot per listener, shared by every accepting thread (unset: this thread's own). */
  jwksDocuments?: SharedArrayBuffer;
  /** The node's request budget (`queued.max.request.bytes`, `queued.max.requests`), shared by every accepting thread. */
  requestBudget?: SharedArrayBuffer;
  /** Counters of this front's clients (connections, requests, latencies) when the node serves `/metrics`. */
  metrics?: BrokerMetrics;
  /** Whether `metrics` shows the node-wide connection rate gauges (default true; false on the shard threads' fronts). */
  nodeGauges?: boolean;
  /**
   * The node's client quotas (its metadata) and byte-rate sensors: the front charges `consumer_byte_rate` for the
   * Fetch answers it sends, and the shards charge none of its channels' (unset: each shard charges its own answer).
   */
  quotas?: { metadata: QuotaMetadata; sensors: SharedArrayBuffer };
  /** The node's connection creation rate sensors, shared by every accepting thread (unset: this thread's own). */
  connectionRates?: SharedArrayBuffer;
  /** The node's metadata, for the `connection_creation_rate` quotas of addresses (unset: none apply). */
  quotaMetadata?: QuotaMetadata;
}

/** A running front. */
export class Front {
  private constructor(
    private readonly listeners: Map<string, KafkaListener>,
    private readonly securities: ListenerSecurity[],
    /** The router (per-client channels, routing). */
    readonly router: FrontRouter,
    /** How the node presents itself (its id, its advertised endpoints). */
    readonly identity: FrontIdentity,
    /** Stops following the node's metadata (address quotas, dynamic broker configs). */
    private readonly unwatchMetadata: () => void,
  ) {}

  /** Learns the shards' API versions, then listens on every configured listener. */
  static async start(d: FrontDeps): Promise<Front> {
    // this front's own copy: the dynamic broker configs below change it, not the node's
    const config = new BrokerConfig(new Map(d.config.values));
    const listeners = new Map<string, KafkaListener>();
    const endpoints = new Map<string, { host: string; port: number }>();
    const identity: FrontIdentity = {
      nodeId: config.nodeId,
      rack: config.raw("broker.rack"),
      endpoint(name) {
        // Asked for every Produce and Fetch answer: parsed once per listener, once its port is known.
        const known = endpoints.get(name);
        if (known !== undefined) return known;
        const bound = config.listeners.find((l) => l.name === name) ?? config.listeners[0];
        const adv = advertisedSpec(config, bound.name) ?? bound;
        const host = adv.host === "" || adv.host === "0.0.0.0" ? "127.0.0.1" : adv.host;
        const port = adv.port === 0 ? (listeners.get(bound.name)?.listener.port ?? -1) : adv.port;
        const found = { host, port };
        if (port >= 0) endpoints.set(name, found);
        return found;
      },
    };
    // One pool for every listener's large frames and the shard channels' forwarded ones, which come back to it.
    const framePool = new FrameBufferPool();
    // Known before any client's channel opens: those open without an ApiVersions of their own.
    const shardVersions = await shardApiVersions(d.shards);
    const router = new FrontRouter({
      frameBuffers: framePool.forPorts(config.bool("runnel.shards.frame.slots")),
      shards: d.shards,
      identity,
      fetchSessions: new FetchSessionCache(config.num("max.incremental.fetch.session.cache.slots"), d.clock, d.random, config.num("min.incremental.fetch.session.eviction.ms")),
      fetchMaxBytes: config.num("fetch.max.bytes"),
      segmentMaps: config.bool("runnel.shards.fetch.slices") && mmapSupported() ? new SegmentMaps(d.fs, () => d.clock.monotonicMs(), fileIdentity, d.clock) : null,
      fetchQuota: d.quotas === undefined ? undefined : frontFetchQuota(config, d.quotas.metadata, d.quotas.sensors, d.clock),
      clock: d.clock,
      shardVersions,
    });
    const handlers = buildFrontHandlers(router, shardVersions);
    d.metrics?.serveApis(handlers.flatMap((h) => (h === undefined ? [] : [h.apiKey])));
    const log = (level: "info" | "warn" | "error", msg: string) => d.logger[level](msg);
    const securityDeps = { fs: d.fs, random: d.random, scram: d.scram, authenticated: (listener: string, ok: boolean) => d.metrics?.authenticationDone(listener, ok), nowMs: () => d.clock.nowMs(), monotonicMs: () => d.clock.monotonicMs(), log, httpGet: fetchGet, setTimer: (fn: () => void, ms: number) => d.clock.setTimer(fn, ms), clearTimer: (h: unknown) => d.clock.clearTimer(h), sharedJwks: d.jwksDocuments === undefined ? undefined : SharedTexts.attach(d.jwksDocuments) };
    const securities = listenerDefs(config).map((def) => listenerSecurity(config, def, securityDeps));
    // Dynamic broker configs (KIP-226) reach this front's config as they reach a broker's, so that the limits it reads
    // on each accept (max.connection.creation.rate) follow them.
    const statics = new Map(config.values);
    // the store version config.values reflects: the node's threads publish max.connections by it (NodeConnectionQuotas)
    let configVersion = 0;
    const followDynamic = (version: number) => {
      if (d.quotaMetadata === undefined) return;
      mergeDynamicBrokerConfigs(config.values, statics, d.quotaMetadata, config.nodeId);
      configVersion = version;
    };
    followDynamic(d.quotaMetadata?.version ?? 0);
    let limits: ListenerLimits | null = null;
    const unwatchDynamic = d.quotaMetadata?.watch((c) => {
      if (c.kind === "config" && c.resource === "broker" && (c.name === "" || c.name === String(config.nodeId))) {
        followDynamic(c.version);
        // max.connections and its per-address limits: every thread re-judges once any thread wakes the node's table
        limits?.limitsChanged();
      }
    }) ?? (() => {});
    const ipQuotas = d.quotaMetadata === undefined ? null : new ClientQuotaStore(d.quotaMetadata, () => Promise.reject(new Error("the front of a sharded node changes no client quotas")), resolveHost);
    const rateSources = {
      ipRate: ipQuotas === null ? undefined : (ip: string) => ipQuotas.connectionRateOf(ip),
      shared: d.connectionRates === undefined ? undefined : { table: SharedKeyTable.attach(d.connectionRates), originMs: monotonicOriginMs() },
    };
    limits = listenerLimits(config, d.connectionFds ?? null, d.nodeConnections === undefined ? undefined : { table: SharedKeyTable.attach(d.nodeConnections), configVersion: () => configVersion }, d.requestBudget, rateSources, d.clock, { resolve: resolveHost, warn: (msg) => log("error", msg) });
    const front = new Front(listeners, securities, router, identity, () => {
      ipQuotas?.close();
      unwatchDynamic();
    });
    try {
      await Promise.all([...securities.map((s) => s.ready()), limits.limitSource.hostsResolved()]);
      for (const sec of securities) {
        const def = sec.def;
        const l = await startKafkaListener(def.host || "0.0.0.0", d.ports?.[def.name] ?? def.port, config, handlers, d.clock, log, null, d.metrics, sec, limits, d.listen, {
          onConnectionClosed: (session, remote) => router.connectionClosed(session, remote),
          reusePort: d.reusePort ?? false,
          framePool,
          followReads: true,
          onReadMoved: () => router.produceReadsMoved++,
          nodeGauges: d.nodeGauges ?? true,
        });
        listeners.set(def.name, l);
      }
    } catch (e) {
      await front.stop();
      throw e;
    }
    return front;
  }

  /**
   * `front of node N listening on NAME://host:port, ... for K shards`: what the caller logs once this front, and on
   * the main thread every other accepting thread's, listens (test helpers wait for the main thread's line).
   */
  listeningLine(nodeId: number, shards: number): string {
    return `front of node ${nodeId} listening on ${[...this.listeners].map(([name, l]) => `${name}://${l.listener.host}:${l.listener.port}`).join(", ")} for ${shards} shards`;
  }

  /** The bound port of every listener, by name. */
  boundPorts(): Record<string, number> {
    return Object.fromEntries([...this.listeners].map(([name, l]) => [name, l.listener.port]));
  }

  /** The bound port of listener `name` (default: the first), or -1. */
  port(name?: string): number {
    const l = name === undefined ? this.listeners.values().next().value : this.listeners.get(name);
    return l?.listener.port ?? -1;
  }

  /** Stops listening and closes every client connection (and with them their shard channels). */
  async stop(): Promise<void> {
    for (const l of this.listeners.values()) await l.close();
    this.listeners.clear();
    for (const s of this.securities) s.close();
    this.router.deps.segmentMaps?.close();
    this.router.deps.fetchQuota?.close();
    this.unwatchMetadata();
  }
}
