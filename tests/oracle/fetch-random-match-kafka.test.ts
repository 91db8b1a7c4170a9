/**
 * Randomized differential test of Fetch (and ListOffsets, OffsetForLeaderEpoch) against Apache Kafka 4.4: fast-check
 * generates a log and a list of reads; the same log is built on Kafka and on Runnel (a sharded node under
 * RUNNEL_TEST_SHARDS=2), the same reads are sent to both, and every answer is compared with the oracle's
 * normalisation (differential.ts).
 *
 * The log: a topic of 1-3 partitions with segment.bytes 1 MiB (the least both allow), so that logs roll; batches of
 * 1-50 records of 1 B to 300 KB each (incompressible or not, any codec), stored as sent on both brokers, so offsets
 * and byte sizes match; transactional batches committed, aborted or left open (control batches, last stable offset
 * below the high watermark); DeleteRecords moving the log start, also into the middle of a batch.
 *
 * The reads: sessionless Fetch at a random version both serve (4..17), maxWaitMs 0, random request maxBytes and
 * partitionMaxBytes (0, tiny, below the first batch, huge, negative), fetch offsets anywhere (negative, before the log
 * start, at it, inside a batch, at a batch's base, at the high watermark, past it, at the last stable offset),
 * read_uncommitted and read_committed, several partitions per request in random order, the same partition twice, an
 * unknown partition and an unknown topic, currentLeaderEpoch -1, 0 or a wrong one, lastFetchedEpoch, a rack id;
 * ListOffsets (latest, earliest, max timestamp, earliest local -4, latest tiered -5, by timestamp) and
 * OffsetForLeaderEpoch.
 *
 * Each side's whole log is read first and compared (batch offsets, sizes and bytes, except each broker's own
 * producer id, the CRC that covers it and a transaction marker's broker-clock timestamps). Every Fetch answer is
 * compared field by field (errors, high watermark, last stable offset, log start offset, aborted transactions,
 * preferred read replica, diverging epoch, the first batch of the first partition with records, which KIP-74
 * returns whole even above every limit). Which bytes a partition returns depends on two choices where Runnel differs
 * on purpose (INTENTIONAL_DIFFERENCES, "Fetch random"): Kafka reads one log segment per partition per request
 * (UnifiedLog.read stops at the segment that holds the offset) and returns the bytes up to the limit, so a partial
 * batch at the end (LogSegment.read: FileRecords.slice(startPosition, min(maxPosition - startPosition,
 * adjustedMaxSize))), but nothing when that would be only part of the first batch (ReplicaManager: firstEntryIncomplete);
 * Runnel returns whole batches only, across segments. So each side's records are checked
 * exactly against its rule, computed from the log both sides hold (compared) and Kafka's segment files: Kafka's
 * answer against Kafka's rule (so the rule is Kafka's, as observed), Runnel's against the same rule with those two
 * choices changed, both with ReplicaManager.readFromLocalLog's budget (each partition reads at most
 * min(partitionMaxBytes, what the earlier partitions left of maxBytes); the first partition with records gets at
 * least its first batch whole).
 *
 * Not covered: compacted topics (each broker cleans on its own schedule, so the logs would differ by timing), fetch
 * sessions (tests/broker/fetch-sessions-model-property), long polls, followers.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { randomOracleTest, type Pair, type Side } from "./differential.ts";
import { createTopic, initProducer, noise, produce, settleTransaction, T0 } from "./scenario-helpers.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { ATTRIBUTES_OFFSET, BASE_OFFSET_OFFSET, BASE_TIMESTAMP_OFFSET, BATCH_LENGTH_OFFSET, CRC_OFFSET, LAST_OFFSET_DELTA_OFFSET, PRODUCER_ID_OFFSET } from "../../src/protocol/batch-layout.ts";
import { codecById, initCompression } from "../../src/compression/index.ts";

await initCompression();

/** fast-check runs (each on its own topic; about 1-3 s each here, plus about 10 s for Kafka to start). */
const RUNS = Number(process.env.FETCH_ORACLE_RUNS ?? 6);
/** Most log-building operations of a run. */
const MAX_BUILD = Number(process.env.FETCH_ORACLE_BUILD ?? 12);
/** Most reads of a run. */
const MAX_READS = Number(process.env.FETCH_ORACLE_READS ?? 30);
/** FETCH_ORACLE_DEBUG=1 adds each batch's first bytes and the batches compared to the answers (to read a mismatch). */
const DEBUG = !!process.env.FETCH_ORACLE_DEBUG;
/** A partition no topic of the test has. */
const NO_PARTITION = 7;
/** The largest batch a run writes (Kafka's default max.message.bytes is 1048588). */
const MAX_BATCH = 1_000_000;
/** segment.bytes of every topic: the least Kafka 4.4 and Runnel accept, so that logs roll. */
const SEGMENT_BYTES = 1_048_576;
/** A record timestamp past this is a broker's clock (a transaction marker); the producers write T0-based times. */
const BROKER_CLOCK = BigInt(T0 + 30 * 86_400_000);

