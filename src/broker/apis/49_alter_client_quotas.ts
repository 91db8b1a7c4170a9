/**
 * AlterClientQuotas (key 49), versions 0-1 (v1 flexible): sets or removes quota values of user / client-id
 * entities (a null name is the default entity). Unknown entity types or keys, duplicate types and non-positive
 * values are INVALID_REQUEST per entry; `validate_only` checks without storing. IP quotas are not served.
 */
import type { AlterClientQuotasRequest, AlterClientQuotasResponse } from "../../protocol/generated/49_alter_client_quotas.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";
import { QUOTA_KEYS, type ClientQuotaStore, type QuotaEntity } from "../../security/client-quotas.ts";

/** Builds the AlterClientQuotas handler. */
export function alterClientQuotasHandler(store: ClientQuotaStore): ApiHandler<AlterClientQuotasRequest, AlterClientQuotasResponse> {
  return {
    apiKey: 49,
    minVersion: 0,
    maxVersion: 1,
    async handle(_ctx, req) {
      const entries = [];
      for (const e of req.entries) {
        const entity = e.entity.map((c) => ({ entityType: c.entityType, entityName: c.entityName }));
        const problem = (() => {
          const seen = new Set<string>();
          if (e.entity.length === 0) return "The entity has no components";
          for (const c of e.entity) {
            if (c.entityType !== "user" && c.entityType !== "client-id") return `Unsupported entity type ${c.entityType}`;
            if (seen.has(c.entityType)) return `Duplicate entity type ${c.entityType}`;
            seen.add(c.entityType);
          }
          for (const op of e.ops) {
            if (!QUOTA_KEYS.has(op.key)) return `Unrecognized quota key ${op.key}`;
            if (!op.remove && !(op.value > 0)) return `Quota ${op.key} must be positive, got ${op.value}`;
          }
          return null;
        })();
        if (problem !== null) {
          entries.push({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem, entity });
          continue;
        }
        if (!req.validateOnly) {
          try {
            await store.alter(e.entity.map((c) => [c.entityType, c.entityName] as const) as QuotaEntity, e.ops);
          } catch (err) {
            entries.push({ errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: `Storing the quota failed: ${(err as Error).message}`, entity });
            continue;
          }
        }
        entries.push({ errorCode: ErrorCode.NONE, errorMessage: null, entity });
      }
      return { throttleTimeMs: 0, entries };
    },
  };
}
