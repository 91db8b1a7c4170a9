/**
 * Deterministic simulation (b): three replicas of one partition (real PartitionLog, Partition and follower-fetch
 * code on three simulated disks) behind a network that delays, reorders, drops, duplicates and isolates, with a
 * simulated controller (CAS on the partition epoch, leases) moving leadership and the ISR; 200 seeds. Every acks=all
 * record survives once, in order, at its offset; nothing a consumer read below the high watermark is lost; the
 * replicas agree byte for byte up to the high watermark. One seed replays exactly, and a planted bug (the high
 * watermark advanced past what the ISR holds) is caught.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runReplicated } from "./replicated.ts";
import { describeFailure, runSeeds, seedRange } from "./seeds.ts";

const SEEDS = 200;

test(`three replicas: ${SEEDS} seeds of power cuts, isolation and a lossy network lose no acks=all record`, { timeout: 300_000 }, async () => {
  let acked = 0;
  let leaderChanges = 0;
  let truncations = 0;
  const failed = await runSeeds(seedRange(SEEDS), async (seed) => {
    const r = await runReplicated(seed);
    acked += r.stats.ackedAll;
    leaderChanges += r.stats.leaderChanges;
    truncations += r.stats.truncations;
    return r;
  });
  assert.deepEqual(failed.map((r) => describeFailure("replicated", r)), []);
  assert.ok(acked > SEEDS * 20 && leaderChanges > SEEDS * 2 && truncations > SEEDS / 4, `the runs did work: ${acked} acks=all records, ${leaderChanges} leader changes, ${truncations} truncations`);
});

test("a replicated seed replays exactly: the same event trace hash", { timeout: 60_000 }, async () => {
  const a = await runReplicated(777);
  const b = await runReplicated(777);
  assert.equal(a.traceHash, b.traceHash);
  assert.deepEqual(a.stats, b.stats);
  assert.notEqual(a.traceHash, (await runReplicated(778)).traceHash);
});

test("the checkers catch a planted bug within the budget: the high watermark advanced before the ISR has the data", { timeout: 300_000 }, async () => {
  let caught: string | null = null;
  for (const seed of seedRange(SEEDS)) {
    const r = await runReplicated(seed, { plantHighWatermarkAheadOfIsr: true });
    if (r.violations.some((v) => v.includes("is missing") || v.includes("replicas differ") || v.includes("consumer read"))) {
      caught = describeFailure("replicated", r, "--plant-hw-ahead-of-isr");
      break;
    }
  }
  assert.ok(caught !== null, "200 seeds did not catch a high watermark that runs ahead of the ISR");
});
