/**
 * `runnel acl add|list|remove`: ACLs, like `kafka-acls.sh`. A resource is `--topic`, `--group`,
 * `--transactional-id` or `--cluster`, with `--pattern literal|prefixed`; an entry is `--principal`, `--operation`,
 * `--host` and `--deny` (ALLOW by default).
 */
import { parseArgs } from "node:util";
import { Admin } from "../client/admin.ts";
import { errorName, KafkaError } from "../protocol/errors.ts";
import { AclOperation, AclPermission, CLUSTER_NAME, PatternType, ResourceType } from "../security/acl.ts";
import type { CreateAclsResponse } from "../protocol/generated/30_create_acls.ts";
import type { DescribeAclsResponse } from "../protocol/generated/29_describe_acls.ts";
import type { DeleteAclsResponse } from "../protocol/generated/31_delete_acls.ts";
import { CLIENT_FLAGS, CLIENT_FLAGS_HELP, clusterOptions, runCommand, UsageError } from "./client-flags.ts";
import { formatTable } from "./table.ts";

/** Help text for `runnel acl`. */
export const ACL_USAGE = `Usage: runnel acl <command> [options]

Commands:
  add       --principal User:NAME --operation OP RESOURCE [--host H] [--deny] [--pattern literal|prefixed]
  list      [RESOURCE] [--principal P]          ACLs (matching the resource as the authorizer would)
  remove    RESOURCE [--principal P] [--operation OP] [--host H] [--deny|--allow] [--pattern ...]

RESOURCE: --topic NAME | --group NAME | --transactional-id NAME | --cluster
OP: All Read Write Create Delete Alter Describe ClusterAction DescribeConfigs AlterConfigs IdempotentWrite

Options:
${CLIENT_FLAGS_HELP}`;

const name = (table: Record<string, number>, code: number) => Object.entries(table).find(([, v]) => v === code)?.[0] ?? String(code);
const OPS: Record<string, number> = Object.fromEntries(Object.entries(AclOperation).map(([k, v]) => [k.replace(/_/g, "").toLowerCase(), v]));

/** Runs `runnel acl ...`; returns the exit code. */
export function aclCommand(argv: string[]): Promise<number> {
  return runCommand("acl", ACL_USAGE, async () => {
    const [sub, ...rest] = argv;
    if (sub === undefined || sub === "-h" || sub === "--help" || sub === "help") {
      console.log(ACL_USAGE);
      return sub === undefined ? 2 : 0;
    }
    const { values } = parseArgs({
      args: rest,
      options: {
        ...CLIENT_FLAGS,
        topic: { type: "string" }, group: { type: "string" }, "transactional-id": { type: "string" }, cluster: { type: "boolean" },
        pattern: { type: "string" }, principal: { type: "string" }, operation: { type: "string" }, host: { type: "string" },
        deny: { type: "boolean" }, allow: { type: "boolean" },
      },
      strict: true,
    });
    const resources: Array<[number, string] | null> = [
      values.topic !== undefined ? [ResourceType.TOPIC, values.topic] : null,
      values.group !== undefined ? [ResourceType.GROUP, values.group] : null,
      values["transactional-id"] !== undefined ? [ResourceType.TRANSACTIONAL_ID, values["transactional-id"]] : null,
      values.cluster ? [ResourceType.CLUSTER, CLUSTER_NAME] : null,
    ];
    const named = resources.filter((r): r is [number, string] => r !== null);
    if (named.length > 1) throw new UsageError("name one resource");
    const resource = named[0] ?? null;
    const pattern = values.pattern === undefined ? null : values.pattern.toLowerCase() === "prefixed" ? PatternType.PREFIXED : values.pattern.toLowerCase() === "literal" ? PatternType.LITERAL : -1;
    if (pattern === -1) throw new UsageError(`--pattern must be literal or prefixed, got '${values.pattern}'`);
    const op = values.operation === undefined ? null : OPS[values.operation.toLowerCase().replace(/[-_]/g, "")];
    if (op === undefined) throw new UsageError(`unknown --operation '${values.operation}'`);
    const permission = values.deny ? AclPermission.DENY : values.allow ? AclPermission.ALLOW : null;
    const admin = new Admin(clusterOptions(values));
    await admin.connect();
    try {
      if (sub === "add") {
        if (resource === null || values.principal === undefined || op === null) throw new UsageError("add needs a resource, --principal and --operation");
        const res = await admin.controllerRequest<CreateAclsResponse>(30, { creations: [{ resourceType: resource[0], resourceName: resource[1], resourcePatternType: pattern ?? PatternType.LITERAL, principal: values.principal, host: values.host ?? "*", operation: op, permissionType: permission ?? AclPermission.ALLOW }] });
        const r = res.results[0];
        if (r.errorCode !== 0) throw new KafkaError(r.errorCode, r.errorMessage ?? errorName(r.errorCode));
        console.log("ACL added.");
        return 0;
      }
      const filter = {
        resourceTypeFilter: resource?.[0] ?? ResourceType.ANY,
        resourceNameFilter: resource?.[1] ?? null,
        patternTypeFilter: pattern ?? (sub === "list" && resource !== null ? PatternType.MATCH : PatternType.ANY),
        principalFilter: values.principal ?? null,
        hostFilter: values.host ?? null,
        operation: op ?? AclOperation.ANY,
        permissionType: permission ?? AclPermission.ANY,
      };
      if (sub === "list") {
        const res = await admin.controllerRequest<DescribeAclsResponse>(29, filter);
        if (res.errorCode !== 0) throw new KafkaError(res.errorCode, res.errorMessage ?? undefined);
        const rows = res.resources.flatMap((r) => r.acls.map((a) => [name(ResourceType, r.resourceType), r.resourceName, name(PatternType, r.patternType), a.principal, a.host, name(AclOperation, a.operation), name(AclPermission, a.permissionType)]));
        console.log(formatTable([["RESOURCE", "NAME", "PATTERN", "PRINCIPAL", "HOST", "OPERATION", "PERMISSION"], ...rows]));
        return 0;
      }
      if (sub === "remove") {
        if (resource === null) throw new UsageError("remove needs a resource");
        const res = await admin.controllerRequest<DeleteAclsResponse>(31, { filters: [filter] });
        const r = res.filterResults[0];
        if (r.errorCode !== 0) throw new KafkaError(r.errorCode, r.errorMessage ?? undefined);
        console.log(`${r.matchingAcls.length} ACL(s) removed.`);
        return 0;
      }
      throw new UsageError(`unknown command '${sub}'`);
    } finally {
      await admin.close();
    }
  });
}
