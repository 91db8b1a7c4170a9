/**
 * The shard host: the main thread's side of a node with `runnel.shards` = N > 1. It keeps the node's one metadata
 * store (the local file, as a single node does), places partitions on shards (moving them at start when N changed),
 * merges the per-shard root files of the log dirs into the layout of this N, starts the N shards (worker threads,
 * or in this thread for tests), serves each its metadata mirror and cluster view, and switches connections between
 * them. The front (src/shard/front) reaches the shards through {@link ShardSet.open} and {@link ShardSet.connect}.
 * A shard that dies stops the node with an error (`onFatal`); it is not restarted behind the clients' backs.
 */
import type { ShardStartWatcher } from "../http/recovery-progress.ts";
import { openFilesLimit } from "../platform/process-limits.ts";
import { shardedFdBudget } from "../storage/file-handle-cache.ts";
import * as nodePath from "node:path";
import { consoleLogger, type BrokerLogger } from "../broker/broker.ts";
import type { BrokerConfig } from "../broker/config.ts";
import { createLogDir, ROOT_CHECKPOINTS, ROOT_MARKER } from "../broker/log-dir-layout.ts";
import { ensureMetaProperties } from "../broker/meta-properties.ts";
import { ProducerIdAllocator } from "../broker/producer-ids.ts";
import { BrokerConnection, type BrokerChannel } from "../client/connection.ts";
import { nodeConnectionTable } from "../broker/connection-quotas.ts";
import { nodeConnectionRateTable } from "../broker/connection-rate.ts";
import { connectionRateWindows } from "../broker/kafka-listener.ts";
import { nodeRequestBudgetBuffer } from "../broker/request-budget.ts";
import { SharedTexts } from "../platform/shared-text.ts";
import { sharedQuotaTable } from "../security/quota-rate.ts";
import { LocalMetadataStore, type MetadataStore } from "../cluster/metadata-store.ts";
import type { ClusterView } from "../broker/broker.ts";
import { nodeFileSystem, type FileSystem } from "../platform/fs.ts";
import type { Connection, ConnectionHandler } from "../platform/net.ts";
import { openPortConnection, refusePortConnection, type PortBuffers } from "../platform/port-connection.ts";
import { messagePortPair, spawnWorker, type WorkerHandle } from "../platform/worker.ts";
import { consolidateRootFiles, shardFileSuffix } from "../storage/log-dir-share.ts";
import { serveMetadata } from "./metadata-mirror.ts";
import { placeOnShards, shardOf } from "./placement.ts";
import { SIBLING_ID_BASE } from "./cluster-siblings.ts";
import { runShard, type AcceptedClient, type ShardInit } from "./shard.ts";
import { relayOfflineReplicas, shardClusterService } from "./shard-cluster-view.ts";
import { ShardLink } from "./shard-link.ts";
import type { SegmentMapCounts } from "./front/segment-maps.ts";
import type { ShardApiVersions } from "./front/front-shards.ts";

/** The worker entry module (relative to src/; an entry point of the compiled executable). */
export const SHARD_WORKER_MODULE = "shard/shard-worker.ts";

/** Bytes of one listener's JWKS document the node's threads share (a JWKS of dozens of RSA keys takes ~20 KiB). */
const JWKS_SHARED_MAX_BYTES = 64 * 1024;
/** The port in a shard's internal listener address `shard-K:9092` (nothing listens on it: connections come over ports). */
export const SHARD_PORT = 9092;

/**
 * Settings a shard never takes from the node: the front owns the listeners; the host the shard count.
 * `http.listeners` stays: a shard keeps its metrics when the node serves HTTP (the host serves it; shards bind none).
 */
export const NODE_ONLY_SETTINGS = ["listeners", "advertised.listeners", "listener.security.protocol.map", "inter.broker.listener.name", "security.inter.broker.protocol", "runnel.shards"];

/**
 * The settings of shard `index`: the node's, with an internal plaintext listener and its own node id (a broker of
 * an etcd cluster, `clustered`: the node's id, which every shard's broker runs with).
 */
export function shardSettings(node: BrokerConfig, index: number, clusterId: string, clustered = false): [string, string][] {
  const out = new Map(node.values);
  for (const k of NODE_ONLY_SETTINGS) out.delete(k);
  if (!clustered) out.set("node.id", String(index));
  out.set("listeners", `PLAINTEXT://shard-${index}:${SHARD_PORT}`);
  out.set("cluster.id", clusterId);
  if (!clustered) {
    // One replica per partition on a single node, internal topics included.
    out.set("offsets.topic.replication.factor", "1");
    out.set("transaction.state.log.replication.factor", "1");
  }
  return [...out];
}

