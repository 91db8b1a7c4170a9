/**
 * SaslHandshake (key 17), versions 0-1. v0: the SASL tokens follow as bare size-prefixed frames; v1 (KIP-152): they
 * follow in SaslAuthenticate requests. Picks the connection's mechanism (see src/security/session.ts).
 */
import type { SaslHandshakeRequest, SaslHandshakeResponse } from "../../protocol/generated/17_sasl_handshake.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";

/** Builds the SaslHandshake handler. */
export function saslHandshakeHandler(): ApiHandler<SaslHandshakeRequest, SaslHandshakeResponse> {
  return {
    apiKey: 17,
    minVersion: 0,
    maxVersion: 1,
    handle(ctx, req) {
      // A listener without SASL: Kafka answers ILLEGAL_SASL_STATE.
      if (ctx.session === undefined) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] };
      return ctx.session.handshake(req.mechanism, ctx.apiVersion);
    },
  };
}
