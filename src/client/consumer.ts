/**
 * Runnel's consumer. Partitions come from `assign()` (no group) or from group membership after `subscribe()`
 * (classic protocol, range or cooperative-sticky). Each poll hands out up to `max.poll.records` buffered records
 * and keeps one Fetch per leader in flight (`fetch.min.bytes`, `fetch.max.wait.ms`, `fetch.max.bytes`,
 * `max.partition.fetch.bytes`). Positions start at the committed offset, else at `auto.offset.reset`; a position
 * that falls out of range is reset the same way. Offsets are committed by `commit()`, every
 * `auto.commit.interval.ms` when `enable.auto.commit` is on, before partitions are revoked, and on close.
 */
import { systemClock, type Clock } from "../platform/clock.ts";
import { initCrc32c } from "../protocol/crc32c.ts";
import { ErrorCode, KafkaError, errorName, isRetriable } from "../protocol/errors.ts";
import { ApiKey } from "../protocol/generated/index.ts";
import type { FetchRequest, FetchResponse } from "../protocol/generated/01_fetch.ts";
import { ZERO_UUID, concatBytes } from "../protocol/wire.ts";
import { initCompression } from "../compression/index.ts";
import { assignorsByName, type TopicPartition } from "./assignors.ts";
import { ClientClosedError } from "./client-errors.ts";
import { Cluster, type ClusterOptions, isZeroId } from "./cluster-metadata.ts";
import type { BrokerChannel } from "./connection.ts";
import { FetchedPartition, type ConsumerRecord } from "./fetched-records.ts";
import { GroupMember } from "./group-member.ts";
import type { OffsetToCommit } from "./group-coordinator.ts";
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, listOffsets } from "./list-offsets.ts";

export type { ConsumerRecord } from "./fetched-records.ts";
export type { TopicPartition } from "./assignors.ts";

/** `auto.offset.reset` values. */
export type OffsetResetStrategy = "earliest" | "latest" | "none";

/** Consumer settings (Kafka names in camelCase). */
export interface ConsumerConfig extends ClusterOptions {
  /** `group.id`; needed for subscribe() and commits. */
  groupId?: string;
  /** `group.instance.id` (static membership). */
  groupInstanceId?: string;
  /** `fetch.min.bytes` (default 1). */
  fetchMinBytes?: number;
  /** `fetch.max.wait.ms` (default 500). */
  fetchMaxWaitMs?: number;
  /** `fetch.max.bytes` (default 50 MiB). */
  fetchMaxBytes?: number;
  /** `max.partition.fetch.bytes` (default 1 MiB). */
  maxPartitionFetchBytes?: number;
  /** `max.poll.records` (default 500). */
  maxPollRecords?: number;
  /** `auto.offset.reset` (default "latest"). */
  autoOffsetReset?: OffsetResetStrategy;
  /** `enable.auto.commit` (default true when a group id is set). */
  enableAutoCommit?: boolean;
  /** `auto.commit.interval.ms` (default 5000). */
  autoCommitIntervalMs?: number;
  /** `session.timeout.ms` (default 45000). */
  sessionTimeoutMs?: number;
  /** `heartbeat.interval.ms` (default 3000). */
  heartbeatIntervalMs?: number;
  /** `max.poll.interval.ms`, also the rebalance timeout (default 300000). */
  maxPollIntervalMs?: number;
  /** `partition.assignment.strategy` (default ["range", "cooperative-sticky"]). */
  partitionAssignmentStrategy?: readonly string[];
  /** `isolation.level` (default "read_uncommitted"). */
  isolationLevel?: "read_uncommitted" | "read_committed";
  /** Called after a rebalance assigns partitions. */
  onPartitionsAssigned?: (partitions: TopicPartition[]) => void | Promise<void>;
  /** Called before partitions are revoked (after their offsets are committed when auto commit is on). */
  onPartitionsRevoked?: (partitions: TopicPartition[]) => void | Promise<void>;
}

