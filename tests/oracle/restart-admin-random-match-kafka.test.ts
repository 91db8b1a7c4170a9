/**
 * Randomized differential test of what must survive a broker restart, part two (part one is
 * restart-random-match-kafka: records, transactions, producers, classic groups): fast-check generates sequences of
 * KIP-848 consumer group heartbeats (three members, member 2 static: joins, acknowledgements, subscription changes,
 * stale epochs, leaves, OffsetCommit with member epochs), SCRAM credential changes (AlterUserScramCredentials),
 * client quota changes (AlterClientQuotas), dynamic broker configs (IncrementalAlterConfigs or AlterConfigs on the
 * cluster default "" and on broker 1), topic and group configs set and deleted back to their defaults, ACLs created and
 * deleted (CreateAcls, DeleteAcls), with restarts among them. The same sequence runs on Apache Kafka 4.4 and on Runnel
 * (a node process, sharded under RUNNEL_TEST_SHARDS=2), both behind SASL PLAIN with the StandardAuthorizer (as
 * acls-random-match-kafka starts them; the test's connections log in as the super user admin).
 * A restart stops both brokers and starts them again on their data: SIGTERM on both, or SIGKILL on Runnel (Kafka still
 * stopped cleanly: everything Runnel acknowledged must survive a process kill, since the page cache does).
 *
 * After each restart and at the end, the whole observable state of the run is read back on both sides and compared
 * field by field (differential.ts's normalisation, INTENTIONAL_DIFFERENCES under "RandomRestarts2"):
 * ConsumerGroupDescribe, ListGroups, OffsetFetch (with no member, and with each member's id and epoch), a heartbeat of
 * each member with the epoch and partitions it had before the restart, DescribeUserScramCredentials,
 * DescribeClientQuotas, DescribeConfigs of both broker resources, the topics and the group (with synonyms: the chain of
 * topic, per-broker, cluster default and static values), DescribeAcls, and what the ACLs let user alice see (Metadata
 * of the run's topics with their authorized operations).
 *
 * Assignments are deterministic by construction: each member subscribes only to topics of its own (two per member;
 * "missing" names a topic that does not exist), so the uniform assignor has one answer and members' partitions, epochs
 * and reconciliation states are compared exactly (topic ids as names). Kafka applies admin changes through its
 * controller and serves them from its metadata image a moment later: after each admin op (and after a restart) both
 * sides set a marker quota and poll (bounded) until DescribeClientQuotas shows it (and after an ACL change until
 * DescribeAcls lists what the answers say); the marker is left out of what is compared. Session and rebalance
 * timeouts are 5 minutes, so nothing expires in a run. SCRAM answers are compared up to the first restart that follows
 * a credential deletion: Kafka 4.4 may lose credentials there (INTENTIONAL_DIFFERENCES, RandomRestarts2).
 *
 * Knobs: RESTART2_ORACLE_RUNS (1), RESTART2_ORACLE_RESTARTS (2), RESTART2_ORACLE_OPS (longest phase, 20);
 * RESTART2_ORACLE_SEED / RESTART2_ORACLE_PATH / RESTART2_ORACLE_CASE replay one; RESTART2_ORACLE_DUMP=prefix writes
 * both sides' normalised answers to prefix-RUN-kafka.json and prefix-RUN-runnel.json. Shrinking is off (each step would
 * restart both brokers again): a failure prints the whole case.
 */
import * as fs from "node:fs";
import fc from "fast-check";
import { assertSame, normalize, SHARED_SETTINGS } from "./differential.ts";
import { restartBoth, restartDifferences, restartSuite, type RestartableNode, type Versions } from "./restartable-nodes.ts";
import { checkRandomCases } from "./random-cases.ts";
import { RawClient } from "../support/raw-client.ts";

