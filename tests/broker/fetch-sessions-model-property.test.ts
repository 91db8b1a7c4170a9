/**
 * Model-based property test of fetch sessions (KIP-227) against a real broker (a sharded node under
 * RUNNEL_TEST_SHARDS=2): random sequences of sessionless, full and incremental Fetch requests at several versions
 * (names before v13, topic ids from v13), from several sessions over two connections, interleaved with produces,
 * DeleteRecords and topic deletion and re-creation. A model keeps what each session should hold (its partitions,
 * where the client reads, what was last sent) and what every response must contain, as Kafka's FetchManager does:
 * - session id 0 / epoch -1: sessionless full fetch; id 0 / epoch 0: a new session; id N / epoch -1: closes N,
 *   sessionless; id N / epoch 0: closes N and opens a new one (the Java client sends it after any failed fetch);
 * - id N / epoch E: E must be N's next epoch (INVALID_FETCH_SESSION_EPOCH, session unchanged), N must exist
 *   (FETCH_SESSION_ID_NOT_FOUND, also for id 0 with E > 0), the session's id mode must match the version
 *   (FETCH_SESSION_TOPIC_ID_ERROR); named partitions are added or updated, forgotten ones removed; a session left
 *   empty is closed and answered sessionless;
 * - an incremental answer holds the partitions with records, an error, or a high watermark or log start offset other
 *   than last sent; after an error the high watermark counts as unsent, so the partition comes back once it clears.
 * Every answer is compared to the model: which partitions, error codes, offsets, and which records (one contiguous
 * run of batches from the fetch offset to the high watermark).
 *
 * The model itself was checked against Apache Kafka 4.4: `FETCH_SESSION_ORACLE=kafka bun test FILE` runs the same
 * sequences against a real Kafka broker (tests/support/kafka-broker.ts) instead of Runnel.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { startTestBroker } from "../support/broker.ts";
import { testShards } from "../support/broker-process.ts";
import { startKafka } from "../support/kafka-broker.ts";
import { BrokerConnection } from "../../src/client/connection.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { uuidHex } from "../../src/protocol/uuid.ts";
import type { FetchRequest, FetchResponse } from "../../src/protocol/generated/01_fetch.ts";

await initCrc32c();

const TOPICS = 2;
/** Partitions per topic; index PARTITIONS is named in fetches too and never exists. */
const PARTITIONS = 2;
const SLOTS = 3;
const VERSIONS = [7, 11, 12, 13, 16, 17];
const RUNS = Number(process.env.FETCH_SESSION_RUNS ?? 40);
/**
 * On a sharded node every accepting thread keeps its own sessions (docs/sharding.md) and the kernel spreads
 * connections over them: there a session is used on the connection that opened it. On one broker, on either.
 */
const SESSIONS_PER_THREAD = testShards() > 1;
/** Run against a real Kafka broker to check the model (manual; the JVM start takes a minute here). */
const AGAINST_KAFKA = process.env.FETCH_SESSION_ORACLE === "kafka";

type Op =
  | { k: "produce"; t: number; p: number; n: number }
  | { k: "deleteRecords"; t: number; p: number; frac: number }
  | { k: "recreate"; t: number }
  | { k: "delete"; t: number }
  | { k: "fetch"; slot: number; conn: number; how: "incremental" | "open" | "sessionless" | "close" | "reopen" | "wrongEpoch" | "zeroIdEpoch" | "otherMode" | "staleId"; named: { t: number; p: number; at: number; le: number }[]; forget: { t: number; p: number }[] }
  | { k: "allIncremental" };

