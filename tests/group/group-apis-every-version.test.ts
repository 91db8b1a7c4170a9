/**
 * Every version of every group API on the wire, with requests encoded by the generated codecs: FindCoordinator 0-6
 * (batched keys from v4), JoinGroup 0-9 with SyncGroup 0-5, Heartbeat 0-4 and LeaveGroup 0-5 (batched from v3),
 * OffsetCommit 2-10 and OffsetFetch 1-10 (multi-group from v8, topic ids in v10), DescribeGroups 0-6,
 * ListGroups 0-5, DeleteGroups 0-2 and OffsetDelete 0.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { groupState } from "../support/group-state.ts";
import { topicConfigValue, topicMetadata } from "../support/topic-state.ts";
import { assignment, subscription } from "./coordinator-harness.ts";

const TEST_TIMEOUT = { timeout: 60_000 };

/**
 * Runs `fn` on a fresh broker with a connection to it, after finding the coordinator of each of `groups` as a Kafka
 * client does before its first group request, and waiting until it has loaded (a sharded node creates
 * `__consumer_offsets` and loads each group's coordinator only then; until then it answers NOT_COORDINATOR or
 * COORDINATOR_LOAD_IN_PROGRESS, as Kafka does, where a client retries).
 */
async function withBroker(groups: readonly string[], fn: (b: TestBroker, c: RawClient) => Promise<void>): Promise<void> {
  const b = await startTestBroker({ "group.min.session.timeout.ms": "1000" });
  const c = await RawClient.connect(b.port);
  try {
    for (const g of groups) await c.findCoordinator(g, 0);
    await fn(b, c);
  } finally {
    c.close();
    await b.stop();
  }
}

test("FindCoordinator v0-v6 names this broker for groups, creates __consumer_offsets, refuses share keys", TEST_TIMEOUT, async () => {
  await withBroker([], async (b, c) => {
    assert.equal(await topicMetadata(b.port, "__consumer_offsets"), null);
    for (let v = 0; v <= 6; v++) {
      if (v < 4) {
        const r = await c.request(10, v, v === 0 ? { key: "g" } : { key: "g", keyType: 0 });
        assert.equal(r.errorCode, 0, `v${v}`);
        assert.equal(r.nodeId, b.broker.nodeId);
        assert.equal(r.port, b.port);
        assert.equal(r.host, "127.0.0.1");
      } else {
        const r = await c.request(10, v, { keyType: 0, coordinatorKeys: ["g1", "g2"] });
        assert.deepEqual(r.coordinators.map((x: any) => [x.key, x.nodeId, x.port, x.errorCode]), [["g1", 1, b.port, 0], ["g2", 1, b.port, 0]], `v${v}`);
        const share = await c.request(10, v, { keyType: 2, coordinatorKeys: ["s:x:0"] });
        assert.equal(share.coordinators[0].errorCode, ErrorCode.INVALID_REQUEST);
        const txn = await c.request(10, v, { keyType: 1, coordinatorKeys: ["tx"] });
        assert.equal(txn.coordinators[0].errorCode, 0);
      }
    }
    const topic = (await topicMetadata(b.port, "__consumer_offsets"))!;
    assert.equal(topic.partitions, 4, "offsets.topic.num.partitions of the test broker");
    assert.equal(topic.internal, true);
    assert.equal(await topicConfigValue(b.port, "__consumer_offsets", "cleanup.policy"), "compact");
  });
});