/** fast-check runs (each on its own topics, group and entities; credentials and quotas are cleared between runs). */
const RUNS = Number(process.env.RESTART2_ORACLE_RUNS ?? 1);
/** Restarts in a run: two by default, so a run restarts on state a restart already reloaded once. */
const RESTARTS = Number(process.env.RESTART2_ORACLE_RESTARTS ?? 2);
/** Longest operation sequence of a run between two restarts. */
const MAX_OPS = Number(process.env.RESTART2_ORACLE_OPS ?? 20);
const MEMBERS = 3;
const STATIC_MEMBER = 2;
/** Session and rebalance timeouts: nothing expires during a run. */
const TIMEOUT_MS = 300_000;
const SETTINGS: Record<string, string> = {
  ...SHARED_SETTINGS,
  "group.consumer.session.timeout.ms": String(TIMEOUT_MS),
  "group.consumer.max.session.timeout.ms": String(TIMEOUT_MS),
  "group.consumer.assignment.interval.ms": "0",
};
/** Retriable while a coordinator loads or a leader is not there yet (see restart-random-match-kafka). */
const LOADING = [14, 15, 16, 6, 5];
/** A member's own topics: `x` with 2 partitions, `y` with 1. */
const OWN_TOPICS: Record<string, number> = { x: 2, y: 1 };
/** Subscriptions a member may have, by its own topic names ("missing": a topic that is never created). */
const SUBSCRIPTIONS = [["x"], ["y"], ["x", "y"], ["x", "missing"]];
/** Dynamic broker keys altered, with values; each has a topic key whose default it supplies (or none). */
const BROKER_CONFIGS: [string, string[]][] = [
  ["message.max.bytes", ["2000000", "500000"]],
  ["log.cleaner.min.cleanable.ratio", ["0.3", "0.7"]],
  ["log.cleaner.delete.retention.ms", ["7200000"]],
  ["log.index.interval.bytes", ["8192"]],
  ["log.retention.ms", ["86400000"]],
  ["log.message.timestamp.type", ["LogAppendTime"]],
];
/** Topic keys altered (and described with their synonyms), with values. */
const TOPIC_CONFIGS: [string, string[]][] = [
  ["max.message.bytes", ["100000", "3000000"]],
  ["min.cleanable.dirty.ratio", ["0.9"]],
  ["delete.retention.ms", ["1000"]],
  ["index.interval.bytes", ["16384"]],
  ["retention.ms", ["-1", "3600000"]],
  ["message.timestamp.type", ["CreateTime"]],
];
/** Group configs altered on the run's group (none with a timing effect: the session timeout stays the broker's). */
const GROUP_CONFIGS: [string, string[]][] = [
  ["consumer.heartbeat.interval.ms", ["6000", "15000"]],
  ["share.delivery.count.limit", ["3"]],
];
/** Quota entities (null: the default entity of that type). */
const QUOTA_ENTITIES: { entityType: string; entityName: string | null }[][] = [
  [{ entityType: "user", entityName: "alice" }],
  [{ entityType: "client-id", entityName: "app" }],
  [{ entityType: "user", entityName: null }],
  [{ entityType: "user", entityName: "alice" }, { entityType: "client-id", entityName: "app" }],
];
const QUOTA_KEYS = ["producer_byte_rate", "consumer_byte_rate", "request_percentage"];
/**
 * SCRAM comparison state (both brokers get the same ops): Kafka 4.4 may lose credentials at a restart that follows a
 * credential deletion (INTENTIONAL_DIFFERENCES, RandomRestarts2), so from such a restart on a run's SCRAM answers are
 * not compared (credentials are per run and never removed by the clean-up, so a run deletes only what its own ops
 * delete). `cutRuns` counts the runs cut so.
 */
const scramState = { deletedSinceRestart: false, unreliable: false, cutRuns: 0 };
/** Why SCRAM answers are not compared after a restart that followed a deletion. */
const SCRAM_NOT_COMPARED = "not compared: a restart followed a credential deletion (Kafka 4.4 may lose credentials then)";
/** ACL codes (Kafka's): resource types, pattern types, operations, permissions. */
const ACL = { ANY: 1, TOPIC: 2, GROUP: 3, CLUSTER: 4, LITERAL: 3, PREFIXED: 4, READ: 3, DESCRIBE: 8, DENY: 2, ALLOW: 3 } as const;
/** ACL bindings an op creates or deletes, for run `run` (alice's rights on the run's topics, group and the cluster). */
const aclBindings = (run: number) => [
  { resourceType: ACL.TOPIC, resourceName: `rt-${run}-m0x`, resourcePatternType: ACL.LITERAL, principal: "User:alice", host: "*", operation: ACL.READ, permissionType: ACL.ALLOW },
  { resourceType: ACL.TOPIC, resourceName: `rt-${run}-m1`, resourcePatternType: ACL.PREFIXED, principal: "User:alice", host: "*", operation: ACL.DESCRIBE, permissionType: ACL.ALLOW },
  { resourceType: ACL.TOPIC, resourceName: `rt-${run}-m0x`, resourcePatternType: ACL.LITERAL, principal: "User:alice", host: "*", operation: ACL.DESCRIBE, permissionType: ACL.DENY },
  { resourceType: ACL.GROUP, resourceName: `rt-${run}-g`, resourcePatternType: ACL.LITERAL, principal: "User:alice", host: "*", operation: ACL.READ, permissionType: ACL.ALLOW },
  { resourceType: ACL.CLUSTER, resourceName: "kafka-cluster", resourcePatternType: ACL.LITERAL, principal: "User:alice", host: "*", operation: ACL.DESCRIBE, permissionType: ACL.ALLOW },
];
/** A DescribeAcls filter matching every ACL. */
const ALL_ACLS = { resourceTypeFilter: ACL.ANY, resourceNameFilter: null, patternTypeFilter: ACL.ANY, principalFilter: null, hostFilter: null, operation: ACL.ANY, permissionType: ACL.ANY };
/** The entity of the settle marker (a client id no generated op names); it stays from run to run. */
const MARKER = [{ entityType: "client-id", entityName: "restart2-settle-marker" }];

