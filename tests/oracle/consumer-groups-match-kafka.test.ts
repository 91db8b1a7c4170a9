/**
 * Differential: KIP-848 consumer groups. ConsumerGroupHeartbeat (join, heartbeat, the second member's incremental
 * reconciliation, leave, static members, fencing and every request error Kafka checks), ConsumerGroupDescribe,
 * OffsetCommit/OffsetFetch with member epochs, ListGroups with types and DescribeGroups on a consumer group: Runnel
 * answers as Apache Kafka does, at every version both serve. Topic ids in assignments are replaced by topic names
 * (each broker picks its own ids). Also the online migration: a classic group upgraded by a consumer-protocol member,
 * its classic member rejoining inside the consumer group, and the downgrade when the consumer-protocol member leaves.
 */
import { test } from "node:test";
import { uuidHex } from "../../src/protocol/uuid.ts";
import { assertSame, oracleSuite, type Side } from "./differential.ts";
import { createTopic } from "./scenario-helpers.ts";

/** An assignment with topic ids replaced by names. */
function named(ids: Map<string, string>, a: { topicPartitions: { topicId: Uint8Array; partitions: number[] }[] } | null) {
  if (a === null) return null;
  return a.topicPartitions.map((t) => ({ topic: ids.get(uuidHex(t.topicId)) ?? "?", partitions: [...t.partitions].sort((x, y) => x - y) }));
}

