/**
 * Randomized differential test of the cluster APIs: fast-check generates sequences of CreateTopics (replication
 * factors 1..4, explicit replica assignments that are valid, name a broker twice, name an unknown broker or give
 * partitions uneven replica counts, min.insync.replicas), CreatePartitions (with and without assignments),
 * AlterPartitionReassignments (moves, reorders, no-ops, cancels, unknown topics and partitions, bad replica lists),
 * ListPartitionReassignments, ElectLeaders (PREFERRED and UNCLEAN, all partitions or named ones), DescribeLogDirs
 * (each broker), DescribeTopicPartitions, Metadata (each broker), DescribeCluster, and acks=all Produce with reads
 * (ListOffsets earliest, latest, max timestamp and by timestamp, whose epochs leader moves make differ; Fetch), and
 * DeleteRecords (offsets below, at and past the high watermark, -1, unknown topics and partitions, routed to the
 * leader or sent to a named follower or a broker holding no replica) followed by the reads that show its effect:
 * every replica's log start offset (ListOffsets EARLIEST with the debugging replica id -2, which followers answer),
 * Fetch just below the log start (OFFSET_OUT_OF_RANGE) and at it, and the same log starts after the leader moves
 * (replicas rotated and a preferred election, or any later election or reassignment); DescribeLogDirs sizes of such
 * partitions only as shape (Kafka deletes the segments below the log start at its next retention check). The
 * same sequence runs on a 3-node Apache Kafka 4.4 KRaft cluster (node ids 1..3, kafka-cluster.ts) and on a
 * 3-broker Runnel cluster on etcd (node ids 1..3), requests routed as a Kafka client routes them
 * (cluster-routing-client.ts), and the answers are compared with the oracle's normalisation (differential.ts). Node
 * ids are the same on both sides, so replica lists, leaders and ISRs are compared as they are, except where each
 * side placed replicas itself (no explicit assignment): there the placement is each controller's choice, and only
 * its shape is compared (replica count, leader is the first replica, ISR is all).
 *
 * Both controllers apply changes asynchronously: after each change that succeeded, each side polls every broker's
 * Metadata, DescribeLogDirs and ListPartitionReassignments (bounded) until all of them show the settled state (the
 * expected replicas, every replica in the ISR, the same view on every broker, each replica's log on its broker and
 * on no other, no reassignment in progress).
 *
 * CLUSTER_ORACLE_RUNS (default 6) and CLUSTER_ORACLE_OPS (default 12) size a run; CLUSTER_ORACLE_SEED replays one;
 * CLUSTER_ORACLE_DUMP=file appends each run's operations and normalized answers to `file` (one JSON line per run).
 */
import { appendFileSync } from "node:fs";
import { after, test } from "node:test";
import fc from "fast-check";
import { commonVersions, diff, INTENTIONAL_DIFFERENCES, normalize, ORACLE_REQUEST_TIMEOUT_MS, SHARED_SETTINGS, startOracleCluster, versionTable } from "./differential.ts";
import { ClusterRoutingClient } from "./cluster-routing-client.ts";
import { batch, T0 } from "./scenario-helpers.ts";
import { KAFKA_DEFAULT_FEATURES, kafkaUnavailable } from "../support/kafka-broker.ts";
import { startKafkaCluster, type KafkaCluster } from "../support/kafka-cluster.ts";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { RawClient } from "../support/raw-client.ts";
import type { TestCluster } from "../support/cluster-processes.ts";

/** fast-check runs (each on its own topic names). */
const RUNS = Number(process.env.CLUSTER_ORACLE_RUNS ?? 6);
/** Longest operation sequence of a run. */
const MAX_OPS = Number(process.env.CLUSTER_ORACLE_OPS ?? 12);
/** Topic names per run. */
const NAMES = 2;
/** Node ids of both clusters. */
const NODES = [1, 2, 3] as const;
/** Longest a side may take to settle after a change (polls of every broker, ms). */
const SETTLE_MS = 30_000;
/**
 * Weight of broker outages among the operations (CLUSTER_ORACLE_OUTAGES; default 0: each costs a Kafka JVM restart,
 * 15-30 s, beyond the default run's time budget).
 */
const OUTAGE_WEIGHT = Number(process.env.CLUSTER_ORACLE_OUTAGES ?? 0);
/** Longest a side may take to show a stopped broker's leaderships and ISR places gone (ms). */
const OUTAGE_MS = 60_000;

/** A replica list as generated: over the three brokers and an unknown one (4), possibly with a repeat. */
const replicasArb = fc.array(fc.constantFrom(1, 2, 3, 4), { minLength: 0, maxLength: 4 });
/** Mostly valid replica lists (distinct known brokers), sometimes any generated one. */
const listArb = fc.oneof(
  { weight: 3, arbitrary: fc.shuffledSubarray([1, 2, 3], { minLength: 1 }) },
  { weight: 1, arbitrary: replicasArb },
);
const nameArb = fc.nat(NAMES - 1);
const vArb = fc.nat(20);
/** min.insync.replicas: mostly valid (also above the replication factor, which Kafka accepts), sometimes 0. */
const misrArb = fc.option(fc.constantFrom("1", "2", "2", "3", "4", "0"), { nil: null, freq: 2 });
/** A valid assignment: every partition on the same number of distinct known brokers. */
const validAssignArb = (maxPartitions: number) =>
  fc.integer({ min: 1, max: 3 }).chain((rf) => fc.array(fc.shuffledSubarray([1, 2, 3], { minLength: rf, maxLength: rf }), { minLength: 1, maxLength: maxPartitions }));
