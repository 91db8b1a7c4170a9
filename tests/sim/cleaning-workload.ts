/**
 * The log cleaner, retention and DeleteRecords inside the one-broker simulation (kafka-broker.ts, option
 * `cleaning`): three one-partition topics with segments rolling every {@link SEGMENT_MS} ms,
 * - `cmp`: `cleanup.policy=compact`, `min.cleanable.dirty.ratio=0.01`, `delete.retention.ms` {@link DELETE_RETENTION_MS};
 * - `cmpdel`: `compact,delete` with `retention.ms` 1500 as well, and DeleteRecords;
 * - `ret`: `delete` with `retention.ms` 1000 and `retention.bytes` 6000, and DeleteRecords;
 * two producers of keyed records (four hot keys take 60% of the records, 24 cold keys the rest, so that old
 * segments often hold a key's latest record; a tenth of them tombstones): an idempotent one with acks=all that
 * retries a batch with its sequence (the broker must answer a retry of a batch that compaction emptied or removed
 * as a duplicate: every record id is in the log at most once), a plain one with acks=1 that never retries, and a
 * transactional one writing to `cmp` (commits three in five, aborts the rest, re-initialises after a failure); an admin
 * sending DeleteRecords, and the broker's cleaner, retention and checkpoints on the simulation's clock
 * (`log.cleaner.backoff.ms`, `log.retention.check.interval.ms`, `log.flush.offset.checkpoint.interval.ms` short).
 * Faults added: a power cut (seven in ten) or a process kill at a seeded one of the next disk calls that touch a
 * `.cleaned`, `.swap` or `.deleted` file or a checkpoint file (so inside a cleaning swap, a segment deletion or a
 * checkpoint write), also while the broker starts (recovery finishing an interrupted swap). Clean stops (a fifth of
 * all faults, kafka-broker.ts) stop the cleaner mid-pass and write the final checkpoints.
 *
 * Each record carries its id as a header key. A read is the whole partition from the log start offset to the high
 * watermark, straight from the partition after every start, every 60-140 ms while up, and at the end.
 *
 * The invariants checked at each read (R = the read, L = its log start offset, H = its high watermark):
 * (a) offsets strictly increase; every record is one that was produced, with its key and tombstone-ness, and is
 *     in the log once; an acknowledged record is at its acknowledged offset; a record seen at an offset at or
 *     below an acknowledged one (so durable: acks=all syncs the whole log below it) stays there (an unsynced one
 *     may be lost and its batch retried elsewhere); no other record sits at an acknowledged record's offset.
 * (b) compaction never loses the latest state of a key: for an acknowledged record r (acks=all, or of a committed
 *     transaction) of key k with L <= r.offset < H that is not in R, what read_committed sees of R below the last
 *     stable offset (aborted records and markers dropped by the aborted-transaction list a Fetch carries) must hold
 *     a record of k at a higher offset (r was superseded: the cleaner maps nothing at or above the last stable
 *     offset, and no aborted record), or else no record of k at all and then r is a tombstone, or a tombstone of k
 *     (not aborted) after r (at a higher offset; its offset unknown, sent after r was acknowledged), sent at least
 *     `delete.retention.ms` ago
 *     (a removed tombstone: Kafka removes one only after its delete horizon, set when it is first cleaned, so never
 *     earlier than `delete.retention.ms` after it was appended). So an older record of a key never reappears in
 *     place of a newer one that is gone.
 *     Holes never fill: once a read showed offsets [a, b) absent between two records, with b at or below the
 *     highest acknowledged offset then (so that prefix was durable: acks=all syncs the whole log below it), no
 *     later read, after any number of crashes, shows a record in [a, b). A swap under way at a crash is completed
 *     when the crash came after its commit point (the cleaned `.log` renamed to `.swap`; the cleaned segment was
 *     durable before it) and rolled back before it (the old segments untouched, the `.cleaned` files removed);
 *     either way, once a read served a cleaned segment, the records it dropped are gone for good.
 *     read_committed never sees a record of a transaction the producer saw aborted, nor misses an acknowledged one
 *     that is in R below the last stable offset.
 * (c) the log start offset: within one broker process it never goes back; after a clean stop that finished before
 *     the power went, the next start's log start offset is at least every log start offset reported before the
 *     stop (DeleteRecords answers, reads); after any crash it is at least the one in the durable
 *     `log-start-offset-checkpoint` (read from the disk before the restart). Between checkpoints a power cut may
 *     bring back records that DeleteRecords had put below the log start (as in Kafka, which also only checkpoints
 *     the log start offset every `log.flush.start.offset.checkpoint.interval.ms`); a deleted segment never comes
 *     back: once a read saw the first segment start at an offset (retention or DeleteRecords deleted the ones
 *     before it; their files are gone), the log start offset and every record stay at or above it.
 * (d) every acknowledged record with L <= offset < H of the delete-only topic is in R at its offset (compacted
 *     topics: rule (b)).
 */
import { ErrorCode } from "../../src/protocol/errors.ts";
import { BatchBuilder, RecordCursor, isControlAttributes, isTransactionalAttributes, readBatchHeader, verifyBatchIntegrity } from "../../src/protocol/record-batch.ts";
import { BATCH_HEADER_SIZE, BATCH_LENGTH_OFFSET, LOG_OVERHEAD, dataViewOf } from "../../src/protocol/batch-layout.ts";
import { concatBytes } from "../../src/protocol/wire.ts";
import { LOG_START_OFFSET_CHECKPOINT, readOffsetCheckpoint } from "../../src/storage/checkpoint.ts";
import type { Broker } from "../../src/broker/broker.ts";
import type { Partition } from "../../src/partition/partition.ts";
import type { Sim } from "./scheduler.ts";
import type { SimDisk } from "./sim-disk.ts";
import type { ReadRecord } from "./records.ts";
import { readCommittedView } from "./checkers.ts";

