/**
 * `runnel cluster describe`: what an operator checks first, from one Metadata request: the brokers (with racks),
 * the controller, how many partitions each broker leads and holds (a broker that holds replicas but is not
 * registered is listed as down), and the partitions that are under-replicated (ISR smaller than the replicas) or
 * offline (no leader). `--json` prints the same as one JSON object.
 */
import { parseArgs } from "node:util";
import { Admin } from "../client/admin.ts";
import type { BrokerInfo, TopicInfo } from "../client/cluster-metadata.ts";
import { CLIENT_FLAGS, CLIENT_FLAGS_HELP, clusterOptions, runCommand } from "./client-flags.ts";
import { formatTable } from "./table.ts";

/** Help text for `runnel cluster describe`. */
export const CLUSTER_DESCRIBE_USAGE = `Usage: runnel cluster describe [options]

Prints the brokers (racks, partitions led and held), the controller, and the under-replicated and offline
partitions of every topic (internal ones included).

Options:
      --json                 Print one JSON object instead of tables
${CLIENT_FLAGS_HELP}`;

/** One partition that needs attention. */
export interface PartitionHealth {
  /** Topic name. */
  topic: string;
  /** Partition index. */
  partition: number;
  /** Leader node id, -1 when offline. */
  leader: number;
  /** Replica node ids, preferred leader first. */
  replicas: number[];
  /** In-sync replica node ids. */
  isr: number[];
}

/** A broker as `cluster describe` shows it. */
export interface BrokerSummary {
  /** Node id. */
  nodeId: number;
  /** host:port clients use. */
  endpoint: string;
  /** `broker.rack`, or null. */
  rack: string | null;
  /** Partitions it leads. */
  leaders: number;
  /** Partitions it leads that name it as their preferred (first) replica. */
  preferredLeaders: number;
  /** Partitions it holds a replica of. */
  replicas: number;
  /** Named as a replica but not registered (down): Metadata does not list it. */
  offline: boolean;
}

/** What `runnel cluster describe` reports. */
export interface ClusterDescription {
  /** Cluster id, or null. */
  clusterId: string | null;
  /** Active controller id, or -1. */
  controllerId: number;
  /** Registered brokers, by node id. */
  brokers: BrokerSummary[];
  /** Partitions in all. */
  partitions: number;
  /** Partitions whose ISR is smaller than their replica set (and that have a leader). */
  underReplicated: PartitionHealth[];
  /** Partitions without a leader. */
  offline: PartitionHealth[];
}

/** Summarizes a Metadata view (brokers and every topic) into a {@link ClusterDescription}. */
export function describeCluster(clusterId: string | null, controllerId: number, brokers: Iterable<BrokerInfo>, topics: Iterable<TopicInfo>): ClusterDescription {
  const byId = new Map<number, BrokerSummary>();
  for (const b of [...brokers].sort((x, y) => x.nodeId - y.nodeId)) {
    byId.set(b.nodeId, { nodeId: b.nodeId, endpoint: `${b.host}:${b.port}`, rack: b.rack, leaders: 0, preferredLeaders: 0, replicas: 0, offline: false });
  }
  const out: ClusterDescription = { clusterId, controllerId, brokers: [], partitions: 0, underReplicated: [], offline: [] };
  for (const t of topics) {
    for (const p of t.partitions) {
      out.partitions++;
      const health: PartitionHealth = { topic: t.name, partition: p.partition, leader: p.leader, replicas: p.replicas, isr: p.isr };
      for (const r of p.replicas) {
        let b = byId.get(r);
        if (b === undefined) byId.set(r, (b = { nodeId: r, endpoint: "-", rack: null, leaders: 0, preferredLeaders: 0, replicas: 0, offline: true }));
        b.replicas++;
      }
      const leader = byId.get(p.leader);
      if (leader) {
        leader.leaders++;
        if (p.replicas[0] === p.leader) leader.preferredLeaders++;
      }
      if (p.leader < 0) out.offline.push(health);
      else if (p.isr.length < p.replicas.length) out.underReplicated.push(health);
    }
  }
  out.brokers = [...byId.values()].sort((x, y) => x.nodeId - y.nodeId);
  const order = (a: PartitionHealth, b: PartitionHealth) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition);
  out.underReplicated.sort(order);
  out.offline.sort(order);
  return out;
}

/** The text form of a {@link ClusterDescription}. */
export function formatClusterDescription(d: ClusterDescription): string {
  const ids = (xs: number[]) => xs.join(",");
  const live = d.brokers.filter((b) => !b.offline).length;
  let text = `Cluster ${d.clusterId ?? "(no id)"}, controller ${d.controllerId < 0 ? "none" : d.controllerId}, ${live} broker(s) up, ${d.brokers.length - live} down, ${d.partitions} partition(s)\n\n`;
  text += formatTable([
    ["BROKER", "ENDPOINT", "RACK", "LEADERS", "PREFERRED-LEADERS", "REPLICAS"],
    ...d.brokers.map((b) => [`${b.nodeId}${b.nodeId === d.controllerId ? " (controller)" : ""}${b.offline ? " (down)" : ""}`, b.endpoint, b.rack ?? "-", String(b.leaders), String(b.preferredLeaders), String(b.replicas)]),
  ]);
  const section = (title: string, list: PartitionHealth[]) => {
    text += `\n${title}: ${list.length}\n`;
    if (list.length > 0) text += formatTable([["TOPIC", "PARTITION", "LEADER", "REPLICAS", "ISR"], ...list.map((p) => [p.topic, String(p.partition), String(p.leader), ids(p.replicas), ids(p.isr)])]);
  };
  section("Under-replicated partitions", d.underReplicated);
  section("Offline partitions", d.offline);
  return text;
}

/** Runs `runnel cluster describe`; returns the exit code. */
export function clusterDescribeCommand(argv: string[]): Promise<number> {
  return runCommand("cluster describe", CLUSTER_DESCRIBE_USAGE, async () => {
    const { values } = parseArgs({ args: argv, options: { ...CLIENT_FLAGS, json: { type: "boolean" } }, strict: true });
    if (values.help) {
      console.log(CLUSTER_DESCRIBE_USAGE);
      return 0;
    }
    const admin = new Admin(clusterOptions(values));
    await admin.connect();
    try {
      const topics = await admin.listTopics(true);
      const c = admin.cluster;
      const d = describeCluster(c.clusterId, c.controllerId, c.brokers.values(), topics);
      process.stdout.write(values.json ? `${JSON.stringify(d, null, 2)}\n` : formatClusterDescription(d));
      return 0;
    } finally {
      await admin.close();
    }
  });
}
