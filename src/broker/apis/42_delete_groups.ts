/**
 * DeleteGroups (key 42), versions 0-2 (v2 flexible). Deletes empty groups with their committed offsets;
 * NON_EMPTY_GROUP while members remain, GROUP_ID_NOT_FOUND for an unknown group.
 */
import type { DeleteGroupsRequest, DeleteGroupsResponse } from "../../protocol/generated/42_delete_groups.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";

/** Builds the DeleteGroups handler. */
export function deleteGroupsHandler(b: Broker): ApiHandler<DeleteGroupsRequest, DeleteGroupsResponse> {
  return {
    apiKey: 42,
    minVersion: 0,
    maxVersion: 2,
    async handle(_ctx, req) {
      const results = await b.groups.deleteGroups(req.groupsNames);
      return { throttleTimeMs: 0, results };
    },
  };
}
