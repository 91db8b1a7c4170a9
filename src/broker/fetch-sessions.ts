/**
 * Fetch sessions (KIP-227): a client that opens a session sends only the partitions that changed, and the broker
 * answers only with partitions that have news (records, an error, or a moved high watermark, last stable offset
 * or log start offset). The cache is bounded by `max.incremental.fetch.session.cache.slots`; when full, the session
 * used least recently is evicted and its client gets FETCH_SESSION_ID_NOT_FOUND and starts over with a full fetch.
 */
import type { Clock } from "../platform/clock.ts";
import { type RandomSource, systemRandom } from "../platform/random.ts";

/** One partition a session follows, with what was last sent for it. */
export interface SessionPartition {
  /** Topic key: the name, or the id hex for v13+. */
  topicKey: string;
  /** Topic name when known ("" for an unknown id). */
  topicName: string;
  /** Topic id (16 bytes) when the session uses ids. */
  topicId: Uint8Array | undefined;
  /** Partition index. */
  partition: number;
  /** Where the client reads next (updated only when the client sends the partition again). */
  fetchOffset: bigint;
  /** Partition byte limit. */
  maxBytes: number;
  /** Leader epoch the client knows. */
  currentLeaderEpoch: number;
  /** High watermark last sent (-1 = never sent). */
  sentHighWatermark: bigint;
  /** Log start offset last sent. */
  sentLogStartOffset: bigint;
}

/** An open fetch session. */
export interface FetchSession {
  /** Session id (never 0). */
  readonly id: number;
  /** The epoch the next incremental request must carry. */
  nextEpoch: number;
  /** Followed partitions by "topicKey:partition", in the order they were added. */
  readonly partitions: Map<string, SessionPartition>;
  /** Monotonic ms of last use. */
  lastUsedMs: number;
}

/** Key of a partition inside a session. */
export function sessionPartitionKey(topicKey: string, partition: number): string {
  return `${topicKey}:${partition}`;
}

/** The epoch after `epoch` (wraps from int32 max to 1; 0 and -1 are reserved). */
export function nextSessionEpoch(epoch: number): number {
  return epoch >= 0x7fffffff ? 1 : epoch + 1;
}

/**
 * Applies an incremental fetch to session `s`: each partition it names replaces the session's entry (keeping what
 * was last sent for it), and the partitions it forgets (`topicKey` with their indexes) leave the session.
 */
export function updateSession(s: FetchSession, named: readonly SessionPartition[], forgotten: readonly { topicKey: string; partitions: readonly number[] }[]): void {
  for (const w of named) {
    const key = sessionPartitionKey(w.topicKey, w.partition);
    const old = s.partitions.get(key);
    if (old) {
      w.sentHighWatermark = old.sentHighWatermark;
      w.sentLogStartOffset = old.sentLogStartOffset;
    }
    s.partitions.set(key, w);
  }
  for (const f of forgotten) for (const p of f.partitions) s.partitions.delete(sessionPartitionKey(f.topicKey, p));
}

/** All open fetch sessions of the broker. */
export class FetchSessionCache {
  private readonly sessions = new Map<number, FetchSession>();
  private readonly maxSlots: number;
  private readonly clock: Clock;

  private readonly random: RandomSource;

  /** `random` draws session ids (the runtime's randomness when absent). */
  constructor(maxSlots: number, clock: Clock, random: RandomSource = systemRandom) {
    this.maxSlots = maxSlots;
    this.clock = clock;
    this.random = random;
  }

  /** Opens a session; returns null when sessions are disabled (0 slots). */
  create(): FetchSession | null {
    if (this.maxSlots <= 0) return null;
    if (this.sessions.size >= this.maxSlots) {
      const lru = this.sessions.keys().next().value as number; // Map order = recency
      this.sessions.delete(lru);
    }
    let id = 0;
    while (id === 0 || this.sessions.has(id)) id = (this.random.float() * 0x7fffffff) | 0;
    const s: FetchSession = { id, nextEpoch: 1, partitions: new Map(), lastUsedMs: this.clock.monotonicMs() };
    this.sessions.set(id, s);
    return s;
  }

  /** The session with `id`, marked as just used; undefined when unknown. */
  get(id: number): FetchSession | undefined {
    const s = this.sessions.get(id);
    if (s !== undefined) {
      this.sessions.delete(id);
      this.sessions.set(id, s);
      s.lastUsedMs = this.clock.monotonicMs();
    }
    return s;
  }

  /** Closes a session. */
  remove(id: number): void {
    this.sessions.delete(id);
  }

  /** Number of open sessions. */
  get size(): number {
    return this.sessions.size;
  }
}