const tp = fc.record({ t: fc.nat(TOPICS - 1), p: fc.nat(PARTITIONS) });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant("produce" as const), t: fc.nat(TOPICS - 1), p: fc.nat(PARTITIONS - 1), n: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("deleteRecords" as const), t: fc.nat(TOPICS - 1), p: fc.nat(PARTITIONS - 1), frac: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("recreate" as const), t: fc.nat(TOPICS - 1) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("delete" as const), t: fc.nat(TOPICS - 1) }) },
  {
    weight: 10,
    arbitrary: fc.record({
      k: fc.constant("fetch" as const),
      slot: fc.nat(SLOTS - 1),
      conn: fc.nat(1),
      how: fc.oneof(
        { weight: 8, arbitrary: fc.constant("incremental" as const) },
        { weight: 2, arbitrary: fc.constant("open" as const) },
        ...(["sessionless", "close", "reopen", "wrongEpoch", "zeroIdEpoch", "otherMode", "staleId"] as const).map((h) => ({ weight: 1, arbitrary: fc.constant(h) })),
      ),
      named: fc.array(fc.record({ t: fc.nat(TOPICS - 1), p: fc.nat(PARTITIONS), at: fc.oneof(fc.constant(-1), fc.double({ min: 0, max: 1, noNaN: true })), le: fc.constantFrom(-1, -1, 0, 1) }), { maxLength: 3 }),
      forget: fc.array(tp, { maxLength: 2 }),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ k: "allIncremental" as const }) },
);

/** A topic of the model: its id (kept after deletion: a stale id clients may still name) and partitions' offsets. */
interface ModelTopic {
  name: string;
  id: Uint8Array;
  exists: boolean;
  hw: bigint[];
  logStart: bigint[];
}

/** A partition a session holds, as the broker should remember it. */
interface ModelPartition {
  t: number;
  key: string;
  topicId: Uint8Array | undefined;
  /** v13+: the name the topic id had when the partition was named ("" if none): a session keeps it (Kafka's cached name). */
  cachedName: string;
  partition: number;
  fetchOffset: bigint;
  /** Current leader epoch the client names (-1: none; 1: newer than the broker's 0, UNKNOWN_LEADER_EPOCH). */
  leaderEpoch: number;
  sentHw: bigint;
  sentLogStart: bigint;
}

interface Slot {
  version: number;
  id: number;
  nextEpoch: number;
  /** Session partitions by "key:partition", in the order added. */
  parts: Map<string, ModelPartition>;
  /** The id of a session this slot closed or lost (for FETCH_SESSION_ID_NOT_FOUND), 0 if none. */
  deadId: number;
}

interface Expected {
  errorCode: number;
  /** High watermark (null: either, as with a leader epoch error, where Kafka sends -1 and Runnel the partition's). */
  hw: bigint | null;
  logStart: bigint;
  /** Offsets the records must cover: [from, to). */
  from: bigint;
  to: bigint;
}

const partKey = (key: string, p: number) => `${key}:${p}`;

