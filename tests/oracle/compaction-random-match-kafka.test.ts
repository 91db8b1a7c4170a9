/**
 * Randomized differential test of the log cleaner and of retention against Apache Kafka 4.4: fast-check generates a
 * topic (cleanup.policy compact, delete or compact,delete; segment.bytes 1 MiB, Kafka's least, so that logs roll;
 * min.cleanable.dirty.ratio, min/max.compaction.lag.ms, delete.retention.ms, retention.ms, retention.bytes) and one
 * to three phases of produce requests, and the same run goes to Kafka and to Runnel (a sharded node under
 * RUNNEL_TEST_SHARDS=2). Both brokers store batches as received, so with the same segment.bytes they roll segments
 * at the same offsets, and a full clean of the same segments must leave the same records.
 *
 * The batches: keyed records of few distinct keys (repeated within a batch too), tombstones (null values), a
 * keyless record now and then (refused on a compacted topic: the errors are compared), small values or large
 * incompressible ones (to fill segments), every codec, timestamps two hours old, now or years ago (Kafka counts
 * segment.ms in record time: such records roll a segment), plain, idempotent or transactional: two transactional
 * producers (classic protocol: AddPartitionsToTxn, transactional Produce, EndTxn, then DescribeTransactions until
 * the markers are written) whose transactions interleave and span produces and segments, each committed or aborted
 * after a produce or at the end of the phase (so that nothing is open when the cleaner runs: the last stable offset
 * is the high watermark on both sides). Later phases make later cleaner passes, in which markers whose
 * transactions were emptied get their delete horizon, and go once it has passed (delete.retention.ms 0 or the
 * default day).
 *
 * Timing is taken out of the comparison: while a phase produces, the topic is "held" (min.compaction.lag.ms and
 * max.compaction.lag.ms at Long.MAX_VALUE, retention.ms and retention.bytes -1, by IncrementalAlterConfigs, waited
 * for until the log uses them: alterTopic), so neither the cleaner nor retention touches the log while it grows;
 * then the run's own compaction values are set and each side is polled (bounded) until its cleaner has nothing left
 * to do, then its retention values with the cleaner held again, until retention has nothing left to do, then both
 * (retention may have made the rest of the log dirty enough), until neither has:
 * - compaction: the partition's cleaner checkpoint (the `cleaner-offset-checkpoint` file of the side's log dir) has
 *   reached the first uncleanable offset (the active segment's base, or the base of the first segment holding a
 *   record younger than min.compaction.lag.ms), computed from the segment files in the partition's directory, or
 *   the log is not due (dirty ratio not above min.cleanable.dirty.ratio and max.compaction.lag.ms not passed);
 * - retention: no segment is due for deletion any more (retention.ms by the timestamps of the records a full read
 *   returns, retention.bytes by the segment files' sizes), and two reads 250 ms apart (more than two retention
 *   checks and cleaner backoffs) agree.
 * Kafka's cleaner removes a tombstone only in a pass after the one that set its delete horizon, and a pass only
 * runs on a dirty log; the phases make such later passes happen at known points.
 *
 * What is compared after each phase: every produce answer; the log start offset, high watermark and last stable
 * offset; the segment files' base offsets; every batch of a read_uncommitted read from the log start (base offset,
 * last offset delta, count, attributes, producer epoch and sequence, and each record's offset, key, value digest and
 * timestamp; a delete horizon set by the cleaner is compared as set or not, its time being each broker's clock);
 * the records a read_committed read returns, filtered as Kafka's consumer does (per response: the aborted
 * transactions it lists, from their first offsets up to their ABORT markers), and every aborted transaction those
 * responses listed (the aborted-transaction index after cleaning; producers named by role, their ids differ);
 * ListOffsets earliest, latest, max timestamp and by a timestamp.
 * Where Kafka differs on purpose or by a quirk of its own (INTENTIONAL_DIFFERENCES, "Compaction random"): the empty
 * batch Runnel keeps at the end of a cleaned segment, and ListOffsets by timestamp after a segment was emptied (or got
 * its largest timestamp only from an empty batch kept for its producer's state).
 *
 * Not covered yet: transactions still open while the cleaner runs (the cleanable section then ends at the last
 * stable offset: tests/storage/log-cleaner-transactions), and segment rolls by max.compaction.lag.ms (the
 * topic holds it at Long.MAX_VALUE while a phase produces, applied as DescribeConfigs shows, so that the cleaner
 * cannot run then; tests/storage/segment-roll covers it).
 */
import { test, after } from "node:test";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { compareRandomRun, startPair, type Pair, type Side } from "./differential.ts";
import { createTopic, initProducer, noise, settleTransaction, T0 } from "./scenario-helpers.ts";
import { kafkaUnavailable } from "../support/kafka-broker.ts";
import { BatchBuilder, readBatchHeader, RecordCursor } from "../../src/protocol/record-batch.ts";
import { codecById, initCompression } from "../../src/compression/index.ts";

await initCompression();

