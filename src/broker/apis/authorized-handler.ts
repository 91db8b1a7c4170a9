/**
 * Wraps a handler with the authorizer's checks for its API (src/security/request-authorization.ts): a refused
 * request is answered with Kafka's authorization error in a response shaped for the API, without running the
 * handler; an acks=0 Produce, which has no response, closes the connection instead.
 */
import { CloseConnection, type ApiHandler } from "../api-handler.ts";
import { errorResponse } from "../error-response.ts";
import type { Authorizer } from "../../security/acl.ts";
import { refusal, type TopicNameById } from "../../security/request-authorization.ts";

/** `h` behind the authorizer. */
export function authorizedHandler(h: ApiHandler, authz: Authorizer, nameOf: TopicNameById): ApiHandler {
  return {
    ...h,
    handle(ctx, req) {
      const s = ctx.session;
      if (s !== undefined) {
        const code = refusal(authz, { principal: s.principal, host: s.clientHost }, h.apiKey, req, nameOf);
        if (code !== null) {
          if (h.apiKey === 0 && (req as { acks?: number }).acks === 0) return new CloseConnection(`${s.principal} may not produce to a topic of the request`);
          return errorResponse(h.apiKey, ctx.apiVersion, req, code);
        }
      }
      return h.handle(ctx, req);
    },
  };
}
