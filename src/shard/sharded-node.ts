/**
 * A node with `runnel.shards` > 1 (docs/sharding.md): the shards ({@link ShardSet}, worker threads) and, on this
 * thread, the front that clients talk to on the node's listeners. What `runnel start` runs instead of a `Broker`.
 */
import type { BrokerConfig } from "../broker/config.ts";
import { consoleLogger, type BrokerLogger } from "../broker/broker.ts";
import { systemClock } from "../platform/clock.ts";
import { nodeFileSystem } from "../platform/fs.ts";
import { systemRandom } from "../platform/random.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { ScramCredentialStore } from "../security/scram-credentials.ts";
import { Front } from "./front/front.ts";
import { reusePortSupported } from "../platform/net.ts";
import { ShardSet, type ShardCluster } from "./shard-host.ts";
import type { BrokerRegistration } from "../cluster/metadata-store.ts";
import { listenerDefs } from "../security/listeners.ts";
import { BrokerMetrics } from "../http/metrics/broker-metrics.ts";
import { HttpServer, parseHttpListener, type HttpBackend, type ReadinessCheck } from "../http/http-server.ts";
import { httpSecurity } from "../http/http-side.ts";
import { AclStore } from "../security/acl-store.ts";
import { Authorizer, parseSuperUsers } from "../security/acl.ts";
import type { ScramCredential } from "../security/scram.ts";
import { shardedHttpBackend } from "./shard-http.ts";

/** What a sharded node runs with. */
export interface ShardedNodeDeps {
  /** Logger of the host, the in-thread parts and the front (default: stderr). */
  logger?: BrokerLogger;
  /**
   * A shard died or shut itself down after the start: the process should exit with an error. Never called before
   * {@link startShardedNode} resolves: a shard that dies or shuts itself down while the node starts fails the start.
   */
  onFatal?: (reason: string) => void;
  /** Test-only: the shards run without fdatasync (`RUNNEL_UNSAFE_SKIP_FDATASYNC`, src/cli/start.ts). */
  unsafeSkipFdatasync?: boolean;
  /** The module each shard's worker runs (tests inject a hung shard; default: the shard worker). */
  shardWorkerModule?: string | URL;
  /** The etcd cluster the node is a broker of: its shards run over the cluster's store; the node registers once its front listens. */
  cluster?: ShardCluster & {
    register(registration: BrokerRegistration): Promise<void>;
    /** Why the node is not ready in the cluster (not registered, or outside the ISR of a partition it follows), or null: a condition of `/v1/ready`. */
    readiness?: ReadinessCheck;
  };
}

/** A running sharded node. */
export interface ShardedNode {
  /** The shards. */
  readonly shards: ShardSet;
  /** The front. */
  readonly front: Front;
  /** The HTTP side (`/metrics`, health, the JSON API and console), or null when `http.listeners` is empty. */
  readonly http: HttpServer | null;
  /** The bound port of listener `name` (default: the first). */
  port(name?: string): number;
  /** Stops the front (clients first), then every shard. */
  stop(): Promise<void>;
}

/**
 * Starts the HTTP side (when `http.listeners` is set: probes answer while the shards start), the shards of
 * `config`'s node, then the front on its listeners; resolves once clients can connect.
 */