test("fetch sessions: every answer matches a model of KIP-227 under random fetches, produces, deletions", { timeout: 600_000 }, async () => {
  const b = AGAINST_KAFKA ? await startKafka({ overrides: { "max.incremental.fetch.session.cache.slots": "100000" } }) : await startTestBroker({ "max.incremental.fetch.session.cache.slots": "1000" });
  const conns = [await BrokerConnection.open("127.0.0.1", b.port, -1), await BrokerConnection.open("127.0.0.1", b.port, -1)];
  const admin = conns[0];
  let run = 0;
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...VERSIONS), { minLength: SLOTS, maxLength: SLOTS }), fc.array(opArb, { minLength: 5, maxLength: 30 }), async (versions, ops) => {
        run++;
        const topics: ModelTopic[] = [];
        const createTopic = async (name: string): Promise<Uint8Array> => {
          for (let attempt = 0; ; attempt++) {
            const r = await admin.request<{ topics: { errorCode: number; topicId?: Uint8Array }[] }>(19, { topics: [{ name, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 30_000, validateOnly: false });
            const code = r.topics[0].errorCode;
            if (code === 0) {
              await leadersKnown(admin, name);
              return r.topics[0].topicId!;
            }
            // a topic deleted just now may still be going away: its name is free once it has
            assert.ok(code === ErrorCode.TOPIC_ALREADY_EXISTS && attempt < 1000, `create ${name}: error ${code}`);
            await new Promise((r) => setTimeout(r, 10));
          }
        };
        for (let t = 0; t < TOPICS; t++) {
          const name = `fs${run}-${t}`;
          topics.push({ name, id: await createTopic(name), exists: true, hw: Array(PARTITIONS).fill(0n), logStart: Array(PARTITIONS).fill(0n) });
        }
        const slots: Slot[] = versions.map((version) => ({ version, id: 0, nextEpoch: 0, parts: new Map(), deadId: 0 }));

        const useIds = (v: number) => v >= 13;
        const keyOf = (t: number, v: number) => (useIds(v) ? uuidHex(topics[t].id) : topics[t].name);
        /** What a fetch of partition `mp` must answer now. */
        const expect = (mp: ModelPartition, v: number): Expected => {
          const topic = useIds(v) ? topics.find((x) => x.exists && uuidHex(x.id) === mp.key) : topics.find((x) => x.exists && x.name === mp.key);
          const unknown = { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, hw: -1n, logStart: -1n, from: 0n, to: 0n };
          if (topic === undefined && useIds(v)) {
            // an id that names no topic: never known, UNKNOWN_TOPIC_ID; its topic deleted, UNKNOWN_TOPIC_OR_PARTITION;
            // deleted and created again under the same name, INCONSISTENT_TOPIC_ID (if the partition is there by name)
            if (mp.cachedName === "") return { ...unknown, errorCode: ErrorCode.UNKNOWN_TOPIC_ID };
            if (mp.partition < PARTITIONS && topics.some((x) => x.exists && x.name === mp.cachedName)) return { ...unknown, errorCode: ErrorCode.INCONSISTENT_TOPIC_ID };
            return unknown;
          }
          if (topic === undefined || mp.partition >= PARTITIONS) return unknown;
          const hw = topic.hw[mp.partition];
          const ls = topic.logStart[mp.partition];
          if (mp.leaderEpoch > 0) return { errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH, hw: null, logStart: -1n, from: 0n, to: 0n };
          if (mp.fetchOffset < ls || mp.fetchOffset > hw) return { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, hw: -1n, logStart: -1n, from: 0n, to: 0n };
          return { errorCode: 0, hw, logStart: ls, from: mp.fetchOffset, to: hw };
        };
        const hasNews = (mp: ModelPartition, e: Expected) => e.to > e.from || e.errorCode !== 0 || e.hw !== mp.sentHw || e.logStart !== mp.sentLogStart;
        const noteSent = (mp: ModelPartition, e: Expected) => {
          mp.sentHw = e.errorCode !== 0 ? -1n : e.hw!;
          mp.sentLogStart = e.logStart;
        };
        const modelPart = (t: number, p: number, at: number, le: number, v: number): ModelPartition => {
          const hw = topics[t].hw[Math.min(p, PARTITIONS - 1)];
          return { t, key: keyOf(t, v), topicId: useIds(v) ? topics[t].id : undefined, cachedName: topics[t].exists ? topics[t].name : "", partition: p, fetchOffset: at < 0 ? hw : BigInt(Math.floor(at * Number(hw + 2n))), leaderEpoch: v >= 9 ? le : -1, sentHw: -1n, sentLogStart: -1n };
        };
        const request = (v: number, sessionId: number, sessionEpoch: number, named: readonly ModelPartition[], forget: readonly ModelPartition[]): FetchRequest => {
          const group = (list: readonly ModelPartition[]) => {
            const byKey = new Map<string, ModelPartition[]>();
            for (const mp of list) byKey.set(mp.key, [...(byKey.get(mp.key) ?? []), mp]);
            return [...byKey.values()];
          };
          return {
            replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId, sessionEpoch, rackId: "",
            topics: group(named).map((ms) => ({
              ...(useIds(v) ? { topicId: ms[0].topicId } : { topic: ms[0].key }),
              partitions: ms.map((mp) => ({ partition: mp.partition, fetchOffset: mp.fetchOffset, partitionMaxBytes: 1 << 20, currentLeaderEpoch: mp.leaderEpoch, lastFetchedEpoch: -1, logStartOffset: -1n })),
            })),
            forgottenTopicsData: group(forget).map((ms) => ({ ...(useIds(v) ? { topicId: ms[0].topicId } : { topic: ms[0].key }), partitions: ms.map((mp) => mp.partition) })),
          } as FetchRequest;
        };
        /** Checks `res` holds exactly `want` (keyed "key:partition") with the expected data; `what` names the step. */
        const check = (res: FetchResponse, v: number, want: Map<string, Expected>, what: string) => {
          assert.equal(res.errorCode ?? 0, 0, `${what}: top-level error`);
          const got = new Map<string, FetchResponse["responses"][number]["partitions"][number]>();
          for (const t of res.responses) {
            const key = useIds(v) ? uuidHex(t.topicId!) : t.topic!;
            for (const p of t.partitions) {
              const k = partKey(key, p.partitionIndex);
              assert.ok(!got.has(k), `${what}: ${k} answered twice`);
              got.set(k, p);
            }
          }
          assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `${what}: partitions answered`);
          for (const [k, e] of want) {
            const p = got.get(k)!;
            assert.equal(p.errorCode, e.errorCode, `${what}: ${k} error code`);
            if (e.hw !== null) assert.equal(p.highWatermark, e.hw, `${what}: ${k} high watermark`);
            if (e.errorCode === 0) {
              assert.equal(p.lastStableOffset, e.hw, `${what}: ${k} last stable offset`);
              assert.equal(p.logStartOffset, e.logStart, `${what}: ${k} log start offset`);
            }
            const covered = batchesCover(p.records as Uint8Array | null);
            if (e.to > e.from) {
              assert.ok(covered !== null, `${what}: ${k} records missing, want [${e.from}, ${e.to})`);
              assert.ok(covered.first <= e.from && covered.last === e.to - 1n, `${what}: ${k} records [${covered.first}, ${covered.last}], want [${e.from}, ${e.to})`);
            } else {
              assert.equal(covered, null, `${what}: ${k} records where none are due`);
            }
          }
        };
        const fullWant = (named: readonly ModelPartition[], v: number) => {
          const want = new Map<string, Expected>();
          for (const mp of named) {
            const e = expect(mp, v);
            noteSent(mp, e);
            want.set(partKey(mp.key, mp.partition), e);
          }
          return want;
        };
        /** Distinct partitions, the last entry of a repeated one winning (as in a request's map). */
        const distinct = (list: ModelPartition[]) => [...new Map(list.map((mp) => [partKey(mp.key, mp.partition), mp])).values()];

        const incremental = async (s: Slot, conn: BrokerConnection, named: ModelPartition[], forget: ModelPartition[], what: string) => {
          const v = s.version;
          if (s.id === 0) {
            const id = s.deadId !== 0 ? s.deadId : 0x7ffffff0;
            const res = await conn.request<FetchResponse>(1, request(v, id, 1, named, forget), { version: v });
            assert.equal(res.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND, `${what}: session ${id} is gone`);
            return;
          }
          const res = await conn.request<FetchResponse>(1, request(v, s.id, s.nextEpoch, named, forget), { version: v });
          for (const mp of named) {
            const k = partKey(mp.key, mp.partition);
            const old = s.parts.get(k);
            if (old !== undefined) {
              old.fetchOffset = mp.fetchOffset;
              old.leaderEpoch = mp.leaderEpoch;
            } else {
              s.parts.set(k, mp);
            }
          }
          for (const mp of forget) s.parts.delete(partKey(mp.key, mp.partition));
          if (s.parts.size === 0) {
            // emptied: closed, answered as a sessionless fetch of the partitions named
            assert.equal(res.sessionId, 0, `${what}: an emptied session is closed`);
            check(res, v, fullWant(named, v), what);
            s.deadId = s.id;
            s.id = 0;
            return;
          }
          assert.equal(res.sessionId, s.id, `${what}: session id`);
          s.nextEpoch = s.nextEpoch >= 0x7fffffff ? 1 : s.nextEpoch + 1;
          const want = new Map<string, Expected>();
          for (const mp of s.parts.values()) {
            const e = expect(mp, v);
            if (hasNews(mp, e)) want.set(partKey(mp.key, mp.partition), e);
            noteSent(mp, e);
          }
          check(res, v, want, what);
        };

        for (const [i, op] of ops.entries()) {
          const what = `op ${i} ${JSON.stringify(op)}`;
          if (op.k === "produce") {
            const topic = topics[op.t];
            if (!topic.exists) continue;
            const bb = new BatchBuilder(1024);
            bb.reset({});
            for (let r = 0; r < op.n; r++) bb.append(0, null, new TextEncoder().encode(`r${r}`));
            const res = await admin.request<{ responses: { partitionResponses: { errorCode: number; baseOffset: bigint }[] }[] }>(0, { transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: topic.name, partitionData: [{ index: op.p, records: bb.finish() }] }] }, { version: 9 });
            const pr = res.responses[0].partitionResponses[0];
            assert.equal(pr.errorCode, 0, `${what}: produce`);
            assert.equal(pr.baseOffset, topic.hw[op.p], `${what}: produce base offset`);
            topic.hw[op.p] += BigInt(op.n);
          } else if (op.k === "deleteRecords") {
            const topic = topics[op.t];
            if (!topic.exists) continue;
            const hw = topic.hw[op.p];
            const to = BigInt(Math.min(Math.floor(op.frac * Number(hw + 1n)), Number(hw))); // at most the high watermark
            const res = await admin.request<{ topics: { partitions: { errorCode: number; lowWatermark: bigint }[] }[] }>(21, { topics: [{ name: topic.name, partitions: [{ partitionIndex: op.p, offset: to }] }], timeoutMs: 5000 });
            const pr = res.topics[0].partitions[0];
            assert.equal(pr.errorCode, 0, `${what}: delete records`);
            if (to > topic.logStart[op.p]) topic.logStart[op.p] = to;
            assert.equal(pr.lowWatermark, topic.logStart[op.p], `${what}: low watermark`);
          } else if (op.k === "delete") {
            const topic = topics[op.t];
            if (!topic.exists) continue;
            const res = await admin.request<{ responses: { errorCode: number }[] }>(20, { topicNames: [topic.name], timeoutMs: 30_000 }, { version: 5 });
            assert.equal(res.responses[0].errorCode, 0, `${what}: delete topic`);
            await goneForFetches(admin, topic.name);
            topic.exists = false;
          } else if (op.k === "recreate") {
            const topic = topics[op.t];
            if (topic.exists) continue;
            topic.id = await createTopic(topic.name);
            topic.exists = true;
            topic.hw.fill(0n);
            topic.logStart.fill(0n);
          } else if (op.k === "allIncremental") {
            // every live session fetches at once, over both connections
            await Promise.all(slots.filter((s) => s.id !== 0).map((s, j) => incremental(s, SESSIONS_PER_THREAD ? conns[slots.indexOf(s) % 2] : conns[j % 2], [], [], `${what} slot ${slots.indexOf(s)}`)));
          } else {
            const s = slots[op.slot];
            const conn = conns[SESSIONS_PER_THREAD ? op.slot % 2 : op.conn];
            const v = s.version;
            const named = distinct(op.named.map((n) => modelPart(n.t, n.p, n.at, n.le, v)));
            const forget = op.forget.map((f) => modelPart(f.t, f.p, 0, -1, v));
            if (op.how === "sessionless" || (op.how === "close" && s.id === 0)) {
              const res = await conn.request<FetchResponse>(1, request(v, 0, -1, named, []), { version: v });
              assert.equal(res.sessionId, 0, `${what}: sessionless`);
              check(res, v, fullWant(named, v), what);
            } else if (op.how === "open" || op.how === "reopen") {
              const closing = op.how === "reopen" && s.id !== 0;
              const res = await conn.request<FetchResponse>(1, request(v, closing ? s.id : 0, 0, named, []), { version: v });
              assert.notEqual(res.sessionId, 0, `${what}: a session opens`);
              check(res, v, fullWant(named, v), what);
              if (closing && res.sessionId !== s.id) s.deadId = s.id;
              s.id = res.sessionId ?? 0;
              s.nextEpoch = 1;
              s.parts = new Map(named.map((mp) => [partKey(mp.key, mp.partition), mp]));
            } else if (op.how === "close") {
              const res = await conn.request<FetchResponse>(1, request(v, s.id, -1, named, []), { version: v });
              assert.equal(res.sessionId, 0, `${what}: closing answers sessionless`);
              check(res, v, fullWant(named, v), what);
              s.deadId = s.id;
              s.id = 0;
            } else if (op.how === "wrongEpoch" && s.id !== 0) {
              const res = await conn.request<FetchResponse>(1, request(v, s.id, s.nextEpoch + 1 + op.named.length, named, forget), { version: v });
              assert.equal(res.errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH, `${what}: wrong epoch`);
              assert.equal(res.responses.length, 0, `${what}: an error answer has no partitions`);
            } else if (op.how === "staleId" && s.deadId !== 0 && s.deadId !== s.id) {
              // a session this slot closed (or replaced at epoch 0) is gone, whatever epoch is named
              const res = await conn.request<FetchResponse>(1, request(v, s.deadId, 1, named, forget), { version: v });
              assert.equal(res.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND, `${what}: closed session ${s.deadId}`);
            } else if (op.how === "zeroIdEpoch") {
              const res = await conn.request<FetchResponse>(1, request(v, 0, 1 + op.named.length, named, forget), { version: v });
              assert.equal(res.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND, `${what}: no session has id 0`);
            } else if (op.how === "otherMode" && s.id !== 0) {
              // the same session at a version across v13: its partitions are keyed the other way
              const other = v >= 13 ? 12 : 13;
              const res = await conn.request<FetchResponse>(1, request(other, s.id, s.nextEpoch, [], []), { version: other });
              assert.equal(res.errorCode, ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR, `${what}: session id mode`);
            } else {
              await incremental(s, conn, named, forget, what);
            }
          }
        }
        // Close what this run left open (sessions are kept by the broker, not by the connection): later runs find
        // the cache as free as this one did, and a young session is never evicted for a new one.
        for (const [j, s] of slots.entries()) {
          if (s.id === 0) continue;
          const res = await conns[SESSIONS_PER_THREAD ? j % 2 : 0].request<FetchResponse>(1, request(s.version, s.id, -1, [], []), { version: s.version });
          assert.equal(res.sessionId, 0, `closing slot ${j}'s session ${s.id}`);
        }
      }),
      { numRuns: RUNS },
    );
  } finally {
    for (const c of conns) c.close();
    await b.stop();
  }
});

