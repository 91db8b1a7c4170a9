/**
 * What a test reads of a node's topics over the wire (Metadata, DescribeConfigs) instead of from the in-process
 * broker's topic table: the same test then runs against a single broker and a sharded node.
 */
import { RawClient } from "./raw-client.ts";

const UNKNOWN_TOPIC_OR_PARTITION = 3;
/** DescribeConfigs config source of a topic's own setting (an override). */
const TOPIC_CONFIG = 1;

/** What Metadata (v12) tells of `topic`: its id, partition count and whether it is internal; null when the node has no such topic. */
export async function topicMetadata(port: number, topic: string): Promise<{ id: Uint8Array; partitions: number; internal: boolean } | null> {
  const c = await RawClient.connect(port);
  try {
    const r = await c.request(3, 12, { topics: [{ name: topic, topicId: new Uint8Array(16) }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    const t = r.topics[0];
    if (t.errorCode === UNKNOWN_TOPIC_OR_PARTITION) return null;
    if (t.errorCode !== 0) throw new Error(`Metadata ${topic}: error ${t.errorCode}`);
    return { id: new Uint8Array(t.topicId), partitions: t.partitions.length, internal: t.isInternal };
  } finally {
    c.close();
  }
}

/** The partition count of `topic` (Metadata v12), or null when the node has no such topic. */
export async function topicPartitionCount(port: number, topic: string): Promise<number | null> {
  return (await topicMetadata(port, topic))?.partitions ?? null;
}

/** The value of config `key` in force for `topic`, from whatever source (DescribeConfigs v4). */
export async function topicConfigValue(port: number, topic: string, key: string): Promise<string | null | undefined> {
  return (await describedTopicConfig(port, topic, key))?.value;
}

/** The value `topic` sets for config `key` itself (DescribeConfigs v4, source TOPIC_CONFIG), or undefined when it does not. */
export async function topicOverride(port: number, topic: string, key: string): Promise<string | undefined> {
  const entry = await describedTopicConfig(port, topic, key);
  return entry !== undefined && entry.configSource === TOPIC_CONFIG ? (entry.value ?? undefined) : undefined;
}

/** Config `key` of `topic` as DescribeConfigs v4 describes it, or undefined when it is not listed. */
async function describedTopicConfig(port: number, topic: string, key: string): Promise<{ value: string | null; configSource: number } | undefined> {
  const c = await RawClient.connect(port);
  try {
    const r = await c.request(32, 4, { resources: [{ resourceType: 2, resourceName: topic, configurationKeys: [key] }], includeSynonyms: false, includeDocumentation: false });
    const res = r.results[0];
    if (res.errorCode !== 0) throw new Error(`DescribeConfigs ${topic}: error ${res.errorCode}`);
    return res.configs.find((e: { name: string }) => e.name === key);
  } finally {
    c.close();
  }
}

/** The log end offset (high watermark) of `topic`-`partition` by ListOffsets (v7, latest), instead of the in-process log's. */
export async function logEndOffset(port: number, topic: string, partition = 0): Promise<bigint> {
  const c = await RawClient.connect(port);
  try {
    const r = await c.request(2, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1n }] }] });
    const p = r.topics[0].partitions[0];
    if (p.errorCode !== 0) throw new Error(`ListOffsets ${topic}-${partition}: error ${p.errorCode}`);
    return p.offset;
  } finally {
    c.close();
  }
}

/** The record batches of `topic`-`partition` from `offset` as a Fetch (v12) serves them, as stored. */
export async function fetchStored(port: number, topic: string, partition = 0, offset = 0n): Promise<Uint8Array> {
  const c = await RawClient.connect(port);
  try {
    const r = await c.request(1, 12, {
      replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 26, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 26 }] }],
      forgottenTopicsData: [], rackId: "",
    });
    const p = r.responses[0].partitions[0];
    if (p.errorCode !== 0) throw new Error(`Fetch ${topic}-${partition}: error ${p.errorCode}`);
    return p.records as Uint8Array;
  } finally {
    c.close();
  }
}