/**
 * The etcd cluster a sharded node is a broker of (docs/sharding.md, "A sharded broker of an etcd cluster"): the
 * main thread holds the node's one control plane; its shards see its store (./cluster-siblings.ts) and call its
 * operations.
 */
export interface ShardCluster {
  /** The node's view of the cluster's metadata (the etcd store). */
  store: MetadataStore;
  /** The cluster id (adopted from etcd). */
  clusterId: string;
  /** The node's cluster operations (src/cli/start.ts `clusterView`). */
  view: ClusterView;
  /** Calls `watcher` with the active controller's id at each change (-1: none) until the returned remover is called. */
  watchController(watcher: (controllerId: number) => void): () => void;
}

/** Host side: the cluster operations a clustered node's shards call, served by the node's control plane. */
function clusterService(view: ClusterView, producerIdFloor: bigint) {
  return (_shard: number, op: string, args: unknown[]): Promise<unknown> => {
    switch (op) {
      case "cluster.createTopic":
        return view.createTopic(args[0] as Parameters<ClusterView["createTopic"]>[0]);
      case "cluster.createPartitions":
        return view.createPartitions(...(args as Parameters<ClusterView["createPartitions"]>));
      case "cluster.alterIsr":
        return view.alterIsr(...(args as Parameters<ClusterView["alterIsr"]>));
      case "cluster.alterReassignment":
        return view.alterReassignment(...(args as Parameters<ClusterView["alterReassignment"]>));
      case "cluster.electLeaders":
        return view.electLeaders(...(args as Parameters<ClusterView["electLeaders"]>));
      case "cluster.reserveProducerIds": {
        // Never below the ids the node's own file handed out before it joined (shards never read that file).
        const [size, floor] = args as Parameters<ClusterView["reserveProducerIds"]>;
        return view.reserveProducerIds(size, floor > producerIdFloor ? floor : producerIdFloor);
      }
    }
    return Promise.reject(new Error(`unknown shard cluster operation ${op}`));
  };
}

/** A shard did not answer a call of the host in time. */
export class ShardCallTimeout extends Error {}

/** How the host runs. */
export interface ShardHostOptions {
  /** Run the shards in this thread instead of worker threads (tests). */
  inThread?: boolean;
  /** File system of the host's own files (default: the real one; workers always use the real one). */
  fs?: FileSystem;
  /** Logger of the host and of in-thread shards (default: stderr). */
  logger?: BrokerLogger;
  /** A shard died or shut itself down after the start: the node must stop with an error. */
  onFatal?: (reason: string) => void;
  /** The module a shard's worker runs (default {@link SHARD_WORKER_MODULE}; tests inject a shard that hangs). */
  workerModule?: string | URL;
  /** Test-only: the shards' brokers run without fdatasync (`RUNNEL_UNSAFE_SKIP_FDATASYNC`, src/cli/start.ts). */
  unsafeSkipFdatasync?: boolean;
  /** The node is a broker of this etcd cluster (default: a single node with its local metadata file). */
  cluster?: ShardCluster;
  /** Told of each shard's log recovery (after each partition it loads) and when it serves (the HTTP side's `/v1/ready`). */
  startWatcher?: ShardStartWatcher;
}

/** Longest a config record write waits for one other shard's mirror to apply it (a hung shard does not hold it). */
export const METADATA_APPLIED_TIMEOUT_MS = 5_000;

/**
 * Resolves once the shard at the other end of `link` has applied every metadata change posted to it before now: a
 * call answered after them, as the link keeps order. A shard that fails it (not serving yet, stopping) or does not
 * answer within METADATA_APPLIED_TIMEOUT_MS is not waited for.
 */
function metadataApplied(link: ShardLink): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, METADATA_APPLIED_TIMEOUT_MS)));
  return Promise.race([link.call("metadata.applied", []).then(() => {}, () => {}), late]).finally(() => clearTimeout(timer));
}

/** One running shard as the host holds it. */
interface HostedShard {
  index: number;
  link: ShardLink;
  worker: WorkerHandle<unknown, never> | null;
  /** Resolves when the shard reported `stopped` (or died). */
  stopped: Promise<void>;
  /** The shard's run in this thread (in-thread variant), else null. */
  run: Promise<void> | null;
  /** Ends the stream of the node's metadata changes to this shard (its watcher on the node's store). */
  unwatchMetadata: () => void;
}

