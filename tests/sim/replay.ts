/**
 * Replays one simulation seed:
 *   bun tests/sim/replay.ts single <seed> [--plant-lying-fdatasync] [--trace]
 *   bun tests/sim/replay.ts replicated <seed> [--plant-hw-ahead-of-isr] [--power-cuts-under-replicated] [--trace]
 *   bun tests/sim/replay.ts kafka <seed> [--plant-offset-commit-before-durable] [--plant-forget-aborted-txns] [--plant-lso-ignores-open-txns] [--flush-rounds] [--preallocate] [--flush-overlapping=N] [--pretouch] [--plant-zeros-at-asked-end] [--pipelined] [--plant-clean-stop-skips-txn-index-sync] [--plant-snapshot-past-log-end-loaded] [--plant-clean-marker-before-flush] [--roll-ms=N] [--cleaning] [--plant-cleaned-segment-not-synced] [--plant-swap-retires-old-before-commit] [--plant-clean-stop-skips-checkpoints] [--plant-swap-keeps-later-old-segments] [--plant-cleaner-ignores-aborted-txns] [--plant-swap-skips-dir-syncs] [--dirs-durable-at-once] [--journal-per-directory] [--plant-atomic-write-skips-dir-sync] [--trace]
 *   bun tests/sim/replay.ts cluster <seed> [--plant-hw-ahead-of-isr] [--transactions] [--groups] [--pipelined] [--plant-sequence-check-before-leadership] [--plant-offset-commit-before-durable] [--plant-clean-stop-skips-txn-index-sync] [--plant-snapshot-past-log-end-loaded] [--dirs-durable-at-once] [--journal-per-directory] [--plant-atomic-write-skips-dir-sync] [--cleaning] [--plant-follower-ignores-leader-log-start] [--plant-delete-records-before-replicas] [--plant-follower-ignores-out-of-range] [--log-dir-failures] [--trace]
 * Prints the result (and with --trace every step); exits 1 when a checker fails.
 */
import { runSingleBroker } from "./single-broker.ts";
import { runReplicated } from "./replicated.ts";
import { runKafkaBroker } from "./kafka-broker.ts";
import { runCluster } from "./cluster.ts";

const [kind, seedText, ...flags] = process.argv.slice(2);
const seed = Number(seedText);
if (!Number.isInteger(seed) || !["single", "replicated", "kafka", "cluster"].includes(kind)) {
  console.error("usage: bun tests/sim/replay.ts <single|replicated|kafka|cluster> <seed> [plant flags] [--trace]");
  process.exit(2);
}
const verbose = flags.includes("--trace");
/** A `--name=N` flag's number (`--flush-overlapping=N`, `--roll-ms=N`), or undefined. */
function numberFlag(prefix: string): number | undefined {
  const f = flags.find((x) => x.startsWith(prefix));
  return f === undefined ? undefined : Number(f.slice(prefix.length));
}
/** The clean stop's planted bugs and the disk's namespace model asked for (kafka and cluster). */
function cleanStopPlants(): { plantCleanStopSkipsTxnIndexSync: boolean; plantSnapshotPastLogEndLoaded: boolean; unsyncedDirs: boolean; journalPerDirectory: boolean; plantAtomicWriteSkipsDirSync: boolean } {
  return { unsyncedDirs: !flags.includes("--dirs-durable-at-once"), journalPerDirectory: flags.includes("--journal-per-directory"), plantAtomicWriteSkipsDirSync: flags.includes("--plant-atomic-write-skips-dir-sync"), plantCleanStopSkipsTxnIndexSync: flags.includes("--plant-clean-stop-skips-txn-index-sync"), plantSnapshotPastLogEndLoaded: flags.includes("--plant-snapshot-past-log-end-loaded") };
}
const r =
  kind === "single"
    ? await runSingleBroker(seed, { verbose, plantLyingFdatasync: flags.includes("--plant-lying-fdatasync") })
    : kind === "replicated"
      ? await runReplicated(seed, { verbose, plantHighWatermarkAheadOfIsr: flags.includes("--plant-hw-ahead-of-isr"), powerCutsWhileUnderReplicated: flags.includes("--power-cuts-under-replicated") })
      : kind === "kafka"
        ? await runKafkaBroker(seed, { verbose, plantOffsetCommitBeforeDurable: flags.includes("--plant-offset-commit-before-durable"), plantForgetAbortedTransactions: flags.includes("--plant-forget-aborted-txns"), plantLsoIgnoresOpenTransactions: flags.includes("--plant-lso-ignores-open-txns"), flushRounds: flags.includes("--flush-rounds"), preallocate: flags.includes("--preallocate"), flushOverlapping: numberFlag("--flush-overlapping="), pretouch: flags.includes("--pretouch"), plantZerosAtAskedEnd: flags.includes("--plant-zeros-at-asked-end"), pipelined: flags.includes("--pipelined"), plantCleanMarkerBeforeFlush: flags.includes("--plant-clean-marker-before-flush"), rollMs: numberFlag("--roll-ms="), cleaning: flags.includes("--cleaning"), plantCleanedSegmentNotSynced: flags.includes("--plant-cleaned-segment-not-synced"), plantSwapRetiresOldBeforeCommit: flags.includes("--plant-swap-retires-old-before-commit"), plantCleanStopSkipsCheckpoints: flags.includes("--plant-clean-stop-skips-checkpoints"), plantSwapKeepsLaterOldSegments: flags.includes("--plant-swap-keeps-later-old-segments"), plantCleanerIgnoresAbortedTxns: flags.includes("--plant-cleaner-ignores-aborted-txns"), plantSwapSkipsDirSyncs: flags.includes("--plant-swap-skips-dir-syncs"), ...cleanStopPlants() })
        : await runCluster(seed, { verbose, plantHighWatermarkAheadOfIsr: flags.includes("--plant-hw-ahead-of-isr"), transactions: flags.includes("--transactions"), groups: flags.includes("--groups"), pipelined: flags.includes("--pipelined"), plantSequenceCheckBeforeLeadership: flags.includes("--plant-sequence-check-before-leadership"), plantOffsetCommitBeforeDurable: flags.includes("--plant-offset-commit-before-durable"), logDirFailures: flags.includes("--log-dir-failures"), cleaning: flags.includes("--cleaning"), plantFollowerIgnoresLeaderLogStart: flags.includes("--plant-follower-ignores-leader-log-start"), plantDeleteRecordsAnsweredBeforeReplicas: flags.includes("--plant-delete-records-before-replicas"), plantFollowerIgnoresOutOfRange: flags.includes("--plant-follower-ignores-out-of-range"), ...cleanStopPlants() });
console.log(JSON.stringify({ seed: r.seed, traceHash: r.traceHash, simulatedMs: r.simulatedMs, stats: r.stats }));
for (const v of r.violations) console.log(`VIOLATION ${v}`);
process.exit(r.violations.length > 0 ? 1 : 0);
