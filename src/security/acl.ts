/**
 * ACLs with Kafka's authorizer semantics: bindings of (resource type, name, LITERAL or PREFIXED pattern) to
 * (principal, host, operation, ALLOW or DENY); filters as CreateAcls/DescribeAcls/DeleteAcls carry them; and the
 * decision: `super.users` pass; a resource with no matching ACL at all is allowed only with
 * `allow.everyone.if.no.acl.found`; a matching DENY wins over any ALLOW; READ, WRITE, DELETE and ALTER imply
 * DESCRIBE, ALTER_CONFIGS implies DESCRIBE_CONFIGS; `User:*` and host `*` are wildcards.
 */
import type { DescribeAclsRequest } from "../protocol/generated/29_describe_acls.ts";
import type { DeleteAclsResponseDeleteAclsMatchingAcl } from "../protocol/generated/31_delete_acls.ts";

/** Kafka's resource type codes. */
export const ResourceType = { UNKNOWN: 0, ANY: 1, TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5, DELEGATION_TOKEN: 6, USER: 7 } as const;
/** Kafka's pattern type codes. */
export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;
/** Kafka's ACL operation codes. */
export const AclOperation = {
  UNKNOWN: 0, ANY: 1, ALL: 2, READ: 3, WRITE: 4, CREATE: 5, DELETE: 6, ALTER: 7, DESCRIBE: 8, CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10, ALTER_CONFIGS: 11, IDEMPOTENT_WRITE: 12, CREATE_TOKENS: 13, DESCRIBE_TOKENS: 14,
  TWO_PHASE_COMMIT: 15,
} as const;
/** Kafka's permission type codes. */
export const AclPermission = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;

/** The cluster resource's only name. */
export const CLUSTER_NAME = "kafka-cluster";

/** One ACL (the fields DeleteAcls reports for a matching ACL). */
export type AclBinding = Omit<DeleteAclsResponseDeleteAclsMatchingAcl, "errorCode" | "errorMessage" | "_unknownTags">;

/** A filter as DescribeAcls and DeleteAcls carry it (null strings and ANY codes match everything). */
export type AclFilter = Omit<DescribeAclsRequest, "_unknownTags">;

/** Why a binding cannot be created, or null when it is valid. */
export function bindingProblem(b: AclBinding): string | null {
  if (![ResourceType.TOPIC, ResourceType.GROUP, ResourceType.CLUSTER, ResourceType.TRANSACTIONAL_ID, ResourceType.DELEGATION_TOKEN, ResourceType.USER].includes(b.resourceType as never)) return `Invalid resource type ${b.resourceType}`;
  if (b.patternType !== PatternType.LITERAL && b.patternType !== PatternType.PREFIXED) return `Invalid pattern type ${b.patternType}: must be LITERAL or PREFIXED`;
  if (b.resourceName === "") return "Resource name must not be empty";
  // Kafka checks only the cluster resource's name (a PREFIXED kafka-cluster is accepted)
  if (b.resourceType === ResourceType.CLUSTER && b.resourceName !== CLUSTER_NAME) return `The only valid name for the CLUSTER resource is ${CLUSTER_NAME}`;
  // Kafka's AclControlManager asks only for the colon separating type and name ("User:" is accepted)
  if (!b.principal.includes(":")) return `Invalid principal '${b.principal}': no colon separates the principal type from its name`;
  if (b.host === "") return "Host must not be empty (use * for any host)";
  if (b.operation < AclOperation.ALL || b.operation > AclOperation.TWO_PHASE_COMMIT) return `Invalid operation ${b.operation}`;
  if (b.permissionType !== AclPermission.ALLOW && b.permissionType !== AclPermission.DENY) return `Invalid permission type ${b.permissionType}`;
  return null;
}

/**
 * Whether a binding or filter names an UNKNOWN element (code 0, or a code this broker does not know), as Kafka's
 * AclBinding.isUnknown / AclBindingFilter.isUnknown: Kafka cannot even parse such a request (it closes the
 * connection), so nothing of it is applied; Runnel refuses the whole request with INVALID_REQUEST instead.
 */
export function hasUnknownElement(x: { resourceType?: number; resourceTypeFilter?: number; resourcePatternType?: number; patternType?: number; patternTypeFilter?: number; operation: number; permissionType: number }): boolean {
  const type = x.resourceType ?? x.resourceTypeFilter ?? 0;
  const pattern = x.resourcePatternType ?? x.patternType ?? x.patternTypeFilter ?? 0;
  const known = (code: number, max: number) => code > 0 && code <= max;
  return !known(type, ResourceType.USER) || !known(pattern, PatternType.PREFIXED) || !known(x.operation, AclOperation.TWO_PHASE_COMMIT) || !known(x.permissionType, AclPermission.ALLOW);
}

/**
 * Whether a creation names one resource type, pattern type, operation and permission (no ANY or MATCH), as Kafka's
 * ResourcePattern and AccessControlEntry constructors require.
 */