/** An assignment: mostly valid, sometimes with repeated or unknown brokers or uneven replica counts. */
const assignArb = (maxPartitions: number) =>
  fc.oneof({ weight: 4, arbitrary: validAssignArb(maxPartitions) }, { weight: 1, arbitrary: fc.array(listArb, { minLength: 1, maxLength: maxPartitions }) });

type Op =
  | { k: "create"; t: number; n: number; rf: number; assign: number[][] | null; misr: string | null; v: number }
  | { k: "partitions"; t: number; count: number; assign: number[][] | null; v: number }
  | { k: "reassign"; t: number; parts: { p: number; replicas: number[] | null }[]; v: number }
  | { k: "listReassign"; t: number | null; parts: number[]; v: number }
  | { k: "elect"; type: number; t: number | null; parts: number[]; v: number }
  | { k: "logDirs"; t: number; v: number }
  | { k: "dtp"; t: number }
  | { k: "metadata"; t: number; v: number }
  | { k: "cluster"; v: number }
  | { k: "produce"; t: number; p: number; n: number }
  | { k: "read"; t: number; p: number }
  | { k: "deleteRecords"; t: number | null; p: number; n: number; at: number | "hw" | "hw+1"; via: number | null; move: boolean; v: number }
  | { k: "outage"; node: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant("create" as const),
      t: nameArb,
      n: fc.integer({ min: 1, max: 3 }),
      rf: fc.integer({ min: 1, max: 4 }),
      assign: fc.option(assignArb(3), { nil: null }),
      misr: misrArb,
      v: vArb,
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("partitions" as const), t: nameArb, count: fc.integer({ min: 1, max: 4 }), assign: fc.option(assignArb(2), { nil: null }), v: vArb }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant("reassign" as const), t: nameArb, parts: fc.uniqueArray(fc.record({ p: fc.nat(3), replicas: fc.option(listArb, { nil: null, freq: 4 }) }), { minLength: 1, maxLength: 2, selector: (x) => x.p }), v: vArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("listReassign" as const), t: fc.option(nameArb, { nil: null }), parts: fc.uniqueArray(fc.nat(3), { maxLength: 2 }), v: vArb }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("elect" as const), type: fc.constantFrom(0, 1), t: fc.option(nameArb, { nil: null, freq: 4 }), parts: fc.uniqueArray(fc.nat(3), { maxLength: 3 }), v: vArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("logDirs" as const), t: nameArb, v: vArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("dtp" as const), t: nameArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("metadata" as const), t: nameArb, v: vArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("cluster" as const), v: vArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("produce" as const), t: nameArb, p: fc.nat(2), n: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("read" as const), t: nameArb, p: fc.nat(2) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant("deleteRecords" as const),
      // null: a topic that does not exist; partition 3 rarely exists
      t: fc.option(nameArb, { nil: null, freq: 8 }),
      p: fc.oneof({ weight: 4, arbitrary: fc.nat(1) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 3 }) }),
      // records produced first (acks=all), so that the target falls below, at or above the high watermark
      n: fc.nat(3),
      // -1: the high watermark (Kafka's HIGH_WATERMARK); an absolute offset; the high watermark named; one past it
      at: fc.oneof(fc.constant(-1), fc.nat(7), fc.constant("hw" as const), fc.constant("hw+1" as const)),
      // null: routed to the leader; a node id: sent there (leader, follower or no replica), where the replicas are named
      via: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom(1, 2, 3) }),
      // then a leader change (replicas rotated, preferred election) and the log start at the new leader
      move: fc.boolean(),
      v: vArb,
    }),
  },
  ...(OUTAGE_WEIGHT > 0 ? [{ weight: OUTAGE_WEIGHT, arbitrary: fc.record({ k: fc.constant("outage" as const), node: fc.constantFrom(2, 3) }) }] : []),
);
/** A run: each topic name is first created with a mostly valid request, then the random operations. */
const caseArb = fc
  .tuple(fc.array(fc.record({ k: fc.constant("create" as const), t: fc.constant(0), n: fc.integer({ min: 1, max: 3 }), rf: fc.integer({ min: 1, max: 3 }), assign: fc.option(validAssignArb(3), { nil: null }), misr: misrArb, v: vArb }), { minLength: NAMES, maxLength: NAMES }), fc.array(opArb, { minLength: 3, maxLength: MAX_OPS }))
  .map(([creates, ops]): Op[] => [...creates.map((c, t) => ({ ...c, t })), ...ops]);

/** One cluster as the scenario sees it. */
interface ClusterSide {
  name: "kafka" | "runnel";
  /** Routes requests as a Kafka client would (home: node 1). */
  client: ClusterRoutingClient;
  /** A connection to each running node. */
  node: Map<number, RawClient>;
  /** Stops node `id` with SIGTERM (a controlled shutdown on both sides) and drops its connections. */
  stopNode(id: number): Promise<void>;
  /** Starts node `id` again on its data and port, and connects to it anew. */
  startNode(id: number): Promise<void>;
}

/** Both clusters and the API versions both serve. */
interface ClusterPair {
  kafka: KafkaCluster;
  runnel: TestCluster;
  versions(apiKey: number): number[];
  stop(): Promise<void>;
}

