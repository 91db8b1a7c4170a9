/**
 * CreateAcls (key 30), versions 1-3 (v0 removed in Kafka 4; v2 flexible). Each creation is validated on its own
 * (INVALID_REQUEST naming the problem); valid ones are stored in the metadata store.
 */
import type { CreateAclsRequest, CreateAclsResponse } from "../../protocol/generated/30_create_acls.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { AclStore } from "../../security/acl-store.ts";
import { bindingProblem, type AclBinding } from "../../security/acl.ts";

/** Builds the CreateAcls handler. */
export function createAclsHandler(store: AclStore): ApiHandler<CreateAclsRequest, CreateAclsResponse> {
  return {
    apiKey: 30,
    minVersion: 1,
    maxVersion: 3,
    async handle(_ctx, req) {
      const bindings: AclBinding[] = req.creations.map((c) => ({ resourceType: c.resourceType, resourceName: c.resourceName, patternType: c.resourcePatternType, principal: c.principal, host: c.host, operation: c.operation, permissionType: c.permissionType }));
      const problems = bindings.map(bindingProblem);
      const valid = bindings.filter((_, i) => problems[i] === null);
      let stored: string | null = null;
      try {
        await store.add(valid);
      } catch (e) {
        stored = `Storing the ACLs failed: ${(e as Error).message}`;
      }
      return {
        throttleTimeMs: 0,
        results: problems.map((p) =>
          p !== null ? { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: p } : stored !== null ? { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: stored } : { errorCode: ErrorCode.NONE, errorMessage: null },
        ),
      };
    },
  };
}
