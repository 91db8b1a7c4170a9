/**
 * `runnel start`: runs the broker until SIGINT/SIGTERM. Settings: `--config server.properties`, environment
 * variables (`RUNNEL_LOG_DIRS` for `log.dirs`), `--override key=value` (repeatable), and shortcuts for the
 * common keys.
 */
import { parseArgs } from "node:util";
import { BrokerConfig, envNameOf } from "../broker/config.ts";
import { consoleLogger, type BrokerDeps, type BrokerLogger, type ClusterView } from "../broker/broker.ts";
import type { ControlPlane } from "../cluster/control-plane.ts";
import { parseEtcdEndpoints } from "../cluster/cluster-endpoints.ts";
import { ControllerWatchers } from "../cluster/controller-watchers.ts";
import { randomUuid, uuidBase64 } from "../protocol/uuid.ts";
import { systemRandom } from "../platform/random.ts";
import { nodeFileSystem, withoutFdatasync } from "../platform/fs.ts";
import { openFilesLimit } from "../platform/process-limits.ts";
import { execWithAllocatorPurgeDelay } from "../platform/allocator-settings.ts";
import { RESERVED_FDS } from "../storage/file-handle-cache.ts";
import { startBrokerWithHttp } from "../http/start-with-http.ts";
import type { ShardedNode, ShardedNodeDeps } from "../shard/sharded-node.ts";
import type { HttpTransport } from "../platform/http-client.ts";

/** Help text for `runnel start`. */
export const START_USAGE = `Usage: runnel start [options]

Starts a Kafka-compatible broker (a single node, or one broker of a cluster with etcd metadata). Any Kafka client can connect to it.

Options:
  -c, --config FILE          Kafka-style server.properties
  -o, --override KEY=VALUE   Set any broker key (repeatable), e.g. -o num.partitions=6
      --listeners LIST       Shortcut for listeners (default PLAINTEXT://127.0.0.1:9092)
      --port N               Shortcut: listen on 127.0.0.1:N
      --data-dir DIR         Shortcut for log.dirs (default ./runnel-data)
      --node-id N            Shortcut for node.id
      --http LIST            Shortcut for http.listeners: metrics, health, JSON API and web console
                             (e.g. http://127.0.0.1:9644; off by default)
      --shards N             Shortcut for runnel.shards: worker threads, each owning some partitions
                             (default 1: the single-node broker; see docs/sharding.md)
  -h, --help                 Show this help

Cluster metadata in etcd: -o metadata.etcd.endpoints=http://127.0.0.1:2379 (with node.id, broker.rack);
without it the broker is a single node with a local metadata file.

Environment: every key can be set as RUNNEL_<KEY> with dots as underscores, e.g. ${envNameOf("log.retention.ms")}.
Priority: --override and shortcuts > environment > --config file > defaults.`;

/** Parses `runnel start` arguments into a {@link BrokerConfig}. */
export function startConfig(argv: string[], env: Record<string, string | undefined>): BrokerConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: "string", short: "c" },
      override: { type: "string", short: "o", multiple: true },
      listeners: { type: "string" },
      port: { type: "string" },
      "data-dir": { type: "string" },
      "node-id": { type: "string" },
      http: { type: "string" },
      shards: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  const overrides = new Map<string, string>();
  for (const o of values.override ?? []) {
    const eq = o.indexOf("=");
    if (eq <= 0) throw new Error(`--override expects key=value, got '${o}'`);
    overrides.set(o.slice(0, eq).trim(), o.slice(eq + 1).trim());
  }
  if (values.listeners) overrides.set("listeners", values.listeners);
  if (values.port) overrides.set("listeners", `PLAINTEXT://127.0.0.1:${values.port}`);
  if (values["data-dir"]) overrides.set("log.dirs", values["data-dir"]);
  if (values["node-id"]) overrides.set("node.id", values["node-id"]);
  if (values.http !== undefined) overrides.set("http.listeners", values.http);
  if (values.shards !== undefined) overrides.set("runnel.shards", values.shards);
  return BrokerConfig.load({ file: values.config, env, overrides });
}

/** Test-only environment switch that removes every fdatasync of log files: acknowledged data then dies with the power. */
export const UNSAFE_SKIP_FDATASYNC_ENV = "RUNNEL_UNSAFE_SKIP_FDATASYNC";

/**
 * The broker deps the test-only switches ask for, or why they are refused: {@link UNSAFE_SKIP_FDATASYNC_ENV}=1 works
 * only under `NODE_ENV=test` (set by test runners), so a production broker can never run without fdatasync.
 */