async function startClusterPair(): Promise<ClusterPair> {
  const started = await Promise.allSettled([
    // Runnel has no eligible leader replicas (KIP-966): Kafka's cluster is formatted without them, so that ISR
    // changes below min.insync.replicas and unclean elections follow the same (pre-ELR) rules on both sides (and the
    // formatter stores no cluster default min.insync.replicas, so Runnel's cluster gets none either)
    startKafkaCluster({ heap: "384m", features: { ...KAFKA_DEFAULT_FEATURES, "eligible.leader.replicas.version": 0 }, overrides: { ...SHARED_SETTINGS, "offsets.topic.replication.factor": "3", "transaction.state.log.replication.factor": "3" } }),
    startOracleCluster({}, { kafkaElr: false }),
  ] as const);
  const [k, r] = started;
  if (k.status === "rejected" || r.status === "rejected") {
    await Promise.allSettled([k.status === "fulfilled" ? k.value.stop() : null, r.status === "fulfilled" ? r.value.close() : null]);
    throw (k.status === "rejected" ? k : (r as PromiseRejectedResult)).reason;
  }
  const [kv, rv] = await Promise.all([versionTable(k.value.nodes[0].port), versionTable(r.value.brokers[0].port)]);
  return {
    kafka: k.value,
    runnel: r.value,
    versions: (apiKey) => commonVersions(kv, rv, apiKey),
    stop: async () => {
      await Promise.all([k.value.stop(), r.value.close()]);
    },
  };
}

async function connectNode(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  c.lenient = true;
  c.timeoutMs = ORACLE_REQUEST_TIMEOUT_MS;
  return c;
}

function routingClient(ports: ReadonlyMap<number, number>): ClusterRoutingClient {
  const client = new ClusterRoutingClient(ports, 1);
  client.lenient = true;
  client.timeoutMs = ORACLE_REQUEST_TIMEOUT_MS;
  return client;
}

async function openSide(pair: ClusterPair, name: ClusterSide["name"]): Promise<ClusterSide> {
  const ports = name === "kafka" ? pair.kafka.ports : new Map(pair.runnel.brokers.map((b, i) => [i + 1, b.port]));
  const node = new Map<number, RawClient>();
  for (const [id, port] of ports) node.set(id, await connectNode(port));
  const side: ClusterSide = {
    name,
    client: routingClient(ports),
    node,
    async stopNode(id) {
      node.get(id)?.close();
      node.delete(id);
      // the routing client keeps a connection per node: a new one connects to the running nodes only when asked
      side.client.close();
      side.client = routingClient(ports);
      if (name === "kafka") await pair.kafka.stopNode(id);
      else await pair.runnel.brokers[id - 1].stop("SIGTERM");
    },
    async startNode(id) {
      if (name === "kafka") await pair.kafka.startNode(id);
      else await pair.runnel.restart(id, { samePort: true });
      node.set(id, await connectNode(ports.get(id)!));
      side.client.close();
      side.client = routingClient(ports);
    },
  };
  return side;
}

function closeSide(s: ClusterSide): void {
  s.client.close();
  for (const c of s.node.values()) c.close();
}

const pause = (ms: number) => new Promise((res) => setTimeout(res, ms));
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const same = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * What the scenario knows of a partition: its replicas when they were named (exact); null when the controller placed
 * them; MOVED when it placed them and a reassignment named them since (the leader and its epoch then depend on where
 * each controller had placed it: the old leader may stay, the move may drop a replica or not).
 */
type Known = Map<string, Map<number, number[] | null | typeof MOVED>>;
const MOVED = "moved";

/** A partition's state as Metadata shows it, node ids kept (normalize drops the fields named like node ids). */
function partitionView(p: any, named: number[] | null | undefined | typeof MOVED) {
  const replicas: number[] = p.replicaNodes;
  const shape = { error: p.errorCode, offline: sorted(p.offlineReplicas ?? []) };
  const placed = { count: replicas.length, distinct: new Set(replicas).size, isrAll: same(sorted(p.isrNodes), sorted(replicas)) };
  if (named === MOVED) return { ...shape, moved: placed };
  if (named === null || named === undefined) return { ...shape, epoch: p.leaderEpoch, placed: { ...placed, leaderFirst: p.leaderId === replicas[0] } };
  return { ...shape, epoch: p.leaderEpoch, leaderNode: p.leaderId, replicaList: replicas, isrSet: sorted(p.isrNodes) };
}

/** A copy of fetched record batches with each batch's partitionLeaderEpoch (bytes 12-15) zeroed. */
function withoutLeaderEpochs(records: Uint8Array | null): Uint8Array | null {
  if (records === null) return null;
  const out = Uint8Array.from(records);
  const view = new DataView(out.buffer);
  for (let at = 0; at + 17 <= out.length; at += 12 + view.getInt32(at + 8)) view.setInt32(at + 12, 0);
  return out;
}

