/**
 * One shard of a node: a Broker in cluster mode (internal node id = shard index) that owns the partitions the
 * metadata store places on it. Everything it needs from outside comes over its control link to the shard host:
 * the metadata mirror, the cluster view, the connections accepted for it (from the front, or dialled by another
 * shard), and its own dials to other shards. The same code runs in a worker thread (src/shard/shard-worker.ts) and
 * in the host's thread (the in-thread variant for tests).
 */
import { Broker, consoleLogger, type BrokerLogger } from "../broker/broker.ts";
import { BrokerConfig } from "../broker/config.ts";
import type { ListenFn } from "../broker/kafka-listener.ts";
import { BrokerConnection, tcpDialer, type Dialer } from "../client/connection.ts";
import { interBrokerSecurity } from "../security/inter-broker.ts";
import { listenerEndpoint } from "../cluster/cluster-endpoints.ts";
import type { Connection, ConnectionHandler, Listener } from "../platform/net.ts";
import { openPortConnection, type PortLike } from "../platform/port-connection.ts";
import { messagePortPair } from "../platform/worker.ts";
import { monotonicOriginMs } from "../platform/clock.ts";
import { SharedKeyTable } from "../platform/shared-table.ts";
import { nodeFileSystem, withoutFdatasync, type FileSystem } from "../platform/fs.ts";
import { SHARD_PRINCIPAL } from "../security/acl.ts";
import { shardFileSuffix } from "../storage/log-dir-share.ts";
import { defaultCodecPoolThreads } from "../compression/codec-pool.ts";
import { MetadataMirror } from "./metadata-mirror.ts";
import { shardOf } from "./placement.ts";
import { OfflineReplicas, shardClusterView } from "./shard-cluster-view.ts";
import { isSiblingId, SIBLING_ID_BASE, type SiblingView } from "./cluster-siblings.ts";
import { ShardLink } from "./shard-link.ts";
import { startShardFront } from "./shard-front.ts";
import { localConnectionPair } from "./local-connection.ts";
import type { Front } from "./front/front.ts";
import { BrokerMetrics } from "../http/metrics/broker-metrics.ts";
import { RuntimeStats } from "../http/metrics/runtime-stats.ts";
import { scrapeShard, type ShardTraffic } from "./shard-metrics.ts";
import { serveShardHttpCall } from "./shard-http.ts";

/** What a shard is started with (structured-clonable: it crosses to the worker). */
export interface ShardInit {
  /** The shard's index, 0 .. count-1 (its internal node id). */
  index: number;
  /** Shards in the node. */
  count: number;
  /** The shard's broker settings (the node's, with the shard's node id, listener and cluster id). */
  settings: [string, string][];
  /** Test-only: the shard's broker runs without fdatasync (`RUNNEL_UNSAFE_SKIP_FDATASYNC`, src/cli/start.ts). */
  unsafeSkipFdatasync?: boolean;
  /** The node's client-quota sensors (src/security/quota-rate.ts), shared by every shard: byte rates and request time, controller mutations. */
  quotaSensors?: { rates: SharedArrayBuffer; mutations: SharedArrayBuffer };
  /** The shard's part of the node's log-file budget (`shardedFdBudget`, src/storage/file-handle-cache.ts). */
  maxOpenLogFiles?: number;
  /**
   * The node is a broker of an etcd cluster: the shard's broker runs with the node's id among the cluster's brokers
   * (./cluster-siblings.ts) and reaches the others as the node would (its inter-broker listener, TLS and SASL);
   * `controller` holds the cluster's active controller id (an Int32Array cell the host writes at each change).
   */
  cluster?: { nodeId: number; nodeSettings: [string, string][]; controller: SharedArrayBuffer };
}

/**
 * Who a connection accepted by a shard comes from (the front's client, or another shard); the front's
 * `ShardClientInfo` (src/shard/front/front-shards.ts) is one.
 */
export interface AcceptedClient {
  /** "host:port" of the client (or "shard-K"). */
  remote: string;
  /** The client's address alone (default: `remote` without its port). */
  remoteIp?: string;
  /** The principal the front authenticated (`User:alice`), when it did. */
  principal?: string;
  /** The listener the client connected to at the front. */
  listenerName?: string;
  /** The client's `client.id`, or null. */
  clientId?: string | null;
  /** The front reads Fetch records through its own maps of the segment files (`Connection.fileSlices`). */
  fileSlices?: boolean;
  /** The front charges `consumer_byte_rate` for the Fetch answers it sends (`Connection.fetchQuotaAtFront`). */
  fetchQuotaAtFront?: boolean;
  /** The front made Kafka's whole-request Produce checks (`Connection.produceCheckedAtFront`). */
  produceCheckedAtFront?: boolean;
}

