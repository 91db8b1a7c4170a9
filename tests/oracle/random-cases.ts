/**
 * The fast-check loop the randomized differential tests share: how many cases run, and how one failure is replayed.
 * Every such test is steered by environment variables under its own prefix (`TXN_ORACLE`, `RESTART_ORACLE`, ...):
 * - `<PREFIX>_CASE='{...}'` runs exactly that case (a counterexample as fast-check printed it);
 * - `<PREFIX>_SEED` and `<PREFIX>_PATH` replay a failure from the seed and path fast-check reported.
 */
import fc from "fast-check";

/** How {@link checkRandomCases} runs. */
export interface RandomCasesOptions {
  /** Stops at the first failing case without shrinking it (for cases that are slow to run again). */
  endOnFailure?: boolean;
}

/**
 * Runs `body` on `runs` cases drawn from `arb` (or on the one case `<env>_CASE` names), numbering the runs from 0 in
 * the order they run, shrinking included; resolves to the number of runs made. A case fails when `body` throws.
 */
export async function checkRandomCases<C>(env: string, arb: fc.Arbitrary<C>, runs: number, body: (c: C, run: number) => Promise<void>, opts: RandomCasesOptions = {}): Promise<number> {
  const variable = (name: string) => process.env[`${env}_${name}`];
  const one = variable("CASE");
  const seed = variable("SEED");
  let run = 0;
  await fc.assert(
    fc.asyncProperty(one ? fc.constant(JSON.parse(one) as C) : arb, (c) => body(c, run++)),
    { numRuns: one ? 1 : runs, seed: seed ? Number(seed) : undefined, path: variable("PATH"), verbose: 1, endOnFailure: opts.endOnFailure },
  );
  return run;
}
