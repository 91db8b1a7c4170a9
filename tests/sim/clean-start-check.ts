/**
 * Checker: a clean start must find what a full recovery finds. After a clean stop (the clean-shutdown marker on the
 * disk), before the start that trusts it, two brokers are started on copies of the disk's current state: one as
 * the real start will run (the marker trusted), one that ignores it and recovers everything (marker,
 * recovery-point checkpoint, producer snapshots and aborted-transaction index files removed from its copy, so
 * every segment is recovered and producer state and aborted transactions are replayed from the log start). Per
 * partition, these must agree: log start and log end offsets, segment base offsets, high watermark (from the same
 * checkpoint), last stable offset, the producer states (id, epoch, last sequence, last offset, offset delta, open
 * transaction, coordinator epoch), the aborted transactions, the leader epochs, and what a read from a few offsets
 * returns, byte for byte. Any difference is a bug: either the trusted start or the recovery is wrong.
 *
 * The rule, from Kafka's LogLoader.load (3.x/4.x): with the marker (`hadCleanShutdown`), recoverLog recovers no
 * segment: the log end is the active segment's readNextOffset, the recovery point is moved to it, indexes are
 * only sanity-checked, and producer state is the newest snapshot at or below the log end plus a replay of the log
 * after it (UnifiedLog.rebuildProducerState with reloadFromCleanShutdown). Without the marker, every segment from
 * the recovery-point checkpoint on is recovered: batches validated, the log cut at the first invalid one (later
 * segments deleted), offset, time and transaction indexes rebuilt from the records, with producer state rebuilt
 * along. The marker is written only after every log is flushed and its producer snapshot written, so the clean
 * path is a shortcut, never a different answer. A clean start that finds no snapshot at all replays nothing, as
 * Kafka's (which writes empty snapshots there, Runnel none): the stop writes one whenever a producer's batch lies
 * past the log start, so the recovery's replay from the log start finds nothing either. Runnel's clean start also still checks the active segment's tail
 * (Segment.loadTail), which Kafka's does not. What legitimately differs and is not compared: the recovery point
 * (the log end after a clean start, lower after a recovery until the next flush), file handles, timestamps kept for
 * producer expiry. A producer dropped as expired (producer.id.expiration.ms) before the stop would differ too: the
 * clean start's snapshot (written even empty, as Kafka's) leaves it out, a recovery replays it from the log; no
 * simulation here runs long enough for that (tests/transactions/expired-producers-stay-gone-after-a-clean-stop covers
 * it). On partitions whose records the cleaner, retention or DeleteRecords removed (`removesRecords`),
 * the producer states and aborted transactions are not compared either: Kafka too keeps them past the records
 * they came from (producer snapshots until producer.id.expiration.ms; a cleaned segment's transaction index keeps
 * the entries of transactions whose records and markers the cleaner removed), and a recovery that has only the
 * remaining records cannot rebuild them. Offsets, segments, the last stable offset, epochs and reads still must agree.
 */
import type { Broker } from "../../src/broker/broker.ts";
import type { Partition } from "../../src/partition/partition.ts";
import { producerSnapshotOffsets, snapshotFileName } from "../../src/partition/producer-snapshot.ts";
import { CLEAN_SHUTDOWN_FILE } from "../../src/storage/log-manager.ts";
import { RECOVERY_POINT_CHECKPOINT } from "../../src/storage/checkpoint.ts";
import { TXN_INDEX_SUFFIX } from "../../src/storage/log-file-names.ts";
import { Sim, settle } from "./scheduler.ts";
import type { SimDisk } from "./sim-disk.ts";
import { SimWire } from "./sim-wire.ts";
import { SimBrokerProcess } from "./sim-broker.ts";

/** What a clean start keeps past the records it came from, where records were removed (see the file header). */
const KEPT_PAST_THEIR_RECORDS = new Set(["producers", "aborted transactions"]);

/** Bytes read at each probed offset. */
const PROBE_BYTES = 2048;

/** What one broker start made of one partition, as comparable lines. */
type PartitionView = Map<string, string>;

/** Whether the clean-shutdown marker of `logDir` is on `disk` (the next start will trust it). */
export function hasCleanShutdownMarker(disk: SimDisk, logDir: string): boolean {
  return disk.exists(`${logDir}/${CLEAN_SHUTDOWN_FILE}`);
}

/**
 * Starts a broker with `settings` on a copy of `disk` as it is now (marker trusted), and another on a copy with
 * everything recovery rebuilds removed, then compares them partition by partition (see the file header). Both run
 * on simulations of their own (seeded from `sim`'s seed, their clocks at `sim`'s time), while `sim` is held: the
 * run being checked sees no simulated time pass, no event and no draw of its seeded sequence, so its trace is the
 * same with or without this check. Call it from within an event of `sim`. `disk` is not touched. Resolves with
 * the differences, each naming the partition and what differs.
 */
export function compareCleanStartWithFullRecovery(sim: Sim, disk: SimDisk, settings: Record<string, string>, logDir: string, removesRecords: (partition: string) => boolean = () => false): Promise<string[]> {
  const trustedDisk = (side: Sim) => disk.copy(side);
  const recoveredDisk = (side: Sim) => {
    const d = disk.copy(side);
    removeWhatRecoveryRebuilds(d, logDir);
    return d;
  };
  return sim.holdWhile(
    (async () => {
      const trusted = await startOn(sim, trustedDisk, settings, "trusted");
      if (typeof trusted === "string") return [trusted];
      const recovered = await startOn(sim, recoveredDisk, settings, "recovered");
      if (typeof recovered === "string") return [recovered];
      return differences(trusted, recovered, removesRecords);
    })(),
  );
}

