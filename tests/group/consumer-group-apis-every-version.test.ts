/**
 * KIP-848 APIs on the wire, every version, with requests encoded by the generated codecs: ConsumerGroupHeartbeat
 * 0-1 and ConsumerGroupDescribe 0-1, OffsetCommit 9-10 and OffsetFetch 9-10 with member epochs, ListGroups v5 with
 * types, DescribeGroups v6 on a consumer group, ApiVersions; and a broker restart that keeps the group.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { uuidHex } from "../../src/protocol/uuid.ts";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { IN_PROCESS } from "../support/group-state.ts";
import { topicMetadata } from "../support/topic-state.ts";
import { Admin } from "../../src/client/admin.ts";

const TEST_TIMEOUT = { timeout: 90_000 };

function join(groupId: string, memberId: string, extra: Record<string, unknown> = {}) {
  return { groupId, memberId, memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 30_000, subscribedTopicNames: ["t"], serverAssignor: null, topicPartitions: [], ...extra };
}

test("ApiVersions advertises ConsumerGroupHeartbeat 0-1 and ConsumerGroupDescribe 0-1", TEST_TIMEOUT, async () => {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  try {
    const r = await c.request(18, 3, { clientSoftwareName: "t", clientSoftwareVersion: "1" });
    const range = (k: number) => {
      const a = r.apiKeys.find((x: any) => x.apiKey === k);
      return a === undefined ? null : [a.minVersion, a.maxVersion];
    };
    assert.deepEqual([range(68), range(69)], [[0, 1], [0, 1]]);
  } finally {
    c.close();
    await b.stop();
  }
});

test("ConsumerGroupHeartbeat v0 (coordinator-made member id) and v1 (client id, regex), ConsumerGroupDescribe v0-v1", TEST_TIMEOUT, async () => {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("t", 4, 1, {}, false);
    await b.broker.createTopic("t-re", 2, 1, {}, false);
    const t = (await topicMetadata(b.port, "t"))!;
    for (const g of ["g0", "g1"]) await c.findCoordinator(g, 0);
    // v0: empty member id on join, the coordinator makes one.
    const v0 = await c.request(68, 0, join("g0", ""));
    assert.equal(v0.errorCode, ErrorCode.NONE);
    assert.match(v0.memberId, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(v0.memberEpoch, 2);
    assert.equal(v0.heartbeatIntervalMs, 5000);
    assert.deepEqual(v0.assignment.topicPartitions.map((tp: any) => [uuidHex(tp.topicId), tp.partitions]), [[uuidHex(t.id), [0, 1, 2, 3]]]);
    // v1: the member id must come from the client.
    const noId = await c.request(68, 1, join("g1", ""));
    assert.equal(noId.errorCode, ErrorCode.INVALID_REQUEST);
    const bad = await c.request(68, 1, join("g1", "m1", { subscribedTopicNames: null, subscribedTopicRegex: "t(?!x)" }));
    assert.equal(bad.errorCode, ErrorCode.INVALID_REGULAR_EXPRESSION);
    const v1 = await c.request(68, 1, join("g1", "m1", { subscribedTopicNames: null, subscribedTopicRegex: "t-.*", instanceId: "i1", rackId: "r1", serverAssignor: "range" }));
    assert.equal(v1.errorCode, ErrorCode.NONE);
    assert.equal(v1.memberId, "m1");
    assert.equal(v1.memberEpoch, 1);
    assert.deepEqual(v1.assignment.topicPartitions, [], "the regex is resolved after the joining heartbeat");
    const beat = (memberEpoch: number) =>
      c.request(68, 1, { groupId: "g1", memberId: "m1", memberEpoch, instanceId: null, rackId: null, rebalanceTimeoutMs: -1, subscribedTopicNames: null, subscribedTopicRegex: null, serverAssignor: null, topicPartitions: null });
    let resolved = await beat(1);
    for (let i = 0; i < 100 && resolved.memberEpoch === 1; i++) resolved = await beat(1);
    assert.equal(resolved.memberEpoch, 2);
    assert.equal(resolved.assignment.topicPartitions[0].partitions.length, 2);
    const hb = await beat(2);
    assert.equal(hb.errorCode, ErrorCode.NONE);
    assert.equal(hb.assignment, null);
    const fenced = await c.request(68, 1, { groupId: "g1", memberId: "m1", memberEpoch: 9, instanceId: null, rackId: null, rebalanceTimeoutMs: -1, subscribedTopicNames: null, subscribedTopicRegex: null, serverAssignor: null, topicPartitions: null });
    assert.equal(fenced.errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
    for (let v = 0; v <= 1; v++) {
      const d = await c.request(69, v, { groupIds: ["g1", "nope"], includeAuthorizedOperations: true });
      const g = d.groups[0];
      assert.equal(g.errorCode, ErrorCode.NONE, `v${v}`);
      assert.deepEqual([g.groupState, g.groupEpoch, g.assignmentEpoch, g.assignorName], ["Stable", 2, 2, "range"]);
      const m = g.members[0];
      assert.deepEqual([m.memberId, m.instanceId, m.rackId, m.memberEpoch, m.clientHost, m.subscribedTopicRegex], ["m1", "i1", "r1", 2, "/127.0.0.1", "t-.*"]);
      assert.equal(m.assignment.topicPartitions[0].topicName, "t-re");
      assert.deepEqual(m.targetAssignment.topicPartitions[0].partitions, [0, 1]);
      if (v >= 1) assert.equal(m.memberType, 1);
      assert.equal(d.groups[1].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    }
    const left = await c.request(68, 1, { groupId: "g1", memberId: "m1", memberEpoch: -1, instanceId: "i1", rackId: null, rebalanceTimeoutMs: -1, subscribedTopicNames: null, subscribedTopicRegex: null, serverAssignor: null, topicPartitions: null });
    assert.equal(left.errorCode, ErrorCode.NONE);
    assert.equal(left.memberEpoch, -1);
  } finally {
    c.close();
    await b.stop();
  }
});

test("OffsetCommit v9-v10 and OffsetFetch v9-v10 use member epochs; ListGroups v5 and DescribeGroups v6 know the type; a restart keeps the group", TEST_TIMEOUT, async () => {
  let b = await startTestBroker();
  let c = await RawClient.connect(b.port);
  const dir = b.dir;
  try {
    await b.broker.createTopic("t", 2, 1, {}, false);
    const t = (await topicMetadata(b.port, "t"))!;
    await c.findCoordinator("g", 0);
    const j = await c.request(68, 1, join("g", "m"));
    assert.equal(j.memberEpoch, 2);
    for (const v of [9, 10]) {
      const topics = [{ name: "t", topicId: t.id, partitions: [{ partitionIndex: 0, committedOffset: BigInt(v), committedLeaderEpoch: -1, committedMetadata: "" }] }];
      const stale = await c.request(8, v, { groupId: "g", generationIdOrMemberEpoch: 0, memberId: "m", groupInstanceId: null, topics });
      assert.equal(stale.topics[0].partitions[0].errorCode, ErrorCode.STALE_MEMBER_EPOCH, `v${v}`);
      const ok = await c.request(8, v, { groupId: "g", generationIdOrMemberEpoch: 2, memberId: "m", groupInstanceId: null, topics });
      assert.equal(ok.topics[0].partitions[0].errorCode, ErrorCode.NONE, `v${v}`);
      const fetchTopics = [{ name: "t", topicId: t.id, partitionIndexes: [0] }];
      const staleFetch = await c.request(9, v, { groups: [{ groupId: "g", memberId: "m", memberEpoch: 0, topics: fetchTopics }], requireStable: false });
      assert.equal(staleFetch.groups[0].errorCode, ErrorCode.STALE_MEMBER_EPOCH, `v${v}`);
      const f = await c.request(9, v, { groups: [{ groupId: "g", memberId: "m", memberEpoch: 2, topics: fetchTopics }], requireStable: false });
      assert.equal(f.groups[0].topics[0].partitions[0].committedOffset, BigInt(v), `v${v}`);
    }
    const oldCommit = await c.request(8, 8, { groupId: "g", generationIdOrMemberEpoch: 2, memberId: "m", groupInstanceId: null, topics: [{ name: "t", partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: "" }] }] });
    assert.equal(oldCommit.topics[0].partitions[0].errorCode, ErrorCode.UNSUPPORTED_VERSION);
    const lg = await c.request(16, 5, { statesFilter: [], typesFilter: ["consumer"] });
    assert.deepEqual(lg.groups.map((g: any) => [g.groupId, g.protocolType, g.groupState, g.groupType]), [["g", "consumer", "Stable", "consumer"]]);
    const lgClassic = await c.request(16, 5, { statesFilter: [], typesFilter: ["classic"] });
    assert.deepEqual(lgClassic.groups, []);
    const dg = await c.request(15, 6, { groups: ["g"], includeAuthorizedOperations: false });
    assert.equal(dg.groups[0].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    assert.equal(dg.groups[0].errorMessage, "Group g is not a classic group.");
    const dg5 = await c.request(15, 5, { groups: ["g"], includeAuthorizedOperations: false });
    assert.deepEqual([dg5.groups[0].errorCode, dg5.groups[0].groupState], [ErrorCode.NONE, "Dead"]);
    // Runnel's own Admin (runnel group describe) falls back to ConsumerGroupDescribe; an in-process broker's lag table
    // sees it too (a sharded node's lag is the HTTP side's: tests/http/sharded-node-metrics-sum-the-shards).
    const admin = new Admin({ bootstrap: b.bootstrap });
    await admin.connect();
    const [desc] = await admin.describeGroups(["g"]);
    await admin.close();
    assert.deepEqual([desc.errorCode, desc.state, desc.protocolType, desc.protocol], [ErrorCode.NONE, "Stable", "consumer", "uniform"]);
    assert.deepEqual(desc.members.map((m) => [m.memberId, m.assignment.map((tp) => `${tp.topic}-${tp.partition}`)]), [["m", ["t-0", "t-1"]]]);
    if (IN_PROCESS) {
      const lag = await b.broker.groups.describeGroupLag("g");
      assert.deepEqual(lag.map((r) => [r.topic, r.partition, r.committed, r.memberId]), [["t", 0, 10n, "m"], ["t", 1, null, "m"]]);
    }
    const before = await c.request(69, 1, { groupIds: ["g"], includeAuthorizedOperations: false });
    c.close();
    await b.stop({ keepDir: true });
    b = await startTestBroker({}, dir);
    c = await RawClient.connect(b.port);
    await c.findCoordinator("g", 0);
    const after = await c.request(69, 1, { groupIds: ["g"], includeAuthorizedOperations: false });
    assert.deepEqual(after.groups, before.groups);
    const hb = await c.request(68, 1, { groupId: "g", memberId: "m", memberEpoch: 2, instanceId: null, rackId: null, rebalanceTimeoutMs: -1, subscribedTopicNames: null, subscribedTopicRegex: null, serverAssignor: null, topicPartitions: null });
    assert.equal(hb.errorCode, ErrorCode.NONE);
    const f = await c.request(9, 9, { groups: [{ groupId: "g", memberId: "m", memberEpoch: 2, topics: null }], requireStable: false });
    assert.equal(f.groups[0].topics[0].partitions[0].committedOffset, 10n);
    const leave = await c.request(68, 1, { groupId: "g", memberId: "m", memberEpoch: -1, instanceId: null, rackId: null, rebalanceTimeoutMs: -1, subscribedTopicNames: null, subscribedTopicRegex: null, serverAssignor: null, topicPartitions: null });
    assert.equal(leave.errorCode, ErrorCode.NONE);
    const del = await c.request(42, 2, { groupsNames: ["g"] });
    assert.equal(del.results[0].errorCode, ErrorCode.NONE);
  } finally {
    c.close();
    await b.stop();
  }
});

test("a group config set by IncrementalAlterConfigs (resource GROUP) gives its members that heartbeat interval; bounds come from the broker's min/max", TEST_TIMEOUT, async () => {
  const b = await startTestBroker({ "group.consumer.min.heartbeat.interval.ms": "500", "group.consumer.max.heartbeat.interval.ms": "9000" });
  const c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("t", 1, 1, {}, false);
    for (const g of ["g", "other"]) await c.findCoordinator(g, 0);
    const alter = (value: string) =>
      c.request(44, 1, { resources: [{ resourceType: 32, resourceName: "g", configs: [{ name: "consumer.heartbeat.interval.ms", configOperation: 0, value }] }], validateOnly: false });
    const tooLarge = await alter("9500");
    assert.equal(tooLarge.responses[0].errorCode, ErrorCode.INVALID_CONFIG);
    const ok = await alter("700");
    assert.equal(ok.responses[0].errorCode, ErrorCode.NONE);
    const j = await c.request(68, 1, join("g", "m"));
    assert.equal(j.heartbeatIntervalMs, 700);
    const other = await c.request(68, 1, join("other", "m"));
    assert.equal(other.heartbeatIntervalMs, 5000);
  } finally {
    c.close();
    await b.stop();
  }
});