/** Waits until every partition of `name` has a leader that serves fetches (at once on Runnel; Kafka takes a moment). */
async function leadersKnown(conn: BrokerConnection, name: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const m = await conn.request<{ topics: { errorCode: number; partitions: { leaderId: number }[] }[] }>(3, { topics: [{ name }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    const t = m.topics[0];
    if (t.errorCode === 0 && t.partitions.length === PARTITIONS && t.partitions.every((p) => p.leaderId >= 0)) {
      // and the leader serves fetches of them (a sessionless fetch answers every partition without an error)
      const partitions = Array.from({ length: PARTITIONS }, (_, p) => ({ partition: p, fetchOffset: 0n, partitionMaxBytes: 1024 }));
      const f = await conn.request<FetchResponse>(1, { replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [{ topic: name, partitions }], forgottenTopicsData: [], rackId: "" }, { version: 12 });
      if (f.responses.length === 1 && f.responses[0].partitions.every((p) => p.errorCode === 0)) return;
    }
    assert.ok(attempt < 1000, `no leaders for ${name}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits until a fetch of deleted topic `name` fails (at once on Runnel; Kafka's brokers learn it a moment later). */
async function goneForFetches(conn: BrokerConnection, name: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const f = await conn.request<FetchResponse>(1, { replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [{ topic: name, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1024 }] }], forgottenTopicsData: [], rackId: "" }, { version: 12 });
    if (f.responses[0].partitions[0].errorCode !== 0) return;
    assert.ok(attempt < 1000, `${name} still served after its deletion`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** First and last offsets of the record batches in `records` (which must follow one another), or null if none. */
function batchesCover(records: Uint8Array | null): { first: bigint; last: bigint } | null {
  if (records === null || records.length === 0) return null;
  const dv = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let pos = 0;
  let first = -1n;
  let next = -1n;
  while (pos + 12 <= records.length) {
    const base = dv.getBigInt64(pos);
    const len = dv.getInt32(pos + 8);
    if (pos + 12 + len > records.length) break; // a partial batch at the end (Kafka may send one)
    const lastDelta = dv.getInt32(pos + 23);
    if (first < 0n) first = base;
    else assert.equal(base, next, "batches follow one another");
    next = base + BigInt(lastDelta) + 1n;
    pos += 12 + len;
  }
  return first < 0n ? null : { first, last: next - 1n };
}