/** The shards of a node, for the front: what it routes to and how it reaches them. */
export class ShardSet {
  private stopping: Promise<void> | null = null;
  /** The node is a broker of an etcd cluster: partitions go to their `shardOf` shard, sibling ids name the node. */
  clustered = false;
  /** The node's byte-rate quota sensors (src/security/quota-rate.ts), shared by every shard and every front. */
  quotaSensors: SharedArrayBuffer | null = null;
  /** The node's connection creation rate sensors (src/broker/connection-rate.ts), shared by every accepting thread. */
  connectionRates: SharedArrayBuffer | null = null;
  /** Removes the host's watcher of the cluster's controller (a clustered node; called when the set stops). */
  private unwatchController: () => void = () => {};

  private constructor(
    /** Shard count N. */
    readonly count: number,
    /** The node's metadata (the host's store; read-only for the front: changes go through the shards). */
    readonly metadata: MetadataStore,
    /** The node's cluster id. */
    readonly clusterId: string,
    private readonly shards: HostedShard[],
    /** Requests one channel of {@link ShardSet.open} keeps in flight: as many as one client connection may pipeline. */
    private readonly maxInFlight: number,
    /** `runnel.shards.stop.timeout.ms`. */
    private readonly stopTimeoutMs: number,
    private readonly logger: BrokerLogger,
    /** The node's connection table, shared by every accepting thread's front (src/broker/connection-quotas.ts). */
    readonly nodeConnections: SharedArrayBuffer = nodeConnectionTable().buffer,
    /** Client connections the whole node may hold by its open-files limit (`shardedFdBudget`; null: unknown). */
    readonly connectionFds: number | null = null,
    /** The JWKS documents of the node's listeners, shared by every accepting thread (src/security/jwks-source.ts). */
    readonly jwksDocuments: SharedArrayBuffer = SharedTexts.create(0, 1).buffer,
    /** The node's request budget, shared by every accepting thread's front (src/broker/request-budget.ts). */
    readonly requestBudget: SharedArrayBuffer = nodeRequestBudgetBuffer(),
  ) {}

