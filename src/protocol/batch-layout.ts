/**
 * Byte layout of a RecordBatch v2 header (magic 2), the unit Runnel stores and serves. All fields are
 * big-endian. The CRC-32C covers bytes from {@link ATTRIBUTES_OFFSET} to the end of the batch, so
 * baseOffset, batchLength, partitionLeaderEpoch and magic can be rewritten without recomputing it.
 * Storage, the broker and the record-batch codec all read header fields through these offsets.
 */
import { crc32c } from "./crc32c.ts";

/** Offset of baseOffset (int64). */
export const BASE_OFFSET_OFFSET = 0;
/** Offset of batchLength (int32; bytes after this field). */
export const BATCH_LENGTH_OFFSET = 8;
/** Offset of partitionLeaderEpoch (int32). */
export const PARTITION_LEADER_EPOCH_OFFSET = 12;
/** Offset of magic (int8). */
export const MAGIC_OFFSET = 16;
/** Offset of crc (uint32). */
export const CRC_OFFSET = 17;
/** Offset of attributes (int16); the CRC covers from here to the end. */
export const ATTRIBUTES_OFFSET = 21;
/** Offset of lastOffsetDelta (int32). */
export const LAST_OFFSET_DELTA_OFFSET = 23;
/** Offset of baseTimestamp (int64). */
export const BASE_TIMESTAMP_OFFSET = 27;
/** Offset of maxTimestamp (int64). */
export const MAX_TIMESTAMP_OFFSET = 35;
/** Offset of producerId (int64). */
export const PRODUCER_ID_OFFSET = 43;
/** Offset of producerEpoch (int16). */
export const PRODUCER_EPOCH_OFFSET = 51;
/** Offset of baseSequence (int32). */
export const BASE_SEQUENCE_OFFSET = 53;
/** Offset of recordsCount (int32). */
export const RECORDS_COUNT_OFFSET = 57;
/** Size of the batch header; records start here. */
export const BATCH_HEADER_SIZE = 61;
/** Bytes before the part that batchLength counts (baseOffset + batchLength). */
export const LOG_OVERHEAD = 12;
/** The only record format Runnel accepts. */
export const CURRENT_MAGIC = 2;

/** Attribute bits 0-2: compression codec id (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd). */
export const ATTR_COMPRESSION_MASK = 0x07;
/** Attribute bit 3: timestamps are LogAppendTime. */
export const ATTR_TIMESTAMP_TYPE = 0x08;
/** Attribute bit 4: part of a transaction. */
export const ATTR_TRANSACTIONAL = 0x10;
/** Attribute bit 5: a control batch (transaction marker). */
export const ATTR_CONTROL = 0x20;
/** Attribute bit 6: baseTimestamp holds the delete horizon (compaction). */
export const ATTR_DELETE_HORIZON = 0x40;

/** A DataView over the same memory as `b`. */
export function dataViewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Total size of the batch starting at `at` (batchLength + 12), or -1 if fewer than 12 bytes remain. */
export function batchSizeAt(dv: DataView, at: number): number {
  if (at + LOG_OVERHEAD > dv.byteLength) return -1;
  return dv.getInt32(at + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
}

/** CRC-32C a batch should carry: over attributes..end of the `size`-byte batch at `at` in `buf`. */
export function computeBatchCrc(buf: Uint8Array, at: number, size: number): number {
  return crc32c(buf.subarray(at + ATTRIBUTES_OFFSET, at + size));
}

/** Whether the stored CRC of the batch at `at` matches its contents. */
export function batchCrcValid(buf: Uint8Array, dv: DataView, at: number, size: number): boolean {
  return dv.getUint32(at + CRC_OFFSET) === computeBatchCrc(buf, at, size);
}
