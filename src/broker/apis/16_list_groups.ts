/**
 * ListGroups (key 16), versions 0-5. v3 flexible; v4 states filter and each group's state; v5 types filter and
 * each group's type ("classic", or "consumer" for KIP-848 groups). Filters match case-insensitively; empty = all.
 */
import type { ListGroupsRequest, ListGroupsResponse } from "../../protocol/generated/16_list_groups.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";

/** Builds the ListGroups handler. */
export function listGroupsHandler(b: Broker): ApiHandler<ListGroupsRequest, ListGroupsResponse> {
  return {
    apiKey: 16,
    minVersion: 0,
    maxVersion: 5,
    handle(ctx, req) {
      const states = ctx.apiVersion >= 4 ? (req.statesFilter ?? []) : [];
      const types = ctx.apiVersion >= 5 ? (req.typesFilter ?? []) : [];
      const groups = b.groups.listGroups(states, types).map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.state, groupType: g.type }));
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups };
    },
  };
}
