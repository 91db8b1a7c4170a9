/**
 * Decides what compaction keeps of one record batch, Kafka's way:
 * - a record stays unless the offset map holds a later offset for its key, its key is null (Kafka drops keyless
 *   records when cleaning; produce rejects them for compacted topics), or it is a tombstone (null value) whose
 *   batch carries a delete horizon (attribute bit 6, horizon in baseTimestamp) that has passed;
 * - a batch keeping a tombstone and carrying no horizon yet gets one: now + `delete.retention.ms`, so a tombstone
 *   lives that long after it was first cleaned;
 * - a rebuilt batch's base timestamp is what Kafka's MemoryRecordsBuilder writes: the delete horizon when it has
 *   one, else the first kept record's timestamp; record timestamp deltas are re-encoded against it (a LogAppendTime
 *   batch's records all take its time, so their deltas become 0);
 * - control batches are kept whole (the cleaner decides on markers: {@link BatchFilter.markForDeletion} gives one
 *   its delete horizon), as are transactional batches unless the log's aborted transactions are known
 *   ({@link BatchFilter.configure}; the cleaner drops aborted ones before asking), and compressed batches when no
 *   decompressor was given;
 * - a rebuilt batch keeps baseOffset, lastOffsetDelta (so its last offset), producer id/epoch, baseSequence and
 *   partitionLeaderEpoch; only the count, the records, the timestamps and the CRC change. Compressed batches are
 *   recompressed with their codec (or stored uncompressed when no compressor was given).
 *
 * Kept records are copied as bytes (no decoding into objects); scratch buffers are reused across batches.
 */
import {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_DELETE_HORIZON,
  ATTR_TIMESTAMP_TYPE,
  ATTR_TRANSACTIONAL,
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_OFFSET,
  batchCrcValid,
  computeBatchCrc,
  CRC_OFFSET,
  dataViewOf,
  LOG_OVERHEAD,
  MAX_TIMESTAMP_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  BASE_SEQUENCE_OFFSET,
  RECORDS_COUNT_OFFSET,
} from "../protocol/batch-layout.ts";
import { RecordCursor, VARINT_MAX_BYTES, VARLONG_MAX_BYTES, varlongSize, writeVarintAt, writeVarlongAt } from "../protocol/record-batch.ts";
import type { KeyOffsetMap } from "./cleaner-offset-map.ts";
import type { Compress, Decompress } from "./storage-deps.ts";

/** The batch stays exactly as it is. */
export const FILTER_KEEP = 0;
/** No record of the batch survives. */
export const FILTER_DROP = 1;
/** Some records go (or a delete horizon is set): {@link BatchFilter.output} holds the new batch. */
export const FILTER_REBUILT = 2;

/** Most bytes a decompressed records section may have (a JS typed array bound, as for the compression layer). */
const MAX_SECTION_BYTES = 0x7fff_ffff;

/** A batch whose CRC or records do not check out; the cleaner leaves such a log alone. */
export class CorruptBatchError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = "CorruptBatchError";
  }
}

/** Filters batches against a {@link KeyOffsetMap}. */
export class BatchFilter {
  /** The new batch after {@link filter} returned {@link FILTER_REBUILT} or after {@link emptyBatch} (valid until the next call). */
  output: Uint8Array = new Uint8Array(0);
  /** Records the last {@link filter} call removed. */
  recordsRemoved = 0;
  /** Tombstones the last {@link filter} call removed because their delete horizon had passed. */
  tombstonesRemoved = 0;
  private readonly map: KeyOffsetMap;
  private readonly decompress: Decompress | undefined;
  private readonly compress: Compress | undefined;
  private readonly cursor = new RecordCursor();
  private nowMs = 0;
  private deleteRetentionMs = 0;
  /** Transactional data batches are filtered like others (their aborted ones never reach the filter). */
  private transactionsKnown = false;
  /** Inside {@link markForDeletion}: every record stays and the batch gets a delete horizon if it has none. */
  private keepAll = false;
  private section = new Uint8Array(64 * 1024);
  private out = new Uint8Array(64 * 1024);

  constructor(map: KeyOffsetMap, decompress?: Decompress, compress?: Compress) {
    this.map = map;
    this.decompress = decompress;
    this.compress = compress;
  }

