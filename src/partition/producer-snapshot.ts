/**
 * Durable idempotent-producer state: `<offset>.snapshot` files in a partition directory, in Kafka's layout
 * (int16 version 1, uint32 CRC-32C of the rest, then the entries), written at every segment roll (as Kafka does)
 * and at clean shutdown. On start, and after a truncation, the newest snapshot not past the log end is loaded
 * and the batch headers after it are replayed, so a producer retrying a batch that was written just before a crash
 * gets its original offset back instead of a duplicate, and a restart replays little.
 *
 * Transactions: each entry carries the first offset of the producer's ongoing transaction (Kafka's
 * currentTxnFirstOffset); the replay opens transactions at transactional batches and ends them at COMMIT/ABORT
 * markers, reporting each aborted one so the aborted-transaction index can be completed after a crash.
 */
import { crc32c } from "../protocol/crc32c.ts";
import {
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BATCH_LENGTH_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAX_TIMESTAMP_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  ATTRIBUTES_OFFSET,
  ATTR_CONTROL,
  ATTR_TRANSACTIONAL,
  BATCH_HEADER_SIZE,
  dataViewOf,
} from "../protocol/batch-layout.ts";
import type { FileSystem } from "../platform/fs.ts";
import { writeFileAtomicAsync } from "./atomic-file-async.ts";
import type { PartitionLog } from "../storage/partition-log.ts";
import type { ProducerStateTable, ProducerSnapshotEntry } from "./producer-state.ts";
import { ControlRecordType, readTxnMarker } from "../protocol/control-record.ts";

/** An aborted transaction found while replaying (the ABORT marker at lastOffset ended it). */
export interface ReplayedAbort {
  /** The producer. */
  producerId: bigint;
  /** First offset of its transaction in the partition. */
  firstOffset: bigint;
  /** Offset of the ABORT marker. */
  lastOffset: bigint;
  /** Last stable offset right after the marker. */
  lastStableOffset: bigint;
}

/** Snapshot format version (Kafka's ProducerSnapshot v1). */
export const PRODUCER_SNAPSHOT_VERSION = 1;
/** Bytes of one entry: pid 8, epoch 2, last seq 4, last offset 8, offset delta 4, timestamp 8, coordinator epoch 4, txn first offset 8. */
const ENTRY_BYTES = 46;

/** File name of a snapshot taken at `offset`. */
export function snapshotFileName(offset: bigint): string {
  return `${offset.toString().padStart(20, "0")}.snapshot`;
}

/** Encodes entries in Kafka's producer snapshot layout. */
export function encodeProducerSnapshot(entries: readonly ProducerSnapshotEntry[]): Uint8Array {
  const out = new Uint8Array(2 + 4 + 4 + entries.length * ENTRY_BYTES);
  const dv = dataViewOf(out);
  dv.setInt16(0, PRODUCER_SNAPSHOT_VERSION);
  dv.setInt32(6, entries.length);
  let at = 10;
  for (const e of entries) {
    dv.setBigInt64(at, e.producerId);
    dv.setInt16(at + 8, e.epoch);
    dv.setInt32(at + 10, e.lastSequence);
    dv.setBigInt64(at + 14, e.lastOffset);
    dv.setInt32(at + 22, e.offsetDelta);
    dv.setBigInt64(at + 26, BigInt(e.timestamp));
    dv.setInt32(at + 34, e.coordinatorEpoch ?? -1);
    dv.setBigInt64(at + 38, e.currentTxnFirstOffset ?? -1n);
    at += ENTRY_BYTES;
  }
  dv.setUint32(2, crc32c(out.subarray(6)));
  return out;
}

/** Decodes a snapshot; throws on a bad version, length or CRC. */
export function decodeProducerSnapshot(bytes: Uint8Array): ProducerSnapshotEntry[] {
  if (bytes.length < 10) throw new Error("producer snapshot too short");
  const dv = dataViewOf(bytes);
  if (dv.getInt16(0) !== PRODUCER_SNAPSHOT_VERSION) throw new Error(`unknown producer snapshot version ${dv.getInt16(0)}`);
  if (dv.getUint32(2) !== crc32c(bytes.subarray(6))) throw new Error("producer snapshot CRC mismatch");
  const n = dv.getInt32(6);
  if (n < 0 || 10 + n * ENTRY_BYTES !== bytes.length) throw new Error("producer snapshot length mismatch");
  const out: ProducerSnapshotEntry[] = [];
  for (let i = 0, at = 10; i < n; i++, at += ENTRY_BYTES) {
    out.push({
      producerId: dv.getBigInt64(at),
      epoch: dv.getInt16(at + 8),
      lastSequence: dv.getInt32(at + 10),
      lastOffset: dv.getBigInt64(at + 14),
      offsetDelta: dv.getInt32(at + 22),
      timestamp: Number(dv.getBigInt64(at + 26)),
      currentTxnFirstOffset: dv.getBigInt64(at + 38),
      coordinatorEpoch: dv.getInt32(at + 34),
    });
  }
  return out;
}

