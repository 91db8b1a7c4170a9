/**
 * What the client knows about the cluster: brokers, topics, partition leaders and topic ids, from Metadata
 * responses; and the pool of connections, one per broker (plus a separate one to a group coordinator, so
 * heartbeats never queue behind a long-polling Fetch).
 */
import { uuidHex } from "../protocol/uuid.ts";
import { systemClock, type Clock } from "../platform/clock.ts";
import { ErrorCode, KafkaError, errorName, isRetriable } from "../protocol/errors.ts";
import { ApiKey } from "../protocol/generated/index.ts";
import type { MetadataRequest, MetadataResponse } from "../protocol/generated/03_metadata.ts";
import { ZERO_UUID } from "../protocol/wire.ts";
import { ExponentialBackoff } from "./backoff.ts";
import { ClientClosedError, ClientTimeoutError, ConnectionError } from "./client-errors.ts";
import { type BrokerChannel, type ConnectionOptions, type Dialer, tcpDialer } from "./connection.ts";

/** Default port when a bootstrap address has none. */
export const DEFAULT_KAFKA_PORT = 9092;
/** Default `metadata.max.age.ms`. */
export const DEFAULT_METADATA_MAX_AGE_MS = 300_000;
/** Most attempts of one metadata wait before it gives up (each attempt backs off). */
const MAX_METADATA_ATTEMPTS = 1000;

/** One broker. */
export interface BrokerInfo {
  /** Node id. */
  nodeId: number;
  /** Host. */
  host: string;
  /** Port. */
  port: number;
  /** Rack, or null. */
  rack: string | null;
}

/** One partition's metadata. */
export interface PartitionInfo {
  /** Partition index. */
  partition: number;
  /** Leader node id, or -1. */
  leader: number;
  /** Leader epoch, or -1. */
  leaderEpoch: number;
  /** Replica node ids. */
  replicas: number[];
  /** In-sync replica node ids. */
  isr: number[];
  /** Offline replica node ids. */
  offline: number[];
  /** Partition error code. */
  errorCode: number;
}

/** One topic's metadata. */
export interface TopicInfo {
  /** Name. */
  name: string;
  /** 16-byte id (all zero when the broker does not send ids). */
  id: Uint8Array;
  /** Whether the topic is internal. */
  internal: boolean;
  /** Partitions by index. */
  partitions: PartitionInfo[];
}

/** Settings shared by the producer, consumer and admin client. */
export interface ClusterOptions extends ConnectionOptions {
  /** `bootstrap.servers`: "host:port,host:port" or a list. */
  bootstrap: string | readonly string[];
  /** Opens connections (default: TCP with these options). */
  dial?: Dialer;
  /** `retry.backoff.ms`. */
  retryBackoffMs?: number;
  /** `retry.backoff.max.ms`. */
  retryBackoffMaxMs?: number;
  /** `metadata.max.age.ms`. */
  metadataMaxAgeMs?: number;
  /** `allow.auto.create.topics` (sent with Metadata requests). */
  allowAutoTopicCreation?: boolean;
  /** Random source in [0, 1) for back-off jitter (tests). */
  random?: () => number;
}

/** Parses "host:port,host2:port2" (or a list) into host/port pairs; "[::1]:9092" is allowed. */
export function parseBootstrap(bootstrap: string | readonly string[]): { host: string; port: number }[] {
  const items = (typeof bootstrap === "string" ? bootstrap.split(",") : bootstrap).map((s) => s.trim()).filter((s) => s.length > 0);
  if (items.length === 0) throw new Error("bootstrap servers are empty");
  return items.map((item) => {
    let host = item;
    let portText = "";
    const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(item);
    if (bracket) {
      host = bracket[1];
      portText = bracket[2] ?? "";
    } else {
      const colon = item.lastIndexOf(":");
      if (colon >= 0 && item.indexOf(":") === colon) {
        host = item.slice(0, colon);
        portText = item.slice(colon + 1);
      }
    }
    const port = portText === "" ? DEFAULT_KAFKA_PORT : Number(portText);
    if (host === "" || !Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`invalid bootstrap server '${item}'`);
    return { host, port };
  });
}

