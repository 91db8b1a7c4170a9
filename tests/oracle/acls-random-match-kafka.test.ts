/**
 * Randomized differential test of the ACL APIs and of the authorizer's decisions: fast-check generates sequences of
 * CreateAcls (literal, prefixed and invalid pattern types, ALLOW/DENY, hosts `*` and specific ones, every operation
 * incl. ALL, resource types topic/group/cluster/transactional id/delegation token/user, invalid combinations),
 * DescribeAcls and DeleteAcls with random filters (ANY, MATCH, exact pattern types, wildcard `*` resources,
 * overlapping prefixes), and probes sent as the non-super user alice: Metadata (which topics are listed, topic and
 * cluster authorized operations), Produce, Fetch, ListOffsets, DescribeTopicPartitions, CreateTopics,
 * CreatePartitions and IncrementalAlterConfigs (validateOnly), DescribeConfigs, OffsetCommit, OffsetFetch, JoinGroup,
 * DescribeGroups (authorized operations), ListGroups (what is listed) and FindCoordinator on groups, InitProducerId
 * with and without a transactional id, DescribeCluster's authorized operations and the ACL APIs themselves. The same sequence runs on Apache Kafka 4.4 (SASL_PLAINTEXT with PLAIN, StandardAuthorizer) and
 * on Runnel with the same settings (a sharded node under RUNNEL_TEST_SHARDS=2); every answer is compared with the
 * oracle's normalisation (differential.ts), ACLs as sorted `type:pattern:name|principal|host|op|perm` strings.
 *
 * Kafka applies an ACL change on the broker once the controller's metadata reaches it: after each CreateAcls or
 * DeleteAcls, both sides poll DescribeAcls (bounded) until it lists what the side's own answers say it now holds.
 */
