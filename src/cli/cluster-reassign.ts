/**
 * `runnel cluster reassign` and `runnel cluster drain <broker>`: plan moves that spread the replicas of every
 * partition evenly over a set of brokers (racks respected, as few replicas moved as possible; see
 * `reassignment-plan.ts`), print the plan, and with `--execute` (drain: by default) start them with
 * AlterPartitionReassignments and print progress from ListPartitionReassignments until every move is done.
 * `--throttle` sets Kafka's replication throttle for the move (the rates on the brokers involved, the moving
 * replicas on their topics) and removes it afterwards, as `kafka-reassign-partitions --throttle` does.
 */
import { parseArgs } from "node:util";
import { Admin, ConfigResourceType } from "../client/admin.ts";
import { alterPartitionReassignments, listPartitionReassignments } from "../client/reassignments.ts";
import { planEvenSpread, type PlannedMove } from "../cluster/reassignment-plan.ts";
import { CLIENT_FLAGS, CLIENT_FLAGS_HELP, clusterOptions, intFlag, runCommand, UsageError } from "./client-flags.ts";
import { formatTable } from "./table.ts";

/** Help text for `runnel cluster reassign`. */
export const CLUSTER_REASSIGN_USAGE = `Usage: runnel cluster reassign [options]

Plans moves that spread every partition's replicas evenly over the brokers (racks respected, few replicas moved),
prints the plan, and with --execute runs it, printing progress until every move completes.

Options:
      --brokers IDS          Brokers to spread over, comma-separated (default: every registered broker)
      --topic NAME           Only this topic (repeatable; default: every topic, internal ones too)
      --execute              Run the plan (without it, only print it)
      --throttle BYTES       While moving, limit replication to BYTES/s per broker (Kafka's
                             leader/follower.replication.throttled.rate); removed when the moves complete
      --interval-ms MS       Progress report interval (default 1000)
      --json                 Print the plan as JSON
${CLIENT_FLAGS_HELP}`;

/** Help text for `runnel cluster drain`. */
export const CLUSTER_DRAIN_USAGE = `Usage: runnel cluster drain <broker> [options]

Moves every replica off <broker> (spreading them evenly over the other brokers, racks respected) and waits until
the moves complete, printing progress; the broker can then be stopped and removed.

Options:
      --dry-run              Only print the plan
      --throttle BYTES       While moving, limit replication to BYTES/s per broker (removed afterwards)
      --interval-ms MS       Progress report interval (default 1000)
      --json                 Print the plan as JSON
${CLIENT_FLAGS_HELP}`;

const FLAGS = {
  ...CLIENT_FLAGS,
  throttle: { type: "string" },
  "interval-ms": { type: "string" },
  json: { type: "boolean" },
} as const;

/** The plan as a table: one row per moving partition. */
export function formatPlan(moves: readonly PlannedMove[]): string {
  if (moves.length === 0) return "Nothing to move: the replicas are already spread evenly.\n";
  const copies = moves.reduce((n, m) => n + m.replicas.filter((r) => !m.current.includes(r)).length, 0);
  const rows = moves.map((m) => [m.topic, String(m.partition), m.current.join(","), m.replicas.join(",")]);
  return `${moves.length} partition(s) to move, ${copies} new replica(s) to copy:\n${formatTable([["TOPIC", "PARTITION", "CURRENT", "TARGET"], ...rows])}`;
}

