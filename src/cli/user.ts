/**
 * `runnel user add|remove|list`: SCRAM users, like `kafka-configs.sh --entity-type users --add-config
 * SCRAM-SHA-512=[password=...]`. The password is salted and hashed here (PBKDF2); only the salted password travels
 * (AlterUserScramCredentials) and the broker keeps StoredKey and ServerKey.
 */
import { parseArgs } from "node:util";
import { Admin } from "../client/admin.ts";
import { errorName, KafkaError } from "../protocol/errors.ts";
import { pbkdf2 } from "../platform/crypto.ts";
import { systemRandom } from "../platform/random.ts";
import { SCRAM_MECHANISMS } from "../security/scram.ts";
import type { AlterUserScramCredentialsResponse } from "../protocol/generated/51_alter_user_scram_credentials.ts";
import type { DescribeUserScramCredentialsResponse } from "../protocol/generated/50_describe_user_scram_credentials.ts";
import { CLIENT_FLAGS, CLIENT_FLAGS_HELP, clusterOptions, intFlag, runCommand, UsageError } from "./client-flags.ts";
import { formatTable } from "./table.ts";

/** Help text for `runnel user`. */
export const USER_USAGE = `Usage: runnel user <command> [options]

Commands:
  add NAME --password PW       Create or replace NAME's SCRAM credential
      --mechanism M                SCRAM-SHA-256 or SCRAM-SHA-512 (default SCRAM-SHA-512)
      --iterations N               PBKDF2 iterations, 4096-16384 (default 8192)
  remove NAME                  Delete NAME's credential (--mechanism, default both)
  list                         Users with SCRAM credentials, their mechanisms and iterations

Options:
${CLIENT_FLAGS_HELP}`;

/** Runs `runnel user ...`; returns the exit code. */
export function userCommand(argv: string[]): Promise<number> {
  return runCommand("user", USER_USAGE, async () => {
    const [sub, ...rest] = argv;
    if (sub === undefined || sub === "-h" || sub === "--help" || sub === "help") {
      console.log(USER_USAGE);
      return sub === undefined ? 2 : 0;
    }
    const { values, positionals } = parseArgs({
      args: rest,
      options: { ...CLIENT_FLAGS, password: { type: "string" }, mechanism: { type: "string" }, iterations: { type: "string" } },
      allowPositionals: true,
      strict: true,
    });
    const mechanisms = values.mechanism === undefined ? null : SCRAM_MECHANISMS.filter((m) => m.name === values.mechanism!.toUpperCase());
    if (mechanisms !== null && mechanisms.length === 0) throw new UsageError(`--mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512, got '${values.mechanism}'`);
    const admin = new Admin(clusterOptions(values));
    await admin.connect();
    try {
      if (sub === "list") {
        const res = await admin.controllerRequest<DescribeUserScramCredentialsResponse>(50, { users: null });
        if (res.errorCode !== 0) throw new KafkaError(res.errorCode, res.errorMessage ?? undefined);
        const rows = res.results.flatMap((r) => r.credentialInfos.map((c) => [r.user, SCRAM_MECHANISMS.find((m) => m.id === c.mechanism)?.name ?? String(c.mechanism), String(c.iterations)]));
        console.log(formatTable([["USER", "MECHANISM", "ITERATIONS"], ...rows]));
        return 0;
      }
      const name = positionals[0];
      if (name === undefined || positionals.length > 1) throw new UsageError(`${sub} takes one user name`);
      if (sub === "remove") {
        // one request per mechanism: AlterUserScramCredentials takes one alteration per user and request (Kafka's
        // rule); without --mechanism, every mechanism the user has
        let ids = mechanisms?.map((m) => m.id);
        if (ids === undefined) {
          const held = await admin.controllerRequest<DescribeUserScramCredentialsResponse>(50, { users: [{ name }] });
          const r = held.results[0];
          if (held.errorCode !== 0) throw new KafkaError(held.errorCode, held.errorMessage ?? undefined);
          if (r.errorCode !== 0) throw new KafkaError(r.errorCode, r.errorMessage ?? errorName(r.errorCode));
          ids = r.credentialInfos.map((c) => c.mechanism);
        }
        for (const mechanism of ids) {
          const res = await admin.controllerRequest<AlterUserScramCredentialsResponse>(51, { deletions: [{ name, mechanism }], upsertions: [] });
          const failed = res.results.find((x) => x.errorCode !== 0);
          if (failed !== undefined) throw new KafkaError(failed.errorCode, `${failed.errorMessage ?? errorName(failed.errorCode)}`);
        }
        console.log(`User ${name} removed.`);
        return 0;
      }
      let body;
      if (sub === "add") {
        if (values.password === undefined || values.password === "") throw new UsageError("add needs --password");
        const iterations = intFlag("iterations", values.iterations, 1) ?? 8192;
        const m = (mechanisms ?? [SCRAM_MECHANISMS[1]])[0];
        const salt = new Uint8Array(32);
        systemRandom.fill(salt);
        const saltedPassword = pbkdf2(m.hash, new TextEncoder().encode(values.password.normalize("NFKC")), salt, iterations);
        body = { deletions: [], upsertions: [{ name, mechanism: m.id, iterations, salt, saltedPassword }] };
      } else {
        throw new UsageError(`unknown command '${sub}'`);
      }
      const res = await admin.controllerRequest<AlterUserScramCredentialsResponse>(51, body);
      const failed = res.results.find((r) => r.errorCode !== 0);
      if (failed !== undefined) throw new KafkaError(failed.errorCode, `${failed.errorMessage ?? errorName(failed.errorCode)}`);
      console.log(`User ${name} added.`);
      return 0;
    } finally {
      await admin.close();
    }
  });
}