/** The values an arbitrary generates. */
type Of<A> = A extends fc.Arbitrary<infer T> ? T : never;
const pick = <T>(...xs: [number, T][]) => fc.oneof(...xs.map(([weight, x]) => ({ weight, arbitrary: fc.constant(x) })));
const sizeArb = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 200 }) }, { weight: 3, arbitrary: fc.integer({ min: 201, max: 5000 }) }, { weight: 2, arbitrary: fc.integer({ min: 5001, max: 300_000 }) });
const batchArb = fc.record({ sizes: fc.array(sizeArb, { minLength: 1, maxLength: 50 }), codec: pick<number>([4, 0], [1, 1], [1, 2], [1, 3], [1, 4]), noise: fc.boolean() });
const pArb = pick<number>([3, 0], [2, 1], [1, 2]);

type Build =
  | { k: "produce"; p: number; b: Of<typeof batchArb> }
  | { k: "txnWrite"; p: number; b: Of<typeof batchArb> }
  | { k: "txnEnd"; commit: boolean }
  | { k: "deleteRecords"; p: number; frac: number };
const buildArb: fc.Arbitrary<Build> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ k: fc.constant("produce" as const), p: pArb, b: batchArb }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("txnWrite" as const), p: pArb, b: batchArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("txnEnd" as const), commit: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("deleteRecords" as const), p: pArb, frac: fc.double({ min: 0, max: 1, noNaN: true }) }) },
);

type OffsetKind = "neg" | "beforeStart" | "start" | "mid" | "batchBase" | "hw" | "pastHw" | "lso";
const offsetArb = fc.record({
  kind: pick<OffsetKind>([1, "neg"], [1, "beforeStart"], [3, "start"], [4, "mid"], [3, "batchBase"], [2, "hw"], [1, "pastHw"], [1, "lso"]),
  frac: fc.double({ min: 0, max: 0.999, noNaN: true }),
});
const bytesArb = pick<number>([1, 0], [1, 1], [1, 61], [2, 100], [2, 5000], [2, 70_000], [2, 400_000], [2, 1_048_576], [2, 3_000_000], [2, 0x7fffffff], [1, -1]);
const fetchPartArb = fc.record({
  slot: pick<"known" | "noPartition" | "noTopic">([14, "known"], [1, "noPartition"], [1, "noTopic"]),
  p: pArb,
  offset: offsetArb,
  maxBytes: bytesArb,
  currentLeaderEpoch: pick<number>([6, -1], [2, 0], [1, 1]),
  lastFetchedEpoch: pick<number>([8, -1], [2, 0], [1, 1]),
});
type Read =
  | { k: "fetch"; v: number; isolation: 0 | 1; maxBytes: number; minBytes: number; rack: boolean; parts: Of<typeof fetchPartArb>[] }
  | { k: "listOffsets"; v: number; isolation: 0 | 1; parts: { slot: "known" | "noPartition"; p: number; ts: number; frac: number; current: number }[] }
  | { k: "epochs"; v: number; parts: { slot: "known" | "noPartition"; p: number; epoch: number; current: number }[] };
