/**
 * Deterministic simulation (a): one broker's real PartitionLog and Partition on a simulated disk that loses and
 * tears unsynced writes at power cuts and fails or flips bits on reads, 200 seeds. Every acks=all acknowledged
 * record (and every record of an acknowledged COMMIT) must survive, once, at its offset, in order; no consumer
 * reads past the high watermark, none with read_committed past the last stable offset or into an aborted
 * transaction. One seed replays
 * to the same trace; and the checker catches a planted bug (fdatasync that persists nothing).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runSingleBroker } from "./single-broker.ts";
import { describeFailure, runSeeds, seedRange } from "./seeds.ts";

const SEEDS = 200;

test(`one broker: ${SEEDS} seeds of power cuts, torn writes and read faults lose no acks=all record`, { timeout: 300_000 }, async () => {
  let acked = 0;
  let crashes = 0;
  const failed = await runSeeds(seedRange(SEEDS), async (seed) => {
    const r = await runSingleBroker(seed);
    acked += r.stats.ackedAll;
    crashes += r.stats.crashes;
    return r;
  });
  assert.deepEqual(failed.map((r) => describeFailure("single", r)), []);
  assert.ok(acked > SEEDS * 100 && crashes > SEEDS * 3, `the runs did work: ${acked} acks=all records, ${crashes} crashes`);
});

test("one seed replays exactly: the same event trace hash, another seed another trace", { timeout: 60_000 }, async () => {
  const a = await runSingleBroker(4242);
  const b = await runSingleBroker(4242);
  const c = await runSingleBroker(4243);
  assert.equal(a.traceHash, b.traceHash);
  assert.deepEqual(a.stats, b.stats);
  assert.notEqual(a.traceHash, c.traceHash);
});

test("the checker catches a planted bug within the budget: acks=all answered after an fdatasync that persisted nothing", { timeout: 300_000 }, async () => {
  let caught: string | null = null;
  for (const seed of seedRange(SEEDS)) {
    const r = await runSingleBroker(seed, { plantLyingFdatasync: true });
    if (r.violations.some((v) => v.includes("is missing"))) {
      caught = describeFailure("single", r, "--plant-lying-fdatasync");
      break;
    }
  }
  assert.ok(caught !== null, "200 seeds did not catch acknowledged records lost to an fdatasync that does nothing");
});
