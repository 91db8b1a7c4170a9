/**
 * `runnel quota set|remove|describe`: client quotas, like `kafka-configs.sh --entity-type users|clients|ips`.
 * An entity is `--user NAME` and/or `--client NAME` (a client id; `--user-default` / `--client-default` for the
 * default entities), or `--ip ADDRESS` / `--ip-default` for `connection_creation_rate` (KIP-612).
 */
import { parseArgs } from "node:util";
import { Admin } from "../client/admin.ts";
import { KafkaError, errorName } from "../protocol/errors.ts";
import type { AlterClientQuotasResponse } from "../protocol/generated/49_alter_client_quotas.ts";
import type { DescribeClientQuotasResponse } from "../protocol/generated/48_describe_client_quotas.ts";
import { CLIENT_FLAGS, CLIENT_FLAGS_HELP, clusterOptions, keyValues, runCommand, UsageError } from "./client-flags.ts";
import { formatTable } from "./table.ts";

/** Help text for `runnel quota`. */
export const QUOTA_USAGE = `Usage: runnel quota <command> ENTITY [options]

Commands:
  set ENTITY --set KEY=VALUE...     Set quotas (producer_byte_rate, consumer_byte_rate, request_percentage, controller_mutation_rate;
                                    connection_creation_rate for an ip entity)
  remove ENTITY --key KEY...        Remove quotas
  describe [ENTITY]                 Quotas of the entity, or of every entity

ENTITY: --user NAME | --user-default, and/or --client NAME | --client-default; or --ip ADDRESS | --ip-default

Options:
${CLIENT_FLAGS_HELP}`;

/** Runs `runnel quota ...`; returns the exit code. */
export function quotaCommand(argv: string[]): Promise<number> {
  return runCommand("quota", QUOTA_USAGE, async () => {
    const [sub, ...rest] = argv;
    if (sub === undefined || sub === "-h" || sub === "--help" || sub === "help") {
      console.log(QUOTA_USAGE);
      return sub === undefined ? 2 : 0;
    }
    const { values } = parseArgs({
      args: rest,
      options: {
        ...CLIENT_FLAGS,
        user: { type: "string" }, "user-default": { type: "boolean" }, client: { type: "string" }, "client-default": { type: "boolean" },
        ip: { type: "string" }, "ip-default": { type: "boolean" },
        set: { type: "string", multiple: true }, key: { type: "string", multiple: true },
      },
      strict: true,
    });
    const entity: Array<{ entityType: string; entityName: string | null }> = [];
    if (values.user !== undefined || values["user-default"]) entity.push({ entityType: "user", entityName: values.user ?? null });
    if (values.client !== undefined || values["client-default"]) entity.push({ entityType: "client-id", entityName: values.client ?? null });
    if (values.ip !== undefined || values["ip-default"]) entity.push({ entityType: "ip", entityName: values.ip ?? null });
    const admin = new Admin(clusterOptions(values));
    await admin.connect();
    try {
      if (sub === "describe") {
        const components = entity.map((e) => ({ entityType: e.entityType, matchType: e.entityName === null ? 1 : 0, match: e.entityName }));
        const res = await admin.controllerRequest<DescribeClientQuotasResponse>(48, { components, strict: entity.length > 0 });
        if (res.errorCode !== 0) throw new KafkaError(res.errorCode, res.errorMessage ?? undefined);
        const name = (e: { entityType: string; entityName: string | null }) => `${e.entityType}=${e.entityName ?? "<default>"}`;
        const rows = (res.entries ?? []).flatMap((en) => en.values.map((v) => [en.entity.map(name).join(","), v.key, String(v.value)]));
        console.log(formatTable([["ENTITY", "KEY", "VALUE"], ...rows]));
        return 0;
      }
      if (entity.length === 0) throw new UsageError(`${sub} needs --user/--user-default and/or --client/--client-default, or --ip/--ip-default`);
      let ops;
      if (sub === "set") ops = Object.entries(keyValues("set", values.set)).map(([key, v]) => ({ key, value: Number(v), remove: false }));
      else if (sub === "remove") ops = (values.key ?? []).map((key) => ({ key, value: 0, remove: true }));
      else throw new UsageError(`unknown command '${sub}'`);
      if (ops.length === 0) throw new UsageError(`${sub} needs ${sub === "set" ? "--set KEY=VALUE" : "--key KEY"}`);
      const res = await admin.controllerRequest<AlterClientQuotasResponse>(49, { entries: [{ entity, ops }], validateOnly: false });
      const e = res.entries[0];
      if (e.errorCode !== 0) throw new KafkaError(e.errorCode, e.errorMessage ?? errorName(e.errorCode));
      console.log("Quotas updated.");
      return 0;
    } finally {
      await admin.close();
    }
  });
}