/** Plans against the cluster's metadata, prints, and (when `execute`) runs and reports progress; the exit code. */
async function planAndRun(admin: Admin, keep: (id: number) => boolean, onlyTopics: readonly string[], execute: boolean, json: boolean, throttle: number | undefined, intervalMs: number): Promise<number> {
  const all = await admin.listTopics(true);
  const topics = onlyTopics.length > 0 ? all.filter((t) => onlyTopics.includes(t.name)) : all;
  for (const name of onlyTopics) if (!all.some((t) => t.name === name)) throw new UsageError(`unknown topic '${name}'`);
  const brokers = [...admin.cluster.brokers.values()].filter((b) => keep(b.nodeId)).map((b) => ({ id: b.nodeId, rack: b.rack }));
  if (brokers.length === 0) throw new UsageError("no broker is left to hold the replicas");
  const placements = topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partition, replicas: p.replicas })));
  const moves = planEvenSpread(brokers, placements);
  process.stdout.write(json ? `${JSON.stringify({ version: 1, partitions: moves.map((m) => ({ topic: m.topic, partition: m.partition, replicas: m.replicas, current: m.current })) }, null, 2)}\n` : formatPlan(moves));
  if (!execute || moves.length === 0) return 0;
  const involved = [...new Set(moves.flatMap((m) => [...m.current, ...m.replicas]))].sort((a, b) => a - b);
  const movingTopics = [...new Set(moves.map((m) => m.topic))];
  if (throttle !== undefined) await setThrottle(admin, moves, involved, movingTopics, throttle);
  const started = Date.now();
  await alterPartitionReassignments(admin, moves.map((m) => ({ topic: m.topic, partition: m.partition, replicas: m.replicas })));
  console.log(`Started ${moves.length} move(s)${throttle === undefined ? "" : ` (throttled to ${throttle} B/s)`}.`);
  const ours = new Set(moves.map((m) => `${m.topic}-${m.partition}`));
  for (;;) {
    const ongoing = (await listPartitionReassignments(admin)).filter((r) => ours.has(`${r.topic}-${r.partition}`));
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    if (ongoing.length === 0) {
      console.log(`[${secs}s] all ${moves.length} move(s) completed`);
      break;
    }
    const shown = ongoing.slice(0, 8).map((r) => `${r.topic}-${r.partition} (+${r.adding.join(",") || "-"} -${r.removing.join(",") || "-"})`);
    console.log(`[${secs}s] ${moves.length - ongoing.length}/${moves.length} done, in progress: ${shown.join(", ")}${ongoing.length > 8 ? `, ... ${ongoing.length - 8} more` : ""}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  if (throttle !== undefined) {
    await clearThrottle(admin, involved, movingTopics);
    console.log("Replication throttle removed.");
  }
  return 0;
}

/** Kafka's throttle for a move: rates on every broker involved, the leaders' and the adding replicas' lists. */
async function setThrottle(admin: Admin, moves: readonly PlannedMove[], brokers: readonly number[], topics: readonly string[], rate: number): Promise<void> {
  for (const id of brokers) {
    await admin.alterConfigs(ConfigResourceType.BROKER, String(id), [
      { name: "leader.replication.throttled.rate", value: String(rate) },
      { name: "follower.replication.throttled.rate", value: String(rate) },
    ]);
  }
  for (const topic of topics) {
    const mine = moves.filter((m) => m.topic === topic);
    const leaders = mine.flatMap((m) => m.current.map((r) => `${m.partition}:${r}`));
    const followers = mine.flatMap((m) => m.replicas.filter((r) => !m.current.includes(r)).map((r) => `${m.partition}:${r}`));
    await admin.alterConfigs(ConfigResourceType.TOPIC, topic, [
      { name: "leader.replication.throttled.replicas", value: leaders.join(",") },
      { name: "follower.replication.throttled.replicas", value: followers.join(",") },
    ]);
  }
}

/** Removes what {@link setThrottle} set. */
async function clearThrottle(admin: Admin, brokers: readonly number[], topics: readonly string[]): Promise<void> {
  for (const id of brokers) {
    await admin.alterConfigs(ConfigResourceType.BROKER, String(id), [
      { name: "leader.replication.throttled.rate", op: "delete" },
      { name: "follower.replication.throttled.rate", op: "delete" },
    ]);
  }
  for (const topic of topics) {
    await admin.alterConfigs(ConfigResourceType.TOPIC, topic, [
      { name: "leader.replication.throttled.replicas", op: "delete" },
      { name: "follower.replication.throttled.replicas", op: "delete" },
    ]);
  }
}

function brokerIds(text: string): number[] {
  const ids = text.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  if (ids.length === 0 || ids.some((n) => !Number.isSafeInteger(n) || n < 0)) throw new UsageError(`--brokers expects broker ids like 1,2,3, got '${text}'`);
  return ids;
}

/** Runs `runnel cluster reassign`; returns the exit code. */
export function clusterReassignCommand(argv: string[]): Promise<number> {
  return runCommand("cluster reassign", CLUSTER_REASSIGN_USAGE, async () => {
    const { values, positionals } = parseArgs({ args: argv, options: { ...FLAGS, brokers: { type: "string" }, topic: { type: "string", multiple: true }, execute: { type: "boolean" } }, strict: true, allowPositionals: true });
    if (values.help) {
      console.log(CLUSTER_REASSIGN_USAGE);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const only = values.brokers === undefined ? null : new Set(brokerIds(values.brokers));
    const throttle = intFlag("throttle", values.throttle, 1);
    if (throttle !== undefined && !values.execute) throw new UsageError("--throttle needs --execute");
    const admin = new Admin(clusterOptions(values));
    await admin.connect();
    try {
      if (only !== null) for (const id of only) if (!admin.cluster.brokers.has(id)) throw new UsageError(`broker ${id} is not registered`);
      return await planAndRun(admin, (id) => only === null || only.has(id), values.topic ?? [], values.execute ?? false, values.json ?? false, throttle, intFlag("interval-ms", values["interval-ms"], 1) ?? 1000);
    } finally {
      await admin.close();
    }
  });
}

/** Runs `runnel cluster drain <broker>`; returns the exit code. */
export function clusterDrainCommand(argv: string[]): Promise<number> {
  return runCommand("cluster drain", CLUSTER_DRAIN_USAGE, async () => {
    const { values, positionals } = parseArgs({ args: argv, options: { ...FLAGS, "dry-run": { type: "boolean" } }, strict: true, allowPositionals: true });
    if (values.help) {
      console.log(CLUSTER_DRAIN_USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError("expected exactly one broker id");
    const drained = intFlag("broker", positionals[0], 0)!;
    const admin = new Admin(clusterOptions(values));
    await admin.connect();
    try {
      if (!admin.cluster.brokers.has(drained)) throw new UsageError(`broker ${drained} is not registered`);
      return await planAndRun(admin, (id) => id !== drained, [], !(values["dry-run"] ?? false), values.json ?? false, intFlag("throttle", values.throttle, 1), intFlag("interval-ms", values["interval-ms"], 1) ?? 1000);
    } finally {
      await admin.close();
    }
  });
}