/** fast-check runs (each on its own topic; 4-7 s each here at load 10-15 with transactions, plus 10-20 s for Kafka to start). */
const RUNS = Number(process.env.COMPACT_ORACLE_RUNS ?? 6);
/** Most produce requests of one phase. */
const MAX_PRODUCES = Number(process.env.COMPACT_ORACLE_PRODUCES ?? 14);
/** Kafka's least segment.bytes (and Runnel's). */
const SEGMENT_BYTES = 1 << 20;
/** Bytes of a large value: about 7 of them fill a segment. */
const BIG_VALUE = 150_000;
/** Longest one side may take to reach the fixed point of its cleaner and retention after a phase (ms). */
const SETTLE_TIMEOUT_MS = 30_000;
/** Pause between two looks at a side that has not settled (ms). */
const SETTLE_POLL_MS = 50;
/** Two reads this far apart must agree before a side counts as settled: more than two retention checks and backoffs (ms). */
const STABLE_MS = 250;
const LONG_MAX = "9223372036854775807";
const HOUR = 3_600_000;

/** The cleaner and retention run often on both sides (Kafka's retention also starts at once, not after 30 s). */
const SHARED = { "log.cleaner.backoff.ms": "20", "log.retention.check.interval.ms": "50" };
const KAFKA_ONLY = { "log.initial.task.delay.ms": "0" };

type Policy = "compact" | "delete" | "compact,delete";
interface TopicCase {
  policy: Policy;
  minDirtyRatio: "0" | "0.01" | "0.9";
  minLagMs: number;
  maxLagMs: number | null;
  deleteRetentionMs: number | null;
  retentionMs: number;
  retentionBytes: number;
}
interface ProduceCase {
  /** Keys of the records: an index into the run's keys, -1 for a null key. */
  keys: number[];
  /** Which records are tombstones. */
  tombstones: boolean[];
  big: boolean;
  codec: number;
  /** Record times: two hours old, now, or years ago (then segment.ms, 7 days, rolls the segment between them). */
  time: "old" | "now" | "ancient";
  /** Who produces: no producer id, the idempotent producer, or one of the two transactional producers. */
  producer: "plain" | "idempotent" | "txn0" | "txn1";
  /** For a transactional produce: end its transaction after it (else it stays open, up to the phase's end). */
  end: "commit" | "abort" | null;
}

const pick = <T>(...xs: [number, T][]) => fc.oneof(...xs.map(([weight, x]) => ({ weight, arbitrary: fc.constant(x) })));
const topicArb: fc.Arbitrary<TopicCase> = fc.record({
  policy: pick<Policy>([2, "compact"], [1, "delete"], [2, "compact,delete"]),
  minDirtyRatio: pick<"0" | "0.01" | "0.9">([2, "0"], [2, "0.01"], [1, "0.9"]),
  minLagMs: pick<number>([3, 0], [1, HOUR]),
  maxLagMs: pick<number | null>([3, null], [1, 1]),
  deleteRetentionMs: pick<number | null>([1, null], [2, 0]),
  retentionMs: pick<number>([1, -1], [1, HOUR]),
  retentionBytes: pick<number>([2, -1], [1, 600_000], [1, 1_500_000]),
});
const produceArb: fc.Arbitrary<ProduceCase> = fc.integer({ min: 1, max: 5 }).chain((n) =>
  fc.record({
    keys: fc.array(pick<number>([12, 0], [12, 1], [8, 2], [4, 3], [3, 4], [1, -1]), { minLength: n, maxLength: n }),
    tombstones: fc.array(pick<boolean>([5, false], [1, true]), { minLength: n, maxLength: n }),
    big: pick<boolean>([2, true], [1, false]),
    codec: pick<number>([4, 0], [1, 1], [1, 2], [1, 3], [1, 4]),
    time: pick<"old" | "now" | "ancient">([6, "old"], [1, "now"], [1, "ancient"]),
    producer: pick<ProduceCase["producer"]>([2, "plain"], [2, "idempotent"], [2, "txn0"], [2, "txn1"]),
    end: pick<ProduceCase["end"]>([2, null], [1, "commit"], [1, "abort"]),
  }),
);
const caseArb = fc.record({
  topic: topicArb,
  phases: fc.array(fc.array(produceArb, { minLength: 1, maxLength: MAX_PRODUCES }), { minLength: 1, maxLength: 3 }),
});
type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

const produceOf = (keys: number[], time: ProduceCase["time"], producer: ProduceCase["producer"]): ProduceCase => ({ keys, tombstones: keys.map(() => false), big: producer === "plain", codec: 0, time, producer, end: null });
/**
 * Cases run before the random ones in every run (regressions of this test's own predictions, each cheap):
 * - an idempotent producer's only batch, written now, emptied by the cleaner (its key written again, two hours old)
 *   and kept for the producer's state, holds the first segment's largest timestamp at now, so retention.ms (one
 *   hour) keeps that segment though all its records are two hours old (seed 120709, path 11, predicted it gone).
 */