export function concreteBinding(c: { resourceType: number; resourcePatternType: number; operation: number; permissionType: number }): boolean {
  return c.resourceType > ResourceType.ANY && c.resourcePatternType > PatternType.MATCH && c.operation > AclOperation.ANY && c.permissionType > AclPermission.ANY;
}

/** Whether a filter is usable for DescribeAcls/DeleteAcls (no UNKNOWN codes), else the problem. */
export function filterProblem(f: AclFilter): string | null {
  return hasUnknownElement(f) ? "The filter has an UNKNOWN element" : null;
}

/** Whether `b` matches filter `f` (Kafka's AclBindingFilter.matches, with MATCH patterns). */
export function filterMatches(f: AclFilter, b: AclBinding): boolean {
  if (f.resourceTypeFilter !== ResourceType.ANY && f.resourceTypeFilter !== b.resourceType) return false;
  if (f.principalFilter !== null && f.principalFilter !== b.principal) return false;
  if (f.hostFilter !== null && f.hostFilter !== b.host) return false;
  if (f.operation !== AclOperation.ANY && f.operation !== b.operation) return false;
  if (f.permissionType !== AclPermission.ANY && f.permissionType !== b.permissionType) return false;
  const name = f.resourceNameFilter;
  switch (f.patternTypeFilter) {
    case PatternType.ANY:
      return name === null || name === b.resourceName;
    case PatternType.MATCH:
      if (name === null) return true;
      if (b.patternType === PatternType.LITERAL) return b.resourceName === name || b.resourceName === "*";
      return name.startsWith(b.resourceName);
    default:
      return f.patternTypeFilter === b.patternType && (name === null || name === b.resourceName);
  }
}

/** Operations an ALLOW for `op` also grants. */
function implied(aclOp: number, op: number): boolean {
  if (aclOp === AclOperation.ALL || aclOp === op) return true;
  if (op === AclOperation.DESCRIBE) return aclOp === AclOperation.READ || aclOp === AclOperation.WRITE || aclOp === AclOperation.DELETE || aclOp === AclOperation.ALTER;
  if (op === AclOperation.DESCRIBE_CONFIGS) return aclOp === AclOperation.ALTER_CONFIGS;
  return false;
}

/** Who is asking: principal (`User:alice`) and client address. */
export interface Requester {
  principal: string;
  host: string;
}

/**
 * The principal of a shard's requests to another shard of its node (transaction markers, verification of
 * partitions; src/shard): an inter-broker identity that passes like a super user. No client gets it: SASL and TLS
 * authenticate `User:` principals, and only the shard host hands a connection a principal of its own.
 */
export const SHARD_PRINCIPAL = "Runnel:shard";

/** Decides authorization from the current ACLs. */
export class Authorizer {
  constructor(
    private readonly acls: () => readonly AclBinding[],
    private readonly superUsers: ReadonlySet<string>,
    private readonly allowIfNoAcl: boolean,
  ) {}

  /** Whether `who` may perform `op` on the resource. */
  authorize(who: Requester, op: number, resourceType: number, name: string): boolean {
    if (this.superUsers.has(who.principal) || who.principal === SHARD_PRINCIPAL) return true;
    let any = false;
    let allowed = false;
    for (const a of this.acls()) {
      if (a.resourceType !== resourceType) continue;
      const covers = a.patternType === PatternType.LITERAL ? a.resourceName === name || a.resourceName === "*" : name.startsWith(a.resourceName);
      if (!covers) continue;
      any = true;
      if (a.principal !== who.principal && a.principal !== "User:*") continue;
      if (a.host !== "*" && a.host !== who.host) continue;
      if (a.permissionType === AclPermission.DENY) {
        if (a.operation === AclOperation.ALL || a.operation === op) return false;
      } else if (implied(a.operation, op)) {
        allowed = true;
      }
    }
    return any ? allowed : this.allowIfNoAcl;
  }

  /** Whether `who` holds an ALLOW for `op` on some resource of `resourceType` (Kafka's authorizeByResourceType, simplified: DENYs on other names do not count). */
  authorizeAny(who: Requester, op: number, resourceType: number): boolean {
    if (this.superUsers.has(who.principal) || who.principal === SHARD_PRINCIPAL) return true;
    return this.acls().some((a) => a.resourceType === resourceType && a.permissionType === AclPermission.ALLOW && (a.principal === who.principal || a.principal === "User:*") && (a.host === "*" || a.host === who.host) && implied(a.operation, op) && this.authorize(who, op, resourceType, a.patternType === PatternType.LITERAL ? a.resourceName : a.resourceName + "\u0000"));
  }
}

/** Parses `super.users` (`User:admin;User:ops`). */
export function parseSuperUsers(text: string): Set<string> {
  return new Set(text.split(";").map((s) => s.trim()).filter((s) => s !== ""));
}