import { test, after } from "node:test";
import fc from "fast-check";
import { commonVersions, diff, INTENTIONAL_DIFFERENCES, normalize, SHARED_SETTINGS, assertSame, versionTable } from "./differential.ts";
import { checkRandomCases } from "./random-cases.ts";
import { batch } from "./scenario-helpers.ts";
import { kafkaUnavailable, startKafka, type KafkaBroker } from "../support/kafka-broker.ts";
import { startAclBroker } from "../security/acl-broker.ts";
import type { TestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { loginPlain } from "./restartable-nodes.ts";

/** fast-check runs. */
const RUNS = Number(process.env.ACL_ORACLE_RUNS ?? 40);
/** Longest operation sequence of a run. */
const MAX_OPS = Number(process.env.ACL_ORACLE_OPS ?? 16);
/** Longest a side may take to show its own ACL change in DescribeAcls (ms). */
const SETTLE_MS = 10_000;

const JAAS = 'org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-pw" user_alice="alice-pw";';

/** Resource types (Kafka's codes) and the names ACLs and filters pick from, per type. */
const TOPIC = 2;
const GROUP = 3;
const CLUSTER = 4;
const TXN = 5;
const TOKEN = 6;
const USER = 7;
/** Topics created once for the whole file (1 partition each). */
const TOPICS = ["ta", "tab", "tb", "xa"];
const NAMES: Record<number, string[]> = {
  [TOPIC]: [...TOPICS, "*", "t", "ta", "x", "nope", "newt"],
  [GROUP]: ["ga", "gab", "gb", "*", "g", "gx"],
  [CLUSTER]: ["kafka-cluster", "kafka-cluster", "kafka", "other"],
  [TXN]: ["xa", "xb", "*", "x", "tx"],
  [TOKEN]: ["tok", "*", "t"],
  [USER]: ["alice", "*", "bob"],
  0: ["ta"],
  1: ["ta"],
};
const ANY = 1;
const MATCH = 2;
const LITERAL = 3;
const PREFIXED = 4;
const ALLOW = 3;
const DENY = 2;

const resourceTypeArb = fc.oneof({ weight: 12, arbitrary: fc.constantFrom(TOPIC, TOPIC, TOPIC, GROUP, GROUP, CLUSTER, CLUSTER, TXN, TXN, TOKEN, USER) }, { weight: 1, arbitrary: fc.constantFrom(0, 1) });
const nameArb = (type: number) => fc.oneof({ weight: 20, arbitrary: fc.constantFrom(...NAMES[type]) }, { weight: 1, arbitrary: fc.constant("") });
const principalArb = fc.oneof({ weight: 12, arbitrary: fc.constantFrom("User:alice", "User:alice", "User:alice", "User:*", "User:bob") }, { weight: 1, arbitrary: fc.constantFrom("alice", "Group:x", "User:", "") });
const hostArb = fc.oneof({ weight: 12, arbitrary: fc.constantFrom("*", "*", "*", "127.0.0.1", "10.0.0.9") }, { weight: 1, arbitrary: fc.constant("") });
/** ALL and READ..TWO_PHASE_COMMIT; rarely ANY or UNKNOWN (invalid in a binding). */
const operationArb = fc.oneof({ weight: 14, arbitrary: fc.integer({ min: 2, max: 15 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 1) });
const permissionArb = fc.oneof({ weight: 12, arbitrary: fc.constantFrom(ALLOW, ALLOW, ALLOW, DENY) }, { weight: 1, arbitrary: fc.constantFrom(0, ANY) });
const patternArb = fc.oneof({ weight: 12, arbitrary: fc.constantFrom(LITERAL, LITERAL, LITERAL, PREFIXED, PREFIXED) }, { weight: 1, arbitrary: fc.constantFrom(0, ANY, MATCH) });

interface Binding { resourceType: number; resourceName: string; resourcePatternType: number; principal: string; host: string; operation: number; permissionType: number }
interface Filter { resourceTypeFilter: number; resourceNameFilter: string | null; patternTypeFilter: number; principalFilter: string | null; hostFilter: string | null; operation: number; permissionType: number }

const bindingArb: fc.Arbitrary<Binding> = resourceTypeArb.chain((resourceType) =>
  fc.record({ resourceType: fc.constant(resourceType), resourceName: nameArb(resourceType), resourcePatternType: patternArb, principal: principalArb, host: hostArb, operation: operationArb, permissionType: permissionArb }),
);
const filterArb: fc.Arbitrary<Filter> = fc.oneof({ weight: 12, arbitrary: fc.constantFrom(ANY, ANY, TOPIC, TOPIC, GROUP, CLUSTER, TXN, TOKEN, USER) }, { weight: 1, arbitrary: fc.constant(0) }).chain((type) =>
  fc.record({
    resourceTypeFilter: fc.constant(type),
    resourceNameFilter: fc.option(nameArb(type === ANY || type === 0 ? TOPIC : type), { freq: 3 }),
    patternTypeFilter: fc.oneof({ weight: 12, arbitrary: fc.constantFrom(ANY, ANY, MATCH, MATCH, LITERAL, PREFIXED) }, { weight: 1, arbitrary: fc.constant(0) }),
    principalFilter: fc.option(fc.constantFrom("User:alice", "User:*", "User:bob"), { freq: 2 }),
    hostFilter: fc.option(fc.constantFrom("*", "127.0.0.1", "10.0.0.9"), { freq: 3 }),
    operation: fc.oneof({ weight: 12, arbitrary: fc.constantFrom(ANY, ANY, ANY, 2, 3, 4, 8, 15) }, { weight: 1, arbitrary: fc.constant(0) }),
    permissionType: fc.oneof({ weight: 12, arbitrary: fc.constantFrom(ANY, ANY, ALLOW, DENY) }, { weight: 1, arbitrary: fc.constant(0) }),
  }),
);

/** A version pick: an index into the versions both serve (modulo their count). */
const vArb = fc.nat(20);
const topicArb = fc.constantFrom(...TOPICS);
/** Group and transactional id picks (names carry the run number, so no state carries over between runs). */
const groupArb = fc.constantFrom("ga", "gab", "gb");
const txnArb = fc.constantFrom("xa", "xb");

type Probe =
  | { p: "metadataAll"; v: number }
  | { p: "metadataNamed"; t: string; v: number }
  | { p: "produce"; ts: string[] }
  | { p: "fetch"; ts: string[] }
  | { p: "createTopic"; t: string; v: number }
  | { p: "describeConfigs"; t: string; broker: boolean; v: number }
  | { p: "offsetCommit"; g: string; t: string; v: number }
  | { p: "joinGroup"; g: string }
  | { p: "initProducerId"; x: string | null; v: number }
  | { p: "describeCluster"; v: number }
  | { p: "describeAcls"; v: number }
  | { p: "describeGroups"; gs: string[]; v: number }
  | { p: "listGroups"; v: number }
  | { p: "findCoordinator"; g: string; x: string }
  | { p: "offsetFetch"; g: string; ts: string[] | null; v: number }
  | { p: "listOffsets"; ts: string[]; v: number }
  | { p: "describeTopicPartitions"; ts: string[] }
  | { p: "createPartitions"; t: string; v: number }
  | { p: "alterConfigs"; t: string; broker: boolean; v: number };

type Op =
  | { k: "create"; bindings: Binding[]; v: number }
  | { k: "describe"; filter: Filter; v: number }
  | { k: "delete"; filters: Filter[]; v: number }
  | { k: "probe"; probe: Probe };

const probeArb: fc.Arbitrary<Probe> = fc.oneof(
  fc.record({ p: fc.constant("metadataAll" as const), v: vArb }),
  fc.record({ p: fc.constant("metadataNamed" as const), t: fc.constantFrom(...TOPICS, "nope"), v: vArb }),
  fc.record({ p: fc.constant("produce" as const), ts: fc.uniqueArray(topicArb, { minLength: 1, maxLength: 2 }) }),
  fc.record({ p: fc.constant("fetch" as const), ts: fc.uniqueArray(topicArb, { minLength: 1, maxLength: 2 }) }),
  fc.record({ p: fc.constant("createTopic" as const), t: fc.constantFrom("ta", "newt", "nope", "xnew"), v: vArb }),
  fc.record({ p: fc.constant("describeConfigs" as const), t: topicArb, broker: fc.boolean(), v: vArb }),
  fc.record({ p: fc.constant("offsetCommit" as const), g: groupArb, t: topicArb, v: vArb }),
  fc.record({ p: fc.constant("joinGroup" as const), g: groupArb }),
  fc.record({ p: fc.constant("initProducerId" as const), x: fc.option(txnArb, { freq: 3 }), v: vArb }),
  fc.record({ p: fc.constant("describeCluster" as const), v: vArb }),
  fc.record({ p: fc.constant("describeAcls" as const), v: vArb }),
  fc.record({ p: fc.constant("describeGroups" as const), gs: fc.uniqueArray(groupArb, { minLength: 1, maxLength: 2 }), v: vArb }),
  fc.record({ p: fc.constant("listGroups" as const), v: vArb }),
  fc.record({ p: fc.constant("findCoordinator" as const), g: groupArb, x: txnArb }),
  fc.record({ p: fc.constant("offsetFetch" as const), g: groupArb, ts: fc.option(fc.uniqueArray(topicArb, { minLength: 1, maxLength: 2 })), v: vArb }),
  fc.record({ p: fc.constant("listOffsets" as const), ts: fc.uniqueArray(topicArb, { minLength: 1, maxLength: 2 }), v: vArb }),
  fc.record({ p: fc.constant("describeTopicPartitions" as const), ts: fc.uniqueArray(fc.constantFrom(...TOPICS, "nope"), { minLength: 1, maxLength: 2 }) }),
  fc.record({ p: fc.constant("createPartitions" as const), t: topicArb, v: vArb }),
  fc.record({ p: fc.constant("alterConfigs" as const), t: topicArb, broker: fc.boolean(), v: vArb }),
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant("create" as const), bindings: fc.array(bindingArb, { minLength: 1, maxLength: 4 }), v: vArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("describe" as const), filter: filterArb, v: vArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("delete" as const), filters: fc.array(filterArb, { minLength: 1, maxLength: 2 }), v: vArb }) },
  { weight: 7, arbitrary: fc.record({ k: fc.constant("probe" as const), probe: probeArb }) },
);
const caseArb = fc.array(opArb, { minLength: 3, maxLength: MAX_OPS });

