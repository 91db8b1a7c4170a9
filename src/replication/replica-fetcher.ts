/**
 * A follower's fetcher for one leader broker: one connection, one Fetch (v15+, ReplicaState with this broker's id
 * and epoch) at a time for every partition it follows from that leader, each answer applied with
 * {@link applyLeaderAnswer} (truncate at a diverging epoch, or append as follower and follow the high watermark).
 * The leader's long poll (`replica.fetch.wait.max.ms`) paces it; errors back off `replica.fetch.backoff.ms`.
 */
import type { Clock } from "../platform/clock.ts";
import type { BrokerChannel } from "../client/connection.ts";
import type { FetchRequest, FetchResponse } from "../protocol/generated/01_fetch.ts";
import type { Partition } from "../partition/partition.ts";
import type { ListOffsetsRequest, ListOffsetsResponse } from "../protocol/generated/02_list_offsets.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { uuidHex } from "../protocol/uuid.ts";
import { applyLeaderAnswer, followerFetchPosition } from "./follower-fetch.ts";
import type { ReplicationThrottle } from "./replication-throttle.ts";

/** Kafka's replica fetcher settings. */
export interface ReplicaFetcherSettings {
  /** `replica.fetch.wait.max.ms` (Kafka default 500). */
  maxWaitMs: number;
  /** `replica.fetch.min.bytes` (Kafka default 1). */
  minBytes: number;
  /** `replica.fetch.response.max.bytes` (Kafka default 10 MiB). */
  maxBytes: number;
  /** `replica.fetch.max.bytes` per partition (Kafka default 1 MiB). */
  partitionMaxBytes: number;
  /** `replica.fetch.backoff.ms` (Kafka default 1000). */
  backoffMs: number;
}

/** Kafka's defaults. */
export const DEFAULT_REPLICA_FETCHER_SETTINGS: ReplicaFetcherSettings = { maxWaitMs: 500, minBytes: 1, maxBytes: 10 * 1024 * 1024, partitionMaxBytes: 1024 * 1024, backoffMs: 1000 };

/** ListOffsets version a follower asks at most (v4+ carries the current leader epoch). */
const LIST_OFFSETS_VERSION = 7;
/** ListOffsets timestamps: the log end offset, and the log start offset. */
const LATEST_TIMESTAMP = -1n;
const EARLIEST_TIMESTAMP = -2n;

/** Lowest Fetch version a follower uses (ReplicaState). */
const MIN_REPLICA_FETCH_VERSION = 15;

/** What a fetcher needs. */
export interface ReplicaFetcherDeps {
  /** This broker's node id. */
  replicaId: number;
  /** This broker's epoch (its registration), or -1. */
  brokerEpoch: bigint;
  /** The connection to the leader. */
  channel: BrokerChannel;
  /** Clock for back-off. */
  clock: Clock;
  /** The follower side's replication throttle (`follower.replication.throttled.*`), if any. */
  throttle?: Pick<ReplicationThrottle, "shouldThrottle" | "record">;
  /** Problems worth a line. */
  warn(msg: string): void;
  /** Settings (Kafka's defaults when absent). */
  settings?: Partial<ReplicaFetcherSettings>;
}

interface Followed {
  topicId: Uint8Array;
  partition: Partition;
}

/** Replicates the partitions it is given from one leader, until stopped. */
export class ReplicaFetcher {
  private readonly deps: ReplicaFetcherDeps;
  private readonly settings: ReplicaFetcherSettings;
  private readonly followed = new Map<string, Followed>();
  private running: Promise<void> | null = null;
  private stopped = false;
  private wakeIdle: (() => void) | null = null;

  constructor(deps: ReplicaFetcherDeps) {
    this.deps = deps;
    this.settings = { ...DEFAULT_REPLICA_FETCHER_SETTINGS, ...deps.settings };
  }

  /** Starts following `partition` (of the topic with `topicId`) from this fetcher's leader. */
  add(topicId: Uint8Array, partition: Partition): void {
    this.followed.set(`${uuidHex(topicId)}:${partition.index}`, { topicId, partition });
    this.wakeIdle?.();
  }

  /** Stops following a partition (it became leader, moved, or was deleted). */
  remove(topicId: Uint8Array, index: number): void {
    this.followed.delete(`${uuidHex(topicId)}:${index}`);
  }

