/**
 * Partition assignors the group leader runs, named as in the Java client so mixed groups agree on a protocol:
 * `range` (per topic, consecutive ranges to members sorted by id; eager rebalancing) and `cooperative-sticky`
 * (keeps partitions where they are, balances counts to within one, and under the cooperative protocol never
 * hands a partition to a new owner in the same rebalance that takes it from the old one).
 */

/** A topic partition. */
export interface TopicPartition {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
}

/** One member as the leader sees it in JoinGroup. */
export interface MemberSubscription {
  /** Member id. */
  memberId: string;
  /** Topics it subscribes to. */
  topics: readonly string[];
  /** Partitions it owns now (cooperative protocol; empty otherwise). */
  owned: readonly TopicPartition[];
  /** Generation in which it owned them, or -1. */
  generation: number;
}

/** A partition assignor. */
export interface Assignor {
  /** Protocol name in JoinGroup. */
  readonly name: string;
  /** Whether it supports the cooperative rebalance protocol. */
  readonly cooperative: boolean;
  /** Assigns partitions (`partitionCounts`: partitions per topic) to members; every member gets an entry. */
  assign(members: readonly MemberSubscription[], partitionCounts: ReadonlyMap<string, number>): Map<string, TopicPartition[]>;
}

/** Most single-partition moves the sticky balancer makes (bounds the work of one assignment). */
const MAX_BALANCE_MOVES = 1_000_000;

function byId(a: { memberId: string }, b: { memberId: string }): number {
  return a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0;
}

function tpKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