const REGRESSIONS: Case[] = [
  {
    topic: { policy: "compact,delete", minDirtyRatio: "0", minLagMs: 0, maxLagMs: null, deleteRetentionMs: null, retentionMs: HOUR, retentionBytes: -1 },
    phases: [[produceOf([0], "now", "idempotent"), produceOf([0, 1, 2, 3], "old", "plain"), produceOf([4, 0, 1, 2], "old", "plain"), produceOf([3, 4, 1, 2], "old", "plain")]],
  },
];

const pause = (ms: number) => new Promise((res) => setTimeout(res, ms));
const enc = new TextEncoder();
const dec = new TextDecoder();

/** The configs that keep the cleaner and retention away from the log while a phase produces. */
const HOLD: Record<string, string> = { "min.compaction.lag.ms": LONG_MAX, "max.compaction.lag.ms": LONG_MAX, "retention.ms": "-1", "retention.bytes": "-1" };

/** The run's max.compaction.lag.ms: none with a min.compaction.lag.ms (Kafka refuses a max below the min). */
const maxLagOf = (t: TopicCase): number | null => (t.minLagMs > 0 ? null : t.maxLagMs);

/** The run's own values of the held configs (null: the default, deleted from the topic's configs). */
function release(t: TopicCase): Record<string, string | null> {
  return {
    "max.compaction.lag.ms": maxLagOf(t) === null ? null : String(maxLagOf(t)),
    "min.compaction.lag.ms": String(t.minLagMs),
    "retention.ms": String(t.retentionMs),
    "retention.bytes": String(t.retentionBytes),
  };
}

/** A topic of its own whose config {@link alterTopic} changes after each change it waits for (see there). */
interface Barrier {
  topic: string;
  /** Changes made so far: the next sets retention.ms to BARRIER_BASE_MS + this. */
  changes: number;
}
/** The barrier topic's retention.ms values count up from here (it holds no data). */
const BARRIER_BASE_MS = 86_400_000;

/**
 * Sets (or, for null, deletes) topic configs with one IncrementalAlterConfigs (checked as a whole on both sides),
 * then polls DescribeConfigs (bounded) until the broker shows them: Kafka applies a topic's config from its metadata
 * log after answering, and a produce before that would still roll by the old max.compaction.lag.ms.
 *
 * Then it changes the barrier topic's retention.ms and waits until that shows too. Kafka shows a config change a
 * moment before the log uses it: BrokerMetadataPublisher gives the new metadata image to the metadata cache (which
 * DescribeConfigs reads) first, and only then does DynamicConfigPublisher update the partition's LogConfig; a produce
 * in between rolls the active segment by the old max.compaction.lag.ms (1 ms), seen at load 7 (a segment boundary
 * at the first produce of a phase). Kafka's MetadataLoader publishes one image at a time to every publisher, so
 * once a later change (the barrier's) shows, the earlier one has been applied.
 */
async function alterTopic(s: Side, topic: string, configs: Record<string, string | null>, barrier: Barrier): Promise<void> {
  await setTopicConfigs(s, topic, configs);
  await setTopicConfigs(s, barrier.topic, { "retention.ms": String(BARRIER_BASE_MS + ++barrier.changes) });
}

/** One IncrementalAlterConfigs of `topic`, then DescribeConfigs until it shows the values (bounded). */
async function setTopicConfigs(s: Side, topic: string, configs: Record<string, string | null>): Promise<void> {
  const changes = Object.entries(configs).map(([name, value]) => ({ name, configOperation: value === null ? 1 : 0, value }));
  const r = await s.client.request(44, 1, { resources: [{ resourceType: 2, resourceName: topic, configs: changes }], validateOnly: false });
  if (r.responses[0].errorCode !== 0) throw new Error(`${s.name}: setting ${JSON.stringify(configs)} on ${topic}: ${r.responses[0].errorCode} ${r.responses[0].errorMessage}`);
  for (let i = 0; ; i++) {
    const d = await s.client.request(32, 4, { resources: [{ resourceType: 2, resourceName: topic, configurationKeys: Object.keys(configs) }], includeSynonyms: false, includeDocumentation: false });
    const shown = new Map<string, { value: string | null; configSource: number }>(d.results[0].configs.map((c: any) => [c.name, c]));
    // a deleted topic config shows its default (source other than DYNAMIC_TOPIC_CONFIG = 1)
    const applied = Object.entries(configs).every(([name, value]) => (value === null ? shown.get(name)?.configSource !== 1 : shown.get(name)?.value === value));
    if (applied) return;
    if (i === 200) throw new Error(`${s.name}: ${topic} does not show ${JSON.stringify(configs)} after 10 s`);
    await pause(50);
  }
}

/** The directory of partition 0 of `topic` under `root` (a sharded node keeps it one level down). */
function partitionDir(root: string, topic: string): string | null {
  const want = `${topic}-0`;
  const walk = (d: string, depth: number): string | null => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return null;
    }
    for (const e of entries) if (e.isDirectory() && e.name === want) return path.join(d, e.name);
    if (depth === 0) return null;
    for (const e of entries) {
      if (!e.isDirectory() || /-\d+$/.test(e.name)) continue;
      const found = walk(path.join(d, e.name), depth - 1);
      if (found) return found;
    }
    return null;
  };
  return walk(root, 3);
}