  /**
   * Sets the clock reading and `delete.retention.ms` the next batches are judged by, and whether the log's aborted
   * transactions are known (then committed transactional batches are compacted like any other).
   */
  configure(nowMs: number, deleteRetentionMs: number, transactionsKnown = false): void {
    this.nowMs = nowMs;
    this.deleteRetentionMs = deleteRetentionMs;
    this.transactionsKnown = transactionsKnown;
  }

  /**
   * Gives the control batch at `buf[at]` (a marker whose transaction left no batch) a delete horizon, now +
   * `delete.retention.ms`, as Kafka's filter does for a marker of an emptied transaction: {@link FILTER_REBUILT}
   * with the new batch in {@link output}, or {@link FILTER_KEEP} when it has a horizon already.
   */
  markForDeletion(buf: Uint8Array, at: number, size: number): number {
    this.keepAll = true;
    try {
      return this.filter(buf, at, size);
    } finally {
      this.keepAll = false;
    }
  }

  /**
   * Judges the `size`-byte batch at `buf[at]`, every record of which lies below the end of the mapped section.
   * Returns {@link FILTER_KEEP}, {@link FILTER_DROP} or {@link FILTER_REBUILT}. Throws {@link CorruptBatchError}.
   */
  filter(buf: Uint8Array, at: number, size: number): number {
    this.recordsRemoved = 0;
    this.tombstonesRemoved = 0;
    const dv = dataViewOf(buf);
    const attributes = dv.getInt16(at + ATTRIBUTES_OFFSET);
    if ((attributes & ATTR_CONTROL) !== 0 && !this.keepAll) return FILTER_KEEP;
    if ((attributes & ATTR_TRANSACTIONAL) !== 0 && !this.transactionsKnown && !this.keepAll) return FILTER_KEEP;
    const codec = attributes & ATTR_COMPRESSION_MASK;
    if (codec !== 0 && this.decompress === undefined) return FILTER_KEEP;
    if (!batchCrcValid(buf, dv, at, size)) throw new CorruptBatchError(`bad CRC in batch at offset ${dv.getBigInt64(at + BASE_OFFSET_OFFSET)}`);
    const count = dv.getInt32(at + RECORDS_COUNT_OFFSET);
    if (count === 0) return FILTER_DROP; // an empty batch left by an earlier pass: the caller decides if it still matters
    const baseTimestamp = Number(dv.getBigInt64(at + BASE_TIMESTAMP_OFFSET));
    const hasHorizon = (attributes & ATTR_DELETE_HORIZON) !== 0;
    const horizonPassed = hasHorizon && this.nowMs >= baseTimestamp;
    const baseOffset = Number(dv.getBigInt64(at + BASE_OFFSET_OFFSET));

    let src: Uint8Array;
    let start: number;
    let end: number;
    if (codec === 0) {
      src = buf;
      start = at + BATCH_HEADER_SIZE;
      end = at + size;
    } else {
      try {
        src = this.decompress!(codec, buf.subarray(at + BATCH_HEADER_SIZE, at + size));
      } catch (e) {
        throw new CorruptBatchError(`cannot decompress batch at offset ${baseOffset}: ${(e as Error).message}`);
      }
      start = 0;
      end = src.length;
    }
    if (end - start > MAX_SECTION_BYTES) throw new CorruptBatchError(`records section of ${end - start} bytes is too large`);

    // Pass 1: copy kept records verbatim (deltas still relative to the old base timestamp).
    this.ensureSection(end - start);
    const cursor = this.cursor;
    let kept = 0;
    let keptTombstone = false;
    let maxKeptTimestamp = -1;
    let firstKeptTimestamp = -1;
    let w = 0;
    // Kept records are copied in runs of consecutive records (one copy per run, not per record).
    let runStart = start;
    let runEnd = start;
    try {
      cursor.resetRange(src, start, end, count, baseTimestamp, 0);
      while (cursor.next()) {
        if (!this.keeps(cursor, baseOffset, horizonPassed)) {
          if (runEnd > runStart) {
            this.section.set(src.subarray(runStart, runEnd), w);
            w += runEnd - runStart;
          }
          runStart = runEnd = cursor.recordStart + cursor.recordSize;
          continue;
        }
        kept++;
        if (cursor.valueLength < 0) keptTombstone = true;
        const ts = baseTimestamp + cursor.timestampDelta;
        if (kept === 1) firstKeptTimestamp = ts;
        if (ts > maxKeptTimestamp) maxKeptTimestamp = ts;
        runEnd = cursor.recordStart + cursor.recordSize;
      }
      if (runEnd > runStart) {
        this.section.set(src.subarray(runStart, runEnd), w);
        w += runEnd - runStart;
      }
    } catch (e) {
      if (e instanceof CorruptBatchError) throw e;
      throw new CorruptBatchError(`malformed records in batch at offset ${baseOffset}: ${(e as Error).message}`);
    } finally {
      cursor.release();
    }
    this.recordsRemoved = count - kept;
    const setHorizon = (keptTombstone || this.keepAll) && !hasHorizon && Number.isFinite(this.deleteRetentionMs);
    if (kept === count && !setHorizon) return FILTER_KEEP;
    if (kept === 0) return FILTER_DROP;

    // The new batch's base timestamp, as Kafka's MemoryRecordsBuilder writes it: the delete horizon when the batch
    // has or gets one, else the first kept record's timestamp (a LogAppendTime batch's time for every record).
    const logAppendTime = (attributes & ATTR_TIMESTAMP_TYPE) !== 0 ? Number(dv.getBigInt64(at + MAX_TIMESTAMP_OFFSET)) : -1;
    let newBase = hasHorizon ? baseTimestamp : logAppendTime >= 0 ? logAppendTime : firstKeptTimestamp;
    if (setHorizon) {
      newBase = this.nowMs + this.deleteRetentionMs;
      if (!Number.isSafeInteger(newBase)) newBase = Number.MAX_SAFE_INTEGER;
    }
    if (newBase !== baseTimestamp || logAppendTime >= 0) w = this.reencode(src, start, end, count, baseTimestamp, baseOffset, horizonPassed, newBase, logAppendTime);

    let body: Uint8Array = this.section.subarray(0, w);
    let outCodec = 0;
    if (codec !== 0 && this.compress !== undefined) {
      body = this.compress(codec, body);
      outCodec = codec;
    }
    const total = BATCH_HEADER_SIZE + body.length;
    this.ensureOut(total);
    const out = this.out;
    out.set(buf.subarray(at, at + BATCH_HEADER_SIZE), 0);
    out.set(body, BATCH_HEADER_SIZE);
    const odv = dataViewOf(out);
    let newAttributes = (attributes & ~ATTR_COMPRESSION_MASK) | outCodec;
    if (setHorizon) newAttributes |= ATTR_DELETE_HORIZON;
    odv.setInt32(BATCH_LENGTH_OFFSET, total - LOG_OVERHEAD);
    odv.setInt16(ATTRIBUTES_OFFSET, newAttributes);
    odv.setBigInt64(BASE_TIMESTAMP_OFFSET, BigInt(newBase));
    if ((attributes & ATTR_TIMESTAMP_TYPE) === 0) odv.setBigInt64(MAX_TIMESTAMP_OFFSET, BigInt(maxKeptTimestamp));
    odv.setInt32(RECORDS_COUNT_OFFSET, kept);
    odv.setUint32(CRC_OFFSET, computeBatchCrc(out, 0, total));
    this.output = out.subarray(0, total);
    return FILTER_REBUILT;
  }