type Op =
  | { k: "join"; m: number; sub: number }
  | { k: "beat"; m: number; how: "owned" | "nothing" | "stale" }
  | { k: "subscribe"; m: number; sub: number }
  | { k: "leave"; m: number }
  | { k: "commit"; m: number; how: "member" | "stale" | "simple"; p: number; offset: number }
  | { k: "scram"; user: string; mechanism: number; iterations: number | null }
  | { k: "quota"; entity: number; key: string; value: number | null }
  | { k: "brokerConfig"; broker: "" | "1"; key: string; value: string | null; legacy: boolean }
  | { k: "topicConfig"; m: number; key: string; value: string | null }
  | { k: "acl"; binding: number; create: boolean }
  | { k: "groupConfig"; key: string; value: string | null };

const M = fc.nat(MEMBERS - 1);
const SUB = fc.nat(SUBSCRIPTIONS.length - 1);
/** A key of `table` and one of its values, or null (delete) when `pick` is past them. */
const keyValue = (table: [string, string[]][]) =>
  fc.record({ key: fc.constantFrom(...table.map(([k]) => k)), pick: fc.nat(2) }).map(({ key, pick }) => {
    const values = table.find(([x]) => x === key)![1];
    return { key, value: pick >= values.length ? null : values[pick] };
  });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant("join" as const), m: M, sub: SUB }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant("beat" as const), m: M, how: fc.constantFrom("owned" as const, "owned" as const, "nothing" as const, "stale" as const) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("subscribe" as const), m: M, sub: SUB }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("leave" as const), m: M }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("commit" as const), m: M, how: fc.constantFrom("member" as const, "member" as const, "stale" as const, "simple" as const), p: fc.nat(1), offset: fc.nat(50) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("scram" as const), user: fc.constantFrom("alice", "bob"), mechanism: fc.constantFrom(1, 2), iterations: fc.constantFrom(4096, 8192, null) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("quota" as const), entity: fc.nat(QUOTA_ENTITIES.length - 1), key: fc.constantFrom(...QUOTA_KEYS), value: fc.constantFrom(1024, 2048, 50, null) }) },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom("" as const, "1" as const), keyValue(BROKER_CONFIGS), fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }))
      .map(([broker, kv, legacy]) => ({ k: "brokerConfig" as const, broker, ...kv, legacy })),
  },
  { weight: 2, arbitrary: fc.tuple(fc.nat(1), keyValue(TOPIC_CONFIGS)).map(([m, kv]) => ({ k: "topicConfig" as const, m, ...kv })) },
  { weight: 1, arbitrary: keyValue(GROUP_CONFIGS).map((kv) => ({ k: "groupConfig" as const, ...kv })) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("acl" as const), binding: fc.nat(aclBindings(0).length - 1), create: fc.oneof({ weight: 2, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }) }) },
);
/** A run: ops, then RESTARTS times a restart (SIGTERM, or SIGKILL on Runnel) and more ops. */
const caseArb = fc.record({
  phases: fc.array(fc.array(opArb, { minLength: 5, maxLength: MAX_OPS }), { minLength: RESTARTS + 1, maxLength: RESTARTS + 1 }),
  kills: fc.array(fc.boolean(), { minLength: RESTARTS, maxLength: RESTARTS }),
});
type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

const pause = (ms: number) => new Promise((res) => setTimeout(res, ms));
/** An ACL as one comparable string. */
const aclText = (a: { resourceType: number; resourcePatternType: number; resourceName: string; principal: string; host: string; operation: number; permissionType: number }) =>
  `${a.resourceType}:${a.resourcePatternType}:${a.resourceName}|${a.principal}|${a.host}|${a.operation}|${a.permissionType}`;
/** One member as a side sees it (as the consumer-groups random test models it). */
interface SimMember {
  id: string;
  epoch: number;
  sub: string[];
  /** The last assignment received (this broker's topic ids): what the member holds. */
  owned: { topicId: Uint8Array; partitions: number[] }[];
  /** In the group as far as its answers said (joined, not left, not fenced; a static member's -2 leave keeps it). */
  inGroup: boolean;
}

/** Settle markers set on each broker so far (all runs). */
const markerCounts = new Map<RestartableNode, number>();