const readArb: fc.Arbitrary<Read> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      k: fc.constant("fetch" as const),
      v: fc.nat(40),
      isolation: fc.constantFrom(0 as const, 1 as const),
      maxBytes: bytesArb,
      minBytes: fc.constantFrom(0, 1),
      rack: pick<boolean>([4, false], [1, true]),
      parts: fc.array(fetchPartArb, { minLength: 1, maxLength: 5 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant("listOffsets" as const),
      v: fc.nat(40),
      isolation: fc.constantFrom(0 as const, 1 as const),
      parts: fc.uniqueArray(
        fc.record({ slot: pick<"known" | "noPartition">([8, "known"], [1, "noPartition"]), p: pArb, ts: pick<number>([2, -1], [2, -2], [2, -3], [1, -4], [1, -5], [4, 0]), frac: fc.double({ min: 0, max: 1.2, noNaN: true }), current: pick<number>([6, -1], [2, 0], [1, 1]) }),
        { minLength: 1, maxLength: 3, selector: (x) => (x.slot === "known" ? x.p : NO_PARTITION) },
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant("epochs" as const),
      v: fc.nat(40),
      parts: fc.uniqueArray(fc.record({ slot: pick<"known" | "noPartition">([8, "known"], [1, "noPartition"]), p: pArb, epoch: fc.integer({ min: -1, max: 2 }), current: pick<number>([4, -1], [2, 0], [1, 1]) }), {
        minLength: 1,
        maxLength: 3,
        selector: (x) => (x.slot === "known" ? x.p : NO_PARTITION),
      }),
    }),
  },
);
const caseArb = fc.record({ partitions: fc.integer({ min: 1, max: 3 }), build: fc.array(buildArb, { minLength: 2, maxLength: MAX_BUILD }), reads: fc.array(readArb, { minLength: 3, maxLength: MAX_READS }) });
type Case = Of<typeof caseArb>;


/** Deterministic bytes (incompressible, or a repeated phrase), so both sides get the same batch. */
function valueBytes(size: number, seed: number, incompressible: boolean): Uint8Array {
  if (incompressible) return noise(size, seed);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = 97 + ((i * 7 + seed) % 26);
  return out;
}

/** One batch of the generated records (cut to MAX_BATCH bytes of values), record i at T0 + ordinal * 1000 + i. */
function buildBatch(b: Of<typeof batchArb>, ordinal: number, producer: { producerId?: bigint; producerEpoch?: number; baseSequence?: number; isTransactional?: boolean }): { bytes: Uint8Array; n: number } {
  const sizes: number[] = [];
  let total = 0;
  for (const s of b.sizes) {
    if (sizes.length > 0 && total + s > MAX_BATCH) break;
    sizes.push(Math.min(s, MAX_BATCH));
    total += s;
  }
  const bb = new BatchBuilder(total + 64 * sizes.length + 1024);
  bb.reset(producer);
  for (let i = 0; i < sizes.length; i++) bb.append(T0 + ordinal * 1000 + i, new TextEncoder().encode(`k${ordinal}-${i}`), valueBytes(sizes[i], ordinal * 101 + i, b.noise));
  const c = codecById(b.codec);
  return { bytes: c === null ? bb.finish() : bb.finish({ codecId: c.id, compress: (s) => c.compress(s) }), n: sizes.length };
}

/** One stored batch as the full read of a partition found it. */
interface LogBatch {
  base: bigint;
  last: bigint;
  size: number;
  /** Its bytes as this side stored them. */
  bytes: Uint8Array;
  /** Digest of the bytes without the broker's own producer id, the CRC over it and a marker's broker-clock times. */
  digest: string;
  control: boolean;
}

/** A partition's whole log on one side: the batches from the log start to the high watermark, and its offsets. */
interface PartitionLog {
  batches: LogBatch[];
  logStart: bigint;
  hw: bigint;
  lso: bigint;
}

/** The digest of a batch's bytes without what each broker sets on its own (see {@link LogBatch.digest}). */
function maskedDigest(batch: Uint8Array): string {
  const x = new Uint8Array(batch); // a copy (Buffer.slice would be a view)
  x.fill(0, CRC_OFFSET, CRC_OFFSET + 4);
  x.fill(0, PRODUCER_ID_OFFSET, PRODUCER_ID_OFFSET + 8);
  if ((new DataView(x.buffer).getInt16(ATTRIBUTES_OFFSET) & 0x20) !== 0) x.fill(0, BASE_TIMESTAMP_OFFSET, BASE_TIMESTAMP_OFFSET + 16);
  return createHash("sha1").update(x).digest("hex").slice(0, 16);
}

