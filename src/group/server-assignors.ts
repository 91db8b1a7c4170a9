/**
 * Server-side partition assignors of KIP-848 consumer groups (`group.consumer.assignors`): `uniform` and `range`.
 * Both are deterministic (members and topics are visited in sorted order) and sticky: a member keeps the partitions
 * of its previous target assignment as long as it still subscribes to them and the balance allows it.
 *
 * - `uniform` spreads all partitions of all subscribed topics as evenly as possible over the members (each member
 *   only receives partitions of topics it subscribes to), like Kafka's UniformAssignor.
 * - `range` assigns, topic by topic, contiguous shares of the partitions to the members subscribed to that topic;
 *   the first `partitions % members` members (by member id) get one more, like Kafka's server-side RangeAssignor.
 */
import type { TopicPartitionsById } from "./consumer-group-records.ts";

/** One member as an assignor sees it. */
export interface AssignorMember {
  /** Member id. */
  memberId: string;
  /** Ids (hex) of the topics the member subscribes to that exist. */
  subscribedTopicIds: ReadonlySet<string>;
  /** The member's previous target assignment. */
  previous: TopicPartitionsById;
}

/** What an assignor assigns: members and the partition counts of the subscribed topics (by id hex). */
export interface AssignmentSpec {
  /** Members. */
  members: readonly AssignorMember[];
  /** Partition count by topic id hex. */
  topics: ReadonlyMap<string, number>;
  /** Topic name by id hex (for a stable order by name). */
  topicNames: ReadonlyMap<string, string>;
}

/** A server-side assignor. */
export interface ServerAssignor {
  /** Its name (`group.consumer.assignors`, ConsumerGroupHeartbeat `serverAssignor`). */
  readonly name: string;
  /** The new target assignment of every member. */
  assign(spec: AssignmentSpec): Map<string, TopicPartitionsById>;
}

/** The built-in assignors by name, in Kafka's default order (the first is the default). */
export const BUILTIN_ASSIGNORS: readonly ServerAssignor[] = [
  { name: "uniform", assign: assignUniform },
  { name: "range", assign: assignRange },
];

/** Looks up a built-in assignor. */
export function assignorByName(name: string): ServerAssignor | undefined {
  return BUILTIN_ASSIGNORS.find((a) => a.name === name);
}

function sortedMembers(spec: AssignmentSpec): AssignorMember[] {
  return [...spec.members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
}

function sortedTopics(spec: AssignmentSpec, ids: Iterable<string>): string[] {
  const name = (id: string) => spec.topicNames.get(id) ?? id;
  return [...ids].sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : a < b ? -1 : 1));
}

function add(out: TopicPartitionsById, topicId: string, partition: number): void {
  let s = out.get(topicId);
  if (s === undefined) {
    s = new Set();
    out.set(topicId, s);
  }
  s.add(partition);
}