/** The live segment files of a partition directory: base offsets and sizes, oldest first. */
function segmentFiles(dir: string): { base: bigint; size: number }[] {
  const out: { base: bigint; size: number }[] = [];
  for (const name of fs.readdirSync(dir)) {
    const m = /^(\d{20})\.log$/.exec(name);
    if (!m) continue;
    try {
      out.push({ base: BigInt(m[1]), size: fs.statSync(path.join(dir, name)).size });
    } catch {
      // deleted between the listing and the stat: a change the next poll sees
    }
  }
  return out.sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
}

/**
 * The cleaner checkpoint of partition 0 of `topic`: the `cleaner-offset-checkpoint` of the log dir holding it (a
 * shard of a sharded node writes its own, with a suffix).
 */
function cleanerCheckpoint(partDir: string, topic: string): bigint | null {
  const logDir = path.dirname(partDir);
  for (const name of fs.readdirSync(logDir)) {
    if (!name.startsWith("cleaner-offset-checkpoint")) continue;
    let text: string;
    try {
      text = fs.readFileSync(path.join(logDir, name), "utf8");
    } catch {
      continue; // replaced while listed: the next poll reads the new one
    }
    for (const line of text.split("\n").slice(2)) {
      const [t, p, o] = line.trim().split(/\s+/);
      if (t === topic && p === "0") return BigInt(o);
    }
  }
  return null;
}

/** One record as read back. */
interface ReadRecord {
  offset: bigint;
  key: string | null;
  value: string | null;
  ts: number;
}

/** What a read of the whole partition shows. */
interface Snapshot {
  start: bigint;
  hw: bigint;
  lso: bigint;
  errorCode: number;
  /** Each batch as text, with its offsets and record count. */
  batches: { text: string; base: bigint; next: bigint; count: number; maxTs: bigint }[];
  records: ReadRecord[];
  committed: string[];
  /** Offsets of control batches (transaction markers), with the broker's clock as their time. */
  controls: bigint[];
  /** read_committed: every aborted transaction the responses listed (`role@firstOffset`, sorted, once each). */
  aborted: string[];
}

const shortValue = (v: Uint8Array): string => (v.length > 64 ? `${v.length}b:${createHash("sha1").update(v).digest("hex").slice(0, 10)}` : dec.decode(v));

