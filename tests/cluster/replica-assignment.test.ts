/**
 * Replica placement (pure, seeded): distinct replicas per partition, leaders spread evenly, every partition spans
 * as many racks as it can, CreatePartitions continues the spread, the same seed gives the same placement, and a
 * replication factor above the broker count is INVALID_REPLICATION_FACTOR. Manual placements (CreateTopics and
 * CreatePartitions `assignments`) are checked in Kafka's order with its messages, keep the replicas as named, and start
 * with the active replicas in the ISR, the first of them leading.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { assignReplicas, manualPartitionsPlacement, manualPlacementBrokers, manualTopicPlacement, rackAlternatedOrder, type PlacementBroker } from "../../src/cluster/replica-assignment.ts";
import { manualPartitionStates, newTopicStates } from "../../src/cluster/controller.ts";
import { SeededRandom } from "../../src/platform/random.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";

const SEEDS = [1, 7, 42, 20261204, 99991];

function brokers(n: number, racks: number | null): PlacementBroker[] {
  return Array.from({ length: n }, (_, i) => ({ id: 100 + i, rack: racks === null ? null : `r${i % racks}` }));
}

function counts(ids: number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
}

test("rack-alternated order interleaves racks, brokers sorted by id within a rack", () => {
  const order = rackAlternatedOrder([
    { id: 5, rack: "b" }, { id: 1, rack: "a" }, { id: 2, rack: "a" }, { id: 4, rack: "b" }, { id: 3, rack: "c" }, { id: 6, rack: "a" },
  ]);
  assert.deepEqual(order, [1, 4, 3, 2, 5, 6]);
});

test("without racks: distinct replicas, leaders and replicas spread evenly over brokers", () => {
  for (const seed of SEEDS) {
    for (const [n, rf, parts] of [[3, 3, 12], [5, 2, 10], [6, 3, 30], [1, 1, 4]]) {
      const a = assignReplicas(brokers(n, null), parts, rf, new SeededRandom(seed));
      assert.equal(a.length, parts);
      for (const r of a) assert.equal(new Set(r).size, rf, `seed ${seed}: distinct replicas ${r}`);
      const leaders = counts(a.map((r) => r[0]));
      assert.equal(leaders.size, n, `seed ${seed}: every broker leads some partition`);
      assert.ok(Math.max(...leaders.values()) - Math.min(...leaders.values()) <= 1);
      const all = counts(a.flat());
      assert.ok(Math.max(...all.values()) - Math.min(...all.values()) <= 1, `seed ${seed} n=${n} rf=${rf}: replicas spread ${[...all]}`);
    }
  }
});

test("with racks: each partition's replicas sit in distinct racks while racks last, leaders rotate over racks", () => {
  for (const seed of SEEDS) {
    const bs = brokers(6, 3);
    const rackOf = new Map(bs.map((b) => [b.id, b.rack]));
    const a = assignReplicas(bs, 24, 3, new SeededRandom(seed));
    for (const r of a) assert.equal(new Set(r.map((id) => rackOf.get(id))).size, 3, `seed ${seed}: ${r} spans 3 racks`);
    const leaderRacks = counts(a.map((r) => Number(rackOf.get(r[0])!.slice(1))));
    assert.deepEqual([...leaderRacks.values()], [8, 8, 8]);
    // more replicas than racks: every rack used, the rest spread on distinct brokers
    const b = assignReplicas(brokers(4, 2), 8, 3, new SeededRandom(seed));
    for (const r of b) {
      assert.equal(new Set(r).size, 3);
      assert.equal(new Set(r.map((id) => (id - 100) % 2)).size, 2);
    }
  }
});

test("the same seed gives the same placement; partitions added later continue the leader rotation", () => {
  const bs = brokers(5, 2);
  assert.deepEqual(assignReplicas(bs, 7, 3, new SeededRandom(3)), assignReplicas(bs, 7, 3, new SeededRandom(3)));
  const whole = assignReplicas(bs, 10, 2, new SeededRandom(11));
  const head = assignReplicas(bs, 6, 2, new SeededRandom(11));
  const tail = assignReplicas(bs, 4, 2, new SeededRandom(11), 6);
  assert.deepEqual([...head, ...tail], whole);
});

test("replication factor above the broker count, or below 1, is INVALID_REPLICATION_FACTOR; no partitions is INVALID_PARTITIONS", () => {
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof KafkaError);
      return e.code;
    }
    assert.fail("expected an error");
  };
  assert.equal(code(() => assignReplicas(brokers(2, null), 3, 3, new SeededRandom(1))), ErrorCode.INVALID_REPLICATION_FACTOR);
  assert.equal(code(() => assignReplicas(brokers(3, null), 3, 0, new SeededRandom(1))), ErrorCode.INVALID_REPLICATION_FACTOR);
  assert.equal(code(() => assignReplicas([], 1, 1, new SeededRandom(1))), ErrorCode.INVALID_REPLICATION_FACTOR);
  assert.equal(code(() => assignReplicas(brokers(3, null), 0, 1, new SeededRandom(1))), ErrorCode.INVALID_PARTITIONS);
});

/** The code and message `fn` throws as a KafkaError. */
function kafkaError(fn: () => unknown): [number, string] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof KafkaError, String(e));
    return [e.code, e.message];
  }
  assert.fail("expected an error");
}

