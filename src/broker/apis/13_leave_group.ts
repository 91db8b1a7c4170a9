/**
 * LeaveGroup (key 13), versions 0-5. v0-v2 one member id; v3 a batch of members by member id and/or group instance
 * id (admins remove static members by instance id alone) with per-member errors; v4 flexible; v5 reasons.
 */
import type { LeaveGroupRequest, LeaveGroupResponse } from "../../protocol/generated/13_leave_group.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { LeavingMember } from "../../group/group-requests.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";

/** Most members one LeaveGroup may name. */
const MAX_LEAVING_MEMBERS = 10_000;

/** Builds the LeaveGroup handler. */
export function leaveGroupHandler(b: Broker): ApiHandler<LeaveGroupRequest, LeaveGroupResponse> {
  return {
    apiKey: 13,
    minVersion: 0,
    maxVersion: 5,
    async handle(ctx, req) {
      const batched = ctx.apiVersion >= 3;
      const members: LeavingMember[] = batched
        ? (req.members ?? []).map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, reason: m.reason ?? null }))
        : [{ memberId: req.memberId ?? "", groupInstanceId: null }];
      if (members.length > MAX_LEAVING_MEMBERS) return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, members: [] };
      const r = await b.groups.leaveAnyGroup(req.groupId, members);
      if (batched) return { throttleTimeMs: 0, errorCode: r.errorCode, members: r.members };
      const errorCode = r.errorCode !== ErrorCode.NONE ? r.errorCode : (r.members[0]?.errorCode ?? ErrorCode.NONE);
      return { throttleTimeMs: 0, errorCode };
    },
  };
}