/** Kafka's uniform assignor: balanced over all subscribed partitions, sticky, heterogeneous subscriptions allowed. */
export function assignUniform(spec: AssignmentSpec): Map<string, TopicPartitionsById> {
  const members = sortedMembers(spec);
  const result = new Map<string, TopicPartitionsById>();
  const count = new Map<string, number>();
  for (const m of members) {
    result.set(m.memberId, new Map());
    count.set(m.memberId, 0);
  }
  if (members.length === 0) return result;
  // Subscribers per topic.
  const subscribers = new Map<string, AssignorMember[]>();
  for (const m of members) {
    for (const t of m.subscribedTopicIds) {
      if (!spec.topics.has(t)) continue;
      let l = subscribers.get(t);
      if (l === undefined) subscribers.set(t, (l = []));
      l.push(m);
    }
  }
  const topics = sortedTopics(spec, subscribers.keys());
  let total = 0;
  for (const t of topics) total += spec.topics.get(t)!;
  const homogeneous = [...subscribers.values()].every((l) => l.length === members.length);
  // With identical subscriptions the quota is exact: floor(total/members), the first `extra` keepers get one more.
  const minQuota = Math.floor(total / members.length);
  let extra = total % members.length;
  const owner = new Map<string, string>(); // "topic:partition" -> member
  // 1. Keep previous partitions (still subscribed, still existing) up to the quota.
  for (const m of members) {
    const keep: [string, number][] = [];
    for (const t of sortedTopics(spec, m.previous.keys())) {
      const n = spec.topics.get(t);
      if (n === undefined || !m.subscribedTopicIds.has(t)) continue;
      for (const p of [...m.previous.get(t)!].sort((a, b) => a - b)) if (p < n) keep.push([t, p]);
    }
    let limit = keep.length;
    if (homogeneous) {
      limit = Math.min(keep.length, minQuota);
      if (keep.length > minQuota && extra > 0) {
        limit++;
        extra--;
      }
    }
    for (let i = 0; i < limit; i++) {
      const [t, p] = keep[i];
      const key = `${t}:${p}`;
      if (owner.has(key)) continue;
      owner.set(key, m.memberId);
      add(result.get(m.memberId)!, t, p);
      count.set(m.memberId, count.get(m.memberId)! + 1);
    }
  }
  // 2. Assign the rest, topics with the fewest subscribers first, each partition to the least loaded subscriber.
  const order = [...topics].sort((a, b) => subscribers.get(a)!.length - subscribers.get(b)!.length);
  for (const t of order) {
    const subs = subscribers.get(t)!;
    const n = spec.topics.get(t)!;
    for (let p = 0; p < n; p++) {
      const key = `${t}:${p}`;
      if (owner.has(key)) continue;
      let best = subs[0];
      for (const s of subs) if (count.get(s.memberId)! < count.get(best.memberId)!) best = s;
      owner.set(key, best.memberId);
      add(result.get(best.memberId)!, t, p);
      count.set(best.memberId, count.get(best.memberId)! + 1);
    }
  }
  const move = (from: string, to: string, t: string, p: number) => {
    const held = result.get(from)!.get(t)!;
    held.delete(p);
    if (held.size === 0) result.get(from)!.delete(t);
    add(result.get(to)!, t, p);
    owner.set(`${t}:${p}`, to);
    count.set(from, count.get(from)! - 1);
    count.set(to, count.get(to)! + 1);
  };
  // 3. Balance: move partitions from a member to a subscriber holding at least two fewer.
  for (let moved = true; moved; ) {
    moved = false;
    for (const t of order) {
      const subs = subscribers.get(t)!;
      if (subs.length < 2) continue;
      const n = spec.topics.get(t)!;
      for (let p = n - 1; p >= 0; p--) {
        const from = owner.get(`${t}:${p}`)!;
        let to: AssignorMember | null = null;
        for (const s of subs) {
          if (count.get(s.memberId)! + 1 < count.get(from)! && (to === null || count.get(s.memberId)! < count.get(to.memberId)!)) to = s;
        }
        if (to === null) continue;
        move(from, to.memberId, t, p);
        moved = true;
      }
    }
  }
  // 4. Balance along chains: with overlapping subscriptions a member may hold two more than another that can take
  // none of its topics, while a third member subscribes to both. Move one partition down each link of a shortest
  // chain of members, each taking a partition of a topic it subscribes to from the one before, until no member holds
  // two more than one it can reach. Each move lowers the sum of squared counts by at least 2 (asserted), and at most
  // `total` chains are moved (each moves one partition off a most loaded member): a bound on the work per target.
  let squares = 0;
  for (const c of count.values()) squares += c * c;
  for (let moves = 0; moves < total; moves++) {
    const chain = unbalancedChain(members, subscribers, result, count);
    if (chain === null) break;
    for (const link of chain) move(link.from, link.to, link.topic, link.partition);
    let after = 0;
    for (const c of count.values()) after += c * c;
    if (after > squares - 2) throw new Error(`uniform assignor: a chain move did not improve the balance (${squares} -> ${after})`);
    squares = after;
  }
  return result;
}

