/**
 * A shard's own front (`runnel.shards.accept`): the shard thread listens on the node's ports too (SO_REUSEPORT, so
 * the kernel spreads client connections over the main thread and every shard) and routes each request with the
 * front's code. Its own partitions are reached over an in-thread connection (./local-connection.ts: no port, no
 * copy); the other shards' over the host's dial, which carries the client's address and principal as the main
 * thread's front does.
 */
import { BrokerConfig } from "../broker/config.ts";
import type { BrokerLogger } from "../broker/broker.ts";
import type { BrokerMetrics } from "../http/metrics/broker-metrics.ts";
import { BrokerConnection, type BrokerChannel } from "../client/connection.ts";
import type { MetadataStore } from "../cluster/metadata-store.ts";
import { systemClock } from "../platform/clock.ts";
import { nodeFileSystem } from "../platform/fs.ts";
import type { Connection, ConnectionHandler } from "../platform/net.ts";
import { openPortConnection, type PortBuffers } from "../platform/port-connection.ts";
import { systemRandom } from "../platform/random.ts";
import { messagePortPair } from "../platform/worker.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { ScramCredentialStore } from "../security/scram-credentials.ts";
import { Front } from "./front/front.ts";
import type { FrontShards, ShardApiVersions, ShardClientInfo } from "./front/front-shards.ts";
import type { ShardLink } from "./shard-link.ts";

/** What a shard's front runs with. */
export interface ShardFrontDeps {
  /** The shard's index. */
  index: number;
  /** Shards in the node. */
  count: number;
  /** The node's settings (its listeners, security, limits). */
  nodeSettings: [string, string][];
  /** The ports the main thread's front bound, by listener name. */
  ports: Record<string, number>;
  /** The shard's metadata mirror. */
  metadata: MetadataStore;
  /** The shard's control link (dials to other shards go through the host). */
  link: ShardLink;
  /** Connects `onFrontEnd` to this shard's own broker inside the thread, as an accepted `client`. */
  acceptLocal(client: ShardClientInfo, onFrontEnd: (c: Connection) => ConnectionHandler): void;
  /** The shard's logger. */
  logger: BrokerLogger;
  /** The node's connection table (src/broker/connection-quotas.ts). */
  nodeConnections: SharedArrayBuffer;
  /** Client connections the whole node may hold by its open-files limit (null: unknown). */
  connectionFds: number | null;
  /** The node's JWKS documents shared by its accepting threads (src/security/jwks-source.ts). */
  jwksDocuments: SharedArrayBuffer;
  /** The node's request budget (src/broker/request-budget.ts NodeRequestBudget). */
  requestBudget: SharedArrayBuffer;
  /** Counters of this front's clients when the node serves `/metrics`. */
  metrics?: BrokerMetrics;
  /** The node is a broker of an etcd cluster (./front/front-shards.ts `clustered`). */
  clustered?: boolean;
  /** The node's byte-rate quota sensors: the front charges its clients' Fetch answers on them (null: the shards do). */
  quotaSensors?: SharedArrayBuffer | null;
  /** The node's connection creation rate sensors (src/broker/connection-rate.ts; null: this thread's own). */
  connectionRates?: SharedArrayBuffer | null;
}

/** Starts the shard's front on the node's ports. */
export async function startShardFront(d: ShardFrontDeps): Promise<Front> {
  const config = new BrokerConfig(new Map(d.nodeSettings));
  const maxInFlight = config.num("queued.max.requests.per.connection");
  const shards: FrontShards = {
    count: d.count,
    home: d.index,
    inThread: d.index,
    clustered: d.clustered === true,
    metadata: d.metadata,
    open(k: number, client: ShardClientInfo, buffers?: PortBuffers, versions?: ShardApiVersions): Promise<BrokerChannel> {
      return BrokerConnection.open(`shard-${k}`, 0, k, {
        clientId: client.clientId ?? "runnel-front",
        maxInFlight,
        apiVersions: versions,
        transport: (_host, _port, onConnection) => {
          if (k === d.index) {
            d.acceptLocal(client, onConnection);
            return Promise.resolve();
          }
          const [mine, theirs] = messagePortPair();
          d.link.post({ t: "dial", to: k, port: theirs, client: { remote: client.remote, principal: client.principal, listenerName: client.listenerName, fileSlices: client.fileSlices, fetchQuotaAtFront: client.fetchQuotaAtFront, produceCheckedAtFront: client.produceCheckedAtFront } }, [theirs]);
          openPortConnection(mine, `shard-${k}`, onConnection, undefined, undefined, buffers);
          return Promise.resolve();
        },
      });
    },
  };
  // The front reads SCRAM credentials from the mirror; they change only through the shards' admin APIs.
  const scram = new ScramCredentialStore(d.metadata, () => Promise.reject(new KafkaError(ErrorCode.NOT_CONTROLLER, "the front of a sharded node changes no credentials")));
  const front = await Front.start({ config, shards, scram, clock: systemClock, fs: nodeFileSystem, random: systemRandom, logger: d.logger, reusePort: true, ports: d.ports, metrics: d.metrics, nodeGauges: false, nodeConnections: d.nodeConnections, connectionFds: d.connectionFds, jwksDocuments: d.jwksDocuments, requestBudget: d.requestBudget, quotas: d.quotaSensors == null ? undefined : { metadata: d.metadata, sensors: d.quotaSensors }, connectionRates: d.connectionRates ?? undefined, quotaMetadata: d.metadata });
  d.logger.info(front.listeningLine(config.nodeId, d.count));
  return front;
}