export function unsafeTestSwitches(env: Record<string, string | undefined>): BrokerDeps | string {
  const skip = env[UNSAFE_SKIP_FDATASYNC_ENV];
  if (skip === undefined || skip === "" || skip === "0") return {};
  if (skip !== "1") return `${UNSAFE_SKIP_FDATASYNC_ENV} must be 1 or unset, got '${skip}'`;
  if (env.NODE_ENV !== "test") {
    return `refusing ${UNSAFE_SKIP_FDATASYNC_ENV}=1: it removes fdatasync, so acknowledged records are lost on power loss; it is a test-only switch and works only with NODE_ENV=test`;
  }
  console.error(`WARNING ${UNSAFE_SKIP_FDATASYNC_ENV}=1: fdatasync is OFF, acknowledged records will NOT survive a power cut (tests only)`);
  return { fs: withoutFdatasync(nodeFileSystem) };
}

/** Why the broker could not start, in words; running out of file descriptors names the limit and what is needed. */
export function startFailureMessage(e: unknown, fdLimit: number | null = openFilesLimit()): string {
  const code = (e as { code?: string }).code;
  const message = e instanceof Error ? e.message : String(e);
  if (code !== "EMFILE" && code !== "ENFILE") return message;
  const scope = code === "EMFILE" ? `this process's open-files limit (ulimit -n) of ${fdLimit ?? "unknown"}` : "the system-wide open-files limit (fs.file-max)";
  return (
    `out of file descriptors (${code}, ${message}): the broker reached ${scope}. It needs log.open.files.max log files ` +
    `(see the "file descriptors" line above) + ${RESERVED_FDS} reserved + one per connection: raise the limit ` +
    `(ulimit -n, or LimitNOFILE= under systemd) or lower log.open.files.max`
  );
}

/**
 * Cluster mode settings checked before anything starts: the etcd endpoints (empty: single node) and the
 * inter-broker listener, which must name one of `listeners`. Throws with the key named.
 */
export function clusterEndpoints(config: BrokerConfig): string[] {
  const endpoints = parseEtcdEndpoints(config.list("metadata.etcd.endpoints").join(","));
  const listener = config.raw("inter.broker.listener.name");
  if (endpoints.length > 0 && listener !== null && !config.listeners.some((l) => l.name === listener)) {
    throw new Error(`inter.broker.listener.name=${listener} names none of the listeners (${config.listeners.map((l) => l.name).join(", ")})`);
  }
  return endpoints;
}

/**
 * Runs a node of `runnel.shards` > 1 shards until SIGINT/SIGTERM (exit 0) or a shard's failure (exit 1), or a
 * shard not stopped within `runnel.shards.stop.timeout.ms` (exit 1); `nodeDeps` lets tests inject a hung shard or
 * a slow etcd (`etcdTransport`).
 */