/** What differs between the clean start's views and the full recovery's. */
function differences(trusted: Map<string, PartitionView>, recovered: Map<string, PartitionView>, removesRecords: (partition: string) => boolean): string[] {
  const out: string[] = [];
  for (const name of new Set([...trusted.keys(), ...recovered.keys()])) {
    const a = trusted.get(name);
    const b = recovered.get(name);
    if (a === undefined || b === undefined) {
      out.push(`${name}: ${a === undefined ? "only the full recovery" : "only the clean start"} has this partition`);
      continue;
    }
    for (const key of new Set([...a.keys(), ...b.keys()])) {
      if (removesRecords(name) && KEPT_PAST_THEIR_RECORDS.has(key)) continue;
      if (a.get(key) !== b.get(key)) out.push(`${name}: ${key} after the clean start is ${a.get(key)}, after a full recovery ${b.get(key)}`);
    }
  }
  return out.map((d) => `clean start differs from a full recovery: ${d}`);
}

/** Removes the marker, the recovery points, every producer snapshot and every aborted-transaction index file. */
function removeWhatRecoveryRebuilds(disk: SimDisk, logDir: string): void {
  disk.remove(`${logDir}/${CLEAN_SHUTDOWN_FILE}`);
  disk.remove(`${logDir}/${RECOVERY_POINT_CHECKPOINT}`);
  for (const name of disk.list(logDir)) {
    const dir = `${logDir}/${name}`; // a file of the log dir itself lists nothing
    for (const offset of producerSnapshotOffsets(disk, dir)) disk.remove(`${dir}/${snapshotFileName(offset)}`);
    for (const file of disk.list(dir)) if (file.endsWith(TXN_INDEX_SUFFIX)) disk.remove(`${dir}/${file}`);
  }
}

/** Simulated ms a side start may take before it counts as hung. */
const START_BOUND_MS = 60_000;

/**
 * Starts a broker on the disk `diskOn` makes for a new simulation (nobody can reach the broker), runs that
 * simulation until the start is over, takes its view of every partition, and ends the process.
 */
async function startOn(main: Sim, diskOn: (side: Sim) => SimDisk, settings: Record<string, string>, label: string): Promise<Map<string, PartitionView> | string> {
  const side = new Sim(main.seed);
  side.clock.advance(main.clock.monotonicMs());
  const proc = new SimBrokerProcess(side, diskOn(side), new SimWire(side, 1), settings);
  let outcome: Broker | Error | null = null;
  proc.start().then(
    (b) => void (outcome = b),
    (e) => void (outcome = e as Error),
  );
  const until = side.nowMs + START_BOUND_MS;
  for (let spins = 0; outcome === null && side.nowMs < until && spins < 10_000; spins++) {
    await side.run(until, () => outcome !== null);
    if (outcome === null) await settle(); // waiting on promise callbacks only, not on an event
  }
  const done = outcome as Broker | Error | null;
  try {
    if (done === null) return `the ${label} start on a copy of the disk did not finish within ${START_BOUND_MS} simulated ms`;
    if (done instanceof Error) return `the ${label} start on a copy of the disk failed: ${done.stack ?? done}`;
    return viewOf(done);
  } finally {
    proc.crash(false);
  }
}

/** Every partition's comparable state right after start-up. */
function viewOf(b: Broker): Map<string, PartitionView> {
  const views = new Map<string, PartitionView>();
  for (const t of b.topicsByName.values()) {
    for (const p of t.partitions as Partition[]) {
      const v: PartitionView = new Map();
      const log = p.log;
      v.set("log start offset", String(log.logStartOffset));
      v.set("log end offset", String(p.logEndOffset));
      v.set("segments", log.segmentBaseOffsets().join(","));
      v.set("high watermark", String(p.highWatermark));
      v.set("last stable offset", String(p.lastStableOffset));
      v.set(
        "producers",
        p.producers
          .entries()
          .map((e) => `${e.producerId}/${e.epoch} seq ${e.lastSequence} at ${e.lastOffset} (delta ${e.offsetDelta}) txn ${e.currentTxnFirstOffset ?? -1n} coordinator ${e.coordinatorEpoch ?? -1}`)
          .sort()
          .join("; "),
      );
      v.set("aborted transactions", p.abortedTxns.entries().map((a) => `${a.producerId} ${a.firstOffset}-${a.lastOffset} lso ${a.lastStableOffset}`).join("; "));
      v.set("leader epochs", p.leaderEpochs.epochEntries().map((e) => `${e.epoch}@${e.startOffset}`).join(","));
      const start = log.logStartOffset;
      const end = p.logEndOffset;
      for (const at of new Set([start, start + (end - start) / 2n, end > start ? end - 1n : start])) {
        const r = log.read(at, PROBE_BYTES, true);
        v.set(`read at ${at}`, `${r.batches} batches ${r.firstOffset}-${r.nextOffset}, ${r.bytes} bytes, hash ${hashChunks(r.chunks)}`);
      }
      views.set(`${t.name}-${p.index}`, v);
    }
  }
  return views;
}

/** FNV-1a over the bytes of `chunks`, as hex. */
function hashChunks(chunks: readonly Uint8Array[]): string {
  let h = 0x811c9dc5;
  for (const c of chunks) for (let i = 0; i < c.length; i++) h = Math.imul(h ^ c[i], 0x01000193) >>> 0;
  return h.toString(16).padStart(8, "0");
}
