/**
 * DescribeClientQuotas (key 48), versions 0-1 (v1 flexible): the quota entities matching the filter components
 * (EXACT name, DEFAULT entity, or any SPECIFIED name per entity type; `strict` excludes entities with other types).
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
      const invalid = (msg: string): DescribeClientQuotasResponse => ({ throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: msg, entries: null });
      const types = new Set<string>();
      for (const c of req.components) {
        if (!ENTITY_TYPES.has(c.entityType)) return invalid(`Unexpected entity type ${c.entityType}`);
        if (types.has(c.entityType)) return invalid(`Duplicate filter component entity type ${c.entityType}`);
        if (c.matchType === MATCH_EXACT && c.match === null) return invalid("An exact match needs a name");
        if (c.matchType !== MATCH_EXACT && c.matchType !== MATCH_DEFAULT && c.matchType !== MATCH_SPECIFIED) return invalid(`Unknown match type ${c.matchType}`);
        types.add(c.entityType);
      }
      const entries = store.all().filter(({ entity }) => {
        if (req.strict && entity.length !== req.components.length) return false;
        return req.components.every((c) => {
          const part = entity.find(([t]) => t === c.entityType);
          if (part === undefined) return false;
          if (c.matchType === MATCH_EXACT) return part[1] === c.match;
          if (c.matchType === MATCH_DEFAULT) return part[1] === null;
          return part[1] !== null;
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
