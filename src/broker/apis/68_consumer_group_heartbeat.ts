/**
 * ConsumerGroupHeartbeat (key 68), versions 0-1: the KIP-848 consumer group protocol. v0 the coordinator makes the
 * member id of a joining member; v1 the client makes it (it must not be empty) and may subscribe with
 * `subscribed_topic_regex` (RE2/J syntax, INVALID_REGULAR_EXPRESSION when RE2 rejects it). Member epoch 0 joins,
 * -1 leaves, -2 is a static member leaving temporarily.
 */
import type { ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse } from "../../protocol/generated/68_consumer_group_heartbeat.ts";
import { uuidBase64, randomUuid } from "../../protocol/uuid.ts";
import { clientHostOf } from "../../group/client-address.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";

/** Builds the ConsumerGroupHeartbeat handler. */
export function consumerGroupHeartbeatHandler(b: Broker): ApiHandler<ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse> {
  return {
    apiKey: 68,
    minVersion: 0,
    maxVersion: 1,
    async handle(ctx, req) {
      const v = ctx.apiVersion;
      // v0: a joining member without an id gets one from the coordinator.
      const memberId = v === 0 && req.memberEpoch === 0 && req.memberId === "" ? uuidBase64(randomUuid()) : req.memberId;
      const r = await b.groups.consumerGroupHeartbeat({
        groupId: req.groupId,
        memberId,
        memberEpoch: req.memberEpoch,
        instanceId: req.instanceId,
        rackId: req.rackId,
        rebalanceTimeoutMs: req.rebalanceTimeoutMs,
        subscribedTopicNames: req.subscribedTopicNames,
        subscribedTopicRegex: v >= 1 ? (req.subscribedTopicRegex ?? null) : null,
        serverAssignor: req.serverAssignor,
        topicPartitions: req.topicPartitions === null ? null : req.topicPartitions.map((t) => ({ topicId: t.topicId.slice(), partitions: t.partitions })),
        clientId: ctx.header.clientId ?? "",
        clientHost: clientHostOf(ctx.remote),
        apiVersion: v,
      });
      return {
        throttleTimeMs: 0,
        errorCode: r.errorCode,
        errorMessage: r.errorMessage,
        memberId: r.memberId,
        memberEpoch: r.memberEpoch,
        heartbeatIntervalMs: r.heartbeatIntervalMs,
        assignment: r.assignment === null ? null : { topicPartitions: r.assignment.map((t) => ({ topicId: t.topicId, partitions: t.partitions })) },
      };
    },
  };
}