/** Reads partition 0 from its log start to the high watermark (`isolation` 0) or the last stable offset (1). */
async function readAll(s: Side, topic: string, topicId: Uint8Array, isolation: 0 | 1, version: number, roles: Map<bigint, string> = new Map()): Promise<Snapshot> {
  const lo = await s.client.request(2, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -2n }] }] });
  let fetchOffset: bigint = lo.topics[0].partitions[0].offset;
  const snap: Snapshot = { start: fetchOffset, hw: -1n, lso: -1n, errorCode: 0, batches: [], records: [], committed: [], controls: [], aborted: [] };
  const cursor = new RecordCursor();
  for (let round = 0; round < 200; round++) {
    const r = await s.client.request(1, version, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 8 << 20, isolationLevel: isolation, sessionId: 0, sessionEpoch: -1, rackId: "",
      topics: [{ topic, topicId, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 8 << 20 }] }],
      forgottenTopicsData: [],
    });
    const pd = r.responses[0].partitions[0];
    Object.assign(snap, { hw: pd.highWatermark, lso: pd.lastStableOffset, errorCode: pd.errorCode });
    if (pd.errorCode !== 0) break;
    // Kafka's consumer (CompletedFetch, per response): an aborted transaction counts from its first offset, its
    // producer's transactional batches are dropped until its ABORT marker
    const listed = ((pd.abortedTransactions ?? []) as { producerId: bigint; firstOffset: bigint }[]).slice().sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
    for (const a of listed) {
      const name = `${roles.get(a.producerId) ?? "unknown producer"}@${a.firstOffset}`;
      if (!snap.aborted.includes(name)) snap.aborted.push(name);
    }
    const abortedPids = new Set<bigint>();
    let nextListed = 0;
    const rec = (pd.records ?? new Uint8Array(0)) as Uint8Array;
    let progressed = false;
    for (let at = 0; at + 61 <= rec.length; ) {
      const h = readBatchHeader(rec, at);
      const end = at + 12 + h.batchLength;
      if (end > rec.length) break;
      const next = h.baseOffset + BigInt(h.lastOffsetDelta) + 1n;
      at = end;
      if (next <= fetchOffset) continue;
      fetchOffset = next;
      progressed = true;
      const control = (h.attributes & 0x20) !== 0;
      const horizon = (h.attributes & 0x40) !== 0;
      let abortedBatch = false;
      if (isolation === 1 && h.producerId >= 0n) {
        const last = h.baseOffset + BigInt(h.lastOffsetDelta);
        while (nextListed < listed.length && listed[nextListed].firstOffset <= last) abortedPids.add(listed[nextListed++].producerId);
        abortedBatch = !control && (h.attributes & 0x10) !== 0 && abortedPids.has(h.producerId);
      }
      const codec = codecById(h.attributes & 7);
      const section = rec.subarray(end - (12 + h.batchLength) + 61, end);
      const plain = codec === null ? section : codec.decompress(section, 1 << 26);
      const items: string[] = [];
      cursor.reset(plain, h.recordsCount, Number(h.baseTimestamp), h.baseOffset);
      let firstDelta: number | null = null;
      while (cursor.next()) {
        firstDelta ??= cursor.timestampDelta;
        const offset = h.baseOffset + BigInt(cursor.offsetDelta);
        const key = cursor.keyLength < 0 ? null : dec.decode(plain.subarray(cursor.keyStart, cursor.keyStart + cursor.keyLength));
        const value = cursor.valueLength < 0 ? null : shortValue(plain.subarray(cursor.valueStart, cursor.valueStart + cursor.valueLength));
        // a delete horizon replaces the base timestamp with the broker's clock: records are compared by their times
        // relative to the batch's first record
        const ts = horizon ? cursor.timestampDelta - firstDelta : cursor.timestamp;
        if (control) {
          snap.controls.push(offset);
          // the key is version int16, type int16 (0 ABORT, 1 COMMIT)
          const type = cursor.keyLength === 4 ? plain[cursor.keyStart + 3] : -1;
          items.push(`${offset}:${type === 0 ? "ABORT" : type === 1 ? "COMMIT" : "control"}`);
          if (type === 0) abortedPids.delete(h.producerId);
          continue;
        }
        items.push(`${offset}:${key}=${value}@${horizon ? `horizon+${ts}` : ts}`);
        if (isolation === 0) snap.records.push({ offset, key, value, ts: horizon ? -1 : ts });
        else if (!abortedBatch) snap.committed.push(`${offset}:${key}=${value}`);
      }
      cursor.release();
      const text = `${h.baseOffset}+${h.lastOffsetDelta + 1} n=${h.recordsCount} attrs=${h.attributes} epoch=${h.producerEpoch} seq=${h.baseSequence} t=${control || horizon ? "broker clock" : `${h.baseTimestamp}..${h.maxTimestamp}`} [${items.join(" ")}]`;
      snap.batches.push({ text, base: h.baseOffset, next, count: h.recordsCount, maxTs: h.maxTimestamp });
    }
    if (!progressed || fetchOffset >= (isolation === 1 ? pd.lastStableOffset : pd.highWatermark)) break;
  }
  return snap;
}

