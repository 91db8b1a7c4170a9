/**
 * The etcd control plane's own speed, on a real etcd started here: the latency of a partition-state
 * compare-and-set through the JSON gateway (write resolved = visible in the writer's view), how long another
 * broker's watch takes to see it, and how long leadership takes to move after a broker's registration disappears
 * (lease revoked: the controller's watch sees it, elects from the ISR, and writes every changed partition), for a
 * topic of `--partitions` partitions over 3 brokers. Bounded well under 60 s.
 *
 *   bun bench/etcd-control-plane.ts [--writes 300] [--partitions 300] [--rounds 5]
 */
import { parseArgs } from "node:util";
import { ControlPlane } from "../src/cluster/control-plane.ts";
import { EtcdClient } from "../src/cluster/etcd-client.ts";
import { SeededRandom } from "../src/platform/random.ts";
import { TestEtcd, ETCD_SKIP_REASON } from "../tests/support/etcd.ts";
import { percentile, printTable, writeResults } from "./support.ts";

const { values } = parseArgs({ options: { writes: { type: "string" }, partitions: { type: "string" }, rounds: { type: "string" } } });
const WRITES = Number(values.writes ?? 300);
const PARTITIONS = Number(values.partitions ?? 300);
const ROUNDS = Number(values.rounds ?? 5);

if (ETCD_SKIP_REASON) {
  console.log(ETCD_SKIP_REASON);
  process.exit(0);
}

async function until(cond: () => boolean, ms = 30_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 1));
  }
}

const etcd = await TestEtcd.start();
const admin = new EtcdClient({ endpoints: [etcd.endpoint] });
const planes: ControlPlane[] = [];
try {
  const start = async (id: number, root: string) => {
    const p = await ControlPlane.start({ endpoints: [etcd.endpoint], root, nodeId: id, sessionTimeoutMs: 2_000, random: new SeededRandom(id) });
    await p.store.registerBroker({ nodeId: id, brokerEpoch: -1, rack: `r${id}`, endpoints: [{ name: "PLAINTEXT", host: "127.0.0.1", port: 9000 + id, securityProtocol: "PLAINTEXT" }] });
    planes.push(p);
    return p;
  };
  // 1. CAS latency and watch propagation between two brokers' stores
  const a = await start(1, "/bench-cas");
  const b = await start(2, "/bench-cas");
  await until(() => a.election.isActive || b.election.isActive);
  const ctl = a.election.isActive ? a : b;
  const other = ctl === a ? b : a;
  await ctl.controller.createTopic({ name: "t", partitions: 1, replicationFactor: 2, idHex: "00".repeat(16) });
  await until(() => other.store.partitionState("t", 0) !== undefined);
  const cas: number[] = [];
  const seen: number[] = [];
  for (let i = 0; i < WRITES; i++) {
    const s = ctl.store.partitionState("t", 0)!;
    const t0 = performance.now();
    if (!(await ctl.store.compareAndSetPartition({ ...s, isr: i % 2 ? [...s.replicas] : [s.leader], partitionEpoch: s.partitionEpoch + 1 }, s.partitionEpoch))) throw new Error("lost a CAS with no contender");
    cas.push(performance.now() - t0);
    await until(() => other.store.partitionState("t", 0)!.partitionEpoch === s.partitionEpoch + 1);
    seen.push(performance.now() - t0);
  }
  for (const p of planes.splice(0)) await p.close();

  // 2. leadership moving after a broker's registration disappears
  const moves: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const root = `/bench-failover-${round}`;
    const nodes = [await start(1, root), await start(2, root), await start(3, root)];
    await until(() => nodes.some((n) => n.election.isActive) && nodes.every((n) => n.store.brokers().length === 3));
    const c = nodes.find((n) => n.election.isActive)!;
    await c.controller.createTopic({ name: "t", partitions: PARTITIONS, replicationFactor: 3, idHex: "00".repeat(16) });
    const victimIndex = nodes.findIndex((n) => n !== c);
    const victim = nodes[victimIndex];
    const victimId = victimIndex + 1;
    await until(() => c.store.partitionState("t", PARTITIONS - 1) !== undefined);
    const t0 = performance.now();
    await admin.leaseRevoke(victim.store.leaseId!);
    await until(() => c.store.partitionStates().every((s) => s.leader !== victimId && !s.isr.includes(victimId)));
    moves.push(performance.now() - t0);
    for (const p of planes.splice(0)) await p.close();
  }

  const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
  const row = (name: string, xs: number[]) => ({ measure: name, n: xs.length, p50_ms: percentile(sorted(xs), 50).toFixed(2), p99_ms: percentile(sorted(xs), 99).toFixed(2), max_ms: Math.max(...xs).toFixed(2) });
  const rows = [row("partition CAS (write resolved, in writer's view)", cas), row("CAS seen by another broker's watch", seen), row(`leaders moved off a revoked broker (${PARTITIONS} partitions, 3 brokers)`, moves)];
  printTable("etcd control plane", rows);
  console.log(`results: ${writeResults("etcd-control-plane", { etcd: "3.4 (Debian etcd-server)", writes: WRITES, partitions: PARTITIONS, rounds: ROUNDS, rows })}`);
} finally {
  for (const p of planes) await p.close().catch(() => {});
  await etcd.close();
}