/** One broker of the comparison: where its SASL listener is. */
interface Side {
  name: "kafka" | "runnel";
  saslPort: number;
}

const pause = (ms: number) => new Promise((res) => setTimeout(res, ms));

/** A connection to `port` logged in with SASL PLAIN as `user` (password `<user>-pw`). */
async function login(port: number, user: string): Promise<RawClient> {
  const c = await loginPlain(port, user);
  c.lenient = true;
  c.timeoutMs = 30_000;
  return c;
}

/** An ACL as one comparable string. */
const aclText = (a: { resourceType: number; patternType: number; resourceName: string; principal: string; host: string; operation: number; permissionType: number }) =>
  `${a.resourceType}:${a.patternType}:${a.resourceName}|${a.principal}|${a.host}|${a.operation}|${a.permissionType}`;

/** A DescribeAcls answer's ACLs as sorted strings. */
function describedAcls(r: any): string[] {
  return (r.resources as any[]).flatMap((res) => (res.acls as any[]).map((a) => aclText({ ...a, resourceType: res.resourceType, patternType: res.patternType, resourceName: res.resourceName }))).sort();
}

const ALL_FILTER: Filter = { resourceTypeFilter: ANY, resourceNameFilter: null, patternTypeFilter: ANY, principalFilter: null, hostFilter: null, operation: ANY, permissionType: ANY };