/** Hex form of a topic id (map key). */
export const topicIdHex = uuidHex;

/** Whether a topic id is the all-zero "no id". */
export function isZeroId(id: Uint8Array | undefined): boolean {
  if (id === undefined) return true;
  for (let i = 0; i < id.length; i++) if (id[i] !== 0) return false;
  return true;
}

/** Cluster metadata plus the connection pool. */
export class Cluster {
  /** Brokers by node id. */
  readonly brokers = new Map<number, BrokerInfo>();
  /** Topics by name (those asked for so far). */
  readonly topics = new Map<string, TopicInfo>();
  /** Cluster id from the last Metadata response, or null. */
  clusterId: string | null = null;
  /** Controller node id, or -1. */
  controllerId = -1;
  /** Clock. */
  readonly clock: Clock;
  /** Back-off between retries. */
  readonly backoff: ExponentialBackoff;
  /** The options this cluster was made with. */
  readonly options: ClusterOptions;
  private readonly bootstrap: { host: string; port: number }[];
  private readonly dial: Dialer;
  private readonly channels = new Map<string, Promise<BrokerChannel>>();
  private readonly idToName = new Map<string, string>();
  private readonly tracked = new Set<string>();
  private readonly topicErrors = new Map<string, number>();
  private refreshing: Promise<void> | null = null;
  private refreshingTopics: ReadonlySet<string> | null = null;
  private lastRefreshMs = -Infinity;
  private stale = true;
  private isClosed = false;
  private bootstrapIndex = 0;

  constructor(opts: ClusterOptions) {
    this.options = opts;
    this.bootstrap = parseBootstrap(opts.bootstrap);
    this.clock = opts.clock ?? systemClock;
    this.dial = opts.dial ?? tcpDialer(opts);
    this.backoff = new ExponentialBackoff(opts.retryBackoffMs, opts.retryBackoffMaxMs, undefined, opts.random);
  }

  /** Whether {@link Cluster.close} was called. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Connects to a bootstrap server and loads the broker list (and tracked topics). */
  async connect(): Promise<void> {
    await this.refresh();
  }

  /** Adds topics that every metadata refresh includes. */
  track(topics: Iterable<string>): void {
    for (const t of topics) this.tracked.add(t);
  }

  /** Stops tracking topics not in `topics` (and forgets their metadata). */
  retain(topics: Iterable<string>): void {
    const keep = new Set(topics);
    for (const t of [...this.tracked]) {
      if (!keep.has(t)) {
        this.tracked.delete(t);
        this.topics.delete(t);
      }
    }
  }

  /** Marks metadata stale: the next {@link Cluster.refreshIfStale} fetches it. */
  requestRefresh(): void {
    this.stale = true;
  }

  /** Whether metadata is marked stale or older than `metadata.max.age.ms`. */
  needsRefresh(): boolean {
    const maxAge = this.options.metadataMaxAgeMs ?? DEFAULT_METADATA_MAX_AGE_MS;
    return this.stale || this.clock.monotonicMs() - this.lastRefreshMs >= maxAge;
  }

  /** Refreshes when {@link Cluster.needsRefresh}. */
  async refreshIfStale(): Promise<void> {
    if (this.needsRefresh()) await this.refresh();
  }

  /**
   * Fetches metadata for the tracked topics plus `extra` (`null`: every topic). Concurrent calls whose topics the
   * running refresh covers share it.
   */
  async refresh(extra: readonly string[] | null = []): Promise<void> {
    if (this.isClosed) throw new ClientClosedError();
    const wanted = extra === null ? null : new Set([...this.tracked, ...extra]);
    for (let round = 0; round < 2; round++) {
      const running = this.refreshing;
      if (running === null) break;
      const covered = this.refreshingTopics === null || (wanted !== null && [...wanted].every((t) => this.refreshingTopics!.has(t)));
      await running.catch(() => {});
      if (covered) return;
    }
    const p = this.doRefresh(wanted);
    this.refreshing = p;
    this.refreshingTopics = wanted;
    try {
      await p;
    } finally {
      if (this.refreshing === p) {
        this.refreshing = null;
        this.refreshingTopics = null;
      }
    }
  }