/** The whole batches at the start of `records`, and the bytes after them (a partial batch). */
function splitBatches(records: Uint8Array): { batches: LogBatch[]; tail: number } {
  const dv = new DataView(records.buffer, records.byteOffset, records.byteLength);
  const batches: LogBatch[] = [];
  let at = 0;
  while (at + 61 <= records.length) {
    const size = 12 + dv.getInt32(at + BATCH_LENGTH_OFFSET);
    if (at + size > records.length) break;
    const bytes = records.subarray(at, at + size);
    const base = dv.getBigInt64(at + BASE_OFFSET_OFFSET);
    batches.push({ base, last: base + BigInt(dv.getInt32(at + LAST_OFFSET_DELTA_OFFSET)), size, bytes, digest: maskedDigest(bytes), control: (dv.getInt16(at + ATTRIBUTES_OFFSET) & 0x20) !== 0 });
    at += size;
  }
  return { batches, tail: records.length - at };
}

/** How a broker cuts a partition's records: Kafka's rule, or Runnel's (whole batches, across segments). */
interface ReadRule {
  /** Stops at the end of the log segment holding the first batch (Kafka). */
  oneSegment: boolean;
  /** Returns the bytes up to the limit, so a partial batch at the end (Kafka). */
  partialTail: boolean;
}
const KAFKA_RULE: ReadRule = { oneSegment: true, partialTail: true };
const RUNNEL_RULE: ReadRule = { oneSegment: false, partialTail: false };

/**
 * What a read of `log` from `fetchOffset` returns under `rule`: the index of its first batch, how many whole batches
 * and the bytes of a partial one after them. `bound` is the high watermark or the last stable offset, `limit` the
 * partition's byte limit, `minOne` whether the first batch comes whole above it (KIP-74), `segmentOf` the index of the
 * Kafka segment that holds a batch.
 */
function expectedRead(log: LogBatch[], fetchOffset: bigint, bound: bigint, limit: number, minOne: boolean, rule: ReadRule, segmentOf: (b: LogBatch) => number): { first: number; whole: number; tail: number } {
  const none = { first: -1, whole: 0, tail: 0 };
  if (fetchOffset >= bound) return none;
  const first = log.findIndex((b) => b.last >= fetchOffset);
  if (first < 0) return none;
  const readable: LogBatch[] = [];
  for (let i = first; i < log.length && log[i].last < bound; i++) {
    if (rule.oneSegment && segmentOf(log[i]) !== segmentOf(log[first])) break;
    readable.push(log[i]);
  }
  if (readable.length === 0) return none;
  const cap = minOne ? Math.max(limit, readable[0].size) : limit;
  let whole = 0;
  let used = 0;
  while (whole < readable.length && used + readable[whole].size <= cap) used += readable[whole++].size;
  const avail = readable.reduce((s, b) => s + b.size, 0);
  // Kafka answers nothing rather than only part of a first batch (ReplicaManager.readFromLog: firstEntryIncomplete)
  const tail = rule.partialTail && whole > 0 ? Math.min(avail, cap) - used : 0;
  return { first, whole, tail };
}

/** Kafka's segment base offsets of each partition of `topic`, from its data directory, by run (see scenario). */
const segmentsSeen = new Map<number, bigint[][]>();

/** Kafka's segment base offsets of each of the `partitions` partitions of `topic`, in order, from its log files. */
function listKafkaSegments(p: Pair, topic: string, partitions: number): bigint[][] {
  return Array.from({ length: partitions }, (_, part) => {
    const dir = path.join(p.kafka.dir, "data", `${topic}-${part}`);
    return fs.readdirSync(dir).filter((f) => /^\d{20}\.log$/.test(f)).map((f) => BigInt(f.slice(0, 20))).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  });
}