/** Runs one generated case on one side and returns everything it answered and read, phase by phase. */
async function scenario(p: Pair, s: Side, run: number, c: Case, now: number): Promise<unknown> {
  const top = (key: number) => Math.max(...p.versions(key));
  const topic = `cmp-${run}`;
  const t = c.topic;
  const configs = [
    { name: "cleanup.policy", value: t.policy },
    { name: "segment.bytes", value: String(SEGMENT_BYTES) },
    { name: "min.cleanable.dirty.ratio", value: t.minDirtyRatio },
    ...(t.deleteRetentionMs === null ? [] : [{ name: "delete.retention.ms", value: String(t.deleteRetentionMs) }]),
    ...Object.entries(HOLD).map(([name, value]) => ({ name, value })),
  ];
  const topicId = await createTopic(s, topic, 1, configs);
  const barrier: Barrier = { topic: `${topic}-barrier`, changes: 0 };
  await createTopic(s, barrier.topic, 1, [{ name: "retention.ms", value: String(BARRIER_BASE_MS) }]);
  const root = s.name === "kafka" ? p.kafka.dir : p.runnel.dir;
  const out: unknown[] = [{ topic: t }];
  const init = await initProducer(s, null);
  const pid: bigint = init.producerId;
  const epoch: number = init.producerEpoch;
  let seq = 0;
  /** Producer ids by role (they differ between the brokers): the aborted transactions are compared by role. */
  const roles = new Map<bigint, string>([[pid, "idempotent"]]);
  /** The transactional producers, started when the case first uses them. */
  const txns: { tid: string; pid: bigint; epoch: number; seq: number; open: boolean }[] = [];
  const txnOf = async (i: number) => {
    if (txns[i] === undefined) {
      const tid = `${topic}-t${i}`;
      const r = await initProducer(s, tid);
      if (r.errorCode !== 0) throw new Error(`${s.name}: InitProducerId ${tid}: ${r.errorCode}`);
      txns[i] = { tid, pid: r.producerId, epoch: r.producerEpoch, seq: 0, open: false };
      roles.set(r.producerId, `txn${i}`);
    }
    return txns[i];
  };
  const endTxn = async (i: number, commit: boolean) => {
    const x = txns[i];
    const r = await s.client.request(26, Math.min(4, top(26)), { transactionalId: x.tid, producerId: x.pid, producerEpoch: x.epoch, committed: commit });
    await settleTransaction(s, x.tid, top(65));
    x.open = false;
    return r.errorCode;
  };
  let seed = run * 10_000;
  // 'old' records are two hours old (past the one-hour lags and retention.ms), far below segment.ms (7 days)
  let oldTs = now - 2 * HOUR;
  let ancientTs = T0;
  /** The timestamp of each record produced, by offset (for min.compaction.lag.ms and retention.ms). */
  const produced = new Map<bigint, number>();
  const fetchV = top(1);
  for (const [phase, produces] of c.phases.entries()) {
    if (phase > 0) await alterTopic(s, topic, HOLD, barrier);
    for (const pc of produces) {
      const bb = new BatchBuilder(1 << 20);
      const t = pc.producer === "txn0" || pc.producer === "txn1" ? Number(pc.producer.slice(3)) : null;
      const x = t === null ? null : await txnOf(t);
      let added: unknown = null;
      if (x !== null && !x.open) {
        const a = await s.client.request(24, Math.min(3, top(24)), { v3AndBelowTransactionalId: x.tid, v3AndBelowProducerId: x.pid, v3AndBelowProducerEpoch: x.epoch, v3AndBelowTopics: [{ name: topic, partitions: [0] }] });
        added = a.resultsByTopicV3AndBelow;
        x.open = true;
      }
      bb.reset(x !== null ? { producerId: x.pid, producerEpoch: x.epoch, baseSequence: x.seq, isTransactional: true } : pc.producer === "idempotent" ? { producerId: pid, producerEpoch: epoch, baseSequence: seq } : {});
      const times: number[] = [];
      for (const [i, k] of pc.keys.entries()) {
        const ts = pc.time === "old" ? (oldTs += 1000) : pc.time === "ancient" ? (ancientTs += 1000) : now + i;
        times.push(ts);
        const value = pc.tombstones[i] ? null : pc.big ? noise(BIG_VALUE, ++seed) : enc.encode(`v${++seed}`);
        bb.append(ts, k < 0 ? null : enc.encode(`k${k}`), value);
      }
      const codec = codecById(pc.codec);
      const records = codec === null ? bb.finish() : bb.finish({ codecId: codec.id, compress: (x) => codec.compress(x) });
      const r = await s.client.request(0, top(0), { transactionalId: x?.tid ?? null, acks: -1, timeoutMs: 10000, topicData: [{ name: topic, topicId, partitionData: [{ index: 0, records }] }] });
      const a = r.responses[0].partitionResponses[0];
      if (a.errorCode === 0) {
        if (pc.producer === "idempotent") seq += pc.keys.length;
        if (x !== null) x.seq += pc.keys.length;
        times.forEach((ts, i) => produced.set(a.baseOffset + BigInt(i), ts));
      }
      const ended = x !== null && pc.end !== null ? await endTxn(t!, pc.end === "commit") : null;
      out.push({ phase, produce: pc, ...(added === null ? {} : { added }), errorCode: a.errorCode, baseOffset: a.baseOffset, start: a.logStartOffset, recordErrors: a.recordErrors, ...(ended === null ? {} : { ended }) });
    }
    // nothing stays open while the cleaner runs: the first producer's transaction commits, the second's aborts
    for (const [i, x] of txns.entries()) if (x?.open) out.push({ phase, endOpen: `txn${i}`, errorCode: await endTxn(i, i === 0) });
    const dir = partitionDir(root, topic);
    const before = dir === null ? [] : segmentFiles(dir).map((x) => `${x.base}:${x.size}`);
    // the cleaner first, then retention: Kafka runs them on their own schedules, and which goes first changes what
    // retention.ms deletes (a segment the cleaner emptied counts as new: LogSegment.largestTimestamp falls back to the
    // file's mtime, so it stops retention.ms at it)
    const held = { ...t, retentionMs: -1, retentionBytes: -1 };
    await alterTopic(s, topic, release(held), barrier);
    await settle(s, topic, topicId, root, held, produced, now, fetchV, roles);
    // then retention with the cleaner held again: retention deleting the clean head of the log makes the rest dirty
    // enough for the cleaner (above min.cleanable.dirty.ratio), and whether the cleaner then empties a segment (its
    // aborted records) before the next retention check deletes it by retention.ms is each broker's timing (seen as
    // log start 32 on Kafka and 25 on Runnel, seed 120719 path 7 with COMPACT_ORACLE_PRODUCES=20, 1 in 3 replays)
    const cleanerHeld = { ...t, minLagMs: Number.MAX_SAFE_INTEGER, maxLagMs: null };
    await alterTopic(s, topic, { ...release(t), "min.compaction.lag.ms": LONG_MAX, "max.compaction.lag.ms": LONG_MAX }, barrier);
    await settle(s, topic, topicId, root, cleanerHeld, produced, now, fetchV, roles);
    await alterTopic(s, topic, release(t), barrier);
    const settled = await settle(s, topic, topicId, root, t, produced, now, fetchV, roles);
    // the segment files before the cleaner and retention ran (for reading a dump; not compared)
    out.push({ phase, _segmentsBefore: before, ...settled });
  }
  return out;
}

