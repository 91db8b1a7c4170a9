/**
 * Answers of the ACL APIs and of refused requests field by field as Apache Kafka 4.4 gives them (found by
 * tests/oracle/acls-random-match-kafka): a consumer Fetch whose every topic is refused has no top-level error and
 * TOPIC_AUTHORIZATION_FAILED on each partition, and a refused topic beside an allowed one is answered too; a topic
 * Metadata refuses reports no authorized operations; a refused DescribeConfigs resource lists no configs; a
 * refused CreateTopics topic reports -1 partitions and replication factor; the cluster's authorized operations are
 * 0 without DESCRIBE on the cluster; CreateAcls accepts a principal `User:` and a PREFIXED kafka-cluster, and
 * applies nothing of a request with an ANY, MATCH or UNKNOWN code in a creation; DeleteAcls deletes nothing when
 * a filter has an UNKNOWN code.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { commitAsAdmin, startAclBroker } from "./acl-broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { batch } from "../oracle/scenario-helpers.ts";
import type { TestBroker } from "../support/broker.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";

// the batches this file builds need it (a broker in this process, not a sharded node's, would have set it up)
await initCrc32c();

const TOPIC = 2;
const CLUSTER = 4;
const LITERAL = 3;
const PREFIXED = 4;
const ALLOW = 3;
const ANY = 1;
const READ = 3;
const CREATE = 5;
const DESCRIBE = 8;
const DESCRIBE_CONFIGS = 10;
const NOT_REQUESTED = -2147483648;

async function login(b: TestBroker, user: string): Promise<RawClient> {
  const c = await RawClient.connect(b.port);
  assert.equal((await c.request(17, 1, { mechanism: "PLAIN" })).errorCode, 0);
  assert.equal((await c.request(36, 2, { authBytes: Buffer.from(`\0${user}\0${user}-pw`) })).errorCode, 0);
  return c;
}

const acl = (resourceType: number, resourceName: string, operation: number, resourcePatternType = LITERAL, principal = "User:alice") => ({ resourceType, resourceName, resourcePatternType, principal, host: "*", operation, permissionType: ALLOW });
const ALL = { resourceTypeFilter: ANY, resourceNameFilter: null, patternTypeFilter: ANY, principalFilter: null, hostFilter: null, operation: ANY, permissionType: ANY };

/** Creates the topics `ok` and `no` (one partition each) as `admin`. */
async function createOkAndNo(admin: RawClient): Promise<void> {
  const created = await admin.request(19, 5, { topics: ["ok", "no"].map((name) => ({ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] })), timeoutMs: 10000, validateOnly: false });
  assert.deepEqual(created.topics.map((t: any) => t.errorCode), [0, 0]);
}

/** A broker with topics `ok` and `no` (alice may READ and DESCRIBE_CONFIGS `ok` only), admin and alice logged in. */
async function withBroker(body: (admin: RawClient, alice: RawClient) => Promise<void>): Promise<void> {
  const b = await startAclBroker();
  const opened: RawClient[] = [];
  try {
    const admin = await login(b, "admin");
    opened.push(admin);
    await createOkAndNo(admin);
    const r = await admin.request(30, 3, { creations: [acl(TOPIC, "ok", READ), acl(TOPIC, "ok", DESCRIBE_CONFIGS)] });
    assert.deepEqual(r.results.map((x: any) => x.errorCode), [0, 0]);
    const alice = await login(b, "alice");
    opened.push(alice);
    await body(admin, alice);
  } finally {
    for (const c of opened) c.close();
    await b.stop();
  }
}

const fetchOf = (topics: string[]) => ({ replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: topics.map((topic) => ({ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] })), forgottenTopicsData: [], rackId: "" });

