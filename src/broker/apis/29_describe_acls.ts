/**
 * DescribeAcls (key 29), versions 1-3 (v0 removed in Kafka 4; v2 flexible): the ACLs matching one filter, grouped by
 * resource pattern. A filter with an UNKNOWN element is INVALID_REQUEST.
 */
import type { DescribeAclsRequest, DescribeAclsResponse, DescribeAclsResponseDescribeAclsResource } from "../../protocol/generated/29_describe_acls.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { AclStore } from "../../security/acl-store.ts";
import { filterMatches, filterProblem } from "../../security/acl.ts";

/** Builds the DescribeAcls handler. */
export function describeAclsHandler(store: AclStore): ApiHandler<DescribeAclsRequest, DescribeAclsResponse> {
  return {
    apiKey: 29,
    minVersion: 1,
    maxVersion: 3,
    handle(_ctx, req) {
      const problem = filterProblem(req);
      if (problem !== null) return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem, resources: [] };
      const byResource = new Map<string, DescribeAclsResponseDescribeAclsResource>();
      for (const a of store.all()) {
        if (!filterMatches(req, a)) continue;
        const key = `${a.resourceType}:${a.patternType}:${a.resourceName}`;
        let r = byResource.get(key);
        if (r === undefined) byResource.set(key, (r = { resourceType: a.resourceType, resourceName: a.resourceName, patternType: a.patternType, acls: [] }));
        r.acls.push({ principal: a.principal, host: a.host, operation: a.operation, permissionType: a.permissionType });
      }
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, resources: [...byResource.values()] };
    },
  };
}
