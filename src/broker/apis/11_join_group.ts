/**
 * JoinGroup (key 11), versions 0-9. v1 rebalance timeout (v0: the session timeout); v4 a new member first gets
 * MEMBER_ID_REQUIRED with its id; v5 group instance id (static membership); v6 flexible; v7 protocol type in the
 * response; v8 reason; v9 skipAssignment. The response waits until the group's join phase completes.
 */
import type { JoinGroupRequest, JoinGroupResponse } from "../../protocol/generated/11_join_group.ts";
import { clientHostOf } from "../../group/client-address.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";

/** Builds the JoinGroup handler. */
export function joinGroupHandler(b: Broker): ApiHandler<JoinGroupRequest, JoinGroupResponse> {
  return {
    apiKey: 11,
    minVersion: 0,
    maxVersion: 9,
    async handle(ctx, req) {
      const v = ctx.apiVersion;
      const r = await b.groups.joinGroup({
        groupId: req.groupId,
        memberId: req.memberId,
        groupInstanceId: v >= 5 ? (req.groupInstanceId ?? null) : null,
        sessionTimeoutMs: req.sessionTimeoutMs,
        rebalanceTimeoutMs: v >= 1 && (req.rebalanceTimeoutMs ?? -1) >= 0 ? req.rebalanceTimeoutMs! : req.sessionTimeoutMs,
        protocolType: req.protocolType,
        protocols: req.protocols.map((p) => ({ name: p.name, metadata: p.metadata.slice() })),
        clientId: ctx.header.clientId ?? "",
        clientHost: clientHostOf(ctx.remote),
        requireKnownMemberId: v >= 4,
        supportsSkipAssignment: v >= 9,
        reason: req.reason ?? null,
      });
      return {
        throttleTimeMs: 0,
        errorCode: r.errorCode,
        generationId: r.generationId,
        protocolType: r.protocolType,
        protocolName: v >= 7 ? r.protocolName : (r.protocolName ?? ""),
        leader: r.leader,
        skipAssignment: r.skipAssignment,
        memberId: r.memberId,
        members: r.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata })),
      };
    },
  };
}