/** Runs one generated sequence on one side and returns everything it answered, in order. */
async function scenario(s: Side, run: number, ops: Op[], common: (key: number) => number[]): Promise<unknown> {
  const pick = (key: number, i: number, min = 0, max = 99) => {
    const vs = common(key).filter((v) => v >= min && v <= max);
    if (vs.length === 0) throw new Error(`no common version of API ${key} in ${min}..${max}`);
    return vs[i % vs.length];
  };
  let admin = await login(s.saslPort, "admin");
  const alice = await login(s.saslPort, "alice");
  /**
   * An ACL request as admin, or "closed" when the broker closes the connection instead of answering (Kafka does
   * for a request it cannot parse); admin logs in again then.
   */
  const ask = async (apiKey: number, v: number, body: unknown): Promise<any> => {
    try {
      return await admin.request(apiKey, v, body);
    } catch (e) {
      if (!/connection closed/.test((e as Error).message)) throw e;
      admin = await login(s.saslPort, "admin");
      return "closed";
    }
  };
  const out: unknown[] = [];
  /** What this side's own answers say it holds now. */
  let held = new Set<string>();
  const settle = async () => {
    const want = [...held].sort().join("\n");
    const deadline = Date.now() + SETTLE_MS;
    for (;;) {
      const r = await ask(29, pick(29, 0), ALL_FILTER);
      if (r.errorCode !== 0) throw new Error(`${s.name}: DescribeAcls as admin failed with ${r.errorCode}`);
      if (describedAcls(r).join("\n") === want) return;
      if (Date.now() > deadline) throw new Error(`${s.name}: DescribeAcls does not show the side's own changes after ${SETTLE_MS} ms:\nwant ${want}\nhave ${describedAcls(r).join("\n")}`);
      await pause(20);
    }
  };
  const gid = (g: string) => `${g}${run}`;
  const xid = (x: string) => `${x}${run}`;
  try {
    // the coordinators of the run's groups and transactional ids exist before alice asks (a sharded node places them then)
    for (const g of ["ga", "gab", "gb"]) await admin.findCoordinator(gid(g), 0);
    for (const x of ["xa", "xb"]) await admin.findCoordinator(xid(x), 1);
    for (const op of ops) {
      switch (op.k) {
        case "create": {
          const v = pick(30, op.v);
          // group/transactional id ACL names that are the run's own names carry the run number
          const creations = op.bindings.map((b) => ({ ...b, resourceName: runName(b.resourceType, b.resourceName, run) }));
          const r = await ask(30, v, { creations });
          const results = r === "closed" ? r : (r.results as any[]).map((x) => x.errorCode);
          const texts = creations.map((c) => aclText({ ...c, patternType: c.resourcePatternType }));
          if (creations.some((c) => [c.resourceType, c.resourcePatternType, c.operation, c.permissionType].some((x) => x <= 1) || c.resourcePatternType === MATCH)) out.push({ op: `createAcls v${v}`, creations: texts, wholeRefusal: wholeRefusal(results) });
          else out.push({ op: `createAcls v${v}`, creations: texts, results });
          creations.forEach((c, i) => {
            if (results !== "closed" && results[i] === 0) held.add(aclText({ ...c, patternType: c.resourcePatternType }));
          });
          await settle();
          break;
        }
        case "describe": {
          const v = pick(29, op.v);
          const filter = { ...op.filter, resourceNameFilter: op.filter.resourceNameFilter === null ? null : runName(op.filter.resourceTypeFilter, op.filter.resourceNameFilter, run) };
          const r = await ask(29, v, filter);
          if (unknownInFilter(filter)) out.push({ op: `describeAcls v${v}`, filter, wholeRefusal: wholeRefusal(r === "closed" ? r : [r.errorCode]) });
          else out.push({ op: `describeAcls v${v}`, filter, errorCode: r.errorCode, acls: describedAcls(r) });
          break;
        }
        case "delete": {
          const v = pick(31, op.v);
          const filters = op.filters.map((f) => ({ ...f, resourceNameFilter: f.resourceNameFilter === null ? null : runName(f.resourceTypeFilter, f.resourceNameFilter, run) }));
          const r = await ask(31, v, { filters });
          if (filters.some(unknownInFilter)) {
            out.push({ op: `deleteAcls v${v}`, filters, wholeRefusal: wholeRefusal(r === "closed" ? r : (r.filterResults as any[]).map((fr) => fr.errorCode)) });
            if (r !== "closed") for (const fr of r.filterResults as any[]) if (fr.matchingAcls.length > 0) throw new Error(`${s.name}: a refused DeleteAcls deleted ACLs`);
            break;
          }
          const results = (r.filterResults as any[]).map((fr) => ({ errorCode: fr.errorCode, matching: (fr.matchingAcls as any[]).map((a) => `${a.errorCode}/${aclText(a)}`).sort() }));
          out.push({ op: `deleteAcls v${v}`, filters, results });
          for (const fr of r.filterResults as any[]) for (const a of fr.matchingAcls as any[]) if (a.errorCode === 0) held.delete(aclText(a));
          await settle();
          break;
        }
        case "probe":
          out.push(await probe(s, alice, op.probe, pick, gid, xid));
          break;
      }
    }
  } finally {
    // every ACL is deleted, so the next run starts from none
    const r = await ask(31, pick(31, 0), { filters: [ALL_FILTER] });
    held = new Set();
    if (r.filterResults[0].errorCode === 0) await settle();
    admin.close();
    alice.close();
  }
  return out;
}

