/**
 * `runnel cluster <sub>`: operating a cluster. This module only routes; each subcommand lives in its own
 * `cluster-*.ts` module and is listed once in {@link CLUSTER_SUBCOMMANDS}.
 */

/** One `runnel cluster` subcommand: its help line and the module that runs it. */
interface ClusterSubcommand {
  /** One-line summary for the usage text. */
  summary: string;
  /** Loads the subcommand and runs it with its arguments; resolves with the exit code. */
  run(argv: string[]): Promise<number>;
}

/** Every `runnel cluster` subcommand, by name (add new ones here, one entry each). */
export const CLUSTER_SUBCOMMANDS: Record<string, ClusterSubcommand> = {
  describe: {
    summary: "Brokers, racks, the controller, leaders per broker, under-replicated and offline partitions",
    run: async (argv) => (await import("./cluster-describe.ts")).clusterDescribeCommand(argv),
  },
  "elect-leaders": {
    summary: "Preferred (default) or unclean leader elections (Kafka's ElectLeaders)",
    run: async (argv) => (await import("./cluster-elect-leaders.ts")).clusterElectLeadersCommand(argv),
  },
  reassign: {
    summary: "Plan an even spread of replicas over the brokers (racks respected); --execute runs it with progress",
    run: async (argv) => (await import("./cluster-reassign.ts")).clusterReassignCommand(argv),
  },
  drain: {
    summary: "Move every replica off a broker before it is removed",
    run: async (argv) => (await import("./cluster-reassign.ts")).clusterDrainCommand(argv),
  },
};

/** Help text for `runnel cluster`. */
export function clusterUsage(): string {
  const names = Object.keys(CLUSTER_SUBCOMMANDS);
  const width = Math.max(...names.map((n) => n.length)) + 2;
  const lines = names.map((n) => `  ${n.padEnd(width)}${CLUSTER_SUBCOMMANDS[n].summary}`);
  return `Usage: runnel cluster <command> [options]

Commands:
${lines.join("\n")}

Run 'runnel cluster <command> --help' for its options.`;
}

/** Runs `runnel cluster ...`; returns the exit code. */
export async function clusterCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "-h" || sub === "--help" || sub === "help") {
    console.log(clusterUsage());
    return sub === undefined ? 2 : 0;
  }
  const command = Object.hasOwn(CLUSTER_SUBCOMMANDS, sub) ? CLUSTER_SUBCOMMANDS[sub] : undefined;
  if (command === undefined) {
    console.error(`runnel cluster: unknown command '${sub}'\n\n${clusterUsage()}`);
    return 2;
  }
  return command.run(rest);
}
