/**
 * Randomized differential test of what must survive a broker restart: fast-check generates sequences of requests
 * with "restart" operations among them, the same sequence runs on Apache Kafka 4.4 and on Runnel (a node process,
 * sharded under RUNNEL_TEST_SHARDS=2), and after each restart the whole observable state of the run is read back on
 * both sides and compared field by field (differential.ts's normalisation, INTENTIONAL_DIFFERENCES).
 *
 * The state a run builds: two topics (one created with 2 partitions and retention.ms=-1, later perhaps grown by
 * CreatePartitions, its configs changed by IncrementalAlterConfigs or AlterConfigs, its log start moved by
 * DeleteRecords), three producers (a transactional one with a long transaction timeout, whose open transaction
 * stays open across a restart; a transactional one with a short timeout, whose open transaction times out after
 * the restart and is aborted; an idempotent one, whose next batch after a restart must pass the sequence check and
 * whose last batch sent again must be answered as a duplicate), and two classic groups (OffsetCommit, OffsetDelete,
 * DeleteGroups, a JoinGroup that only gets MEMBER_ID_REQUIRED, a member that joins and syncs and may leave,
 * TxnOffsetCommit inside a transaction).
 *
 * A restart stops both brokers and starts them again on their data: SIGTERM on both, or SIGKILL on Runnel (Kafka
 * still stopped cleanly: everything Runnel acknowledged must survive a process kill, since the page cache does). After
 * it, both sides are polled (bounded) until they serve again (topics led, coordinators loaded), then the snapshot:
 * ListGroups, DescribeGroups, OffsetFetch (also requireStable), DescribeTransactions, ListTransactions,
 * DescribeProducers, the topics' dynamic configs (DescribeConfigs), Metadata, ListOffsets (earliest, latest at both
 * isolation levels) and every batch header by Fetch at both isolation levels with the aborted transactions. The
 * short-timeout transaction is waited for until it has left Ongoing (its abort time is each broker's timer).
 * Normalised beyond differential.ts: leader and coordinator epochs (Kafka's controller bumps them at each restart),
 * and after a SIGKILL of Runnel a log start (and so a last stable offset) below what DeleteRecords acknowledged,
 * which Kafka's lazy log-start checkpoint may lose in a crash too.
 *
 * Restarting Kafka costs seconds: by default one run with one restart (RESTART_ORACLE_RUNS and
 * RESTART_ORACLE_RESTARTS for more; RESTART_ORACLE_SEED, RESTART_ORACLE_PATH or RESTART_ORACLE_CASE replay one).
 * Shrinking is off (each step would restart both brokers again): a failure prints the whole case.
 */
import fc from "fast-check";
import { assertSame, SHARED_SETTINGS } from "./differential.ts";
import { batch, fetchBatchHeaders } from "./scenario-helpers.ts";
import { restartBoth, restartDifferences, restartSuite, type RestartableNode, type Versions } from "./restartable-nodes.ts";
import { checkRandomCases } from "./random-cases.ts";
import { RawClient } from "../support/raw-client.ts";

/**
 * fast-check runs (each on its own topics, ids and groups). A Kafka restart takes 6-20 s here (two cores shared,
 * load 7-10), most of a run's time: one run with one restart by default keeps the file near 40 s with Kafka's start.
 */
const RUNS = Number(process.env.RESTART_ORACLE_RUNS ?? 1);
/** Restarts in a run (RESTART_ORACLE_RESTARTS for more). */
const RESTARTS = Number(process.env.RESTART_ORACLE_RESTARTS ?? 1);
/** Longest operation sequence of a run between two restarts. */
const MAX_OPS = Number(process.env.RESTART_ORACLE_OPS ?? 14);
/** The topic's partitions at creation (CreatePartitions may grow it to 3). */
const PARTITIONS = 2;
/** The short transaction timeout (ms) of producer slot 1: its open transaction is aborted after a restart. */
const SHORT_TXN_TIMEOUT_MS = 3000;
/** Settings both brokers get on top of SHARED_SETTINGS: timed-out transactions aborted soon after their timeout. */
const SETTINGS: Record<string, string> = { ...SHARED_SETTINGS, "transaction.abort.timed.out.transaction.cleanup.interval.ms": "300" };
/** Retriable while a coordinator loads or a leader is not there yet: COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR, NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION (a topic not loaded yet is checked before). */
const LOADING = [14, 15, 16, 6, 5];

