/**
 * The reassignment planner (`runnel cluster reassign` / `drain`): every replica leaves brokers outside the set,
 * load ends within the floor and ceiling of the average, racks stay distinct per partition where possible, few
 * replicas move, and a moved preferred leader is replaced in first place. A seeded walk of random clusters keeps
 * these properties.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { planEvenSpread, type PartitionPlacement } from "../../src/cluster/reassignment-plan.ts";
import { SeededRandom } from "../../src/platform/random.ts";

function apply(placements: PartitionPlacement[], moves: ReturnType<typeof planEvenSpread>): PartitionPlacement[] {
  const out = placements.map((p) => ({ ...p, replicas: [...p.replicas] }));
  for (const m of moves) out.find((p) => p.topic === m.topic && p.partition === m.partition)!.replicas = [...m.replicas];
  return out;
}
const loads = (ps: PartitionPlacement[]) => {
  const m = new Map<number, number>();
  for (const p of ps) for (const r of p.replicas) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
};

test("a fourth broker gets its share: 6 partitions x RF 3 over {1,2,3} spread over {1,2,3,4}, moving only what must", () => {
  const before = Array.from({ length: 6 }, (_, i) => ({ topic: "t", partition: i, replicas: [1 + (i % 3), 1 + ((i + 1) % 3), 1 + ((i + 2) % 3)] }));
  const moves = planEvenSpread([1, 2, 3, 4].map((id) => ({ id, rack: null })), before);
  const after = apply(before, moves);
  const l = loads(after);
  for (const id of [1, 2, 3, 4]) assert.ok(l.get(id)! === 4 || l.get(id)! === 5, `broker ${id} holds ${l.get(id)}`);
  assert.equal(moves.reduce((n, m) => n + m.replicas.filter((r) => !m.current.includes(r)).length, 0), 4, "18 replicas over 4 brokers: 4 move to the new one");
  for (const p of after) assert.equal(new Set(p.replicas).size, 3);
});

test("draining broker 1 moves every replica off it, a moved preferred leader replaced in first place", () => {
  const before = [
    { topic: "t", partition: 0, replicas: [1, 2] },
    { topic: "t", partition: 1, replicas: [2, 1] },
    { topic: "t", partition: 2, replicas: [3, 2] },
  ];
  const moves = planEvenSpread([2, 3].map((id) => ({ id, rack: null })), before);
  const after = apply(before, moves);
  for (const p of after) assert.ok(!p.replicas.includes(1), JSON.stringify(p));
  assert.deepEqual(after[0].replicas, [3, 2], "1 was first: its replacement is first");
  assert.deepEqual(after[1].replicas, [2, 3]);
  assert.equal(moves.length, 2, "partition 2 stays");
});

test("racks: moved replicas go to a rack the partition does not use yet", () => {
  const brokers = [
    { id: 1, rack: "a" },
    { id: 2, rack: "a" },
    { id: 3, rack: "b" },
    { id: 4, rack: "b" },
  ];
  const before = [{ topic: "t", partition: 0, replicas: [1, 3] }, { topic: "t", partition: 1, replicas: [1, 3] }];
  const after = apply(before, planEvenSpread(brokers, before));
  const l = loads(after);
  for (const id of [1, 2, 3, 4]) assert.equal(l.get(id), 1);
  for (const p of after) assert.deepEqual(new Set(p.replicas.map((r) => brokers[r - 1].rack)), new Set(["a", "b"]), JSON.stringify(p));
});

test("seeded random clusters: within floor and ceiling (one rack), no duplicates, no rack diversity lost, nothing left on removed brokers", () => {
  const random = new SeededRandom(1234);
  for (let round = 0; round < 200; round++) {
    const n = 2 + Math.floor(random.float() * 6);
    const racks = 1 + Math.floor(random.float() * 3);
    const brokers = Array.from({ length: n }, (_, i) => ({ id: i + 1, rack: `r${i % racks}` }));
    const rf = 1 + Math.floor(random.float() * Math.min(3, n - 1));
    const before: PartitionPlacement[] = Array.from({ length: 1 + Math.floor(random.float() * 20) }, (_, i) => {
      const ids = brokers.map((b) => b.id).sort(() => random.float() - 0.5);
      return { topic: "t", partition: i, replicas: ids.slice(0, rf) };
    });
    const kept = brokers.filter((b) => b.id !== 1 || random.float() < 0.5);
    const after = apply(before, planEvenSpread(kept, before));
    const l = loads(after);
    const total = after.reduce((s, p) => s + p.replicas.length, 0);
    // with one rack the spread is exact; racks may forbid it (a partition never loses rack diversity)
    if (racks === 1) for (const b of kept) {
      const x = l.get(b.id) ?? 0;
      assert.ok(x >= Math.floor(total / kept.length) && x <= Math.ceil(total / kept.length), `round ${round}: broker ${b.id} holds ${x} of ${total} over ${kept.length}`);
    }
    const rackOf = new Map(brokers.map((b) => [b.id, b.rack]));
    for (let i = 0; i < after.length; i++) {
      const p = after[i];
      assert.equal(new Set(p.replicas).size, rf);
      assert.ok(p.replicas.every((r) => kept.some((b) => b.id === r)), `round ${round}: ${JSON.stringify(p)}`);
      const keptRacks = new Set(kept.map((b) => b.rack)).size;
      const beforeRacks = new Set(before[i].replicas.map((r) => rackOf.get(r))).size;
      assert.ok(new Set(p.replicas.map((r) => rackOf.get(r))).size >= Math.min(beforeRacks, keptRacks, rf), `round ${round}: rack diversity of ${JSON.stringify(p)}`);
    }
  }
});
