/**
 * `runnel`: the one command line. Subcommands live in their own modules; this file only routes.
 */
import { RUNNEL_VERSION, KAFKA_PROTOCOL_RELEASE } from "../version.ts";

/** Top-level usage text. */
export const USAGE = `runnel ${RUNNEL_VERSION}: a Kafka-compatible event-streaming broker (Kafka ${KAFKA_PROTOCOL_RELEASE} protocol)

Usage: runnel <command> [options]

Commands:
  start                 Start the broker (default 127.0.0.1:9092, data in ./runnel-data)
  dev                   A local cluster: etcd and 3 brokers on 127.0.0.1 (runnel dev --brokers N)
  topic <sub>           create | list | describe | alter-config | add-partitions | delete
  produce <topic>       Produce lines from stdin or a file
  consume <topic>       Consume records
  group <sub>           list | describe | delete | reset-offsets
  user <sub>            add | remove | list SCRAM users
  acl <sub>             add | list | remove ACLs
  quota <sub>           set | remove | describe client quotas
  bench <kind>          produce | consume | e2e load tests against any Kafka broker
  cluster <sub>         describe | reassign | drain | elect-leaders (operating a cluster; runnel cluster --help)

Options:
  -h, --help            Show help (also: runnel <command> --help)
  -v, --version         Show the version

Run 'runnel start --help' for broker settings.`;

/** Runs the CLI with `argv` (without the executable) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === "-h" || cmd === "--help" || cmd === "help") {
    console.log(USAGE);
    return cmd === undefined ? 1 : 0;
  }
  if (cmd === "-v" || cmd === "--version" || cmd === "version") {
    console.log(`runnel ${RUNNEL_VERSION} (Kafka protocol ${KAFKA_PROTOCOL_RELEASE})`);
    return 0;
  }
  switch (cmd) {
    case "start": {
      const { startCommand } = await import("./start.ts");
      return startCommand(rest);
    }
    case "dev": {
      const { devCommand } = await import("./dev.ts");
      return devCommand(rest);
    }
    case "topic": {
      const { topicCommand } = await import("./topic.ts");
      return topicCommand(rest);
    }
    case "produce": {
      const { produceCommand } = await import("./produce.ts");
      return produceCommand(rest);
    }
    case "consume": {
      const { consumeCommand } = await import("./consume.ts");
      return consumeCommand(rest);
    }
    case "group": {
      const { groupCommand } = await import("./group.ts");
      return groupCommand(rest);
    }
    case "user": {
      const { userCommand } = await import("./user.ts");
      return userCommand(rest);
    }
    case "quota": {
      const { quotaCommand } = await import("./quota.ts");
      return quotaCommand(rest);
    }
    case "acl": {
      const { aclCommand } = await import("./acl.ts");
      return aclCommand(rest);
    }
    case "cluster": {
      const { clusterCommand } = await import("./cluster.ts");
      return clusterCommand(rest);
    }
    case "bench": {
      const { benchCommand } = await import("./bench.ts");
      return benchCommand(rest);
    }
    default:
      console.error(`runnel: unknown command '${cmd}'\n\n${USAGE}`);
      return 2;
  }
}

if (import.meta.main) {
  const argv = typeof Deno !== "undefined" ? Deno.args : process.argv.slice(2);
  main(argv).then(
    (code) => {
      process.exit(code);
    },
    (e) => {
      console.error(`runnel: ${e instanceof Error ? e.message : e}`);
      process.exit(1);
    },
  );
}

declare const Deno: { args: string[] } | undefined;
