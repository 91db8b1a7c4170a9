/**
 * `runnel topic create|list|describe|alter-config|add-partitions|delete`: topic administration over the Kafka
 * protocol, like `rpk topic` and `kafka-topics.sh`.
 */
import { parseArgs } from "node:util";
import { Admin, ConfigResourceType, ConfigSource, type ConfigChange } from "../client/admin.ts";
import { uuidBase64 } from "../protocol/uuid.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { CLIENT_FLAGS, CLIENT_FLAGS_HELP, clusterOptions, intFlag, keyValues, runCommand, UsageError } from "./client-flags.ts";
import { formatTable } from "./table.ts";

/** Help text for `runnel topic`. */
export const TOPIC_USAGE = `Usage: runnel topic <command> [options]

Commands:
  create NAME...              Create topics
      -p, --partitions N          Partitions (default: the broker's num.partitions)
      -r, --replication-factor N  Replication factor (default: the broker's default)
      -c, --config KEY=VALUE      Topic config (repeatable)
          --if-not-exists         Succeed when the topic already exists
          --dry-run               Validate only
  list                        List topics (--internal to include internal ones)
  describe NAME...            Show partitions, leaders, offsets and configs (--all-configs for defaults too)
  alter-config NAME           Change topic configs
      -s, --set KEY=VALUE         Set a config (repeatable)
      -d, --delete KEY            Remove an override (repeatable)
  add-partitions NAME         Add partitions: -n, --num N (how many to add) or -t, --total N (new total)
  delete NAME...              Delete topics (--if-exists to ignore missing ones)

Options:
${CLIENT_FLAGS_HELP}`;

const SOURCE_NAMES: Record<number, string> = {
  [ConfigSource.DYNAMIC_TOPIC_CONFIG]: "DYNAMIC_TOPIC_CONFIG",
  [ConfigSource.DYNAMIC_BROKER_CONFIG]: "DYNAMIC_BROKER_CONFIG",
  [ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG]: "DYNAMIC_DEFAULT_BROKER_CONFIG",
  [ConfigSource.STATIC_BROKER_CONFIG]: "STATIC_BROKER_CONFIG",
  [ConfigSource.DEFAULT_CONFIG]: "DEFAULT_CONFIG",
};