test("Fetch: every topic refused answers each partition TOPIC_AUTHORIZATION_FAILED, no top-level error; a refused topic beside an allowed one is answered too", async () => {
  await withBroker(async (admin, alice) => {
    assert.equal((await admin.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 10000, topicData: [{ name: "ok", partitionData: [{ index: 0, records: batch(2) }] }] })).responses[0].partitionResponses[0].errorCode, 0);
    const refused = await alice.request(1, 12, fetchOf(["no"]));
    assert.equal(refused.errorCode, 0);
    assert.deepEqual(refused.responses.map((t: any) => [t.topic, t.partitions.map((p: any) => [p.partitionIndex, p.errorCode, p.highWatermark])]), [["no", [[0, 29, -1n]]]]);
    const mixed = await alice.request(1, 12, fetchOf(["ok", "no"]));
    assert.equal(mixed.errorCode, 0);
    assert.deepEqual(mixed.responses.map((t: any) => [t.topic, t.partitions.map((p: any) => [p.errorCode, p.highWatermark])]).sort(), [["no", [[29, -1n]]], ["ok", [[0, 2n]]]]);
  });
});

test("Metadata: a refused topic reports no authorized operations; DescribeConfigs: a refused topic lists no configs", async () => {
  await withBroker(async (_admin, alice) => {
    const md = await alice.request(3, 12, { topics: [{ name: "no", topicId: new Uint8Array(16) }, { name: "ok", topicId: new Uint8Array(16) }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: true });
    const byName = new Map(md.topics.map((t: any) => [t.name, t]));
    assert.equal((byName.get("no") as any).errorCode, 29);
    assert.equal((byName.get("no") as any).topicAuthorizedOperations, NOT_REQUESTED);
    assert.equal((byName.get("ok") as any).topicAuthorizedOperations, (1 << READ) | (1 << DESCRIBE) | (1 << DESCRIBE_CONFIGS));
    const dc = await alice.request(32, 4, { resources: [{ resourceType: TOPIC, resourceName: "no", configurationKeys: ["cleanup.policy"] }, { resourceType: TOPIC, resourceName: "ok", configurationKeys: ["cleanup.policy"] }], includeSynonyms: false, includeDocumentation: false });
    assert.deepEqual(dc.results.map((r: any) => [r.resourceName, r.errorCode, r.configs.map((c: any) => `${c.name}=${c.value}`)]).sort(), [["no", 29, []], ["ok", 0, ["cleanup.policy=delete"]]]);
  });
});

test("CreateTopics: a refused topic reports -1 partitions and replication factor", async () => {
  await withBroker(async (_admin, alice) => {
    const r = await alice.request(19, 7, { topics: [{ name: "newt", numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10000, validateOnly: true });
    assert.deepEqual([r.topics[0].errorCode, r.topics[0].numPartitions, r.topics[0].replicationFactor], [29, -1, -1]);
  });
});

test("cluster authorized operations: 0 without DESCRIBE on the cluster (Metadata v10, DescribeCluster), the principal's with it", async () => {
  await withBroker(async (admin, alice) => {
    assert.equal((await admin.request(30, 3, { creations: [acl(CLUSTER, "kafka-cluster", CREATE)] })).results[0].errorCode, 0);
    const md = () => alice.request(3, 10, { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: true, includeTopicAuthorizedOperations: false });
    const dc = () => alice.request(60, 1, { includeClusterAuthorizedOperations: true, endpointType: 1 });
    assert.equal((await md()).clusterAuthorizedOperations, 0);
    assert.equal((await dc()).clusterAuthorizedOperations, 0);
    assert.equal((await admin.request(30, 3, { creations: [acl(CLUSTER, "kafka-cluster", DESCRIBE)] })).results[0].errorCode, 0);
    assert.equal((await md()).clusterAuthorizedOperations, (1 << CREATE) | (1 << DESCRIBE));
    assert.equal((await dc()).clusterAuthorizedOperations, (1 << CREATE) | (1 << DESCRIBE));
  });
});

test("CreateAcls: `User:` and a PREFIXED kafka-cluster accepted; ANY, MATCH or UNKNOWN in a creation refuses the whole request; DeleteAcls with an UNKNOWN filter deletes nothing", async () => {
  await withBroker(async (admin) => {
    const listed = async () => (await admin.request(29, 3, ALL)).resources.flatMap((r: any) => r.acls.map((a: any) => `${r.resourceType}:${r.patternType}:${r.resourceName}:${a.principal}:${a.operation}`)).sort();
    const before = await listed();
    const accepted = await admin.request(30, 3, { creations: [acl(TOPIC, "x", READ, LITERAL, "User:"), acl(CLUSTER, "kafka-cluster", DESCRIBE, PREFIXED), acl(CLUSTER, "kafka", DESCRIBE)] });
    assert.deepEqual(accepted.results.map((x: any) => x.errorCode), [0, 0, 42]);
    const after = await listed();
    assert.deepEqual(after, [...before, "2:3:x:User::3", "4:4:kafka-cluster:User:alice:8"].sort());
    for (const bad of [{ permissionType: ANY }, { operation: ANY }, { resourcePatternType: 2 }, { resourceType: ANY }, { resourcePatternType: 0 }, { permissionType: 0 }]) {
      const r = await admin.request(30, 3, { creations: [acl(TOPIC, "y", READ), { ...acl(TOPIC, "z", READ), ...bad }] });
      assert.deepEqual(r.results.map((x: any) => x.errorCode), [42, 42], JSON.stringify(bad));
    }
    assert.deepEqual(await listed(), after, "nothing of the refused requests was created");
    const del = await admin.request(31, 3, { filters: [ALL, { ...ALL, operation: 0 }] });
    assert.deepEqual(del.filterResults.map((f: any) => [f.errorCode, f.matchingAcls.length]), [[42, 0], [42, 0]]);
    assert.deepEqual(await listed(), after, "nothing was deleted");
  });
});

test("DescribeGroups v3-5: a group that does not exist (Dead, no error) reports the principal's operations; v6 (GROUP_ID_NOT_FOUND) none", async () => {
  await withBroker(async (admin, alice) => {
    const GROUP = 3;
    assert.equal((await admin.request(30, 3, { creations: [acl(GROUP, "g-none", 2 /* ALL */)] })).results[0].errorCode, 0);
    await alice.findCoordinator("g-none", 0);
    const at = async (v: number) => (await alice.request(15, v, { groups: ["g-none"], includeAuthorizedOperations: true })).groups[0];
    const v5 = await at(5);
    assert.deepEqual([v5.errorCode, v5.groupState, v5.authorizedOperations], [0, "Dead", (1 << 3) | (1 << 6) | (1 << 8) | (1 << 10) | (1 << 11)]);
    const v6 = await at(6);
    assert.deepEqual([v6.errorCode, v6.authorizedOperations], [69, NOT_REQUESTED]);
  });
});

test("OffsetFetch v2-7: refused without DESCRIBE on the group; all topics lists only those the principal may DESCRIBE", async () => {
  const b = await startAclBroker();
  const opened: RawClient[] = [];
  try {
    const admin = await login(b, "admin");
    opened.push(admin);
    await createOkAndNo(admin);
    await commitAsAdmin(b, "ok", ["g-off"]);
    await commitAsAdmin(b, "no", ["g-off"]);
    assert.equal((await admin.request(30, 3, { creations: [acl(TOPIC, "ok", DESCRIBE)] })).results[0].errorCode, 0);
    const alice = await login(b, "alice");
    opened.push(alice);
    const fetchAll = async (v: number) => await alice.request(9, v, { groupId: "g-off", topics: null, requireStable: false });
    for (const v of [2, 7]) assert.equal((await fetchAll(v)).errorCode, 30, `v${v} without an ACL on the group`);
    const namedRefused = await alice.request(9, 5, { groupId: "g-off", topics: [{ name: "ok", partitionIndexes: [0] }], requireStable: false });
    assert.deepEqual([namedRefused.errorCode, namedRefused.topics], [30, []], "v2-7: a refused group has its error at the top and no topics");
    assert.equal((await admin.request(30, 3, { creations: [acl(3 /* GROUP */, "g-off", DESCRIBE)] })).results[0].errorCode, 0);
    for (const v of [2, 7]) {
      const r = await fetchAll(v);
      assert.equal(r.errorCode, 0);
      assert.deepEqual(r.topics.map((t: any) => [t.name, t.partitions.map((p: any) => p.committedOffset)]), [["ok", [0n]]], `v${v} lists only the describable topic`);
    }
  } finally {
    for (const c of opened) c.close();
    await b.stop();
  }
});

test("OffsetFetch v1-7: a refused group (v1) or topic answers each named partition with the error and offset -1", async () => {
  await withBroker(async (admin, alice) => {
    const named = (v: number) => alice.request(9, v, { groupId: "g-p", topics: [{ name: "ok", partitionIndexes: [0, 3] }, { name: "no", partitionIndexes: [1] }], requireStable: false });
    const parts = (r: any) => r.topics.map((t: any) => [t.name, t.partitions.map((p: any) => `${p.partitionIndex}:${p.errorCode}:${p.committedOffset}`)]).sort();
    assert.deepEqual(parts(await named(1)), [["no", ["1:30:-1"]], ["ok", ["0:30:-1", "3:30:-1"]]], "v1: the group refused on every partition");
    assert.equal((await admin.request(30, 3, { creations: [acl(3 /* GROUP */, "g-p", DESCRIBE)] })).results[0].errorCode, 0);
    // as a client does before its first group request (a sharded node, as Kafka, answers NOT_COORDINATOR until then)
    await alice.findCoordinator("g-p", 0);
    const v7 = await named(7);
    assert.equal(v7.errorCode, 0);
    assert.deepEqual(parts(v7).find((t: any) => t[0] === "no"), ["no", ["1:29:-1"]], "v7: the topic alice may not describe");
  });
});

test("OffsetFetch v8+: a group refused (no DESCRIBE on it) answers its error and no topics, beside an allowed group", async () => {
  await withBroker(async (admin, alice) => {
    assert.equal((await admin.request(30, 3, { creations: [acl(3 /* GROUP */, "g-ok", DESCRIBE)] })).results[0].errorCode, 0);
    // as a client does before its first group request (a sharded node, as Kafka, answers NOT_COORDINATOR until then)
    await alice.findCoordinator("g-ok", 0);
    const named = [{ name: "ok", partitionIndexes: [0] }];
    for (const v of [8, 9]) {
      const r = await alice.request(9, v, { groups: ["g-no", "g-ok"].map((groupId) => ({ groupId, memberId: null, memberEpoch: -1, topics: named })), requireStable: false });
      const byId = new Map(r.groups.map((g: any) => [g.groupId, g]));
      const no = byId.get("g-no") as any;
      assert.deepEqual([no.errorCode, no.topics], [30, []], `v${v}: the refused group lists no topics`);
      const ok = byId.get("g-ok") as any;
      assert.deepEqual([ok.errorCode, ok.topics.map((t: any) => [t.name, t.partitions.map((p: any) => `${p.partitionIndex}:${p.errorCode}:${p.committedOffset}`)])], [0, [["ok", ["0:0:-1"]]]], `v${v}: the allowed group`);
    }
  });
});

test("CreateAcls/DescribeAcls: TWO_PHASE_COMMIT (15, KIP-939) is a known operation, as in Kafka 4.4", async () => {
  await withBroker(async (admin) => {
    const r = await admin.request(30, 3, { creations: [acl(5 /* TRANSACTIONAL_ID */, "tx", 15)] });
    assert.deepEqual(r.results.map((x: any) => x.errorCode), [0]);
    const d = await admin.request(29, 3, { ...ALL, operation: 15 });
    assert.equal(d.errorCode, 0);
    assert.deepEqual(d.resources.map((x: any) => [x.resourceType, x.resourceName, x.acls.map((a: any) => a.operation)]), [[5, "tx", [15]]]);
  });
});

test("CreateTopics v5+: a topic created on CREATE for the cluster without DESCRIBE_CONFIGS on it reports no configuration", async () => {
  await withBroker(async (admin, alice) => {
    assert.equal((await admin.request(30, 3, { creations: [acl(CLUSTER, "kafka-cluster", CREATE), acl(TOPIC, "seen", DESCRIBE_CONFIGS)] })).results[0].errorCode, 0);
    const r = await alice.request(19, 7, { topics: ["hidden", "seen"].map((name) => ({ name, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] })), timeoutMs: 10000, validateOnly: true });
    const byName = new Map(r.topics.map((t: any) => [t.name, t]));
    const hidden = byName.get("hidden") as any;
    assert.deepEqual([hidden.errorCode, hidden.topicConfigErrorCode, hidden.numPartitions, hidden.replicationFactor, hidden.configs.length], [0, 29, -1, -1, 0]);
    const seen = byName.get("seen") as any;
    assert.deepEqual([seen.errorCode, seen.topicConfigErrorCode, seen.numPartitions, seen.replicationFactor, seen.configs.length > 0], [0, 0, 2, 1, true]);
  });
});
