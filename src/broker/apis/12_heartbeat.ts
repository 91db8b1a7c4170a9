/** Heartbeat (key 12), versions 0-4. v3 group instance id; v4 flexible. */
import type { HeartbeatRequest, HeartbeatResponse } from "../../protocol/generated/12_heartbeat.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";

/** Builds the Heartbeat handler. */
export function heartbeatHandler(b: Broker): ApiHandler<HeartbeatRequest, HeartbeatResponse> {
  return {
    apiKey: 12,
    minVersion: 0,
    maxVersion: 4,
    handle(ctx, req) {
      const errorCode = b.groups.heartbeat({
        groupId: req.groupId,
        generationId: req.generationId,
        memberId: req.memberId,
        groupInstanceId: ctx.apiVersion >= 3 ? (req.groupInstanceId ?? null) : null,
      });
      return { throttleTimeMs: 0, errorCode };
    },
  };
}