/** Per-partition state of an assigned partition. */
interface PartitionState {
  topic: string;
  partition: number;
  /** Next offset to fetch/return, or null until initialised. */
  position: bigint | null;
  /** Pending reset: a ListOffsets timestamp (-2 earliest, -1 latest, or ms), or null. */
  reset: bigint | null;
  /** Offset last committed (or to be committed), or null. */
  committed: bigint | null;
  paused: boolean;
  /** A fetch for this partition is in flight. */
  fetching: boolean;
  /** Buffered data waiting to be returned. */
  fetched: FetchedPartition | null;
  /** High watermark last seen. */
  highWatermark: bigint;
}

/** Most records one poll returns when max.poll.records is not set. */
export const DEFAULT_MAX_POLL_RECORDS = 500;
/** Default `fetch.max.wait.ms`. */
export const DEFAULT_FETCH_MAX_WAIT_MS = 500;
/** Default `fetch.max.bytes`. */
export const DEFAULT_FETCH_MAX_BYTES = 52_428_800;
/** Default `max.partition.fetch.bytes`. */
export const DEFAULT_MAX_PARTITION_FETCH_BYTES = 1_048_576;
/** Most partitions one consumer may be assigned. */
export const MAX_ASSIGNED_PARTITIONS = 100_000;

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** The consumer. */
export class Consumer {
  /** The cluster view and connections. */
  readonly cluster: Cluster;
  /**
   * Monotonic ms when the oldest Fetch response whose records the last poll returned was decoded (NaN when it
   * returned none): poll's caller can tell time spent waiting for records from time spent after they came.
   */
  lastPollReceivedAtMs = NaN;
  private readonly clock: Clock;
  private readonly cfg: Required<Pick<ConsumerConfig, "fetchMinBytes" | "fetchMaxWaitMs" | "fetchMaxBytes" | "maxPartitionFetchBytes" | "maxPollRecords" | "autoOffsetReset" | "autoCommitIntervalMs">>;
  private readonly config: ConsumerConfig;
  private readonly member: GroupMember | null;
  private readonly autoCommit: boolean;
  private readonly readCommitted: boolean;
  private readonly states = new Map<string, PartitionState>();
  private subscription: string[] | null = null;
  private fetchesInFlight = 0;
  private readonly inFlightNodes = new Set<number>();
  private wakeups: (() => void)[] = [];
  private nextAutoCommitMs = 0;
  private fetchError: Error | null = null;
  private connected = false;
  private isClosed = false;
  private resetting: Promise<void> | null = null;
  private metadataRefreshing = false;

  constructor(config: ConsumerConfig) {
    this.config = config;
    this.clock = config.clock ?? systemClock;
    this.cfg = {
      fetchMinBytes: config.fetchMinBytes ?? 1,
      fetchMaxWaitMs: config.fetchMaxWaitMs ?? DEFAULT_FETCH_MAX_WAIT_MS,
      fetchMaxBytes: config.fetchMaxBytes ?? DEFAULT_FETCH_MAX_BYTES,
      maxPartitionFetchBytes: config.maxPartitionFetchBytes ?? DEFAULT_MAX_PARTITION_FETCH_BYTES,
      maxPollRecords: config.maxPollRecords ?? DEFAULT_MAX_POLL_RECORDS,
      autoOffsetReset: config.autoOffsetReset ?? "latest",
      autoCommitIntervalMs: config.autoCommitIntervalMs ?? 5000,
    };
    if (!Number.isInteger(this.cfg.maxPollRecords) || this.cfg.maxPollRecords < 1) throw new RangeError("max.poll.records must be >= 1");
    if (!["earliest", "latest", "none"].includes(this.cfg.autoOffsetReset)) throw new RangeError(`invalid auto.offset.reset '${this.cfg.autoOffsetReset}'`);
    this.readCommitted = config.isolationLevel === "read_committed";
    this.cluster = new Cluster({ ...config, clock: this.clock, allowAutoTopicCreation: config.allowAutoTopicCreation ?? false });
    this.autoCommit = config.groupId !== undefined && (config.enableAutoCommit ?? true);
    this.member =
      config.groupId === undefined
        ? null
        : new GroupMember(
            this.cluster,
            {
              groupId: config.groupId,
              sessionTimeoutMs: config.sessionTimeoutMs ?? 45_000,
              rebalanceTimeoutMs: config.maxPollIntervalMs ?? 300_000,
              heartbeatIntervalMs: config.heartbeatIntervalMs ?? 3_000,
              assignors: assignorsByName(config.partitionAssignmentStrategy ?? ["range", "cooperative-sticky"]),
              groupInstanceId: config.groupInstanceId ?? null,
            },
            {
              onPartitionsRevoked: (ps) => this.onRevoked(ps, true),
              onPartitionsAssigned: (ps) => this.onAssigned(ps),
              onPartitionsLost: (ps) => this.onRevoked(ps, false),
            },
          );
  }