oracleSuite("KIP-848 consumer groups match Apache Kafka", (pair) => {
  test("ConsumerGroupHeartbeat, ConsumerGroupDescribe, member-epoch offsets, ListGroups types, DescribeGroups", async () => {
    const p = await pair();
    const diffs = await p.compare("ConsumerGroups", async (s: Side) => {
      const out: Record<string, unknown> = {};
      const ids = new Map<string, string>([[uuidHex(await createTopic(s, "cg-t", 4)), "cg-t"], [uuidHex(await createTopic(s, "cg-re-a", 2)), "cg-re-a"]]);
      for (let i = 0; i < 200; i++) {
        const r = await s.client.request(10, 4, { keyType: 0, coordinatorKeys: ["cg"] });
        const hb = await s.client.request(68, 0, { groupId: "cg-warmup", memberId: "x", memberEpoch: 1, instanceId: null, rackId: null, rebalanceTimeoutMs: -1, subscribedTopicNames: null, serverAssignor: null, topicPartitions: null });
        if (r.coordinators[0].errorCode === 0 && ![14, 15, 16].includes(hb.errorCode)) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      // Kafka 4.4 batches target assignments (KIP-1263, consumer.assignment.interval.ms, 1 s by default); Runnel
      // computes them at once, which is what Kafka does with an interval of 0, so the scenario's groups get that.
      for (const g of ["cg-0", "cg-1", "cg-static", "cg-regex"]) {
        const r = await s.client.request(44, 1, { resources: [{ resourceType: 32, resourceName: g, configs: [{ name: "consumer.assignment.interval.ms", configOperation: 0, value: "0" }] }], validateOnly: false });
        out[`interval ${g}`] = r.responses[0].errorCode;
      }
      const hb = (v: number, req: Record<string, unknown>) =>
        s.client.request(68, v, { instanceId: null, rackId: null, rebalanceTimeoutMs: -1, subscribedTopicNames: null, subscribedTopicRegex: null, serverAssignor: null, topicPartitions: null, ...req });
      for (const v of p.versions(68)) {
        // v0 member ids are random: which member keeps which partitions then depends on them, only counts compare.
        const parts = (a: any) => (v === 0 ? named(ids, a)?.map((t) => ({ topic: t.topic, partitions: t.partitions.length })) ?? null : named(ids, a));
        const shape = (r: any) => ({ errorCode: r.errorCode, memberEpoch: r.memberEpoch, heartbeatIntervalMs: r.heartbeatIntervalMs, assignment: parts(r.assignment) });
        const g = `cg-${v}`;
        const join = (memberId: string, extra: Record<string, unknown> = {}) => hb(v, { groupId: g, memberId, memberEpoch: 0, rebalanceTimeoutMs: 30000, subscribedTopicNames: ["cg-t"], topicPartitions: [], ...extra });
        out[`v${v} no rebalance timeout`] = (await join("a", { rebalanceTimeoutMs: -1 })).errorCode;
        out[`v${v} owned partitions on join`] = (await join("a", { topicPartitions: null })).errorCode;
        out[`v${v} no subscription`] = (await join("a", { subscribedTopicNames: null })).errorCode;
        out[`v${v} bad assignor`] = (await join("a", { serverAssignor: "sticky" })).errorCode;
        out[`v${v} empty group id`] = (await hb(v, { groupId: "", memberId: "a", memberEpoch: 0, rebalanceTimeoutMs: 30000, subscribedTopicNames: ["cg-t"], topicPartitions: [] })).errorCode;
        out[`v${v} bad epoch`] = (await hb(v, { groupId: g, memberId: "a", memberEpoch: -3 })).errorCode;
        out[`v${v} unknown group`] = (await hb(v, { groupId: `${g}-none`, memberId: "a", memberEpoch: 3 })).errorCode;
        if (v >= 1) {
          out[`v${v} empty member id`] = (await join("")).errorCode;
          for (const regex of ["cg-(?=x)", "(cg)\\1", "cg*+", "cg{1001}", "[z-a]"]) {
            const r = await join("a", { subscribedTopicNames: null, subscribedTopicRegex: regex });
            out[`v${v} bad regex ${regex}`] = { errorCode: r.errorCode, errorMessage: r.errorMessage };
          }
        }
        const a = await join(v >= 1 ? `${g}-member-a` : "");
        const A: string = a.memberId;
        out[`v${v} join a`] = shape(a);
        const b = await join(v >= 1 ? `${g}-member-b` : "", { serverAssignor: "range" });
        const B: string = b.memberId;
        out[`v${v} join b`] = shape(b);
        out[`v${v} a greater epoch`] = (await hb(v, { groupId: g, memberId: A, memberEpoch: 99 })).errorCode;
        out[`v${v} unknown member`] = (await hb(v, { groupId: g, memberId: "nobody", memberEpoch: 1 })).errorCode;
        const a2 = await hb(v, { groupId: g, memberId: A, memberEpoch: a.memberEpoch });
        out[`v${v} a revokes`] = shape(a2);
        const kept = (a2.assignment?.topicPartitions ?? []).map((t: any) => ({ topicId: t.topicId, partitions: t.partitions }));
        const a3 = await hb(v, { groupId: g, memberId: A, memberEpoch: a2.memberEpoch, topicPartitions: kept });
        out[`v${v} a revoked`] = shape(a3);
        out[`v${v} b gets released`] = shape(await hb(v, { groupId: g, memberId: B, memberEpoch: b.memberEpoch }));
        const d = await s.client.request(69, top(p.versions(69)), { groupIds: [g, `${g}-none`], includeAuthorizedOperations: false });
        out[`v${v} describe`] = d.groups.map((x: any) => ({
          ...x,
          members: x.members.map((m: any) => ({ ...m, assignment: parts(m.assignment), targetAssignment: parts(m.targetAssignment) })),
        }));
        // A partition A kept (with v0's random member ids which ones depends on the ids) and one it gave away.
        const mine: number = kept[0].partitions[0];
        const given = [0, 1, 2, 3].find((p) => !kept[0].partitions.includes(p))!;
        const commit = (memberId: string, epoch: number) =>
          s.client.request(8, 9, { groupId: g, generationIdOrMemberEpoch: epoch, memberId, groupInstanceId: null, topics: [{ name: "cg-t", partitions: [mine, given].map((p) => ({ partitionIndex: p, committedOffset: 3n, committedLeaderEpoch: -1, committedMetadata: "" })) }] });
        out[`v${v} commit stale`] = (await commit(A, a3.memberEpoch - 1)).topics;
        out[`v${v} commit unknown`] = (await commit("nobody", a3.memberEpoch)).topics;
        out[`v${v} commit`] = (await commit(A, a3.memberEpoch)).topics;
        const fetch = (memberId: string | null, memberEpoch: number) =>
          s.client.request(9, 9, { groups: [{ groupId: g, memberId, memberEpoch, topics: [{ name: "cg-t", partitionIndexes: [mine, given] }] }], requireStable: false });
        out[`v${v} fetch stale`] = (await fetch(A, a3.memberEpoch - 1)).groups;
        out[`v${v} fetch`] = (await fetch(A, a3.memberEpoch)).groups;
        out[`v${v} fetch admin`] = (await fetch(null, -1)).groups;
        const listed = await s.client.request(16, 5, { statesFilter: [], typesFilter: ["consumer"] });
        out[`v${v} list`] = listed.groups.filter((x: any) => x.groupId === g);
        out[`v${v} describe classic`] = (await s.client.request(15, 5, { groups: [g], includeAuthorizedOperations: false })).groups;
        out[`v${v} describe classic v6`] = (await s.client.request(15, 6, { groups: [g], includeAuthorizedOperations: false })).groups;
        out[`v${v} delete non-empty`] = (await s.client.request(42, 2, { groupsNames: [g] })).results;
        out[`v${v} leave b`] = shape(await hb(v, { groupId: g, memberId: B, memberEpoch: -1 }));
        out[`v${v} leave a`] = shape(await hb(v, { groupId: g, memberId: A, memberEpoch: -1 }));
        out[`v${v} leave again`] = (await hb(v, { groupId: g, memberId: A, memberEpoch: -1 })).errorCode;
        out[`v${v} delete`] = (await s.client.request(42, 2, { groupsNames: [g] })).results;
      }
      const shape = (r: any) => ({ errorCode: r.errorCode, memberEpoch: r.memberEpoch, heartbeatIntervalMs: r.heartbeatIntervalMs, assignment: named(ids, r.assignment) });
      // Static members.
      const sg = "cg-static";
      const sj = (memberId: string) => hb(1, { groupId: sg, memberId, memberEpoch: 0, instanceId: "inst", rebalanceTimeoutMs: 30000, subscribedTopicNames: ["cg-t"], topicPartitions: [] });
      out["static join"] = shape(await sj("s-1"));
      out["static other id"] = (await sj("s-2")).errorCode;
      out["static fenced"] = (await hb(1, { groupId: sg, memberId: "s-2", memberEpoch: 2, instanceId: "inst" })).errorCode;
      out["static temporary leave"] = shape(await hb(1, { groupId: sg, memberId: "s-1", memberEpoch: -2, instanceId: "inst" }));
      out["static rejoin"] = shape(await sj("s-2"));
      // Regex subscription.
      const rj = await hb(1, { groupId: "cg-regex", memberId: "r-1", memberEpoch: 0, rebalanceTimeoutMs: 30000, subscribedTopicNames: [], subscribedTopicRegex: "cg-re-.*", topicPartitions: [] });
      out["regex join"] = { errorCode: rj.errorCode, memberEpoch: rj.memberEpoch };
      return out;
    });
    assertSame("ConsumerGroups", diffs);
  });

  test("a classic consumer group upgraded by a consumer-protocol member, its classic member inside it, then downgraded", async () => {
    const p = await pair();
    const diffs = await p.compare("Migration", async (s: Side) => {
      const out: Record<string, unknown> = {};
      const ids = new Map<string, string>([[uuidHex(await createTopic(s, "mg-t", 4)), "mg-t"]]);
      const g = "mg";
      for (let i = 0; i < 200; i++) {
        const r = await s.client.request(10, 4, { keyType: 0, coordinatorKeys: [g] });
        const hb = await s.client.request(12, 4, { groupId: "mg-warmup", generationId: 1, memberId: "m", groupInstanceId: null });
        if (r.coordinators[0].errorCode === 0 && ![14, 15, 16].includes(hb.errorCode)) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      await s.client.request(44, 1, { resources: [{ resourceType: 32, resourceName: g, configs: [{ name: "consumer.assignment.interval.ms", configOperation: 0, value: "0" }] }], validateOnly: false });
      // Consumer protocol subscription v0 to mg-t, and an assignment v0 of all four partitions.
      const sub = new Uint8Array([0, 0, 0, 0, 0, 1, 0, 4, ...new TextEncoder().encode("mg-t"), 255, 255, 255, 255]);
      const all = new Uint8Array([0, 0, 0, 0, 0, 1, 0, 4, ...new TextEncoder().encode("mg-t"), 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 255, 255, 255, 255]);
      const join = (memberId: string) =>
        s.client.request(11, 9, { groupId: g, sessionTimeoutMs: 30000, rebalanceTimeoutMs: 30000, memberId, groupInstanceId: null, protocolType: "consumer", protocols: [{ name: "range", metadata: sub }], reason: null });
      let j = await join("");
      if (j.errorCode === 79) j = await join(j.memberId);
      const c: string = j.memberId;
      out["classic join"] = { errorCode: j.errorCode, generationId: j.generationId, protocolName: j.protocolName };
      const sync = (generationId: number, assignments: { memberId: string; assignment: Uint8Array }[]) =>
        s.client.request(14, 5, { groupId: g, generationId, memberId: c, groupInstanceId: null, protocolType: "consumer", protocolName: "range", assignments });
      out["classic sync"] = (await sync(j.generationId, [{ memberId: c, assignment: all }])).errorCode;
      const cg = await s.client.request(68, 1, { groupId: g, memberId: "mg-new", memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 30000, subscribedTopicNames: ["mg-t"], subscribedTopicRegex: null, serverAssignor: null, topicPartitions: [] });
      out["consumer joins"] = { errorCode: cg.errorCode, memberEpoch: cg.memberEpoch, assignment: named(ids, cg.assignment) };
      out["list after upgrade"] = (await s.client.request(16, 5, { statesFilter: [], typesFilter: [] })).groups.filter((x: any) => x.groupId === g);
      const gen = j.generationId;
      out["classic heartbeat"] = (await s.client.request(12, 4, { groupId: g, generationId: gen, memberId: c, groupInstanceId: null })).errorCode;
      const rj = await join(c);
      out["classic rejoin"] = { errorCode: rj.errorCode, generationId: rj.generationId, protocolType: rj.protocolType, protocolName: rj.protocolName, skipAssignment: rj.skipAssignment, members: rj.members.length };
      const rs = await sync(rj.generationId, []);
      out["classic resync"] = { errorCode: rs.errorCode, protocolType: rs.protocolType, protocolName: rs.protocolName, assignment: [...rs.assignment] };
      out["classic heartbeat 2"] = (await s.client.request(12, 4, { groupId: g, generationId: rj.generationId, memberId: c, groupInstanceId: null })).errorCode;
      const d = await s.client.request(69, 1, { groupIds: [g], includeAuthorizedOperations: false });
      // Member order carries no meaning (Kafka's is a hash order): one classic and one consumer member, by type.
      out["describe"] = d.groups.map((x: any) => ({
        ...x,
        members: [...x.members].sort((a: any, b: any) => a.memberType - b.memberType).map((m: any) => ({ ...m, assignment: named(ids, m.assignment), targetAssignment: named(ids, m.targetAssignment) })),
      }));
      out["consumer leaves"] = (await s.client.request(68, 1, { groupId: g, memberId: "mg-new", memberEpoch: -1, instanceId: null, rackId: null, rebalanceTimeoutMs: -1, subscribedTopicNames: null, subscribedTopicRegex: null, serverAssignor: null, topicPartitions: null })).errorCode;
      out["list after downgrade"] = (await s.client.request(16, 5, { statesFilter: [], typesFilter: [] })).groups.filter((x: any) => x.groupId === g);
      out["classic heartbeat after downgrade"] = (await s.client.request(12, 4, { groupId: g, generationId: rj.generationId, memberId: c, groupInstanceId: null })).errorCode;
      return out;
    });
    assertSame("Migration", diffs);
  });
});

/** The largest of `versions`. */
function top(versions: number[]): number {
  return Math.max(...versions);
}