/** Segments of the cleaning topics roll this often (`segment.ms`). */
export const SEGMENT_MS = 120;
/** `delete.retention.ms` of the compacted topics. */
export const DELETE_RETENTION_MS = 300;
/** The replicated run's final DeleteRecords timeout: shorter than any retention.ms, longer than a few follower fetches. */
const FINAL_DELETE_RECORDS_TIMEOUT_MS = 500;
/** Hot keys (most records; compaction removes most of theirs). */
const HOT_KEYS = 4;
/** Cold keys (few records each, so an old segment often holds a key's latest record). */
const COLD_KEYS = 24;

/** Broker settings the cleaning workload needs (the cleaner, retention and checkpoints on short timers). */
export const CLEANING_BROKER_SETTINGS: Record<string, string> = {
  "log.cleaner.backoff.ms": "40",
  "log.retention.check.interval.ms": "90",
  "log.flush.offset.checkpoint.interval.ms": "250",
};

interface TopicSpec {
  name: string;
  configs: Record<string, string>;
  compact: boolean;
  deleteRecords: boolean;
  /** `retention.ms`, or null. */
  retentionMs: number | null;
  /** Whether `retention.bytes` is set (then any segment but the active one may go). */
  retentionBytes: boolean;
}

const TOPICS: TopicSpec[] = [
  { name: "cmp", compact: true, deleteRecords: false, retentionMs: null, retentionBytes: false, configs: { "cleanup.policy": "compact" } },
  { name: "cmpdel", compact: true, deleteRecords: true, retentionMs: 1500, retentionBytes: false, configs: { "cleanup.policy": "compact,delete", "retention.ms": "1500" } },
  { name: "ret", compact: false, deleteRecords: true, retentionMs: 1000, retentionBytes: true, configs: { "cleanup.policy": "delete", "retention.ms": "1000", "retention.bytes": "6000" } },
];
const COMMON_CONFIGS: Record<string, string> = { "segment.ms": String(SEGMENT_MS), "min.cleanable.dirty.ratio": "0.01", "delete.retention.ms": String(DELETE_RETENTION_MS), "min.compaction.lag.ms": "0" };

/**
 * Whether `partition` (a `topic-index` name) belongs to a topic of the cleaning workload: the cleaner, retention and
 * DeleteRecords remove records whose producer state and aborted-transaction entries a clean start keeps (from
 * snapshots and index files) and a full recovery cannot rebuild (clean-start-check.ts compares less there).
 */
export function isCleaningTopicPartition(partition: string): boolean {
  const dash = partition.lastIndexOf("-");
  const topic = partition.slice(0, dash);
  return TOPICS.some((t) => t.name === topic);
}

/** Paths whose disk calls the cleaning fault counts: cleaner swap files, deleted segments, checkpoint files. */
export function cleaningPath(path: string): boolean {
  return /\.(cleaned|swap|deleted)(\.|$)|checkpoint/.test(path);
}

/** One record the producer sent. */
interface Produced {
  id: string;
  key: string;
  tombstone: boolean;
  /** The clock's wall time when it was sent (its record timestamp; retention and delete horizons count from it). */
  sentAt: number;
  /** Its offset once acknowledged (acks=all or 1). */
  ackedOffset: bigint | null;
  /** acks=all. */
  ackedAll: boolean;
  /** The clock's wall time when it was acknowledged (its transaction's commit for a transactional one), or null. */
  ackedAt: number | null;
  /** Its transaction's outcome as the producer knows it ("none": not transactional). */
  txn: "none" | "open" | "committed" | "aborted" | "unknown";
}

/** One record read back (`value` is its id; control records have an empty id and key). */
interface KeyedRecord extends ReadRecord {
  id: string;
  key: string;
  tombstone: boolean;
}

interface TopicState {
  spec: TopicSpec;
  produced: Map<string, Produced>;
  /** acks=all records in acknowledgement order. */
  acked: Produced[];
  ackedByOffset: Map<bigint, string>;
  seenAt: Map<string, bigint>;
  /** Disjoint, sorted [from, to) ranges known empty for good. */
  holes: [bigint, bigint][];
  maxAckedOffset: bigint;
  /** Largest log start offset reported (DeleteRecords answers, reads). */
  reportedLso: bigint;
  /** Lower bound for the log start offset in the current process (clean stop, checkpoint file, earlier reads). */
  lsoFloor: bigint;
  lsoFloorWhy: string;
  /** No record below this offset may come back (the first segment's base offset a read saw). */
  segmentFloor: bigint;
  /** Largest offset a DeleteRecords request asked for (answered or not). */
  maxDeleteTarget: bigint;
  /** The high watermark of the last read. */
  lastHighWatermark: bigint;
  /** Acknowledged records at or above the log start that a read did not find (compacted away; counted once). */
  gone: Set<string>;
}

/** The cleaning topics' names (one partition each). */
export const CLEANING_TOPIC_NAMES: readonly string[] = TOPICS.map((t) => t.name);

/** What the workload needs of the simulation around it. */
export interface CleaningContext {
  sim: Sim;
  disk: SimDisk;
  violations: string[];
  durationMs: number;
  sleep(ms: number, label: string): Promise<void>;
  /** A client's call function (redialled after restarts): (apiKey, version, body, noResponse) -> answer or null. */
  client(name: string): <T = any>(apiKey: number, version: number, body: unknown, noResponse?: boolean) => Promise<T | null>;
  /** The running broker, or null. */
  broker(): Broker | null;
  /** Whether the broker serves now. */
  up(): boolean;
  /**
   * Replicated (the cluster simulation): topics with this many replicas and `min.insync.replicas` 2, no
   * transactional producer (the cluster runs its own), reads of {@link CleaningContext.leaderPartition} instead of
   * the broker's, and only the rules that hold across replicas, which compact on their own and may restart at the
   * leader's log start: no holes-never-fill or deleted-segment floors, and the log start offset of the leader (and of
   * every replica at the end) never below the low watermark a DeleteRecords answer gave (every live replica had moved
   * its log start there).
   */
  replicas?: number;
  /** With `replicas`: the partition of `topic` at its current leader (as the cluster metadata names it), if up. */
  leaderPartition?(topic: string): Partition | undefined;
  /** With `replicas`: broker `node`'s registration in the cluster metadata (its broker epoch), or null while it has none. */
  registrationOf?(node: number): number | null;
}

const builder = new BatchBuilder(1 << 16);
const enc = new TextEncoder();
const dec = new TextDecoder();
const cursor = new RecordCursor();