/** Whether a binding names an UNKNOWN element (code 0). */
function unknownIn(...codes: number[]): boolean {
  return codes.some((c) => c === 0);
}

/** Whether a filter names an UNKNOWN element (code 0). */
function unknownInFilter(f: Filter): boolean {
  return unknownIn(f.resourceTypeFilter, f.patternTypeFilter, f.operation, f.permissionType);
}

/**
 * How a request naming an UNKNOWN element (or a creation naming ANY or MATCH) was refused: Kafka cannot parse it
 * and closes the connection (or fails every creation with UNKNOWN_SERVER_ERROR), Runnel answers INVALID_REQUEST
 * everywhere (INTENTIONAL_DIFFERENCES); anything else (some part applied) is shown as is.
 */
function wholeRefusal(codes: number[] | "closed"): unknown {
  if (codes === "closed") return "connection closed";
  return codes.every((c) => c === 42) ? "INVALID_REQUEST" : codes.every((c) => c === -1) ? "UNKNOWN_SERVER_ERROR" : codes;
}

/** A group or transactional id name from the pools made the run's own (`ga` -> `ga7`); other names unchanged. */
function runName(type: number, name: string, run: number): string {
  if ((type === GROUP && ["ga", "gab", "gb"].includes(name)) || (type === TXN && ["xa", "xb"].includes(name))) return `${name}${run}`;
  return name;
}