  /**
   * An empty batch standing for the batch whose header is at `buf[at]` after all its records went: same base and
   * last offset, producer fields and leader epoch, no records, uncompressed, no base timestamp (-1) and the old
   * maxTimestamp, as Kafka's DefaultRecordBatch.writeEmptyHeader, for a batch kept for its producer's state. One
   * kept only so that a cleaned segment ends at its old last offset (`keepTime` false; Kafka keeps no such batch)
   * has no max timestamp either (-1): the time of records that are gone must not count as the segment's or log's
   * largest (retention.ms, ListOffsets max timestamp); nor, when it stood for a transactional or control batch, a
   * producer or those attributes (a marker or aborted data gone for good must not count for a transaction).
   */
  emptyBatch(buf: Uint8Array, at: number, keepTime = true): Uint8Array {
    this.ensureOut(BATCH_HEADER_SIZE);
    const out = this.out;
    out.set(buf.subarray(at, at + BATCH_HEADER_SIZE), 0);
    const dv = dataViewOf(out);
    dv.setInt32(BATCH_LENGTH_OFFSET, BATCH_HEADER_SIZE - LOG_OVERHEAD);
    dv.setInt16(ATTRIBUTES_OFFSET, dv.getInt16(ATTRIBUTES_OFFSET) & ~(ATTR_COMPRESSION_MASK | ATTR_DELETE_HORIZON));
    dv.setBigInt64(BASE_TIMESTAMP_OFFSET, -1n);
    if (!keepTime) {
      dv.setBigInt64(MAX_TIMESTAMP_OFFSET, -1n);
      const attributes = dv.getInt16(ATTRIBUTES_OFFSET);
      if ((attributes & (ATTR_TRANSACTIONAL | ATTR_CONTROL)) !== 0) {
        dv.setInt16(ATTRIBUTES_OFFSET, attributes & ~(ATTR_TRANSACTIONAL | ATTR_CONTROL));
        dv.setBigInt64(PRODUCER_ID_OFFSET, -1n);
        dv.setInt16(PRODUCER_EPOCH_OFFSET, -1);
        dv.setInt32(BASE_SEQUENCE_OFFSET, -1);
      }
    }
    dv.setInt32(RECORDS_COUNT_OFFSET, 0);
    dv.setUint32(CRC_OFFSET, computeBatchCrc(out, 0, BATCH_HEADER_SIZE));
    this.output = out.subarray(0, BATCH_HEADER_SIZE);
    return this.output;
  }