/**
 * Polls one side (bounded) until its cleaner and retention have nothing left to do for the partition, and returns
 * what a full read and ListOffsets then show.
 */
async function settle(s: Side, topic: string, topicId: Uint8Array, root: string, t: TopicCase, produced: Map<bigint, number>, now: number, fetchV: number, roles: Map<bigint, string>): Promise<Record<string, unknown>> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  let previous = "";
  let previousAt = 0;
  let why = "";
  for (;;) {
    const dir = partitionDir(root, topic);
    if (dir === null) throw new Error(`${s.name}: no directory for ${topic}-0 under ${root}`);
    const segs = segmentFiles(dir);
    const snap = await readAll(s, topic, topicId, 0, fetchV);
    why = pending(t, segs, snap, cleanerCheckpoint(dir, topic), produced, Date.now());
    const seen = JSON.stringify([segs.map((x) => `${x.base}:${x.size}`), String(snap.start), snap.batches.map((b) => b.text)]);
    if (why === "") {
      if (seen !== previous) {
        previous = seen;
        previousAt = Date.now();
      } else if (Date.now() - previousAt >= STABLE_MS) {
        const committed = await readAll(s, topic, topicId, 1, fetchV, roles);
        const lo = async (ts: bigint, isolationLevel: number) => {
          const r = await s.client.request(2, top2(s), { replicaId: -1, isolationLevel, timeoutMs: 10000, topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: ts }] }] });
          const x = r.topics[0].partitions[0];
          return `${x.errorCode} ${x.offset} ${x.timestamp === -1n ? -1 : x.timestamp >= BigInt(now) ? "now or later" : x.timestamp}`;
        };
        // The segment each batch lies in: the last one whose base is at or below the batch's base.
        const segmentEnd = (b: { base: bigint }) => segs.find((x) => x.base > b.base)?.base ?? null;
        // Whether only empty batches follow batch i in its sealed segment: Runnel ends a cleaned segment with an empty
        // batch of its own, so a producer's empty batch that Kafka keeps last in a segment is second to last in Runnel's.
        const lastOfSegment = (b: { base: bigint; next: bigint }, i: number) => {
          const end = segmentEnd(b);
          if (end === null) return false;
          for (let j = i + 1; j < snap.batches.length && snap.batches[j].base < end; j++) if (snap.batches[j].count !== 0) return false;
          return true;
        };
        // a sealed segment the cleaner emptied of records (Kafka keeps it as an empty file, Runnel with an empty batch)
        const emptiedSegment = segs.slice(0, -1).some((x, i) => !snap.records.some((r) => r.offset >= x.base && r.offset < segs[i + 1].base));
        const target = now - 2 * HOUR + 2500;
        // or the first sealed segment whose batches' largest timestamp reaches the target holds no record that does: that
        // time is an empty batch's, kept for its producer's state with its old max timestamp (markers are broker time)
        const inSegment = (o: bigint, i: number) => o >= segs[i].base && o < segs[i + 1].base;
        const reaching = segs.slice(0, -1).findIndex((_, i) => snap.batches.some((b) => inSegment(b.base, i) && b.maxTs >= BigInt(target)));
        const emptiedTime = reaching >= 0 && !snap.records.some((r) => inSegment(r.offset, reaching) && r.ts >= target) && !snap.controls.some((o) => inSegment(o, reaching));
        const byOldTime = await lo(BigInt(target), 0);
        return {
          logStart: snap.start,
          hw: snap.hw,
          lso: snap.lso,
          fetchError: snap.errorCode,
          segments: segs.map((x) => String(x.base)),
          _segmentBytes: segs.map((x) => x.size),
          batches: snap.batches.filter((b, i) => !(b.count === 0 && lastOfSegment(b, i))).map((b) => b.text),
          emptyLastBatchOfSegment: snap.batches.filter((b, i) => b.count === 0 && lastOfSegment(b, i)).map((b) => b.text),
          committed: committed.committed,
          abortedTransactions: committed.aborted.sort(),
          listOffsets: { earliest: await lo(-2n, 0), latest: await lo(-1n, 0), latestCommitted: await lo(-1n, 1), maxTimestamp: await lo(-3n, 0), ...(emptiedSegment || emptiedTime ? { byTimeAfterEmptiedSegment: byOldTime } : { byOldTime }) },
        };
      }
    } else {
      previous = "";
    }
    if (Date.now() > deadline) throw new Error(`${s.name}: ${topic} did not settle in ${SETTLE_TIMEOUT_MS} ms: ${why}`);
    await pause(SETTLE_POLL_MS);
  }
}

/** The highest ListOffsets version the codecs know that both brokers serve for max timestamp (-3): v7. */
const top2 = (_s: Side) => 7;