/** The address part of "host:port" (IPv6 "[::1]:port" too). */
function hostOf(remote: string): string {
  const colon = remote.lastIndexOf(":");
  return colon <= 0 ? remote : remote.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
}

/** `c`, counting the bytes written to it in `traffic.bytesOut`. */
function countedConnection(c: Connection, traffic: ShardTraffic): Connection {
  return {
    remote: c.remote,
    remoteIp: c.remoteIp,
    principal: c.principal,
    listenerName: c.listenerName,
    fileSlices: c.fileSlices,
    fetchQuotaAtFront: c.fetchQuotaAtFront,
    produceCheckedAtFront: c.produceCheckedAtFront,
    peerSubject: c.peerSubject,
    write(chunks) {
      for (let i = 0; i < chunks.length; i++) traffic.bytesOut += chunks[i].length;
      return c.write(chunks);
    },
    ...(c.giveBack === undefined ? {} : { giveBack: (frame: Uint8Array) => c.giveBack!(frame) }),
    pause: () => c.pause(),
    resume: () => c.resume(),
    close: (graceful) => c.close(graceful),
  };
}

/** A logger that prefixes every line with the shard. */
function shardLogger(index: number, base: BrokerLogger): BrokerLogger {
  return { info: (m) => base.info(`[shard ${index}] ${m}`), warn: (m) => base.warn(`[shard ${index}] ${m}`), error: (m) => base.error(`[shard ${index}] ${m}`) };
}

/**
 * Runs shard `init` on its control `port` until the host asks it to stop (`stop`): reports `started` (or `failed`
 * with the reason), `fatal` if its broker shuts itself down, then `stopped`. `base` logs (default: stderr); `fs`,
 * when given (a test's shard worker), is the file system its broker runs on.
 */
