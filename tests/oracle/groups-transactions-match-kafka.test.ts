/**
 * Differential: the classic group APIs through a whole lifecycle (FindCoordinator, JoinGroup with MEMBER_ID_REQUIRED,
 * SyncGroup, Heartbeat, OffsetCommit/OffsetFetch, DescribeGroups, ListGroups, LeaveGroup, DeleteGroups) with their
 * error paths (unknown member, stale generation, wrong protocol type, non-empty group, unknown group), and the
 * transaction APIs in each state (Empty, Ongoing, after commit and abort, fenced epochs, unknown ids): Runnel
 * answers as Apache Kafka does.
 */
import { test } from "node:test";
import { assertSame, oracleSuite, type Side } from "./differential.ts";
import { batch, createTopic, initProducer } from "./scenario-helpers.ts";
import { readBatchHeader } from "../../src/protocol/record-batch.ts";

/** The largest version of `apiKey` both serve, capped at `cap`. */
function top(versions: number[], cap = Infinity): number {
  return Math.max(...versions.filter((v) => v <= cap));
}

async function findCoordinator(s: Side, key: string, keyType: number): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const r = await s.client.request(10, 4, { keyType, coordinatorKeys: [key] });
    if (r.coordinators[0].errorCode === 0) return 0;
    await new Promise((res) => setTimeout(res, 50));
  }
  return -1;
}

