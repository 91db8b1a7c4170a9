/**
 * Randomized differential test of the admin APIs: fast-check generates sequences of CreateTopics (partition counts,
 * explicit assignments, valid and invalid configs, validateOnly), CreatePartitions (grow, same, shrink, validateOnly),
 * DeleteTopics by name or by id, DescribeConfigs (topic and broker, synonyms, documentation, chosen keys),
 * IncrementalAlterConfigs (SET/DELETE/APPEND/SUBTRACT, invalid values), AlterConfigs, Metadata, ListOffsets, Produce,
 * DeleteRecords and DescribeTopicPartitions over a few topic names, each request at a random version both brokers
 * serve; the same sequence runs on Apache Kafka 4.4 and on Runnel (a sharded node under RUNNEL_TEST_SHARDS=2) and
 * every answer is compared with the oracle's normalisation (differential.ts). The fixed scenarios of
 * admin-apis-match-kafka.test.ts are not repeated: this one checks how the operations combine.
 *
 * Kafka creates, grows and deletes topics asynchronously: after each such change that succeeded, both sides poll
 * Metadata (bounded) until it shows the change, so what is compared is the settled state.
 */
import { test, after } from "node:test";
import fc from "fast-check";
import { assertSame, startPair, type Pair, type Side } from "./differential.ts";
import { checkRandomCases } from "./random-cases.ts";
import { batch } from "./scenario-helpers.ts";
import { kafkaUnavailable } from "../support/kafka-broker.ts";

/** fast-check runs (each on its own topic names). */
const RUNS = Number(process.env.ADMIN_ORACLE_RUNS ?? 30);
/** Longest operation sequence of a run. */
const MAX_OPS = Number(process.env.ADMIN_ORACLE_OPS ?? 20);
const NAMES = 3;
/** The most partitions a topic of this test can have (CreatePartitions asks for up to 5; created ones have fewer). */
const MAX_PARTITIONS = 5;
const TOPIC = 2;
const BROKER = 4;

/** Topic config values, valid and invalid, by key (an unknown key among them). */
const CONFIG_VALUES: Record<string, string[]> = {
  "cleanup.policy": ["delete", "compact", "compact,delete", "delete,compact", "shred", "", "compact,compact"],
  "retention.ms": ["-1", "3600000", "0", "-2", "soon", "9223372036854775807"],
  "segment.bytes": ["1048576", "14", "1073741824", "big", "-1"],
  "max.message.bytes": ["0", "1000000", "-5", "2147483647", "x"],
  "min.insync.replicas": ["1", "2", "0", "-1"],
  "retention.bytes": ["-1", "1000", "x"],
  "no.such.config": ["1"],
};
const configArb = fc.constantFrom(...Object.keys(CONFIG_VALUES)).chain((name) => fc.record({ name: fc.constant(name), value: fc.constantFrom(...CONFIG_VALUES[name]) }));
const nameArb = fc.nat(NAMES - 1);
/** A version pick: an index into the versions both serve (modulo their count). */
const vArb = fc.nat(20);
const BROKER_KEYS = ["log.retention.ms", "log.segment.bytes", "message.max.bytes", "num.partitions", "log.cleanup.policy", "min.insync.replicas", "no.such.broker.config"];

type Op =
  | { k: "create"; t: number; n: number; assign: boolean; configs: { name: string; value: string }[]; validateOnly: boolean; v: number }
  | { k: "partitions"; t: number; count: number; validateOnly: boolean; v: number }
  | { k: "delete"; t: number; byId: boolean; v: number }
  | { k: "describe"; t: number; keys: string[] | null; synonyms: boolean; docs: boolean; v: number }
  | { k: "describeBroker"; keys: string[]; synonyms: boolean; v: number }
  | { k: "incAlter"; t: number; ops: { name: string; value: string; op: number }[]; validateOnly: boolean; v: number }
  | { k: "alter"; t: number; configs: { name: string; value: string }[]; validateOnly: boolean; v: number }
  | { k: "metadata"; t: number; v: number }
  | { k: "produce"; t: number; p: number; n: number }
  | { k: "listOffsets"; t: number; v: number }
  | { k: "deleteRecords"; t: number; p: number; offset: number; v: number }
  | { k: "dtp"; t: number; v: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant("create" as const), t: nameArb, n: fc.integer({ min: -1, max: 3 }), assign: fc.boolean(), configs: fc.array(configArb, { maxLength: 3 }), validateOnly: fc.boolean(), v: vArb }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("partitions" as const), t: nameArb, count: fc.integer({ min: 0, max: 5 }), validateOnly: fc.boolean(), v: vArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("delete" as const), t: nameArb, byId: fc.boolean(), v: vArb }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("describe" as const), t: nameArb, keys: fc.option(fc.uniqueArray(fc.constantFrom(...Object.keys(CONFIG_VALUES), "retention.bytes", "compression.type"), { maxLength: 3 })), synonyms: fc.boolean(), docs: fc.boolean(), v: vArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("describeBroker" as const), keys: fc.uniqueArray(fc.constantFrom(...BROKER_KEYS), { minLength: 1, maxLength: 3 }), synonyms: fc.boolean(), v: vArb }) },
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant("incAlter" as const),
      t: nameArb,
      ops: fc.uniqueArray(fc.tuple(configArb, fc.nat(3)).map(([c, op]) => ({ ...c, op })), { minLength: 1, maxLength: 3, selector: (x) => x.name }),
      validateOnly: fc.boolean(),
      v: vArb,
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("alter" as const), t: nameArb, configs: fc.uniqueArray(configArb, { maxLength: 3, selector: (x) => x.name }), validateOnly: fc.boolean(), v: vArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("metadata" as const), t: nameArb, v: vArb }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("produce" as const), t: nameArb, p: fc.nat(3), n: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("listOffsets" as const), t: nameArb, v: vArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("deleteRecords" as const), t: nameArb, p: fc.nat(3), offset: fc.integer({ min: -1, max: 5 }), v: vArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("dtp" as const), t: nameArb, v: vArb }) },
);
const caseArb = fc.array(opArb, { minLength: 3, maxLength: MAX_OPS });