  /**
   * Starts the N = `runnel.shards` shards of `config`'s node: places partitions, merges the log-dir root files,
   * spawns the shards and resolves once every one serves (rejects, with every shard stopped, when one fails).
   */
  static async start(config: BrokerConfig, opts: ShardHostOptions = {}): Promise<ShardSet> {
    const count = config.num("runnel.shards");
    const fs = opts.fs ?? nodeFileSystem;
    const logger = opts.logger ?? consoleLogger;
    // One process's open-files limit for every thread: each shard opens its part of the log files, and the
    // accepting threads together hold at most the node's connections.
    const fdLimit = openFilesLimit();
    const fds = shardedFdBudget(fdLimit, count, config.raw("log.open.files.max") === null ? null : config.num("log.open.files.max"));
    if (typeof fds === "string") throw new Error(fds);
    logger.info(`file descriptors: open-files limit ${fdLimit ?? "unknown"} for ${count} shards, at most ${fds.logFilesPerShard} log files open per shard (log.open.files.max), ${fds.connectionFds ?? "the rest"} for the node's connections`);
    const dirs = config.logDirs.map((p) => nodePath.resolve(p));
    for (const dir of dirs) createLogDir(fs, dir); // a new data dir's name must survive a power cut, as a single node's
    const cluster = opts.cluster;
    if (cluster !== undefined && config.nodeId >= SIBLING_ID_BASE) throw new Error(`a sharded broker of an etcd cluster needs node.id below ${SIBLING_ID_BASE} (the ids from there on name the shards of a node)`);
    const clusterId = ensureMetaProperties(fs, dirs, config.nodeId, cluster?.clusterId ?? config.raw("cluster.id"));
    const store = cluster?.store ?? new LocalMetadataStore(fs, dirs[0]);
    if (cluster === undefined) {
      const moved = await placeOnShards(store as LocalMetadataStore, count);
      if (moved > 0) logger.info(`${moved} partition(s) placed on their shards of ${count}`);
    }
    // The shard owning a partition's files here: its leader on a single node; in a cluster, its shardOf when the node holds a replica.
    const ownerOf = (s: { topic: string; partition: number; replicas: number[]; leader: number }): number | null =>
      cluster === undefined ? s.leader : s.replicas.includes(config.nodeId) ? shardOf(s.topic, s.partition, count) : null;
    const suffixes = Array.from({ length: count }, (_, k) => shardFileSuffix(k));
    for (const dir of dirs) {
      consolidateRootFiles(fs, dir, {
        checkpoints: ROOT_CHECKPOINTS,
        marker: ROOT_MARKER,
        suffixes,
        suffixOf: (tp) => {
          const s = store.partitionState(tp.topic, tp.partition);
          const owner = s === undefined ? null : ownerOf(s);
          return owner === null ? null : shardFileSuffix(owner);
        },
      });
    }
    // The node's producer id file, read here before any shard starts: the shards never read it (a read racing the
    // rename of a new block could fail), they ask for blocks, one file write at a time, each after the one before.
    const producerIds = new ProducerIdAllocator(fs, dirs[0]);
    let reserving: Promise<unknown> = Promise.resolve();
    const reserve = (size: bigint, floor: bigint): Promise<bigint> => {
      const next = reserving.then(() => producerIds.reserveInFile(size, floor));
      reserving = next.catch(() => undefined);
      return next;
    };
    const service = cluster === undefined ? shardClusterService(store as LocalMetadataStore, count, reserve, () => Date.now()) : clusterService(cluster.view, producerIds.fileEnd);
    const shards: HostedShard[] = [];
    const quotaSensors = { rates: sharedQuotaTable().buffer, mutations: sharedQuotaTable().buffer };
    const started: Promise<void>[] = [];
    // The cluster's active controller as the node's watch sees it, in memory every shard reads: a shard's broker reads
    // it synchronously (Metadata, DescribeCluster), so every shard names the new controller the moment the watch sees
    // it, as one broker reading its control plane does (a message per change left a shard naming the one before).
    const controllerCell = cluster === undefined ? undefined : new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
    if (cluster !== undefined && controllerCell !== undefined) Atomics.store(controllerCell, 0, cluster.view.controllerId());
    let fatal = (reason: string) => opts.onFatal?.(reason);
    // Log dirs a shard found failed (KIP-112), each relayed once to every other shard, which takes it offline too.
    const failedDirs = new Set<string>();
    for (let k = 0; k < count; k++) {
      const [hostPort, shardPort] = messagePortPair();
      const link = new ShardLink(hostPort);
      const othersApplied = () => Promise.all(shards.filter((s) => s.index !== k).map((s) => metadataApplied(s.link))).then(() => {});
      const unwatchMetadata = serveMetadata(store, link, (op, args) => service(k, op, args), cluster === undefined ? undefined : { nodeId: config.nodeId, index: k, count }, othersApplied);
      link.on("dial", (m) => {
        const to = shards[m.to as number];
        if (to !== undefined) to.link.post({ t: "accept", port: m.port, client: m.client }, [m.port as MessagePort]);
        else {
          // No such shard (a dial by a stale id): the dialler sees its connection closed.
          logger.warn(`shard ${k} dialled unknown shard ${m.to}`);
          refusePortConnection(m.port as MessagePort);
        }
      });
      let onStopped!: () => void;
      const stopped = new Promise<void>((r) => (onStopped = r));
      link.on("stopped", () => onStopped());
      link.on("replica-offline", (m) => {
        relayOfflineReplicas(shards.map((s) => s.link), k, m);
        // a clustered node publishes it for the controller (KIP-112: it moves the leadership, drops the ISR place)
        cluster?.view.replicaOffline?.(m.topicIdHex as string, m.partition as number);
      });
      link.on("replica-online", (m) => {
        relayOfflineReplicas(shards.map((s) => s.link), k, m);
        cluster?.view.replicaOnline?.(m.topicIdHex as string, m.partition as number);
      });
      link.on("log-dir-failed", (m) => {
        const dir = m.dir as string;
        if (failedDirs.has(dir)) return;
        failedDirs.add(dir);
        logger.error(`log dir ${dir} failed on shard ${k} (${m.reason as string}): every shard takes it offline`);
        for (const s of shards) if (s.index !== k) s.link.post({ t: "log-dir-failed", dir, reason: m.reason, shard: k });
      });
      link.on("fatal", (m) => fatal(`shard ${k}: ${m.reason}`));
      link.on("recovering", (m) => opts.startWatcher?.recovering(k, m.loaded as number, m.total as number));
      let failStart: (why: string) => void = () => {};
      started.push(
        new Promise<void>((resolve, reject) => {
          failStart = (why) => reject(new Error(`shard ${k} could not start: ${why}`));
          link.on("started", () => {
            failStart = () => {};
            opts.startWatcher?.serving(k);
            resolve();
          });
          link.on("failed", (m) => {
            onStopped();
            failStart(m.message as string);
          });
        }),
      );
      const init: ShardInit = { index: k, count, settings: shardSettings(config, k, clusterId, cluster !== undefined), unsafeSkipFdatasync: opts.unsafeSkipFdatasync === true, quotaSensors, maxOpenLogFiles: fds.logFilesPerShard, ...(cluster === undefined || controllerCell === undefined ? {} : { cluster: { nodeId: config.nodeId, nodeSettings: [...config.values], controller: controllerCell.buffer as SharedArrayBuffer } }) };
      let worker: WorkerHandle<unknown, never> | null = null;
      let run: Promise<void> | null = null;
      if (opts.inThread) run = runShard(init, shardPort, logger);
      else {
        worker = spawnWorker<unknown, never>(opts.workerModule ?? SHARD_WORKER_MODULE, init);
        worker.post({ port: shardPort }, [shardPort]);
        worker.onExit((error) => {
          onStopped();
          failStart(error?.message ?? "its thread ended");
          // Nothing answers a dead shard's calls: those still waiting (the host's `front.start`, an HTTP scrape) fail now.
          link.close();
          if (error !== null) fatal(`shard ${k} died: ${error.message}`);
        });
      }
      shards.push({ index: k, link, worker, stopped, run, unwatchMetadata });
    }
    const set = new ShardSet(count, store, clusterId, shards, config.num("queued.max.requests.per.connection"), config.num("runnel.shards.stop.timeout.ms"), logger, undefined, fds.connectionFds, SharedTexts.create(config.listeners.length, JWKS_SHARED_MAX_BYTES).buffer);
    set.clustered = cluster !== undefined;
    set.quotaSensors = quotaSensors.rates;
    set.connectionRates = nodeConnectionRateTable(connectionRateWindows(config)).buffer;
    // Watched from here on, in the same turn as the cell's first value above (no change can come between); removed
    // when the set stops, so a stopped host never writes the cell.
    if (cluster !== undefined && controllerCell !== undefined) set.unwatchController = cluster.watchController((id) => Atomics.store(controllerCell, 0, id));
    try {
      await Promise.all(started);
    } catch (e) {
      fatal = () => {};
      await set.stop();
      throw e;
    }
    logger.info(`${count} shards serving (${opts.inThread ? "in this thread" : "worker threads"}), cluster ${clusterId}`);
    return set;
  }