test("a manual topic placement is checked in Kafka's order with its messages", () => {
  const three = manualPlacementBrokers([{ nodeId: 1 }, { nodeId: 2 }, { nodeId: 3 }]);
  const p = (partitionIndex: number, ...brokerIds: number[]) => ({ partitionIndex, brokerIds });
  const bad = ErrorCode.INVALID_REPLICA_ASSIGNMENT;
  assert.deepEqual(kafkaError(() => manualTopicPlacement([p(0)], three)), [bad, "The manual partition assignment includes an empty replica list."]);
  // ids in sorted order: the lowest unknown or repeated one is named, whichever comes first
  assert.deepEqual(kafkaError(() => manualTopicPlacement([p(0, 9, 3, 3)], three)), [bad, "The manual partition assignment includes the broker 3 more than once."]);
  assert.deepEqual(kafkaError(() => manualTopicPlacement([p(0, 3, 7, 1, 1)], three)), [bad, "The manual partition assignment includes the broker 1 more than once."]);
  assert.deepEqual(kafkaError(() => manualTopicPlacement([p(0, 3, 0, 8)], three)), [bad, "The manual partition assignment includes broker 0, but no such broker is registered."]);
  assert.deepEqual(kafkaError(() => manualTopicPlacement([p(0, 1, 2), p(1, 3)], three)), [bad, "The manual partition assignment includes a partition with 1 replica(s), but this is not consistent with previous partitions, which have 2 replica(s)."]);
  // in request order: a partition named twice before the hole after it; an unknown broker before the hole
  assert.deepEqual(kafkaError(() => manualTopicPlacement([p(2, 1), p(2, 2)], three)), [bad, "Found multiple manual partition assignments for partition 2"]);
  assert.deepEqual(kafkaError(() => manualTopicPlacement([p(3, 1), p(1, 5)], three)), [bad, "The manual partition assignment includes broker 5, but no such broker is registered."]);
  assert.deepEqual(kafkaError(() => manualTopicPlacement([p(1, 1), p(2, 2)], three)), [bad, "partitions should be a consecutive 0-based integer sequence"]);
  // a good one, listed out of order: by partition index, replicas as named
  assert.deepEqual(manualTopicPlacement([p(1, 2, 3), p(0, 3, 1), p(2, 1, 2)], three), [{ replicas: [3, 1], isr: [3, 1] }, { replicas: [2, 3], isr: [2, 3] }, { replicas: [1, 2], isr: [1, 2] }]);
});

test("a manually placed partition starts with its active replicas in sync, the first of them leading; none active is refused", () => {
  const draining = manualPlacementBrokers([{ nodeId: 1, inControlledShutdown: true }, { nodeId: 2 }, { nodeId: 3, inControlledShutdown: true }]);
  assert.deepEqual(manualTopicPlacement([{ partitionIndex: 0, brokerIds: [1, 3, 2] }], draining), [{ replicas: [1, 3, 2], isr: [2] }]);
  assert.deepEqual(kafkaError(() => manualTopicPlacement([{ partitionIndex: 0, brokerIds: [2] }, { partitionIndex: 1, brokerIds: [3] }], draining)), [ErrorCode.INVALID_REPLICA_ASSIGNMENT, "All brokers specified in the manual partition assignment for partition 1 are fenced or in controlled shutdown."]);
  const states = newTopicStates({ name: "t", idHex: "00", partitions: 2, replicationFactor: 3, assignment: [{ partitionIndex: 0, brokerIds: [3, 2, 1] }, { partitionIndex: 1, brokerIds: [1, 3, 2] }] }, [{ nodeId: 1, brokerEpoch: 5, rack: null, endpoints: [] }, { nodeId: 2, brokerEpoch: 6, rack: null, endpoints: [] }, { nodeId: 3, brokerEpoch: 7, rack: null, endpoints: [], inControlledShutdown: true }], [], new SeededRandom(1));
  assert.deepEqual(states.map((s) => [s.partition, s.leader, s.replicas, s.isr, s.leaderEpoch, s.partitionEpoch]), [[0, 2, [3, 2, 1], [2, 1], 0, 0], [1, 1, [1, 3, 2], [1, 2], 0, 0]]);
  // CreatePartitions: numbered on from the topic's partitions, the topic's replica count required
  const registered = [1, 2, 3].map((nodeId) => ({ nodeId, brokerEpoch: nodeId, rack: null, endpoints: [] }));
  assert.deepEqual(manualPartitionStates("t", [[2, 3]], 2, 4, registered).map((s) => [s.partition, s.leader, s.replicas, s.isr]), [[4, 2, [2, 3], [2, 3]]]);
  assert.deepEqual(kafkaError(() => manualPartitionsPlacement([[2, 3], [1]], 2, 4, manualPlacementBrokers(registered))), [ErrorCode.INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes a partition with 1 replica(s), but this is not consistent with previous partitions, which have 2 replica(s)."]);
});