  /** Partitions followed. */
  get size(): number {
    return this.followed.size;
  }

  /** Starts the fetch loop. */
  start(): void {
    if (this.running === null) this.running = this.loop();
  }

  /** Stops after the fetch in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeIdle?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      for (const f of this.followed.values()) if (f.partition.log.isOffline) this.dropOffline(f.topicId, f.partition);
      const followed = [...this.followed.values()].filter((f) => !f.partition.isRemoved && !f.partition.isLeader);
      const live = followed.filter((f) => !this.throttled(f.partition));
      if (live.length === 0 && followed.length > 0) {
        // every partition is held back by the follower throttle: wait for its rate to come down
        await this.sleep(this.settings.backoffMs);
        continue;
      }
      if (live.length === 0) {
        await new Promise<void>((resolve) => (this.wakeIdle = resolve));
        this.wakeIdle = null;
        continue;
      }
      try {
        await this.fetchOnce(live);
      } catch (e) {
        if (this.stopped) break;
        this.deps.warn(`replica fetch from broker ${this.deps.channel.nodeId} failed: ${(e as Error).message}; retrying in ${this.settings.backoffMs} ms`);
        await this.sleep(this.settings.backoffMs);
      }
    }
  }

  /** One Fetch for every followed partition, its answers applied. */
  private async fetchOnce(live: readonly Followed[]): Promise<void> {
    const version = Math.min(this.deps.channel.version(1), 17);
    if (version < MIN_REPLICA_FETCH_VERSION) throw new Error(`the leader serves Fetch up to v${version}; replication needs v${MIN_REPLICA_FETCH_VERSION}`);
    const byTopic = new Map<string, { topicId: Uint8Array; partitions: FetchRequest["topics"][number]["partitions"] }>();
    for (const f of live) {
      const pos = followerFetchPosition(f.partition);
      const key = uuidHex(f.topicId);
      let t = byTopic.get(key);
      if (t === undefined) byTopic.set(key, (t = { topicId: f.topicId, partitions: [] }));
      t.partitions.push({
        partition: f.partition.index,
        currentLeaderEpoch: f.partition.leaderEpoch,
        fetchOffset: pos.fetchOffset,
        lastFetchedEpoch: pos.lastFetchedEpoch,
        logStartOffset: f.partition.log.logStartOffset,
        partitionMaxBytes: this.settings.partitionMaxBytes,
      });
    }
    const req: FetchRequest = {
      replicaState: { replicaId: this.deps.replicaId, replicaEpoch: this.deps.brokerEpoch },
      maxWaitMs: this.settings.maxWaitMs,
      minBytes: this.settings.minBytes,
      maxBytes: this.settings.maxBytes,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [...byTopic.values()].map((t) => ({ topicId: t.topicId, partitions: t.partitions })),
      forgottenTopicsData: [],
      rackId: "",
    } as FetchRequest;
    const res = await this.deps.channel.request<FetchResponse>(1, req, { version, timeoutMs: this.settings.maxWaitMs + 30_000 });
    if (res.errorCode !== 0) throw new Error(`Fetch error code ${res.errorCode}`);
    let failed = 0;
    for (const t of res.responses) {
      for (const pr of t.partitions) {
        const f = this.followed.get(`${uuidHex(t.topicId!)}:${pr.partitionIndex}`);
        if (f === undefined || f.partition.isRemoved || f.partition.isLeader) continue;
        const records = pr.records as Uint8Array | Uint8Array[] | null;
        this.deps.throttle?.record(f.partition.topic.name, f.partition.index, records === null ? 0 : Array.isArray(records) ? records.reduce((n, r) => n + r.length, 0) : records.length);
        let out;
        try {
          out = applyLeaderAnswer(f.partition, { errorCode: pr.errorCode, highWatermark: pr.highWatermark, records: pr.records as Uint8Array | Uint8Array[] | null, divergingEpoch: pr.divergingEpoch, logStartOffset: pr.logStartOffset });
          if (out.kind === "error" && out.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
            // a ListOffsets error answer fails the partition for this round, so the round backs off before the retry
            if (!(await this.resetOutOfRange(f.partition))) failed++;
            continue;
          }
        } catch (e) {
          // One partition's failure never holds the others back (Kafka's AbstractFetcherThread): a log taken offline
          // by an I/O error (its own files or its .txnindex) is no longer fetched; another error (a corrupt copy) is
          // retried at the next round.
          failed++;
          if (f.partition.log.isOffline) this.dropOffline(t.topicId!, f.partition);
          else this.deps.warn(`replica fetch of ${f.partition.log.name} from broker ${this.deps.channel.nodeId} failed: ${(e as Error).message}`);
          continue;
        }
        if (out.kind === "error") {
          failed++;
          this.deps.warn(`replica fetch of ${f.partition.log.name} from broker ${this.deps.channel.nodeId}: error code ${out.errorCode}`);
        }
      }
    }
    if (failed > 0) await this.sleep(this.settings.backoffMs);
  }

