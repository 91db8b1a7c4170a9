/**
 * Replays one simulation seed: `bun tests/sim/replay.ts <single|replicated> <seed> [--plant-...] [--trace]`.
 * Prints the result (and with --trace every step); exits 1 when a checker fails.
 */
import { runSingleBroker } from "./single-broker.ts";

const [kind, seedText, ...flags] = process.argv.slice(2);
const seed = Number(seedText);
if (!Number.isInteger(seed) || kind !== "single") {
  console.error("usage: bun tests/sim/replay.ts single <seed> [--plant-lying-fdatasync] [--trace]");
  process.exit(2);
}
const verbose = flags.includes("--trace");
const r = await runSingleBroker(seed, { verbose, plantLyingFdatasync: flags.includes("--plant-lying-fdatasync") });
console.log(JSON.stringify({ seed: r.seed, traceHash: r.traceHash, simulatedMs: r.simulatedMs, stats: r.stats }));
for (const v of r.violations) console.log(`VIOLATION ${v}`);
process.exit(r.violations.length > 0 ? 1 : 0);