oracleSuite("groups and transactions match Apache Kafka", (pair) => {
  test("classic group lifecycle and error paths at every JoinGroup version", async () => {
    const p = await pair();
    const V = { sync: top(p.versions(14)), hb: top(p.versions(12)), leave: top(p.versions(13)), commit: top(p.versions(8)), fetch: top(p.versions(9), 7), describe: top(p.versions(15)), list: top(p.versions(16)), del: top(p.versions(42)) };
    const diffs = await p.compare("Groups", async (s) => {
      const out: Record<string, unknown> = {};
      await createTopic(s, "grp-topic", 2);
      // Kafka answers FindCoordinator before its group coordinator has loaded __consumer_offsets: wait until a
      // heartbeat to an unknown group gets a group answer rather than NOT_COORDINATOR / LOAD_IN_PROGRESS.
      // Each group's own __consumer_offsets partition may still be loading after another one answers (Kafka loads
      // them one by one), so this is asked for every group before its first JoinGroup.
      const coordinatorLoaded = async (group: string) => {
        for (let i = 0; i < 200; i++) {
          await findCoordinator(s, group, 0);
          const r = await s.client.request(12, V.hb, { groupId: group, generationId: 1, memberId: "m", groupInstanceId: null });
          if (![14, 15, 16].includes(r.errorCode)) return;
          await new Promise((res) => setTimeout(res, 100));
        }
      };
      await coordinatorLoaded("grp-warmup");
      for (const v of p.versions(11)) {
        const g = `grp-${v}`;
        out[`v${v} coordinator`] = await findCoordinator(s, g, 0);
        await coordinatorLoaded(g);
        const protocols = [{ name: "range", metadata: new Uint8Array([0, 1, 2, 3]) }];
        const join = (memberId: string, protocolType = "consumer") =>
          s.client.request(11, v, { groupId: g, sessionTimeoutMs: 30000, rebalanceTimeoutMs: 30000, memberId, groupInstanceId: null, protocolType, protocols, reason: null });
        let j = await join("");
        out[`v${v} join 1`] = { errorCode: j.errorCode, generationId: j.generationId, protocolName: j.protocolName, members: j.members?.length };
        if (j.errorCode === 79) j = await join(j.memberId);
        const me: string = j.memberId;
        const gen: number = j.generationId;
        out[`v${v} join 2`] = { errorCode: j.errorCode, generationId: gen, protocolType: j.protocolType, protocolName: j.protocolName, leaderIsMe: j.leader === me, members: j.members.map((m: any) => m.metadata) };
        out[`v${v} wrong protocol type`] = (await join("", "connect")).errorCode;
        out[`v${v} join unknown member`] = (await join("nobody-1234")).errorCode;
        const sync = (memberId: string, generationId: number) =>
          s.client.request(14, V.sync, { groupId: g, generationId, memberId, groupInstanceId: null, protocolType: "consumer", protocolName: "range", assignments: [{ memberId: me, assignment: new Uint8Array([9, 9]) }] });
        out[`v${v} sync stale generation`] = (await sync(me, gen + 1)).errorCode;
        out[`v${v} sync unknown member`] = (await sync("nobody-1234", gen)).errorCode;
        out[`v${v} sync`] = await sync(me, gen);
        const hb = (memberId: string, generationId: number) => s.client.request(12, V.hb, { groupId: g, generationId, memberId, groupInstanceId: null });
        out[`v${v} heartbeat`] = (await hb(me, gen)).errorCode;
        out[`v${v} heartbeat stale generation`] = (await hb(me, gen - 1)).errorCode;
        out[`v${v} heartbeat unknown member`] = (await hb("nobody-1234", gen)).errorCode;
        out[`v${v} heartbeat unknown group`] = (await s.client.request(12, V.hb, { groupId: `${g}-none`, generationId: 1, memberId: me, groupInstanceId: null })).errorCode;
        const commit = (memberId: string, generation: number, offset: bigint) =>
          s.client.request(8, V.commit, { groupId: g, generationIdOrMemberEpoch: generation, memberId, groupInstanceId: null, retentionTimeMs: -1n, topics: [{ name: "grp-topic", partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: "m" }, { partitionIndex: 9, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }] }] });
        out[`v${v} commit`] = (await commit(me, gen, 5n)).topics;
        out[`v${v} commit stale generation`] = (await commit(me, gen + 5, 6n)).topics;
        out[`v${v} commit unknown member`] = (await commit("nobody-1234", gen, 6n)).topics;
        out[`v${v} fetch`] = await s.client.request(9, V.fetch, { groupId: g, topics: [{ name: "grp-topic", partitionIndexes: [0, 1] }], requireStable: false });
        const described = await s.client.request(15, V.describe, { groups: [g, `${g}-none`], includeAuthorizedOperations: true });
        out[`v${v} describe`] = described.groups.map((d: any) => ({ ...d, members: d.members.map((m: any) => ({ clientId: m.clientId, metadata: m.memberMetadata, assignment: m.memberAssignment })) }));
        const listed = await s.client.request(16, V.list, { statesFilter: [], typesFilter: [] });
        out[`v${v} list`] = listed.groups.filter((x: any) => x.groupId === g);
        out[`v${v} delete non-empty`] = (await s.client.request(42, V.del, { groupsNames: [g] })).results;
        const leave = (memberId: string) => s.client.request(13, V.leave, { groupId: g, memberId, members: [{ memberId, groupInstanceId: null, reason: null }] });
        const badLeave = await leave("nobody-1234");
        out[`v${v} leave unknown member`] = { errorCode: badLeave.errorCode, members: badLeave.members?.map((m: any) => m.errorCode) };
        const left = await leave(me);
        out[`v${v} leave`] = { errorCode: left.errorCode, members: left.members?.map((m: any) => m.errorCode) };
        out[`v${v} heartbeat after leave`] = (await hb(me, gen)).errorCode;
        out[`v${v} delete`] = (await s.client.request(42, V.del, { groupsNames: [g, `${g}-none`] })).results;
      }
      return out;
    });
    assertSame("Groups", diffs);
  });

  test("transaction APIs in every state: empty, ongoing, committed, aborted, fenced, unknown", async () => {
    const p = await pair();
    const V = { add: top(p.versions(24), 3), offsets: top(p.versions(25)), end: top(p.versions(26), 4), txnCommit: top(p.versions(28)), describe: top(p.versions(65)), list: top(p.versions(66)), produce: top(p.versions(0), 11) };
    const diffs = await p.compare("Transactions", async (s) => {
      const out: Record<string, unknown> = {};
      await createTopic(s, "txn-topic", 2);
      const tid = "txn-a";
      const init = await initProducer(s, tid);
      out.init = { errorCode: init.errorCode, epoch: init.producerEpoch };
      const pid: bigint = init.producerId;
      const epoch: number = init.producerEpoch;
      const describe = async () => (await s.client.request(65, V.describe, { transactionalIds: [tid, "txn-none"] })).transactionStates.map((t: any) => ({ ...t, topics: t.topics }));
      const add = (partitions: number[], e = epoch, id = tid, producerId = pid) =>
        s.client.request(24, V.add, { v3AndBelowTransactionalId: id, v3AndBelowProducerId: producerId, v3AndBelowProducerEpoch: e, v3AndBelowTopics: [{ name: "txn-topic", partitions }] });
      const end = (committed: boolean, e = epoch, id = tid) => s.client.request(26, V.end, { transactionalId: id, producerId: pid, producerEpoch: e, committed });
      out.describeEmpty = await describe();
      out.endInEmpty = (await end(true)).errorCode;
      out.addUnknownTopic = (await s.client.request(24, V.add, { v3AndBelowTransactionalId: tid, v3AndBelowProducerId: pid, v3AndBelowProducerEpoch: epoch, v3AndBelowTopics: [{ name: "txn-no-such", partitions: [0] }] })).resultsByTopicV3AndBelow;
      out.addWrongEpoch = (await add([0], epoch + 1)).resultsByTopicV3AndBelow;
      out.addUnknownTxnId = (await add([0], epoch, "txn-none")).resultsByTopicV3AndBelow;
      out.add = (await add([0, 1])).resultsByTopicV3AndBelow;
      const r = await s.client.request(0, V.produce, { transactionalId: tid, acks: -1, timeoutMs: 10000, topicData: [{ name: "txn-topic", partitionData: [{ index: 0, records: batch(3, { producerId: pid, producerEpoch: epoch, baseSequence: 0, isTransactional: true }) }] }] });
      out.produce = r.responses[0].partitionResponses[0];
      out.describeOngoing = await describe();
      out.listOngoing = (await s.client.request(66, V.list, { stateFilters: ["Ongoing"], producerIdFilters: [], durationFilter: -1n, transactionalIdPattern: null })).transactionStates.filter((t: any) => t.transactionalId === tid);
      out.addOffsets = (await s.client.request(25, V.offsets, { transactionalId: tid, producerId: pid, producerEpoch: epoch, groupId: "txn-group" })).errorCode;
      await findCoordinator(s, "txn-group", 0);
      const toc = await s.client.request(28, V.txnCommit, { transactionalId: tid, groupId: "txn-group", producerId: pid, producerEpoch: epoch, generationId: -1, memberId: "", groupInstanceId: null, topics: [{ name: "txn-topic", partitions: [{ partitionIndex: 0, committedOffset: 2n, committedLeaderEpoch: -1, committedMetadata: null }] }] });
      out.txnOffsetCommit = toc.topics;
      out.endWrongEpoch = (await end(true, epoch + 1)).errorCode;
      out.endUnknown = (await end(true, epoch, "txn-none")).errorCode;
      // Kafka completes a commit or abort after EndTxn answers (markers, then Complete*): wait for that before going on.
      const settled = async () => {
        for (let i = 0; i < 100; i++) {
          const d = await s.client.request(65, V.describe, { transactionalIds: [tid] });
          if (!String(d.transactionStates[0].transactionState).startsWith("Prepare")) return;
          await new Promise((res) => setTimeout(res, 50));
        }
      };
      out.commit = (await end(true)).errorCode;
      await settled();
      out.commitRetry = (await end(true)).errorCode;
      out.abortAfterCommit = (await end(false)).errorCode;
      out.describeAfterCommit = await describe();
      out.add2 = (await add([1])).resultsByTopicV3AndBelow;
      out.abort = (await end(false)).errorCode;
      await settled();
      out.describeAfterAbort = await describe();
      const fenced = await initProducer(s, tid);
      out.reinit = { errorCode: fenced.errorCode, epochBumped: fenced.producerEpoch === epoch + 1, sameProducer: fenced.producerId === pid };
      out.addFenced = (await add([0], epoch)).resultsByTopicV3AndBelow;
      out.endFenced = (await end(true, epoch)).errorCode;
      const lso = await s.client.request(2, 7, { replicaId: -1, isolationLevel: 1, topics: [{ name: "txn-topic", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }, { partitionIndex: 1, currentLeaderEpoch: -1, timestamp: -1n }] }] });
      out.lastStable = lso.topics;
      return out;
    });
    assertSame("Transactions", diffs);
  });
  test("OffsetFetch at every version (one group and many), OffsetDelete errors, static members fenced", async () => {
    const p = await pair();
    const diffs = await p.compare("Groups offsets/static", async (s) => {
      const out: Record<string, unknown> = {};
      await createTopic(s, "of-topic", 2);
      await findCoordinator(s, "of-group", 0);
      await findCoordinator(s, "of-empty", 0);
      const commitV = top(p.versions(8));
      // A simple (member-less) commit for of-group, then a live member of of-subscribed that consumes of-topic.
      out.commit = (await s.client.request(8, commitV, { groupId: "of-group", generationIdOrMemberEpoch: -1, memberId: "", groupInstanceId: null, retentionTimeMs: -1n, topics: [{ name: "of-topic", partitions: [{ partitionIndex: 0, committedOffset: 3n, committedLeaderEpoch: -1, committedMetadata: "x" }] }] })).topics;
      for (const v of p.versions(9)) {
        if (v < 8) {
          const r = await s.client.request(9, v, { groupId: "of-group", topics: v >= 2 && v % 2 === 0 ? null : [{ name: "of-topic", partitionIndexes: [0, 1] }, { name: "of-no-such", partitionIndexes: [0] }], requireStable: false });
          out[`fetch v${v}`] = r;
        } else {
          const r = await s.client.request(9, v, {
            groups: [
              { groupId: "of-group", memberId: null, memberEpoch: -1, topics: [{ name: "of-topic", partitionIndexes: [0, 1] }] },
              { groupId: "of-empty", memberId: null, memberEpoch: -1, topics: null },
              { groupId: "of-none", memberId: null, memberEpoch: -1, topics: [{ name: "of-topic", partitionIndexes: [0] }] },
            ],
            requireStable: true,
          });
          out[`fetch v${v}`] = r.groups;
        }
      }
      const joinV = top(p.versions(11));
      const join = (instance: string | null, memberId = "") =>
        s.client.request(11, joinV, { groupId: "of-static", sessionTimeoutMs: 30000, rebalanceTimeoutMs: 30000, memberId, groupInstanceId: instance, protocolType: "consumer", protocols: [{ name: "range", metadata: new Uint8Array([1]) }], reason: null });
      const first = await join("inst-1");
      out.staticJoin = { errorCode: first.errorCode, generationId: first.generationId };
      const second = await join("inst-1");
      out.staticRejoinNewMember = { errorCode: second.errorCode, generationId: second.generationId };
      const hbV = top(p.versions(12));
      out.oldMemberFenced = (await s.client.request(12, hbV, { groupId: "of-static", generationId: second.generationId, memberId: first.memberId, groupInstanceId: "inst-1" })).errorCode;
      const delV = top(p.versions(47));
      out.offsetDeleteUnknownGroup = (await s.client.request(47, delV, { groupId: "od-none", topics: [{ name: "of-topic", partitions: [{ partitionIndex: 0 }] }] })).errorCode;
      const od = await s.client.request(47, delV, { groupId: "of-group", topics: [{ name: "of-topic", partitions: [{ partitionIndex: 0 }, { partitionIndex: 5 }] }, { name: "of-no-such", partitions: [{ partitionIndex: 0 }] }] });
      out.offsetDelete = { errorCode: od.errorCode, topics: od.topics };
      return out;
    });
    assertSame("Groups offsets/static", diffs);
  });

  test("read_committed and read_uncommitted fetch around an aborted and a committed transaction", async () => {
    const p = await pair();
    const V = { add: top(p.versions(24), 3), end: top(p.versions(26), 4), produce: top(p.versions(0), 11), fetch: top(p.versions(1), 12) };
    const diffs = await p.compare("Fetch isolation", async (s) => {
      const out: Record<string, unknown> = {};
      await createTopic(s, "iso-topic", 1);
      const tid = "iso-txn";
      const init = await initProducer(s, tid);
      const pid: bigint = init.producerId;
      const epoch: number = init.producerEpoch;
      const settle = async () => {
        for (let i = 0; i < 100; i++) {
          const d = await s.client.request(65, 0, { transactionalIds: [tid] });
          if (!String(d.transactionStates[0].transactionState).startsWith("Prepare")) return;
          await new Promise((res) => setTimeout(res, 50));
        }
      };
      let seq = 0;
      for (const committed of [false, true]) {
        await s.client.request(24, V.add, { v3AndBelowTransactionalId: tid, v3AndBelowProducerId: pid, v3AndBelowProducerEpoch: epoch, v3AndBelowTopics: [{ name: "iso-topic", partitions: [0] }] });
        const r = await s.client.request(0, V.produce, { transactionalId: tid, acks: -1, timeoutMs: 10000, topicData: [{ name: "iso-topic", partitionData: [{ index: 0, records: batch(3, { producerId: pid, producerEpoch: epoch, baseSequence: seq, isTransactional: true }) }] }] });
        seq += 3;
        out[`produce ${committed}`] = r.responses[0].partitionResponses[0].errorCode;
        out[`end ${committed}`] = (await s.client.request(26, V.end, { transactionalId: tid, producerId: pid, producerEpoch: epoch, committed })).errorCode;
        await settle();
      }
      // An open transaction at the end holds the last stable offset back.
      await s.client.request(24, V.add, { v3AndBelowTransactionalId: tid, v3AndBelowProducerId: pid, v3AndBelowProducerEpoch: epoch, v3AndBelowTopics: [{ name: "iso-topic", partitions: [0] }] });
      await s.client.request(0, V.produce, { transactionalId: tid, acks: -1, timeoutMs: 10000, topicData: [{ name: "iso-topic", partitionData: [{ index: 0, records: batch(2, { producerId: pid, producerEpoch: epoch, baseSequence: seq, isTransactional: true }) }] }] });
      for (const isolationLevel of [0, 1]) {
        // Read as a consumer does, from each answer's end to the last stable offset / high watermark: Kafka may
        // answer one batch at a time while the high watermark's file position is not yet known.
        const batches: string[] = [];
        const aborted: string[] = [];
        let fetchOffset = 0n;
        let last: any = null;
        for (let round = 0; round < 20; round++) {
          const r = await s.client.request(1, V.fetch, {
            replicaId: -1, maxWaitMs: 10, minBytes: 1, maxBytes: 1 << 20, isolationLevel, sessionId: 0, sessionEpoch: -1, rackId: "",
            topics: [{ topic: "iso-topic", partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
            forgottenTopicsData: [],
          });
          const pd = r.responses[0].partitions[0];
          last = pd;
          for (const a of pd.abortedTransactions ?? []) aborted.push(String(a.firstOffset));
          // Batches by header (the bytes carry each broker's own producer id): offsets, counts, control and transactional bits.
          const rec = pd.records as Uint8Array;
          for (let at = 0; at + 61 <= rec.length; ) {
            const h = readBatchHeader(rec, at);
            batches.push(`${h.baseOffset}+${h.recordsCount} attrs=${h.attributes}`);
            fetchOffset = h.baseOffset + BigInt(h.lastOffsetDelta) + 1n;
            at += 12 + h.batchLength;
          }
          if (rec.length === 0 || fetchOffset >= (isolationLevel === 1 ? pd.lastStableOffset : pd.highWatermark)) break;
        }
        out[`fetch isolation=${isolationLevel}`] = { errorCode: last.errorCode, highWatermark: last.highWatermark, lastStableOffset: last.lastStableOffset, aborted: [...new Set(aborted)], batches };
        const lo = await s.client.request(2, 7, { replicaId: -1, isolationLevel, topics: [{ name: "iso-topic", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }] });
        out[`listOffsets latest isolation=${isolationLevel}`] = lo.topics[0].partitions[0].offset;
      }
      out.abortOpen = (await s.client.request(26, V.end, { transactionalId: tid, producerId: pid, producerEpoch: epoch, committed: false })).errorCode;
      return out;
    });
    assertSame("Fetch isolation", diffs);
  });
  test("KIP-848 ConsumerGroupHeartbeat and ConsumerGroupDescribe: join, assignment, fenced and unknown members, leave", async () => {
    const p = await pair();
    const diffs = await p.compare("ConsumerGroupHeartbeat", async (s) => {
      const out: Record<string, unknown> = {};
      await createTopic(s, "kg-topic", 3);
      for (const v of p.versions(68)) {
        const g = `kg-${v}`;
        await findCoordinator(s, g, 0);
        const memberId = `member-${v}-0123456789abcdef`;
        const hb = (fields: Record<string, unknown>) =>
          s.client.request(68, v, { groupId: g, memberId, memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 30000, subscribedTopicNames: ["kg-topic"], subscribedTopicRegex: null, serverAssignor: null, topicPartitions: [], ...fields });
        const view = (r: any) => ({ errorCode: r.errorCode, memberEpoch: r.memberEpoch, heartbeatIntervalMs: r.heartbeatIntervalMs, assigned: r.assignment?.topicPartitions.map((t: any) => [...t.partitions].sort()) ?? null });
        out[`v${v} no subscription`] = view(await hb({ subscribedTopicNames: null }));
        const joined = await hb({});
        out[`v${v} join`] = view(joined);
        const epoch: number = joined.memberEpoch;
        out[`v${v} heartbeat`] = view(await hb({ memberEpoch: epoch, subscribedTopicNames: null, rebalanceTimeoutMs: -1, topicPartitions: null }));
        out[`v${v} fenced epoch`] = view(await hb({ memberEpoch: epoch + 7, subscribedTopicNames: null, topicPartitions: null }));
        out[`v${v} unknown member`] = view(await hb({ memberId: `nobody-${v}-0123456789abcd`, memberEpoch: 3, subscribedTopicNames: null, topicPartitions: null }));
        const describeV = Math.max(...p.versions(69));
        const d = await s.client.request(69, describeV, { groupIds: [g, `${g}-none`], includeAuthorizedOperations: true });
        out[`v${v} describe`] = d.groups.map((x: any) => ({ ...x, members: x.members.map((m: any) => ({ memberEpoch: m.memberEpoch, clientId: m.clientId, subscribedTopicNames: m.subscribedTopicNames, assigned: m.assignment.topicPartitions.map((t: any) => [t.topicName, [...t.partitions].sort()]), target: m.targetAssignment.topicPartitions.map((t: any) => [t.topicName, [...t.partitions].sort()]) })) }));
        out[`v${v} leave`] = view(await hb({ memberEpoch: -1, subscribedTopicNames: null, topicPartitions: null }));
        out[`v${v} after leave`] = view(await hb({ memberEpoch: epoch, subscribedTopicNames: null, topicPartitions: null }));
      }
      return out;
    });
    assertSame("ConsumerGroupHeartbeat", diffs);
  });
});