export async function runShard(init: ShardInit, port: PortLike, base: BrokerLogger = consoleLogger, fs?: FileSystem): Promise<void> {
  const link = new ShardLink(port);
  const siblings: SiblingView | undefined = init.cluster === undefined ? undefined : { nodeId: init.cluster.nodeId, index: init.index, count: init.count };
  const offlineReplicas = new OfflineReplicas(link, siblings === undefined ? undefined : (k) => SIBLING_ID_BASE + k);
  // The broker id this shard's broker runs with: its index in a node, the node's id in an etcd cluster.
  const selfId = siblings?.nodeId ?? init.index;
  const metadata = MetadataMirror.open(link, siblings);
  // A clustered shard's controller id: the cluster's active controller as the node's watch sees it (shared memory).
  const controllerCell = init.cluster === undefined ? null : new Int32Array(init.cluster.controller);
  let askStop!: () => void;
  const stopAsked = new Promise<void>((r) => (askStop = r));
  link.on("stop", () => askStop());
  const logger = shardLogger(init.index, base);
  let acceptor: ((c: Connection) => ConnectionHandler) | null = null;
  const waiting: { port: PortLike; client: AcceptedClient }[] = [];
  const open = new Set<Connection>();
  /** Hands `c` to the broker's acceptor, keeping it in `open` until it closes (so the listener's close ends it). */
  const track = (c: Connection, onConnection: (c: Connection) => ConnectionHandler): ConnectionHandler => {
    open.add(c);
    const h = onConnection(c);
    return { onData: (b) => h.onData(b), onDrain: () => h.onDrain(), onClose: () => (open.delete(c), h.onClose()) };
  };
  const traffic: ShardTraffic = { bytesIn: 0, bytesOut: 0 };
  const serve = (p: PortLike, client: AcceptedClient, onConnection: (c: Connection) => ConnectionHandler) => {
    const who = { principal: client.principal, listenerName: client.listenerName, fileSlices: client.fileSlices, fetchQuotaAtFront: client.fetchQuotaAtFront, produceCheckedAtFront: client.produceCheckedAtFront };
    openPortConnection(p, client.remote, (c) => {
      const h = track(countedConnection(c, traffic), onConnection);
      return { onData: (b) => ((traffic.bytesIn += b.length), h.onData(b)), onDrain: () => h.onDrain(), onClose: () => h.onClose() };
    }, client.remoteIp ?? hostOf(client.remote), who);
  };
  const accept = (p: PortLike, client: AcceptedClient) => {
    if (acceptor === null) waiting.push({ port: p, client });
    else serve(p, client, acceptor);
  };
  link.on("accept", (m) => accept(m.port as PortLike, m.client as AcceptedClient));
  /** A client of this shard's own front reaching this shard's broker inside the thread (no port, no copy). */
  const acceptLocal = (client: AcceptedClient, onFrontEnd: (c: Connection) => ConnectionHandler) => {
    const self = `shard-${init.index}`;
    localConnectionPair({ remote: self, remoteIp: self }, { remote: client.remote, remoteIp: client.remoteIp ?? hostOf(client.remote), principal: client.principal, listenerName: client.listenerName, fileSlices: client.fileSlices, fetchQuotaAtFront: client.fetchQuotaAtFront, produceCheckedAtFront: client.produceCheckedAtFront }, onFrontEnd, (c) => {
      if (acceptor === null) throw new Error(`shard ${init.index} is not listening`);
      return track(c, acceptor);
    });
  };
  const listen: ListenFn = (host, port, onConnection) => {
    acceptor = onConnection;
    for (const w of waiting.splice(0)) serve(w.port, w.client, onConnection);
    const listener: Listener = {
      host,
      port,
      close: async () => {
        acceptor = null;
        for (const c of [...open]) c.close();
      },
    };
    return Promise.resolve(listener);
  };
  // A clustered shard reaches the cluster's other brokers over TCP at their endpoint of the node's inter-broker
  // listener, with its security; its siblings through the host.
  const interBroker = init.cluster === undefined ? null : interBrokerSecurity(new BrokerConfig(new Map(init.cluster.nodeSettings)), nodeFileSystem);
  const tcp = interBroker === null ? null : tcpDialer({ clientId: `runnel-shard-${init.index}`, tls: interBroker.tls, sasl: interBroker.sasl });
  const dial: Dialer = async (host, p, nodeId) => {
    if (tcp !== null && !isSiblingId(nodeId)) {
      const reg = (await metadata).broker(nodeId);
      const e = reg === undefined ? undefined : listenerEndpoint(reg, interBroker!.listenerName);
      return tcp(e?.host ?? host, e?.port ?? p, nodeId);
    }
    const to = siblings === undefined ? nodeId : nodeId - SIBLING_ID_BASE;
    return BrokerConnection.open(host, p, nodeId, {
      clientId: `runnel-shard-${init.index}`,
      transport: (_h, _p, onConnection) => {
        const [mine, theirs] = messagePortPair();
        link.post({ t: "dial", to, port: theirs, client: { remote: `shard-${init.index}`, remoteIp: `shard-${init.index}`, principal: SHARD_PRINCIPAL } }, [theirs]);
        openPortConnection(mine, `shard-${to}`, onConnection);
        return Promise.resolve();
      },
    });
  };
  // KIP-112: a log dir another shard found failed goes offline here too; one relayed while this broker starts is
  // taken offline once it has started (a dir whose disk fails under this shard's load goes offline by itself).
  let broker: Broker | null = null;
  const failedElsewhere: { dir: string; reason: string }[] = [];
  link.on("log-dir-failed", (m) => {
    const failure = { dir: m.dir as string, reason: `log dir failed on shard ${m.shard as number}: ${m.reason as string}` };
    if (broker === null) failedElsewhere.push(failure);
    else broker.logDirFailedElsewhere(failure.dir, failure.reason);
  });
  try {
    const mirror = await metadata;
    const config = new BrokerConfig(new Map(init.settings));
    broker = await Broker.start(config, {
      ...(fs !== undefined ? { fs } : init.unsafeSkipFdatasync === true ? { fs: withoutFdatasync(nodeFileSystem) } : {}),
      logger,
      metadata: mirror,
      cluster: shardClusterView(link, selfId, mirror, offlineReplicas, controllerCell === null ? undefined : () => Atomics.load(controllerCell, 0)),
      listen,
      dial,
      onFatal: (reason) => link.post({ t: "fatal", reason }),
      // The host's HTTP side reports each shard's recovery on `/v1/ready`.
      recoveryProgress: (loaded, total) => link.post({ t: "recovering", loaded, total }),
      // The node's cores are shared: each shard's codec pool gets its part of the default.
      codecPoolThreads: Math.max(1, Math.floor(defaultCodecPoolThreads() / init.count)),
      maxOpenLogFiles: init.maxOpenLogFiles,
      logDirShare: {
        suffix: shardFileSuffix(init.index),
        dirFailed: (dir, reason) => link.post({ t: "log-dir-failed", dir, reason }),
        owns: (tp) => {
          const s = mirror.partitionState(tp.topic, tp.partition);
          if (s === undefined) return shardOf(tp.topic, tp.partition, init.count) === init.index;
          if (s.replicas.includes(selfId)) return true;
          // A clustered node's files of a partition it holds no replica of any more (moved away while it was down):
          // its shardOf shard opens them, and its broker deletes them as a one-shard broker would.
          return siblings !== undefined && !s.replicas.some(isSiblingId) && shardOf(tp.topic, tp.partition, init.count) === init.index;
        },
      },
    });
  } catch (e) {
    link.post({ t: "failed", message: (e as Error).stack ?? String(e) });
    link.close();
    return;
  }
  for (const { dir, reason } of failedElsewhere.splice(0)) broker.logDirFailedElsewhere(dir, reason);
  // Client quotas count for the node: a client whose requests reach several shards spends from one balance.
  if (init.quotaSensors !== undefined) {
    const originMs = monotonicOriginMs();
    broker.quotaRates.share({ table: SharedKeyTable.attach(init.quotaSensors.rates), originMs });
    broker.mutationRates.share({ table: SharedKeyTable.attach(init.quotaSensors.mutations), originMs });
  }
  // The host may ask this shard to accept clients too (runnel.shards.accept), once the main front has its ports.
  let front: Front | null = null;
  /** The front's start, while and once asked (a stop asked during it waits for it, then stops that front). */
  let frontStarting: Promise<Front> | null = null;
  let frontStopping: Promise<void> | null = null;
  /** Stops this thread's front (once): the host stops every thread's front before any shard stops. */
  const stopFront = () => (frontStopping ??= (async () => (await frontStarting?.catch(() => null))?.stop())());
  // When the node serves HTTP (the host does), this thread's probes and its front's client counters.
  const runtime = broker.metrics === null ? null : new RuntimeStats();
  const frontMetrics = broker.metrics === null ? undefined : new BrokerMetrics();
  link.serve(async (op, args) => {
    if (op === "front.start") {
      const [nodeSettings, ports, nodeConnections, connectionFds, jwksDocuments, requestBudget, quotaSensors, connectionRates] = args as [[string, string][], Record<string, number>, SharedArrayBuffer, number | null, SharedArrayBuffer, SharedArrayBuffer, SharedArrayBuffer | null, SharedArrayBuffer | null];
      // Once its stop was asked, this thread's front never starts (it would listen on the node's ports after it).
      if (frontStopping !== null || frontStarting !== null) throw new Error(`shard ${init.index}: its front ${frontStopping !== null ? "was stopped" : "was started already"}`);
      frontStarting = metadata.then((mirror) => startShardFront({ clustered: siblings !== undefined, index: init.index, count: init.count, nodeSettings, ports, metadata: mirror, link, acceptLocal, logger, metrics: frontMetrics, nodeConnections, connectionFds, jwksDocuments, requestBudget, quotaSensors, connectionRates }));
      front = await frontStarting;
      return front.boundPorts();
    }
    if (op === "front.stop") return stopFront();
    // answered after the metadata changes the host posted before it (the link keeps order): they are applied
    if (op === "metadata.applied") return;
    if (op === "front.clients") return front?.router.servedClients ?? 0;
    if (op === "front.slices") return front?.router.deps.segmentMaps?.counts ?? null;
    if (op === "metrics" && runtime !== null) return scrapeShard(init.index, broker, front === null ? null : { metrics: frontMetrics!, slices: front.router.deps.segmentMaps?.counts ?? null }, runtime, traffic);
    const http = serveShardHttpCall(broker, op, args);
    if (http !== null) return http;
    throw new Error(`shard ${init.index}: no call ${op}`);
  });
  link.post({ t: "started" });
  await stopAsked;
  try {
    runtime?.stop();
    await stopFront();
    await broker.stop();
  } finally {
    link.post({ t: "stopped" });
    link.close();
  }
}
