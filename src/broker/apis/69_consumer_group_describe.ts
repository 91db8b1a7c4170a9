/**
 * ConsumerGroupDescribe (key 69), versions 0-1: KIP-848 consumer groups with their epochs, assignor and members'
 * current and target assignments. v1 adds each member's type (1 = consumer protocol). A classic group answers
 * GROUP_ID_NOT_FOUND "Group X is not a consumer group.", as Kafka does (admin clients then use DescribeGroups).
 */
import type { ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse } from "../../protocol/generated/69_consumer_group_describe.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { GROUP_AUTHORIZED_OPERATIONS } from "../../group/group-coordinator.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";

/** Kafka's "authorized operations not requested" value. */
const OPERATIONS_NOT_REQUESTED = -2147483648;

/** Builds the ConsumerGroupDescribe handler. */
export function consumerGroupDescribeHandler(b: Broker): ApiHandler<ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse> {
  return {
    apiKey: 69,
    minVersion: 0,
    maxVersion: 1,
    handle(ctx, req) {
      const ops = req.includeAuthorizedOperations ? GROUP_AUTHORIZED_OPERATIONS : OPERATIONS_NOT_REQUESTED;
      const groups = req.groupIds.map((groupId) => {
        const d = b.groups.describeConsumerGroup(groupId);
        return {
          errorCode: d.errorCode,
          errorMessage: d.errorMessage,
          groupId,
          groupState: d.groupState,
          groupEpoch: d.groupEpoch,
          assignmentEpoch: d.assignmentEpoch,
          assignorName: d.assignorName,
          members: d.members.map((m) => ({ ...m, memberType: ctx.apiVersion >= 1 ? m.memberType : -1 })),
          // A group that does not exist reports no operations (Kafka answers "not requested" for it).
          authorizedOperations: d.errorCode === ErrorCode.NONE ? ops : OPERATIONS_NOT_REQUESTED,
        };
      });
      return { throttleTimeMs: 0, groups };
    },
  };
}
