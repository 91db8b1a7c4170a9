/**
 * `runnel group list|describe|delete|reset-offsets`: consumer group administration, like
 * `kafka-consumer-groups.sh` and `rpk group`. `describe` prints, per partition, the committed offset, the log end
 * offset and the lag; `reset-offsets` plans new offsets (earliest, latest, an offset, a shift, a time) and commits
 * them with `--execute` (only while the group has no active members).
 */
import { parseArgs } from "node:util";
import { Admin, type GroupDescription } from "../client/admin.ts";
import type { OffsetToCommit } from "../client/group-coordinator.ts";
import { describeGroupLag, type GroupLagSource } from "../group/group-lag.ts";
import { ErrorCode, errorName, KafkaError } from "../protocol/errors.ts";
import { CLIENT_FLAGS, CLIENT_FLAGS_HELP, clusterOptions, runCommand, UsageError } from "./client-flags.ts";
import { formatTable } from "./table.ts";

/** Help text for `runnel group`. */
export const GROUP_USAGE = `Usage: runnel group <command> [options]

Commands:
  list                         List consumer groups with their state
  describe GROUP...            Members, and per partition the committed offset, log end offset and lag
  delete GROUP...              Delete groups (they must have no active members)
  reset-offsets GROUP          Plan (default) or --execute new committed offsets; the group must be inactive
      -t, --topic TOPIC[:P,P]      Topic (and partitions) to reset (repeatable)
          --all-topics             Every topic the group has offsets for
          --to-earliest | --to-latest | --to-offset N | --shift-by N (--shift-by=-N to go back)
          | --to-datetime TIME (ms or ISO-8601) | --by-duration MS (that long ago)
          --execute                Commit the new offsets (without it, only print them)

Options:
${CLIENT_FLAGS_HELP}`;