test("JoinGroup v0-v9 with SyncGroup v0-v5, Heartbeat v0-v4 and LeaveGroup v0-v5", TEST_TIMEOUT, async () => {
  await withBroker(Array.from({ length: 10 }, (_, v) => `join-v${v}`), async (b, c) => {
    const metadata = subscription(["t"]);
    for (let v = 0; v <= 9; v++) {
      const groupId = `join-v${v}`;
      const sv = Math.min(v, 5);
      const hv = Math.min(v, 4);
      const lv = Math.min(v, 5);
      const join = (memberId: string) => {
        const body: Record<string, unknown> = { groupId, sessionTimeoutMs: 10_000, memberId, protocolType: "consumer", protocols: [{ name: "range", metadata }] };
        if (v >= 1) body.rebalanceTimeoutMs = 5000;
        if (v >= 8) body.reason = "test";
        return c.request(11, v, body);
      };
      let r = await join("");
      if (v >= 4) {
        assert.equal(r.errorCode, ErrorCode.MEMBER_ID_REQUIRED, `JoinGroup v${v}`);
        assert.ok(r.memberId.startsWith("raw-test-"));
        r = await join(r.memberId);
      }
      assert.equal(r.errorCode, 0, `JoinGroup v${v}`);
      assert.equal(r.generationId, 1);
      assert.equal(r.leader, r.memberId);
      assert.equal(r.protocolName, "range");
      if (v >= 7) assert.equal(r.protocolType, "consumer");
      assert.equal(r.members.length, 1);
      assert.deepEqual(new Uint8Array(r.members[0].metadata), metadata);
      const memberId = r.memberId;
      const a = assignment([{ topic: "t", partitions: [0] }]);
      const syncBody: Record<string, unknown> = { groupId, generationId: 1, memberId, assignments: [{ memberId, assignment: a }] };
      if (sv >= 5) Object.assign(syncBody, { protocolType: "consumer", protocolName: "range" });
      const s = await c.request(14, sv, syncBody);
      assert.equal(s.errorCode, 0, `SyncGroup v${sv}`);
      assert.deepEqual(new Uint8Array(s.assignment), a);
      if (sv >= 5) assert.equal(s.protocolName, "range");
      const h = await c.request(12, hv, { groupId, generationId: 1, memberId });
      assert.equal(h.errorCode, 0, `Heartbeat v${hv}`);
      const stale = await c.request(12, hv, { groupId, generationId: 0, memberId });
      assert.equal(stale.errorCode, ErrorCode.ILLEGAL_GENERATION);
      if (lv >= 3) {
        const l = await c.request(13, lv, { groupId, members: [{ memberId, groupInstanceId: null }, { memberId: "ghost", groupInstanceId: null }] });
        assert.equal(l.errorCode, 0, `LeaveGroup v${lv}`);
        assert.deepEqual(l.members.map((m: any) => m.errorCode), [0, ErrorCode.UNKNOWN_MEMBER_ID]);
      } else {
        const l = await c.request(13, lv, { groupId, memberId });
        assert.equal(l.errorCode, 0, `LeaveGroup v${lv}`);
        const again = await c.request(13, lv, { groupId, memberId });
        assert.equal(again.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
      }
      assert.equal(await groupState(b.port, groupId), "Empty");
    }
  });
});

test("JoinGroup v5+ static members join without MEMBER_ID_REQUIRED; v9 tells a rejoining static leader to skip assignment", TEST_TIMEOUT, async () => {
  await withBroker(["st"], async (b, c) => {
    const body = { groupId: "st", sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 5000, memberId: "", groupInstanceId: "inst", protocolType: "consumer", protocols: [{ name: "range", metadata: subscription(["t"]) }] };
    const r = await c.request(11, 9, body);
    assert.equal(r.errorCode, 0);
    assert.ok(r.memberId.startsWith("inst-"));
    await c.request(14, 5, { groupId: "st", generationId: 1, memberId: r.memberId, groupInstanceId: "inst", protocolType: "consumer", protocolName: "range", assignments: [] });
    const again = await c.request(11, 9, body);
    assert.equal(again.generationId, 1);
    assert.equal(again.skipAssignment, true);
    const fenced = await c.request(12, 4, { groupId: "st", generationId: 1, memberId: r.memberId, groupInstanceId: "inst" });
    assert.equal(fenced.errorCode, ErrorCode.FENCED_INSTANCE_ID);
    const d = await c.request(15, 5, { groups: ["st"], includeAuthorizedOperations: true });
    assert.equal(d.groups[0].members[0].groupInstanceId, "inst");
    assert.equal(d.groups[0].authorizedOperations, (1 << 3) | (1 << 6) | (1 << 8) | (1 << 10) | (1 << 11), "READ, DELETE, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS: what Kafka 4.4 answers without an authorizer");
    void b;
  });
});

test("OffsetCommit v2-v10 and OffsetFetch v1-v10 (single group, all topics, several groups, topic ids)", TEST_TIMEOUT, async () => {
  await withBroker([...Array.from({ length: 9 }, (_, i) => `oc-${i + 2}`), "nobody"], async (b, c) => {
    await b.broker.createTopic("t", 3, 1, {}, false);
    const t = (await topicMetadata(b.port, "t"))!;
    for (let v = 2; v <= 10; v++) {
      const body: Record<string, unknown> = { groupId: `oc-${v}`, generationIdOrMemberEpoch: -1, memberId: "" };
      if (v >= 7) body.groupInstanceId = null;
      if (v <= 4) body.retentionTimeMs = -1n;
      const part = (partitionIndex: number, offset: bigint) => ({ partitionIndex, committedOffset: offset, committedMetadata: `m${v}`, ...(v >= 6 ? { committedLeaderEpoch: 7 } : {}) });
      const topics = [
        { ...(v >= 10 ? { topicId: t.id } : { name: "t" }), partitions: [part(0, BigInt(v)), part(1, BigInt(v * 10)), part(9, 1n)] },
        { ...(v >= 10 ? { topicId: new Uint8Array(16).fill(7) } : { name: "missing" }), partitions: [part(0, 1n)] },
      ];
      const r = await c.request(8, v, { ...body, topics });
      assert.deepEqual(r.topics[0].partitions.map((p: any) => p.errorCode), [0, 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], `OffsetCommit v${v}`);
      assert.equal(r.topics[1].partitions[0].errorCode, v >= 10 ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      if (v >= 10) assert.deepEqual(new Uint8Array(r.topics[0].topicId), t.id);
      else assert.equal(r.topics[0].name, "t");
    }
    for (let v = 1; v <= 10; v++) {
      if (v < 8) {
        const r = await c.request(9, v, { groupId: "oc-5", topics: [{ name: "t", partitionIndexes: [0, 1, 2] }] });
        const ps = r.topics[0].partitions;
        assert.deepEqual(ps.map((p: any) => p.committedOffset), [5n, 50n, -1n], `OffsetFetch v${v}`);
        assert.equal(ps[0].metadata, "m5");
        if (v >= 5) assert.equal(ps[0].committedLeaderEpoch, -1, "v5 commits carry no leader epoch");
        if (v >= 2) {
          assert.equal(r.errorCode, 0);
          const all = await c.request(9, v, { groupId: "oc-7", topics: null });
          assert.deepEqual(all.topics.map((x: any) => [x.name, x.partitions.map((p: any) => p.committedOffset)]), [["t", [7n, 70n]]]);
          if (v >= 5) assert.equal(all.topics[0].partitions[0].committedLeaderEpoch, 7);
        }
      } else {
        const topicsOf = (name: string) => [v >= 10 ? { topicId: t.id, partitionIndexes: [0, 1] } : { name, partitionIndexes: [0, 1] }];
        const groups = [
          { groupId: "oc-8", topics: topicsOf("t") },
          { groupId: "oc-9", topics: null },
          { groupId: "nobody", topics: topicsOf("t") },
          ...(v >= 10 ? [{ groupId: "oc-10", topics: [{ topicId: new Uint8Array(16).fill(9), partitionIndexes: [0] }] }] : []),
        ].map((g) => (v >= 9 ? { ...g, memberId: null, memberEpoch: -1 } : g));
        const r = await c.request(9, v, { groups, requireStable: true });
        assert.deepEqual(r.groups.map((g: any) => g.groupId), groups.map((g) => g.groupId), `OffsetFetch v${v}`);
        assert.deepEqual(r.groups[0].topics[0].partitions.map((p: any) => p.committedOffset), [8n, 80n]);
        assert.deepEqual(r.groups[1].topics[0].partitions.map((p: any) => p.committedOffset), [9n, 90n]);
        assert.deepEqual(r.groups[2].topics[0].partitions.map((p: any) => p.committedOffset), [-1n, -1n]);
        if (v >= 10) {
          assert.deepEqual(new Uint8Array(r.groups[1].topics[0].topicId), t.id);
          assert.equal(r.groups[3].topics[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_ID);
        } else assert.equal(r.groups[1].topics[0].name, "t");
      }
    }
    const bad = await c.request(9, 1, { groupId: "", topics: [{ name: "t", partitionIndexes: [0] }] });
    assert.equal(bad.topics[0].partitions[0].errorCode, ErrorCode.INVALID_GROUP_ID, "v1 reports group errors per partition");
    const bad2 = await c.request(9, 2, { groupId: "", topics: null });
    assert.equal(bad2.errorCode, ErrorCode.INVALID_GROUP_ID);
  });
});

test("DescribeGroups v0-v6, ListGroups v0-v5 with filters, DeleteGroups v0-v2 and OffsetDelete v0", TEST_TIMEOUT, async () => {
  await withBroker(["live", "idle-0", "idle-1", "idle-2", "nope"], async (b, c) => {
    await b.broker.createTopic("t", 2, 1, {}, false);
    const j1 = await c.request(11, 9, { groupId: "live", sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 5000, memberId: "", groupInstanceId: "i1", protocolType: "consumer", protocols: [{ name: "range", metadata: subscription(["t"]) }] });
    await c.request(14, 5, { groupId: "live", generationId: 1, memberId: j1.memberId, groupInstanceId: "i1", protocolType: "consumer", protocolName: "range", assignments: [{ memberId: j1.memberId, assignment: assignment([{ topic: "t", partitions: [0, 1] }]) }] });
    for (const g of ["idle-0", "idle-1", "idle-2"]) {
      await c.request(8, 9, { groupId: g, generationIdOrMemberEpoch: -1, memberId: "", groupInstanceId: null, topics: [{ name: "t", partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }] }] });
    }
    for (let v = 0; v <= 6; v++) {
      const r = await c.request(15, v, v >= 3 ? { groups: ["live", "nope"], includeAuthorizedOperations: false } : { groups: ["live", "nope"] });
      const [live, nope] = r.groups;
      assert.equal(live.errorCode, 0, `DescribeGroups v${v}`);
      assert.equal(live.groupState, "Stable");
      assert.equal(live.protocolType, "consumer");
      assert.equal(live.protocolData, "range");
      assert.equal(live.members[0].clientId, "raw-test");
      assert.equal(live.members[0].clientHost, "/127.0.0.1");
      assert.deepEqual(new Uint8Array(live.members[0].memberAssignment), assignment([{ topic: "t", partitions: [0, 1] }]));
      if (v >= 4) assert.equal(live.members[0].groupInstanceId, "i1");
      if (v >= 3) assert.equal(live.authorizedOperations, -2147483648);
      assert.equal(nope.groupState, "Dead");
      assert.equal(nope.errorCode, v >= 6 ? ErrorCode.GROUP_ID_NOT_FOUND : 0);
    }
    for (let v = 0; v <= 5; v++) {
      const all = await c.request(16, v, v >= 5 ? { statesFilter: [], typesFilter: [] } : v >= 4 ? { statesFilter: [] } : {});
      assert.deepEqual(all.groups.map((g: any) => g.groupId).sort(), ["idle-0", "idle-1", "idle-2", "live"], `ListGroups v${v}`);
      const live = all.groups.find((g: any) => g.groupId === "live");
      assert.equal(live.protocolType, "consumer");
      if (v >= 4) {
        assert.equal(live.groupState, "Stable");
        const empty = await c.request(16, v, v >= 5 ? { statesFilter: ["Empty"], typesFilter: [] } : { statesFilter: ["Empty"] });
        assert.deepEqual(empty.groups.map((g: any) => g.groupId).sort(), ["idle-0", "idle-1", "idle-2"]);
      }
      if (v >= 5) {
        assert.equal(live.groupType, "classic");
        const consumer = await c.request(16, v, { statesFilter: [], typesFilter: ["consumer"] });
        assert.deepEqual(consumer.groups, []);
      }
    }
    const od = await c.request(47, 0, { groupId: "live", topics: [{ name: "t", partitions: [{ partitionIndex: 0 }] }, { name: "zz", partitions: [{ partitionIndex: 0 }] }] });
    assert.equal(od.errorCode, 0);
    assert.equal(od.topics[0].partitions[0].errorCode, ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC);
    assert.equal(od.topics[1].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const od2 = await c.request(47, 0, { groupId: "idle-0", topics: [{ name: "t", partitions: [{ partitionIndex: 0 }] }] });
    assert.equal(od2.topics[0].partitions[0].errorCode, 0);
    assert.deepEqual((await c.request(9, 7, { groupId: "idle-0", topics: null })).topics, [], "its only offset is gone");
    const od3 = await c.request(47, 0, { groupId: "nope", topics: [] });
    assert.equal(od3.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    for (let v = 0; v <= 2; v++) {
      const r = await c.request(42, v, { groupsNames: ["live", `idle-${v}`, "nope"] });
      assert.deepEqual(r.results.map((x: any) => [x.groupId, x.errorCode]), [["live", ErrorCode.NON_EMPTY_GROUP], [`idle-${v}`, 0], ["nope", ErrorCode.GROUP_ID_NOT_FOUND]], `DeleteGroups v${v}`);
    }
    const left = await c.request(16, 0, {});
    assert.deepEqual(left.groups.map((g: any) => g.groupId), ["live"]);
  });
});
