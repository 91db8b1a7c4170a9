/**
 * DeleteAcls (key 31), versions 1-3 (v0 removed in Kafka 4; v2 flexible): removes every ACL matching each filter
 * and lists what each filter removed.
 */
import type { DeleteAclsRequest, DeleteAclsResponse, DeleteAclsResponseDeleteAclsFilterResult } from "../../protocol/generated/31_delete_acls.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { AclStore } from "../../security/acl-store.ts";
import { filterMatches, filterProblem, type AclBinding } from "../../security/acl.ts";

/** Builds the DeleteAcls handler. */
export function deleteAclsHandler(store: AclStore): ApiHandler<DeleteAclsRequest, DeleteAclsResponse> {
  return {
    apiKey: 31,
    minVersion: 1,
    maxVersion: 3,
    async handle(_ctx, req) {
      // Kafka cannot parse a request naming an UNKNOWN element and deletes nothing: every filter is refused
      if (req.filters.some((f) => filterProblem(f) !== null)) {
        return { throttleTimeMs: 0, filterResults: req.filters.map(() => ({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "The request has a filter with an UNKNOWN element", matchingAcls: [] })) };
      }
      const all = store.all();
      const doomed = new Set<AclBinding>();
      const filterResults: DeleteAclsResponseDeleteAclsFilterResult[] = req.filters.map((f) => {
        const problem = filterProblem(f);
        if (problem !== null) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem, matchingAcls: [] };
        const matched = all.filter((a) => filterMatches(f, a));
        for (const a of matched) doomed.add(a);
        return { errorCode: ErrorCode.NONE, errorMessage: null, matchingAcls: matched.map((a) => ({ errorCode: ErrorCode.NONE, errorMessage: null, resourceType: a.resourceType, resourceName: a.resourceName, patternType: a.patternType, principal: a.principal, host: a.host, operation: a.operation, permissionType: a.permissionType })) };
      });
      try {
        await store.remove([...doomed]);
      } catch (e) {
        const msg = `Removing the ACLs failed: ${(e as Error).message}`;
        return { throttleTimeMs: 0, filterResults: filterResults.map((r) => ({ errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: msg, matchingAcls: [] })) };
      }
      return { throttleTimeMs: 0, filterResults };
    },
  };
}