/** Offsets of the snapshot files in `dir`, ascending. */
export function producerSnapshotOffsets(fs: FileSystem, dir: string): bigint[] {
  return fs
    .list(dir)
    .filter((f) => SNAPSHOT_NAME.test(f))
    .sort()
    .map((f) => BigInt(f.slice(0, 20)));
}

const SNAPSHOT_NAME = /^\d{20}\.snapshot$/;

/**
 * Whether a snapshot (at a roll or a clean stop) is worth its fsyncs: the table holds `entryCount` producers, a snapshot
 * exists already (a newer one must take its place), or a batch with a producer id lies past the log start. Only a log
 * with none of these skips it: a replay from the log start puts nothing into its state. Any other gets one, empty if
 * need be (Kafka takes one whenever the state's end moved past the last snapshot), so producers dropped as expired
 * since are not replayed back from the log at the next start.
 */
export function producerSnapshotWanted(fs: FileSystem, log: PartitionLog, table: ProducerStateTable, entryCount: number): boolean {
  return entryCount > 0 || table.producerBatchEnd > log.logStartOffset || producerSnapshotOffsets(fs, log.dir).length > 0;
}

/**
 * Writes the table as `<logEndOffset>.snapshot` (clean shutdown) and removes snapshots that can no longer serve:
 * those below the log start offset. Skipped where {@link producerSnapshotWanted} says so (two fsyncs saved); otherwise
 * written even empty, as Kafka's UnifiedLog.close does: without it the start would replay from the log start and
 * bring back producers dropped as expired (producer.id.expiration.ms) since.
 */
export function writeProducerSnapshot(fs: FileSystem, log: PartitionLog, table: ProducerStateTable): void {
  const entries = table.entries();
  if (!producerSnapshotWanted(fs, log, table, entries.length)) return;
  fs.writeFileAtomic(`${log.dir}/${snapshotFileName(log.logEndOffset)}`, encodeProducerSnapshot(entries));
  pruneProducerSnapshots(fs, log.dir, log.logStartOffset);
}

/**
 * Writes a snapshot of `entries` taken at `offset` without blocking the event loop (segment roll): a temp file,
 * an asynchronous fdatasync, then the rename, so the file is either whole under its name or absent.
 */
export function writeProducerSnapshotAsync(fs: FileSystem, dir: string, offset: bigint, entries: readonly ProducerSnapshotEntry[]): Promise<void> {
  return writeFileAtomicAsync(fs, `${dir}/${snapshotFileName(offset)}`, encodeProducerSnapshot(entries));
}

/**
 * Removes snapshots below `logStartOffset` (Kafka's deleteSnapshotsBefore): none is loaded at a start any more
 * ({@link loadProducerState} rebuilds the state from the log start instead).
 */
export function pruneProducerSnapshots(fs: FileSystem, dir: string, logStartOffset: bigint): void {
  for (const o of producerSnapshotOffsets(fs, dir)) if (o < logStartOffset) fs.remove(`${dir}/${snapshotFileName(o)}`);
}

/** Removes every snapshot (the log restarted with none of the records they describe: Kafka's truncateFullyAndStartAt). */
export function removeProducerSnapshots(fs: FileSystem, dir: string): void {
  for (const o of producerSnapshotOffsets(fs, dir)) fs.remove(`${dir}/${snapshotFileName(o)}`);
}

/** Removes snapshots taken after `offset` (the log was truncated to it: they describe records that are gone). */
export function removeProducerSnapshotsAbove(fs: FileSystem, dir: string, offset: bigint): void {
  for (const o of producerSnapshotOffsets(fs, dir)) if (o > offset) fs.remove(`${dir}/${snapshotFileName(o)}`);
}

/**
 * Loads the newest valid snapshot at or above the log start into `table` (leaving out the producers expired at `wallNowMs`, as Kafka does) and
 * replays the batch headers written after it (`onAbort` hears of every transaction an ABORT marker ended during the
 * replay). Returns a line describing what was done, for the log. (A clean start with no snapshot does not call it:
 * Partition.open.)
 */
