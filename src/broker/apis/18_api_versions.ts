/**
 * ApiVersions (key 18), versions 0-4. v3 added flexible encoding and the client software name/version; v4 is
 * the same as v3 (it tells the broker the client can handle UNSUPPORTED_VERSION with an empty key list).
 * A request newer than we serve is answered at v0 with UNSUPPORTED_VERSION and our key list (KIP-511), so the
 * client can retry at a version we know. The response always uses response header v0. v3+ also carries the
 * feature flags (features.ts); as Kafka does (KAFKA-17011), v3 leaves out supported features whose minimum is 0,
 * because older clients reject such a range.
 */
import type { ApiVersionsRequest, ApiVersionsResponse } from "../../protocol/generated/18_api_versions.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";
import { BROKER_FEATURES, FINALIZED_FEATURES_EPOCH } from "../features.ts";

/** First ApiVersions version whose clients accept a supported feature minimum of 0. */
const FEATURE_MIN_ZERO_VERSION = 4;

/** Builds the ApiVersions handler from the set of handlers the broker serves. */
export function apiVersionsHandler(handlers: () => ReadonlyArray<ApiHandler | undefined>): ApiHandler<ApiVersionsRequest, ApiVersionsResponse> {
  return {
    apiKey: 18,
    minVersion: 0,
    maxVersion: 4,
    handle(ctx, req) {
      const apiKeys = [];
      for (const h of handlers()) {
        if (h === undefined) continue;
        apiKeys.push({ apiKey: h.apiKey, minVersion: h.advertisedMinVersion ?? h.minVersion, maxVersion: h.maxVersion });
      }
      const unsupported = (req as { __unsupportedVersion?: number }).__unsupportedVersion !== undefined;
      const res: ApiVersionsResponse = {
        errorCode: unsupported ? ErrorCode.UNSUPPORTED_VERSION : ErrorCode.NONE,
        apiKeys,
        throttleTimeMs: 0,
      };
      if (!unsupported && ctx.apiVersion >= 3) {
        const minZeroOk = ctx.apiVersion >= FEATURE_MIN_ZERO_VERSION;
        res.supportedFeatures = BROKER_FEATURES.filter((f) => minZeroOk || f.minVersion > 0).map((f) => ({ name: f.name, minVersion: f.minVersion, maxVersion: f.maxVersion }));
        res.finalizedFeaturesEpoch = FINALIZED_FEATURES_EPOCH;
        res.finalizedFeatures = BROKER_FEATURES.filter((f) => f.finalizedLevel > 0).map((f) => ({ name: f.name, minVersionLevel: f.finalizedLevel, maxVersionLevel: f.finalizedLevel }));
        res.zkMigrationReady = false;
      }
      return res;
    },
  };
}