  /** Loads codecs and connects to the cluster. */
  async connect(): Promise<void> {
    if (this.isClosed) throw new ClientClosedError();
    if (this.connected) return;
    await Promise.all([initCrc32c(), initCompression()]);
    await this.cluster.connect();
    this.connected = true;
    this.nextAutoCommitMs = this.clock.monotonicMs() + this.cfg.autoCommitIntervalMs;
  }

  /** Consumes exactly `partitions` (no group rebalancing). Positions of kept partitions are kept. */
  assign(partitions: readonly TopicPartition[]): void {
    if (this.subscription !== null) throw new Error("assign() cannot be mixed with subscribe()");
    if (partitions.length > MAX_ASSIGNED_PARTITIONS) throw new RangeError(`more than ${MAX_ASSIGNED_PARTITIONS} partitions`);
    const keep = new Set(partitions.map((p) => key(p.topic, p.partition)));
    for (const k of [...this.states.keys()]) if (!keep.has(k)) this.states.delete(k);
    for (const p of partitions) this.addState(p);
    this.cluster.track(partitions.map((p) => p.topic));
  }

  /** Joins the group and consumes the partitions it assigns from `topics`. Needs a group id. */
  subscribe(topics: readonly string[]): void {
    if (this.member === null) throw new Error("subscribe() needs a groupId");
    if (this.subscription === null && this.states.size > 0) throw new Error("subscribe() cannot be mixed with assign()");
    this.subscription = [...topics];
    this.cluster.track(topics);
    this.member.subscribe(topics);
  }

  /** The partitions currently assigned. */
  assignment(): TopicPartition[] {
    return [...this.states.values()].map((s) => ({ topic: s.topic, partition: s.partition }));
  }

  /** The group member (null without a group id). */
  get group(): GroupMember | null {
    return this.member;
  }

  private addState(p: TopicPartition): PartitionState {
    const k = key(p.topic, p.partition);
    let s = this.states.get(k);
    if (s === undefined) {
      s = { topic: p.topic, partition: p.partition, position: null, reset: null, committed: null, paused: false, fetching: false, fetched: null, highWatermark: -1n };
      this.states.set(k, s);
    }
    return s;
  }

  private stateOf(topic: string, partition: number): PartitionState {
    const s = this.states.get(key(topic, partition));
    if (s === undefined) throw new Error(`${topic}-${partition} is not assigned to this consumer`);
    return s;
  }

  /** Sets the next offset to consume for an assigned partition. */
  seek(topic: string, partition: number, offset: bigint): void {
    const s = this.stateOf(topic, partition);
    s.position = offset;
    s.reset = null;
    s.fetched = null;
  }

  /** Moves assigned partitions (all when omitted) to their log start. */
  seekToBeginning(partitions?: readonly TopicPartition[]): void {
    this.requestReset(partitions, EARLIEST_TIMESTAMP);
  }

  /** Moves assigned partitions (all when omitted) to their log end. */
  seekToEnd(partitions?: readonly TopicPartition[]): void {
    this.requestReset(partitions, LATEST_TIMESTAMP);
  }

  /** Moves assigned partitions (all when omitted) to the first record with a timestamp >= `timestampMs`. */
  seekToTimestamp(timestampMs: number, partitions?: readonly TopicPartition[]): void {
    this.requestReset(partitions, BigInt(timestampMs));
  }

