/**
 * Partition-level requests split by owning shard and their answers merged: Produce, ListOffsets, DeleteRecords,
 * OffsetForLeaderEpoch and DescribeProducers name topics and partitions in the same two-level shape, so one
 * description per API (where the lists sit, what a partition's index is called) drives both directions.
 */
import { uuidHex } from "../../protocol/uuid.ts";
import type { ShardRouting } from "./shard-routing.ts";

/** Where the topics and partitions of a partition request sit, in the request and in the answer. */
export interface PartitionShape {
  /** Request field holding the topics. */
  readonly reqTopics: string;
  /** Topic field holding the partitions. */
  readonly reqParts: string;
  /** Partition field holding the index (null: the partitions are bare indexes). */
  readonly reqIndex: string | null;
  /** Response field holding the topics. */
  readonly resTopics: string;
  /** Response topic field holding the partitions. */
  readonly resParts: string;
}

/** The partition requests split by shard, by API key (Fetch has its own path: sessions and long polls). */
export const PARTITION_SHAPES: Readonly<Record<number, PartitionShape>> = {
  0: { reqTopics: "topicData", reqParts: "partitionData", reqIndex: "index", resTopics: "responses", resParts: "partitionResponses" },
  2: { reqTopics: "topics", reqParts: "partitions", reqIndex: "partitionIndex", resTopics: "topics", resParts: "partitions" },
  21: { reqTopics: "topics", reqParts: "partitions", reqIndex: "partitionIndex", resTopics: "topics", resParts: "partitions" },
  23: { reqTopics: "topics", reqParts: "partitions", reqIndex: "partition", resTopics: "topics", resParts: "partitions" },
  61: { reqTopics: "topics", reqParts: "partitionIndexes", reqIndex: null, resTopics: "topics", resParts: "partitions" },
};

/** A topic entry of a request or response: named (`name` or `topic`) or, in newer versions, by id. */
interface TopicEntry {
  name?: string;
  topic?: string;
  topicId?: Uint8Array;
}

/** The topic's name, resolving an id through the metadata (undefined when unknown). */
export function topicNameOf(t: TopicEntry, routing: ShardRouting): string | undefined {
  const named = t.name ?? t.topic;
  if (named !== undefined && named !== "") return named;
  return t.topicId === undefined ? undefined : routing.topicName(uuidHex(t.topicId));
}

/** The key a topic entry merges under: its name, or its id's hex. */
function mergeKey(t: TopicEntry): string {
  const named = t.name ?? t.topic;
  return named !== undefined && named !== "" ? named : t.topicId !== undefined ? uuidHex(t.topicId) : "";
}

/** The one shard owning every partition of `topics` (the home shard for none), or null when they span several. */
export function soleOwner(topics: readonly TopicEntry[], parts: string, index: string | null, routing: ShardRouting): number | null {
  let owner = -1;
  for (const t of topics) {
    const name = topicNameOf(t, routing);
    for (const p of (t as Record<string, unknown>)[parts] as unknown[]) {
      const shard = routing.partitionOwner(name, index === null ? (p as number) : (p as Record<string, number>)[index]);
      if (owner === -1) owner = shard;
      else if (owner !== shard) return null;
    }
  }
  return owner === -1 ? routing.home : owner;
}

/**
 * `topics` split by the shard owning each partition, in request order within each shard; every topic entry is a
 * shallow copy holding only that shard's partitions.
 */
export function splitTopics<T extends TopicEntry>(topics: readonly T[], parts: string, index: string | null, routing: ShardRouting): Map<number, T[]> {
  return splitTopicsByOwner(topics, parts, index, routing).split;
}

/** {@link splitTopics}, and the owner of each partition of each request topic entry (for {@link mergeInRequestOrder}). */
export function splitTopicsByOwner<T extends TopicEntry>(topics: readonly T[], parts: string, index: string | null, routing: ShardRouting): { split: Map<number, T[]>; owners: number[][] } {
  const split = new Map<number, T[]>();
  const owners: number[][] = [];
  for (const t of topics) {
    const name = topicNameOf(t, routing);
    const perShard = new Map<number, T>();
    const topicOwners: number[] = [];
    owners.push(topicOwners);
    for (const p of (t as Record<string, unknown>)[parts] as unknown[]) {
      const idx = index === null ? (p as number) : ((p as Record<string, number>)[index]);
      const shard = routing.partitionOwner(name, idx);
      topicOwners.push(shard);
      let entry = perShard.get(shard);
      if (entry === undefined) {
        entry = { ...t, [parts]: [] };
        perShard.set(shard, entry);
        let list = split.get(shard);
        if (list === undefined) split.set(shard, (list = []));
        list.push(entry);
      }
      ((entry as Record<string, unknown>)[parts] as unknown[]).push(p);
    }
  }
  return { split, owners };
}