  private async doRefresh(wanted: Set<string> | null): Promise<void> {
    const ch = await this.anyChannel();
    const req: MetadataRequest = {
      topics: wanted === null ? null : [...wanted].map((name) => ({ name, topicId: ZERO_UUID })),
      allowAutoTopicCreation: this.options.allowAutoTopicCreation ?? true,
      includeTopicAuthorizedOperations: false,
    };
    const res = await ch.request<MetadataResponse>(ApiKey.Metadata, req);
    this.apply(res, wanted);
  }

  /** Applies a Metadata response (exposed for tests with scripted brokers). */
  apply(res: MetadataResponse, wanted: ReadonlySet<string> | null): void {
    if (res.errorCode !== undefined && res.errorCode !== ErrorCode.NONE) {
      throw new KafkaError(res.errorCode, `metadata request failed: ${errorName(res.errorCode)}`);
    }
    this.brokers.clear();
    for (const b of res.brokers) this.brokers.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack ?? null });
    this.clusterId = res.clusterId ?? null;
    this.controllerId = res.controllerId ?? -1;
    const seen = new Set<string>();
    for (const t of res.topics) {
      if (t.name === null) continue;
      seen.add(t.name);
      if (t.errorCode !== ErrorCode.NONE) {
        this.topicErrors.set(t.name, t.errorCode);
        this.topics.delete(t.name);
        continue;
      }
      this.topicErrors.delete(t.name);
      const id = t.topicId ?? ZERO_UUID;
      const partitions: PartitionInfo[] = [];
      for (const p of t.partitions) {
        partitions[p.partitionIndex] = {
          partition: p.partitionIndex,
          leader: p.leaderId,
          leaderEpoch: p.leaderEpoch ?? -1,
          replicas: p.replicaNodes,
          isr: p.isrNodes,
          offline: p.offlineReplicas ?? [],
          errorCode: p.errorCode,
        };
      }
      for (let i = 0; i < partitions.length; i++) {
        if (partitions[i] === undefined) partitions[i] = { partition: i, leader: -1, leaderEpoch: -1, replicas: [], isr: [], offline: [], errorCode: ErrorCode.LEADER_NOT_AVAILABLE };
      }
      this.topics.set(t.name, { name: t.name, id, internal: t.isInternal ?? false, partitions });
      if (!isZeroId(id)) this.idToName.set(topicIdHex(id), t.name);
    }
    if (wanted !== null) {
      for (const name of wanted) if (!seen.has(name)) this.topics.delete(name);
    }
    this.stale = false;
    this.lastRefreshMs = this.clock.monotonicMs();
  }

  /** The error code the last metadata response gave for `topic` (NONE when it was fine or not asked). */
  topicError(topic: string): number {
    return this.topicErrors.get(topic) ?? ErrorCode.NONE;
  }

  /** Leader node id of a partition, or -1 when unknown. */
  leaderOf(topic: string, partition: number): number {
    return this.topics.get(topic)?.partitions[partition]?.leader ?? -1;
  }

  /** Topic name for a topic id, or undefined. */
  topicNameById(id: Uint8Array): string | undefined {
    return this.idToName.get(topicIdHex(id));
  }

  /**
   * Metadata for `topic`, refreshing (and backing off) while it is unknown or its partitions lack leaders, up to
   * `timeoutMs`. Throws the topic's error when it is not retriable.
   */
  async waitForTopic(topic: string, timeoutMs: number): Promise<TopicInfo> {
    this.track([topic]);
    const deadline = this.clock.monotonicMs() + timeoutMs;
    for (let attempt = 0; attempt < MAX_METADATA_ATTEMPTS; attempt++) {
      const t = this.topics.get(topic);
      if (t !== undefined && t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)) return t;
      const code = this.topicError(topic);
      if (code !== ErrorCode.NONE && !isRetriable(code)) throw new KafkaError(code, `topic '${topic}': ${errorName(code)}`);
      if (attempt > 0) {
        const left = deadline - this.clock.monotonicMs();
        if (left <= 0) break;
        await this.sleep(Math.min(left, this.backoff.backoffMs(attempt - 1)));
      }
      try {
        await this.refresh([topic]);
      } catch (e) {
        if (!(e instanceof KafkaError) || !isRetriable(e.code)) throw e;
      }
    }
    const t = this.topics.get(topic);
    if (t !== undefined && t.partitions.length > 0) return t;
    const code = this.topicError(topic);
    throw new ClientTimeoutError(`topic '${topic}' not available after ${timeoutMs} ms${code !== ErrorCode.NONE ? ` (${errorName(code)})` : ""}`);
  }

  /** Waits `ms` on the cluster's clock. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimer(resolve, Math.max(0, ms)));
  }

  /** The connection to `nodeId` (opened on first use, re-opened when closed). `coordinator` uses a separate one. */
  async channel(nodeId: number, purpose: "default" | "coordinator" = "default"): Promise<BrokerChannel> {
    if (this.isClosed) throw new ClientClosedError();
    const b = this.brokers.get(nodeId);
    if (b === undefined) {
      this.stale = true;
      throw new ConnectionError(`broker ${nodeId} is not in the cluster metadata`);
    }
    return await this.channelTo(b.host, b.port, nodeId, purpose);
  }

  /** A connection to any broker: an open one if there is one, else the next bootstrap or known broker. */
  async anyChannel(): Promise<BrokerChannel> {
    if (this.isClosed) throw new ClientClosedError();
    for (const p of this.channels.values()) {
      const ch = await p.catch(() => null);
      if (ch !== null && !ch.closed) return ch;
    }
    const candidates = [...this.brokers.values()].map((b) => ({ host: b.host, port: b.port, nodeId: b.nodeId }));
    for (const b of this.bootstrap) candidates.push({ host: b.host, port: b.port, nodeId: -1 });
    let lastError: Error | null = null;
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[(this.bootstrapIndex + i) % candidates.length];
      try {
        return await this.channelTo(c.host, c.port, c.nodeId, "default");
      } catch (e) {
        lastError = e as Error;
      }
    }
    this.bootstrapIndex++;
    throw lastError ?? new ConnectionError("no broker to connect to");
  }

  /** A connection to a broker given by address (e.g. a coordinator from FindCoordinator). */
  async connectTo(broker: BrokerInfo, purpose: "default" | "coordinator" = "default"): Promise<BrokerChannel> {
    if (this.isClosed) throw new ClientClosedError();
    return await this.channelTo(broker.host, broker.port, broker.nodeId, purpose);
  }

  private async channelTo(host: string, port: number, nodeId: number, purpose: string): Promise<BrokerChannel> {
    const key = `${host}:${port}/${purpose}`;
    const existing = this.channels.get(key);
    if (existing !== undefined) {
      const ch = await existing.catch(() => null);
      if (ch !== null && !ch.closed) return ch;
      if (this.channels.get(key) === existing) this.channels.delete(key);
      const again = this.channels.get(key);
      if (again !== undefined) return await again;
    }
    const p = this.dial(host, port, nodeId);
    this.channels.set(key, p);
    try {
      const ch = await p;
      if (this.isClosed) {
        ch.close();
        throw new ClientClosedError();
      }
      return ch;
    } catch (e) {
      if (this.channels.get(key) === p) this.channels.delete(key);
      throw e;
    }
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    const all = [...this.channels.values()];
    this.channels.clear();
    for (const p of all) {
      const ch = await p.catch(() => null);
      ch?.close();
    }
  }
}