  private requestReset(partitions: readonly TopicPartition[] | undefined, spec: bigint): void {
    const list = partitions === undefined ? [...this.states.values()] : partitions.map((p) => this.stateOf(p.topic, p.partition));
    for (const s of list) {
      s.reset = spec;
      s.position = null;
      s.fetched = null;
    }
  }

  /** The next offset to consume of an assigned partition, or null when not yet known. */
  position(topic: string, partition: number): bigint | null {
    return this.stateOf(topic, partition).position;
  }

  /** High watermark last seen for an assigned partition (-1 before the first fetch). */
  highWatermark(topic: string, partition: number): bigint {
    return this.stateOf(topic, partition).highWatermark;
  }

  /** Stops fetching the given partitions until {@link Consumer.resume}. */
  pause(partitions: readonly TopicPartition[]): void {
    for (const p of partitions) this.stateOf(p.topic, p.partition).paused = true;
  }

  /** Resumes paused partitions. */
  resume(partitions: readonly TopicPartition[]): void {
    for (const p of partitions) this.stateOf(p.topic, p.partition).paused = false;
    this.wake();
  }

  /**
   * Returns up to `max.poll.records` records, waiting up to `timeoutMs` for some to arrive. Throws fetch errors
   * (e.g. OFFSET_OUT_OF_RANGE with auto.offset.reset=none) and fatal group errors.
   */
  async poll(timeoutMs: number): Promise<ConsumerRecord[]> {
    if (this.isClosed) throw new ClientClosedError();
    if (!this.connected) throw new Error("Consumer.connect() must complete before poll()");
    const deadline = this.clock.monotonicMs() + Math.max(0, timeoutMs);
    const out: ConsumerRecord[] = [];
    // Each round either returns, or waits for a fetch, a rebalance step or the deadline.
    for (;;) {
      if (this.isClosed) throw new ClientClosedError();
      if (this.member !== null && this.subscription !== null && (this.member.rebalanceInProgress || !this.member.stable)) {
        const active = this.member.ensureActive();
        if (this.states.size === 0 || !this.member.stable) {
          const left = deadline - this.clock.monotonicMs();
          const done = await this.raceDeadline(active, left);
          if (!done) return out;
        } else {
          active.catch(() => {});
        }
      }
      await this.maybeAutoCommit();
      this.maybeRefreshMetadata();
      await this.initPositions();
      if (this.fetchError !== null) {
        const e = this.fetchError;
        this.fetchError = null;
        throw e;
      }
      this.drainBuffered(out);
      this.sendFetches();
      if (out.length > 0) return out;
      const left = deadline - this.clock.monotonicMs();
      if (left <= 0) return out;
      await this.waitForWakeup(left);
    }
  }

  /** Refreshes metadata in the background when it is old; as group leader, rebalances when partitions were added. */
  private maybeRefreshMetadata(): void {
    if (this.metadataRefreshing || !this.cluster.needsRefresh()) return;
    this.metadataRefreshing = true;
    this.cluster.refresh().then(
      () => {
        this.metadataRefreshing = false;
        if (this.member !== null && this.member.partitionCountsChanged()) this.member.requestRejoin();
        this.wake();
      },
      () => {
        this.metadataRefreshing = false;
      },
    );
  }

  private async raceDeadline(p: Promise<void>, ms: number): Promise<boolean> {
    if (ms <= 0) {
      p.catch(() => {});
      return false;
    }
    let timer: unknown = null;
    const timeout = new Promise<false>((resolve) => {
      timer = this.clock.setTimer(() => resolve(false), ms);
    });
    try {
      return await Promise.race([p.then(() => true as const), timeout]);
    } finally {
      this.clock.clearTimer(timer);
    }
  }

