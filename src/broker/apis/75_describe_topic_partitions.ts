/**
 * DescribeTopicPartitions (key 75), version 0 (KIP-966), what Kafka 4's admin client and `kafka-topics --describe`
 * use instead of Metadata: topics sorted by name, each with its partitions' leader (-1 when the leader's broker is
 * not registered), leader epoch, replicas, ISR and offline replicas, paginated by a cursor. At most
 * min(`max.request.partition.size.limit`, response_partition_limit) partitions per answer (at least one); when more
 * remain, `nextCursor` names the topic and partition to ask next. An empty topic list means every topic (unknown
 * or undescribable ones are then left out); a named topic that does not exist gets UNKNOWN_TOPIC_OR_PARTITION (or
 * INVALID_TOPIC_EXCEPTION for a bad name), one the principal may not DESCRIBE gets TOPIC_AUTHORIZATION_FAILED with
 * no id, listed after the others. A cursor whose topic is not in a non-empty topic list, or with a negative
 * partition, is INVALID_REQUEST. Runnel has no eligible leader replicas (KIP-966's ELR is not enabled, as by
 * default in Kafka), so both ELR fields are empty lists, as Kafka fills them then.
 */
import type {
  DescribeTopicPartitionsRequest,
  DescribeTopicPartitionsResponse,
  DescribeTopicPartitionsResponseCursor,
  DescribeTopicPartitionsResponsePartition,
  DescribeTopicPartitionsResponseTopic,
} from "../../protocol/generated/75_describe_topic_partitions.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { ZERO_UUID } from "../../protocol/wire.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker, PartitionState, Topic } from "../broker.ts";
import { topicNameProblem, isInternalTopic } from "../topic-names.ts";
import { TOPIC_AUTHORIZED_OPERATIONS, AUTHORIZED_OPERATIONS_NOT_REQUESTED } from "../authorized-operations.ts";
import { AclOperation } from "../../security/acl.ts";
import { topicAllowed } from "../../security/request-authorization.ts";

/** Most topics one request may name. */
const MAX_REQUEST_TOPICS = 100_000;

/** Builds the DescribeTopicPartitions handler. */
export function describeTopicPartitionsHandler(b: Broker): ApiHandler<DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse> {
  const partitionOf = (p: PartitionState): DescribeTopicPartitionsResponsePartition => {
    const offline = b.offlineReplicas(p);
    return {
      errorCode: ErrorCode.NONE,
      partitionIndex: p.index,
      leaderId: p.leader >= 0 && !offline.includes(p.leader) ? p.leader : -1,
      leaderEpoch: p.leaderEpoch,
      replicaNodes: [...p.replicas],
      isrNodes: [...p.isr],
      eligibleLeaderReplicas: [],
      lastKnownElr: [],
      offlineReplicas: offline,
    };
  };
  const failed = (name: string, errorCode: number, topicOps: number): DescribeTopicPartitionsResponseTopic => ({
    errorCode,
    name,
    topicId: ZERO_UUID,
    isInternal: isInternalTopic(name),
    partitions: [],
    topicAuthorizedOperations: topicOps,
  });
  return {
    apiKey: 75,
    minVersion: 0,
    maxVersion: 0,
    async handle(ctx, req) {
      const fetchAll = req.topics.length === 0;
      const cursor = req.cursor;
      const cursorTopic = cursor?.topicName ?? "";
      const invalid = (): DescribeTopicPartitionsResponse => ({
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({ ...failed(t.name, ErrorCode.INVALID_REQUEST, AUTHORIZED_OPERATIONS_NOT_REQUESTED), isInternal: false })),
        nextCursor: null,
      });
      if (req.topics.length > MAX_REQUEST_TOPICS) return invalid();
      if (cursor !== null && cursor.partitionIndex < 0) return invalid();
      const names = new Set<string>();
      if (fetchAll) {
        for (const name of b.topicsByName.keys()) if (name >= cursorTopic) names.add(name);
      } else {
        for (const t of req.topics) if (t.name >= cursorTopic) names.add(t.name);
        if (cursor !== null && !names.has(cursorTopic)) return invalid();
      }
      const refused: DescribeTopicPartitionsResponseTopic[] = [];
      const allowed: string[] = [];
      for (const name of names) {
        if (topicAllowed(b, ctx, AclOperation.DESCRIBE, name)) allowed.push(name);
        else if (!fetchAll) refused.push(failed(name, ErrorCode.TOPIC_AUTHORIZATION_FAILED, AUTHORIZED_OPERATIONS_NOT_REQUESTED));
      }
      allowed.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
      let remaining = Math.max(1, Math.min(b.config.num("max.request.partition.size.limit"), req.responsePartitionLimit));
      const topics: DescribeTopicPartitionsResponseTopic[] = [];
      let nextCursor: DescribeTopicPartitionsResponseCursor | null = null;
      for (const name of allowed) {
        if (remaining === 0) {
          nextCursor = { topicName: name, partitionIndex: 0 };
          break;
        }
        const t: Topic | undefined = b.topicsByName.get(name);
        if (t === undefined) {
          if (!fetchAll) topics.push(failed(name, topicNameProblem(name) === null ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.INVALID_TOPIC_EXCEPTION, TOPIC_AUTHORIZED_OPERATIONS));
          continue;
        }
        const start = name === cursorTopic && cursor !== null ? cursor.partitionIndex : 0;
        const end = Math.min(t.partitions.length, start + remaining);
        const partitions: DescribeTopicPartitionsResponsePartition[] = [];
        for (let i = start; i < end; i++) partitions.push(partitionOf(t.partitions[i]));
        topics.push({ errorCode: ErrorCode.NONE, name, topicId: t.id, isInternal: t.internal, partitions, topicAuthorizedOperations: TOPIC_AUTHORIZED_OPERATIONS });
        if (end < t.partitions.length) {
          nextCursor = { topicName: name, partitionIndex: end };
          break;
        }
        remaining -= partitions.length;
      }
      return { throttleTimeMs: 0, topics: [...topics, ...refused], nextCursor };
    },
  };
}