/**
 * One answer from the shards' answers to the parts of a split request: topics merged by name (or id), their
 * partitions concatenated, the longest throttle and the first top-level error kept.
 */
export function mergeTopics<R extends Record<string, any>>(answers: readonly R[], resTopics: string, resParts: string): R {
  if (answers.length === 1) return answers[0];
  const merged: Record<string, unknown>[] = [];
  const byKey = new Map<string, Record<string, unknown>>();
  for (const a of answers) {
    for (const t of a[resTopics] as Record<string, unknown>[]) {
      const key = mergeKey(t as TopicEntry);
      const same = byKey.get(key);
      if (same !== undefined) (same[resParts] as unknown[]).push(...(t[resParts] as unknown[]));
      else {
        const copy = { ...t, [resParts]: [...(t[resParts] as unknown[])] };
        byKey.set(key, copy);
        merged.push(copy);
      }
    }
  }
  return { ...mergeTop(answers), [resTopics]: merged };
}

/**
 * One answer from the shards' answers to the parts of a request split by {@link splitTopicsByOwner} (`owners`: the
 * owner of each partition of each request topic entry; `shards[k]` answered `answers[k]`), as one broker answers the whole request: one topic entry per request topic entry and one partition
 * per request partition, both in request order (a topic named by two entries stays two entries). When a shard's
 * answer does not hold one topic per entry it was sent and one partition per partition, in order, the topics are
 * merged by name instead ({@link mergeTopics}).
 */
export function mergeInRequestOrder<R extends Record<string, any>>(owners: readonly (readonly number[])[], shards: readonly number[], answers: readonly R[], resTopics: string, resParts: string): R {
  if (answers.length === 1) return answers[0];
  const at = new Map(shards.map((s, k) => [s, k]));
  const sent = new Map(shards.map((s) => [s, 0]));
  // Each request topic entry's answer topic in each shard's answer.
  const plan: { owners: readonly number[]; entries: Map<number, number> }[] = [];
  for (const topicOwners of owners) {
    const entries = new Map<number, number>();
    for (const shard of topicOwners) {
      if (!entries.has(shard)) {
        const n = sent.get(shard);
        if (n === undefined) return mergeTopics(answers, resTopics, resParts);
        entries.set(shard, n);
        sent.set(shard, n + 1);
      }
    }
    plan.push({ owners: topicOwners, entries });
  }
  for (const [s, n] of sent) if ((answers[at.get(s)!][resTopics] as unknown[]).length !== n) return mergeTopics(answers, resTopics, resParts);
  const taken = answers.map((a) => (a[resTopics] as unknown[]).map(() => 0));
  const merged: Record<string, unknown>[] = [];
  for (const { owners: topicOwners, entries } of plan) {
    const out: unknown[] = [];
    let first: Record<string, unknown> | null = null;
    for (const s of topicOwners) {
      const k = at.get(s)!;
      const e = entries.get(s)!;
      const answered = (answers[k][resTopics] as Record<string, unknown>[])[e];
      first ??= answered;
      const list = answered[resParts] as unknown[];
      if (taken[k][e] >= list.length) return mergeTopics(answers, resTopics, resParts);
      out.push(list[taken[k][e]++]);
    }
    merged.push(first === null ? { [resParts]: [] } : { ...first, [resParts]: out });
  }
  for (const [k, counts] of taken.entries()) {
    const answered = answers[k][resTopics] as Record<string, unknown>[];
    if (counts.some((n, e) => n !== (answered[e][resParts] as unknown[]).length)) return mergeTopics(answers, resTopics, resParts);
  }
  return { ...mergeTop(answers), [resTopics]: merged };
}

/** The first answer with the largest throttle time and the first non-zero top-level error code of all. */
export function mergeTop<R extends Record<string, any>>(answers: readonly R[]): R {
  let throttle = 0;
  let error: number | undefined;
  for (const a of answers) {
    if (typeof a.throttleTimeMs === "number" && a.throttleTimeMs > throttle) throttle = a.throttleTimeMs;
    if (error === undefined && typeof a.errorCode === "number" && a.errorCode !== 0) error = a.errorCode;
  }
  const out: Record<string, any> = { ...answers[0] };
  if (typeof out.throttleTimeMs === "number") out.throttleTimeMs = throttle;
  if (error !== undefined) out.errorCode = error;
  return out as R;
}
