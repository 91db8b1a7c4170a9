/**
 * Metadata (key 3), versions 0-13. v1 added rack, controller id and internal flags; v4 AllowAutoTopicCreation;
 * v7 leader epochs; v8 authorized operations; v9 flexible; v10 topic ids; v11 dropped cluster authorized ops;
 * v12 nullable topic names (lookup by id); v13 a top-level error code.
 */
import type { MetadataRequest, MetadataResponse, MetadataResponseTopic } from "../../protocol/generated/03_metadata.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { ZERO_UUID } from "../../protocol/wire.ts";
import { uuidHex } from "../../protocol/uuid.ts";
import type { ApiHandler } from "../api-handler.ts";
import { topicOperationError } from "../topic-operation-error.ts";
import { topicNameProblem } from "../topic-names.ts";
import { AUTHORIZED_OPERATIONS_NOT_REQUESTED, CLUSTER_AUTHORIZED_OPERATIONS, TOPIC_AUTHORIZED_OPERATIONS } from "../authorized-operations.ts";
import type { Broker, Topic } from "../broker.ts";
import { AclOperation } from "../../security/acl.ts";
import { topicAllowed } from "../../security/request-authorization.ts";

/** Builds the Metadata handler. */
export function metadataHandler(b: Broker): ApiHandler<MetadataRequest, MetadataResponse> {
  const describe = (t: Topic, topicOps: number): MetadataResponseTopic => ({
    errorCode: ErrorCode.NONE,
    name: t.name,
    topicId: t.id,
    isInternal: t.internal,
    // A partition without a reachable leader (none, or its broker not registered): LEADER_NOT_AVAILABLE and leader -1,
    // as Kafka's KRaftMetadataCache; replicas, ISR and offline replicas as they are.
    partitions: t.partitions.map((p) => ({
      errorCode: b.leaderAvailable(p) ? ErrorCode.NONE : ErrorCode.LEADER_NOT_AVAILABLE,
      partitionIndex: p.index,
      leaderId: b.leaderAvailable(p) ? p.leader : -1,
      leaderEpoch: p.leaderEpoch,
      replicaNodes: [...p.replicas],
      isrNodes: [...p.isr],
      // KIP-112: a replica is offline when a disk failure took its log dir offline or its broker is not registered.
      offlineReplicas: b.offlineReplicas(p),
    })),
    topicAuthorizedOperations: topicOps,
  });
  const missing = (name: string | null, id: Uint8Array, code: number, topicOps: number): MetadataResponseTopic => ({
    errorCode: code,
    name,
    topicId: id,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: topicOps,
  });
  return {
    apiKey: 3,
    minVersion: 0,
    maxVersion: 13,
    async handle(ctx, req) {
      // Without an authorizer every operation is allowed (Kafka answers the full set when asked, v8+).
      const topicOps = ctx.apiVersion >= 8 && req.includeTopicAuthorizedOperations ? TOPIC_AUTHORIZED_OPERATIONS : AUTHORIZED_OPERATIONS_NOT_REQUESTED;
      const topics: MetadataResponseTopic[] = [];
      // With an authorizer: topics the principal may not describe are left out of a full listing and refused by name.
      const mayDescribe = (name: string) => topicAllowed(b, ctx, AclOperation.DESCRIBE, name);
      if (req.topics === null || (ctx.apiVersion === 0 && req.topics.length === 0)) {
        for (const t of b.topicsByName.values()) if (mayDescribe(t.name)) topics.push(describe(t, topicOps));
      } else {
        const autoCreate = (ctx.apiVersion < 4 || req.allowAutoTopicCreation !== false) && b.config.bool("auto.create.topics.enable");
        for (const rt of req.topics) {
          // By id when one is given (the Java consumer sends name "" with it), as Kafka does; else by name.
          if (rt.name === null || rt.name === undefined || (rt.topicId !== undefined && rt.topicId.some((x) => x !== 0))) {
            const t = rt.topicId ? b.topicsById.get(uuidHex(rt.topicId)) : undefined;
            // Lookup by topic id needs v12 (nullable names); before that Kafka answers INVALID_REQUEST with an empty name.
            if (ctx.apiVersion < 12) topics.push(missing("", rt.topicId ?? ZERO_UUID, ErrorCode.INVALID_REQUEST, topicOps));
            else if (t !== undefined && !mayDescribe(t.name)) topics.push(missing(null, rt.topicId ?? ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED, AUTHORIZED_OPERATIONS_NOT_REQUESTED));
            else topics.push(t ? describe(t, topicOps) : missing(null, rt.topicId ?? ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_ID, topicOps));
            continue;
          }
          if (!mayDescribe(rt.name)) {
            // Kafka reports no authorized operations for a topic it refuses (the "not requested" value)
            topics.push(missing(rt.name, ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED, AUTHORIZED_OPERATIONS_NOT_REQUESTED));
            continue;
          }
          let t = b.topicsByName.get(rt.name);
          if (t === undefined && autoCreate && topicAllowed(b, ctx, AclOperation.CREATE, rt.name)) {
            let code: number;
            try {
              code = await b.autoCreateTopic(rt.name);
            } catch (e) {
              const err = topicOperationError(e);
              b.logger.error(`auto-creating topic ${rt.name} failed: ${(e as Error)?.stack ?? e}`);
              code = err.code;
            }
            if (code !== ErrorCode.NONE) {
              topics.push(missing(rt.name, ZERO_UUID, code, topicOps));
              continue;
            }
            t = b.topicsByName.get(rt.name);
          }
          const unknownCode = topicNameProblem(rt.name) === null ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.INVALID_TOPIC_EXCEPTION;
          topics.push(t ? describe(t, topicOps) : missing(rt.name, ZERO_UUID, unknownCode, topicOps));
        }
      }
      return {
        throttleTimeMs: 0,
        brokers: b.clusterBrokers(ctx.session?.listenerName),
        clusterId: b.clusterId,
        controllerId: b.controllerId,
        topics,
        clusterAuthorizedOperations: ctx.apiVersion >= 8 && req.includeClusterAuthorizedOperations ? CLUSTER_AUTHORIZED_OPERATIONS : AUTHORIZED_OPERATIONS_NOT_REQUESTED,
        errorCode: ErrorCode.NONE,
      };
    },
  };
}
