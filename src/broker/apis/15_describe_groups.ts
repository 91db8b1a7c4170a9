/**
 * DescribeGroups (key 15), versions 0-6. v3 authorized operations on request; v4 group instance ids; v5 flexible;
 * v6 GROUP_ID_NOT_FOUND for an unknown group (earlier versions: no error and state Dead, as Kafka). Member metadata,
 * assignments and the protocol are filled only for a Stable group.
 */
import type { DescribeGroupsRequest, DescribeGroupsResponse, DescribeGroupsResponseDescribedGroup } from "../../protocol/generated/15_describe_groups.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { GROUP_AUTHORIZED_OPERATIONS } from "../../group/group-coordinator.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";

/** Kafka's "authorized operations not requested" value. */
const OPERATIONS_NOT_REQUESTED = -2147483648;

/** Builds the DescribeGroups handler. */
export function describeGroupsHandler(b: Broker): ApiHandler<DescribeGroupsRequest, DescribeGroupsResponse> {
  return {
    apiKey: 15,
    minVersion: 0,
    maxVersion: 6,
    handle(ctx, req) {
      const v = ctx.apiVersion;
      const ops = v >= 3 && req.includeAuthorizedOperations ? GROUP_AUTHORIZED_OPERATIONS : OPERATIONS_NOT_REQUESTED;
      const groups = req.groups.map((groupId): DescribeGroupsResponseDescribedGroup => {
        const d = b.groups.describeGroup(groupId);
        let errorCode = d.errorCode;
        if (errorCode === ErrorCode.GROUP_ID_NOT_FOUND && v < 6) errorCode = ErrorCode.NONE;
        return {
          errorCode,
          errorMessage: errorCode === ErrorCode.GROUP_ID_NOT_FOUND ? (d.errorMessage ?? `Group ${groupId} not found.`) : null,
          groupId,
          groupState: d.state,
          protocolType: d.protocolType,
          protocolData: d.protocolData,
          members: d.members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            memberMetadata: m.metadata,
            memberAssignment: m.assignment,
          })),
          // Kafka reports operations only in an answer without error: a group that does not exist has none at v6
          // (GROUP_ID_NOT_FOUND), but before v6 it is answered as Dead without error, operations included.
          authorizedOperations: errorCode === ErrorCode.GROUP_ID_NOT_FOUND ? OPERATIONS_NOT_REQUESTED : ops,
        };
      });
      return { throttleTimeMs: 0, groups };
    },
  };
}
