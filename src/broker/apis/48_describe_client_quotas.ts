/**
 * DescribeClientQuotas (key 48), versions 0-1 (v1 flexible): the quota entities matching the filter components
 * (EXACT name, DEFAULT entity, or SPECIFIED: any entity of the type, its default entity included, as Kafka 4.4
 * answers; `strict` excludes entities with other types).
 * A malformed filter fails the whole request as Kafka 4.4's does: INVALID_REQUEST (empty or repeated type, a match
 * string missing for EXACT or given for DEFAULT / SPECIFIED, ip combined with user or client-id), or
 * UNSUPPORTED_VERSION for a type other than user, client-id and ip.
 */
import type { DescribeClientQuotasRequest, DescribeClientQuotasResponse } from "../../protocol/generated/48_describe_client_quotas.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { ClientQuotaStore } from "../../security/client-quotas.ts";

const MATCH_EXACT = 0;
const MATCH_DEFAULT = 1;
const MATCH_SPECIFIED = 2;
const ENTITY_TYPES: ReadonlySet<string> = new Set(["user", "client-id", "ip"]);

/** Builds the DescribeClientQuotas handler. */
export function describeClientQuotasHandler(store: ClientQuotaStore): ApiHandler<DescribeClientQuotasRequest, DescribeClientQuotasResponse> {
  return {
    apiKey: 48,
    minVersion: 0,
    maxVersion: 1,
    handle(_ctx, req) {
      const fail = (errorCode: number, msg: string): DescribeClientQuotasResponse => ({ throttleTimeMs: 0, errorCode, errorMessage: msg, entries: null });
      // Kafka 4.4's checks (ClientQuotasImage.describe), in its order
      const types = new Set<string>();
      for (const c of req.components) {
        if (c.entityType === "") return fail(ErrorCode.INVALID_REQUEST, "Invalid empty entity type.");
        if (types.has(c.entityType)) return fail(ErrorCode.INVALID_REQUEST, `Entity type ${c.entityType} cannot appear more than once in the filter.`);
        if (!ENTITY_TYPES.has(c.entityType)) return fail(ErrorCode.UNSUPPORTED_VERSION, `Unsupported entity type ${c.entityType}`);
        if (c.matchType === MATCH_EXACT && c.match === null) return fail(ErrorCode.INVALID_REQUEST, "Request specified MATCH_TYPE_EXACT, but set match string to null.");
        if (c.matchType === MATCH_DEFAULT && c.match !== null) return fail(ErrorCode.INVALID_REQUEST, "Request specified MATCH_TYPE_DEFAULT, but also specified a match string.");
        if (c.matchType === MATCH_SPECIFIED && c.match !== null) return fail(ErrorCode.INVALID_REQUEST, "Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.");
        if (c.matchType !== MATCH_EXACT && c.matchType !== MATCH_DEFAULT && c.matchType !== MATCH_SPECIFIED) return fail(ErrorCode.INVALID_REQUEST, `Unknown match type ${c.matchType}`);
        types.add(c.entityType);
      }
      if (types.has("ip") && (types.has("user") || types.has("client-id"))) {
        return fail(ErrorCode.INVALID_REQUEST, "Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component.");
      }
      const entries = store.all().filter(({ entity }) => {
        if (req.strict && entity.length !== req.components.length) return false;
        return req.components.every((c) => {
          const part = entity.find(([t]) => t === c.entityType);
          if (part === undefined) return false;
          if (c.matchType === MATCH_EXACT) return part[1] === c.match;
          if (c.matchType === MATCH_DEFAULT) return part[1] === null;
          // SPECIFIED: any entity of the type, the default one included (Kafka 4.4's ClientQuotasImage.matches)
          return true;
        });
      });
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        entries: entries.map(({ entity, values }) => ({
          entity: entity.map(([entityType, entityName]) => ({ entityType, entityName })),
          values: Object.entries(values).map(([key, value]) => ({ key, value })),
        })),
      };
    },
  };
}
