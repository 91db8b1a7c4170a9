/**
 * Plans a reassignment that spreads replicas evenly over a set of brokers (`runnel cluster reassign` and
 * `drain`), moving as few replicas as it can: every replica on a broker outside the set moves, then replicas move
 * from heavier to lighter brokers until every broker holds the floor or the ceiling of the average (or no move
 * narrows the spread without making a partition less rack-diverse). A
 * moved replica takes the place of the one it replaces in the replica list (a moved preferred leader is replaced
 * in first place), and goes to the least loaded broker whose rack holds no replica of the partition yet (while
 * such a rack exists; Kafka's rack-aware rule). Pure: brokers and placements are passed in.
 */
import type { PlacementBroker } from "./replica-assignment.ts";

/** One partition's replicas (preferred leader first). */
export interface PartitionPlacement {
  /** Topic name. */
  topic: string;
  /** Partition index. */
  partition: number;
  /** Broker ids. */
  replicas: number[];
}

/** A partition whose replicas the plan changes. */
export interface PlannedMove extends PartitionPlacement {
  /** The replicas it has now. */
  current: number[];
}

/**
 * The moves that spread `placements` over `brokers` (all of them hold replicas afterwards, as evenly as the
 * replica count allows). Throws when a partition has more replicas than there are brokers.
 */
export function planEvenSpread(brokers: readonly PlacementBroker[], placements: readonly PartitionPlacement[]): PlannedMove[] {
  if (brokers.length === 0) throw new Error("no brokers to place replicas on");
  const rackOf = new Map(brokers.map((b) => [b.id, b.rack ?? ""]));
  const rackCount = new Set(rackOf.values()).size;
  const load = new Map(brokers.map((b) => [b.id, 0]));
  const target = placements.map((p) => ({ ...p, replicas: [...p.replicas] }));
  for (const p of target) {
    if (p.replicas.length > brokers.length) throw new Error(`${p.topic}-${p.partition} has ${p.replicas.length} replicas but only ${brokers.length} brokers are left`);
    for (const r of p.replicas) if (load.has(r)) load.set(r, load.get(r)! + 1);
  }
  const total = target.reduce((n, p) => n + p.replicas.length, 0);
  const floor = Math.floor(total / brokers.length);
  const ceil = Math.ceil(total / brokers.length);

  /** The broker that takes a replica of `p` moved off `from`: least loaded, new to the partition, rack-aware. */
  const destination = (p: PartitionPlacement, from: number): number | null => {
    const others = p.replicas.filter((r) => r !== from);
    const usedRacks = new Set(others.map((r) => rackOf.get(r) ?? ""));
    const candidates = [...load.keys()].filter((b) => !others.includes(b) && b !== from);
    const rackFree = candidates.filter((b) => !usedRacks.has(rackOf.get(b)!));
    const pool = rackFree.length > 0 && usedRacks.size < rackCount ? rackFree : candidates;
    pool.sort((a, b) => load.get(a)! - load.get(b)! || a - b);
    return pool[0] ?? null;
  };
  const move = (p: PartitionPlacement, from: number, to: number): void => {
    p.replicas[p.replicas.indexOf(from)] = to;
    if (load.has(from)) load.set(from, load.get(from)! - 1);
    load.set(to, load.get(to)! + 1);
  };

  // 1. replicas on brokers outside the set move
  for (const p of target) {
    for (const r of [...p.replicas]) {
      if (load.has(r)) continue;
      const to = destination(p, r);
      if (to === null) throw new Error(`no broker can take the replica of ${p.topic}-${p.partition} on ${r}`);
      move(p, r, to);
    }
  }
  // 2. from heavier brokers to lighter ones, until all lie within [floor, ceil] or no move helps (racks may forbid)
  const step = (): boolean => {
    const byLoad = [...load.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    if (byLoad[0][1] <= ceil && byLoad[byLoad.length - 1][1] >= floor) return false;
    for (const [heavy, most] of byLoad) {
      for (const p of target) {
        if (!p.replicas.includes(heavy)) continue;
        const to = destination(p, heavy);
        if (to === null || load.get(to)! + 1 >= most) continue; // the move must narrow the spread
        const racksBefore = new Set(p.replicas.map((r) => rackOf.get(r))).size;
        const racksAfter = new Set(p.replicas.map((r) => rackOf.get(r === heavy ? to : r))).size;
        if (racksAfter < racksBefore) continue; // never make a partition less rack-diverse
        move(p, heavy, to);
        return true;
      }
    }
    return false;
  };
  for (let guard = 0; guard < total * brokers.length && step(); guard++);
  const out: PlannedMove[] = [];
  for (let i = 0; i < target.length; i++) {
    const before = placements[i].replicas;
    const after = target[i].replicas;
    if (before.length !== after.length || before.some((r, j) => r !== after[j])) out.push({ ...target[i], current: [...before] });
  }
  return out;
}
