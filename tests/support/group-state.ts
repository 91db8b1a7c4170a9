/**
 * What a test reads of a node's groups and transactions, over the wire (DescribeGroups, OffsetFetch, ListGroups,
 * ConsumerGroupDescribe, DescribeTransactions) instead of from the in-process coordinators: the same test then runs
 * against a single broker and against a sharded node, whose coordinators live in shard threads. Each call opens
 * its own connection and asks again while the coordinator loads.
 */
import { RawClient } from "./raw-client.ts";
import { testShards } from "./broker-process.ts";

/** Whether `startTestBroker` gives an in-process `Broker` whose coordinators a test may read (else a sharded node: RUNNEL_TEST_SHARDS). */
export const IN_PROCESS = testShards() === 1;

async function ask<T>(port: number, apiKey: number, version: number, body: unknown, errorOf: (r: T) => number): Promise<T> {
  const c = await RawClient.connect(port);
  try {
    return await c.requestWhileCoordinatorLoads<T>(apiKey, version, body, errorOf);
  } finally {
    c.close();
  }
}

/** A classic group as DescribeGroups (v5) tells it: state (`Dead` when unknown), protocol (the assignor) and members. */
export async function describeGroup(port: number, groupId: string): Promise<{ state: string; protocolData: string; members: { memberId: string; groupInstanceId: string | null; clientHost: string }[] }> {
  const r = await ask<any>(port, 15, 5, { groups: [groupId], includeAuthorizedOperations: false }, (r) => r.groups[0].errorCode);
  const g = r.groups[0];
  if (g.errorCode !== 0) throw new Error(`DescribeGroups ${groupId}: error ${g.errorCode}`);
  return { state: g.groupState, protocolData: g.protocolData, members: g.members };
}

/** The state of group `groupId` (classic or consumer) as ListGroups (v5) tells it, or `Dead` when it is not listed. */
export async function groupState(port: number, groupId: string): Promise<string> {
  return (await listGroups(port)).find((g) => g.groupId === groupId)?.state ?? "Dead";
}

/** Every group, with its state and type (`classic` or `consumer`), by ListGroups (v5). */
export async function listGroups(port: number): Promise<{ groupId: string; state: string; type: string }[]> {
  const r = await ask<any>(port, 16, 5, { statesFilter: [], typesFilter: [] }, (r) => r.errorCode);
  return r.groups.map((g: { groupId: string; groupState: string; groupType: string }) => ({ groupId: g.groupId, state: g.groupState, type: g.groupType }));
}

/** The committed offset (-1 when none) of each of `partitions` of `topic` for `groupId`, by OffsetFetch (v7). */
export async function committedOffsets(port: number, groupId: string, topic: string, partitions: readonly number[]): Promise<bigint[]> {
  const r = await ask<any>(port, 9, 7, { groupId, topics: [{ name: topic, partitionIndexes: partitions }], requireStable: false }, (r) => r.errorCode);
  if (r.errorCode !== 0) throw new Error(`OffsetFetch ${groupId}: error ${r.errorCode}`);
  const byIndex = new Map<number, bigint>(r.topics[0].partitions.map((p: { partitionIndex: number; committedOffset: bigint }) => [p.partitionIndex, p.committedOffset]));
  return partitions.map((p) => byIndex.get(p)!);
}

/**
 * Whether `groupId` has a transactional offset commit pending on `topic`-`partition` (a transaction that committed
 * offsets and has not ended): OffsetFetch (v7) with require_stable answers UNSTABLE_OFFSET_COMMIT for it.
 */
export async function hasPendingTransactionalOffset(port: number, groupId: string, topic: string, partition: number): Promise<boolean> {
  const r = await ask<any>(port, 9, 7, { groupId, topics: [{ name: topic, partitionIndexes: [partition] }], requireStable: true }, (r) => r.errorCode);
  const code = r.errorCode !== 0 ? r.errorCode : r.topics[0].partitions[0].errorCode;
  if (code !== 0 && code !== UNSTABLE_OFFSET_COMMIT) throw new Error(`OffsetFetch ${groupId}: error ${code}`);
  return code === UNSTABLE_OFFSET_COMMIT;
}
const UNSTABLE_OFFSET_COMMIT = 88;

/** A consumer (KIP-848) group as ConsumerGroupDescribe (v0) tells it. */
export async function describeConsumerGroup(port: number, groupId: string): Promise<{ state: string; members: { memberId: string; subscribedTopicRegex: string | null }[] }> {
  const r = await ask<any>(port, 69, 0, { groupIds: [groupId], includeAuthorizedOperations: false }, (r) => r.groups[0].errorCode);
  const g = r.groups[0];
  if (g.errorCode !== 0) throw new Error(`ConsumerGroupDescribe ${groupId}: error ${g.errorCode}`);
  return { state: g.groupState, members: g.members };
}

/** Transaction `transactionalId` as DescribeTransactions (v0) tells it. */
export async function describeTransaction(port: number, transactionalId: string): Promise<{ state: string; producerId: bigint; producerEpoch: number; topics: { topic: string; partitions: number[] }[] }> {
  const r = await ask<any>(port, 65, 0, { transactionalIds: [transactionalId] }, (r) => r.transactionStates[0].errorCode);
  const t = r.transactionStates[0];
  if (t.errorCode !== 0) throw new Error(`DescribeTransactions ${transactionalId}: error ${t.errorCode}`);
  return { state: t.transactionState, producerId: t.producerId, producerEpoch: t.producerEpoch, topics: t.topics.map((x: { topic: string; partitions: number[] }) => ({ topic: x.topic, partitions: x.partitions })) };
}

/**
 * Partition `topic`-`partition` as a read_committed consumer sees it, by Fetch (v12, from offset 0, no wait): the
 * high watermark, the last stable offset and how many aborted transactions the answer lists.
 */
export async function readCommittedView(port: number, topic: string, partition: number): Promise<{ highWatermark: bigint; lastStableOffset: bigint; abortedTransactions: number }> {
  const c = await RawClient.connect(port);
  try {
    const r = await c.request(1, 12, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 8 << 20, isolationLevel: 1, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 8 << 20 }] }], forgottenTopicsData: [], rackId: "",
    });
    const p = r.responses[0].partitions[0];
    if (p.errorCode !== 0) throw new Error(`Fetch ${topic}-${partition}: error ${p.errorCode}`);
    return { highWatermark: p.highWatermark, lastStableOffset: p.lastStableOffset, abortedTransactions: (p.abortedTransactions ?? []).length };
  } finally {
    c.close();
  }
}

/** Polls `cond` until it holds; fails naming `what` after `timeoutMs`. */
export async function waitFor(cond: () => Promise<boolean>, timeoutMs: number, what: string | (() => Promise<string> | string)): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === "string" ? what : await what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
