/**
 * The long run of the mutation fuzz (tests/broker/fuzz-mutated-captured-frames.test.ts): `--seeds` seeds of
 * `--frames` mutated captured frames each, one process per seed; prints frames per second and the first failing
 * seed, which replays with `RUNNEL_FUZZ_SEED=<seed> bun test tests/broker/fuzz-mutated-captured-frames.test.ts`.
 *
 *   bun bench/fuzz-frames.ts [--seeds 10] [--frames 1000000] [--first-seed 1]
 */
import * as path from "node:path";
import { parseArgs } from "node:util";
import { runProc } from "../tests/support/proc.ts";
import { ROOT, printTable } from "./support.ts";

const { values } = parseArgs({ options: { seeds: { type: "string", default: "10" }, frames: { type: "string", default: "1000000" }, "first-seed": { type: "string", default: "1" } } });
const rows: Record<string, string | number>[] = [];
const first = Number(values["first-seed"]);
for (let seed = first; seed < first + Number(values.seeds); seed++) {
  const t0 = performance.now();
  const r = await runProc(path.join(ROOT, "node_modules/.bin/bun"), ["test", path.join(ROOT, "tests/broker/fuzz-mutated-captured-frames.test.ts")], {
    env: { RUNNEL_FUZZ_SEED: String(seed), RUNNEL_FUZZ_FRAMES: values.frames!, RUNNEL_FUZZ_VERBOSE: "1" },
    timeoutMs: 3_600_000,
  });
  const s = (performance.now() - t0) / 1000;
  const ok = r.code === 0;
  rows.push({ seed, frames: Number(values.frames), seconds: s, "frames/s": Number(values.frames) / s, result: ok ? "pass" : "FAIL" });
  if (!ok) {
    console.error(r.stdout + r.stderr);
    break;
  }
}
printTable("Mutation fuzz of captured client frames", rows);