/** Runs `runnel group ...`; returns the exit code. */
export function groupCommand(argv: string[]): Promise<number> {
  return runCommand("group", GROUP_USAGE, async () => {
    const [sub, ...rest] = argv;
    if (sub === undefined || sub === "-h" || sub === "--help" || sub === "help") {
      console.log(GROUP_USAGE);
      return sub === undefined ? 2 : 0;
    }
    const { values, positionals } = parseArgs({
      args: rest,
      options: {
        ...CLIENT_FLAGS,
        topic: { type: "string", short: "t", multiple: true },
        "all-topics": { type: "boolean" },
        "to-earliest": { type: "boolean" },
        "to-latest": { type: "boolean" },
        "to-offset": { type: "string" },
        "shift-by": { type: "string" },
        "to-datetime": { type: "string" },
        "by-duration": { type: "string" },
        execute: { type: "boolean" },
        "dry-run": { type: "boolean" },
      },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      console.log(GROUP_USAGE);
      return 0;
    }
    switch (sub) {
      case "list":
        if (positionals.length > 0) throw new UsageError("group list takes no arguments");
        break;
      case "describe":
      case "delete":
        if (positionals.length === 0) throw new UsageError(`group ${sub} needs a group id`);
        break;
      case "reset-offsets":
        if (positionals.length !== 1) throw new UsageError("reset-offsets needs exactly one group id");
        break;
      default:
        throw new UsageError(`unknown group command '${sub}'`);
    }
    const plan = sub === "reset-offsets" ? resetPlan(values) : null;
    const admin = new Admin(clusterOptions(values));
    try {
      await admin.connect();
      switch (sub) {
        case "list":
          return await list(admin);
        case "describe":
          return await describe(admin, positionals);
        case "delete":
          return await remove(admin, positionals);
        default:
          return await resetOffsets(admin, positionals[0], values.topic ?? [], values["all-topics"] ?? false, plan!, values.execute ?? false);
      }
    } finally {
      await admin.close();
    }
  });
}

async function list(admin: Admin): Promise<number> {
  const groups = await admin.listGroups();
  const rows: string[][] = [["GROUP", "STATE", "PROTOCOL-TYPE"]];
  for (const g of groups) rows.push([g.groupId, g.state ?? "-", g.protocolType === "" ? "-" : g.protocolType]);
  process.stdout.write(formatTable(rows));
  return 0;
}

/** A lag source backed by the admin client (DescribeGroups + OffsetFetch + ListOffsets). */
function lagSource(admin: Admin, described: Map<string, GroupDescription>): GroupLagSource {
  return {
    describeGroup: async (groupId) => {
      const g = described.get(groupId);
      if (g === undefined || g.state === "Dead" || g.errorCode === ErrorCode.GROUP_ID_NOT_FOUND) return null;
      return { protocolType: g.protocolType, members: g.members.map((m) => ({ memberId: m.memberId, clientId: m.clientId, host: m.clientHost, assignment: m.assignmentBytes })) };
    },
    committedOffsets: async (groupId) => (await admin.groupOffsets(groupId)).map((c) => ({ topic: c.topic, partition: c.partition, offset: c.offset })),
    logEndOffsets: async (partitions) => {
      const out: (bigint | null)[] = [];
      // Unknown topics (deleted since the commit) get null instead of failing the whole table.
      for (const p of partitions) {
        try {
          const [a] = await admin.listOffsets([{ topic: p.topic, partition: p.partition, timestamp: -1n }]);
          out.push(a.offset);
        } catch (e) {
          if (e instanceof KafkaError && e.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) out.push(null);
          else throw e;
        }
      }
      return out;
    },
  };
}

async function describe(admin: Admin, groupIds: string[]): Promise<number> {
  const descriptions = await admin.describeGroups(groupIds);
  const byId = new Map(descriptions.map((d) => [d.groupId, d]));
  let out = "";
  let missing = 0;
  for (const groupId of groupIds) {
    const d = byId.get(groupId)!;
    if (d.errorCode !== ErrorCode.NONE && d.errorCode !== ErrorCode.GROUP_ID_NOT_FOUND) {
      throw new KafkaError(d.errorCode, `cannot describe group '${groupId}': ${errorName(d.errorCode)}`);
    }
    const rows = await describeGroupLag(lagSource(admin, byId), groupId);
    if (rows.length === 0 && (d.state === "Dead" || d.errorCode === ErrorCode.GROUP_ID_NOT_FOUND) ) {
      console.error(`runnel group describe: consumer group '${groupId}' does not exist`);
      missing++;
      continue;
    }
    if (out !== "") out += "\n";
    out += formatTable([
      ["GROUP", groupId],
      ["STATE", d.state],
      ["PROTOCOL", d.protocol === "" ? "-" : d.protocol],
      ["MEMBERS", String(d.members.length)],
    ]);
    out += "\n";
    const table: string[][] = [["TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"]];
    for (const r of rows) {
      table.push([
        r.topic,
        String(r.partition),
        r.committed === null ? "-" : String(r.committed),
        r.logEndOffset === null ? "-" : String(r.logEndOffset),
        r.lag === null ? "-" : String(r.lag),
        r.memberId ?? "-",
        r.host ?? "-",
        r.clientId ?? "-",
      ]);
    }
    out += formatTable(table);
  }
  process.stdout.write(out);
  return missing > 0 ? 1 : 0;
}

async function remove(admin: Admin, groupIds: string[]): Promise<number> {
  const results = await admin.deleteGroups(groupIds);
  const rows: string[][] = [["GROUP", "STATUS"]];
  let failed = 0;
  for (const r of results) {
    if (r.errorCode === ErrorCode.NONE) {
      rows.push([r.groupId, "OK"]);
      continue;
    }
    failed++;
    const why =
      r.errorCode === ErrorCode.NON_EMPTY_GROUP
        ? "it still has active members"
        : r.errorCode === ErrorCode.GROUP_ID_NOT_FOUND
          ? "it does not exist"
          : errorName(r.errorCode);
    console.error(`runnel group delete: cannot delete group '${r.groupId}': ${why} (${errorName(r.errorCode)})`);
  }
  if (rows.length > 1) process.stdout.write(formatTable(rows));
  return failed > 0 ? 1 : 0;
}

/** How reset-offsets computes new offsets. */
type ResetPlan =
  | { kind: "earliest" }
  | { kind: "latest" }
  | { kind: "offset"; offset: bigint }
  | { kind: "shift"; by: bigint }
  | { kind: "time"; ms: number };

function resetPlan(values: { "to-earliest"?: boolean; "to-latest"?: boolean; "to-offset"?: string; "shift-by"?: string; "to-datetime"?: string; "by-duration"?: string }): ResetPlan {
  const plans: ResetPlan[] = [];
  if (values["to-earliest"]) plans.push({ kind: "earliest" });
  if (values["to-latest"]) plans.push({ kind: "latest" });
  if (values["to-offset"] !== undefined) {
    if (!/^\d+$/.test(values["to-offset"])) throw new UsageError(`--to-offset expects a non-negative offset, got '${values["to-offset"]}'`);
    plans.push({ kind: "offset", offset: BigInt(values["to-offset"]) });
  }
  if (values["shift-by"] !== undefined) {
    if (!/^-?\d+$/.test(values["shift-by"])) throw new UsageError(`--shift-by expects an integer, got '${values["shift-by"]}'`);
    plans.push({ kind: "shift", by: BigInt(values["shift-by"]) });
  }
  if (values["to-datetime"] !== undefined) {
    const t = values["to-datetime"];
    const ms = /^\d+$/.test(t) ? Number(t) : Date.parse(t);
    if (!Number.isFinite(ms)) throw new UsageError(`--to-datetime expects ms since the epoch or an ISO-8601 time, got '${t}'`);
    plans.push({ kind: "time", ms });
  }
  if (values["by-duration"] !== undefined) {
    if (!/^\d+$/.test(values["by-duration"])) throw new UsageError(`--by-duration expects milliseconds, got '${values["by-duration"]}'`);
    plans.push({ kind: "time", ms: Date.now() - Number(values["by-duration"]) });
  }
  if (plans.length !== 1) throw new UsageError("reset-offsets needs exactly one of --to-earliest, --to-latest, --to-offset, --shift-by, --to-datetime, --by-duration");
  return plans[0];
}

async function resetOffsets(admin: Admin, groupId: string, topicSpecs: string[], allTopics: boolean, plan: ResetPlan, execute: boolean): Promise<number> {
  if ((topicSpecs.length > 0) === allTopics) throw new UsageError("reset-offsets needs --topic TOPIC (repeatable) or --all-topics");
  const [d] = await admin.describeGroups([groupId]);
  if (d.state !== "Empty" && d.state !== "Dead" && d.errorCode !== ErrorCode.GROUP_ID_NOT_FOUND) {
    throw new Error(`assignments can only be reset if the group '${groupId}' is inactive, but its state is ${d.state}`);
  }
  const committed = await admin.groupOffsets(groupId);
  const current = new Map(committed.filter((c) => c.offset >= 0n).map((c) => [`${c.topic}\u0000${c.partition}`, c.offset]));
  const targets: { topic: string; partition: number }[] = [];
  if (allTopics) {
    for (const c of committed) if (c.offset >= 0n) targets.push({ topic: c.topic, partition: c.partition });
    if (targets.length === 0) throw new Error(`group '${groupId}' has no committed offsets; name topics with --topic`);
  } else {
    for (const spec of topicSpecs) {
      const colon = spec.lastIndexOf(":");
      const topic = colon > 0 ? spec.slice(0, colon) : spec;
      const [info] = await admin.describeTopics([topic]);
      let parts = info.partitions.map((p) => p.partition);
      if (colon > 0) {
        parts = spec.slice(colon + 1).split(",").map((p) => {
          const n = Number(p.trim());
          if (!Number.isInteger(n) || n < 0 || n >= info.partitions.length) throw new UsageError(`topic '${topic}' has no partition '${p}'`);
          return n;
        });
      }
      for (const p of parts) targets.push({ topic, partition: p });
    }
  }
  const earliest = await admin.listOffsets(targets.map((t) => ({ ...t, timestamp: -2n })));
  const latest = await admin.listOffsets(targets.map((t) => ({ ...t, timestamp: -1n })));
  const byTime = plan.kind === "time" ? await admin.listOffsets(targets.map((t) => ({ ...t, timestamp: BigInt(plan.ms) }))) : null;
  const offsets: OffsetToCommit[] = targets.map((t, i) => {
    const lo = earliest[i].offset;
    const hi = latest[i].offset;
    const cur = current.get(`${t.topic}\u0000${t.partition}`);
    let want: bigint;
    switch (plan.kind) {
      case "earliest":
        want = lo;
        break;
      case "latest":
        want = hi;
        break;
      case "offset":
        want = plan.offset;
        break;
      case "shift":
        want = (cur ?? lo) + plan.by;
        break;
      case "time":
        want = byTime![i].offset < 0n ? hi : byTime![i].offset;
        break;
    }
    // Like kafka-consumer-groups, clamp to the partition's current range.
    if (want < lo) want = lo;
    if (want > hi) want = hi;
    return { topic: t.topic, partition: t.partition, offset: want };
  });
  if (execute) await admin.commitGroupOffsets(groupId, offsets);
  const rows: string[][] = [["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]];
  for (const o of offsets) rows.push([groupId, o.topic, String(o.partition), String(o.offset)]);
  process.stdout.write(formatTable(rows));
  if (!execute) console.error("Dry run: nothing was committed; add --execute to commit these offsets.");
  return 0;
}