type ProduceKind = "next" | "retry" | "gap";
type Op =
  | { k: "restart"; kill: boolean }
  | { k: "write"; slot: 0 | 1; t: number; p: number; n: number }
  | { k: "end"; slot: 0 | 1; commit: boolean }
  | { k: "txnOffsets"; slot: 0 | 1; g: number; p: number; offset: number }
  | { k: "produce"; t: number; p: number; n: number; how: ProduceKind }
  | { k: "commit"; g: number; t: number; p: number; offset: number; meta: string | null }
  | { k: "offsetDelete"; g: number; t: number; p: number }
  | { k: "deleteGroup"; g: number }
  | { k: "joinOnly"; g: number }
  | { k: "joinSync"; g: number }
  | { k: "leave"; g: number }
  | { k: "alter"; t: number; key: string; value: string | null; legacy: boolean }
  | { k: "grow"; t: number }
  | { k: "deleteRecords"; t: number; p: number; back: number };

const T = fc.nat(1);
const P = fc.nat(2);
const G = fc.nat(1);
const SLOT = fc.constantFrom(0 as const, 1 as const);
/** Topic configs whose change has no timing effect (no retention or compaction runs because of them). */
const CONFIGS: [string, string[]][] = [
  ["max.message.bytes", ["100000", "2000000"]],
  ["min.cleanable.dirty.ratio", ["0.3", "0.9"]],
  ["delete.retention.ms", ["1000", "7200000"]],
  ["index.interval.bytes", ["8192"]],
  ["min.compaction.lag.ms", ["5"]],
];
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant("write" as const), slot: SLOT, t: T, p: P, n: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("end" as const), slot: SLOT, commit: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("txnOffsets" as const), slot: SLOT, g: G, p: P, offset: fc.nat(9) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant("produce" as const), t: T, p: P, n: fc.integer({ min: 1, max: 3 }), how: fc.constantFrom<ProduceKind>("next", "next", "next", "retry", "gap") }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("commit" as const), g: G, t: T, p: P, offset: fc.nat(9), meta: fc.constantFrom(null, "", "m1") }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("offsetDelete" as const), g: G, t: T, p: P }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("deleteGroup" as const), g: G }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("joinOnly" as const), g: G }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("joinSync" as const), g: G }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("leave" as const), g: G }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant("alter" as const),
      t: T,
      key: fc.constantFrom(...CONFIGS.map(([k]) => k)),
      pick: fc.nat(3),
      legacy: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    }).map(({ k, t, key, pick, legacy }) => {
      const values = CONFIGS.find(([x]) => x === key)![1];
      return { k, t, key, legacy, value: pick >= values.length + 1 ? null : values[pick % values.length] };
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("grow" as const), t: T }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("deleteRecords" as const), t: T, p: P, back: fc.nat(4) }) },
);
/** A run: ops, then RESTARTS times a restart (SIGTERM, or SIGKILL on Runnel) and more ops. */
const caseArb = fc.record({
  phases: fc.array(fc.array(opArb, { minLength: 2, maxLength: MAX_OPS }), { minLength: RESTARTS + 1, maxLength: RESTARTS + 1 }),
  kills: fc.array(fc.boolean(), { minLength: RESTARTS, maxLength: RESTARTS }),
});
type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

const pause = (ms: number) => new Promise((res) => setTimeout(res, ms));

type Node = RestartableNode;

/** One producer as a side sees it. */
interface Slot {
  tid: string | null;
  timeoutMs: number;
  pid: bigint;
  epoch: number;
  seq: Map<string, number>;
  last: Map<string, { seq: number; n: number }>;
}

/** What a side remembers between operations of a run (its own member ids and producer ids). */
interface SideState {
  slots: Slot[];
  members: (string | null)[];
  generations: number[];
}

/** Everything one side answers in one run, op by op, with a snapshot after each restart and at the end. */
class SideRun {
  readonly out: unknown[] = [];
  c!: RawClient;
  readonly st: SideState = { slots: [], members: [null, null], generations: [-1, -1] };
  /** The log start each DeleteRecords acknowledged, by "topic/partition". */
  private readonly deletedTo = new Map<string, bigint>();
  /**
   * Partitions whose acknowledged DeleteRecords log start a SIGKILL may have lost: Kafka writes log starts to
   * log-start-offset-checkpoint only every log.flush.start.offset.checkpoint.interval.ms (60 s), so a crashed Kafka
   * may fall back to its first segment's start too. There the log start is compared as at least the acknowledged one.
   */
  private readonly startMayBeLost = new Set<string>();