  /** Stops fetching a partition whose log went offline here (Kafka's markPartitionFailed); its data cannot be taken. */
  private dropOffline(topicId: Uint8Array, p: Partition): void {
    this.remove(topicId, p.index);
    this.deps.warn(`replica fetch of ${p.log.name} from broker ${this.deps.channel.nodeId}: its log is offline here, no longer fetched`);
  }

  /**
   * The leader answered OFFSET_OUT_OF_RANGE: this follower's log end lies outside the leader's log (Kafka's
   * AbstractFetcherThread.fetchOffsetAndTruncate). Asks the leader for its log end and log start (ListOffsets as a
   * replica); past the leader's log end, truncates to it; below the leader's log start (retention or DeleteRecords
   * moved it past what this follower has), empties the log and starts it there. Otherwise the next fetch retries.
   * False when the leader answered ListOffsets with an error (Kafka's fetcher then counts the partition failed and
   * backs off `replica.fetch.backoff.ms`).
   */
  private async resetOutOfRange(p: Partition): Promise<boolean> {
    const ask = async (timestamp: bigint): Promise<bigint | null> => {
      const version = Math.min(this.deps.channel.version(2), LIST_OFFSETS_VERSION);
      const res = await this.deps.channel.request<ListOffsetsResponse>(2, { replicaId: this.deps.replicaId, isolationLevel: 0, topics: [{ name: p.topic.name, partitions: [{ partitionIndex: p.index, currentLeaderEpoch: p.leaderEpoch, timestamp }] }] } as ListOffsetsRequest, { version, timeoutMs: 30_000 });
      const pr = res.topics[0]?.partitions[0];
      if (pr === undefined || pr.errorCode !== 0) {
        this.deps.warn(`replica fetch of ${p.log.name}: out of range, and ListOffsets at broker ${this.deps.channel.nodeId} answered ${pr === undefined ? "nothing" : `error code ${pr.errorCode}`}`);
        return null;
      }
      return pr.offset;
    };
    const mine = p.logEndOffset;
    const leaderEnd = await ask(LATEST_TIMESTAMP);
    if (leaderEnd === null) return false;
    if (p.isRemoved || p.isLeader || p.logEndOffset !== mine) return true;
    if (leaderEnd < mine) {
      this.deps.warn(`replica fetch of ${p.log.name}: log end offset ${mine} is past the leader's ${leaderEnd}; truncating to it`);
      p.truncateTo(leaderEnd);
      return true;
    }
    const leaderStart = await ask(EARLIEST_TIMESTAMP);
    if (leaderStart === null) return false;
    if (p.isRemoved || p.isLeader || p.logEndOffset !== mine) return true;
    if (leaderStart > mine) {
      this.deps.warn(`replica fetch of ${p.log.name}: log end offset ${mine} is below the leader's log start offset ${leaderStart}; restarting the log there`);
      p.truncateFullyAndStartAt(leaderStart);
    }
    return true;
  }

  /** Whether the follower throttle holds this partition back now (it is out of the ISR and over the bound). */
  private throttled(p: Partition): boolean {
    return this.deps.throttle?.shouldThrottle(p.topic.name, p.index, p.isr.includes(this.deps.replicaId)) ?? false;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.deps.clock.setTimer(resolve, ms);
      this.wakeIdle = () => {
        this.deps.clock.clearTimer(timer);
        resolve();
      };
    });
  }
}
