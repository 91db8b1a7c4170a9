/**
 * SaslAuthenticate (key 36), versions 0-2. v1 session lifetime (KIP-368: `connections.max.reauth.ms`, 0 = none);
 * v2 flexible. Carries one SASL token each way (see src/security/session.ts).
 */
import type { SaslAuthenticateRequest, SaslAuthenticateResponse } from "../../protocol/generated/36_sasl_authenticate.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";

/** Builds the SaslAuthenticate handler. */
export function saslAuthenticateHandler(): ApiHandler<SaslAuthenticateRequest, SaslAuthenticateResponse> {
  return {
    apiKey: 36,
    minVersion: 0,
    maxVersion: 2,
    handle(ctx, req) {
      if (ctx.session === undefined) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, errorMessage: "Unexpected SaslAuthenticate request", authBytes: new Uint8Array(0), sessionLifetimeMs: 0n };
      const r = ctx.session.authenticate(req.authBytes);
      return { errorCode: r.errorCode, errorMessage: r.errorMessage, authBytes: r.authBytes, sessionLifetimeMs: BigInt(r.sessionLifetimeMs) };
    },
  };
}