export async function startShardedNode(config: BrokerConfig, deps: ShardedNodeDeps = {}): Promise<ShardedNode> {
  const logger = deps.logger ?? consoleLogger;
  const specs = config.list("http.listeners").map(parseHttpListener);
  let scramOf: ((user: string, mechanism: string) => ScramCredential | undefined) | null = null;
  const http = specs.length > 0 ? await HttpServer.start(specs, logger, httpSecurity(config, nodeFileSystem, (u, m) => scramOf?.(u, m))) : null;
  // In an etcd cluster `/v1/ready` also waits for the node's registration and its followers' catch-up, as one broker's does.
  if (http !== null && deps.cluster?.readiness !== undefined) http.addReadinessCheck(deps.cluster.readiness);
  if (http !== null) logger.info(`HTTP (metrics, health, console) serving at ${specs.map((s, i) => `${s.tls ? "https" : "http"}://${s.host}:${http.ports[i]}`).join(", ")}`);
  // Until the start is done, a shard's failure fails the start (the caller has no node to stop yet); then it is
  // the caller's `onFatal`.
  let startFailure: Error | null = null;
  let started = false;
  const onFatal = (reason: string) => {
    if (started) deps.onFatal?.(reason);
    else startFailure ??= new Error(reason);
  };
  let shards: ShardSet;
  try {
    shards = await ShardSet.start(config, { logger, onFatal, unsafeSkipFdatasync: deps.unsafeSkipFdatasync, workerModule: deps.shardWorkerModule, startWatcher: http?.shardsStarting(config.num("runnel.shards")), cluster: deps.cluster });
  } catch (e) {
    return failStart(e, [() => http?.close()], logger);
  }
  let front: Front | null = null;
  let backend: HttpBackend | null = null;
  // The HTTP side's ACL list (its authorizer's), watching the node's store until the node stops.
  let acls: AclStore | null = null;
  try {
    // The front reads SCRAM credentials from the node's store; they change only through the shards' admin APIs.
    const scram = new ScramCredentialStore(shards.metadata, () => Promise.reject(new KafkaError(ErrorCode.NOT_CONTROLLER, "the front of a sharded node changes no credentials")));
    // Every shard thread accepts clients too (runnel.shards.accept) where SO_REUSEPORT spreads connections; else
    // this thread's front accepts them all.
    const accept = config.bool("runnel.shards.accept") && reusePortSupported();
    const metrics = http === null ? undefined : new BrokerMetrics();
    const f = (front = await Front.start({ config, shards, scram, clock: systemClock, fs: nodeFileSystem, random: systemRandom, logger, reusePort: accept, metrics, nodeConnections: shards.nodeConnections, connectionFds: shards.connectionFds, jwksDocuments: shards.jwksDocuments, requestBudget: shards.requestBudget, connectionRates: shards.connectionRates ?? undefined, quotaMetadata: shards.metadata, quotas: shards.quotaSensors === null ? undefined : { metadata: shards.metadata, sensors: shards.quotaSensors } }));
    if (http !== null) {
      scramOf = (u, m) => scram.get(u, m);
      const noChange = () => Promise.reject(new KafkaError(ErrorCode.NOT_CONTROLLER, "the HTTP side of a sharded node changes ACLs through a shard"));
      const httpAcls = (acls = new AclStore(shards.metadata, noChange));
      const authorizer = config.str("authorizer.class.name").trim() === "" ? null : new Authorizer(() => httpAcls.all(), parseSuperUsers(config.str("super.users")), config.bool("allow.everyone.if.no.acl.found"));
      const listener = config.listeners[0].name;
      backend = shardedHttpBackend({ shards, config, frontMetrics: metrics!, frontSlices: f.router.deps.segmentMaps?.counts ?? null, authorizer, endpoint: () => f.identity.endpoint(listener) });
    }
    const threads = accept ? `${await shards.startFronts(config, f.boundPorts(), logger)} of ${shards.count} shard threads accept clients too` : "only the main thread accepts clients";
    // A broker of an etcd cluster: the node's one registration, with the listeners its fronts serve.
    const endpoints = listenerDefs(config).map((def) => ({ name: def.name, ...f.identity.endpoint(def.name), securityProtocol: def.securityProtocol }));
    if (startFailure !== null) throw startFailure;
    await deps.cluster?.register({ nodeId: config.nodeId, brokerEpoch: 0, rack: config.raw("broker.rack"), endpoints });
    // The controller is elected once a broker registered: as one broker does, the node says it listens (and is ready)
    // once its shards name it in Metadata (controller -1 fails a Kafka admin client's controller requests).
    await deps.cluster?.view.controllerKnown?.();
    // Ready (`/v1/ready`) and logged once every accepting thread listens, so that a client, probe or test helper
    // that waits for either finds every thread's listener in place.
    if (startFailure !== null) throw startFailure;
    started = true;
    if (backend !== null) http?.attach(backend);
    logger.info(`${f.listeningLine(config.nodeId, shards.count)}; ${threads}`);
  } catch (e) {
    return failStart(e, [() => http?.close(), async () => acls?.close(), () => front?.stop(), () => shards.stop()], logger);
  }
  return {
    shards,
    front,
    http,
    port: (name) => front.port(name),
    async stop() {
      await http?.close();
      acls?.close();
      await front.stop();
      await shards.stop();
    },
  };
}

/**
 * Stops every part a failed start had started, each even when an earlier one fails, then rethrows the start's
 * `error`: every cleanup failure is logged, and the first becomes the error's `cause` unless it has one.
 */
async function failStart(error: unknown, stops: (() => Promise<void> | undefined)[], logger: BrokerLogger): Promise<never> {
  for (const stop of stops) {
    try {
      await stop();
    } catch (e) {
      logger.error(`while stopping after a failed start: ${e instanceof Error ? e.message : String(e)}`);
      if (error instanceof Error && error.cause === undefined) error.cause = e;
    }
  }
  throw error;
}