/** One link of a balancing chain: `partition` of `topic` goes from member `from` to member `to`. */
interface ChainLink {
  from: string;
  to: string;
  topic: string;
  partition: number;
}

/**
 * A chain from a member to one holding at least two fewer partitions, each link a partition the giver holds of a
 * topic the taker subscribes to; null when there is none. Searched breadth first from all members of the highest
 * count at once, then of each lower count, over members and topics (each topic's subscribers are scanned once per
 * search). Sources, topics and takers are visited in member-id and insertion order; a link gives the giver's highest
 * partition of the topic.
 */
function unbalancedChain(
  members: readonly AssignorMember[],
  subscribers: ReadonlyMap<string, AssignorMember[]>,
  result: ReadonlyMap<string, TopicPartitionsById>,
  count: ReadonlyMap<string, number>,
): ChainLink[] | null {
  const levels = [...new Set(count.values())].sort((a, b) => b - a);
  for (const level of levels) {
    const reach = level - 2;
    if (reach < 0 || levels.at(-1)! > reach) break;
    // taker -> [giver, topic] of the link that reached it (null: a source).
    const via = new Map<string, [string, string] | null>();
    const queue: string[] = [];
    for (const m of members) {
      if (count.get(m.memberId) !== level) continue;
      via.set(m.memberId, null);
      queue.push(m.memberId);
    }
    const topicSeen = new Set<string>();
    for (let head = 0; head < queue.length; head++) {
      const from = queue[head];
      for (const [t, parts] of result.get(from)!) {
        if (parts.size === 0 || topicSeen.has(t)) continue;
        topicSeen.add(t);
        for (const taker of subscribers.get(t)!) {
          if (via.has(taker.memberId)) continue;
          via.set(taker.memberId, [from, t]);
          if (count.get(taker.memberId)! <= reach) {
            const chain: ChainLink[] = [];
            for (let to = taker.memberId, link = via.get(to)!; link !== null; to = link[0], link = via.get(to)!) {
              chain.unshift({ from: link[0], to, topic: link[1], partition: Math.max(...result.get(link[0])!.get(link[1])!) });
            }
            return chain;
          }
          queue.push(taker.memberId);
        }
      }
    }
  }
  return null;
}

/** Kafka's server-side range assignor: per topic, contiguous shares in member-id order, sticky within quota. */
export function assignRange(spec: AssignmentSpec): Map<string, TopicPartitionsById> {
  const members = sortedMembers(spec);
  const result = new Map<string, TopicPartitionsById>();
  for (const m of members) result.set(m.memberId, new Map());
  const topicIds = new Set<string>();
  for (const m of members) for (const t of m.subscribedTopicIds) if (spec.topics.has(t)) topicIds.add(t);
  for (const t of sortedTopics(spec, topicIds)) {
    const n = spec.topics.get(t)!;
    const subs = members.filter((m) => m.subscribedTopicIds.has(t));
    const quota = Math.floor(n / subs.length);
    const extra = n % subs.length;
    const taken = new Set<number>();
    const need = new Map<string, number>();
    subs.forEach((m, i) => need.set(m.memberId, quota + (i < extra ? 1 : 0)));
    // Sticky: keep previous partitions of this topic within the member's share.
    for (const m of subs) {
      const prev = [...(m.previous.get(t) ?? [])].filter((p) => p < n).sort((a, b) => a - b);
      for (const p of prev) {
        if (need.get(m.memberId)! === 0 || taken.has(p)) continue;
        taken.add(p);
        add(result.get(m.memberId)!, t, p);
        need.set(m.memberId, need.get(m.memberId)! - 1);
      }
    }
    let next = 0;
    for (const m of subs) {
      while (need.get(m.memberId)! > 0) {
        while (taken.has(next)) next++;
        taken.add(next);
        add(result.get(m.memberId)!, t, next);
        need.set(m.memberId, need.get(m.memberId)! - 1);
      }
    }
  }
  return result;
}
