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
  const split = new Map<number, T[]>();
  for (const t of topics) {
    const name = topicNameOf(t, routing);
    const perShard = new Map<number, T>();
    for (const p of (t as Record<string, unknown>)[parts] as unknown[]) {
      const idx = index === null ? (p as number) : ((p as Record<string, number>)[index]);
      const shard = routing.partitionOwner(name, idx);
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
  return split;
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
