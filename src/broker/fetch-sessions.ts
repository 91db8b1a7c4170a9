/**
 * Fetch sessions (KIP-227): a client that opens a session sends only the partitions that changed, and the broker
 * answers only with partitions that have news (records, an error, or a moved high watermark, last stable offset
 * or log start offset). The cache is bounded by `max.incremental.fetch.session.cache.slots`. When it is full, a new
 * session takes the place of one unused for `min.incremental.fetch.session.eviction.ms`, else of the least valuable
 * session older than that (a consumer's before a follower's, then the fewest partitions) if the new one is worth
 * more, else the fetch stays sessionless: as in Kafka, clients beyond the slots fetch in full instead of evicting
 * each other's sessions in turn (each eviction costs its client a FETCH_SESSION_ID_NOT_FOUND round trip).
 *
 * {@link applyFetchSession} reads a request's session fields as Kafka's FetchManager does, for the broker's Fetch and
 * for a sharded node's front alike; {@link partitionHasNews} and {@link noteSent} decide an incremental answer.
 */
import type { Clock } from "../platform/clock.ts";
import { type RandomSource, systemRandom } from "../platform/random.ts";
import { ErrorCode } from "../protocol/errors.ts";
import type { FetchRequest } from "../protocol/generated/01_fetch.ts";
import { uuidHex } from "../protocol/uuid.ts";

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
  /** Whether the session keys topics by id (opened at v13+); a request of the other kind cannot use it. */
  readonly usesTopicIds: boolean;
  /** Whether a follower opened it (a follower's new session may evict a consumer's of any age). */
  readonly privileged: boolean;
  /** Monotonic ms of its creation. */
  readonly createdMs: number;
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
      // an id that names no topic now keeps the name it had when the partition joined (Kafka's cached name);
      // not when this request also forgets it: the session no longer holds it, and a session left empty answers
      // the request's own partitions as a sessionless fetch does (an id it cannot name: UNKNOWN_TOPIC_ID)
      if (w.topicName === "" && !forgets(forgotten, w.topicKey, w.partition)) w.topicName = old.topicName;
    }
    s.partitions.set(key, w);
  }
  for (const f of forgotten) for (const p of f.partitions) s.partitions.delete(sessionPartitionKey(f.topicKey, p));
}

/** Whether `forgotten` names partition `partition` of the topic keyed `topicKey`. */
function forgets(forgotten: readonly { topicKey: string; partitions: readonly number[] }[], topicKey: string, partition: number): boolean {
  for (const f of forgotten) if (f.topicKey === topicKey && f.partitions.includes(partition)) return true;
  return false;
}

/** The session fields of a Fetch request, and the partitions it forgets (v7+). */
export interface FetchSessionFields {
  /** Session id (0: none). */
  readonly sessionId: number;
  /** Session epoch: -1 (final, no session), 0 (initial: open one) or the session's next epoch. */
  readonly sessionEpoch: number;
  /** Partitions the request removes from its session. */
  readonly forgotten: readonly { topicKey: string; partitions: readonly number[] }[];
  /** Whether a follower (a replica) sends the request. */
  readonly fromFollower: boolean;
}

/**
 * The session fields of Fetch request `req` at version `v` (sessionless before v7), its forgotten partitions keyed
 * by topic id (`useIds`, v13+) or name; `fromFollower`: a replica sends it. The broker's Fetch and a sharded node's
 * front read them alike.
 */
export function fetchSessionFields(req: FetchRequest, v: number, useIds: boolean, fromFollower: boolean): FetchSessionFields {
  if (v < 7) return { sessionId: 0, sessionEpoch: -1, forgotten: [], fromFollower };
  const forgotten = (req.forgottenTopicsData ?? []).map((f) => ({ topicKey: useIds ? uuidHex(f.topicId!) : f.topic!, partitions: f.partitions }));
  return { sessionId: req.sessionId ?? 0, sessionEpoch: req.sessionEpoch ?? -1, forgotten, fromFollower };
}

/** What a request's session fields make of it: its session (null when sessionless), whether incremental, what it reads. */
export interface FetchSessionContext<W extends SessionPartition> {
  /** The session the answer names (null: the answer's session id is 0). */
  readonly session: FetchSession | null;
  /** Whether the answer holds only partitions with news. */
  readonly incremental: boolean;
  /** Every partition the fetch reads: the request's (full fetch) or the session's (incremental). */
  readonly wanted: W[];
}