/** Everything one side answers in one run, op by op, with a snapshot after each restart and at the end. */
class SideRun {
  readonly out: unknown[] = [];
  c!: RawClient;
  readonly members: SimMember[];
  /** Topic names by this broker's topic ids (hex). */
  private readonly topicNames = new Map<string, string>();
  /**
   * Settle markers this broker has had (the marker's value is the count, kept across runs: a restarted Kafka replays
   * its whole metadata log, and a value reused by an earlier run would show before this run's changes do).
   */
  private get markers(): number {
    return markerCounts.get(this.node) ?? 0;
  }
  /** The ACL bindings (by index) this side's answers say it holds. */
  private readonly aclsHeld = new Set<number>();

  constructor(readonly node: RestartableNode, readonly run: number, readonly V: Versions) {
    this.members = Array.from({ length: MEMBERS }, (_, i) => ({ id: `${this.group}-member-${i}`, epoch: 0, sub: [], owned: [], inGroup: false }));
  }

  /** The run's SCRAM users (credentials are per run: a deletion ahead of a restart is what Kafka may lose them at). */
  get scramUsers(): string[] {
    return ["alice", "bob"].map((u) => `${u}-${this.run}`);
  }
  /** The run's consumer group. */
  get group(): string {
    return `rt-${this.run}-g`;
  }
  /** Member `m`'s topic named `own` (x, y or missing). */
  topic(m: number, own: string): string {
    return `rt-${this.run}-m${m}${own}`;
  }
  /** Every member's own topics (created at setup; "missing" never is). */
  get topics(): { name: string; partitions: number }[] {
    return Array.from({ length: MEMBERS }, (_, m) => Object.entries(OWN_TOPICS).map(([own, partitions]) => ({ name: this.topic(m, own), partitions }))).flat();
  }

  /** (Re)connects to this side's broker as the super user. */
  async connect(): Promise<void> {
    this.c?.close();
    this.c = await this.node.connect();
    this.c.lenient = true;
    this.c.timeoutMs = 30_000;
  }

