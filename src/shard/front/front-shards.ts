/**
 * What the front needs from the shards of a node (shard-core's `ShardSet` satisfies it): how many there are, the
 * node's metadata (the main thread's store, which routing reads) and a way to open a Kafka-protocol channel to one
 * shard on behalf of one client.
 */
import type { BrokerApiVersions } from "../../client/api-versions.ts";
import type { BrokerChannel } from "../../client/connection.ts";
import type { MetadataStore } from "../../cluster/metadata-store.ts";
import type { PortBuffers } from "../../platform/port-connection.ts";

/** Who a front channel speaks for, so the shard's ACLs, quotas and logs see the real client. */
export interface ShardClientInfo {
  /** The client's principal (`User:name`). */
  principal: string;
  /** Listener the client connected to. */
  listenerName: string;
  /** Kafka security protocol of that listener. */
  securityProtocol: string;
  /** "host:port" of the client. */
  remote: string;
  /** `client.id` of the client's first request, or null. */
  clientId: string | null;
  /** Fetch answers name where records lie in the segment files, which the front reads itself (`Connection.fileSlices`). */
  fileSlices?: boolean;
  /** The front charges `consumer_byte_rate` for the Fetch answers it sends; the shard charges none (`Connection.fetchQuotaAtFront`). */
  fetchQuotaAtFront?: boolean;
  /** The front made Kafka's whole-request Produce checks; the shard makes none over a part (`Connection.produceCheckedAtFront`). */
  produceCheckedAtFront?: boolean;
}

/** The metadata reads routing needs. */
export type FrontMetadata = Pick<MetadataStore, "version" | "topics" | "topic" | "partitionState">;

/** The shards of this node as the front sees them. */
export interface FrontShards {
  /** Number of shards (internal node ids 0..count-1). */
  readonly count: number;
  /** The node's metadata view (leaders of partitions are internal shard ids). */
  readonly metadata: FrontMetadata;
  /** The shard for metadata-wide requests and what no shard owns (default 0; a shard's own front: itself). */
  readonly home?: number;
  /** The shard reached inside this thread (a shard thread's front to its own broker, no port), if any. */
  readonly inThread?: number;
  /** The node is a broker of an etcd cluster: partitions go to their `shardOf` shard and sibling ids name the node (src/shard/cluster-siblings.ts). */
  readonly clustered?: boolean;
  /**
   * Opens a channel to shard `shard` speaking for `client` (closing it ends whatever waits on it); `buffers`: the
   * front's frame buffers, which forwarded Produce frames are copied into and come back to; `versions`: the shards'
   * API versions once the front knows them (the channel then opens without an ApiVersions, which the shard would
   * count against the client's `request_percentage`).
   */
  open(shard: number, client: ShardClientInfo, buffers?: PortBuffers, versions?: ShardApiVersions): Promise<BrokerChannel>;
}

/** The API versions every shard serves (shard 0's ApiVersions answer: the shards run the same code). */
export type ShardApiVersions = BrokerApiVersions;

/** How the node presents itself to clients: one broker. */
export interface FrontIdentity {
  /** The node's `node.id`. */
  readonly nodeId: number;
  /** `broker.rack`, or null. */
  readonly rack: string | null;
  /** The advertised endpoint of listener `listenerName` (what clients connect to). */
  endpoint(listenerName: string): { host: string; port: number };
}