/** Runs one generated sequence on one side and returns everything it answered, in order. */
async function scenario(pair: ClusterPair, s: ClusterSide, run: number, ops: Op[]): Promise<unknown> {
  const pick = (key: number, i: number, min = 0) => {
    const vs = pair.versions(key).filter((v) => v >= min);
    if (vs.length === 0) throw new Error(`no common version of API ${key} from v${min}`);
    return vs[i % vs.length];
  };
  const name = (t: number) => `cd-${run}-${t}`;
  const known: Known = new Map();
  const out: unknown[] = [];
  const md = (c: RawClient, topic: string) =>
    c.request(3, 12, { topics: [{ name: topic, topicId: new Uint8Array(16) }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }).then((r: any) => r.topics[0]);
  /** Metadata of `topic` as the settled view: one answer when every broker agrees, every replica in the ISR and nothing is being moved. */
  const settledView = async (topic: string, expect: Map<number, { replicas?: number[]; preferred?: boolean }>): Promise<string | null> => {
    const views: string[] = [];
    for (const c of s.node.values()) {
      const t = await md(c, topic);
      if (t.errorCode !== 0) return `${t.errorCode}`;
      const parts = [...t.partitions].sort((a: any, b: any) => a.partitionIndex - b.partitionIndex);
      for (const p of parts) {
        if (p.leaderId < 0 || !same(sorted(p.isrNodes), sorted(p.replicaNodes))) return "isr";
        const e = expect.get(p.partitionIndex);
        if (e?.replicas && !same(p.replicaNodes, e.replicas)) return "replicas";
        if (e?.preferred && p.leaderId !== p.replicaNodes[0]) return "leader";
      }
      for (const [i] of expect) if (!parts.some((p: any) => p.partitionIndex === i)) return "partitions";
      views.push(JSON.stringify(parts.map((p: any) => [p.partitionIndex, p.leaderId, p.leaderEpoch, p.replicaNodes, sorted(p.isrNodes)])));
    }
    if (views.some((v) => v !== views[0])) return "disagree";
    // every replica holds its log, and no other broker does (Kafka creates and deletes them as each broker applies the change)
    const hosts = new Map<number, number[]>();
    for (const [id, c] of s.node) {
      const r = await c.request(35, 1, { topics: [{ topic, partitions: [0, 1, 2, 3] }] });
      for (const d of r.results as any[]) for (const t of d.topics) for (const p of t.partitions) hosts.set(p.partitionIndex, [...(hosts.get(p.partitionIndex) ?? []), id]);
    }
    const settled = JSON.parse(views[0]) as [number, number, number, number[], number[]][];
    if (settled.some(([i, , , replicas]) => !same(sorted(hosts.get(i) ?? []), sorted(replicas)))) return "logs";
    const lr = await s.client.request(46, 0, { timeoutMs: 10000, topics: null });
    if (lr.topics.some((x: any) => x.name === topic)) return "reassigning";
    return null;
  };
  const settle = async (topic: string, expect: Map<number, { replicas?: number[]; preferred?: boolean }>) => {
    const deadline = Date.now() + SETTLE_MS;
    let why: string | null = "";
    while ((why = await settledView(topic, expect)) !== null) {
      if (Date.now() > deadline) throw new Error(`${s.name}: ${topic} did not settle in ${SETTLE_MS} ms (${why}): ${JSON.stringify(await md(s.node.get(1)!, topic))}`);
      await pause(50);
    }
  };
  /** Each partition of `topic` (Metadata at node 1), named replicas kept as they are. */
  const describe = async (topic: string) => {
    const t = await md(s.node.get(1)!, topic);
    const k = known.get(topic);
    return { error: t.errorCode, partitions: t.partitions.map((p: any) => ({ partitionIndex: p.partitionIndex, ...partitionView(p, k?.get(p.partitionIndex)) })) };
  };
  /** Partitions (`topic/partition`) whose log start a DeleteRecords moved: their effect is read after leader changes. */
  const deleted = new Set<string>();
  /** ListOffsets EARLIEST (or another `timestamp`) of one partition, routed to its leader: the offset and error only. */
  const offsetAt = async (topic: string, p: number, timestamp: bigint) => {
    const r = await s.client.request(2, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: p, currentLeaderEpoch: -1, timestamp }] }] });
    const x = r.topics[0]?.partitions[0];
    return x === undefined ? { missing: true } : { errorCode: x.errorCode, offset: x.offset };
  };
  /**
   * The log start offset of every replica of a partition (ListOffsets EARLIEST with Kafka's debugging replica id -2,
   * which a follower answers too), polled (bounded) until every replica shows the leader's: a follower takes it from
   * its next fetch answer, asynchronously on both sides. By node where the scenario named the replicas, else sorted.
   */
  const logStarts = async (topic: string, p: number) => {
    const mp = (await md(s.node.get(1)!, topic)).partitions?.find((x: any) => x.partitionIndex === p);
    if (mp === undefined) return { missing: true };
    const replicas: number[] = mp.replicaNodes;
    const deadline = Date.now() + SETTLE_MS;
    for (;;) {
      const seen: { node: number; errorCode: number; offset: bigint }[] = [];
      for (const id of replicas) {
        const r = await s.node.get(id)!.request(2, 7, { replicaId: -2, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: p, currentLeaderEpoch: -1, timestamp: -2n }] }] });
        const x = r.topics[0].partitions[0];
        seen.push({ node: id, errorCode: x.errorCode, offset: x.offset });
      }
      const leader = seen.find((x) => x.node === mp.leaderId);
      const settledStarts = seen.every((x) => x.errorCode === 0 && x.offset === leader?.offset);
      if (settledStarts || Date.now() > deadline) {
        const exact = Array.isArray(known.get(topic)?.get(p));
        return exact ? { byNode: seen } : { starts: seen.map(({ errorCode, offset }) => ({ errorCode, offset })).sort((a, b) => Number(a.offset - b.offset)) };
      }
      await pause(50);
    }
  };
  for (const op of ops) {
    const topic = "t" in op && op.t !== null ? name(op.t) : "";
    switch (op.k) {
      case "create": {
        const v = pick(19, op.v);
        const configs = op.misr === null ? [] : [{ name: "min.insync.replicas", value: op.misr }];
        const r = await s.client.request(19, v, {
          topics: [{ name: topic, numPartitions: op.assign ? -1 : op.n, replicationFactor: op.assign ? -1 : op.rf, assignments: (op.assign ?? []).map((brokerIds, partitionIndex) => ({ partitionIndex, brokerIds })), configs }],
          timeoutMs: 30000,
          validateOnly: false,
        });
        const t = r.topics[0];
        out.push({ op: `create v${v}`, n: op.n, rf: op.rf, assign: op.assign, misr: op.misr, r: { name: t.name, errorCode: t.errorCode, numPartitions: t.numPartitions, replicationFactor: t.replicationFactor, configs: t.configs } });
        if (t.errorCode === 0) {
          const parts = new Map<number, number[] | null>(op.assign ? op.assign.map((x, i) => [i, x]) : Array.from({ length: op.n }, (_, i) => [i, null]));
          known.set(topic, parts);
          await settle(topic, new Map([...parts].map(([i, x]) => [i, x === null ? {} : { replicas: x }])));
          out.push({ after: "create", md: await describe(topic) });
        }
        break;
      }
      case "partitions": {
        const v = pick(37, op.v);
        const r = await s.client.request(37, v, { topics: [{ name: topic, count: op.count, assignments: op.assign === null ? null : op.assign.map((brokerIds) => ({ brokerIds })) }], timeoutMs: 30000, validateOnly: false });
        out.push({ op: `partitions v${v}`, count: op.count, assign: op.assign, r: r.results });
        const k = known.get(topic);
        if (r.results[0].errorCode === 0 && k) {
          const before = k.size;
          for (let i = before; i < op.count; i++) k.set(i, op.assign?.[i - before] ?? null);
          await settle(topic, new Map([...k].map(([i, x]) => [i, Array.isArray(x) ? { replicas: x } : {}])));
          out.push({ after: "partitions", md: await describe(topic) });
        }
        break;
      }
      case "reassign": {
        const v = pick(45, op.v);
        const r = await s.client.request(45, v, { timeoutMs: 30000, allowReplicationFactorChange: true, topics: [{ name: topic, partitions: op.parts.map((x) => ({ partitionIndex: x.p, replicas: x.replicas })) }] });
        out.push({ op: `reassign v${v}`, parts: op.parts, r: { errorCode: r.errorCode, responses: r.responses } });
        const k = known.get(topic);
        const moved = (r.responses as any[]).flatMap((t) => t.partitions).filter((x: any) => x.errorCode === 0);
        if (r.errorCode === 0 && k && moved.length > 0) {
          const expect = new Map<number, { replicas?: number[] }>();
          for (const m of moved) {
            const target = op.parts.find((x) => x.p === m.partitionIndex)!.replicas;
            if (target !== null) {
              const before = k.get(m.partitionIndex);
              k.set(m.partitionIndex, Array.isArray(before) ? target : MOVED);
              expect.set(m.partitionIndex, { replicas: target });
            }
          }
          await settle(topic, expect);
          out.push({ after: "reassign", md: await describe(topic) });
          // a replica added by the move starts at the leader's log start (Kafka: OFFSET_OUT_OF_RANGE, truncateFullyAndStartAt)
          for (const m of moved) if (deleted.has(`${topic}/${m.partitionIndex}`)) out.push({ after: "reassign", p: m.partitionIndex, earliest: await offsetAt(topic, m.partitionIndex, -2n), logStarts: await logStarts(topic, m.partitionIndex) });
        }
        break;
      }
      case "listReassign": {
        const v = pick(46, op.v);
        const topics = op.t === null ? null : [{ name: topic, partitionIndexes: op.parts }];
        const r = await s.client.request(46, v, { timeoutMs: 10000, topics });
        // only this run's topics (earlier runs' are settled, and the other side never had them)
        out.push({ op: `listReassign v${v}`, topics, r: { errorCode: r.errorCode, topics: r.topics.filter((x: any) => x.name.startsWith(`cd-${run}-`)) } });
        break;
      }
      case "elect": {
        const v = pick(43, op.v, op.type === 1 ? 1 : 0);
        const topicPartitions = op.t === null ? null : [{ topic, partitions: op.parts }];
        const r = await s.client.request(43, v, { electionType: op.type, topicPartitions, timeoutMs: 30000 });
        // an election over all partitions answers for every topic of the cluster: this run's topics are compared
        const results = (r.replicaElectionResults as any[]).filter((x) => x.topic.startsWith(`cd-${run}-`));
        // whether a moved partition's preferred replica leads already depends on where it was placed
        const shown = results.map((x) => ({
          topic: x.topic,
          partitionResult: (x.partitionResult as any[]).map((p) => (op.type === 0 && known.get(x.topic)?.get(p.partitionId) === MOVED ? { partitionId: p.partitionId, moved: true } : p)),
        }));
        // an election over every partition leaves out those that need none: which ones, for moved partitions, depends on placement
        const listed = op.t === null ? shown.map((x) => ({ ...x, partitionResult: x.partitionResult.filter((p: any) => !p.moved) })) : shown;
        out.push({ op: `elect v${v}`, type: op.type, topicPartitions, r: { errorCode: r.errorCode, results: listed } });
        for (const x of results) {
          const elected = (x.partitionResult as any[]).filter((p) => p.errorCode === 0);
          if (elected.length === 0) continue;
          await settle(x.topic, new Map(elected.map((p) => [p.partitionId, { preferred: op.type === 0 }])));
          // (whether a moved partition was elected is each side's own; only an election of another is shown)
          if (elected.some((p) => known.get(x.topic)?.get(p.partitionId) !== MOVED)) out.push({ after: "elect", md: await describe(x.topic) });
          // a new leader answers the log start its follower took from the old one
          for (const p of elected) if (deleted.has(`${x.topic}/${p.partitionId}`)) out.push({ after: "elect", p: p.partitionId, earliest: await offsetAt(x.topic, p.partitionId, -2n), logStarts: await logStarts(x.topic, p.partitionId) });
        }
        break;
      }
      case "logDirs": {
        const v = pick(35, op.v);
        const topics = [{ topic, partitions: [0, 1, 2, 3] }];
        const errors: unknown[] = [];
        // where each partition is hosted: by node where the scenario named its replicas, else only how many hold it
        const hosted = new Map<number, { node: number; size: unknown; lag: unknown; future: boolean }[]>();
        for (const id of NODES) {
          const r = await s.node.get(id)!.request(35, v, { topics });
          errors.push({ node: id, errorCode: r.errorCode ?? 0, dirs: (r.results as any[]).map((d) => d.errorCode) });
          for (const d of r.results as any[]) {
            for (const t of d.topics) {
              if (t.name !== topic) errors.push({ node: id, unasked: t.name });
              for (const p of t.partitions) hosted.set(p.partitionIndex, [...(hosted.get(p.partitionIndex) ?? []), { node: id, size: p.partitionSize, lag: p.offsetLag, future: p.isFutureKey }]);
            }
          }
        }
        const k = known.get(topic);
        // The partition's size is compared as the largest any replica reports: a 3-node Kafka 4.4 cluster, after one
        // of its brokers restarted, was seen answering partitionSize 0 at a replica holding the records (acks=all
        // acknowledged, lag 0), also at a broker that had not restarted; not explained yet, so each replica's own size
        // is not compared.
        const largest = (xs: { size: unknown }[]) => xs.map((x) => BigInt(x.size as bigint)).reduce((a, b) => (a > b ? a : b), -1n);
        const partitions = [...hosted].sort((a, b) => a[0] - b[0]).map(([partitionIndex, xs]) => ({
          partitionIndex,
          // after DeleteRecords only as shape: Kafka deletes the segments below the log start at its next retention
          // check (log.retention.check.interval.ms), never the active one
          size: deleted.has(`${topic}/${partitionIndex}`) ? largest(xs) >= 0n : largest(xs),
          ...(Array.isArray(k?.get(partitionIndex)) ? { hostedBy: xs.map(({ node, lag, future }) => ({ node, lag, future })) } : { hosts: xs.length, replicas: xs.map(({ lag, future }) => ({ lag, future })) }),
        }));
        out.push({ op: `logDirs v${v}`, errors, partitions });
        break;
      }
      case "dtp": {
        if (pair.versions(75).length === 0) break;
        const r = await s.client.request(75, 0, { topics: [{ name: topic }], responsePartitionLimit: 2000, cursor: null });
        const k = known.get(topic);
        out.push({
          op: "dtp",
          r: (r.topics as any[]).map((t) => ({ errorCode: t.errorCode, name: t.name, isInternal: t.isInternal, partitions: t.partitions.map((p: any) => ({ partitionIndex: p.partitionIndex, ...partitionView(p, k?.get(p.partitionIndex)), elr: p.eligibleLeaderReplicas, lastElr: p.lastKnownElr })) })),
          next: r.nextCursor,
        });
        break;
      }
      case "metadata": {
        const v = pick(3, op.v, 4); // v0-3 always auto-create (Kafka asynchronously), compared by admin-apis-match-kafka
        const byNode: unknown[] = [];
        const k = known.get(topic);
        for (const id of NODES) {
          const r = await s.node.get(id)!.request(3, v, { topics: [{ name: topic, topicId: new Uint8Array(16) }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
          byNode.push({
            node: id,
            brokers: (r.brokers as any[]).map((b) => ({ node: b.nodeId, rack: b.rack })).sort((a, b) => a.node - b.node),
            controllerKnown: (r.controllerId ?? 0) >= 0,
            topics: (r.topics as any[]).map((t) => ({ errorCode: t.errorCode, name: t.name, isInternal: t.isInternal, partitions: t.partitions.map((p: any) => ({ partitionIndex: p.partitionIndex, ...partitionView(p, k?.get(p.partitionIndex)) })) })),
          });
        }
        out.push({ op: `metadata v${v}`, byNode });
        break;
      }
      case "cluster": {
        const v = pick(60, op.v);
        const r = await s.client.request(60, v, { includeClusterAuthorizedOperations: false, endpointType: 1, includeFencedBrokers: true });
        out.push({ op: `cluster v${v}`, errorCode: r.errorCode, endpointType: r.endpointType, controllerKnown: r.controllerId >= 0, brokers: (r.brokers as any[]).map((b) => ({ node: b.brokerId, rack: b.rack, fenced: b.isFenced })).sort((a, b) => a.node - b.node) });
        break;
      }
      case "produce": {
        const r = await s.client.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 10000, topicData: [{ name: topic, partitionData: [{ index: op.p, records: batch(op.n) }] }] });
        out.push({ op: "produce", p: op.p, n: op.n, r: r.responses });
        break;
      }
      case "outage": {
        // Only partitions whose replicas the scenario named are compared during and after the outage: where a
        // controller placed them, whether the stopped broker held (or led) them is that controller's choice.
        const exact = (topic: string) => [...(known.get(topic) ?? [])].filter(([, x]) => Array.isArray(x)).map(([i]) => i);
        const topics = [...known.keys()].filter((t) => exact(t).length > 0);
        // the leader epochs of the partitions it leads: each must move on (a leader elected, or none, written)
        const ledBefore = new Map<string, number>();
        const mdTopics = { topics: [...known.keys()].map((name) => ({ name, topicId: new Uint8Array(16) })), allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false };
        for (const t of (await s.node.get(1)!.request(3, 12, mdTopics)).topics as any[]) {
          for (const p of t.partitions) if (p.leaderId === op.node) ledBefore.set(`${t.name}-${p.partitionIndex}`, p.leaderEpoch);
        }
        await s.stopNode(op.node);
        // positive event: every running broker lists the stopped one no more, and shows none of its leaderships (each
        // with a new leader epoch) and no ISR holding it with another member, all in the same way
        const deadline = Date.now() + OUTAGE_MS;
        for (;;) {
          const views: string[] = [];
          let gone = true;
          for (const c of s.node.values()) {
            const md = await c.request(3, 12, { topics: topics.map((name) => ({ name, topicId: new Uint8Array(16) })), allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
            if ((md.brokers as any[]).some((b) => b.nodeId === op.node)) gone = false;
            for (const t of md.topics as any[]) {
              for (const p of t.partitions) {
                const led = ledBefore.get(`${t.name}-${p.partitionIndex}`);
                if (p.leaderId === op.node || (led !== undefined && p.leaderEpoch <= led) || (p.isrNodes.includes(op.node) && p.isrNodes.length > 1)) gone = false;
              }
            }
            views.push(JSON.stringify((md.topics as any[]).map((t) => [t.name, [...t.partitions].sort((a: any, b: any) => a.partitionIndex - b.partitionIndex).map((p: any) => [p.leaderId, p.leaderEpoch, sorted(p.isrNodes)])])));
          }
          if (gone && views.every((v) => v === views[0])) break;
          if (Date.now() > deadline) throw new Error(`${s.name}: broker ${op.node}'s leaderships and ISR places did not go in ${OUTAGE_MS} ms: ${views[0]}`);
          await pause(100);
        }
        const exactView = async () => {
          const views: unknown[] = [];
          for (const topic of topics) {
            const d = await describe(topic);
            views.push({ topic, partitions: d.partitions.filter((p: any) => exact(topic).includes(p.partitionIndex)) });
          }
          return views;
        };
        const down = await exactView();
        const produced: unknown[] = [];
        for (const topic of topics) {
          for (const partition of exact(topic)) {
            const r = await s.client.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 10000, topicData: [{ name: topic, partitionData: [{ index: partition, records: batch(1) }] }] });
            produced.push({ topic, partition, r: r.responses });
          }
        }
        const topicPartitions = topics.map((topic) => ({ topic, partitions: exact(topic) }));
        const elected = await s.client.request(43, 2, { electionType: 0, topicPartitions, timeoutMs: 30000 });
        // unclean: a leaderless partition with a live replica out of the ISR gets it as leader (ISR = it alone)
        const unclean = await s.client.request(43, 2, { electionType: 1, topicPartitions, timeoutMs: 30000 });
        const uncleanElected = (unclean.replicaElectionResults as any[]).some((t) => t.partitionResult.some((p: any) => p.errorCode === 0));
        const dc = await s.client.request(60, 1, { includeClusterAuthorizedOperations: false, endpointType: 1 });
        out.push({ op: `outage of ${op.node}`, down, produced, elected: elected.replicaElectionResults, unclean: unclean.replicaElectionResults, brokers: (dc.brokers as any[]).map((b) => b.brokerId).sort() });
        if (uncleanElected) out.push({ after: "unclean election", down: await exactView() });
        await s.startNode(op.node);
        // positive event: every broker lists all three again (a topic created next may be placed on any)
        const back = Date.now() + OUTAGE_MS;
        for (const c of s.node.values()) {
          while ((await c.request(3, 12, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false })).brokers.length < NODES.length) {
            if (Date.now() > back) throw new Error(`${s.name}: broker ${op.node} was not listed again in ${OUTAGE_MS} ms`);
            await pause(100);
          }
        }
        for (const topic of known.keys()) {
          const k = known.get(topic)!;
          await settle(topic, new Map([...k].map(([i, x]) => [i, Array.isArray(x) ? { replicas: x } : {}])));
          // where the stopped broker led a controller-placed partition, leadership moved on one side and not on the other
          for (const [i, x] of k) if (!Array.isArray(x)) k.set(i, MOVED);
        }
        out.push({ after: `outage of ${op.node}`, up: await exactView() });
        break;
      }
      case "deleteRecords": {
        const v = pick(21, op.v);
        const target = op.t === null ? `cd-${run}-none` : topic;
        const k = known.get(target)?.get(op.p);
        if (op.n > 0) {
          const r = await s.client.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 10000, topicData: [{ name: target, partitionData: [{ index: op.p, records: batch(op.n) }] }] });
          out.push({ op: "produce", p: op.p, n: op.n, r: r.responses });
        }
        const latest = await offsetAt(target, op.p, -1n);
        const hw = "offset" in latest && latest.errorCode === 0 ? BigInt(latest.offset as bigint) : 0n;
        const offset = op.at === "hw" ? hw : op.at === "hw+1" ? hw + 1n : BigInt(op.at);
        const body = { topics: [{ name: target, partitions: [{ partitionIndex: op.p, offset }] }], timeoutMs: 30000 };
        // a named node only where the scenario named the replicas (whether it leads, follows or holds none is then the same on both sides)
        const via = op.via !== null && Array.isArray(k) ? op.via : null;
        const r = via === null ? await s.client.request(21, v, body) : await s.node.get(via)!.request(21, v, body);
        out.push({ op: `deleteRecords v${v}`, at: op.at, offset, via: via ?? "leader", latest, r: r.topics });
        const ok = (r.topics as any[]).some((t) => t.partitions.some((x: any) => x.errorCode === 0));
        if (!ok) break;
        deleted.add(`${target}/${op.p}`);
        // its effect: every replica's log start, the leader's earliest, Fetch below it (OFFSET_OUT_OF_RANGE) and at it
        const earliest = await offsetAt(target, op.p, -2n);
        const start = "offset" in earliest ? BigInt(earliest.offset as bigint) : 0n;
        const reads: unknown[] = [];
        for (const fetchOffset of start > 0n ? [start - 1n, start] : [start]) {
          const f = await s.client.request(1, 11, {
            replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, rackId: "",
            topics: [{ topic: target, partitions: [{ partition: op.p, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
            forgottenTopicsData: [],
          });
          reads.push((f.responses as any[]).map((t) => t.partitions.map((x: any) => ({ fetchOffset, errorCode: x.errorCode, hw: x.highWatermark, logStart: x.logStartOffset, records: k === MOVED ? withoutLeaderEpochs(x.records) : x.records }))));
        }
        out.push({ after: "deleteRecords", earliest, reads, logStarts: await logStarts(target, op.p) });
        if (op.move && Array.isArray(k) && k.length > 1) {
          // a leader change: the replicas rotated (no data moves), then a preferred election
          const rotated = [...k.slice(1), k[0]];
          const ra = await s.client.request(45, 0, { timeoutMs: 30000, topics: [{ name: target, partitions: [{ partitionIndex: op.p, replicas: rotated }] }] });
          const raOk = ra.errorCode === 0 && ra.responses[0].partitions[0].errorCode === 0;
          if (raOk) {
            known.get(target)!.set(op.p, rotated);
            await settle(target, new Map([[op.p, { replicas: rotated }]]));
          }
          const el = await s.client.request(43, 2, { electionType: 0, topicPartitions: [{ topic: target, partitions: [op.p] }], timeoutMs: 30000 });
          if (el.replicaElectionResults[0]?.partitionResult[0]?.errorCode === 0) await settle(target, new Map([[op.p, { preferred: true }]]));
          out.push({ after: "deleteRecords, leader moved", reassign: { errorCode: ra.errorCode, responses: ra.responses }, elect: el.replicaElectionResults, md: await describe(target), earliest: await offsetAt(target, op.p, -2n), logStarts: await logStarts(target, op.p) });
        }
        break;
      }
      case "read": {
        const lo: unknown[] = [];
        const moved = known.get(topic)?.get(op.p) === MOVED;
        // earliest, latest, max timestamp and by timestamp (the first batch of two records or more): the last two
        // answer the epoch of the batch found, which leader moves make differ from the current one
        for (const timestamp of [-2n, -1n, -3n, BigInt(T0 + 1000)]) {
          const r = await s.client.request(2, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: op.p, currentLeaderEpoch: -1, timestamp }] }] });
          lo.push(r.topics.map((t: any) => ({ ...t, partitions: t.partitions.map((p: any) => (moved ? { ...p, leaderEpoch: "moved" } : p)) })));
        }
        const f = await s.client.request(1, 11, {
          replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, rackId: "",
          topics: [{ topic, partitions: [{ partition: op.p, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
          forgottenTopicsData: [],
        });
        out.push({ op: "read", p: op.p, offsets: lo, fetch: (f.responses as any[]).map((t) => t.partitions.map((p: any) => ({ errorCode: p.errorCode, hw: p.highWatermark, records: moved ? withoutLeaderEpochs(p.records) : p.records }))) });
        break;
      }
    }
  }
  return out;
}