/** Runs `runnel topic ...`; returns the exit code. */
export function topicCommand(argv: string[]): Promise<number> {
  return runCommand("topic", TOPIC_USAGE, async () => {
    const [sub, ...rest] = argv;
    if (sub === undefined || sub === "-h" || sub === "--help" || sub === "help") {
      console.log(TOPIC_USAGE);
      return sub === undefined ? 2 : 0;
    }
    const { values, positionals } = parseArgs({
      args: rest,
      options: {
        ...CLIENT_FLAGS,
        partitions: { type: "string", short: "p" },
        "replication-factor": { type: "string", short: "r" },
        config: { type: "string", short: "c", multiple: true },
        "if-not-exists": { type: "boolean" },
        "if-exists": { type: "boolean" },
        "dry-run": { type: "boolean" },
        internal: { type: "boolean" },
        "all-configs": { type: "boolean" },
        set: { type: "string", short: "s", multiple: true },
        delete: { type: "string", short: "d", multiple: true },
        num: { type: "string", short: "n" },
        total: { type: "string", short: "t" },
      },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      console.log(TOPIC_USAGE);
      return 0;
    }
    const needNames = (min: number, max = Infinity) => {
      if (positionals.length < min) throw new UsageError(`topic ${sub} needs a topic name`);
      if (positionals.length > max) throw new UsageError(`topic ${sub} takes one topic name, got ${positionals.length}`);
    };
    switch (sub) {
      case "create":
        needNames(1);
        break;
      case "list":
        if (positionals.length > 0) throw new UsageError("topic list takes no topic names");
        break;
      case "describe":
        needNames(1);
        break;
      case "alter-config":
        needNames(1, 1);
        if ((values.set ?? []).length === 0 && (values.delete ?? []).length === 0) throw new UsageError("alter-config needs --set KEY=VALUE or --delete KEY");
        break;
      case "add-partitions":
        needNames(1, 1);
        if ((values.num === undefined) === (values.total === undefined)) throw new UsageError("add-partitions needs exactly one of --num N or --total N");
        break;
      case "delete":
        needNames(1);
        break;
      default:
        throw new UsageError(`unknown topic command '${sub}'`);
    }
    const admin = new Admin(clusterOptions(values));
    try {
      await admin.connect();
      switch (sub) {
        case "create":
          return await create(admin, positionals, values);
        case "list":
          return await list(admin, values.internal ?? false);
        case "describe":
          return await describe(admin, positionals, values["all-configs"] ?? false);
        case "alter-config":
          return await alterConfig(admin, positionals[0], values.set ?? [], values.delete ?? []);
        case "add-partitions":
          return await addPartitions(admin, positionals[0], values.num, values.total);
        default:
          return await remove(admin, positionals, values["if-exists"] ?? false);
      }
    } finally {
      await admin.close();
    }
  });
}

async function create(
  admin: Admin,
  names: string[],
  values: { partitions?: string; "replication-factor"?: string; config?: string[]; "if-not-exists"?: boolean; "dry-run"?: boolean },
): Promise<number> {
  const numPartitions = intFlag("partitions", values.partitions, 1) ?? -1;
  const replicationFactor = intFlag("replication-factor", values["replication-factor"], 1) ?? -1;
  const configs = keyValues("config", values.config);
  const rows: string[][] = [["TOPIC", "STATUS"]];
  let failed = 0;
  for (const name of names) {
    try {
      await admin.createTopics([{ name, numPartitions, replicationFactor, configs }], { validateOnly: values["dry-run"] ?? false });
      rows.push([name, values["dry-run"] ? "OK (dry run)" : "OK"]);
    } catch (e) {
      if (e instanceof KafkaError && e.code === ErrorCode.TOPIC_ALREADY_EXISTS && values["if-not-exists"]) {
        rows.push([name, "OK (already exists)"]);
        continue;
      }
      failed++;
      console.error(`runnel topic create: ${(e as Error).message}`);
    }
  }
  if (rows.length > 1) process.stdout.write(formatTable(rows));
  return failed > 0 ? 1 : 0;
}

async function list(admin: Admin, internal: boolean): Promise<number> {
  const topics = await admin.listTopics(internal);
  const rows: string[][] = [["NAME", "PARTITIONS", "REPLICAS"]];
  for (const t of topics) rows.push([t.name, String(t.partitions.length), String(t.partitions[0]?.replicas.length ?? 0)]);
  process.stdout.write(formatTable(rows));
  return 0;
}

async function describe(admin: Admin, names: string[], allConfigs: boolean): Promise<number> {
  const topics = await admin.describeTopics(names);
  let out = "";
  for (const t of topics) {
    const offsets = await admin.topicOffsets(t.name);
    const configs = await admin.describeConfigs(ConfigResourceType.TOPIC, t.name);
    if (out !== "") out += "\n";
    out += "SUMMARY\n=======\n";
    out += formatTable([
      ["NAME", t.name],
      ["ID", uuidBase64(t.id)],
      ["PARTITIONS", String(t.partitions.length)],
      ["REPLICAS", String(t.partitions[0]?.replicas.length ?? 0)],
      ["INTERNAL", String(t.internal)],
    ]);
    out += "\nCONFIGS\n=======\n";
    const cfgRows: string[][] = [["KEY", "VALUE", "SOURCE"]];
    for (const c of configs.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (!allConfigs && c.source === ConfigSource.DEFAULT_CONFIG) continue;
      cfgRows.push([c.name, c.sensitive ? "(sensitive)" : (c.value ?? "null"), SOURCE_NAMES[c.source] ?? String(c.source)]);
    }
    out += formatTable(cfgRows);
    out += "\nPARTITIONS\n==========\n";
    const rows: string[][] = [["PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR", "LOG-START-OFFSET", "HIGH-WATERMARK"]];
    for (const p of t.partitions) {
      const o = offsets[p.partition];
      rows.push([String(p.partition), String(p.leader), String(p.leaderEpoch), `[${p.replicas.join(",")}]`, `[${p.isr.join(",")}]`, String(o?.earliest ?? "-"), String(o?.latest ?? "-")]);
    }
    out += formatTable(rows);
  }
  process.stdout.write(out);
  return 0;
}

async function alterConfig(admin: Admin, name: string, sets: string[], deletes: string[]): Promise<number> {
  const changes: ConfigChange[] = [];
  for (const [k, v] of Object.entries(keyValues("set", sets))) changes.push({ name: k, op: "set", value: v });
  for (const k of deletes) {
    if (k.trim() === "") throw new UsageError("--delete needs a config key");
    changes.push({ name: k.trim(), op: "delete" });
  }
  await admin.describeTopics([name]);
  await admin.alterConfigs(ConfigResourceType.TOPIC, name, changes);
  const rows: string[][] = [["TOPIC", "KEY", "CHANGE"]];
  for (const c of changes) rows.push([name, c.name, c.op === "delete" ? "deleted" : `set to ${c.value}`]);
  process.stdout.write(formatTable(rows));
  return 0;
}

async function addPartitions(admin: Admin, name: string, num: string | undefined, total: string | undefined): Promise<number> {
  const [t] = await admin.describeTopics([name]);
  const current = t.partitions.length;
  const target = total !== undefined ? intFlag("total", total, 1)! : current + intFlag("num", num, 1)!;
  await admin.createPartitions(name, target);
  process.stdout.write(formatTable([["TOPIC", "PARTITIONS"], [name, `${current} -> ${target}`]]));
  return 0;
}

async function remove(admin: Admin, names: string[], ifExists: boolean): Promise<number> {
  const rows: string[][] = [["TOPIC", "STATUS"]];
  let failed = 0;
  for (const name of names) {
    try {
      await admin.deleteTopics([name]);
      rows.push([name, "OK"]);
    } catch (e) {
      if (e instanceof KafkaError && e.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && ifExists) {
        rows.push([name, "OK (did not exist)"]);
        continue;
      }
      failed++;
      console.error(`runnel topic delete: ${(e as Error).message}`);
    }
  }
  if (rows.length > 1) process.stdout.write(formatTable(rows));
  return failed > 0 ? 1 : 0;
}