const pause = (ms: number) => new Promise((res) => setTimeout(res, ms));

/** Runs one generated sequence on one side and returns everything it answered, in order. */
async function scenario(p: Pair, s: Side, run: number, ops: Op[]): Promise<unknown> {
  const pick = (key: number, i: number, min = 0) => {
    const vs = p.versions(key).filter((v) => v >= min);
    return vs[i % vs.length];
  };
  const name = (t: number) => `adr-${run}-${t}`;
  const ids = new Map<number, Uint8Array>();
  const out: unknown[] = [];
  const md = async (topic: string) =>
    (await s.client.request(3, 12, { topics: [{ name: topic, topicId: new Uint8Array(16) }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false })).topics[0];
  /** Polls Metadata (bounded) until `topic` is gone, or has `partitions` partitions that all have leaders and serve. */
  const settle = async (topic: string, partitions: number | null) => {
    for (let i = 0; i < 200; i++) {
      const t = await md(topic);
      if (partitions === null ? t.errorCode === 3 : t.errorCode === 0 && t.partitions.length === partitions && t.partitions.every((x: any) => x.leaderId >= 0)) {
        // Kafka's Metadata can say a deleted topic is gone while its partitions still answer ListOffsets (the
        // broker drops them from its metadata cache before its replica manager stops them): a deletion has settled
        // once ListOffsets finds none of the partitions a topic of this test can have.
        const lo = await s.client.request(2, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: Array.from({ length: partitions ?? MAX_PARTITIONS }, (_, i) => ({ partitionIndex: i, currentLeaderEpoch: -1, timestamp: -1n })) }] });
        if (lo.topics[0].partitions.every((x: any) => x.errorCode === (partitions === null ? 3 : 0))) return;
      }
      await pause(25);
    }
    throw new Error(`${s.name}: topic ${topic} did not settle at ${partitions} partitions in 5 s`);
  };
  for (const op of ops) {
    const topic = "t" in op ? name(op.t) : "";
    switch (op.k) {
      case "create": {
        const v = pick(19, op.v, op.n === -1 ? 4 : 0);
        const n = op.n === -1 ? -1 : op.n;
        // an explicit assignment of every partition to the one broker (its id is each side's own node id)
        const assign = op.assign && n > 0;
        const r = await s.client.request(19, v, {
          topics: [{ name: topic, numPartitions: assign ? -1 : n, replicationFactor: assign ? -1 : 1, assignments: assign ? Array.from({ length: n }, (_, i) => ({ partitionIndex: i, brokerIds: [s.name === "kafka" ? 1 : 1] })) : [], configs: op.configs }],
          timeoutMs: 30000,
          validateOnly: op.validateOnly,
        });
        const t = r.topics[0];
        out.push({ op: `create v${v}`, n, assign, configs: op.configs, validateOnly: op.validateOnly, r: t });
        if (t.errorCode === 0 && !op.validateOnly) {
          await settle(topic, n === -1 ? 1 : n);
          ids.set(op.t, (await md(topic)).topicId);
        }
        break;
      }
      case "partitions": {
        const v = pick(37, op.v);
        const r = await s.client.request(37, v, { topics: [{ name: topic, count: op.count, assignments: null }], timeoutMs: 30000, validateOnly: op.validateOnly });
        out.push({ op: `partitions v${v}`, count: op.count, validateOnly: op.validateOnly, r: r.results });
        if (r.results[0].errorCode === 0 && !op.validateOnly) await settle(topic, op.count);
        break;
      }
      case "delete": {
        const byId = op.byId && p.versions(20).some((x) => x >= 6);
        const v = pick(20, op.v, byId ? 6 : 0);
        const id = ids.get(op.t) ?? new Uint8Array(16).fill(9);
        const r = await s.client.request(20, v, { topicNames: [topic], topics: [byId ? { name: null, topicId: id } : { name: topic, topicId: new Uint8Array(16) }], timeoutMs: 30000 });
        out.push({ op: `delete v${v}`, byId, r: r.responses });
        if (r.responses[0].errorCode === 0) {
          await settle(topic, null);
          ids.delete(op.t);
        }
        break;
      }
      case "describe": {
        const v = pick(32, op.v);
        const r = await s.client.request(32, v, { resources: [{ resourceType: TOPIC, resourceName: topic, configurationKeys: op.keys }], includeSynonyms: op.synonyms, includeDocumentation: op.docs });
        out.push({ op: `describe v${v}`, keys: op.keys, synonyms: op.synonyms, docs: op.docs, r: r.results });
        break;
      }
      case "describeBroker": {
        const v = pick(32, op.v);
        const r = await s.client.request(32, v, { resources: [{ resourceType: BROKER, resourceName: "1", configurationKeys: op.keys }], includeSynonyms: op.synonyms, includeDocumentation: false });
        out.push({ op: `describeBroker v${v}`, keys: op.keys, synonyms: op.synonyms, r: r.results });
        break;
      }
      case "incAlter": {
        const v = pick(44, op.v);
        const configs = op.ops.map((c) => ({ name: c.name, configOperation: c.op, value: c.op === 1 ? null : c.value }));
        const r = await s.client.request(44, v, { resources: [{ resourceType: TOPIC, resourceName: topic, configs }], validateOnly: op.validateOnly });
        out.push({ op: `incAlter v${v}`, configs, validateOnly: op.validateOnly, r: r.responses });
        break;
      }
      case "alter": {
        const v = pick(33, op.v);
        const r = await s.client.request(33, v, { resources: [{ resourceType: TOPIC, resourceName: topic, configs: op.configs }], validateOnly: op.validateOnly });
        out.push({ op: `alter v${v}`, configs: op.configs, validateOnly: op.validateOnly, r: r.responses });
        break;
      }
      case "metadata": {
        const v = pick(3, op.v, 4);
        const r = await s.client.request(3, v, { topics: [{ name: topic, topicId: new Uint8Array(16) }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
        out.push({ op: `metadata v${v}`, r: r.topics });
        break;
      }
      case "produce": {
        const r = await s.client.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 10000, topicData: [{ name: topic, partitionData: [{ index: op.p, records: batch(op.n) }] }] });
        out.push({ op: "produce", p: op.p, n: op.n, r: r.responses });
        break;
      }
      case "listOffsets": {
        const v = pick(2, op.v, 1);
        const partitions = [0, 1, 2, 3].map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: partitionIndex % 2 === 0 ? -1n : -2n }));
        const r = await s.client.request(2, v, { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions }], timeoutMs: 1000 });
        out.push({ op: `listOffsets v${v}`, r: r.topics });
        break;
      }
      case "deleteRecords": {
        const v = pick(21, op.v);
        const r = await s.client.request(21, v, { topics: [{ name: topic, partitions: [{ partitionIndex: op.p, offset: BigInt(op.offset) }] }], timeoutMs: 10000 });
        // the low watermark is compared where the deletion succeeded (logStartOffset is ignored elsewhere)
        out.push({ op: `deleteRecords v${v}`, p: op.p, offset: op.offset, r: r.topics, lowWatermarks: r.topics.map((t: any) => t.partitions.map((x: any) => `${x.errorCode}:${x.lowWatermark}`)) });
        break;
      }
      case "dtp": {
        if (p.versions(75).length === 0) break;
        const v = pick(75, op.v);
        const r = await s.client.request(75, v, { topics: [{ name: topic }], responsePartitionLimit: 2000, cursor: null });
        out.push({ op: `dtp v${v}`, r: r.topics, next: r.nextCursor });
        break;
      }
    }
  }
  // every topic left is deleted, so later runs see only their own names
  for (let t = 0; t < NAMES; t++) {
    const r = await s.client.request(20, pick(20, 0), { topicNames: [name(t)], topics: [{ name: name(t), topicId: new Uint8Array(16) }], timeoutMs: 30000 });
    if (r.responses[0].errorCode === 0) await settle(name(t), null);
  }
  return out;
}

const why = kafkaUnavailable();
if (why) {
  test(`admin APIs: random sequences match Apache Kafka (SKIPPED: ${why})`, { skip: why }, () => {});
} else {
  let started: Promise<Pair> | null = null;
  const pair = () => (started ??= startPair({}, {}, { cluster: false }));
  after(async () => {
    if (started) await (await started).stop();
  });
  test("admin APIs: random sequences match Apache Kafka", { timeout: 600_000 }, async () => {
    const p = await pair();
    // ADMIN_ORACLE_CASE='[...]', ADMIN_ORACLE_SEED and ADMIN_ORACLE_PATH replay one (random-cases.ts)
    await checkRandomCases("ADMIN_ORACLE", caseArb, RUNS, async (c, r) => {
      assertSame(`run ${r}`, await p.compare("Admin random", (s) => scenario(p, s, r, c)));
    });
  });
}