  private drainBuffered(out: ConsumerRecord[]): void {
    const max = this.cfg.maxPollRecords;
    if (out.length === 0) this.lastPollReceivedAtMs = NaN;
    for (const s of this.states.values()) {
      if (out.length >= max) return;
      const f = s.fetched;
      if (f === null || s.paused) continue;
      if (s.position === null || f.position !== s.position) {
        // The position moved (seek) since this data was fetched.
        s.fetched = null;
        continue;
      }
      if (f.drain(max - out.length, out) > 0 && !(this.lastPollReceivedAtMs <= f.receivedAtMs)) this.lastPollReceivedAtMs = f.receivedAtMs;
      s.position = f.position;
      if (f.exhausted) s.fetched = null;
    }
  }

  private waitForWakeup(ms: number): Promise<void> {
    return new Promise((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        this.clock.clearTimer(timer);
        resolve();
      };
      const timer = this.clock.setTimer(finish, ms);
      this.wakeups.push(finish);
    });
  }

  private wake(): void {
    const ws = this.wakeups;
    this.wakeups = [];
    for (const w of ws) w();
  }

  /** Starts position lookups for partitions without one (committed offset, else auto.offset.reset). */
  private async initPositions(): Promise<void> {
    if (this.resetting !== null) return await this.resetting;
    const need = [...this.states.values()].filter((s) => s.position === null);
    if (need.length === 0) return;
    const p = this.doInitPositions(need).finally(() => {
      this.resetting = null;
    });
    this.resetting = p;
    await p;
  }

  private async doInitPositions(need: PartitionState[]): Promise<void> {
    if (this.member !== null) {
      const unknown = need.filter((s) => s.reset === null);
      if (unknown.length > 0) {
        const committed = await this.member.committed(unknown);
        const byKey = new Map(committed.map((c) => [key(c.topic, c.partition), c.offset]));
        for (const s of unknown) {
          const off = byKey.get(key(s.topic, s.partition));
          if (off !== undefined && off >= 0n) {
            s.position = off;
            s.committed = off;
          }
        }
      }
    }
    const toReset: PartitionState[] = [];
    for (const s of need) {
      if (s.position !== null) continue;
      if (s.reset === null) {
        if (this.cfg.autoOffsetReset === "none") {
          throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `no committed offset for ${s.topic}-${s.partition} and auto.offset.reset is none`);
        }
        s.reset = this.cfg.autoOffsetReset === "earliest" ? EARLIEST_TIMESTAMP : LATEST_TIMESTAMP;
      }
      toReset.push(s);
    }
    if (toReset.length === 0) return;
    const answers = await listOffsets(this.cluster, toReset.map((s) => ({ topic: s.topic, partition: s.partition, timestamp: s.reset! })), this.readCommitted ? 1 : 0);
    const missing: PartitionState[] = [];
    for (let i = 0; i < toReset.length; i++) {
      const s = toReset[i];
      if (this.states.get(key(s.topic, s.partition)) !== s || s.reset === null) continue;
      if (answers[i].offset < 0n) {
        // No record at or after the timestamp: start at the end.
        missing.push(s);
        continue;
      }
      s.position = answers[i].offset;
      s.reset = null;
    }
    if (missing.length > 0) {
      const ends = await listOffsets(this.cluster, missing.map((s) => ({ topic: s.topic, partition: s.partition, timestamp: LATEST_TIMESTAMP })));
      for (let i = 0; i < missing.length; i++) {
        missing[i].position = ends[i].offset;
        missing[i].reset = null;
      }
    }
  }

  private sendFetches(): void {
    const byNode = new Map<number, PartitionState[]>();
    let needMetadata = false;
    for (const s of this.states.values()) {
      if (s.position === null || s.paused || s.fetching || s.fetched !== null) continue;
      const leader = this.cluster.leaderOf(s.topic, s.partition);
      if (leader < 0) {
        needMetadata = true;
        continue;
      }
      if (this.inFlightNodes.has(leader)) continue;
      let l = byNode.get(leader);
      if (l === undefined) byNode.set(leader, (l = []));
      l.push(s);
    }
    if (needMetadata) {
      this.cluster.refresh().then(
        () => this.wake(),
        () => {},
      );
    }
    for (const [node, list] of byNode) void this.fetchFrom(node, list);
  }

  private async fetchFrom(node: number, list: PartitionState[]): Promise<void> {
    this.inFlightNodes.add(node);
    this.fetchesInFlight++;
    const offsets = list.map((s) => s.position!);
    for (const s of list) s.fetching = true;
    try {
      let ch: BrokerChannel;
      try {
        ch = await this.cluster.channel(node);
      } catch {
        this.cluster.requestRefresh();
        await this.cluster.refresh().catch(() => {});
        return;
      }
      let version = ch.version(ApiKey.Fetch);
      const byTopic = new Map<string, { topic: string; topicId: Uint8Array; partitions: FetchRequest["topics"][number]["partitions"] }>();
      for (let i = 0; i < list.length; i++) {
        const s = list[i];
        let t = byTopic.get(s.topic);
        if (t === undefined) {
          const id = this.cluster.topics.get(s.topic)?.id ?? ZERO_UUID;
          if (isZeroId(id) && version >= 13) version = 12;
          byTopic.set(s.topic, (t = { topic: s.topic, topicId: id, partitions: [] }));
        }
        t.partitions.push({ partition: s.partition, currentLeaderEpoch: -1, fetchOffset: offsets[i], lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: this.cfg.maxPartitionFetchBytes });
      }
      const req: FetchRequest = {
        replicaId: -1,
        maxWaitMs: this.cfg.fetchMaxWaitMs,
        minBytes: this.cfg.fetchMinBytes,
        maxBytes: this.cfg.fetchMaxBytes,
        isolationLevel: this.readCommitted ? 1 : 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [...byTopic.values()],
        forgottenTopicsData: [],
        rackId: "",
      };
      let res: FetchResponse;
      try {
        res = await ch.request<FetchResponse>(ApiKey.Fetch, req, { version, timeoutMs: (this.config.requestTimeoutMs ?? 30_000) + this.cfg.fetchMaxWaitMs });
      } catch (e) {
        if (e instanceof KafkaError && isRetriable(e.code)) {
          this.cluster.requestRefresh();
          return;
        }
        this.fetchError = e as Error;
        return;
      }
      if (res.errorCode !== undefined && res.errorCode !== ErrorCode.NONE) {
        if (!isRetriable(res.errorCode)) this.fetchError = new KafkaError(res.errorCode, `Fetch failed: ${errorName(res.errorCode)}`);
        return;
      }
      this.onFetchResponse(res, list, offsets);
    } finally {
      for (const s of list) s.fetching = false;
      this.inFlightNodes.delete(node);
      this.fetchesInFlight--;
      this.wake();
    }
  }

  private onFetchResponse(res: FetchResponse, list: PartitionState[], offsets: bigint[]): void {
    const receivedAtMs = this.clock.monotonicMs();
    const sent = new Map<string, bigint>();
    for (let i = 0; i < list.length; i++) sent.set(key(list[i].topic, list[i].partition), offsets[i]);
    for (const t of res.responses) {
      const topic = t.topic !== undefined && t.topic !== "" ? t.topic : t.topicId !== undefined ? this.cluster.topicNameById(t.topicId) : undefined;
      if (topic === undefined) continue;
      for (const p of t.partitions) {
        const k = key(topic, p.partitionIndex);
        const s = this.states.get(k);
        const fetchOffset = sent.get(k);
        if (s === undefined || fetchOffset === undefined || s.position !== fetchOffset) continue;
        const code = p.errorCode;
        if (code === ErrorCode.NONE) {
          s.highWatermark = p.highWatermark;
          const records = p.records;
          let bytes: Uint8Array | null = null;
          if (records instanceof Uint8Array) bytes = records;
          else if (records !== null && records.length > 0) bytes = concatBytes(records);
          if (bytes !== null && bytes.length > 0) {
            s.fetched = new FetchedPartition(topic, p.partitionIndex, fetchOffset, bytes, p.highWatermark, this.readCommitted, p.abortedTransactions);
            s.fetched.receivedAtMs = receivedAtMs;
          }
        } else if (code === ErrorCode.OFFSET_OUT_OF_RANGE) {
          if (this.cfg.autoOffsetReset === "none") {
            this.fetchError = new KafkaError(code, `offset ${fetchOffset} is out of range for ${topic}-${p.partitionIndex} and auto.offset.reset is none`);
          } else {
            s.position = null;
            s.reset = this.cfg.autoOffsetReset === "earliest" ? EARLIEST_TIMESTAMP : LATEST_TIMESTAMP;
          }
        } else if (isRetriable(code)) {
          this.cluster.requestRefresh();
          void this.cluster.refresh().catch(() => {});
        } else {
          this.fetchError = new KafkaError(code, `fetching ${topic}-${p.partitionIndex} failed: ${errorName(code)}`);
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Offsets

  /** Offsets a commit would store now: the position of every assigned partition that has one. */
  private currentOffsets(partitions?: readonly TopicPartition[]): OffsetToCommit[] {
    const list = partitions === undefined ? [...this.states.values()] : partitions.map((p) => this.states.get(key(p.topic, p.partition))).filter((s) => s !== undefined);
    const out: OffsetToCommit[] = [];
    for (const s of list) if (s.position !== null) out.push({ topic: s.topic, partition: s.partition, offset: s.position });
    return out;
  }

  /** Commits `offsets` (default: the current positions). Needs a group id. */
  async commit(offsets?: readonly OffsetToCommit[]): Promise<void> {
    if (this.member === null) throw new Error("commit() needs a groupId");
    const list = offsets ?? this.currentOffsets();
    await this.member.commit(list);
    for (const o of list) {
      const s = this.states.get(key(o.topic, o.partition));
      if (s !== undefined) s.committed = o.offset;
    }
  }

  /** Committed offsets of `partitions` (null where none). Needs a group id. */
  async committed(partitions: readonly TopicPartition[]): Promise<(bigint | null)[]> {
    if (this.member === null) throw new Error("committed() needs a groupId");
    const got = await this.member.committed(partitions);
    const m = new Map(got.map((c) => [key(c.topic, c.partition), c.offset]));
    return partitions.map((p) => {
      const o = m.get(key(p.topic, p.partition));
      return o === undefined || o < 0n ? null : o;
    });
  }

  private async maybeAutoCommit(): Promise<void> {
    if (!this.autoCommit || this.clock.monotonicMs() < this.nextAutoCommitMs) return;
    this.nextAutoCommitMs = this.clock.monotonicMs() + this.cfg.autoCommitIntervalMs;
    const offsets = this.currentOffsets().filter((o) => this.states.get(key(o.topic, o.partition))?.committed !== o.offset);
    if (offsets.length === 0) return;
    await this.commit(offsets).catch(() => {
      // An auto-commit that fails is retried at the next interval.
    });
  }

  private async onRevoked(partitions: TopicPartition[], commit: boolean): Promise<void> {
    if (commit && this.autoCommit) {
      const offsets = this.currentOffsets(partitions).filter((o) => this.states.get(key(o.topic, o.partition))?.committed !== o.offset);
      if (offsets.length > 0) await this.member!.commit(offsets).catch(() => {});
    }
    if (this.config.onPartitionsRevoked) await this.config.onPartitionsRevoked(partitions);
    for (const p of partitions) this.states.delete(key(p.topic, p.partition));
  }

  private async onAssigned(partitions: TopicPartition[]): Promise<void> {
    for (const p of partitions) this.addState(p);
    if (this.config.onPartitionsAssigned) await this.config.onPartitionsAssigned(partitions);
    this.wake();
  }

  /** Commits (with auto commit), leaves the group and closes every connection. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    try {
      if (this.member !== null && this.connected) {
        if (this.autoCommit && this.subscription === null) {
          const offsets = this.currentOffsets().filter((o) => this.states.get(key(o.topic, o.partition))?.committed !== o.offset);
          await this.commit(offsets).catch(() => {});
        }
        await this.member.leave();
      }
    } finally {
      this.isClosed = true;
      this.wake();
      await this.cluster.close();
    }
  }
}