/**
 * Applies a Fetch request to the session cache as Kafka's FetchManager does (KIP-227). Epoch -1 or 0 is a full
 * fetch that first closes the named session (if any); at epoch 0 it opens a new one holding `fromRequest` (none
 * when the cache has no slots), at -1 it stays sessionless. Any other epoch is incremental: the session must exist
 * (FETCH_SESSION_ID_NOT_FOUND, also for id 0), expect this epoch (INVALID_FETCH_SESSION_EPOCH) and key topics as
 * this version does (FETCH_SESSION_TOPIC_ID_ERROR); its named partitions are added or updated and its forgotten
 * ones removed. A session left empty is closed and the fetch answered sessionless. Returns the context, or the
 * top-level error code to answer (the session then unchanged).
 */
export function applyFetchSession<W extends SessionPartition>(cache: FetchSessionCache, fields: FetchSessionFields, usesTopicIds: boolean, fromRequest: W[]): FetchSessionContext<W> | number {
  const { sessionId, sessionEpoch: epoch } = fields;
  if (epoch === 0 || epoch === -1) {
    if (sessionId !== 0) cache.remove(sessionId);
    const session = epoch === 0 ? cache.create(usesTopicIds, fields.fromFollower, fromRequest.length) : null;
    if (session !== null) {
      for (const w of fromRequest) session.partitions.set(sessionPartitionKey(w.topicKey, w.partition), w);
      session.nextEpoch = nextSessionEpoch(0);
    }
    return { session, incremental: false, wanted: fromRequest };
  }
  const s = sessionId === 0 ? undefined : cache.get(sessionId);
  if (s === undefined) return ErrorCode.FETCH_SESSION_ID_NOT_FOUND;
  if (s.nextEpoch !== epoch) return ErrorCode.INVALID_FETCH_SESSION_EPOCH;
  if (s.usesTopicIds !== usesTopicIds) return ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR;
  updateSession(s, fromRequest, fields.forgotten);
  if (s.partitions.size === 0) {
    cache.remove(s.id);
    return { session: null, incremental: false, wanted: fromRequest };
  }
  s.nextEpoch = nextSessionEpoch(epoch);
  return { session: s, incremental: true, wanted: [...s.partitions.values()] as W[] };
}

/**
 * The error for a partition keyed by a topic id (v13+) that names no topic now, as Kafka answers it: a session
 * keeps the name the id had when the partition joined (`cachedName`); when the partition exists under that name
 * (its topic deleted and created again, with a new id) INCONSISTENT_TOPIC_ID, when not UNKNOWN_TOPIC_OR_PARTITION;
 * an id never known here ("" name) UNKNOWN_TOPIC_ID. `partitionExists(name)`: whether the partition is there now.
 */
export function unknownTopicIdError(cachedName: string, partitionExists: (name: string) => boolean): number {
  if (cachedName === "") return ErrorCode.UNKNOWN_TOPIC_ID;
  return partitionExists(cachedName) ? ErrorCode.INCONSISTENT_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
}

/** What an answer for a session partition says, for {@link partitionHasNews} and {@link noteSent}. */
export interface SentPartition {
  /** Error code. */
  readonly errorCode: number;
  /** High watermark (-1 with most errors). */
  readonly highWatermark: bigint;
  /** Log start offset (-1 when unknown). */
  readonly logStartOffset?: bigint;
  /** Preferred read replica (KIP-392), -1 for none. */
  readonly preferredReadReplica?: number;
  /** Diverging epoch for a follower (v12+). */
  readonly divergingEpoch?: { readonly epoch: number; readonly endOffset: bigint };
}

/**
 * Whether an incremental answer must carry `sp` with `data` (`bytes` of records): records, an error, a preferred
 * read replica, a diverging epoch, or a high watermark or log start offset other than last sent.
 */
export function partitionHasNews(sp: SessionPartition, data: SentPartition, bytes: number): boolean {
  return bytes > 0 || data.errorCode !== 0 || (data.preferredReadReplica ?? -1) >= 0 || (data.divergingEpoch !== undefined && (data.divergingEpoch.epoch >= 0 || data.divergingEpoch.endOffset >= 0n))
    || data.highWatermark !== sp.sentHighWatermark || (data.logStartOffset ?? -1n) !== sp.sentLogStartOffset;
}