/** Why the side's cleaner or retention still has work on the partition ("" when none). */
function pending(t: TopicCase, segs: { base: bigint; size: number }[], snap: Snapshot, checkpoint: bigint | null, produced: Map<bigint, number>, nowMs: number): string {
  if (segs.length === 0) return "no segment files";
  if (t.policy.includes("compact")) {
    const active = segs[segs.length - 1].base;
    let firstUncleanable = active < snap.hw ? active : snap.hw;
    if (t.minLagMs > 0) {
      for (const [i, seg] of segs.entries()) {
        if (i === segs.length - 1 || seg.base >= firstUncleanable) break;
        const end = segs[i + 1].base;
        // a marker's time is the broker's clock: a segment holding one is young (Kafka: its largest timestamp)
        const young = snap.records.some((r) => r.offset >= seg.base && r.offset < end && r.ts >= 0 && nowMs - r.ts < t.minLagMs) || snap.controls.some((o) => o >= seg.base && o < end);
        if (young) {
          firstUncleanable = seg.base;
          break;
        }
      }
    }
    const firstDirty = checkpoint === null || checkpoint < snap.start ? snap.start : checkpoint;
    const sealed = segs.slice(0, -1);
    const dirtyBytes = sealed.filter((x, i) => segs[i + 1].base > firstDirty && x.base < firstUncleanable).reduce((n, x) => n + x.size, 0);
    const cleanBytes = sealed.filter((x, i) => segs[i + 1].base <= firstDirty).reduce((n, x) => n + x.size, 0);
    // Kafka's LogCleanerManager.grabFilthiestCompactedLog: a log is cleaned when its dirty ratio is above
    // min.cleanable.dirty.ratio, or when max.compaction.lag.ms has passed for its oldest dirty segment (1 ms here:
    // always) and it has cleanable bytes
    const due = dirtyBytes > 0 && (maxLagOf(t) !== null || dirtyBytes / (dirtyBytes + cleanBytes) > Number(t.minDirtyRatio));
    if (firstDirty < firstUncleanable && due) return `compaction: checkpoint ${checkpoint} below the first uncleanable offset ${firstUncleanable}`;
  }
  if (t.policy.includes("delete")) {
    if (t.retentionBytes >= 0) {
      const total = segs.reduce((n, x) => n + x.size, 0);
      if (total - segs[0].size >= t.retentionBytes) return `retention.bytes: ${total} bytes with a first segment of ${segs[0].size}`;
    }
    if (t.retentionMs >= 0 && snap.start < snap.hw) {
      const end = segs.length > 1 ? segs[1].base : snap.hw;
      let largest = -1;
      for (const r of snap.records) if (r.offset < end) largest = Math.max(largest, r.ts < 0 ? (produced.get(r.offset) ?? nowMs) : r.ts);
      if (snap.controls.some((o) => o < end)) largest = nowMs;
      // an empty batch the cleaner kept for its producer's state keeps its max timestamp, which counts in the
      // segment's largest timestamp (Kafka: LogSegment.largestTimestamp), though its records are gone: a "now" batch
      // emptied by compaction holds an older segment back from retention.ms
      for (const b of snap.batches) if (b.count === 0 && b.base < end && b.maxTs >= 0n) largest = Math.max(largest, Number(b.maxTs));
      if (largest >= 0 && nowMs - largest > t.retentionMs) return `retention.ms: the first segment's newest record is from ${largest}`;
    }
  }
  return "";
}

const why = kafkaUnavailable();
if (why) {
  test(`log compaction and retention: random runs match Apache Kafka (SKIPPED: ${why})`, { skip: why }, () => {});
} else {
  let started: Promise<Pair> | null = null;
  const pair = () => (started ??= startPair(SHARED, { ...SHARED, ...KAFKA_ONLY }, { cluster: false }));
  after(async () => {
    if (started) await (await started).stop();
  });
  test("log compaction and retention: random runs match Apache Kafka", { timeout: 900_000 }, async () => {
    const p = await pair();
    let run = 0;
    // COMPACT_ORACLE_CASE='{...}' runs one case (a counterexample as fast-check printed it)
    const one = process.env.COMPACT_ORACLE_CASE;
    await fc.assert(
      fc.asyncProperty(one ? fc.constant(JSON.parse(one) as Case) : caseArb, async (c) => {
        const r = run++;
        const now = Date.now();
        // COMPACT_ORACLE_DUMP=dir writes each side's answers there; COMPACT_ORACLE_COLLECT=1 prints each run's
        // differences and goes on
        await compareRandomRun(p, "Compaction random", r, c, (s) => scenario(p, s, r, c, now), { dumpDir: process.env.COMPACT_ORACLE_DUMP, collect: !!process.env.COMPACT_ORACLE_COLLECT });
      }),
      // COMPACT_ORACLE_SEED and COMPACT_ORACLE_PATH replay a failure that fast-check reported (its seed and path)
      { examples: one ? [] : REGRESSIONS.map((c) => [c] as [Case]), numRuns: one ? 1 : RUNS, seed: process.env.COMPACT_ORACLE_SEED ? Number(process.env.COMPACT_ORACLE_SEED) : undefined, path: process.env.COMPACT_ORACLE_PATH, verbose: 1, endOnFailure: true },
    );
  });
}