const why = kafkaUnavailable() ?? (ETCD_SKIP_REASON || null);
if (why) {
  test(`3-broker Runnel cluster answers cluster APIs as a 3-node Kafka 4.4 cluster (SKIPPED: ${why})`, { skip: why }, () => {});
} else {
  let started: Promise<ClusterPair> | null = null;
  const pair = () => (started ??= startClusterPair());
  let stopped: Promise<void> | null = null;
  const stop = () => (stopped ??= started ? started.then((p) => p.stop()) : Promise.resolve());
  test("3-broker Runnel cluster answers random cluster-admin sequences as a 3-node Kafka 4.4 cluster", { timeout: 600_000 }, async () => {
    const p = await pair();
    let run = 0;
    const seed = process.env.CLUSTER_ORACLE_SEED ? Number(process.env.CLUSTER_ORACLE_SEED) : undefined;
    await fc.assert(
      fc.asyncProperty(caseArb, async (ops) => {
        const r = run++;
        const answers: Record<string, unknown> = {};
        for (const name of ["kafka", "runnel"] as const) {
          const s = await openSide(p, name);
          try {
            answers[name] = normalize(await scenario(p, s, r, ops));
          } finally {
            closeSide(s);
          }
        }
        if (process.env.CLUSTER_ORACLE_DUMP) appendFileSync(process.env.CLUSTER_ORACLE_DUMP, JSON.stringify({ run: r, ops, ...answers }) + "\n");
        const differences = diff(answers.kafka, answers.runnel).filter((d) => {
          const at = d.split(": ")[0];
          return !INTENTIONAL_DIFFERENCES.some((x) => x.api === "Cluster random" && (x.path.test(at.replace(/\[[^\]]*\]/g, "[]")) || x.path.test(at)));
        });
        if (differences.length > 0) throw new Error(`run ${r}: Runnel's cluster differs from Kafka's:\n  ${differences.slice(0, 30).join("\n  ")}`);
      }),
      { numRuns: RUNS, seed, endOnFailure: true },
    );
  });
  test("3-broker Runnel cluster vs 3-node Kafka cluster: stop both clusters", { timeout: 120_000 }, () => stop());
  // a run filtered to some tests (bun test -t) skips the test above; both clusters are stopped all the same
  after(() => stop());
}