  /**
   * @param t0 the records' base timestamp, the same on both sides (the same bytes stored): an hour before the run,
   * so a marker's timestamp (each broker's clock, later than t0 + 60 s) is told apart from a batch's, and far from
   * producer.id.expiration.ms (a day), which would drop the producers from a snapshot as each restart loads it.
   */
  constructor(readonly node: Node, readonly run: number, readonly V: Versions, readonly t0: number) {}

  get topics(): string[] {
    return [0, 1].map((t) => `rs-${this.run}-t${t}`);
  }
  get groups(): string[] {
    return [0, 1].map((g) => `rs-${this.run}-g${g}`);
  }
  get tids(): string[] {
    return [0, 1].map((s) => `rs-${this.run}-tx${s}`);
  }

  async connect(): Promise<void> {
    this.c?.close();
    this.c = await RawClient.connect(this.node.port);
    this.c.lenient = true;
    this.c.timeoutMs = 30_000;
  }

  /** Sends until the answer's error (by `code`) is not one of LOADING (bounded: 30 s). */
  async retrying(send: () => Promise<any>, code: (r: any) => number): Promise<any> {
    for (let i = 0; ; i++) {
      const r = await send();
      if (!LOADING.includes(code(r)) || i === 600) return r;
      await pause(50);
    }
  }

  async initProducer(tid: string | null, timeoutMs: number): Promise<any> {
    return this.retrying(
      () => this.c.request(22, 4, { transactionalId: tid, transactionTimeoutMs: timeoutMs, producerId: -1n, producerEpoch: -1 }),
      (r) => (r.errorCode === 51 ? 14 : r.errorCode),
    );
  }

  async setup(): Promise<void> {
    await this.connect();
    for (const [i, t] of this.topics.entries()) {
      const r = await this.c.request(19, 5, { topics: [{ name: t, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: i === 0 ? [{ name: "retention.ms", value: "-1" }] : [] }], timeoutMs: 30000, validateOnly: false });
      if (r.topics[0].errorCode !== 0) throw new Error(`${this.node.name}: create ${t}: ${r.topics[0].errorCode}`);
    }
    await this.serving();
    for (const [i, tid] of [...this.tids, null].entries()) {
      const timeoutMs = i === 1 ? SHORT_TXN_TIMEOUT_MS : 60_000;
      const r = await this.initProducer(tid, timeoutMs);
      this.out.push({ init: i, errorCode: r.errorCode, epoch: r.producerEpoch });
      this.st.slots.push({ tid, timeoutMs, pid: r.producerId, epoch: r.producerEpoch, seq: new Map(), last: new Map() });
    }
  }

