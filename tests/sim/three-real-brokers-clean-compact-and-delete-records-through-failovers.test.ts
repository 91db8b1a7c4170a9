/**
 * Deterministic simulation (d) with the cleaning workload (cluster.ts option `cleaning`, cleaning-workload.ts with
 * `replicas`): three real brokers on simulated disks and etcd, three-replica topics with `cleanup.policy=compact`,
 * `compact,delete` and `delete`, segments rolling every 120 ms, retention by time and size on the simulation clock,
 * DeleteRecords, keyed idempotent (acks=all) and acks=1 producers, through the cluster simulation's kills, power
 * cuts, clean stops, cut-off brokers and the solo-leader schedule. Each replica cleans on its own.
 *
 * Checked at every read of the leader the cluster metadata names (every 60-140 ms) and of every replica once
 * settled: offsets never reused (and no offset holding different records on two replicas), acknowledged records at
 * their offsets, the latest value of every key kept (compaction), the log start offset never below the low watermark
 * a DeleteRecords answer gave (the answer waits until every live replica moved its log start: Kafka's
 * DelayedDeleteRecords), and, to settle, every follower's log start offset at or past the leader's (followers take it
 * from each fetch answer, and restart at it when their log end lies below it: OFFSET_OUT_OF_RANGE).
 *
 * Found here before the planted bugs existed, and fixed in 07a7426: followers ignored the leader's log start
 * offset, a follower below it retried OFFSET_OUT_OF_RANGE for ever, and DeleteRecords answered before any follower
 * moved (the first two are the first two planted bugs below).
 *
 * Kafka's rules kept here, not bugs: a broker that dies while it is the only in-sync replica (the solo-leader
 * schedule) and comes back to lead may have lost a log start offset moved after its last `log-start-offset-checkpoint`
 * write (seed 169 with --pipelined: DeleteRecords answered 42, the restarted leader starts at 41): the floor then
 * comes down to that checkpoint as the disk holds it. And a replica away for longer than `delete.retention.ms` may keep an older record of
 * a key whose tombstone the leader cleaned away before the replica fetched past it (seeds 19 and 23: the replica's
 * own cleaner never sees that tombstone). The checker accepts that only with such a tombstone sent long enough ago,
 * and counts it (`deletedKeysKeptByReplicas`).
 *
 * CI runs {@link SEEDS} seeds (the longer sweep: `SIM_SEEDS=300 bun test` this file), with log dir failures (cluster.ts
 * `logDirFailures`: each broker with two log dirs, one fault in four a failing disk under the dir of the `rep`
 * partition, which fails the cleaning topics' replicas in that dir too; seeds 1-159 passed by hand); each planted bug
 * is caught from the first seed that catches it (named in the test), without them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runCluster } from "./cluster.ts";
import { describeFailure, firstCaught, runSeeds, seedBudget, seedRange } from "./seeds.ts";

/** Consecutive seeds run with the cleaning workload (SIM_SEEDS overrides). */
const SEEDS = seedBudget(8);

test(`three real brokers with compacted, compact+delete and delete topics: ${SEEDS} seeds of kills, power cuts, clean stops, partitions and failed log dirs keep the latest value of every key, reuse no offset, and keep the log start at or past every DeleteRecords low watermark on every replica`, { timeout: 900_000 }, async () => {
  const totals = { keyedAcked: 0, tombstonesAcked: 0, deleteRecordsAnswered: 0, cleaningReads: 0, recordsCleanedAway: 0, crashes: 0, powerCuts: 0, leaderChanges: 0, cleanStops: 0 };
  const failed = await runSeeds(seedRange(SEEDS), async (seed) => {
    const r = await runCluster(seed, { cleaning: true, logDirFailures: true });
    for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += r.stats[k] ?? 0;
    return r;
  });
  assert.deepEqual(failed.map((r) => describeFailure("cluster", r, "--cleaning --log-dir-failures")), []);
  const n = SEEDS;
  assert.ok(totals.keyedAcked > n * 100 && totals.tombstonesAcked > n * 5 && totals.deleteRecordsAnswered > n * 3 && totals.recordsCleanedAway > n * 50 && totals.crashes > n && totals.leaderChanges > n, JSON.stringify(totals));
});

test("planted bug caught within the budget: a follower ignoring the leader's log start offset", { timeout: 900_000 }, async () => {
  const seeds = [1, ...seedRange(SEEDS)];
  const caught = await firstCaught("cluster", seeds, (seed) => runCluster(seed, { cleaning: true, plantFollowerIgnoresLeaderLogStart: true }), (v) => v.includes("on a settled cluster (every replica up and in sync) answered error") || v.includes("is below the low watermark"), "--cleaning --plant-follower-ignores-leader-log-start");
  assert.ok(caught !== null, `${seeds.length} seeds did not catch a follower that ignores the leader's log start offset`);
});

test("planted bug caught within the budget: a follower below the leader's log start offset never restarting there", { timeout: 900_000 }, async () => {
  const seeds = [1, ...seedRange(SEEDS)];
  const caught = await firstCaught("cluster", seeds, (seed) => runCluster(seed, { cleaning: true, plantFollowerIgnoresOutOfRange: true }), (v) => v.includes("stayed below the leader's log start offset"), "--cleaning --plant-follower-ignores-out-of-range");
  assert.ok(caught !== null, `${seeds.length} seeds did not catch a follower stuck below the leader's log start offset`);
});

test("planted bug caught within the budget: DeleteRecords answered before the followers moved their log start offset", { timeout: 900_000 }, async () => {
  const seeds = [1, ...seedRange(SEEDS)];
  const caught = await firstCaught("cluster", seeds, (seed) => runCluster(seed, { cleaning: true, plantDeleteRecordsAnsweredBeforeReplicas: true }), (v) => v.includes("is below the low watermark") || v.includes("a DeleteRecords answer gave"), "--cleaning --plant-delete-records-before-replicas");
  assert.ok(caught !== null, `${seeds.length} seeds did not catch DeleteRecords answered before the followers moved`);
});
