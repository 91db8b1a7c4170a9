/**
 * The deterministic simulation's long runner (issue 16): runs seeds of one kind for a time budget, starting from a
 * random base seed (or --base), and reports seeds per second and simulated hours per second. Every failing seed is
 * printed with its replay command; the exit code is 1 when any failed.
 *
 * Usage: bun bench/sim.ts [--kind single|replicated|kafka|cluster|all] [--seconds 30] [--base N]
 *   single: Partition + storage on a simulated disk; replicated: three replicas at the Partition level;
 *   kafka: one real broker (handlers, group and transaction coordinators) over encoded Kafka frames;
 *   cluster: three real brokers with their control planes on a simulated etcd, replica fetchers over the wire.
 */
import { parseArgs } from "node:util";
import { printTable, writeResults } from "./support.ts";
import { runSingleBroker, type SimResult } from "../tests/sim/single-broker.ts";
import { runReplicated } from "../tests/sim/replicated.ts";
import { runKafkaBroker } from "../tests/sim/kafka-broker.ts";
import { runCluster } from "../tests/sim/cluster.ts";
import { describeFailure } from "../tests/sim/seeds.ts";

const { values } = parseArgs({
  options: {
    kind: { type: "string", default: "all" },
    seconds: { type: "string", default: "30" },
    base: { type: "string" },
  },
});
const kinds = values.kind === "all" ? ["single", "replicated", "kafka", "cluster"] : [values.kind!];
const runners: Record<string, (seed: number) => Promise<SimResult>> = { single: (s) => runSingleBroker(s), replicated: (s) => runReplicated(s), kafka: (s) => runKafkaBroker(s), cluster: (s) => runCluster(s) };
for (const k of kinds) if (runners[k] === undefined) throw new Error(`unknown --kind ${k}`);
const budgetMs = (Number(values.seconds) * 1000) / kinds.length;
const base = values.base !== undefined ? Number(values.base) : Math.floor(Math.random() * 2 ** 31);

const rows: Record<string, string | number>[] = [];
let failures = 0;
for (const kind of kinds) {
  const started = performance.now();
  let seeds = 0;
  let simulatedMs = 0;
  let steps = 0;
  let failed = 0;
  for (let seed = base; performance.now() - started < budgetMs; seed++) {
    const r = await runners[kind](seed);
    seeds++;
    simulatedMs += r.simulatedMs;
    steps += r.stats.steps ?? 0;
    if (r.violations.length > 0) {
      failures++;
      failed++;
      console.log(describeFailure(kind, r));
    }
  }
  const wallS = (performance.now() - started) / 1000;
  rows.push({ kind, "base seed": base, seeds, "seeds/s": (seeds / wallS).toFixed(1), "simulated h/s": (simulatedMs / 3_600_000 / wallS).toFixed(4), "steps/s": Math.round(steps / wallS), failed });
}
printTable("deterministic simulation", rows);
writeResults("sim", { command: `bun bench/sim.ts ${process.argv.slice(2).join(" ")}`.trim(), rows });
process.exit(failures > 0 ? 1 : 0);