  /** Polls (bounded) until every partition of the run's topics answers ListOffsets and the coordinators answer. */
  async serving(): Promise<void> {
    for (let i = 0; i < 600; i++) {
      const lo = await this.c.request(2, this.V(2), { replicaId: -1, isolationLevel: 0, topics: this.topics.map((name) => ({ name, partitions: [0, 1].map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: -1n })) })) });
      const coords = await this.c.request(10, 4, { keyType: 0, coordinatorKeys: this.groups });
      const txCoords = await this.c.request(10, 4, { keyType: 1, coordinatorKeys: this.tids });
      const ok = lo.topics.every((t: any) => t.partitions.every((p: any) => p.errorCode === 0)) && [...coords.coordinators, ...txCoords.coordinators].every((c: any) => c.errorCode === 0);
      if (ok) {
        // the coordinators are found; wait until they have loaded their partitions too
        const g = await this.c.request(15, this.V(15), { groups: this.groups, includeAuthorizedOperations: false });
        const d = await this.c.request(65, this.V(65), { transactionalIds: this.tids });
        if (g.groups.every((x: any) => !LOADING.includes(x.errorCode)) && d.transactionStates.every((x: any) => !LOADING.includes(x.errorCode))) return;
      }
      await pause(50);
    }
    throw new Error(`${this.node.name}: not serving the run's topics and coordinators after 30 s`);
  }

  /** Polls (bounded) until no transaction of the run is in Prepare*, and (when `timedOut`) slot 1's has left Ongoing. */
  async settle(timedOut: boolean): Promise<void> {
    for (let i = 0; i < 400; i++) {
      const d = await this.c.request(65, this.V(65), { transactionalIds: this.tids });
      const busy = d.transactionStates.some((t: any) => String(t.transactionState).startsWith("Prepare") || (timedOut && t.transactionalId === this.tids[1] && t.transactionState === "Ongoing"));
      if (!busy) return;
      await pause(50);
    }
    throw new Error(`${this.node.name}: a transaction of run ${this.run} did not settle in 20 s`);
  }

  /** The partition read from its log start offset (ListOffsets earliest) at `isolationLevel`. */
  async fetchAll(topic: string, partition: number, isolationLevel: number): Promise<unknown> {
    const lo = await this.c.request(2, this.V(2), { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -2n }] }] });
    const p = lo.topics[0].partitions[0];
    if (p.errorCode !== 0) return { errorCode: p.errorCode };
    const r = await fetchBatchHeaders(this.c, this.V(1, 12), topic, partition, isolationLevel, this.logStart(topic, partition, p.offset));
    return { ...r, lastStableOffset: this.logStart(topic, partition, r.lastStableOffset) };
  }

  /**
   * The log start `earliest` a broker answered, or the acknowledged one where a SIGKILL may have lost it and did. The
   * same for a last stable offset: it is at least the log start (an open transaction that began below it).
   */
  logStart(topic: string, partition: number, earliest: bigint): bigint {
    const key = `${topic}/${partition}`;
    const acked = this.deletedTo.get(key);
    return this.startMayBeLost.has(key) && acked !== undefined && earliest < acked ? acked : earliest;
  }

  /** Notes a restart of this side's broker (`killed`: by SIGKILL). */
  restarted(killed: boolean): void {
    if (killed) for (const key of this.deletedTo.keys()) this.startMayBeLost.add(key);
  }

  /** The run's whole observable state. */
  async snapshot(when: string): Promise<void> {
    const s: Record<string, unknown> = { when };
    const lg = await this.retrying(() => this.c.request(16, this.V(16), { statesFilter: [], typesFilter: [] }), (r) => r.errorCode);
    s.listGroups = { errorCode: lg.errorCode, groups: lg.groups.filter((g: any) => this.groups.includes(g.groupId)) };
    const dg = await this.c.request(15, this.V(15), { groups: this.groups, includeAuthorizedOperations: false });
    s.describeGroups = dg.groups;
    const parts = [0, 1, 2];
    for (const requireStable of [false, true]) {
      const of = await this.c.request(9, this.V(9, 9), { groups: this.groups.map((groupId) => ({ groupId, memberId: null, memberEpoch: -1, topics: this.topics.map((name) => ({ name, partitionIndexes: parts })) })), requireStable });
      s[`offsetFetch stable=${requireStable}`] = of.groups;
    }
    const dt = await this.c.request(65, this.V(65), { transactionalIds: this.tids });
    s.describeTransactions = dt.transactionStates.map((t: any) => ({ ...t, topics: t.topics.map((x: any) => ({ ...x, partitions: [...x.partitions].sort() })) }));
    const lt = await this.c.request(66, this.V(66), { stateFilters: [], producerIdFilters: [], durationFilter: -1n, transactionalIdPattern: null });
    s.listTransactions = { errorCode: lt.errorCode, states: lt.transactionStates.filter((t: any) => this.tids.includes(t.transactionalId)).sort((a: any, b: any) => a.transactionalId.localeCompare(b.transactionalId)) };
    const dp = await this.c.request(61, this.V(61), { topics: this.topics.map((name) => ({ name, partitionIndexes: parts })) });
    // by what is compared (the producer ids differ); a producer whose last write was a marker has the broker's clock
    // The coordinator epoch of a marker is its __transaction_state partition's leader epoch, which Kafka's controller
    // bumps at each restart (INTENTIONAL_DIFFERENCES, RandomRestarts .leaderEpoch): only whether a marker set it.
    const entry = (a: any) => ({
      ...a,
      producerId: undefined,
      lastTimestamp: a.lastTimestamp >= BigInt(this.t0 + 60_000) ? "marker (broker clock)" : a.lastTimestamp,
      coordinatorEpoch: a.coordinatorEpoch >= 0 ? "a marker's (leader epoch)" : a.coordinatorEpoch,
    });
    s.describeProducers = dp.topics.map((t: any) => ({ ...t, partitions: t.partitions.map((x: any) => ({ ...x, activeProducers: x.activeProducers.map((a: any) => JSON.stringify(entry(a), (_k, v) => (typeof v === "bigint" ? `${v}n` : v))).sort() })) }));
    const dc = await this.c.request(32, this.V(32), { resources: this.topics.map((resourceName) => ({ resourceType: 2, resourceName, configurationKeys: null })), includeSynonyms: false, includeDocumentation: false });
    // the topics' own configs (DYNAMIC_TOPIC_CONFIG): the defaults are each broker's
    s.describeConfigs = dc.results.map((r: any) => ({ errorCode: r.errorCode, resourceName: r.resourceName, configs: r.configs.filter((c: any) => c.configSource === 1) }));
    const md = await this.c.request(3, this.V(3, 12), { topics: this.topics.map((name) => ({ name, topicId: new Uint8Array(16) })), allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    s.metadata = md.topics.map((t: any) => ({ name: t.name, errorCode: t.errorCode, isInternal: t.isInternal, partitions: t.partitions.map((p: any) => ({ partitionIndex: p.partitionIndex, errorCode: p.errorCode })) }));
    const lo: Record<string, unknown> = {};
    for (const [what, isolationLevel, timestamp] of [["earliest", 0, -2n], ["latest", 0, -1n], ["latest committed", 1, -1n]] as const) {
      const r = await this.c.request(2, this.V(2), { replicaId: -1, isolationLevel, topics: this.topics.map((name) => ({ name, partitions: parts.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp })) })) });
      lo[what] = what === "latest" ? r.topics : r.topics.map((t: any) => ({ ...t, partitions: t.partitions.map((p: any) => (p.errorCode !== 0 ? p : { ...p, offset: this.logStart(t.name, p.partitionIndex, p.offset) })) }));
    }
    s.listOffsets = lo;
    const fetched: Record<string, unknown> = {};
    for (const t of this.topics) for (const p of parts) for (const iso of [0, 1]) fetched[`${t.slice(-2)} p${p} isolation=${iso}`] = await this.fetchAll(t, p, iso);
    s.fetch = fetched;
    this.out.push({ snapshot: s });
  }

  async op(op: Op): Promise<void> {
    const st = this.st;
    switch (op.k) {
      case "restart":
        return; // the caller restarts both nodes
      case "write": {
        const slot = st.slots[op.slot];
        const topic = this.topics[op.t];
        const a = await this.c.request(24, this.V(24, 3), { v3AndBelowTransactionalId: slot.tid, v3AndBelowProducerId: slot.pid, v3AndBelowProducerEpoch: slot.epoch, v3AndBelowTopics: [{ name: topic, partitions: [op.p] }] });
        if (a.errorCode === 47 || a.errorCode === 90) {
          // fenced (the timeout aborted its transaction and bumped the epoch): as a client, start over
          this.out.push({ op, addErrorCode: a.errorCode });
          await this.reinit(op.slot);
          return;
        }
        await this.produce(op, slot, topic, op.p, op.n, "next", { add: a.resultsByTopicV3AndBelow, errorCode: a.errorCode });
        return;
      }
      case "produce":
        await this.produce(op, st.slots[2], this.topics[op.t], op.p, op.n, op.how, {});
        return;
      case "end": {
        const slot = st.slots[op.slot];
        const r = await this.c.request(26, this.V(26, 4), { transactionalId: slot.tid, producerId: slot.pid, producerEpoch: slot.epoch, committed: op.commit });
        this.out.push({ op, errorCode: r.errorCode });
        await this.settle(false);
        if (r.errorCode === 47 || r.errorCode === 90) await this.reinit(op.slot); // fenced (the timeout aborted it): as a client, start over
        return;
      }
      case "txnOffsets": {
        const slot = st.slots[op.slot];
        const group = this.groups[op.g];
        const a = await this.c.request(25, this.V(25), { transactionalId: slot.tid, producerId: slot.pid, producerEpoch: slot.epoch, groupId: group });
        const t = a.errorCode !== 0 ? null : await this.retrying(
          () => this.c.request(28, this.V(28), { transactionalId: slot.tid, groupId: group, producerId: slot.pid, producerEpoch: slot.epoch, generationId: -1, memberId: "", groupInstanceId: null, topics: [{ name: this.topics[0], partitions: [{ partitionIndex: op.p, committedOffset: BigInt(op.offset), committedLeaderEpoch: -1, committedMetadata: null }] }] }),
          (r) => r.topics[0].partitions[0].errorCode,
        );
        this.out.push({ op, addOffsets: a.errorCode, txnOffsetCommit: t?.topics });
        return;
      }
      case "commit": {
        const r = await this.retrying(
          () => this.c.request(8, this.V(8, 9), { groupId: this.groups[op.g], generationIdOrMemberEpoch: -1, memberId: "", groupInstanceId: null, retentionTimeMs: -1n, topics: [{ name: this.topics[op.t], partitions: [{ partitionIndex: op.p, committedOffset: BigInt(op.offset), committedLeaderEpoch: -1, committedMetadata: op.meta }] }] }),
          (x) => x.topics[0].partitions[0].errorCode,
        );
        this.out.push({ op, r: r.topics });
        return;
      }
      case "offsetDelete": {
        const r = await this.retrying(() => this.c.request(47, this.V(47), { groupId: this.groups[op.g], topics: [{ name: this.topics[op.t], partitions: [{ partitionIndex: op.p }] }] }), (x) => x.errorCode);
        this.out.push({ op, r });
        return;
      }
      case "deleteGroup": {
        const r = await this.retrying(() => this.c.request(42, this.V(42), { groupsNames: [this.groups[op.g]] }), (x) => x.results[0].errorCode);
        this.out.push({ op, r: r.results });
        if (r.results[0].errorCode === 0) st.members[op.g] = null;
        return;
      }
      case "joinOnly": {
        const r = await this.retrying(() => this.join(op.g, ""), (x) => x.errorCode);
        this.out.push({ op, errorCode: r.errorCode });
        return;
      }
      case "joinSync": {
        if (st.members[op.g] !== null) {
          this.out.push({ op, skipped: "a member already" });
          return;
        }
        let r = await this.retrying(() => this.join(op.g, ""), (x) => x.errorCode);
        if (r.errorCode === 79) r = await this.join(op.g, r.memberId);
        const answers: unknown[] = [{ join: r.errorCode, generation: r.generationId, protocol: r.protocolName, members: r.members.length }];
        if (r.errorCode === 0) {
          st.members[op.g] = r.memberId;
          st.generations[op.g] = r.generationId;
          const s = await this.c.request(14, this.V(14), { groupId: this.groups[op.g], generationId: r.generationId, memberId: r.memberId, groupInstanceId: null, protocolType: "consumer", protocolName: "range", assignments: [{ memberId: r.memberId, assignment: new Uint8Array([7, 7]) }] });
          answers.push({ sync: s.errorCode, assignment: s.assignment });
        }
        this.out.push({ op, answers });
        return;
      }
      case "leave": {
        const m = st.members[op.g];
        if (m === null) return;
        const r = await this.c.request(13, this.V(13), { groupId: this.groups[op.g], memberId: m, members: [{ memberId: m, groupInstanceId: null, reason: null }] });
        this.out.push({ op, r });
        st.members[op.g] = null;
        return;
      }
      case "alter": {
        const resourceName = this.topics[op.t];
        const r = op.legacy
          ? await this.c.request(33, this.V(33), { resources: [{ resourceType: 2, resourceName, configs: op.value === null ? [] : [{ name: op.key, value: op.value }] }], validateOnly: false })
          : await this.c.request(44, this.V(44), { resources: [{ resourceType: 2, resourceName, configs: [{ name: op.key, configOperation: op.value === null ? 1 : 0, value: op.value }] }], validateOnly: false });
        this.out.push({ op, r: r.responses });
        return;
      }
      case "grow": {
        const r = await this.c.request(37, this.V(37), { topics: [{ name: this.topics[op.t], count: 3, assignments: null }], timeoutMs: 30000, validateOnly: false });
        this.out.push({ op, r: r.results });
        if (r.results[0].errorCode === 0) {
          // the new partition serves once ListOffsets answers on it (Kafka creates it asynchronously)
          for (let i = 0; i < 600; i++) {
            const lo = await this.c.request(2, this.V(2), { replicaId: -1, isolationLevel: 0, topics: [{ name: this.topics[op.t], partitions: [{ partitionIndex: 2, currentLeaderEpoch: -1, timestamp: -1n }] }] });
            if (lo.topics[0].partitions[0].errorCode === 0) break;
            await pause(50);
          }
        }
        return;
      }
      case "deleteRecords": {
        const topic = this.topics[op.t];
        const lo = await this.c.request(2, this.V(2), { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: op.p, currentLeaderEpoch: -1, timestamp: -1n }] }] });
        const hw = lo.topics[0].partitions[0].offset as bigint;
        const offset = hw - BigInt(op.back) < 0n ? 0n : hw - BigInt(op.back);
        const r = await this.c.request(21, this.V(21), { topics: [{ name: topic, partitions: [{ partitionIndex: op.p, offset }] }], timeoutMs: 10000 });
        this.out.push({ op, offset, r: r.topics });
        const answered = r.topics[0].partitions[0];
        if (answered.errorCode === 0) this.deletedTo.set(`${topic}/${op.p}`, answered.lowWatermark);
        return;
      }
    }
  }

  join(g: number, memberId: string): Promise<any> {
    return this.c.request(11, this.V(11), { groupId: this.groups[g], sessionTimeoutMs: 120_000, rebalanceTimeoutMs: 60_000, memberId, groupInstanceId: null, protocolType: "consumer", protocols: [{ name: "range", metadata: new Uint8Array([1]) }], reason: null });
  }

  async reinit(i: number): Promise<void> {
    const slot = this.st.slots[i];
    const r = await this.initProducer(slot.tid, slot.timeoutMs);
    this.out.push({ reinit: i, errorCode: r.errorCode, epoch: r.producerEpoch, samePid: r.producerId === slot.pid });
    if (r.errorCode === 0) {
      slot.pid = r.producerId;
      slot.epoch = r.producerEpoch;
      slot.seq.clear();
      slot.last.clear();
    }
  }

  async produce(op: Op, slot: Slot, topic: string, p: number, n0: number, how: ProduceKind, extra: Record<string, unknown>): Promise<void> {
    const key = `${topic}/${p}`;
    let seq = slot.seq.get(key) ?? 0;
    let n = n0;
    const last = slot.last.get(key);
    if (how === "retry" && last) ({ seq, n } = last);
    else if (how === "gap") seq += 2;
    const records = batch(n, { t0: this.t0, producerId: slot.pid, producerEpoch: slot.epoch, baseSequence: seq, isTransactional: slot.tid !== null });
    const r = await this.c.request(0, this.V(0, 11), { transactionalId: slot.tid, acks: -1, timeoutMs: 10000, topicData: [{ name: topic, partitionData: [{ index: p, records }] }] });
    const pr = r.responses[0].partitionResponses[0];
    this.out.push({ op, ...extra, seq, n, r: pr });
    if (pr.errorCode === 0 && seq === (slot.seq.get(key) ?? 0)) {
      slot.last.set(key, { seq, n });
      slot.seq.set(key, seq + n);
    }
    if (pr.errorCode === 47 || pr.errorCode === 90) await this.reinit(slot === this.st.slots[0] ? 0 : 1); // the timeout aborted and fenced it
  }
}