  /** Creates the run's topics and waits until they serve. */
  async setup(): Promise<void> {
    await this.connect();
    for (const t of this.topics) {
      const r = await this.c.request(19, 5, { topics: [{ name: t.name, numPartitions: t.partitions, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 30000, validateOnly: false });
      if (r.topics[0].errorCode !== 0) throw new Error(`${this.node.name}: create ${t.name}: ${r.topics[0].errorCode}`);
    }
    await this.serving();
  }

  /**
   * Polls (bounded) until every partition of the run's topics answers ListOffsets, the group coordinators have loaded
   * (the run's group, and every offsets partition for ListGroups), and the last settle marker shows (the metadata
   * image has caught up); then notes the topics' ids.
   */
  async serving(): Promise<void> {
    for (let i = 0; ; i++) {
      const lo = await this.c.request(2, this.V(2), { replicaId: -1, isolationLevel: 0, topics: this.topics.map((t) => ({ name: t.name, partitions: Array.from({ length: t.partitions }, (_, partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: -1n })) })) });
      const f = await this.c.request(10, 4, { keyType: 0, coordinatorKeys: [this.group] });
      const ok = lo.topics.every((t: any) => t.partitions.every((p: any) => p.errorCode === 0)) && f.coordinators[0].errorCode === 0;
      if (ok) {
        const d = await this.c.request(69, this.V(69), { groupIds: [this.group], includeAuthorizedOperations: false });
        // ListGroups answers COORDINATOR_LOAD_IN_PROGRESS while any offsets partition still loads (Kafka)
        const lg = await this.c.request(16, this.V(16), { statesFilter: [], typesFilter: [] });
        if (!LOADING.includes(d.groups[0].errorCode) && !LOADING.includes(lg.errorCode) && (await this.marker()) === this.markers) break;
      }
      if (i === 600) throw new Error(`${this.node.name}: not serving the run's topics, group coordinator and metadata after 30 s`);
      await pause(50);
    }
    const md = await this.c.request(3, this.V(3, 12), { topics: this.topics.map((t) => ({ name: t.name, topicId: new Uint8Array(16) })), allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    for (const t of md.topics) this.topicNames.set(Buffer.from(t.topicId).toString("hex"), t.name);
  }

  /** Every ACL this side holds, as sorted strings. */
  async acls(): Promise<string[]> {
    const r = await this.c.request(29, this.V(29), ALL_ACLS);
    if (r.errorCode !== 0) throw new Error(`${this.node.name}: DescribeAcls failed: ${r.errorCode}`);
    return r.resources.flatMap((res: any) => res.acls.map((a: any) => aclText({ ...a, resourceType: res.resourceType, resourcePatternType: res.patternType, resourceName: res.resourceName }))).sort();
  }

  /** The settle marker's value this side's DescribeClientQuotas shows (0: none). */
  async marker(): Promise<number> {
    const r = await this.c.request(48, this.V(48), { components: [{ entityType: "client-id", matchType: 0, match: MARKER[0].entityName }], strict: true });
    return r.entries?.[0]?.values[0]?.value ?? 0;
  }

  /** Sets the next settle marker and polls (bounded) until Describe shows it, so every earlier admin change shows too. */
  async settle(): Promise<void> {
    markerCounts.set(this.node, this.markers + 1);
    const r = await this.c.request(49, this.V(49), { entries: [{ entity: MARKER, ops: [{ key: "controller_mutation_rate", value: this.markers, remove: false }] }], validateOnly: false });
    if (r.entries[0].errorCode !== 0) throw new Error(`${this.node.name}: the settle marker was refused: ${r.entries[0].errorCode}`);
    for (let i = 0; (await this.marker()) !== this.markers; i++) {
      if (i === 250) throw new Error(`${this.node.name}: the settle marker ${this.markers} did not show in 5 s`);
      await pause(20);
    }
  }

  /** An assignment with topic names for ids, partitions sorted (what the member holds, comparable across brokers). */
  named(tps: { topicId: Uint8Array; partitions: number[] }[] | null | undefined): unknown {
    if (!tps) return tps;
    return tps.map((t) => ({ topic: this.topicNames.get(Buffer.from(t.topicId).toString("hex")) ?? "unknown id", partitions: [...t.partitions].sort() })).sort((a, b) => a.topic.localeCompare(b.topic));
  }

  /** A member's name in answers (m0..m2; "other" for an id the test did not choose). */
  name(id: string | null): string | null {
    const i = this.members.findIndex((x) => x.id === id);
    return i >= 0 ? `m${i}` : id === null || id === "" ? id : "other";
  }

  /** Sends a ConsumerGroupHeartbeat of member `m` (its id and epoch, overridden by `body`) and follows the answer. */
  async heartbeat(m: number, body: Record<string, unknown>): Promise<unknown> {
    const s = this.members[m];
    const r = await this.c.request(68, this.V(68), { groupId: this.group, memberId: s.id, memberEpoch: s.epoch, instanceId: m === STATIC_MEMBER ? `static-${m}` : null, rackId: null, rebalanceTimeoutMs: -1, subscribedTopicNames: null, subscribedTopicRegex: null, serverAssignor: null, topicPartitions: null, ...body });
    // UNKNOWN_MEMBER_ID: not in the group (any more). FENCED_MEMBER_EPOCH (a stale epoch) leaves it in.
    if (r.errorCode === 25) s.inGroup = false;
    // A 'stale' heartbeat of a member at epoch 0 sends epoch -1: a leave.
    if (r.errorCode === 0 && body.memberEpoch === -1) s.inGroup = false;
    if (r.errorCode === 0 && (body.memberEpoch === undefined || (body.memberEpoch as number) >= 0)) {
      s.inGroup = true;
      if (body.subscribedTopicNames) s.sub = body.subscribedTopicNames as string[];
      s.epoch = r.memberEpoch;
      if (r.assignment !== null) s.owned = r.assignment.topicPartitions.map((t: any) => ({ topicId: t.topicId, partitions: [...t.partitions] }));
    }
    return { errorCode: r.errorCode, member: this.name(r.memberId ?? null), memberEpoch: r.memberEpoch, heartbeatIntervalMs: r.heartbeatIntervalMs, assignment: r.assignment === null ? null : this.named(r.assignment.topicPartitions) };
  }

  /** The run's whole observable state; with `beats`, then a heartbeat of each member with its epoch from before. */
  async snapshot(when: string, beats: boolean): Promise<void> {
    const s: Record<string, unknown> = { when };
    const d = await this.c.request(69, this.V(69), { groupIds: [this.group], includeAuthorizedOperations: false });
    const g = d.groups[0];
    const tps = (x: { topicPartitions: { topicName: string; partitions: number[] }[] }) => x.topicPartitions.map((t) => ({ topic: t.topicName, partitions: [...t.partitions].sort() })).sort((a, b) => a.topic.localeCompare(b.topic));
    s.describeGroup = {
      ...g,
      groupId: undefined,
      members: (g.members ?? []).map((x: any) => ({ member: this.name(x.memberId), instanceId: x.instanceId, rackId: x.rackId, memberEpoch: x.memberEpoch, clientId: x.clientId, subscribedTopicNames: [...x.subscribedTopicNames].sort(), subscribedTopicRegex: x.subscribedTopicRegex, assignment: tps(x.assignment), targetAssignment: tps(x.targetAssignment), memberType: x.memberType })).sort((a: any, b: any) => a.member.localeCompare(b.member)),
    };
    const lg = await this.c.request(16, this.V(16), { statesFilter: [], typesFilter: [] });
    s.listGroups = { errorCode: lg.errorCode, groups: lg.groups.filter((x: any) => x.groupId === this.group) };
    const topics = Array.from({ length: MEMBERS }, (_, m) => ({ name: this.topic(m, "x"), partitionIndexes: [0, 1] }));
    const fetches: unknown[] = [];
    for (const who of [null, ...this.members.keys()]) {
      const memberId = who === null ? null : this.members[who].id;
      const memberEpoch = who === null ? -1 : this.members[who].epoch;
      const r = await this.c.request(9, this.V(9, 9), { groups: [{ groupId: this.group, memberId, memberEpoch, topics }], requireStable: false });
      fetches.push({ member: who === null ? "none" : `m${who}`, memberEpoch, groups: r.groups.map((x: any) => ({ ...x, groupId: undefined })) });
    }
    s.offsetFetch = fetches;
    const sc = await this.c.request(50, 0, { users: null });
    s.scram = scramState.unreliable ? SCRAM_NOT_COMPARED : { errorCode: sc.errorCode, results: sc.results.filter((x: any) => this.scramUsers.includes(x.user)).map((x: any) => ({ user: x.user, errorCode: x.errorCode, infos: [...x.credentialInfos].sort((a: any, b: any) => a.mechanism - b.mechanism) })).sort((a: any, b: any) => a.user.localeCompare(b.user)) };
    const q = await this.c.request(48, this.V(48), { components: [], strict: false });
    const entity = (e: any[]) => JSON.stringify([...e].sort((a, b) => a.entityType.localeCompare(b.entityType)).map((c) => [c.entityType, c.entityName]));
    s.quotas = { errorCode: q.errorCode, entries: q.entries.filter((e: any) => entity(e.entity) !== entity(MARKER)).map((e: any) => ({ entity: entity(e.entity), values: [...e.values].sort((a: any, b: any) => a.key.localeCompare(b.key)) })).sort((a: any, b: any) => a.entity.localeCompare(b.entity)) };
    const dc = await this.c.request(32, this.V(32), {
      resources: [
        { resourceType: 4, resourceName: "", configurationKeys: null },
        { resourceType: 4, resourceName: "1", configurationKeys: BROKER_CONFIGS.map(([k]) => k) },
        ...[0, 1].map((m) => ({ resourceType: 2, resourceName: this.topic(m, "x"), configurationKeys: TOPIC_CONFIGS.map(([k]) => k) })),
        { resourceType: 32, resourceName: this.group, configurationKeys: GROUP_CONFIGS.map(([k]) => k) },
      ],
      includeSynonyms: true,
      includeDocumentation: false,
    });
    s.describeConfigs = dc.results.map((r: any) => ({ ...r, resourceName: r.resourceName.replace(`rt-${this.run}-`, "") }));
    s.acls = await this.acls();
    // what the ACLs let alice see: Metadata of the run's x topics (listed or refused) and the cluster's operations
    const alice = await this.node.connect("alice");
    try {
      const md = await alice.request(3, this.V(3, 12), { topics: Array.from({ length: MEMBERS }, (_, m) => ({ name: this.topic(m, "x"), topicId: new Uint8Array(16) })), allowAutoTopicCreation: false, includeTopicAuthorizedOperations: true });
      s.aliceMetadata = md.topics.map((t: any) => ({ name: t.name, errorCode: t.errorCode, topicAuthorizedOperations: t.topicAuthorizedOperations }));
    } finally {
      alice.close();
    }
    this.out.push({ snapshot: s });
    if (!beats) return;
    const answers: unknown[] = [];
    for (const [m, x] of this.members.entries()) {
      if (!x.inGroup || x.epoch <= 0) continue;
      answers.push({ member: `m${m}`, epoch: x.epoch, r: await this.heartbeat(m, { topicPartitions: x.owned }) });
    }
    this.out.push({ heartbeatsWithTheirEpochs: answers });
  }

  /** Sends one generated op and records the answer; an admin change is settled before the next op. */
  async op(op: Op): Promise<void> {
    const ms = this.members;
    // a member outside the group joins instead (the consumer-groups random test covers heartbeats of non-members)
    if ((op.k === "beat" || op.k === "subscribe") && !ms[op.m].inGroup) op = { k: "join", m: op.m, sub: op.k === "subscribe" ? op.sub : 0 };
    switch (op.k) {
      case "join": {
        const s = ms[op.m];
        s.epoch = 0;
        s.owned = [];
        this.out.push({ op, r: await this.heartbeat(op.m, { memberEpoch: 0, rebalanceTimeoutMs: TIMEOUT_MS, subscribedTopicNames: SUBSCRIPTIONS[op.sub].map((t) => this.topic(op.m, t)), topicPartitions: [] }) });
        return;
      }
      case "beat": {
        const s = ms[op.m];
        const body = op.how === "owned" ? { topicPartitions: s.owned } : op.how === "nothing" ? {} : { memberEpoch: s.epoch - 1 };
        this.out.push({ op, r: await this.heartbeat(op.m, body) });
        return;
      }
      case "subscribe":
        this.out.push({ op, r: await this.heartbeat(op.m, { subscribedTopicNames: SUBSCRIPTIONS[op.sub].map((t) => this.topic(op.m, t)), topicPartitions: ms[op.m].owned }) });
        return;
      case "leave": {
        const epoch = op.m === STATIC_MEMBER ? -2 : -1;
        this.out.push({ op, r: await this.heartbeat(op.m, { memberEpoch: epoch }) });
        if (epoch === -1) ms[op.m].inGroup = false;
        ms[op.m].epoch = 0;
        ms[op.m].owned = [];
        return;
      }
      case "commit": {
        // by a member in the group where there is one (from op.m on), so that commits with member epochs succeed
        const s = ms.map((_, i) => ms[(op.m + i) % MEMBERS]).find((x) => x.inGroup && x.epoch > 0) ?? ms[op.m];
        const r = await this.c.request(8, this.V(8, 9), {
          groupId: this.group,
          generationIdOrMemberEpoch: op.how === "simple" ? -1 : op.how === "stale" ? s.epoch - 1 : s.epoch,
          memberId: op.how === "simple" ? "" : s.id,
          groupInstanceId: null,
          retentionTimeMs: -1n,
          topics: [{ name: this.topic(op.m, "x"), partitions: [{ partitionIndex: op.p, committedOffset: BigInt(op.offset), committedLeaderEpoch: -1, committedMetadata: "" }] }],
        });
        this.out.push({ op, r: r.topics.map((t: any) => ({ ...t, name: undefined })) });
        return;
      }
      case "scram": {
        const name = `${op.user}-${this.run}`;
        const r = await this.c.request(51, 0, op.iterations === null
          ? { deletions: [{ name, mechanism: op.mechanism }], upsertions: [] }
          : { deletions: [], upsertions: [{ name, mechanism: op.mechanism, iterations: op.iterations, salt: new Uint8Array(16).fill(op.mechanism), saltedPassword: new Uint8Array(32).fill(op.iterations % 251) }] });
        this.out.push({ op, r: scramState.unreliable ? SCRAM_NOT_COMPARED : r.results });
        if (op.iterations === null && r.results[0].errorCode === 0) scramState.deletedSinceRestart = true;
        break;
      }
      case "quota": {
        const r = await this.c.request(49, this.V(49), { entries: [{ entity: QUOTA_ENTITIES[op.entity], ops: [{ key: op.key, value: op.value ?? 0, remove: op.value === null }] }], validateOnly: false });
        this.out.push({ op, r: r.entries.map((e: any) => e.errorCode) });
        break;
      }
      case "brokerConfig": {
        // AlterConfigs replaces the resource's whole set: on the cluster default it keeps min.insync.replicas=1, which
        // Kafka refuses to remove (INTENTIONAL_DIFFERENCES, RandomRestarts2)
        const kept = op.broker === "" ? [{ name: "min.insync.replicas", value: "1" }] : [];
        const r = op.legacy
          ? await this.c.request(33, this.V(33), { resources: [{ resourceType: 4, resourceName: op.broker, configs: [...kept, ...(op.value === null ? [] : [{ name: op.key, value: op.value }])] }], validateOnly: false })
          : await this.c.request(44, this.V(44), { resources: [{ resourceType: 4, resourceName: op.broker, configs: [{ name: op.key, configOperation: op.value === null ? 1 : 0, value: op.value }] }], validateOnly: false });
        this.out.push({ op, r: r.responses });
        break;
      }
      case "acl": {
        const b = aclBindings(this.run)[op.binding];
        const r = op.create
          ? (await this.c.request(30, this.V(30), { creations: [b] })).results
          : (await this.c.request(31, this.V(31), { filters: [{ resourceTypeFilter: b.resourceType, resourceNameFilter: b.resourceName, patternTypeFilter: b.resourcePatternType, principalFilter: b.principal, hostFilter: b.host, operation: b.operation, permissionType: b.permissionType }] })).filterResults;
        this.out.push({ op, r });
        if (r[0].errorCode === 0) {
          if (op.create) this.aclsHeld.add(op.binding);
          else this.aclsHeld.delete(op.binding);
        }
        // Kafka's authorizer follows its metadata image: poll (bounded) until DescribeAcls lists what the answers say
        const want = JSON.stringify([...this.aclsHeld].map((i) => aclText(aclBindings(this.run)[i])).sort());
        for (let i = 0; JSON.stringify(await this.acls()) !== want; i++) {
          if (i === 250) throw new Error(`${this.node.name}: DescribeAcls did not show ${want} in 5 s`);
          await pause(20);
        }
        break;
      }
      case "groupConfig": {
        const r = await this.c.request(44, this.V(44), { resources: [{ resourceType: 32, resourceName: this.group, configs: [{ name: op.key, configOperation: op.value === null ? 1 : 0, value: op.value }] }], validateOnly: false });
        this.out.push({ op, r: r.responses.map((x: any) => ({ ...x, resourceName: undefined })) });
        break;
      }
      case "topicConfig": {
        const r = await this.c.request(44, this.V(44), { resources: [{ resourceType: 2, resourceName: this.topic(op.m, "x"), configs: [{ name: op.key, configOperation: op.value === null ? 1 : 0, value: op.value }] }], validateOnly: false });
        this.out.push({ op, r: r.responses.map((x: any) => ({ ...x, resourceName: undefined })) });
        break;
      }
    }
    // an admin change: wait until this side's metadata image shows it
    await this.settle();
  }

  /** Removes the quotas, ACLs and broker configs the run made (not per run), so the next run starts from none. */
  async cleanUp(): Promise<void> {
    const quotas = async () => (await this.c.request(48, this.V(48), { components: [], strict: false })).entries.filter((e: any) => JSON.stringify(e.entity) !== JSON.stringify(MARKER));
    const entries = await quotas();
    if (entries.length > 0) await this.c.request(49, this.V(49), { entries: entries.map((e: any) => ({ entity: e.entity, ops: e.values.map((x: any) => ({ key: x.key, value: 0, remove: true })) })), validateOnly: false });
    await this.c.request(31, this.V(31), { filters: [ALL_ACLS] });
    this.aclsHeld.clear();
    for (const broker of ["", "1"]) {
      const keys = BROKER_CONFIGS.map(([k]) => k);
      await this.c.request(44, this.V(44), { resources: [{ resourceType: 4, resourceName: broker, configs: keys.map((name) => ({ name, configOperation: 1, value: null })) }], validateOnly: false });
    }
    for (let i = 0; ; i++) {
      const left = (await quotas()).length + (await this.acls()).length;
      if (left === 0) break;
      if (i === 250) throw new Error(`${this.node.name}: quotas or ACLs left after the clean-up`);
      await pause(20);
    }
    await this.settle(); // the broker configs' removal too
  }
}

restartSuite("groups, credentials, quotas and configs across broker restarts: random sequences match Apache Kafka", SETTINGS, async (pair) => {
  const { kafka, runnel, V } = pair;
  // RESTART2_ORACLE_CASE='{"phases":...}', RESTART2_ORACLE_SEED and RESTART2_ORACLE_PATH replay one (random-cases.ts)
  const runs = await checkRandomCases("RESTART2_ORACLE", caseArb, RUNS, async (c, r) => {
    const sides = [new SideRun(kafka, r, V), new SideRun(runnel, r, V)] as const;
    scramState.unreliable = false;
    try {
      await Promise.all(sides.map((s) => s.setup()));
      for (const [i, phase] of c.phases.entries()) {
        if (i > 0) {
          const kill = c.kills[i - 1];
          await Promise.all(sides.map((s) => s.snapshot(`before restart ${i}`, false)));
          if (scramState.deletedSinceRestart && !scramState.unreliable) (scramState.unreliable = true), scramState.cutRuns++;
          scramState.deletedSinceRestart = false;
          await restartBoth(pair, kill, `run ${r} restart ${i}`);
          await Promise.all(sides.map(async (s) => {
            await s.connect();
            await s.serving();
            await s.snapshot(`after restart ${i} (${kill ? "Runnel killed" : "both stopped"})`, true);
          }));
        }
        for (const op of phase) await Promise.all(sides.map((s) => s.op(op)));
      }
      await Promise.all(sides.map((s) => s.snapshot("end", true)));
      if (process.env.RESTART2_ORACLE_DUMP) for (const x of sides) fs.writeFileSync(`${process.env.RESTART2_ORACLE_DUMP}-${r}-${x.node.name}.json`, JSON.stringify(normalize(x.out), null, 1));
      assertSame(`run ${r}`, restartDifferences("RandomRestarts2", sides[0].out, sides[1].out));
      // the next run starts from none (a failed run ends the test)
      await Promise.all(sides.map((s) => s.cleanUp()));
    } finally {
      for (const s of sides) s.c?.close();
    }
  }, { endOnFailure: true });
  console.error(`${runs} runs; SCRAM answers left out after a restart that followed a credential deletion in ${scramState.cutRuns}`);
}, { sasl: true });
