/**
 * CreateAcls (key 30), versions 1-3 (v0 removed in Kafka 4; v2 flexible). Each creation is validated on its own
 * (INVALID_REQUEST naming the problem); valid ones are stored in the metadata store. A request with an UNKNOWN,
 * ANY or MATCH code in any creation is refused whole, as Kafka applies none of it (it closes the connection on an
 * UNKNOWN code, and answers UNKNOWN_SERVER_ERROR to every creation on ANY or MATCH).
 */
import type { CreateAclsRequest, CreateAclsResponse } from "../../protocol/generated/30_create_acls.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { AclStore } from "../../security/acl-store.ts";
import { bindingProblem, concreteBinding, hasUnknownElement, type AclBinding } from "../../security/acl.ts";

/** Builds the CreateAcls handler. */
export function createAclsHandler(store: AclStore): ApiHandler<CreateAclsRequest, CreateAclsResponse> {
  return {
    apiKey: 30,
    minVersion: 1,
    maxVersion: 3,
    async handle(_ctx, req) {
      const bindings: AclBinding[] = req.creations.map((c) => ({ resourceType: c.resourceType, resourceName: c.resourceName, patternType: c.resourcePatternType, principal: c.principal, host: c.host, operation: c.operation, permissionType: c.permissionType }));
      // Kafka applies none of a request naming an UNKNOWN element (it cannot parse it) or an ANY or MATCH code in a
      // creation (its controller cannot build the binding and fails the whole request): every creation is refused
      if (req.creations.some((c) => hasUnknownElement(c) || !concreteBinding(c))) {
        return { throttleTimeMs: 0, results: req.creations.map(() => ({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "The request has an ACL binding with an UNKNOWN, ANY or MATCH element" })) };
      }
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