/** One probe sent as alice: the answer's fields that show what alice may do. */
async function probe(s: Side, c: RawClient, p: Probe, pick: (key: number, i: number, min?: number, max?: number) => number, gid: (g: string) => string, xid: (x: string) => string): Promise<unknown> {
  switch (p.p) {
    case "metadataAll":
    case "metadataNamed": {
      const v = pick(3, p.v, 8);
      const topics = p.p === "metadataAll" ? null : [{ name: p.t, topicId: new Uint8Array(16) }];
      const r = await c.request(3, v, { topics, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: true, includeTopicAuthorizedOperations: true });
      // internal topics exist on each side only once a coordinator was used: left out
      const listed = (r.topics as any[]).filter((t) => !String(t.name).startsWith("__"));
      return { probe: `${p.p} v${v}`, topics: listed.map((t) => ({ name: t.name, errorCode: t.errorCode, ops: t.topicAuthorizedOperations, partitions: (t.partitions as any[]).map((x) => x.errorCode) })), clusterOps: v <= 10 ? r.clusterAuthorizedOperations : null };
    }
    case "produce": {
      const r = await c.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 10000, topicData: p.ts.map((name) => ({ name, partitionData: [{ index: 0, records: batch(1) }] })) });
      return { probe: "produce", ts: p.ts, topics: (r.responses as any[]).map((t) => ({ name: t.name, codes: (t.partitionResponses as any[]).map((x) => `${x.index}:${x.errorCode}`) })) };
    }
    case "fetch": {
      const r = await c.request(1, 12, { replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: p.ts.map((topic) => ({ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] })), forgottenTopicsData: [], rackId: "" });
      return { probe: "fetch", ts: p.ts, errorCode: r.errorCode, topics: (r.responses as any[]).map((t) => ({ name: t.topic, codes: (t.partitions as any[]).map((x) => `${x.partitionIndex}:${x.errorCode}:${x.errorCode === 0 ? "" : `${x.highWatermark}`}`) })) };
    }
    case "createTopic": {
      const v = pick(19, p.v);
      const r = await c.request(19, v, { topics: [{ name: p.t, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 30000, validateOnly: true });
      const t = r.topics[0];
      return { probe: `createTopic v${v}`, t: p.t, errorCode: t.errorCode, topicConfigErrorCode: t.topicConfigErrorCode, numPartitions: t.numPartitions, replicationFactor: t.replicationFactor, hasConfigs: Array.isArray(t.configs) ? t.configs.length > 0 : null };
    }
    case "describeConfigs": {
      const v = pick(32, p.v);
      const resources = [{ resourceType: 2, resourceName: p.t, configurationKeys: ["cleanup.policy"] }, ...(p.broker ? [{ resourceType: 4, resourceName: "1", configurationKeys: ["log.retention.ms"] }] : [])];
      const r = await c.request(32, v, { resources, includeSynonyms: false, includeDocumentation: false });
      return { probe: `describeConfigs v${v}`, results: (r.results as any[]).map((x) => ({ type: x.resourceType, name: x.resourceName, errorCode: x.errorCode, configs: (x.configs as any[]).map((y) => `${y.name}=${y.value}`) })) };
    }
    case "offsetCommit": {
      const v = pick(8, p.v, 2);
      const r = await c.requestWhileCoordinatorLoads(8, v, { groupId: gid(p.g), generationIdOrMemberEpoch: -1, memberId: "", groupInstanceId: null, retentionTimeMs: -1n, topics: [{ name: p.t, partitions: [{ partitionIndex: 0, committedOffset: 0n, committedLeaderEpoch: -1, committedMetadata: null }] }] }, (x: any) => x.topics[0]?.partitions[0]?.errorCode ?? 0);
      return { probe: `offsetCommit v${v}`, g: p.g, t: p.t, codes: (r.topics as any[]).map((t) => (t.partitions as any[]).map((x) => x.errorCode)) };
    }
    case "joinGroup": {
      const r = await c.requestWhileCoordinatorLoads(11, 5, { groupId: gid(p.g), sessionTimeoutMs: 10000, rebalanceTimeoutMs: 10000, memberId: "", groupInstanceId: null, protocolType: "consumer", protocols: [{ name: "range", metadata: new Uint8Array([0, 1, 0, 0, 0, 0, 0, 0, 0, 0]) }] }, (x: any) => x.errorCode);
      return { probe: "joinGroup", g: p.g, errorCode: r.errorCode };
    }
    case "initProducerId": {
      const v = pick(22, p.v, 0, 5);
      const body = { transactionalId: p.x === null ? null : xid(p.x), transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 };
      const r = await c.requestWhileCoordinatorLoads(22, v, body, (x: any) => (x.errorCode === 51 ? 14 : x.errorCode));
      return { probe: `initProducerId v${v}`, x: p.x, errorCode: r.errorCode };
    }
    case "describeCluster": {
      const v = pick(60, p.v, 0, 1);
      const r = await c.request(60, v, { includeClusterAuthorizedOperations: true, endpointType: 1 });
      return { probe: `describeCluster v${v}`, errorCode: r.errorCode, clusterOps: r.clusterAuthorizedOperations };
    }
    case "describeAcls": {
      const v = pick(29, p.v);
      const r = await c.request(29, v, ALL_FILTER);
      return { probe: `describeAcls v${v}`, errorCode: r.errorCode, acls: describedAcls(r) };
    }
    case "describeGroups": {
      const v = pick(15, p.v, 3);
      const r = await c.request(15, v, { groups: p.gs.map(gid), includeAuthorizedOperations: true });
      return { probe: `describeGroups v${v}`, groups: (r.groups as any[]).map((g) => ({ groupId: g.groupId, errorCode: g.errorCode, state: g.groupState, ops: g.authorizedOperations })) };
    }
    case "listGroups": {
      const v = pick(16, p.v, 0, 4);
      const r = await c.request(16, v, { statesFilter: [] });
      // only the run's own groups (earlier runs' groups linger differently on each side)
      const own = new Set(["ga", "gab", "gb"].map(gid));
      return { probe: `listGroups v${v}`, errorCode: r.errorCode, groups: (r.groups as any[]).filter((g) => own.has(g.groupId)).map((g) => g.groupId).sort() };
    }
    case "findCoordinator": {
      const keys = await c.request(10, 4, { keyType: 0, coordinatorKeys: [gid(p.g)] });
      const txns = await c.request(10, 4, { keyType: 1, coordinatorKeys: [xid(p.x)] });
      return { probe: "findCoordinator v4", codes: [...keys.coordinators, ...txns.coordinators].map((k: any) => k.errorCode) };
    }
    case "offsetFetch": {
      const v = pick(9, p.v, 1);
      const topics = p.ts === null ? null : p.ts.map((name) => ({ name, partitionIndexes: [0] }));
      const body = v >= 8 ? { groups: [{ groupId: gid(p.g), memberId: null, memberEpoch: -1, topics }], requireStable: false } : { groupId: gid(p.g), topics, requireStable: false };
      if (v < 2 && topics === null) return { probe: `offsetFetch v${v}`, skipped: "all topics needs v2+" };
      const r = await c.requestWhileCoordinatorLoads(9, v, body, (x: any) => (v >= 8 ? x.groups[0].errorCode : x.errorCode ?? 0));
      const groups = v >= 8 ? r.groups : [{ groupId: gid(p.g), errorCode: r.errorCode ?? 0, topics: r.topics }];
      return { probe: `offsetFetch v${v}`, groups: (groups as any[]).map((g) => ({ errorCode: g.errorCode, topics: (g.topics as any[]).map((t) => ({ name: t.name, codes: (t.partitions as any[]).map((x) => `${x.partitionIndex}:${x.errorCode}:${x.committedOffset}`) })) })) };
    }
    case "listOffsets": {
      const v = pick(2, p.v, 1);
      const r = await c.request(2, v, { replicaId: -1, isolationLevel: 0, topics: p.ts.map((name) => ({ name, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] })), timeoutMs: 1000 });
      return { probe: `listOffsets v${v}`, topics: (r.topics as any[]).map((t) => ({ name: t.name, codes: (t.partitions as any[]).map((x) => x.errorCode) })) };
    }
    case "describeTopicPartitions": {
      const r = await c.request(75, 0, { topics: p.ts.map((name) => ({ name })), responsePartitionLimit: 100, cursor: null });
      return { probe: "describeTopicPartitions v0", topics: (r.topics as any[]).map((t) => ({ name: t.name, errorCode: t.errorCode, ops: t.topicAuthorizedOperations, partitions: (t.partitions as any[]).length })) };
    }
    case "createPartitions": {
      const v = pick(37, p.v);
      const r = await c.request(37, v, { topics: [{ name: p.t, count: 2, assignments: null }], timeoutMs: 10000, validateOnly: true });
      return { probe: `createPartitions v${v}`, results: (r.results as any[]).map((x) => ({ name: x.name, errorCode: x.errorCode })) };
    }
    case "alterConfigs": {
      const v = pick(44, p.v);
      const resources = [{ resourceType: 2, resourceName: p.t, configs: [{ name: "retention.ms", configOperation: 0, value: "3600000" }] }, ...(p.broker ? [{ resourceType: 4, resourceName: "", configs: [{ name: "log.retention.ms", configOperation: 0, value: "3600000" }] }] : [])];
      const r = await c.request(44, v, { resources, validateOnly: true });
      return { probe: `incrementalAlterConfigs v${v}`, results: (r.responses as any[]).map((x) => ({ type: x.resourceType, name: x.resourceName, errorCode: x.errorCode })) };
    }
  }
}