  /**
   * A raw connection to shard `shard` for `client` (Kafka frames both ways, as over TCP): `onConnection` gets the
   * front's end; the shard sees the client's address, principal and listener name.
   */
  connect(shard: number, client: AcceptedClient, onConnection: (c: Connection) => ConnectionHandler, buffers?: PortBuffers): Connection {
    const s = this.shards[shard];
    if (s === undefined) throw new Error(`no shard ${shard} of ${this.count}`);
    const [mine, theirs] = messagePortPair();
    s.link.post({ t: "accept", port: theirs, client }, [theirs]);
    return openPortConnection(mine, `shard-${shard}`, onConnection, undefined, undefined, buffers);
  }

  /** A client connection (Runnel's client; `versions`: the shards' known ones, else negotiated) to shard `shard` on behalf of `client`. */
  open(shard: number, client: AcceptedClient, buffers?: PortBuffers, versions?: ShardApiVersions): Promise<BrokerChannel> {
    const { remote, remoteIp, principal, listenerName, clientId, fileSlices, fetchQuotaAtFront, produceCheckedAtFront } = client;
    return BrokerConnection.open(`shard-${shard}`, SHARD_PORT, shard, {
      clientId: clientId ?? "runnel-front",
      maxInFlight: this.maxInFlight,
      apiVersions: versions,
      transport: (_host, _port, onConnection) => {
        this.connect(shard, { remote, remoteIp, principal, listenerName, fileSlices, fetchQuotaAtFront, produceCheckedAtFront }, onConnection, buffers);
        return Promise.resolve();
      },
    });
  }

  /** What each shard's own front did with Fetch records given as file slices (null: no front, or no slices). */
  frontSlices(): Promise<(SegmentMapCounts | null)[]> {
    return Promise.all(this.shards.map((s) => s.link.call<SegmentMapCounts | null>("front.slices", [])));
  }