export function loadProducerState(fs: FileSystem, log: PartitionLog, table: ProducerStateTable, wallNowMs: number, onAbort?: (a: ReplayedAbort) => void): string | null {
  let from = log.logStartOffset;
  let loaded = 0;
  for (const offset of producerSnapshotOffsets(fs, log.dir).reverse()) {
    if (offset > log.logEndOffset) continue; // the log was truncated below it
    // Below the log start the records between the snapshot and the log start are neither in it nor replayed (the
    // replay starts at the log start): a transaction it saw open whose marker lies there would stay open for good,
    // the last stable offset stuck. As Kafka's truncateAndReload, the state is then rebuilt from the log start only.
    if (offset < log.logStartOffset) break;
    try {
      const entries = decodeProducerSnapshot(fs.readFile(`${log.dir}/${snapshotFileName(offset)}`));
      table.restore(entries, wallNowMs);
      loaded = entries.length;
      from = offset > from ? offset : from;
      break;
    } catch {
      // A damaged snapshot is ignored; an older one or a replay takes its place.
    }
  }
  // Every batch after the snapshot is replayed, as Kafka's rebuildProducerState does: the newest part of the log holds
  // the producers' latest sequences and the transactions still open. Only headers are read (and a marker's record).
  let replayed = 0;
  let batches = 0;
  log.forEachBatchHeader(from, (buf, dv, at, whole) => {
    batches++;
    if (dv.getBigInt64(at + PRODUCER_ID_OFFSET) < 0n) return;
    const marker = (dv.getInt16(at + ATTRIBUTES_OFFSET) & ATTR_CONTROL) !== 0;
    replayed += applyBatchesToProducerState(table, marker ? whole() : buf.subarray(at, at + BATCH_HEADER_SIZE), from, onAbort);
  });
  if (loaded === 0 && replayed === 0) return null;
  return `producer state of ${log.topicPartition.topic}-${log.topicPartition.partition}: ${loaded} from snapshot, ${replayed} batches replayed (${batches} batch headers read from offset ${from})`;
}

/**
 * Brings producer state up to date with whole batches whose offsets are assigned (an append, leader or follower
 * alike, or a replay): idempotent batches are recorded, transactional ones open their producer's transaction,
 * COMMIT/ABORT markers end it (`onAbort` hears of each aborted one). Batches wholly below `from` are skipped; the one
 * holding `from` is applied whole: a replay from a log start that DeleteRecords put inside a batch reads from that
 * batch (as Kafka's LogSegment.read) and its producer, sequences and transaction count as Kafka's replay counts them.
 * Returns the number of data batches recorded.
 */
export function applyBatchesToProducerState(table: ProducerStateTable, chunk: Uint8Array, from: bigint, onAbort?: (a: ReplayedAbort) => void): number {
  const dv = dataViewOf(chunk);
  let recorded = 0;
  for (let at = 0; at + BATCH_HEADER_SIZE <= chunk.length; at += dv.getInt32(at + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD) {
    const pid = dv.getBigInt64(at + PRODUCER_ID_OFFSET);
    if (pid < 0n) continue;
    const attributes = dv.getInt16(at + ATTRIBUTES_OFFSET);
    const base = dv.getBigInt64(at + BASE_OFFSET_OFFSET);
    const end = base + BigInt(dv.getInt32(at + LAST_OFFSET_DELTA_OFFSET)) + 1n;
    if (end <= from) continue;
    table.noteProducerBatch(end);
    if ((attributes & ATTR_CONTROL) !== 0) {
      replayMarker(table, chunk, at, dv.getInt32(at + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD, pid, dv.getInt16(at + PRODUCER_EPOCH_OFFSET), base, onAbort);
      continue;
    }
    if ((attributes & ATTR_TRANSACTIONAL) !== 0) table.beginTxn(pid, base);
    // The sequences a batch covers run to baseSequence + lastOffsetDelta (Kafka's lastSequence), not + its record
    // count: compaction lowers the count of a producer's batch it keeps (even to 0), never its offsets or sequences.
    const offsetDelta = dv.getInt32(at + LAST_OFFSET_DELTA_OFFSET);
    table.record(pid, dv.getInt16(at + PRODUCER_EPOCH_OFFSET), dv.getInt32(at + BASE_SEQUENCE_OFFSET), offsetDelta + 1, base, offsetDelta, Number(dv.getBigInt64(at + MAX_TIMESTAMP_OFFSET)));
    recorded++;
  }
  return recorded;
}

/** Applies a COMMIT/ABORT marker met during the replay; other control batches and unreadable markers are skipped. */
function replayMarker(table: ProducerStateTable, chunk: Uint8Array, at: number, size: number, pid: bigint, epoch: number, offset: bigint, onAbort?: (a: ReplayedAbort) => void): void {
  let marker;
  try {
    marker = readTxnMarker(chunk, at, size);
  } catch {
    return;
  }
  if (marker === null) return;
  const first = table.completeTxn(pid, epoch, marker.coordinatorEpoch, Number(dataViewOf(chunk).getBigInt64(at + MAX_TIMESTAMP_OFFSET)));
  if (marker.type !== ControlRecordType.ABORT || first === null || onAbort === undefined) return;
  onAbort({ producerId: pid, firstOffset: first, lastOffset: offset, lastStableOffset: table.firstUnstableOffset() ?? offset + 1n });
}