/** Creates the file's topics as admin and waits until each has a leader that serves it. */
async function createTopics(port: number): Promise<void> {
  const c = await login(port, "admin");
  try {
    const r = await c.request(19, 5, { topics: TOPICS.map((name) => ({ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] })), timeoutMs: 30000, validateOnly: false });
    for (const t of r.topics as any[]) if (t.errorCode !== 0) throw new Error(`creating ${t.name} on ${port} failed: ${t.errorCode}`);
    for (let i = 0; ; i++) {
      const lo = await c.request(2, 7, { replicaId: -1, isolationLevel: 0, topics: TOPICS.map((name) => ({ name, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] })) });
      if ((lo.topics as any[]).every((t) => t.partitions[0].errorCode === 0)) return;
      if (i > 400) throw new Error(`topics on ${port} did not settle`);
      await pause(25);
    }
  } finally {
    c.close();
  }
}

const why = kafkaUnavailable();
if (why) {
  test(`ACLs: random sequences match Apache Kafka (SKIPPED: ${why})`, { skip: why }, () => {});
} else {
  let kafka: KafkaBroker | null = null;
  let runnel: TestBroker | null = null;
  after(async () => {
    await Promise.all([kafka?.stop(), runnel?.stop()]);
  });
  test("ACLs: random sequences match Apache Kafka", { timeout: 600_000 }, async () => {
    const started = await Promise.allSettled([
      startKafka({
        saslPlaintext: true,
        overrides: {
          ...SHARED_SETTINGS,
          "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
          // the PLAINTEXT listener (readiness check, broker to controller) authenticates as User:ANONYMOUS
          "super.users": "User:admin;User:ANONYMOUS",
          "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "PLAIN",
          "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
        },
      }),
      startAclBroker({ ...SHARED_SETTINGS, "node.id": "1" }),
    ]);
    if (started[0].status === "fulfilled") kafka = started[0].value;
    if (started[1].status === "fulfilled") runnel = started[1].value;
    for (const x of started) if (x.status === "rejected") throw x.reason;
    const k = kafka!;
    const rn = runnel!;
    await Promise.all([createTopics(k.saslPort), createTopics(rn.port)]);
    const [kv, rv] = await Promise.all([versionTable(k.port), versionTable(rn.port)]);
    const common = (key: number) => commonVersions(kv, rv, key);
    const sides: Side[] = [{ name: "kafka", saslPort: k.saslPort }, { name: "runnel", saslPort: rn.port }];
    // ACL_ORACLE_CASE='[...]', ACL_ORACLE_SEED and ACL_ORACLE_PATH replay one (random-cases.ts)
    await checkRandomCases("ACL_ORACLE", caseArb, RUNS, async (c, r) => {
      const answers: unknown[] = [];
      for (const s of sides) {
        try {
          answers.push(normalize(await scenario(s, r, c, common)));
        } catch (e) {
          throw new Error(`${s.name}: ${(e as Error).message}`, { cause: e });
        }
      }
      const listed = (d: string) => {
        const at = d.split(": ")[0];
        return INTENTIONAL_DIFFERENCES.some((x) => x.api === "ACLs random" && (x.path.test(at.replace(/\[[^\]]*\]/g, "[]")) || x.path.test(at)));
      };
      assertSame(`run ${r}`, diff(answers[0], answers[1]).filter((d) => !listed(d)));
    });
  });
}
