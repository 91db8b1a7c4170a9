/**
 * Cluster mode, coordinator side: a group or transaction coordinator that follows leadership serves only the
 * partitions of its internal topic handed to it (those its broker leads). Before a partition is handed over its
 * groups and transactional ids get NOT_COORDINATOR; while it is replayed, COORDINATOR_LOAD_IN_PROGRESS; once
 * loaded, the state written by the previous leader; after it is taken away, NOT_COORDINATOR again, and parked
 * JoinGroups are answered NOT_COORDINATOR. A replay goes one read per turn of the event loop, and a partition
 * taken away half-way leaves nothing of it behind. A transaction left between Prepare and Complete by the previous
 * coordinator gets its markers from the new one.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { GroupCoordinator } from "../../src/group/group-coordinator.ts";
import { TransactionCoordinator } from "../../src/transactions/transaction-coordinator.ts";
import { flush, harness, joinInput, track, type MemoryOffsetsStorage } from "./coordinator-harness.ts";
import type { Clock } from "../../src/platform/clock.ts";
import type { OffsetsTopicStorage } from "../../src/group/offsets-topic-storage.ts";
import { txnHarness } from "../transactions/txn-harness.ts";

test("a group coordinator following leadership loads a partition on becoming its leader and unloads it on losing it", async () => {
  const h = harness();
  // the previous leader commits offsets for two groups in different partitions
  const [a, b] = ["group-a", "group-b"];
  assert.notEqual(h.coord.partitionFor(a), h.coord.partitionFor(b));
  for (const g of [a, b]) assert.deepEqual(await h.coord.commitOffsets({ groupId: g, memberId: "", generationId: -1, groupInstanceId: null, retentionTimeMs: -1, offsets: [{ topic: "t", partition: 0, offset: 42n, leaderEpoch: -1, metadata: "" }] }), [0]);
  h.coord.stop();

  let ids = 0;
  const c = new GroupCoordinator({ config: h.config, clock: h.clock, storage: h.storage, randomId: () => `id${++ids}` });
  c.followLeadership();
  const fetchA = () => c.fetchOffsets(a, [{ topic: "t", partitions: [0] }]);
  assert.equal(fetchA().errorCode, ErrorCode.NOT_COORDINATOR, "not handed over yet");
  c.loadPartition(c.partitionFor(a));
  assert.equal(fetchA().errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, "while it is replayed");
  assert.equal((await c.joinGroup(joinInput(a))).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  h.clock.advance(0);
  assert.equal(fetchA().topics[0].partitions[0].offset, 42n, "the offsets the previous leader committed");
  assert.equal(c.fetchOffsets(b, null).errorCode, ErrorCode.NOT_COORDINATOR, "another partition's group");
  assert.equal(c.heartbeat({ groupId: b, memberId: "m", generationId: 1, groupInstanceId: null }), ErrorCode.NOT_COORDINATOR);

  // a member parked in its join is answered NOT_COORDINATOR when the partition goes
  const first = await c.joinGroup(joinInput(a));
  assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  const parked = track(c.joinGroup(joinInput(a, { memberId: first.memberId, rebalanceTimeoutMs: 60_000 })));
  // (the initial rebalance delay is 0: the join completes at once for a lone member, so rejoin as a second one)
  await flush();
  const second = await c.joinGroup(joinInput(a));
  const parked2 = track(c.joinGroup(joinInput(a, { memberId: second.memberId })));
  await flush();
  c.unloadPartition(c.partitionFor(a));
  await flush();
  assert.ok(parked.done);
  assert.ok(parked2.done, "the parked join is answered");
  assert.equal(parked2.value!.errorCode, ErrorCode.NOT_COORDINATOR);
  assert.equal(fetchA().errorCode, ErrorCode.NOT_COORDINATOR, "unloaded");
  assert.deepEqual(c.listGroups().map((g) => g.groupId), [], "its groups are gone from memory");
  // handed back: replayed again from the log
  c.loadPartition(c.partitionFor(a));
  h.clock.advance(0);
  assert.equal(fetchA().topics[0].partitions[0].offset, 42n);
  c.stop();
});

test("a transaction coordinator following leadership loads a partition, completes a transaction left prepared, and unloads it", async () => {
  const h = txnHarness();
  const id = "txn-1";
  const init = await h.coord.initProducerId({ transactionalId: id, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
  assert.equal(init.errorCode, 0);
  assert.equal(await h.coord.addPartitions(id, init.producerId, init.producerEpoch, [{ topic: "t", partition: 0 }]), 0);
  // the old coordinator writes PrepareCommit, then dies before any marker is written
  h.markers.hang = true;
  void h.coord.endTransaction(id, init.producerId, init.producerEpoch, true);
  await flush();
  h.coord.stop();
  h.markers.hang = false;
  const before = h.markers.requests.length;

  const c = new TransactionCoordinator({ config: h.config, clock: h.clock, storage: h.storage, markers: h.markers, producerIds: { next: () => 5000n } });
  c.followLeadership();
  const partition = c.partitionFor(id);
  assert.equal(c.describe(id).errorCode, ErrorCode.NOT_COORDINATOR);
  assert.equal((await c.initProducerId({ transactionalId: id, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 })).errorCode, ErrorCode.NOT_COORDINATOR);
  c.loadPartitionOwnership(partition);
  assert.equal(c.describe(id).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  h.clock.advance(0);
  await flush();
  assert.equal(h.markers.requests.length, before + 1, "the new coordinator writes the markers of the prepared transaction");
  assert.deepEqual([h.markers.requests.at(-1)!.commit, h.markers.requests.at(-1)!.partitions], [true, [{ topic: "t", partition: 0 }]]);
  assert.equal(c.describe(id).state, "CompleteCommit");
  c.unloadPartitionOwnership(partition);
  assert.equal(c.describe(id).errorCode, ErrorCode.NOT_COORDINATOR);
  c.stop();
});

/** The stored offsets topic read one batch per read, as a large partition is read a few MB at a time. */
function oneBatchPerRead(storage: MemoryOffsetsStorage): OffsetsTopicStorage {
  return {
    partitionCount: () => storage.partitionCount(),
    ensureTopic: (n) => storage.ensureTopic(n),
    append: (p, b) => storage.append(p, b),
    read: (p, offset) => {
      const log = storage.partitions[p] ?? [];
      const end = log.length === 0 ? 0n : log[log.length - 1].baseOffset + BigInt(log[log.length - 1].count);
      const next = log.find((b) => b.baseOffset >= offset);
      return next === undefined ? { chunks: [], nextOffset: offset, endOffset: end } : { chunks: [next.bytes], nextOffset: next.baseOffset + BigInt(next.count), endOffset: end };
    },
  };
}