/**
 * Notes what the client now knows of `sp` from the answer sent; after an error the high watermark counts as
 * unknown (-1), so the partition is answered again once the error clears, as Kafka does.
 */
export function noteSent(sp: SessionPartition, data: SentPartition): void {
  sp.sentHighWatermark = data.errorCode !== 0 ? -1n : data.highWatermark;
  sp.sentLogStartOffset = data.logStartOffset ?? -1n;
}

/** Kafka's default `min.incremental.fetch.session.eviction.ms`. */
export const DEFAULT_FETCH_SESSION_EVICTION_MS = 120_000;

/** Orders sessions by what keeping them is worth: a follower's above a consumer's, then by partitions, then by id. */
function worth(privileged: boolean, size: number, id: number, than: FetchSession): number {
  if (privileged !== than.privileged) return privileged ? 1 : -1;
  if (size !== than.partitions.size) return size - than.partitions.size;
  return id - than.id;
}

/** All open fetch sessions of the broker. */
export class FetchSessionCache {
  private readonly sessions = new Map<number, FetchSession>();
  private readonly maxSlots: number;
  private readonly clock: Clock;

  private readonly random: RandomSource;
  private readonly evictionMs: number;

  /**
   * `maxSlots`: `max.incremental.fetch.session.cache.slots`; `evictionMs`: `min.incremental.fetch.session.eviction.ms`;
   * `random` draws session ids (the runtime's randomness when absent).
   */
  constructor(maxSlots: number, clock: Clock, random: RandomSource = systemRandom, evictionMs = DEFAULT_FETCH_SESSION_EVICTION_MS) {
    if (!Number.isInteger(maxSlots) || maxSlots < 0) throw new RangeError(`max.incremental.fetch.session.cache.slots ${maxSlots} must be >= 0`);
    if (!Number.isInteger(evictionMs) || evictionMs < 0) throw new RangeError(`min.incremental.fetch.session.eviction.ms ${evictionMs} must be >= 0`);
    this.maxSlots = maxSlots;
    this.clock = clock;
    this.random = random;
    this.evictionMs = evictionMs;
  }

  /**
   * Opens a session keying topics by id or by name, for a follower (`privileged`) or a consumer, holding `size`
   * partitions; returns null when sessions are disabled (0 slots) or the cache is full of sessions worth keeping.
   */
  create(usesTopicIds: boolean, privileged = false, size = 0): FetchSession | null {
    if (this.maxSlots <= 0) return null;
    if (this.sessions.size >= this.maxSlots && !this.evictFor(privileged, size)) return null;
    let id = 0;
    while (id === 0 || this.sessions.has(id)) id = (this.random.float() * 0x7fffffff) | 0;
    const now = this.clock.monotonicMs();
    const s: FetchSession = { id, nextEpoch: 1, partitions: new Map(), lastUsedMs: now, usesTopicIds, privileged, createdMs: now };
    this.sessions.set(id, s);
    return s;
  }

  /**
   * Makes room for a new session (Kafka's FetchSessionCache.tryEvict): removes the session used least recently if it
   * was unused for `evictionMs`; else the least valuable evictable one (a consumer's before a follower's, then fewer
   * partitions, then the lower id), if the new session is worth more. Evictable: older than `evictionMs`, or, for a
   * follower's new session, any consumer's. Walks every session (at most `maxSlots`), only when the cache is full.
   */
  private evictFor(privileged: boolean, size: number): boolean {
    const now = this.clock.monotonicMs();
    const lru = this.sessions.values().next().value as FetchSession; // Map order = recency
    if (now - lru.lastUsedMs > this.evictionMs) {
      this.sessions.delete(lru.id);
      return true;
    }
    let victim: FetchSession | null = null;
    for (const s of this.sessions.values()) {
      if (!(now - s.createdMs > this.evictionMs || (privileged && !s.privileged))) continue;
      if (victim === null || worth(s.privileged, s.partitions.size, s.id, victim) < 0) victim = s;
    }
    // the new session's id is not drawn yet: it counts as 0, below every session's, so a tie keeps the old one
    if (victim === null || worth(privileged, size, 0, victim) < 0) return false;
    this.sessions.delete(victim.id);
    return true;
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