/** Runs one generated case on one side and returns everything it answered, in order. */
async function scenario(p: Pair, s: Side, run: number, c: Case): Promise<unknown> {
  const pickV = (key: number, i: number, min = 0) => {
    const vs = p.versions(key).filter((v) => v >= min);
    return vs[i % vs.length];
  };
  const top = (key: number) => Math.max(...p.versions(key));
  const P = c.partitions;
  const topic = `fx-${run}`;
  const topicId = await createTopic(s, topic, P, [{ name: "retention.ms", value: "-1" }, { name: "segment.bytes", value: String(SEGMENT_BYTES) }]);
  const out: unknown[] = [];
  const tid = `fx-${run}-tx`;
  const t = await initProducer(s, tid);
  out.push({ txnInit: t.errorCode });
  const txn = { pid: t.producerId as bigint, epoch: t.producerEpoch as number, seq: new Array<number>(P).fill(0), open: false };
  const latest = async (part: number): Promise<{ start: bigint; end: bigint }> => {
    const at = async (timestamp: bigint): Promise<bigint> => {
      const r = await s.client.request(2, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: part, currentLeaderEpoch: -1, timestamp }] }] });
      return r.topics[0].partitions[0].offset;
    };
    return { start: await at(-2n), end: await at(-1n) };
  };

  // 1. the log
  let ordinal = 0;
  for (const op of c.build) {
    const part = op.k === "produce" || op.k === "txnWrite" || op.k === "deleteRecords" ? op.p % P : 0;
    switch (op.k) {
      case "produce": {
        const { bytes, n } = buildBatch(op.b, ++ordinal, {});
        const a = await produce(s, topic, part, bytes, { version: 9 });
        out.push({ op: "produce", p: part, n, size: bytes.length, errorCode: a.errorCode, baseOffset: a.baseOffset });
        break;
      }
      case "txnWrite": {
        const add = await s.client.request(24, Math.min(3, top(24)), { v3AndBelowTransactionalId: tid, v3AndBelowProducerId: txn.pid, v3AndBelowProducerEpoch: txn.epoch, v3AndBelowTopics: [{ name: topic, partitions: [part] }] });
        const { bytes, n } = buildBatch(op.b, ++ordinal, { producerId: txn.pid, producerEpoch: txn.epoch, baseSequence: txn.seq[part], isTransactional: true });
        const a = await produce(s, topic, part, bytes, { version: 9, transactionalId: tid });
        if (a.errorCode === 0) ((txn.seq[part] += n), (txn.open = true));
        out.push({ op: "txnWrite", p: part, n, add: add.resultsByTopicV3AndBelow, errorCode: a.errorCode, baseOffset: a.baseOffset });
        break;
      }
      case "txnEnd": {
        if (!txn.open) break;
        const r = await s.client.request(26, Math.min(4, top(26)), { transactionalId: tid, producerId: txn.pid, producerEpoch: txn.epoch, committed: op.commit });
        out.push({ op: "txnEnd", commit: op.commit, errorCode: r.errorCode });
        await settleTransaction(s, tid, top(65));
        txn.open = false;
        break;
      }
      case "deleteRecords": {
        const { start, end } = await latest(part);
        const offset = start + BigInt(Math.floor(op.frac * Number(end - start)));
        const r = await s.client.request(21, top(21), { topics: [{ name: topic, partitions: [{ partitionIndex: part, offset }] }], timeoutMs: 10000 });
        out.push({ op: "deleteRecords", p: part, offset, r: r.topics[0].partitions });
        break;
      }
    }
  }

  // 2. each partition's whole log, read to the high watermark (Kafka answers from one segment per request: rounds)
  const logs: PartitionLog[] = [];
  for (let part = 0; part < P; part++) {
    const { start } = await latest(part);
    const batches: LogBatch[] = [];
    let next = start;
    let hw = -1n;
    let lso = -1n;
    let logStart = -1n;
    for (let round = 0; round < 200; round++) {
      const r = await s.client.request(1, top(1), {
        replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 64 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, rackId: "",
        topics: [{ topic, topicId, partitions: [{ partition: part, currentLeaderEpoch: -1, fetchOffset: next, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 64 << 20 }] }],
        forgottenTopicsData: [],
      });
      const x = r.responses[0].partitions[0];
      if (x.errorCode !== 0) throw new Error(`${s.name}: full read of ${topic}-${part} at ${next}: error ${x.errorCode}`);
      ({ highWatermark: hw, lastStableOffset: lso, logStartOffset: logStart } = x);
      const got = splitBatches(x.records ?? new Uint8Array(0)).batches;
      batches.push(...got);
      if (got.length === 0 || got[got.length - 1].last + 1n >= hw) break;
      next = got[got.length - 1].last + 1n;
    }
    logs.push({ batches, logStart, hw, lso });
    out.push({ log: part, logStart, hw, lso, batches: batches.map((b) => `${b.base}..${b.last} size=${b.size}${b.control ? " control" : ""} ${b.digest}${DEBUG ? " " + Buffer.from(b.bytes.subarray(0, 80)).toString("hex") : ""}`) });
  }
  // Kafka's segment base offsets of each partition (its files; the same log on both sides, compared above), listed
  // once, on Kafka's turn: its retention check deletes segments wholly below the log start at a time of its own
  const kafkaSegments = s.name === "kafka" ? listKafkaSegments(p, topic, P) : segmentsSeen.get(run) ?? listKafkaSegments(p, topic, P);
  segmentsSeen.set(run, kafkaSegments);
  const segmentOf = (part: number) => (b: LogBatch) => {
    const bases = kafkaSegments[part];
    let i = 0;
    while (i + 1 < bases.length && bases[i + 1] <= b.base) i++;
    return i;
  };
  const offsetOf = (part: number, o: Of<typeof offsetArb>): bigint => {
    const l = logs[part];
    const span = Number(l.hw - l.logStart);
    switch (o.kind) {
      case "neg": return o.frac < 0.5 ? -1n : -1000n;
      case "beforeStart": return l.logStart - 1n;
      case "start": return l.logStart;
      case "mid": return l.logStart + BigInt(Math.floor(o.frac * span));
      case "batchBase": {
        if (l.batches.length === 0) return l.logStart;
        const b = l.batches[Math.floor(o.frac * l.batches.length)];
        return b.base < l.logStart ? l.logStart : b.base;
      }
      case "hw": return l.hw;
      case "pastHw": return l.hw + 1n + BigInt(Math.floor(o.frac * 3));
      case "lso": return l.lso;
    }
    throw new Error(`unknown offset kind ${o.kind}`);
  };
  const tsOf = (part: number, ts: number, frac: number): bigint => {
    if (ts !== 0) return BigInt(ts);
    return BigInt(T0 + Math.floor(frac * (ordinal + 1) * 1000));
  };

  // 3. the reads
  for (const op of c.reads) {
    switch (op.k) {
      case "fetch": {
        const v = pickV(1, op.v, 4);
        const noTopicId = new Uint8Array(16).fill(9);
        const wanted = op.parts.map((x) => ({
          x,
          topic: x.slot === "noTopic" ? `${topic}-none` : topic,
          id: x.slot === "noTopic" ? noTopicId : topicId,
          partition: x.slot === "noPartition" ? NO_PARTITION : x.p % P,
          fetchOffset: x.slot === "known" ? offsetOf(x.p % P, x.offset) : 0n,
        }));
        // consecutive parts of one topic go under one topic entry, as a client sends them
        const topics: { topic: string; topicId: Uint8Array; partitions: unknown[] }[] = [];
        for (const w of wanted) {
          const entry = { partition: w.partition, currentLeaderEpoch: w.x.currentLeaderEpoch, fetchOffset: w.fetchOffset, lastFetchedEpoch: w.x.lastFetchedEpoch, logStartOffset: -1n, partitionMaxBytes: w.x.maxBytes };
          const prev = topics[topics.length - 1];
          if (prev && prev.topic === w.topic) prev.partitions.push(entry);
          else topics.push({ topic: w.topic, topicId: w.id, partitions: [entry] });
        }
        const r = await s.client.request(1, v, {
          replicaId: -1, maxWaitMs: 0, minBytes: op.minBytes, maxBytes: op.maxBytes, isolationLevel: op.isolation, sessionId: 0, sessionEpoch: -1, rackId: op.rack ? "rack-a" : "",
          topics, forgottenTopicsData: [],
        });
        // the records each side must return by its rule: partitions in the answer's order, with the request's
        // settings of the last mention of each (Kafka keeps one entry per partition: a LinkedHashMap)
        const settings = new Map<string, (typeof wanted)[number]>();
        for (const w of wanted) settings.set(`${w.topic}:${w.partition}`, w);
        // each rule's byte budget as readFromLocalLog keeps it: what is left of maxBytes (fetch.max.bytes at most), and
        // whether no partition has brought records yet (then the first batch comes whole)
        const budgets = [KAFKA_RULE, RUNNEL_RULE].map((rule) => ({ rule, remaining: Math.min(op.maxBytes, 57_671_680), minOne: true }));
        const [mineAt, otherAt] = s.name === "kafka" ? [0, 1] : [1, 0];
        let firstWithRecords: string | null = null;
        const answers: unknown[] = [];
        for (const t of r.responses ?? []) {
          for (const x of t.partitions) {
            const name = v >= 13 ? (t.topicId && Buffer.from(t.topicId).equals(Buffer.from(topicId)) ? topic : `${topic}-none`) : t.topic;
            const w = settings.get(`${name}:${x.partitionIndex}`);
            const records = (x.records ?? new Uint8Array(0)) as Uint8Array;
            const got = splitBatches(records);
            let check = "ok";
            let expectEnd = -1n;
            // whether both rules read this partition alike enough for its aborted list's presence to be compared
            let listComparable = true;
            let read = false;
            if (w === undefined) check = `not asked: ${name}:${x.partitionIndex}`;
            else if (x.errorCode !== 0 || w.x.slot !== "known" || x.divergingEpoch?.epoch >= 0 || (x.preferredReadReplica ?? -1) >= 0) {
              if (records.length > 0) check = `records beside error ${x.errorCode}`;
            } else {
              const part = w.partition;
              const l = logs[part];
              const bound = op.isolation === 1 ? l.lso : l.hw;
              read = true;
              const reads = budgets.map((b) => {
                const limit = Math.min(w.x.maxBytes, b.remaining);
                const e = expectedRead(l.batches, w.fetchOffset, bound, limit, b.minOne, b.rule, segmentOf(part));
                const bytes = l.batches.slice(e.first, e.first + e.whole).reduce((n, x) => n + x.size, 0) + e.tail;
                const read = { ...e, limit, minOne: b.minOne, bytes };
                b.remaining = Math.max(0, b.remaining - bytes);
                if (bytes > 0) b.minOne = false;
                return read;
              });
              const [mine, other] = [reads[mineAt], reads[otherAt]];
              const { limit, minOne } = mine;
              // Kafka's partial last batch counts against its budget, so a later partition may have 0 left there and
              // some here: what its aborted list is (none for a first batch over a non-zero limit) then differs
              listComparable = (mine.limit > 0) === (other.limit > 0) && (mine.bytes > 0) === (other.bytes > 0);
              const want = l.batches.slice(mine.first, mine.first + mine.whole);
              const tailOk = got.tail === mine.tail && (got.tail === 0 || Buffer.from(records.subarray(records.length - got.tail)).equals(Buffer.from(l.batches[mine.first + mine.whole].bytes.subarray(0, got.tail))));
              if (got.batches.length !== want.length || got.batches.some((b, i) => b.digest !== want[i].digest || b.base !== want[i].base) || !tailOk) {
                check = `expected ${want.length} whole batches from ${want[0]?.base ?? "-"} and ${mine.tail} bytes of the next (limit ${limit}, minOne ${minOne}, bound ${bound}); got ${got.batches.length} from ${got.batches[0]?.base ?? "-"} and ${got.tail} bytes${DEBUG ? " " + JSON.stringify([got.batches.map((b) => [String(b.base), b.size, b.digest]), want.map((b) => [String(b.base), b.size, b.digest])]) : ""}`;
              }
              // aborted transactions are compared up to the end of the records both rules return
              const ends = [mine, other].filter((e) => e.whole > 0).map((e) => l.batches[e.first + e.whole - 1].last + 1n);
              expectEnd = ends.length === 2 ? (ends[0] < ends[1] ? ends[0] : ends[1]) : -1n;
            }
            if (records.length > 0) {
              if (firstWithRecords === null) firstWithRecords = got.batches.length > 0 ? `${name}:${x.partitionIndex} ${got.batches[0].base}..${got.batches[0].last} size=${got.batches[0].size} ${got.batches[0].digest}` : `${name}:${x.partitionIndex} no whole batch`;
            }
            if (!read) for (const b of budgets) b.remaining = Math.max(0, b.remaining);
            const aborted = (x.abortedTransactions ?? null) as { firstOffset: bigint }[] | null;
            const { records: _r, abortedTransactions: _a, ...fields } = x;
            answers.push({
              topic: name,
              ...fields,
              records: check,
              [listComparable ? "abortedNull" : "abortedNullWhereBudgetsDiffer"]: aborted === null,
              aborted: (aborted ?? []).filter((a) => a.firstOffset < expectEnd).map((a) => String(a.firstOffset)),
              abortedPastRecords: (aborted ?? []).filter((a) => a.firstOffset >= expectEnd).map((a) => String(a.firstOffset)),
            });
          }
        }
        out.push({ op: `fetch v${v}`, isolation: op.isolation, maxBytes: op.maxBytes, parts: op.parts, errorCode: r.errorCode, firstWithRecords, answers });
        break;
      }
      case "listOffsets": {
        const v = pickV(2, op.v, 1);
        const r = await s.client.request(2, v, {
          replicaId: -1, isolationLevel: op.isolation, timeoutMs: 10000,
          topics: [{ name: topic, partitions: op.parts.map((x) => ({ partitionIndex: x.slot === "known" ? x.p % P : NO_PARTITION, currentLeaderEpoch: x.current, timestamp: tsOf(x.p % P, x.ts, x.frac) })) }],
        });
        const answers = r.topics[0].partitions.map((a: any) => ({ ...a, timestamp: a.timestamp > BROKER_CLOCK ? "broker clock" : a.timestamp }));
        // max timestamp (-3) of a partition whose log start DeleteRecords moved: compared apart (INTENTIONAL_DIFFERENCES)
        const asked = (a: any, ts: (t: number) => boolean) => a.partitionIndex < P && op.parts.some((x) => x.slot === "known" && x.p % P === a.partitionIndex && ts(x.ts));
        const afterDelete = (a: any) => asked(a, (t) => t === -3) && logs[a.partitionIndex].logStart > 0n;
        // by timestamp where a Kafka segment lies wholly below the log start (until Kafka's retention check deletes
        // it): compared apart (INTENTIONAL_DIFFERENCES)
        const belowStart = (a: any) => asked(a, (t) => t === 0) && kafkaSegments[a.partitionIndex].length > 1 && kafkaSegments[a.partitionIndex][1] <= logs[a.partitionIndex].logStart;
        out.push({
          op: `listOffsets v${v}`, isolation: op.isolation, parts: op.parts,
          r: answers.filter((a: any) => !afterDelete(a) && !belowStart(a)),
          maxTimestampAfterDeleteRecords: answers.filter(afterDelete),
          byTimestampPastSegmentsBelowLogStart: answers.filter((a: any) => belowStart(a) && !afterDelete(a)),
        });
        break;
      }
      case "epochs": {
        const v = pickV(23, op.v);
        const r = await s.client.request(23, v, { replicaId: -1, topics: [{ topic, partitions: op.parts.map((x) => ({ partition: x.slot === "known" ? x.p % P : NO_PARTITION, currentLeaderEpoch: x.current, leaderEpoch: x.epoch })) }] });
        out.push({ op: `offsetForLeaderEpoch v${v}`, parts: op.parts, r: r.topics });
        break;
      }
    }
  }
  return out;
}

randomOracleTest(
  "Fetch, ListOffsets, OffsetForLeaderEpoch: random reads of random logs match Apache Kafka",
  // FETCH_ORACLE_CASE, _SEED, _PATH, _COLLECT, _DUMP: see randomOracleTest; a failing run is not shrunk (slow runs)
  { api: "Fetch random", env: "FETCH_ORACLE", runs: RUNS, arb: caseArb, timeoutMs: 900_000, endOnFailure: true },
  (p, s, run, c) => scenario(p, s, run, c),
);
