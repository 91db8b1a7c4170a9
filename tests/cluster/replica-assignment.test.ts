/**
 * Replica placement (pure, seeded): distinct replicas per partition, leaders spread evenly, every partition spans
 * as many racks as it can, CreatePartitions continues the spread, the same seed gives the same placement, and a
 * replication factor above the broker count is INVALID_REPLICATION_FACTOR.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { assignReplicas, rackAlternatedOrder, type PlacementBroker } from "../../src/cluster/replica-assignment.ts";
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