  /**
   * Asks every shard to accept clients too, on the node's `ports` (SO_REUSEPORT) with the node's settings; resolves
   * with how many did (a shard that could not is logged and left to the main thread's front).
   */
  async startFronts(config: BrokerConfig, ports: Record<string, number>, logger: BrokerLogger): Promise<number> {
    const settings = [...config.values];
    const started = await Promise.all(this.shards.map((s) => s.link.call("front.start", [settings, ports, this.nodeConnections, this.connectionFds, this.jwksDocuments, this.requestBudget, this.quotaSensors, this.connectionRates]).then(() => true, (e) => {
      logger.warn(`shard ${s.index} does not accept clients: ${(e as Error).message}`);
      return false;
    })));
    return started.filter((x) => x).length;
  }

  /** Client connections each shard's own front has served (0 for a shard without one). */
  frontClients(): Promise<number[]> {
    return Promise.all(this.shards.map((s) => s.link.call<number>("front.clients", [])));
  }

  /**
   * Calls `op` on shard `shard` over its control link (the HTTP side's calls: src/shard/shard-http.ts); with
   * `timeoutMs`, fails when the shard has not answered by then.
   */
  call<T>(shard: number, op: string, args: unknown[], timeoutMs?: number): Promise<T> {
    const s = this.shards[shard];
    if (s === undefined) return Promise.reject(new Error(`no shard ${shard} of ${this.count}`));
    if (timeoutMs === undefined) return s.link.call<T>(op, args);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new ShardCallTimeout(`shard ${shard} did not answer ${op} within ${timeoutMs} ms`)), timeoutMs)));
    return Promise.race([s.link.call<T>(op, args), late]).finally(() => clearTimeout(timer));
  }

  /** Calls `op` on every shard; a shard that fails or does not answer within `timeoutMs` gives an Error instead. */
  callEach<T>(op: string, args: unknown[], timeoutMs: number): Promise<(T | Error)[]> {
    return Promise.all(this.shards.map((s) => this.call<T>(s.index, op, args, timeoutMs).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))))));
  }

  /**
   * Stops every shard (each closes its logs cleanly), then their threads: first every shard thread's front, so that
   * no client is left whose request a stopping shard could fail (one broker closes all its connections before its
   * partitions), then the shards. A shard not stopped within
   * `runnel.shards.stop.timeout.ms` has its thread terminated, and the stop rejects naming it (the node must exit
   * with an error: that shard's logs were not closed cleanly).
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      // Stopping: the shards' controller cell takes no more changes.
      this.unwatchController();
      // One deadline for both steps. A shard that has died, or whose front does not stop in time, is stopped anyway
      // below (and named if it hangs).
      const deadline = Date.now() + this.stopTimeoutMs;
      await Promise.all(this.shards.map((s) => Promise.race([this.call(s.index, "front.stop", [], this.stopTimeoutMs).catch(() => {}), s.stopped])));
      for (const s of this.shards) s.link.post({ t: "stop" });
      const hung = (await Promise.all(this.shards.map((s) => this.stoppedInTime(s, deadline)))).filter((s): s is HostedShard => s !== null);
      await Promise.all(this.shards.map(async (s) => {
        // Stopped (or hung and terminated below): the shard takes no more of the node's metadata changes.
        s.unwatchMetadata();
        if (!hung.includes(s)) await s.run;
        await s.worker?.terminate();
        s.link.close();
      }));
      if (hung.length > 0) {
        const which = hung.map((s) => s.index).join(", ");
        throw new Error(`shard ${which} did not stop within runnel.shards.stop.timeout.ms=${this.stopTimeoutMs}: ${hung.some((s) => s.worker !== null) ? "its thread was terminated; " : ""}its logs were not closed cleanly (recovered at the next start)`);
      }
    })();
    return this.stopping;
  }

  /** Waits for shard `s` to stop until `deadline` (the stop's start plus `runnel.shards.stop.timeout.ms`); null when it did, else `s`. */
  private async stoppedInTime(s: HostedShard, deadline: number): Promise<HostedShard | null> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<true>((resolve) => (timer = setTimeout(() => resolve(true), Math.max(0, deadline - Date.now()))));
    const timedOut = await Promise.race([s.stopped.then(() => false), late]);
    clearTimeout(timer);
    if (!timedOut) return null;
    this.logger.error(`shard ${s.index} did not stop within runnel.shards.stop.timeout.ms=${this.stopTimeoutMs}${s.worker === null ? "" : ": terminating its thread"}`);
    return s;
  }
}