export async function runShardedNode(config: BrokerConfig, unsafe: BrokerDeps, nodeDeps: Pick<ShardedNodeDeps, "shardWorkerModule"> & { etcdTransport?: HttpTransport } = {}, etcdEndpoints: string[] = []): Promise<number> {
  const log = consoleLogger;
  // Signals are caught from the first moment: one that comes while the shards start stops the node once it serves.
  let signalled: string | null = null;
  let onSignal = (signal: string) => {
    if (signalled !== null) return;
    signalled = signal;
    log.info(`received ${signal} while the node starts: it stops once it serves`);
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  let exitAfterFatal: (code: number) => void = () => {};
  const fatal = new Promise<number>((resolve) => (exitAfterFatal = resolve));
  let node: ShardedNode;
  // A broker of an etcd cluster: the main thread holds the node's control plane (its registration, the controller).
  let plane: ControlPlane | null = null;
  try {
    // Loaded only here: a node of one shard never loads the shard host, the front and their worker plumbing.
    const { startShardedNode } = await import("../shard/sharded-node.ts");
    let cluster: ShardedNodeDeps["cluster"];
    if (etcdEndpoints.length > 0) {
      // The shards hear of each new controller as the main thread's watch sees it (once they run).
      const controllerWatchers = new ControllerWatchers();
      plane = await startControlPlane(config, etcdEndpoints, (id) => controllerWatchers.notify(id), nodeDeps.etcdTransport);
      const clusterId = await plane.store.adoptClusterId(config.raw("cluster.id") ?? uuidBase64(randomUuid(systemRandom)));
      config.values.set("cluster.id", clusterId);
      const p = plane;
      cluster = { store: p.store, clusterId, view: clusterView(p), register: (r) => p.store.registerBroker(r), readiness: () => p.readinessProblem(), watchController: (w) => controllerWatchers.add(w) };
    }
    node = await startShardedNode(config, {
      shardWorkerModule: nodeDeps.shardWorkerModule,
      cluster,
      logger: log,
      unsafeSkipFdatasync: unsafe.fs !== undefined,
      onFatal: (reason) => {
        log.error(`${reason}: stopping the node`);
        // In an etcd cluster the node's registration goes too (its lease revoked), so its leaderships move at once.
        void node
          .stop()
          .catch((e) => log.error(`shutdown failed: ${(e as Error).message}`))
          .then(() => plane?.close())
          .catch(() => {})
          .finally(() => exitAfterFatal(1));
      },
    });
  } catch (e) {
    await plane?.close().catch(() => {});
    console.error(`runnel start: ${startFailureMessage(e)}`);
    return 1;
  }
  return await Promise.race([fatal, new Promise<number>((resolve) => {
    let stopping = false;
    const handOver = new AbortController();
    onSignal = (signal: string) => {
      if (stopping) {
        if (plane !== null && !handOver.signal.aborted) log.warn(`received ${signal} again: stopping at once`);
        handOver.abort();
        return;
      }
      stopping = true;
      log.info(`received ${signal}, shutting down the front and ${node.shards.count} shards`);
      const controlled = plane !== null && config.bool("controlled.shutdown.enable") ? controlledShutdown(plane, config, log, handOver.signal) : Promise.resolve();
      controlled.then(() => node.stop()).then(() => plane?.close()).then(
        () => resolve(0),
        (e) => {
          log.error(`shutdown failed: ${(e as Error).message}`);
          resolve(1);
        },
      );
    };
    if (signalled !== null) onSignal(signalled);
  })]);
}

/** Starts the etcd control plane of cluster mode (the broker then keeps its metadata in its store). */
async function startControlPlane(config: BrokerConfig, endpoints: string[], onControllerChange?: (controllerId: number) => void, transport?: HttpTransport): Promise<ControlPlane> {
  const log = consoleLogger;
  // Loaded only in cluster mode: a single-node broker never loads the etcd client and the controller.
  const { ControlPlane } = await import("../cluster/control-plane.ts");
  return await ControlPlane.start({
    endpoints,
    transport,
    nodeId: config.nodeId,
    sessionTimeoutMs: config.num("broker.session.timeout.ms"),
    uncleanLeaderElectionEnable: config.bool("unclean.leader.election.enable"),
    autoLeaderRebalance: config.bool("auto.leader.rebalance.enable")
      ? { imbalancePercentage: config.num("leader.imbalance.per.broker.percentage"), checkIntervalMs: config.num("leader.imbalance.check.interval.seconds") * 1000 }
      : null,
    onRebalanced: (elected) => log.info(`automatic leader rebalance: preferred leaders elected for ${elected.map((r) => `${r.topic}-${r.partition}`).join(", ")}`),
    onRegistered: (epoch) => log.info(`registered in etcd (${endpoints.join(",")}) as broker ${config.nodeId}, broker epoch ${epoch}`),
    onFenced: (epoch) => log.warn(`broker epoch ${epoch} fenced: the etcd lease was lost; registering again`),
    onElected: (epoch) => log.info(`this broker is the active controller (controller epoch ${epoch})`),
    onResigned: (epoch) => log.info(`this broker is no longer the controller (controller epoch ${epoch})`),
    onControllerChange,
  });
}

/** What the broker reads of the control plane in cluster mode. */
export function clusterView(plane: ControlPlane): ClusterView {
  return {
    controllerId: () => plane.controllerId,
    controllerKnown: () => plane.controllerKnown(),
    brokerEpoch: () => plane.store.brokerEpoch,
    createTopic: (req) => plane.createTopic(req),
    createPartitions: (name, count, manual) => plane.createPartitions(name, count, manual),
    alterIsr: (state, isr, joiningEpochs) => plane.alterIsr(state, isr, joiningEpochs),
    alterReassignment: (topic, partition, target, allowRf) => plane.alterReassignment(topic, partition, target, allowRf),
    electLeaders: (type, targets) => plane.electLeaders(type, targets),
    reserveProducerIds: (size, floor) => plane.store.reserveProducerIds(size, floor),
    // KIP-112 in a cluster: the controller moves the leadership of a replica in a failed log dir and drops it from the ISR
    replicaOffline: (topicIdHex, partition) => void plane.store.publishOfflineReplica(topicIdHex, partition),
    replicaOnline: (topicIdHex, partition) => void plane.store.withdrawOfflineReplica(topicIdHex, partition),
    offlineReplicas: (topicIdHex, partition) => plane.store.offlineReplicas(topicIdHex, partition),
  };
}

/**
 * Cluster mode's controlled shutdown before the broker stops: the controller moves this broker's leaderships to
 * other ISR members (see ControlPlane.controlledShutdown). Never throws: when it cannot finish (etcd down, timeout
 * after `controlled.shutdown.max.retries` x `controlled.shutdown.retry.backoff.ms`, a second signal) the broker
 * stops anyway.
 */
async function controlledShutdown(plane: ControlPlane, config: BrokerConfig, log: BrokerLogger, signal: AbortSignal): Promise<void> {
  const started = Date.now();
  try {
    const done = await plane.controlledShutdown({
      maxRetries: config.num("controlled.shutdown.max.retries"),
      retryBackoffMs: config.num("controlled.shutdown.retry.backoff.ms"),
      signal,
      onRemaining: (left, attempt) => log.warn(`controlled shutdown attempt ${attempt}: still leading ${left.map((p) => `${p.topic}-${p.partition}`).join(", ")}`),
    });
    if (done) log.info(`controlled shutdown: leaderships moved to other in-sync replicas in ${Date.now() - started} ms`);
    else log.warn("controlled shutdown did not complete: stopping anyway");
  } catch (e) {
    log.warn(`controlled shutdown failed (${(e as Error).message}): stopping anyway`);
  }
}

/** Runs `runnel start`; resolves with the exit code once the broker has stopped. */
export async function startCommand(argv: string[]): Promise<number> {
  if (argv.includes("-h") || argv.includes("--help")) {
    console.log(START_USAGE);
    return 0;
  }
  let config: BrokerConfig;
  try {
    config = startConfig(argv, process.env);
  } catch (e) {
    console.error(`runnel start: ${(e as Error).message}\n\n${START_USAGE}`);
    return 2;
  }
  // A sharded node runs with the allocator settings it needs (src/platform/allocator-settings.ts): the process
  // re-executes itself with them once, before anything is opened or started.
  if (config.num("runnel.shards") > 1) execWithAllocatorPurgeDelay();
  const unsafe = unsafeTestSwitches(process.env);
  if (typeof unsafe === "string") {
    console.error(`runnel start: ${unsafe}`);
    return 2;
  }
  let etcdEndpoints: string[];
  try {
    etcdEndpoints = clusterEndpoints(config);
  } catch (e) {
    console.error(`runnel start: ${(e as Error).message}`);
    return 2;
  }
  if (config.num("runnel.shards") > 1) return runShardedNode(config, unsafe, {}, etcdEndpoints);
  let plane: ControlPlane | null = null;
  let started: Awaited<ReturnType<typeof startBrokerWithHttp>> | undefined;
  // The broker shut itself down (every log dir failed): exit 1, as Kafka does.
  let exitAfterFatal: (code: number) => void = () => {};
  const fatal = new Promise<number>((resolve) => (exitAfterFatal = resolve));
  try {
    if (etcdEndpoints.length > 0) {
      plane = await startControlPlane(config, etcdEndpoints);
      // One cluster id per etcd cluster: the first broker writes it, the others adopt it (meta.properties checks it).
      const clusterId = await plane.store.adoptClusterId(config.raw("cluster.id") ?? uuidBase64(randomUuid(systemRandom)));
      config.values.set("cluster.id", clusterId);
    }
    const cluster = plane;
    // The broker has stopped itself; a failure closing the rest is logged, and the exit code stays 1.
    const onFatal = () =>
      void Promise.all([started?.http?.close(), plane?.close()])
        .catch((e) => console.error(`runnel start: shutdown failed: ${(e as Error).message}`))
        .finally(() => exitAfterFatal(1));
    started = await startBrokerWithHttp(config, cluster ? { ...unsafe, metadata: cluster.store, cluster: clusterView(cluster), onFatal } : { ...unsafe, onFatal }, undefined, cluster ? () => cluster.readinessProblem() : undefined);
  } catch (e) {
    await plane?.close().catch(() => {});
    console.error(`runnel start: ${startFailureMessage(e)}`);
    return 1;
  }
  const { broker, http } = started;
  return await Promise.race([fatal, new Promise<number>((resolve) => {
    let stopping = false;
    const handOver = new AbortController();
    const stop = (signal: string) => {
      if (stopping) {
        if (!handOver.signal.aborted) broker.logger.warn(`received ${signal} again: stopping at once`);
        handOver.abort();
        return;
      }
      stopping = true;
      broker.logger.info(`received ${signal}, shutting down`);
      const controlled = plane !== null && config.bool("controlled.shutdown.enable") ? controlledShutdown(plane, config, broker.logger, handOver.signal) : Promise.resolve();
      controlled.then(() => Promise.all([http?.close(), broker.stop().then(() => plane?.close())])).then(
        () => resolve(0),
        (e) => {
          broker.logger.error(`shutdown failed: ${(e as Error).message}`);
          resolve(1);
        },
      );
    };
    process.on("SIGINT", () => stop("SIGINT"));
    process.on("SIGTERM", () => stop("SIGTERM"));
  })]);
}