function sortPartitions(list: TopicPartition[]): TopicPartition[] {
  return list.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

/** The range assignor: for each topic, member i (sorted by id) gets a consecutive range, the first ones one extra. */
export const rangeAssignor: Assignor = {
  name: "range",
  cooperative: false,
  assign(members, partitionCounts) {
    const out = new Map<string, TopicPartition[]>();
    for (const m of members) out.set(m.memberId, []);
    const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
    for (const topic of topics) {
      const n = partitionCounts.get(topic) ?? 0;
      if (n <= 0) continue;
      const consumers = members.filter((m) => m.topics.includes(topic)).sort(byId);
      const per = Math.floor(n / consumers.length);
      const extra = n % consumers.length;
      for (let i = 0; i < consumers.length; i++) {
        const start = per * i + Math.min(i, extra);
        const length = per + (i < extra ? 1 : 0);
        const list = out.get(consumers[i].memberId)!;
        for (let p = start; p < start + length; p++) list.push({ topic, partition: p });
      }
    }
    return out;
  },
};

/**
 * The cooperative sticky assignor. Valid owned partitions stay (the highest generation wins a conflict), free ones
 * go to the eligible member with the fewest, then partitions move from the fullest to the emptiest eligible
 * members until counts differ by at most one where subscriptions allow. Finally, a partition whose owner changes is
 * left out this round: its old owner revokes it and rejoins, and the next rebalance hands it over.
 */
export const cooperativeStickyAssignor: Assignor = {
  name: "cooperative-sticky",
  cooperative: true,
  assign(members, partitionCounts) {
    const sorted = [...members].sort(byId);
    const owner = new Map<string, string>(); // tp -> member
    const ownerGeneration = new Map<string, number>();
    const assigned = new Map<string, TopicPartition[]>();
    const subscribed = new Map<string, Set<string>>();
    for (const m of sorted) {
      assigned.set(m.memberId, []);
      subscribed.set(m.memberId, new Set(m.topics));
    }
    // 1. Keep valid owned partitions; on a conflict the higher generation keeps it.
    for (const m of sorted) {
      for (const tp of m.owned) {
        const n = partitionCounts.get(tp.topic) ?? 0;
        if (!subscribed.get(m.memberId)!.has(tp.topic) || tp.partition < 0 || tp.partition >= n) continue;
        const k = tpKey(tp.topic, tp.partition);
        const prev = owner.get(k);
        if (prev !== undefined && (ownerGeneration.get(k) ?? -1) >= m.generation) continue;
        owner.set(k, m.memberId);
        ownerGeneration.set(k, m.generation);
      }
    }
    const previousOwner = new Map(owner);
    for (const [k, memberId] of owner) {
      const sep = k.lastIndexOf("\u0000");
      assigned.get(memberId)!.push({ topic: k.slice(0, sep), partition: Number(k.slice(sep + 1)) });
    }
    // 2. Hand out free partitions to the eligible member with the fewest.
    const topics = [...new Set(sorted.flatMap((m) => m.topics))].sort();
    for (const topic of topics) {
      const n = partitionCounts.get(topic) ?? 0;
      const eligible = sorted.filter((m) => subscribed.get(m.memberId)!.has(topic));
      for (let p = 0; p < n; p++) {
        const k = tpKey(topic, p);
        if (owner.has(k)) continue;
        let best = eligible[0];
        for (const m of eligible) if (assigned.get(m.memberId)!.length < assigned.get(best.memberId)!.length) best = m;
        owner.set(k, best.memberId);
        assigned.get(best.memberId)!.push({ topic, partition: p });
      }
    }
    // 3. Balance: move one partition at a time from a fuller member to an eligible member with at least two fewer.
    for (let moves = 0; moves < MAX_BALANCE_MOVES; moves++) {
      let moved = false;
      const order = [...sorted].sort((a, b) => assigned.get(b.memberId)!.length - assigned.get(a.memberId)!.length || byId(a, b));
      outer: for (const from of order) {
        const fromList = assigned.get(from.memberId)!;
        for (let i = fromList.length - 1; i >= 0; i--) {
          const tp = fromList[i];
          let target: MemberSubscription | null = null;
          for (const to of sorted) {
            if (to === from || !subscribed.get(to.memberId)!.has(tp.topic)) continue;
            const toCount = assigned.get(to.memberId)!.length;
            if (toCount + 1 < fromList.length && (target === null || toCount < assigned.get(target.memberId)!.length)) target = to;
          }
          if (target !== null) {
            fromList.splice(i, 1);
            assigned.get(target.memberId)!.push(tp);
            owner.set(tpKey(tp.topic, tp.partition), target.memberId);
            moved = true;
            break outer;
          }
        }
      }
      if (!moved) break;
    }
    // 4. Cooperative: withhold partitions that change owner until their old owner has revoked them.
    const out = new Map<string, TopicPartition[]>();
    for (const m of sorted) {
      const list = assigned.get(m.memberId)!.filter((tp) => {
        const prev = previousOwner.get(tpKey(tp.topic, tp.partition));
        return prev === undefined || prev === m.memberId;
      });
      out.set(m.memberId, sortPartitions(list));
    }
    return out;
  },
};

/** Assignors by protocol name. */
export const ASSIGNORS: ReadonlyMap<string, Assignor> = new Map([
  [rangeAssignor.name, rangeAssignor],
  [cooperativeStickyAssignor.name, cooperativeStickyAssignor],
]);

/** Resolves `partition.assignment.strategy` names (e.g. "range", "cooperative-sticky") to assignors. */
export function assignorsByName(names: readonly string[]): Assignor[] {
  if (names.length === 0) throw new RangeError("partition.assignment.strategy is empty");
  return names.map((n) => {
    const short = n.replace(/^org\.apache\.kafka\.clients\.consumer\./, "");
    const a = ASSIGNORS.get(short) ?? ASSIGNORS.get(short === "RangeAssignor" ? "range" : short === "CooperativeStickyAssignor" ? "cooperative-sticky" : short);
    if (a === undefined) throw new RangeError(`unknown partition assignment strategy '${n}' (known: ${[...ASSIGNORS.keys()].join(", ")})`);
    return a;
  });
}