/** Keyed records of whole batches in `chunks` (ids from the first header key); null on a CRC failure. */
function decodeKeyed(chunks: readonly Uint8Array[]): KeyedRecord[] | null {
  const bytes = chunks.length === 1 ? chunks[0] : concatBytes(chunks);
  const dv = dataViewOf(bytes);
  const out: KeyedRecord[] = [];
  for (let at = 0; at + LOG_OVERHEAD <= bytes.length; ) {
    const size = dv.getInt32(at + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
    if (size < BATCH_HEADER_SIZE || at + size > bytes.length) break;
    if (verifyBatchIntegrity(bytes, at, size) !== null) return null;
    const h = readBatchHeader(bytes, at);
    const [producerId, transactional, control] = [h.producerId, isTransactionalAttributes(h.attributes), isControlAttributes(h.attributes)];
    cursor.resetRange(bytes, at + BATCH_HEADER_SIZE, at + size, h.recordsCount, Number(h.baseTimestamp), h.baseOffset);
    while (cursor.next()) {
      const offset = h.baseOffset + BigInt(cursor.offsetDelta);
      if (control) {
        out.push({ offset, value: "", id: "", key: "", tombstone: false, producerId, transactional, control });
        continue;
      }
      const b = cursor.bytes;
      const key = cursor.keyLength < 0 ? "" : dec.decode(b.subarray(cursor.keyStart, cursor.keyStart + cursor.keyLength));
      const hc = cursor.headers();
      const id = hc.next() ? dec.decode(b.subarray(hc.keyStart, hc.keyStart + hc.keyLength)) : "";
      out.push({ offset, value: id, id, key, tombstone: cursor.valueLength < 0, producerId, transactional, control });
    }
    at += size;
  }
  return out;
}

/** The cleaning workload of one run. */
export class CleaningWorkload {
  private readonly topics: TopicState[] = TOPICS.map((spec) => ({
    spec,
    produced: new Map(),
    acked: [],
    ackedByOffset: new Map(),
    seenAt: new Map(),
    holes: [],
    maxAckedOffset: -1n,
    reportedLso: 0n,
    lsoFloor: 0n,
    lsoFloorWhy: "",
    segmentFloor: 0n,
    maxDeleteTarget: 0n,
    lastHighWatermark: 0n,
    gone: new Set(),
  }));
  private ready = false;
  private nextId = 0;
  /** Counters for the run report. */
  readonly stats = { keyedRetriesAcked: 0, keyedTxnAborted: 0, keyedAcked: 0, tombstonesAcked: 0, deleteRecordsAnswered: 0, cleaningReads: 0, recordsCleanedAway: 0, lsoMoves: 0, deletedKeysKeptByReplicas: 0 };
  /** Replicated: "topic key offset" of older records a replica keeps after the key's tombstone was cleaned away. */
  private readonly keptDeletedKeys = new Set<string>();

  /** Whether a tombstone of `key` (not aborted), at a known offset past `after`, was sent delete.retention.ms or more before `now`. */
  private tombstoneAfter(t: TopicState, key: string, after: bigint, now: number): boolean {
    for (const p of t.produced.values()) {
      if (p.key !== key || !p.tombstone || p.txn === "aborted" || p.sentAt + DELETE_RETENTION_MS > now) continue;
      const at = p.ackedOffset ?? t.seenAt.get(p.id);
      if (at !== undefined && at > after) return true;
    }
    return false;
  }

  constructor(private readonly ctx: CleaningContext) {}

  /** Starts the topic creation, the producer, the admin's DeleteRecords and the periodic reader. */
  start(fail: (e: unknown) => void): void {
    void this.createTopics().catch(fail);
    void this.idempotentProducer().catch(fail);
    void this.plainProducer().catch(fail);
    if (this.ctx.replicas === undefined) void this.transactionalProducer().catch(fail);
    void this.deleter().catch(fail);
    void this.reader().catch(fail);
  }

  private async createTopics(): Promise<void> {
    const call = this.ctx.client("cleaning-admin");
    const todo = new Set(TOPICS.map((t) => t.name));
    while (todo.size > 0) {
      const res = await call(19, 7, {
        topics: TOPICS.filter((t) => todo.has(t.name)).map((t) => ({ name: t.name, numPartitions: 1, replicationFactor: this.ctx.replicas ?? 1, assignments: [], configs: Object.entries({ ...COMMON_CONFIGS, ...(this.ctx.replicas === undefined ? {} : { "min.insync.replicas": "2" }), ...t.configs }).map(([name, value]) => ({ name, value })) })),
        timeoutMs: 1000,
      });
      for (const t of res?.topics ?? []) if (t.errorCode === ErrorCode.NONE || t.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS) todo.delete(t.name);
      if (todo.size > 0) await this.ctx.sleep(20, "cleaning admin retry");
    }
    this.ready = true;
  }

  /** A batch of 1-3 new keyed records for `t` (ids `<topic>#<n>`, a tenth tombstones on compacted topics). */
  private newBatch(t: TopicState, stamp: { producerId: bigint; producerEpoch: number; baseSequence: number; isTransactional?: boolean } | null): { recs: Produced[]; batch: Uint8Array } {
    const sim = this.ctx.sim;
    const now = sim.clock.nowMs();
    const recs: Produced[] = Array.from({ length: 1 + sim.int(3) }, () => ({ id: `${t.spec.name}#${this.nextId++}`, key: sim.chance(0.6) ? `k${sim.int(HOT_KEYS)}` : `c${sim.int(COLD_KEYS)}`, tombstone: t.spec.compact && sim.chance(0.1), sentAt: now, ackedOffset: null, ackedAll: false, ackedAt: null, txn: stamp?.isTransactional === true ? ("open" as const) : ("none" as const) }));
    builder.reset(stamp ?? {});
    for (const r of recs) {
      t.produced.set(r.id, r);
      builder.append(now, enc.encode(r.key), r.tombstone ? null : enc.encode(`v${r.id}`), [{ key: r.id, value: null }]);
    }
    return { recs, batch: builder.finish().slice() };
  }

  /** Records acknowledged records: a batch at `baseOffset`, or (null) records whose offsets are set already. */
  private acknowledged(t: TopicState, recs: readonly Produced[], baseOffset: bigint | null, acksAll: boolean, who: string): void {
    recs.forEach((r, i) => {
      if (baseOffset !== null) r.ackedOffset = baseOffset + BigInt(i);
      r.ackedAll = acksAll;
      r.ackedAt = this.ctx.sim.clock.nowMs();
    });
    if (acksAll) {
      for (const r of recs) {
        t.acked.push(r);
        t.ackedByOffset.set(r.ackedOffset!, r.id);
        this.stats.keyedAcked++;
        if (r.tombstone) this.stats.tombstonesAcked++;
      }
      for (const r of recs) if (r.ackedOffset! > t.maxAckedOffset) t.maxAckedOffset = r.ackedOffset!;
    }
    this.ctx.sim.trace(`${who} ${recs.map((r) => `${r.id}/${r.key}${r.tombstone ? "(tombstone)" : ""}@${r.ackedOffset}`).join(",")} at ${t.spec.name}`);
  }

  /**
   * The idempotent producer (acks=all): retries a batch with its sequence until answered; after
   * OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID or INVALID_PRODUCER_EPOCH a new producer id, and the batch
   * given up (its records may be in the log, unacknowledged). Across compaction the broker must keep each
   * producer's last batch (maybe emptied) so that a retry is still answered as a duplicate at its first offset.
   */
  private async idempotentProducer(): Promise<void> {
    const { sim, sleep } = this.ctx;
    const call = this.ctx.client("keyed-idempotent");
    while (!this.ready) await sleep(20, "keyed producer");
    let pid = -1n;
    let epoch = 0;
    const seq = new Map<string, number>();
    while (sim.nowMs < this.ctx.durationMs) {
      if (pid < 0n) {
        const res = await call(22, 4, { transactionalId: null, transactionTimeoutMs: -1, producerId: -1n, producerEpoch: -1 });
        if (res === null || res.errorCode !== ErrorCode.NONE) {
          await sleep(20, "keyed init retry");
          continue;
        }
        [pid, epoch] = [res.producerId, res.producerEpoch];
        seq.clear();
      }
      const t = this.topics[sim.int(this.topics.length)];
      const { recs, batch } = this.newBatch(t, { producerId: pid, producerEpoch: epoch, baseSequence: seq.get(t.spec.name) ?? 0 });
      for (let attempt = 0; sim.nowMs < this.ctx.durationMs + 1500; attempt++) {
        const res = await call(0, 9, { transactionalId: null, acks: -1, timeoutMs: 1000, topicData: [{ name: t.spec.name, partitionData: [{ index: 0, records: batch }] }] });
        const pr = res?.responses[0]?.partitionResponses[0];
        if (pr?.errorCode === ErrorCode.NONE) {
          seq.set(t.spec.name, (seq.get(t.spec.name) ?? 0) + recs.length);
          if (attempt > 0) this.stats.keyedRetriesAcked++;
          this.acknowledged(t, recs, pr.baseOffset, true, "keyed idempotent");
          break;
        }
        if (pr !== undefined && (pr.errorCode === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER || pr.errorCode === ErrorCode.UNKNOWN_PRODUCER_ID || pr.errorCode === ErrorCode.INVALID_PRODUCER_EPOCH)) {
          sim.trace(`keyed idempotent: error ${pr.errorCode}, a new producer id`);
          pid = -1n;
          break;
        }
        await sleep(5 + sim.int(20), "keyed retry");
      }
      await sleep(1 + sim.int(8), "keyed next");
    }
  }

  /**
   * A transactional producer of keyed records to the compacted topic `cmp` (FindCoordinator, InitProducerId,
   * AddPartitionsToTxn, Produce, EndTxn commit or abort; on a failure it aborts or re-initialises). Records of a
   * committed transaction count as acknowledged; the cleaner must remove aborted ones and never let them shadow a
   * key, keep markers while their transaction has batches, and keep the aborted-transaction index right.
   */
  private async transactionalProducer(): Promise<void> {
    const { sim, sleep } = this.ctx;
    const call = this.ctx.client("keyed-transactional");
    const t = this.topics[0];
    const txnId = "cleaning-txn";
    while (!this.ready) await sleep(20, "keyed txn producer");
    let pid = -1n;
    let epoch = 0;
    let seq = 0;
    const running = () => sim.nowMs < this.ctx.durationMs + 1500;
    const init = async (): Promise<boolean> => {
      while (running()) {
        const fc = await call(10, 4, { keyType: 1, coordinatorKeys: [txnId] });
        const c = fc?.coordinators?.[0];
        if (c !== undefined && c.errorCode === ErrorCode.NONE) {
          const res = await call(22, 4, { transactionalId: txnId, transactionTimeoutMs: 1500, producerId: -1n, producerEpoch: -1 });
          if (res !== null && res.errorCode === ErrorCode.NONE) {
            [pid, epoch, seq] = [res.producerId, res.producerEpoch, 0];
            return true;
          }
        }
        await sleep(20 + sim.int(30), "keyed txn init retry");
      }
      return false;
    };
    const endTxn = async (commit: boolean): Promise<boolean> => {
      for (let attempt = 0; attempt < 20 && running(); attempt++) {
        const res = await call(26, 3, { transactionalId: txnId, producerId: pid, producerEpoch: epoch, committed: commit });
        if (res !== null && res.errorCode === ErrorCode.NONE) return true;
        if (res !== null && (res.errorCode === ErrorCode.INVALID_PRODUCER_EPOCH || res.errorCode === ErrorCode.PRODUCER_FENCED || res.errorCode === ErrorCode.INVALID_TXN_STATE)) return false;
        await sleep(20 + sim.int(30), "keyed end txn retry");
      }
      return false;
    };
    if (!(await init())) return;
    while (sim.nowMs < this.ctx.durationMs) {
      let failed = true;
      for (let attempt = 0; attempt < 10 && failed; attempt++) {
        const res = await call(24, 3, { v3AndBelowTransactionalId: txnId, v3AndBelowProducerId: pid, v3AndBelowProducerEpoch: epoch, v3AndBelowTopics: [{ name: t.spec.name, partitions: [0] }] });
        const code = res?.resultsByTopicV3AndBelow?.[0]?.resultsByPartition?.[0]?.partitionErrorCode ?? -1;
        if (code === ErrorCode.NONE) failed = false;
        else if (code === ErrorCode.INVALID_PRODUCER_EPOCH || code === ErrorCode.PRODUCER_FENCED || code === ErrorCode.INVALID_TXN_STATE) break;
        else await sleep(20 + sim.int(30), "keyed add partitions retry");
      }
      const written: Produced[] = [];
      for (let i = 1 + sim.int(3); i > 0 && !failed; i--) {
        const { recs, batch } = this.newBatch(t, { producerId: pid, producerEpoch: epoch, baseSequence: seq, isTransactional: true });
        written.push(...recs);
        let done = false;
        for (let attempt = 0; attempt < 10 && !done && !failed; attempt++) {
          const res = await call(0, 9, { transactionalId: txnId, acks: -1, timeoutMs: 1000, topicData: [{ name: t.spec.name, partitionData: [{ index: 0, records: batch }] }] });
          const pr = res?.responses[0]?.partitionResponses[0];
          if (pr?.errorCode === ErrorCode.NONE) {
            recs.forEach((r, k) => (r.ackedOffset = pr.baseOffset + BigInt(k)));
            seq += recs.length;
            done = true;
          } else if (pr !== undefined && pr.errorCode !== ErrorCode.NOT_LEADER_OR_FOLLOWER && pr.errorCode !== ErrorCode.KAFKA_STORAGE_ERROR && pr.errorCode !== ErrorCode.REQUEST_TIMED_OUT) failed = true;
          else await sleep(10 + sim.int(20), "keyed txn produce retry");
        }
        if (!done) failed = true;
      }
      const commit = !failed && sim.chance(0.6);
      const ended = await endTxn(commit);
      for (const r of written) r.txn = ended ? (commit ? "committed" : "aborted") : "unknown";
      if (ended && commit) this.acknowledged(t, written, null, true, "keyed txn committed");
      else {
        if (ended) this.stats.keyedTxnAborted++;
        sim.trace(`keyed txn ${ended ? "aborted" : "outcome unknown"}: ${written.map((r) => r.id).join(",")}`);
      }
      if (!ended || failed) {
        if (!(await init())) return;
      }
      await sleep(1 + sim.int(20), "keyed txn next");
    }
  }

  /** A plain producer with acks=1 (records the high watermark may pass before they are durable); no retries. */
  private async plainProducer(): Promise<void> {
    const { sim, sleep } = this.ctx;
    const call = this.ctx.client("keyed-acks1");
    while (!this.ready) await sleep(20, "keyed acks=1 producer");
    while (sim.nowMs < this.ctx.durationMs) {
      const t = this.topics[sim.int(this.topics.length)];
      const { recs, batch } = this.newBatch(t, null);
      const res = await call(0, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: t.spec.name, partitionData: [{ index: 0, records: batch }] }] });
      const pr = res?.responses[0]?.partitionResponses[0];
      if (pr?.errorCode === ErrorCode.NONE) this.acknowledged(t, recs, pr.baseOffset, false, "keyed acks=1");
      await sleep(10 + sim.int(40), "keyed acks=1 next");
    }
  }

  /** DeleteRecords now and then on the topics whose policy allows it, to an offset between the log start and the high watermark. */
  private async deleter(): Promise<void> {
    const { sim, sleep } = this.ctx;
    const call = this.ctx.client("deleter");
    while (!this.ready) await sleep(20, "deleter");
    while (sim.nowMs < this.ctx.durationMs) {
      await sleep(100 + sim.int(300), "delete records");
      const deletable = this.topics.filter((x) => x.spec.deleteRecords);
      const t = deletable[sim.int(deletable.length)];
      if (t.acked.length === 0) continue;
      // Somewhere in the acknowledged records, or the high watermark a read saw last (which may be past what is
      // durable: acks=1 records); never -1 ("up to the high watermark"), whose offset a lost answer would leave unknown.
      const target = sim.chance(0.2) ? t.lastHighWatermark : t.acked[sim.int(t.acked.length)].ackedOffset! + BigInt(sim.int(2));
      if (target > t.maxDeleteTarget) t.maxDeleteTarget = target;
      const res = await call(21, 2, { topics: [{ name: t.spec.name, partitions: [{ partitionIndex: 0, offset: target }] }], timeoutMs: 1000 });
      const pr = res?.topics?.[0]?.partitions?.[0];
      if (pr === undefined) continue;
      sim.trace(`DeleteRecords ${t.spec.name} before ${target}: error ${pr.errorCode}, low watermark ${pr.lowWatermark}`);
      if (pr.errorCode !== ErrorCode.NONE) continue;
      this.stats.deleteRecordsAnswered++;
      if (pr.lowWatermark < target) this.ctx.violations.push(`${t.spec.name}: DeleteRecords before ${target} answered low watermark ${pr.lowWatermark}`);
      if (pr.lowWatermark > t.reportedLso) t.reportedLso = pr.lowWatermark;
      if (this.ctx.replicas !== undefined && pr.lowWatermark > t.lsoFloor) {
        t.lsoFloor = pr.lowWatermark;
        t.lsoFloorWhy = `the low watermark a DeleteRecords answer gave at ${sim.nowMs} ms (every live replica had moved its log start there)`;
      }
    }
  }

  private async reader(): Promise<void> {
    const { sim, sleep } = this.ctx;
    while (sim.nowMs < this.ctx.durationMs + 2000) {
      await sleep(60 + sim.int(80), "cleaning read");
      if (this.ctx.up()) this.readAll("periodic read");
    }
  }

  /** Before a broker process starts: the durable log start offset checkpoint bounds what it may load. */
  beforeStart(): void {
    const entries = this.durableLogStarts(this.ctx.disk, "/data/b1");
    for (const t of this.topics) {
      const e = entries.find((x) => x.topic === t.spec.name && x.partition === 0);
      if (e !== undefined && e.offset > t.lsoFloor) {
        t.lsoFloor = e.offset;
        t.lsoFloorWhy = `the durable ${LOG_START_OFFSET_CHECKPOINT} before the start`;
      }
    }
  }

  /** The entries of the `log-start-offset-checkpoint` in `dataDir` on `disk` as it holds it now (none when it is absent). */
  private durableLogStarts(disk: SimDisk, dataDir: string): { topic: string; partition: number; offset: bigint }[] {
    const path = `${dataDir}/${LOG_START_OFFSET_CHECKPOINT}`;
    try {
      return disk.exists(path) ? readOffsetCheckpoint(disk, path) : [];
    } catch (e) {
      this.ctx.violations.push(`the durable ${path} is unreadable: ${(e as Error).message}`);
      return [];
    }
  }

  /**
   * Replicated: the broker with `disk` and `dataDir` died (killed, or the power went) while it was the only in-sync
   * replica of `topics`. A log start offset moved since its last `log-start-offset-checkpoint` write (or, after a
   * power cut, since that write was made durable) is gone with it (Kafka too checkpoints it only now and then) and
   * nobody that may lead has it: the floor a DeleteRecords answer set comes down to the checkpoint's on `disk` now.
   */
  soleReplicaDied(disk: SimDisk, dataDir: string, topics: readonly string[], who: string): void {
    const entries = this.durableLogStarts(disk, dataDir);
    for (const t of this.topics) {
      if (!topics.includes(t.spec.name)) continue;
      const durable = entries.find((x) => x.topic === t.spec.name && x.partition === 0)?.offset ?? 0n;
      if (durable < t.lsoFloor) {
        t.lsoFloor = durable;
        t.lsoFloorWhy = `the ${LOG_START_OFFSET_CHECKPOINT} of ${who}, the only in-sync replica when it died`;
      }
    }
  }

  /**
   * The broker process ended: after a clean stop that finished before the power went (`cleanStop`), every log
   * start offset it reported must survive into the next start; after a crash only the durable checkpoint's does
   * (read before the next start). Reports count again from the next start.
   */
  processEnded(cleanStop: boolean): void {
    for (const t of this.topics) {
      t.lsoFloor = cleanStop ? t.reportedLso : 0n;
      t.lsoFloorWhy = cleanStop ? "reported before a clean stop" : "";
      t.reportedLso = 0n;
    }
  }

  /** Reads and checks every cleaning topic now (the broker must be up). */
  readAll(why: string): void {
    const b = this.ctx.broker();
    if (this.ctx.leaderPartition === undefined && b === null) return;
    const armed = this.ctx.disk.readFaultsArmed;
    this.ctx.disk.readFaultsArmed = false; // the checker's reads inject no faults
    try {
      for (const t of this.topics) {
        const part = this.ctx.leaderPartition !== undefined ? this.ctx.leaderPartition(t.spec.name) : (b!.topicsByName.get(t.spec.name)?.partitions[0] as Partition | undefined);
        if (part === undefined || part.log.isOffline) continue;
        this.check(t, part, why);
      }
    } finally {
      this.ctx.disk.readFaultsArmed = armed;
    }
  }

  /**
   * The replicated run's last DeleteRecords, once every replica is up, in sync and equal: on each topic that takes
   * DeleteRecords, a fresh acks=all batch of two or three records (so that retention, with no writes since the faults
   * stopped, has not emptied the log already), then DeleteRecords up to its end (within
   * {@link FINAL_DELETE_RECORDS_TIMEOUT_MS}, shorter than retention.ms); it must be answered without
   * error (retried while there is no answer or no leader) with a low watermark at or past the target, and then every
   * replica's log start offset must be there already (KIP-107: the answer waits for every live replica).
   */
  async finalDeleteRecords(replicasOf: (topic: string) => { node: number; part: Partition }[]): Promise<void> {
    const { sim, violations } = this.ctx;
    const call = this.ctx.client("final-deleter");
    for (const t of this.topics.filter((x) => x.spec.deleteRecords)) {
      let fresh: Produced[] = [];
      for (let attempt = 0; attempt < 20 && fresh.length === 0; attempt++) {
        const { recs, batch } = this.newBatch(t, null);
        const res = await call(0, 9, { transactionalId: null, acks: -1, timeoutMs: 1000, topicData: [{ name: t.spec.name, partitionData: [{ index: 0, records: batch }] }] });
        const pr = res?.responses[0]?.partitionResponses[0];
        if (pr?.errorCode === ErrorCode.NONE) {
          this.acknowledged(t, recs, pr.baseOffset, true, "final keyed acks=all");
          fresh = recs;
        } else await this.ctx.sleep(100, "final produce retry");
      }
      if (fresh.length === 0) {
        violations.push(`${t.spec.name}-0: no acks=all produce answered on a settled cluster`);
        continue;
      }
      const target = fresh[fresh.length - 1].ackedOffset! + 1n;
      let answered = false;
      let last = "no answer";
      for (let attempt = 0; attempt < 10 && !answered; attempt++) {
        if (target > t.maxDeleteTarget) t.maxDeleteTarget = target;
        // Shorter than retention.ms, which on its own would move every replica's log start past the batch in time.
        const registeredAtSend = new Map(replicasOf(t.spec.name).map(({ node }) => [node, this.ctx.registrationOf?.(node) ?? null]));
        const res = await call(21, 2, { topics: [{ name: t.spec.name, partitions: [{ partitionIndex: 0, offset: target }] }], timeoutMs: FINAL_DELETE_RECORDS_TIMEOUT_MS });
        const pr = res?.topics?.[0]?.partitions?.[0];
        last = pr === undefined ? "no answer" : `error ${pr.errorCode}, low watermark ${pr.lowWatermark}`;
        sim.trace(`final DeleteRecords ${t.spec.name} before ${target}: ${last}`);
        if (pr === undefined || pr.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER) {
          await this.ctx.sleep(100, "final delete records retry");
          continue;
        }
        answered = true;
        if (pr.errorCode !== ErrorCode.NONE) {
          violations.push(`${t.spec.name}-0: DeleteRecords before ${target} on a settled cluster (every replica up and in sync) answered error ${pr.errorCode}`);
          break;
        }
        if (pr.lowWatermark < target) violations.push(`${t.spec.name}-0: DeleteRecords before ${target} answered low watermark ${pr.lowWatermark}`);
        if (pr.lowWatermark > t.lsoFloor) {
          t.lsoFloor = pr.lowWatermark;
          t.lsoFloorWhy = `the low watermark the final DeleteRecords answer gave (every live replica had moved its log start there)`;
        }
        for (const { node, part } of replicasOf(t.spec.name)) {
          // A broker whose registration lapsed (or was renewed) meanwhile was not live for the leader (Kafka counts
          // replicas on live brokers only): it takes the log start from its next fetch.
          const registered = this.ctx.registrationOf?.(node) ?? null;
          if (registered === null || registered !== registeredAtSend.get(node)) continue;
          if (part.log.logStartOffset < pr.lowWatermark) violations.push(`${t.spec.name}-0: replica ${node}'s log start offset ${part.log.logStartOffset} is below the low watermark ${pr.lowWatermark} the final DeleteRecords answered (a DeleteRecords answer waits for every live replica)`);
        }
      }
      if (!answered) violations.push(`${t.spec.name}-0: the final DeleteRecords was never answered (${last})`);
    }
    // A replica that was not live at an answer moves its log start at its next fetch: give it a few (the final
    // checks then hold every replica to the low watermark).
    const behind = () => this.topics.some((t) => t.spec.deleteRecords && replicasOf(t.spec.name).some(({ part }) => part.log.logStartOffset < t.lsoFloor));
    for (let i = 0; i < 60 && behind(); i++) await this.ctx.sleep(50, "final delete records: replicas that were not live follow");
  }

  /**
   * The replicated run's final check, once every replica of every cleaning topic has the same log end and high
   * watermark: each replica passes the read checks (latest value of every key, acknowledged records, the log start
   * offset at or above every low watermark DeleteRecords answered), and no offset holds different records on two
   * replicas (they compact on their own, so one may lack records another keeps, but never reuses an offset).
   */
  checkReplicas(replicasOf: (topic: string) => { node: number; part: Partition }[]): void {
    for (const t of this.topics) {
      const owner = new Map<bigint, { id: string; node: number }>();
      for (const { node, part } of replicasOf(t.spec.name)) {
        const recs = this.check(t, part, `final read of replica ${node}`);
        for (const r of recs ?? []) {
          if (r.control) continue;
          const o = owner.get(r.offset);
          if (o === undefined) owner.set(r.offset, { id: r.id, node });
          else if (o.id !== r.id) this.ctx.violations.push(`${t.spec.name}-0: offset ${r.offset} holds ${o.id} on replica ${o.node} and ${r.id} on replica ${node}`);
        }
      }
    }
  }

  /** Checks one read of `part` (module header: the invariants); the records read, or null when a batch fails its CRC. */
  private check(t: TopicState, part: Partition, why: string): KeyedRecord[] | null {
    const { sim, violations } = this.ctx;
    const v = (m: string) => violations.push(`${t.spec.name}-0 at ${sim.nowMs} ms (${why}): ${m}`);
    const log = part.log;
    const start = log.logStartOffset;
    const hw = log.highWatermark;
    const recs: KeyedRecord[] = [];
    for (let at = start; at < hw; ) {
      const r = log.read(at, 1 << 20, true, hw);
      if (r.batches === 0) break;
      const got = decodeKeyed(r.chunks);
      if (got === null) {
        v("a batch fails its CRC");
        return null;
      }
      for (const x of got) if (x.offset >= at) recs.push(x);
      at = r.nextOffset;
    }
    this.stats.cleaningReads++;
    // (c) the log start offset.
    if (!t.spec.deleteRecords && start !== 0n) v(`log start offset ${start} of a compact-only topic (no retention, DeleteRecords refused) is not 0`);
    if (start < t.lsoFloor) v(`log start offset ${start} is below ${t.lsoFloor} (${t.lsoFloorWhy})`);
    const replicated = this.ctx.replicas !== undefined;
    if (start < t.segmentFloor) v(`log start offset ${start} is below ${t.segmentFloor}, the first segment's base offset an earlier read saw (a retention or DeleteRecords deletion)`);
    if (start > t.lsoFloor && !replicated) {
      if (start > t.reportedLso) this.stats.lsoMoves++;
      t.lsoFloor = start;
      t.lsoFloorWhy = "an earlier read by this process";
    }
    if (start > t.reportedLso) t.reportedLso = start;
    t.lastHighWatermark = hw;
    const firstBase = (log as unknown as { segments: { baseOffset: bigint }[] }).segments[0].baseOffset;
    // (a) offsets, ids, keys.
    let prev = -1n;
    const ids = new Set<string>();
    for (const r of recs) {
      if (r.offset <= prev) v(`offset ${r.offset} after ${prev}`);
      prev = r.offset;
      if (r.control) continue;
      if (r.offset < t.segmentFloor) v(`record ${r.id} at ${r.offset} is below ${t.segmentFloor}, the first offset of a segment a read saw first in the log: a deleted segment came back`);
      const p = t.produced.get(r.id);
      if (p === undefined) {
        v(`record at ${r.offset} with id '${r.id}' was never produced`);
        continue;
      }
      if (p.key !== r.key || p.tombstone !== r.tombstone) v(`record ${r.id} at ${r.offset} has key ${r.key}${r.tombstone ? " (tombstone)" : ""}, produced as ${p.key}${p.tombstone ? " (tombstone)" : ""}`);
      if (p.ackedOffset !== null && p.ackedOffset !== r.offset) v(`record ${r.id} acknowledged at ${p.ackedOffset} is at ${r.offset}`);
      if (ids.has(r.id)) v(`record ${r.id} is in the log twice (again at ${r.offset})`);
      ids.add(r.id);
      // Once durable (at or below an acknowledged offset: acks=all syncs the whole log below it), a record stays at
      // its offset; before that a power cut may lose it and a retry of its batch land elsewhere.
      const seen = t.seenAt.get(r.id);
      if (seen !== undefined && seen !== r.offset) v(`record ${r.id} seen at ${seen} (then durable) is now at ${r.offset}`);
      else if (r.offset <= t.maxAckedOffset) t.seenAt.set(r.id, r.offset);
      const owner = t.ackedByOffset.get(r.offset);
      if (owner !== undefined && owner !== r.id) v(`record ${r.id} sits at ${r.offset}, where ${owner} was acknowledged`);
    }
    if (firstBase > t.segmentFloor && !replicated) t.segmentFloor = firstBase;
    // (b) holes never fill: check the known ones, then add this read's.
    let h = 0;
    for (const r of recs) {
      while (h < t.holes.length && t.holes[h][1] <= r.offset) h++;
      if (h < t.holes.length && t.holes[h][0] <= r.offset) v(`record ${r.id} at ${r.offset} fills [${t.holes[h][0]}, ${t.holes[h][1]}), offsets an earlier read showed gone (cleaned away) below acknowledged records`);
    }
    const fresh: [bigint, bigint][] = [];
    for (let i = 1; i < recs.length; i++) {
      const [a, b] = [recs[i - 1].offset + 1n, recs[i].offset];
      if (a < b && b <= t.maxAckedOffset) fresh.push([a, b]);
    }
    if (fresh.length > 0 && !replicated) t.holes = mergeRanges(t.holes, fresh);
    // What read_committed sees below the last stable offset (the aborted-transaction list a Fetch would carry).
    const lso = part.lastStableOffset;
    const visible = readCommittedView(
      recs.filter((r) => r.offset < lso),
      part.abortedTxns.collect(start, lso),
    ) as KeyedRecord[];
    const visibleAt = new Set<bigint>();
    for (const r of visible) {
      visibleAt.add(r.offset);
      if (t.produced.get(r.id)?.txn === "aborted") v(`read_committed sees ${r.id} at ${r.offset}, a record of an aborted transaction`);
    }
    // (b) and (d): acknowledged records. A key is superseded only by what read_committed sees below the last stable
    // offset (the cleaner maps nothing above it, and no aborted record).
    const byOffset = new Map<bigint, KeyedRecord>();
    for (const r of recs) if (!r.control) byOffset.set(r.offset, r);
    const offsetsOfKey = new Map<string, bigint[]>();
    for (const r of visible) {
      let l = offsetsOfKey.get(r.key);
      if (l === undefined) offsetsOfKey.set(r.key, (l = []));
      l.push(r.offset);
    }
    const now = sim.clock.nowMs();
    for (const a of t.acked) {
      const o = a.ackedOffset!;
      if (o >= hw) continue;
      if (o < start) {
        // Below the log start only by DeleteRecords or retention (by time: not before retention.ms after its timestamp).
        const retained = t.spec.retentionBytes || (t.spec.retentionMs !== null && now > a.sentAt + t.spec.retentionMs);
        if (o >= t.maxDeleteTarget && !retained) v(`log start offset ${start} passed acknowledged record ${a.id} at ${o}, which neither DeleteRecords (up to ${t.maxDeleteTarget}) nor retention removed`);
        continue;
      }
      const there = byOffset.get(o);
      if (there !== undefined) {
        // (a) checked it is this record
        if (o < lso && !visibleAt.has(o)) v(`acknowledged record ${a.id} at ${o} (${a.txn === "committed" ? "of a committed transaction" : "not transactional"}) is hidden from read_committed`);
        continue;
      }
      if (!t.gone.has(a.id)) {
        t.gone.add(a.id);
        this.stats.recordsCleanedAway++;
      }
      if (!t.spec.compact) {
        v(`acknowledged record ${a.id} at ${o} is missing (log start ${start}, high watermark ${hw})`);
        continue;
      }
      const ofKey = offsetsOfKey.get(a.key) ?? [];
      if (ofKey.some((x) => x > o)) continue; // superseded by a later record of its key
      if (ofKey.length > 0) {
        // Replicated: a replica away for longer than delete.retention.ms may hold an older record of a key whose
        // tombstone (and every later record) the leader had cleaned away before the replica fetched past them; its
        // own cleaner never sees the tombstone, so the older record stays (as in Kafka, where delete.retention.ms
        // bounds how long a reader, a follower too, may take to read past a tombstone).
        if (replicated && this.tombstoneAfter(t, a.key, ofKey[ofKey.length - 1], now)) {
          this.keptDeletedKeys.add(`${t.spec.name} ${a.key} ${ofKey[ofKey.length - 1]}`);
          this.stats.deletedKeysKeptByReplicas = this.keptDeletedKeys.size;
          continue;
        }
        v(`acknowledged record ${a.id} of ${a.key} at ${o} is gone with no later record of its key, but an earlier one is there (at ${ofKey[ofKey.length - 1]}): the key went back`);
        continue;
      }
      if (a.tombstone) {
        if (now < a.sentAt + DELETE_RETENTION_MS) v(`acknowledged tombstone ${a.id} of ${a.key} at ${o}, sent at ${a.sentAt} ms, is gone before delete.retention.ms ${DELETE_RETENTION_MS}`);
        continue;
      }
      // A tombstone of the key after r: at a higher offset when that is known, else sent after r was acknowledged
      // (so appended after it); not aborted; sent at least delete.retention.ms ago.
      const laterTombstone = [...t.produced.values()].some((p) => {
        if (p.key !== a.key || !p.tombstone || p.txn === "aborted" || p.sentAt + DELETE_RETENTION_MS > now) return false;
        const at = p.ackedOffset ?? t.seenAt.get(p.id);
        return at !== undefined ? at > o : p.sentAt >= a.ackedAt!;
      });
      if (!laterTombstone) v(`acknowledged record ${a.id} of ${a.key} at ${o} is gone and no record of its key is left, with no tombstone of the key older than delete.retention.ms after it`);
    }
    return recs;
  }
}

/** The union of two lists of [from, to) ranges, sorted and disjoint. */
function mergeRanges(a: readonly [bigint, bigint][], b: readonly [bigint, bigint][]): [bigint, bigint][] {
  const all = [...a, ...b].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const [s, e] of all) {
    const last = out[out.length - 1];
    if (last !== undefined && s <= last[1]) {
      if (e > last[1]) last[1] = e;
    } else out.push([s, e]);
  }
  return out;
}
