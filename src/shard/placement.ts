/**
 * Which shard of a node owns a partition when it is created, or when the shard count changed between runs: a
 * stable function of the topic name and partition index, so consecutive partitions of one topic go to consecutive
 * shards. After that, the owner written in the metadata store (`replicas=[k]`) is what everyone routes by.
 */
import { normalizePlacement } from "../cluster/placement-normalization.ts";
import type { LocalMetadataStore } from "../cluster/metadata-store.ts";

/** 32-bit FNV-1a of a string's UTF-16 code units. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The shard (0 .. count-1) that owns partition `partition` of `topic` in a node of `count` shards. */
export function shardOf(topic: string, partition: number, count: number): number {
  if (!Number.isInteger(count) || count < 1) throw new Error(`shard count ${count} must be an integer >= 1`);
  if (!Number.isInteger(partition) || partition < 0) throw new Error(`partition ${partition} must be a non-negative integer`);
  return (fnv1a(topic) + partition) % count;
}

/** Moves every partition not on its {@link shardOf} owner under `count` shards there (next leader epoch); the count moved. */
export function placeOnShards(store: LocalMetadataStore, count: number): Promise<number> {
  return normalizePlacement(store, (topic, partition) => shardOf(topic, partition, count));
}