restartSuite("state across broker restarts: random sequences match Apache Kafka", SETTINGS, async (pair) => {
  const { kafka, runnel, V } = pair;
  // RESTART_ORACLE_CASE='{"phases":...}', RESTART_ORACLE_SEED and RESTART_ORACLE_PATH replay one (random-cases.ts)
  await checkRandomCases("RESTART_ORACLE", caseArb, RUNS, async (c, r) => {
    const t0 = Date.now() - 3_600_000;
    const sides = [new SideRun(kafka, r, V, t0), new SideRun(runnel, r, V, t0)] as const;
    try {
      await Promise.all(sides.map((s) => s.setup()));
      for (const [i, phase] of c.phases.entries()) {
        if (i > 0) {
          const kill = c.kills[i - 1];
          await restartBoth(pair, kill, `run ${r} restart ${i}`);
          await Promise.all(sides.map(async (s) => {
            s.restarted(s.node === runnel && kill);
            await s.connect();
            await s.serving();
            await s.settle(true);
            await s.snapshot(`after restart ${i} (${kill ? "Runnel killed" : "both stopped"})`);
          }));
        }
        for (const op of phase) await Promise.all(sides.map((s) => s.op(op)));
      }
      await Promise.all(sides.map((s) => s.snapshot("end")));
      assertSame(`run ${r}`, restartDifferences("RandomRestarts", sides[0].out, sides[1].out));
    } finally {
      for (const s of sides) s.c?.close();
    }
  }, { endOnFailure: true });
});
