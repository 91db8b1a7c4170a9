/** Running a budget of seeds and reporting failures with their replay command. */
import type { SimResult } from "./single-broker.ts";

/** The command that replays one seed of simulation `kind`. */
export function replayCommand(kind: string, seed: number, flags = ""): string {
  return `node_modules/.bin/bun tests/sim/replay.ts ${kind} ${seed}${flags === "" ? "" : ` ${flags}`} --trace`;
}

/** One line per failed seed: the seed, its first violations, and how to replay it. */
export function describeFailure(kind: string, r: SimResult, flags = ""): string {
  return `seed ${r.seed} failed (${r.violations.length} violations): ${r.violations.slice(0, 3).join("; ")}\n  replay: ${replayCommand(kind, r.seed, flags)}`;
}

/** Runs `seeds` through `run`; returns the failing results. */
export async function runSeeds(seeds: readonly number[], run: (seed: number) => Promise<SimResult>): Promise<SimResult[]> {
  const failed: SimResult[] = [];
  for (const s of seeds) {
    const r = await run(s);
    if (r.violations.length > 0) failed.push(r);
  }
  return failed;
}

/**
 * How many seeds a simulation runs: `ci` unless SIM_SEEDS in the environment asks for more (or fewer), as in the
 * longer opt-in run `SIM_SEEDS=1000 bun test tests/sim`.
 */
export function seedBudget(ci: number): number {
  const n = Number(process.env.SIM_SEEDS ?? ci);
  if (!Number.isInteger(n) || n < 1) throw new Error(`SIM_SEEDS must be a positive integer, got ${process.env.SIM_SEEDS}`);
  return n;
}

/** `n` consecutive seeds from `base` (SIM_SEED_BASE in the environment moves the CI budget to other seeds). */
export function seedRange(n: number, base = Number(process.env.SIM_SEED_BASE ?? 1)): number[] {
  return Array.from({ length: n }, (_, i) => base + i);
}

/** The first of `seeds` whose run has a violation `matches` accepts, described with its replay command; null when none. */
export async function firstCaught(kind: string, seeds: readonly number[], run: (seed: number) => Promise<SimResult>, matches: (violation: string) => boolean, flags: string): Promise<string | null> {
  for (const seed of seeds) {
    const r = await run(seed);
    if (r.violations.some(matches)) return describeFailure(kind, r, flags);
  }
  return null;
}
