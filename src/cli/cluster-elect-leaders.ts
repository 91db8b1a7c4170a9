/**
 * `runnel cluster elect-leaders`: Kafka's ElectLeaders (like `kafka-leader-election`). PREFERRED (default) gives
 * partitions back to their first replica; UNCLEAN gives a leaderless partition any live replica. Without
 * `--topic` every partition is asked (those that need no election are not listed). One line per partition.
 */
import { parseArgs } from "node:util";
import { Admin } from "../client/admin.ts";
import { ErrorCode, errorName, KafkaError } from "../protocol/errors.ts";
import type { ElectLeadersResponse } from "../protocol/generated/43_elect_leaders.ts";
import { ElectionType } from "../cluster/leader-election.ts";
import { CLIENT_FLAGS, CLIENT_FLAGS_HELP, clusterOptions, intFlag, runCommand, UsageError } from "./client-flags.ts";
import { formatTable } from "./table.ts";

/** Help text for `runnel cluster elect-leaders`. */
export const CLUSTER_ELECT_USAGE = `Usage: runnel cluster elect-leaders [--type preferred|unclean] [--topic T [--partition P]...] [options]

Runs leader elections (Kafka's ElectLeaders). preferred: the first replica leads again where it is live and in
sync. unclean: a partition without a leader gets one, from outside the ISR if need be (may lose records).
Without --topic, every partition is asked and only the ones elected or refused are listed.

Options:
      --type TYPE            preferred (default) or unclean
      --topic NAME           Only this topic (all its partitions unless --partition is given)
      --partition N          Only this partition of --topic (repeatable)
${CLIENT_FLAGS_HELP}

Exit code 1 when an election was refused for a reason other than "not needed".`;

/** Runs `runnel cluster elect-leaders`; returns the exit code. */
export function clusterElectLeadersCommand(argv: string[]): Promise<number> {
  return runCommand("cluster elect-leaders", CLUSTER_ELECT_USAGE, async () => {
    const { values } = parseArgs({
      args: argv,
      options: { ...CLIENT_FLAGS, type: { type: "string" }, topic: { type: "string" }, partition: { type: "string", multiple: true } },
      strict: true,
    });
    if (values.help) {
      console.log(CLUSTER_ELECT_USAGE);
      return 0;
    }
    const typeName = (values.type ?? "preferred").toLowerCase();
    if (typeName !== "preferred" && typeName !== "unclean") throw new UsageError(`--type must be preferred or unclean, got '${values.type}'`);
    const electionType = typeName === "preferred" ? ElectionType.PREFERRED : ElectionType.UNCLEAN;
    if (values.partition !== undefined && values.topic === undefined) throw new UsageError("--partition needs --topic");
    const admin = new Admin(clusterOptions(values));
    await admin.connect();
    try {
      let topicPartitions: { topic: string; partitions: number[] }[] | null = null;
      if (values.topic !== undefined) {
        const partitions = values.partition?.map((p) => intFlag("partition", p)!) ?? (await admin.describeTopics([values.topic]))[0].partitions.map((p) => p.partition);
        topicPartitions = [{ topic: values.topic, partitions }];
      }
      const res = await admin.controllerRequest<ElectLeadersResponse>(43, { electionType, topicPartitions, timeoutMs: 30_000 });
      if (res.errorCode !== undefined && res.errorCode !== ErrorCode.NONE) throw new KafkaError(res.errorCode, `election refused: ${errorName(res.errorCode)}`);
      const rows: string[][] = [];
      let refused = 0;
      for (const t of res.replicaElectionResults) {
        for (const p of t.partitionResult) {
          if (p.errorCode !== ErrorCode.NONE && p.errorCode !== ErrorCode.ELECTION_NOT_NEEDED) refused++;
          rows.push([t.topic, String(p.partitionId), p.errorCode === ErrorCode.NONE ? "ELECTED" : errorName(p.errorCode), p.errorMessage ?? ""]);
        }
      }
      if (rows.length === 0) console.log(`No partition needed a ${typeName} election.`);
      else process.stdout.write(formatTable([["TOPIC", "PARTITION", "RESULT", "DETAIL"], ...rows]));
      return refused > 0 ? 1 : 0;
    } finally {
      await admin.close();
    }
  });
}
