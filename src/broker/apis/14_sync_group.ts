/**
 * SyncGroup (key 14), versions 0-5. v3 group instance id; v4 flexible; v5 protocol type and name, checked against
 * the group's. The leader's request carries every member's assignment; the followers' responses wait for it.
 */
import type { SyncGroupRequest, SyncGroupResponse } from "../../protocol/generated/14_sync_group.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";

/** Builds the SyncGroup handler. */
export function syncGroupHandler(b: Broker): ApiHandler<SyncGroupRequest, SyncGroupResponse> {
  return {
    apiKey: 14,
    minVersion: 0,
    maxVersion: 5,
    async handle(ctx, req) {
      const v = ctx.apiVersion;
      const r = await b.groups.syncGroup({
        groupId: req.groupId,
        generationId: req.generationId,
        memberId: req.memberId,
        groupInstanceId: v >= 3 ? (req.groupInstanceId ?? null) : null,
        protocolType: v >= 5 ? (req.protocolType ?? null) : null,
        protocolName: v >= 5 ? (req.protocolName ?? null) : null,
        assignments: req.assignments.map((a) => ({ memberId: a.memberId, assignment: a.assignment.slice() })),
      });
      return { throttleTimeMs: 0, errorCode: r.errorCode, protocolType: r.protocolType, protocolName: r.protocolName, assignment: r.assignment };
    },
  };
}
