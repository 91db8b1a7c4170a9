/**
 * ApiVersions (key 18), versions 0-4. v3 added flexible encoding and the client software name/version; v4 is
 * the same as v3 (it tells the broker the client can handle UNSUPPORTED_VERSION with an empty key list).
 * A request newer than we serve is answered at v0 with UNSUPPORTED_VERSION and our key list (KIP-511), so the
 * client can retry at a version we know. The response always uses response header v0.
 */
import type { ApiVersionsRequest, ApiVersionsResponse } from "../../protocol/generated/18_api_versions.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";

/** Builds the ApiVersions handler from the set of handlers the broker serves. */
export function apiVersionsHandler(handlers: () => ReadonlyArray<ApiHandler | undefined>): ApiHandler<ApiVersionsRequest, ApiVersionsResponse> {
  return {
    apiKey: 18,
    minVersion: 0,
    maxVersion: 4,
    handle(_ctx, req) {
      const apiKeys = [];
      for (const h of handlers()) {
        if (h === undefined) continue;
        apiKeys.push({ apiKey: h.apiKey, minVersion: h.advertisedMinVersion ?? h.minVersion, maxVersion: h.maxVersion });
      }
      const unsupported = (req as { __unsupportedVersion?: number }).__unsupportedVersion !== undefined;
      return {
        errorCode: unsupported ? ErrorCode.UNSUPPORTED_VERSION : ErrorCode.NONE,
        apiKeys,
        throttleTimeMs: 0,
      };
    },
  };
}
