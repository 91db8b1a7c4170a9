/**
 * ListOffsets for the consumer and the admin client: earliest, latest or by-timestamp offsets of partitions,
 * asked of each partition's leader, with metadata refresh and back-off on retriable errors.
 */
import { ErrorCode, KafkaError, errorName, isRetriable } from "../protocol/errors.ts";
import { ApiKey } from "../protocol/generated/index.ts";
import type { ListOffsetsRequest, ListOffsetsResponse } from "../protocol/generated/02_list_offsets.ts";
import { ClientTimeoutError } from "./client-errors.ts";
import type { Cluster } from "./cluster-metadata.ts";

/** ListOffsets timestamp meaning "the log end offset". */
export const LATEST_TIMESTAMP = -1n;
/** ListOffsets timestamp meaning "the log start offset". */
export const EARLIEST_TIMESTAMP = -2n;
/** Most rounds of retries one ListOffsets call makes. */
const MAX_LIST_OFFSETS_ROUNDS = 20;

/** A partition and the timestamp to look up (-1 latest, -2 earliest, or ms). */
export interface OffsetQuery {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** Timestamp spec. */
  timestamp: bigint;
}

/** The answer for one {@link OffsetQuery}. */
export interface OffsetAnswer {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** The offset (-1 when no record has a timestamp at or after the one asked). */
  offset: bigint;
  /** Timestamp of that record (-1 for earliest/latest). */
  timestamp: bigint;
}

/**
 * Looks up offsets; answers are in the order of `queries`. A partition asked more than once (say earliest and
 * latest) is asked in separate requests, since one request may name a partition only once. Throws for
 * non-retriable errors.
 */
export async function listOffsets(cluster: Cluster, queries: readonly OffsetQuery[], isolationLevel = 0, timeoutMs = 30_000): Promise<OffsetAnswer[]> {
  const waves: OffsetQuery[][] = [];
  const slot: { wave: number; index: number }[] = [];
  const seen = new Map<string, number>();
  for (const q of queries) {
    const k = `${q.topic}\u0000${q.partition}`;
    const w = seen.get(k) ?? 0;
    seen.set(k, w + 1);
    if (w === waves.length) waves.push([]);
    slot.push({ wave: w, index: waves[w].length });
    waves[w].push(q);
  }
  const answers: OffsetAnswer[][] = [];
  for (const wave of waves) answers.push(await listOffsetsOnce(cluster, wave, isolationLevel, timeoutMs));
  return slot.map((s) => answers[s.wave][s.index]);
}

/** {@link listOffsets} for queries that name each partition at most once. */
async function listOffsetsOnce(cluster: Cluster, queries: readonly OffsetQuery[], isolationLevel: number, timeoutMs: number): Promise<OffsetAnswer[]> {
  const answers = new Map<string, OffsetAnswer>();
  const key = (t: string, p: number) => `${t}\u0000${p}`;
  let pending = [...queries];
  const deadline = cluster.clock.monotonicMs() + timeoutMs;
  let lastError = "";
  for (let round = 0; round < MAX_LIST_OFFSETS_ROUNDS && pending.length > 0; round++) {
    if (round > 0) {
      if (cluster.clock.monotonicMs() >= deadline) break;
      await cluster.sleep(cluster.backoff.backoffMs(round - 1));
      await cluster.refresh(pending.map((q) => q.topic)).catch(() => {});
    }
    for (const q of pending) if (!cluster.topics.has(q.topic)) await cluster.waitForTopic(q.topic, Math.max(0, deadline - cluster.clock.monotonicMs()));
    const byLeader = new Map<number, OffsetQuery[]>();
    const retry: OffsetQuery[] = [];
    for (const q of pending) {
      const t = cluster.topics.get(q.topic)!;
      if (q.partition < 0 || q.partition >= t.partitions.length) {
        throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `partition ${q.partition} of topic '${q.topic}' does not exist`);
      }
      const leader = t.partitions[q.partition].leader;
      if (leader < 0) {
        retry.push(q);
        continue;
      }
      let list = byLeader.get(leader);
      if (list === undefined) byLeader.set(leader, (list = []));
      list.push(q);
    }
    await Promise.all(
      [...byLeader].map(async ([leader, qs]) => {
        const byTopic = new Map<string, { partitionIndex: number; currentLeaderEpoch: number; timestamp: bigint }[]>();
        for (const q of qs) {
          let l = byTopic.get(q.topic);
          if (l === undefined) byTopic.set(q.topic, (l = []));
          l.push({ partitionIndex: q.partition, currentLeaderEpoch: -1, timestamp: q.timestamp });
        }
        const req: ListOffsetsRequest = {
          replicaId: -1,
          isolationLevel,
          topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
          timeoutMs,
        };
        let res: ListOffsetsResponse;
        try {
          const ch = await cluster.channel(leader);
          res = await ch.request<ListOffsetsResponse>(ApiKey.ListOffsets, req);
        } catch (e) {
          if (e instanceof KafkaError && isRetriable(e.code)) {
            lastError = e.message;
            cluster.requestRefresh();
            retry.push(...qs);
            return;
          }
          throw e;
        }
        const got = new Map<string, ListOffsetsResponse["topics"][number]["partitions"][number]>();
        for (const t of res.topics) for (const p of t.partitions) got.set(key(t.name, p.partitionIndex), p);
        for (const q of qs) {
          const p = got.get(key(q.topic, q.partition));
          const code = p?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
          if (p !== undefined && code === ErrorCode.NONE) {
            answers.set(key(q.topic, q.partition), { topic: q.topic, partition: q.partition, offset: p.offset, timestamp: p.timestamp });
          } else if (isRetriable(code)) {
            lastError = errorName(code);
            retry.push(q);
          } else {
            throw new KafkaError(code, `ListOffsets for ${q.topic}-${q.partition} failed: ${errorName(code)}`);
          }
        }
      }),
    );
    pending = retry;
  }
  if (pending.length > 0) throw new ClientTimeoutError(`ListOffsets did not succeed for ${pending.length} partition(s): ${lastError}`);
  return queries.map((q) => answers.get(key(q.topic, q.partition))!);
}