  /** Whether the cursor's record survives. */
  private keeps(cursor: RecordCursor, baseOffset: number, horizonPassed: boolean): boolean {
    if (this.keepAll) return true;
    if (cursor.keyLength < 0) return false;
    this.map.hashKey(cursor.bytes, cursor.keyStart, cursor.keyLength);
    if (this.map.latestFor() > baseOffset + cursor.offsetDelta) return false;
    if (cursor.valueLength < 0 && horizonPassed) {
      this.tombstonesRemoved++;
      return false;
    }
    return true;
  }

  /**
   * Pass 2 (only when the base timestamp changes, or the batch is LogAppendTime): writes the kept records with deltas
   * against `newBase`; with `logAppendTime` >= 0 every record's time is that (Kafka's records of such a batch).
   */
  private reencode(src: Uint8Array, start: number, end: number, count: number, oldBase: number, baseOffset: number, horizonPassed: boolean, newBase: number, logAppendTime: number): number {
    this.ensureSection(end - start + count * (VARINT_MAX_BYTES + VARLONG_MAX_BYTES));
    const cursor = this.cursor;
    const sec = this.section;
    const tombstonesRemoved = this.tombstonesRemoved;
    let w = 0;
    cursor.resetRange(src, start, end, count, oldBase, 0);
    while (cursor.next()) {
      if (!this.keeps(cursor, baseOffset, horizonPassed)) continue;
      const rs = cursor.recordStart;
      const rend = rs + cursor.recordSize;
      let p = rs;
      while ((src[p] & 0x80) !== 0) p++; // length varint
      p++;
      const recordAttributes = src[p++];
      while ((src[p] & 0x80) !== 0) p++; // timestampDelta varlong
      p++;
      const delta = (logAppendTime >= 0 ? logAppendTime : oldBase + cursor.timestampDelta) - newBase;
      w = writeVarintAt(sec, w, 1 + varlongSize(delta) + (rend - p));
      sec[w++] = recordAttributes;
      w = writeVarlongAt(sec, w, delta);
      for (; p < rend; p++) sec[w++] = src[p];
    }
    cursor.release();
    this.tombstonesRemoved = tombstonesRemoved;
    return w;
  }

  private ensureSection(n: number): void {
    if (this.section.length >= n) return;
    let size = this.section.length;
    while (size < n) size *= 2;
    this.section = new Uint8Array(size);
  }

  private ensureOut(n: number): void {
    if (this.out.length >= n) return;
    let size = this.out.length;
    while (size < n) size *= 2;
    this.out = new Uint8Array(size);
  }
}