test("a partition is replayed one read per turn of the event loop; taken away half-way, nothing of it stays", async () => {
  const h = harness();
  const g = "group-steps";
  for (const offset of [10n, 20n, 30n]) {
    assert.deepEqual(await h.coord.commitOffsets({ groupId: g, memberId: "", generationId: -1, groupInstanceId: null, retentionTimeMs: -1, offsets: [{ topic: "t", partition: 0, offset, leaderEpoch: -1, metadata: "" }] }), [0]);
  }
  h.coord.stop();
  // zero-delay timers run one at a time, when the test says so (a turn of the event loop each)
  const turns: (() => void)[] = [];
  const clock: Clock = {
    nowMs: () => h.clock.nowMs(),
    monotonicMs: () => h.clock.monotonicMs(),
    setTimer: (fn, ms) => (ms === 0 ? (turns.push(fn), fn) : h.clock.setTimer(fn, ms)),
    clearTimer: (t) => {
      const i = turns.indexOf(t as () => void);
      if (i >= 0) turns.splice(i, 1);
      else h.clock.clearTimer(t);
    },
  };
  const turn = () => turns.shift()!();
  const c = new GroupCoordinator({ config: h.config, clock, storage: oneBatchPerRead(h.storage), randomId: () => "id" });
  c.followLeadership();
  const partition = c.partitionFor(g);
  const fetch = () => c.fetchOffsets(g, [{ topic: "t", partitions: [0] }]);
  c.loadPartition(partition);
  turn();
  turn();
  assert.equal(fetch().errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, "two of three batches read: still loading");
  c.unloadPartition(partition);
  assert.equal(turns.length, 0, "the replay stopped");
  assert.deepEqual(c.listGroups().map((x) => x.groupId), [], "nothing of the half-read partition stays");
  assert.equal(fetch().errorCode, ErrorCode.NOT_COORDINATOR);
  c.loadPartition(partition);
  let steps = 0;
  while (turns.length > 0) {
    turn();
    steps++;
  }
  assert.equal(steps, 3, "one turn per batch");
  assert.equal(fetch().topics[0].partitions[0].offset, 30n, "the last commit");
  c.stop();
});
