/**
 * RecordBatch v2 codec: header read/write, in-place header setters for the broker's hot path, produce-time
 * validation, a zero-allocation {@link RecordCursor} over a records section, and a {@link BatchBuilder} that
 * writes records straight into a preallocated buffer.
 *
 * Record layout (all varints are zigzag, Protobuf style): length:varint, attributes:int8,
 * timestampDelta:varlong, offsetDelta:varint, keyLength:varint (-1 null), key, valueLength:varint (-1 null),
 * value, headerCount:varint, then per header keyLength:varint, key (UTF-8), valueLength:varint (-1 null), value.
 *
 * Varints are decoded inline on the bytes with `number` arithmetic. Varlongs (timestamp deltas) are limited to
 * the safe-integer range (|x| <= 2^53); anything larger is rejected as malformed.
 */
import {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_TIMESTAMP_TYPE,
  ATTR_TRANSACTIONAL,
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_OFFSET,
  batchCrcValid,
  computeBatchCrc,
  CRC_OFFSET,
  CURRENT_MAGIC,
  dataViewOf,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORDS_COUNT_OFFSET,
} from "./batch-layout.ts";
import { ErrorCode } from "./errors.ts";
import { MalformedFrameError } from "./wire.ts";

// ---------------------------------------------------------------------------------------------------------
// Constants and limits

/** producerId of a batch written without idempotence. */
export const NO_PRODUCER_ID = -1n;
/** producerEpoch of a batch written without idempotence. */
export const NO_PRODUCER_EPOCH = -1;
/** baseSequence of a batch written without idempotence. */
export const NO_SEQUENCE = -1;
/** partitionLeaderEpoch before the leader stamps the batch. */
export const NO_PARTITION_LEADER_EPOCH = -1;
/** Timestamp value meaning "no timestamp". */
export const NO_TIMESTAMP = -1;

/** Smallest possible encoded record: length, attributes, timestampDelta, offsetDelta, key, value, headerCount. */
export const MIN_RECORD_SIZE = 7;
/** Smallest possible encoded record header: keyLength 0 and valueLength -1. */
export const MIN_HEADER_SIZE = 2;
/** Largest batch the int32 batchLength field can describe. */
export const MAX_BATCH_SIZE = 0x7fffffff;
/** Most bytes a zigzag varint (int32) occupies. */
export const VARINT_MAX_BYTES = 5;
/** Most bytes a zigzag varlong (int64) occupies. */
export const VARLONG_MAX_BYTES = 10;

const TWO_POW_32 = 4294967296;
const EMPTY = new Uint8Array(0);
const textDecoder = new TextDecoder("utf-8", { fatal: false });

// ---------------------------------------------------------------------------------------------------------
// Header

/** The 13 fields of a RecordBatch v2 header (61 bytes). int64 fields are bigint. */
export interface BatchHeader {
  /** Offset of the first record. */
  baseOffset: bigint;
  /** Bytes after the batchLength field (total size - 12). */
  batchLength: number;
  /** Epoch of the leader that appended the batch. */
  partitionLeaderEpoch: number;
  /** Record format version; always 2. */
  magic: number;
  /** CRC-32C of attributes..end, as an unsigned 32-bit integer. */
  crc: number;
  /** Codec, timestamp type, transactional, control and delete-horizon bits. */
  attributes: number;
  /** Offset of the last record minus baseOffset. */
  lastOffsetDelta: number;
  /** Timestamp the record deltas are relative to (or the delete horizon). */
  baseTimestamp: bigint;
  /** Largest record timestamp, or the LogAppendTime. */
  maxTimestamp: bigint;
  /** Idempotent producer id, or -1. */
  producerId: bigint;
  /** Idempotent producer epoch, or -1. */
  producerEpoch: number;
  /** Sequence number of the first record, or -1. */
  baseSequence: number;
  /** Number of records in the batch. */
  recordsCount: number;
}

/** Reads the header of the batch at `at`. Throws {@link MalformedFrameError} if fewer than 61 bytes remain. */
export function readBatchHeader(buf: Uint8Array, at = 0): BatchHeader {
  if (at < 0 || at + BATCH_HEADER_SIZE > buf.length) {
    throw new MalformedFrameError(`batch header needs ${BATCH_HEADER_SIZE} bytes`, at);
  }
  const dv = dataViewOf(buf);
  return {
    baseOffset: dv.getBigInt64(at + BASE_OFFSET_OFFSET),
    batchLength: dv.getInt32(at + BATCH_LENGTH_OFFSET),
    partitionLeaderEpoch: dv.getInt32(at + PARTITION_LEADER_EPOCH_OFFSET),
    magic: dv.getInt8(at + MAGIC_OFFSET),
    crc: dv.getUint32(at + CRC_OFFSET),
    attributes: dv.getInt16(at + ATTRIBUTES_OFFSET),
    lastOffsetDelta: dv.getInt32(at + LAST_OFFSET_DELTA_OFFSET),
    baseTimestamp: dv.getBigInt64(at + BASE_TIMESTAMP_OFFSET),
    maxTimestamp: dv.getBigInt64(at + MAX_TIMESTAMP_OFFSET),
    producerId: dv.getBigInt64(at + PRODUCER_ID_OFFSET),
    producerEpoch: dv.getInt16(at + PRODUCER_EPOCH_OFFSET),
    baseSequence: dv.getInt32(at + BASE_SEQUENCE_OFFSET),
    recordsCount: dv.getInt32(at + RECORDS_COUNT_OFFSET),
  };
}

/** Writes every header field exactly as given (crc too; see {@link sealBatch} to compute it). */
export function writeBatchHeader(buf: Uint8Array, at: number, h: BatchHeader): void {
  if (at < 0 || at + BATCH_HEADER_SIZE > buf.length) throw new RangeError("batch header does not fit");
  const dv = dataViewOf(buf);
  dv.setBigInt64(at + BASE_OFFSET_OFFSET, h.baseOffset);
  dv.setInt32(at + BATCH_LENGTH_OFFSET, h.batchLength);
  dv.setInt32(at + PARTITION_LEADER_EPOCH_OFFSET, h.partitionLeaderEpoch);
  dv.setInt8(at + MAGIC_OFFSET, h.magic);
  dv.setUint32(at + CRC_OFFSET, h.crc >>> 0);
  dv.setInt16(at + ATTRIBUTES_OFFSET, h.attributes);
  dv.setInt32(at + LAST_OFFSET_DELTA_OFFSET, h.lastOffsetDelta);
  dv.setBigInt64(at + BASE_TIMESTAMP_OFFSET, h.baseTimestamp);
  dv.setBigInt64(at + MAX_TIMESTAMP_OFFSET, h.maxTimestamp);
  dv.setBigInt64(at + PRODUCER_ID_OFFSET, h.producerId);
  dv.setInt16(at + PRODUCER_EPOCH_OFFSET, h.producerEpoch);
  dv.setInt32(at + BASE_SEQUENCE_OFFSET, h.baseSequence);
  dv.setInt32(at + RECORDS_COUNT_OFFSET, h.recordsCount);
}

/** Writes batchLength (= size - 12) and the CRC-32C of the `size`-byte batch at `at`; returns the CRC. */
export function sealBatch(buf: Uint8Array, at: number, size: number): number {
  assertBatchRange(buf, at, size);
  writeInt32At(buf, at + BATCH_LENGTH_OFFSET, size - LOG_OVERHEAD);
  const crc = computeBatchCrc(buf, at, size);
  writeInt32At(buf, at + CRC_OFFSET, crc | 0);
  return crc;
}

/** Sets baseOffset in place (outside the CRC, so nothing else changes). */
export function setBaseOffset(dv: DataView, at: number, n: bigint): void {
  dv.setBigInt64(at + BASE_OFFSET_OFFSET, n);
}

/** Sets partitionLeaderEpoch in place (outside the CRC, so nothing else changes). */
export function setPartitionLeaderEpoch(dv: DataView, at: number, epoch: number): void {
  dv.setInt32(at + PARTITION_LEADER_EPOCH_OFFSET, epoch);
}

/**
 * Marks the batch as LogAppendTime with `timestampMs` as its maxTimestamp, like Kafka's
 * `DefaultRecordBatch.setMaxTimestamp(LOG_APPEND_TIME, ts)`: sets attribute bit 3 (other bits kept), writes
 * maxTimestamp, leaves baseTimestamp and the records alone and recomputes the CRC. Does nothing (and returns
 * false) when the batch already carries that timestamp type and value, as Kafka does.
 */
export function setLogAppendTime(buf: Uint8Array, at: number, size: number, timestampMs: number): boolean {
  assertBatchRange(buf, at, size);
  if (size < BATCH_HEADER_SIZE) throw new RangeError(`batch of ${size} bytes has no full header`);
  if (!Number.isSafeInteger(timestampMs)) throw new RangeError(`timestamp ${timestampMs} is not a safe integer`);
  const attributes = readInt16At(buf, at + ATTRIBUTES_OFFSET);
  if ((attributes & ATTR_TIMESTAMP_TYPE) !== 0 && readInt64NumberAt(buf, at + MAX_TIMESTAMP_OFFSET) === timestampMs) {
    return false;
  }
  writeInt16At(buf, at + ATTRIBUTES_OFFSET, attributes | ATTR_TIMESTAMP_TYPE);
  writeInt64NumberAt(buf, at + MAX_TIMESTAMP_OFFSET, timestampMs);
  writeInt32At(buf, at + CRC_OFFSET, computeBatchCrc(buf, at, size) | 0);
  return true;
}

/** The attributes field of the batch at `at` (read from the bytes, no DataView needed). */
export function batchAttributes(buf: Uint8Array, at: number): number {
  return readInt16At(buf, at + ATTRIBUTES_OFFSET);
}

/** Compression codec id held in `attributes` (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd). */
export function compressionCodecOf(attributes: number): number {
  return attributes & ATTR_COMPRESSION_MASK;
}

/** Whether `attributes` marks a control batch (transaction marker and the like). */
export function isControlAttributes(attributes: number): boolean {
  return (attributes & ATTR_CONTROL) !== 0;
}

/** Whether `attributes` marks a transactional batch. */
export function isTransactionalAttributes(attributes: number): boolean {
  return (attributes & ATTR_TRANSACTIONAL) !== 0;
}

/** Whether `attributes` says the timestamps are LogAppendTime (record timestamps = maxTimestamp). */
export function isLogAppendTimeAttributes(attributes: number): boolean {
  return (attributes & ATTR_TIMESTAMP_TYPE) !== 0;
}

// ---------------------------------------------------------------------------------------------------------
// Validation

/**
 * Why a batch was rejected. Each maps to one Kafka error code through {@link batchProblemErrorCode}:
 * damaged bytes are CORRUPT_MESSAGE (2), intact batches that break the format rules are INVALID_RECORD (87).
 */
export type BatchProblem =
  /** Fewer than 61 bytes (CORRUPT_MESSAGE). */
  | "batch_too_small"
  /** batchLength + 12 differs from the batch's size (CORRUPT_MESSAGE). */
  | "batch_length_mismatch"
  /** magic is not 0, 1 or 2 (CORRUPT_MESSAGE). */
  | "invalid_magic"
  /** magic 0 or 1, a legacy MessageSet that produce v3+ may not carry (INVALID_RECORD). */
  | "legacy_magic"
  /** Stored CRC differs from the computed one (CORRUPT_MESSAGE). */
  | "crc_mismatch"
  /** lastOffsetDelta < 0 (INVALID_RECORD). */
  | "invalid_offset_range"
  /** recordsCount <= 0 (INVALID_RECORD). */
  | "invalid_record_count"
  /** lastOffsetDelta + 1 != recordsCount (INVALID_RECORD). */
  | "offset_count_mismatch"
  /** A client tried to write a control batch (INVALID_RECORD). */
  | "control_batch_from_client"
  /** producerId is set but baseSequence is negative (INVALID_RECORD). */
  | "invalid_sequence"
  /** baseTimestamp or a record timestamp is outside the safe-integer range (INVALID_RECORD). */
  | "timestamp_out_of_range"
  /** recordsCount cannot fit in the records section (INVALID_RECORD). */
  | "records_count_mismatch"
  /** A record does not parse, or bytes remain after the last record (INVALID_RECORD). */
  | "malformed_records"
  /** Record offsetDeltas are not 0, 1, ..., recordsCount-1 (INVALID_RECORD). */
  | "offset_delta_mismatch";

/** Kafka error code for a {@link BatchProblem}: 2 (CORRUPT_MESSAGE) or 87 (INVALID_RECORD). */
export function batchProblemErrorCode(problem: BatchProblem): number {
  switch (problem) {
    case "batch_too_small":
    case "batch_length_mismatch":
    case "invalid_magic":
    case "crc_mismatch":
      return ErrorCode.CORRUPT_MESSAGE;
    default:
      return ErrorCode.INVALID_RECORD;
  }
}

/**
 * Checks that the `size` bytes at `at` are one intact v2 batch: magic 2, at least 61 bytes, batchLength
 * consistent with `size`, CRC valid. This is what storage recovery and replication need; produce uses
 * {@link verifyBatch}, which adds the client rules. Requires `initCrc32c()`.
 */
export function verifyBatchIntegrity(buf: Uint8Array, at: number, size: number): BatchProblem | null {
  assertBatchRange(buf, at, size);
  if (size > MAGIC_OFFSET) {
    const magic = (buf[at + MAGIC_OFFSET] << 24) >> 24;
    if (magic === 0 || magic === 1) return "legacy_magic";
    if (magic !== CURRENT_MAGIC) return "invalid_magic";
  }
  if (size < BATCH_HEADER_SIZE) return "batch_too_small";
  if (readInt32At(buf, at + BATCH_LENGTH_OFFSET) !== size - LOG_OVERHEAD) return "batch_length_mismatch";
  if (!batchCrcValid(buf, dataViewOf(buf), at, size)) return "crc_mismatch";
  return null;
}

/**
 * Validates a batch a client produced, as Kafka's broker does: {@link verifyBatchIntegrity}, then
 * lastOffsetDelta >= 0, recordsCount > 0, lastOffsetDelta == recordsCount - 1, not a control batch, a
 * non-negative baseSequence when a producerId is set; and for uncompressed batches that the records section
 * holds exactly recordsCount well-formed records with offsetDeltas 0..n-1 ({@link verifyRecords}).
 * Compressed batches must have their decompressed section checked with {@link verifyRecords} by the caller.
 * Returns null when the batch is acceptable. Requires `initCrc32c()`.
 */
export function verifyBatch(buf: Uint8Array, at: number, size: number): BatchProblem | null {
  const integrity = verifyBatchIntegrity(buf, at, size);
  if (integrity !== null) return integrity;
  const lastOffsetDelta = readInt32At(buf, at + LAST_OFFSET_DELTA_OFFSET);
  const count = readInt32At(buf, at + RECORDS_COUNT_OFFSET);
  if (lastOffsetDelta < 0) return "invalid_offset_range";
  if (count <= 0) return "invalid_record_count";
  if (lastOffsetDelta !== count - 1) return "offset_count_mismatch";
  const attributes = readInt16At(buf, at + ATTRIBUTES_OFFSET);
  if ((attributes & ATTR_CONTROL) !== 0) return "control_batch_from_client";
  const producerIdHigh = readInt32At(buf, at + PRODUCER_ID_OFFSET);
  if (producerIdHigh >= 0 && readInt32At(buf, at + BASE_SEQUENCE_OFFSET) < 0) return "invalid_sequence";
  const baseTimestamp = readInt64NumberAt(buf, at + BASE_TIMESTAMP_OFFSET);
  if (!Number.isSafeInteger(baseTimestamp)) return "timestamp_out_of_range";
  if ((attributes & ATTR_COMPRESSION_MASK) !== 0) return null;
  return verifyRecords(buf, at + BATCH_HEADER_SIZE, at + size, count, baseTimestamp);
}

/**
 * Checks that `buf[start..end)` is a records section of exactly `count` well-formed records whose
 * offsetDeltas are 0..count-1 in order, with no bytes left over. Use it on a decompressed section too.
 */
export function verifyRecords(
  buf: Uint8Array,
  start: number,
  end: number,
  count: number,
  baseTimestamp = 0,
): BatchProblem | null {
  if (start < 0 || end > buf.length || start > end) throw new RangeError("records section outside buffer");
  if (count < 0 || count * MIN_RECORD_SIZE > end - start) return "records_count_mismatch";
  const cursor = sharedVerifierCursor();
  try {
    cursor.resetRange(buf, start, end, count, baseTimestamp, 0);
    let expected = 0;
    while (cursor.next()) {
      if (cursor.offsetDelta !== expected) return "offset_delta_mismatch";
      expected++;
    }
  } catch (e) {
    if (e instanceof MalformedFrameError) {
      return e.message.startsWith(TIMESTAMP_RANGE_MESSAGE) ? "timestamp_out_of_range" : "malformed_records";
    }
    throw e;
  } finally {
    cursor.release();
  }
  return null;
}

/** One cursor reused by every verifyRecords call (calls are synchronous, so it is never shared). */
let verifierCursorInstance: RecordCursor | null = null;
function sharedVerifierCursor(): RecordCursor {
  if (verifierCursorInstance === null) verifierCursorInstance = new RecordCursor();
  return verifierCursorInstance;
}

// ---------------------------------------------------------------------------------------------------------
// Varint scanning (decoding). `scanPos` is the shared read position: callers load it, scan, and store it back.

let scanPos = 0;
const TIMESTAMP_RANGE_MESSAGE = "timestamp outside safe-integer range";

/** Reads a zigzag varint (int32) at scanPos, not past `end`. */
function scanVarint(buf: Uint8Array, end: number): number {
  let p = scanPos;
  let u = 0;
  for (let i = 0; i < VARINT_MAX_BYTES; i++) {
    if (p >= end) throw new MalformedFrameError("truncated varint", p);
    const b = buf[p++];
    if (i === VARINT_MAX_BYTES - 1 && (b & 0xf0) !== 0) throw new MalformedFrameError("varint over 32 bits", p - 1);
    u |= (b & 0x7f) << (7 * i);
    if ((b & 0x80) === 0) {
      scanPos = p;
      return (u >>> 1) ^ -(u & 1);
    }
  }
  throw new MalformedFrameError("varint longer than 5 bytes", p);
}

/** Place values of varlong bytes 4..7, counted from bit 28. */
const VARLONG_HIGH_SCALE = [1, 128, 16384, 2097152];

/**
 * Reads a zigzag varlong at scanPos as a number. The unsigned value is split into 28 low bits (int) and the
 * bits above (a number below 2^26), so the result stays exact; values with |x| > 2^53 are rejected.
 */
function scanVarlong(buf: Uint8Array, end: number): number {
  let p = scanPos;
  let low = 0;
  let high = 0;
  for (let i = 0; i < VARLONG_MAX_BYTES; i++) {
    if (p >= end) throw new MalformedFrameError("truncated varlong", p);
    const b = buf[p++];
    const bits = b & 0x7f;
    if (i < 4) {
      low |= bits << (7 * i);
    } else if (i < 8) {
      // Bits 28..53 of the unsigned value fit; bit 54 and above would leave the safe-integer range.
      if (i === 7 && bits > 0x1f) throw new MalformedFrameError(TIMESTAMP_RANGE_MESSAGE, p - 1);
      high += bits * VARLONG_HIGH_SCALE[i - 4];
    } else if (bits !== 0) {
      throw new MalformedFrameError(i === 9 && bits > 1 ? "varlong over 64 bits" : TIMESTAMP_RANGE_MESSAGE, p - 1);
    }
    if ((b & 0x80) === 0) {
      scanPos = p;
      const half = high * 134217728 + (low >>> 1); // high * 2^27 + low / 2
      return (low & 1) === 0 ? half : -half - 1;
    }
  }
  throw new MalformedFrameError("varlong longer than 10 bytes", p);
}

// ---------------------------------------------------------------------------------------------------------
// Record cursor

/**
 * Walks the records of an uncompressed records section without building an object per record. After
 * {@link RecordCursor.next} returns true the public fields describe the current record; {@link RecordCursor.key},
 * {@link RecordCursor.value} and {@link RecordCursor.headers} return views into the same bytes. Malformed input
 * throws {@link MalformedFrameError}, including bytes left over after the last record.
 */
export class RecordCursor {
  /** Index of the current record (0-based); -1 before the first {@link next}. */
  index = -1;
  /** Record count given to reset. */
  count = 0;
  /** baseOffset given to reset. */
  baseOffset: bigint | number = 0;
  /** baseTimestamp given to reset. */
  baseTimestamp = 0;
  /** Byte position of the current record's length varint. */
  recordStart = 0;
  /** Total encoded size of the current record, length varint included. */
  recordSize = 0;
  /** Record attributes byte (unused by Kafka, normally 0). */
  attributes = 0;
  /** timestampDelta of the current record. */
  timestampDelta = 0;
  /** Timestamp in ms: baseTimestamp + timestampDelta, or the LogAppendTime if the batch has one. */
  timestamp = 0;
  /** offsetDelta of the current record. */
  offsetDelta = 0;
  /** Position of the key bytes. */
  keyStart = 0;
  /** Key length, -1 for a null key. */
  keyLength = -1;
  /** Position of the value bytes. */
  valueStart = 0;
  /** Value length, -1 for a null value. */
  valueLength = -1;
  /** Number of headers of the current record. */
  headerCount = 0;
  /** Position of the first header. */
  headersStart = 0;

  private buf: Uint8Array = EMPTY;
  private pos = 0;
  private end = 0;
  private logAppendTime = 0;
  private hasLogAppendTime = false;
  private readonly headerCursor = new HeaderCursor();

  /** The bytes the cursor reads (positions in the fields are relative to these). */
  get bytes(): Uint8Array {
    return this.buf;
  }

  /** Byte position after the current record (the next record's start). */
  get position(): number {
    return this.pos;
  }

  /** Starts walking `count` records that fill all of `section`. */
  reset(section: Uint8Array, count: number, baseTimestamp: number, baseOffset: bigint | number = 0): this {
    return this.resetRange(section, 0, section.length, count, baseTimestamp, baseOffset);
  }

  /** Starts walking `count` records that fill `buf[start..end)`. */
  resetRange(
    buf: Uint8Array,
    start: number,
    end: number,
    count: number,
    baseTimestamp: number,
    baseOffset: bigint | number = 0,
  ): this {
    if (start < 0 || end > buf.length || start > end) throw new RangeError("records section outside buffer");
    if (!Number.isSafeInteger(baseTimestamp)) throw new MalformedFrameError(TIMESTAMP_RANGE_MESSAGE, start);
    if (!Number.isInteger(count) || count < 0 || count * MIN_RECORD_SIZE > end - start) {
      throw new MalformedFrameError(`record count ${count} does not fit in ${end - start} bytes`, start);
    }
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.count = count;
    this.index = -1;
    this.baseTimestamp = baseTimestamp;
    this.baseOffset = baseOffset;
    this.hasLogAppendTime = false;
    return this;
  }

  /**
   * Starts walking the records of the uncompressed `size`-byte batch at `at`, taking count, base offset and
   * timestamps from its header (LogAppendTime batches report maxTimestamp for every record). Throws a
   * RangeError for a compressed batch: decompress and use {@link reset} instead.
   */
  resetBatch(buf: Uint8Array, at: number, size: number): this {
    assertBatchRange(buf, at, size);
    if (size < BATCH_HEADER_SIZE) throw new MalformedFrameError("batch smaller than its header", at);
    if (buf[at + MAGIC_OFFSET] !== CURRENT_MAGIC) throw new MalformedFrameError("batch magic is not 2", at + MAGIC_OFFSET);
    const attributes = readInt16At(buf, at + ATTRIBUTES_OFFSET);
    if ((attributes & ATTR_COMPRESSION_MASK) !== 0) throw new RangeError("resetBatch needs an uncompressed batch");
    const baseOffset = dataViewOf(buf).getBigInt64(at + BASE_OFFSET_OFFSET);
    const baseTimestamp = readInt64NumberAt(buf, at + BASE_TIMESTAMP_OFFSET);
    const count = readInt32At(buf, at + RECORDS_COUNT_OFFSET);
    this.resetRange(buf, at + BATCH_HEADER_SIZE, at + size, count, baseTimestamp, baseOffset);
    if ((attributes & ATTR_TIMESTAMP_TYPE) !== 0) {
      const maxTimestamp = readInt64NumberAt(buf, at + MAX_TIMESTAMP_OFFSET);
      if (!Number.isSafeInteger(maxTimestamp)) throw new MalformedFrameError(TIMESTAMP_RANGE_MESSAGE, at);
      this.hasLogAppendTime = true;
      this.logAppendTime = maxTimestamp;
    }
    return this;
  }

  /** Drops the reference to the bytes (so a long-lived cursor does not pin a large buffer). */
  release(): void {
    this.buf = EMPTY;
    this.pos = 0;
    this.end = 0;
    this.count = 0;
    this.index = -1;
  }

  /** Advances to the next record; false after the last one. Throws {@link MalformedFrameError}. */
  next(): boolean {
    if (this.index + 1 >= this.count) {
      if (this.pos !== this.end) {
        throw new MalformedFrameError(`${this.end - this.pos} bytes left after the last record`, this.pos);
      }
      this.index = this.count;
      return false;
    }
    const buf = this.buf;
    const recordStart = this.pos;
    scanPos = recordStart;
    const length = scanVarint(buf, this.end);
    const bodyStart = scanPos;
    if (length < MIN_RECORD_SIZE - 1 || length > this.end - bodyStart) {
      throw new MalformedFrameError(`invalid record length ${length}`, recordStart);
    }
    const recordEnd = bodyStart + length;
    this.attributes = buf[scanPos++];
    const timestampDelta = scanVarlong(buf, recordEnd);
    this.offsetDelta = scanVarint(buf, recordEnd);

    const keyLength = scanVarint(buf, recordEnd);
    if (keyLength < -1 || keyLength > recordEnd - scanPos) {
      throw new MalformedFrameError(`invalid key length ${keyLength}`, scanPos);
    }
    this.keyStart = scanPos;
    this.keyLength = keyLength;
    if (keyLength > 0) scanPos += keyLength;

    const valueLength = scanVarint(buf, recordEnd);
    if (valueLength < -1 || valueLength > recordEnd - scanPos) {
      throw new MalformedFrameError(`invalid value length ${valueLength}`, scanPos);
    }
    this.valueStart = scanPos;
    this.valueLength = valueLength;
    if (valueLength > 0) scanPos += valueLength;

    const headerCount = scanVarint(buf, recordEnd);
    if (headerCount < 0 || headerCount * MIN_HEADER_SIZE > recordEnd - scanPos) {
      throw new MalformedFrameError(`invalid header count ${headerCount}`, scanPos);
    }
    this.headerCount = headerCount;
    this.headersStart = scanPos;
    for (let i = 0; i < headerCount; i++) skipHeader(buf, recordEnd);
    if (scanPos !== recordEnd) {
      throw new MalformedFrameError(`record declares ${length} bytes but uses ${scanPos - bodyStart}`, scanPos);
    }

    let timestamp: number;
    if (this.hasLogAppendTime) {
      timestamp = this.logAppendTime;
    } else {
      timestamp = this.baseTimestamp + timestampDelta;
      if (!Number.isSafeInteger(timestamp)) throw new MalformedFrameError(TIMESTAMP_RANGE_MESSAGE, recordStart);
    }
    this.timestampDelta = timestampDelta;
    this.timestamp = timestamp;
    this.recordStart = recordStart;
    this.recordSize = recordEnd - recordStart;
    this.pos = recordEnd;
    this.index++;
    return true;
  }

  /** Absolute offset of the current record (allocates a bigint). */
  offset(): bigint {
    return BigInt(this.baseOffset) + BigInt(this.offsetDelta);
  }

  /** View of the current key, or null. */
  key(): Uint8Array | null {
    return this.keyLength < 0 ? null : this.buf.subarray(this.keyStart, this.keyStart + this.keyLength);
  }

  /** View of the current value, or null. */
  value(): Uint8Array | null {
    return this.valueLength < 0 ? null : this.buf.subarray(this.valueStart, this.valueStart + this.valueLength);
  }

  /** The cursor's reusable header walker, reset to the current record's headers. */
  headers(): HeaderCursor {
    const end = this.recordStart + this.recordSize;
    return this.headerCursor.reset(this.buf, this.headersStart, end, this.headerCount);
  }
}

/** Skips one record header at scanPos, validating its lengths. */
function skipHeader(buf: Uint8Array, end: number): void {
  const keyLength = scanVarint(buf, end);
  if (keyLength < 0 || keyLength > end - scanPos) {
    throw new MalformedFrameError(`invalid header key length ${keyLength}`, scanPos);
  }
  scanPos += keyLength;
  const valueLength = scanVarint(buf, end);
  if (valueLength < -1 || valueLength > end - scanPos) {
    throw new MalformedFrameError(`invalid header value length ${valueLength}`, scanPos);
  }
  if (valueLength > 0) scanPos += valueLength;
}

/** Walks the headers of one record; reused by its {@link RecordCursor}. */
export class HeaderCursor {
  /** Position of the current header key (UTF-8). */
  keyStart = 0;
  /** Current header key length in bytes. */
  keyLength = 0;
  /** Position of the current header value. */
  valueStart = 0;
  /** Current header value length, -1 for null. */
  valueLength = -1;

  private buf: Uint8Array = EMPTY;
  private pos = 0;
  private end = 0;
  private left = 0;

  /** Starts walking `count` headers in `buf[start..end)`. */
  reset(buf: Uint8Array, start: number, end: number, count: number): this {
    if (start < 0 || end > buf.length || start > end || count < 0) throw new RangeError("headers outside buffer");
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.left = count;
    return this;
  }

  /** Advances to the next header; false after the last one. */
  next(): boolean {
    if (this.left === 0) return false;
    const buf = this.buf;
    const end = this.end;
    scanPos = this.pos;
    const keyLength = scanVarint(buf, end);
    if (keyLength < 0 || keyLength > end - scanPos) {
      throw new MalformedFrameError(`invalid header key length ${keyLength}`, scanPos);
    }
    this.keyStart = scanPos;
    this.keyLength = keyLength;
    scanPos += keyLength;
    const valueLength = scanVarint(buf, end);
    if (valueLength < -1 || valueLength > end - scanPos) {
      throw new MalformedFrameError(`invalid header value length ${valueLength}`, scanPos);
    }
    this.valueStart = scanPos;
    this.valueLength = valueLength;
    if (valueLength > 0) scanPos += valueLength;
    this.pos = scanPos;
    this.left--;
    return true;
  }

  /** View of the header key bytes. */
  key(): Uint8Array {
    return this.buf.subarray(this.keyStart, this.keyStart + this.keyLength);
  }

  /** The header key decoded as UTF-8 (allocates a string). */
  keyString(): string {
    return this.keyLength === 0 ? "" : textDecoder.decode(this.key());
  }

  /** View of the header value, or null. */
  value(): Uint8Array | null {
    return this.valueLength < 0 ? null : this.buf.subarray(this.valueStart, this.valueStart + this.valueLength);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Record encoding

/** A record header as producers pass it. */
export interface RecordHeader {
  /** Header key (UTF-8 on the wire, never null). */
  key: string;
  /** Header value, or null. */
  value: Uint8Array | null;
}

/** Encoded size of a zigzag varint holding the int32 `v`. */
export function varintSize(v: number): number {
  const u = ((v << 1) ^ (v >> 31)) >>> 0;
  if (u < 0x80) return 1;
  if (u < 0x4000) return 2;
  if (u < 0x200000) return 3;
  if (u < 0x10000000) return 4;
  return 5;
}

/** Writes the zigzag varint `v` (int32) at `pos`; returns the position after it. */
export function writeVarintAt(buf: Uint8Array, pos: number, v: number): number {
  let u = ((v << 1) ^ (v >> 31)) >>> 0;
  while (u >= 0x80) {
    buf[pos++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  buf[pos++] = u;
  return pos;
}

// zigzag(x) for a safe integer x, split as zigzagHigh * 128 + zigzagLow so no step leaves the exact range.
let zigzagLow = 0;
let zigzagHigh = 0;
function zigzagSplit(x: number): void {
  const negative = x < 0;
  const magnitude = negative ? -x : x;
  let low = (magnitude % 64) * 2 - (negative ? 1 : 0);
  let high = Math.floor(magnitude / 64);
  if (low < 0) {
    low += 128;
    high -= 1;
  }
  zigzagLow = low;
  zigzagHigh = high;
}

/** Encoded size of a zigzag varlong holding the safe integer `v`. */
export function varlongSize(v: number): number {
  // An int32 (every timestamp delta within 24 days of the batch's first) zigzags to the same bytes as a varint.
  if ((v | 0) === v) return varintSize(v);
  if (!Number.isSafeInteger(v)) throw new RangeError(`varlong ${v} is not a safe integer`);
  zigzagSplit(v);
  let n = 1;
  for (let h = zigzagHigh; h > 0; h = Math.floor(h / 128)) n++;
  return n;
}

/** Writes the zigzag varlong `v` (a safe integer) at `pos`; returns the position after it. */
export function writeVarlongAt(buf: Uint8Array, pos: number, v: number): number {
  if ((v | 0) === v) return writeVarintAt(buf, pos, v);
  if (!Number.isSafeInteger(v)) throw new RangeError(`varlong ${v} is not a safe integer`);
  zigzagSplit(v);
  let h = zigzagHigh;
  buf[pos++] = h > 0 ? zigzagLow | 0x80 : zigzagLow;
  while (h > 0) {
    const b = h % 128;
    h = Math.floor(h / 128);
    buf[pos++] = h > 0 ? b | 0x80 : b;
  }
  return pos;
}

/** UTF-8 byte length of `s`, counting unpaired surrogates as U+FFFD (3 bytes), as TextEncoder does. */
export function utf8ByteLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Writes `s` as UTF-8 at `pos` (unpaired surrogates become U+FFFD); returns the position after it. */
function writeUtf8At(buf: Uint8Array, pos: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      buf[pos++] = c;
    } else if (c < 0x800) {
      buf[pos++] = 0xc0 | (c >> 6);
      buf[pos++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
      const cp = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
      buf[pos++] = 0xf0 | (cp >> 18);
      buf[pos++] = 0x80 | ((cp >> 12) & 0x3f);
      buf[pos++] = 0x80 | ((cp >> 6) & 0x3f);
      buf[pos++] = 0x80 | (cp & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
      buf[pos++] = 0xe0 | (c >> 12);
      buf[pos++] = 0x80 | ((c >> 6) & 0x3f);
      buf[pos++] = 0x80 | (c & 0x3f);
    }
  }
  return pos;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Size of a nullable varint-prefixed byte field. */
function bytesFieldSize(b: Uint8Array | null): number {
  return b === null ? 1 : varintSize(b.length) + b.length;
}

/** Writes a nullable varint-prefixed byte field at `pos`; returns the position after it. */
function writeBytesFieldAt(buf: Uint8Array, pos: number, b: Uint8Array | null): number {
  if (b === null) return writeVarintAt(buf, pos, -1);
  pos = writeVarintAt(buf, pos, b.length);
  buf.set(b, pos);
  return pos + b.length;
}

/**
 * Most bytes a record without headers takes beyond its key and value: length varint 5, attributes 1, timestamp delta
 * varlong 10, offset delta varint 5, key and value length varints 5 each, header count 1.
 */
export const RECORD_WITHOUT_HEADERS_MAX_OVERHEAD = 32;

/** Size of a record body (everything after its length varint). */
function recordBodySize(
  offsetDelta: number,
  timestampDelta: number,
  key: Uint8Array | null,
  value: Uint8Array | null,
  headers: readonly RecordHeader[] | undefined,
): number {
  const headerCount = headers === undefined ? 0 : headers.length;
  let size = 1 + varlongSize(timestampDelta) + varintSize(offsetDelta) + bytesFieldSize(key) +
    bytesFieldSize(value) + varintSize(headerCount);
  for (let i = 0; i < headerCount; i++) {
    const h = headers![i];
    const keyBytes = utf8ByteLength(h.key);
    size += varintSize(keyBytes) + keyBytes + bytesFieldSize(h.value);
  }
  return size;
}

/** Encoded size of a record, its length varint included. */
export function recordSize(
  offsetDelta: number,
  timestampDelta: number,
  key: Uint8Array | null,
  value: Uint8Array | null,
  headers?: readonly RecordHeader[],
): number {
  const body = recordBodySize(offsetDelta, timestampDelta, key, value, headers);
  return varintSize(body) + body;
}

/**
 * Writes one record at `pos` (the caller has checked it fits, e.g. with {@link recordSize}); returns the
 * position after it.
 */
export function writeRecordAt(
  buf: Uint8Array,
  pos: number,
  offsetDelta: number,
  timestampDelta: number,
  key: Uint8Array | null,
  value: Uint8Array | null,
  headers?: readonly RecordHeader[],
): number {
  const body = recordBodySize(offsetDelta, timestampDelta, key, value, headers);
  return writeRecordBodyAt(buf, pos, body, offsetDelta, timestampDelta, key, value, headers);
}

/** Writes a record whose body size `body` is already known (see {@link recordBodySize}). */
function writeRecordBodyAt(
  buf: Uint8Array,
  pos: number,
  body: number,
  offsetDelta: number,
  timestampDelta: number,
  key: Uint8Array | null,
  value: Uint8Array | null,
  headers: readonly RecordHeader[] | undefined,
): number {
  const headerCount = headers === undefined ? 0 : headers.length;
  pos = writeVarintAt(buf, pos, body);
  const bodyStart = pos;
  buf[pos++] = 0; // record attributes: unused
  pos = writeVarlongAt(buf, pos, timestampDelta);
  pos = writeVarintAt(buf, pos, offsetDelta);
  pos = writeBytesFieldAt(buf, pos, key);
  pos = writeBytesFieldAt(buf, pos, value);
  pos = writeVarintAt(buf, pos, headerCount);
  for (let i = 0; i < headerCount; i++) {
    const h = headers![i];
    pos = writeVarintAt(buf, pos, utf8ByteLength(h.key));
    pos = writeUtf8At(buf, pos, h.key);
    pos = writeBytesFieldAt(buf, pos, h.value);
  }
  if (pos - bodyStart !== body) throw new Error(`record size ${pos - bodyStart} != computed ${body}`);
  return pos;
}

// ---------------------------------------------------------------------------------------------------------
// Batch builder

/** Settings for the next batch a {@link BatchBuilder} builds. */
export interface BatchBuilderOptions {
  /** Idempotent producer id (default -1). */
  producerId?: bigint;
  /** Idempotent producer epoch (default -1). */
  producerEpoch?: number;
  /** Sequence of the first record (default -1). */
  baseSequence?: number;
  /** Whether the batch belongs to a transaction (default false). */
  isTransactional?: boolean;
  /** Timestamp deltas are relative to this; default: the first record's timestamp. */
  baseTimestamp?: number;
  /** baseOffset to write (default 0; the broker assigns the real one). */
  baseOffset?: bigint;
  /** partitionLeaderEpoch to write (default -1; the leader stamps it). */
  partitionLeaderEpoch?: number;
}

/** A compressor for {@link BatchBuilder.finish}; the compression layer provides it. */
export interface BatchCompressor {
  /** Codec id for the attributes (1 gzip, 2 snappy, 3 lz4, 4 zstd). */
  codecId: number;
  /** Compresses a whole records section; must not keep or modify `section`. */
  compress(section: Uint8Array): Uint8Array;
}

/** Highest codec id a v2 batch can carry (zstd). */
const MAX_CODEC_ID = 4;
/** The buffer of a builder that has none (handed over by finishInPlace, until giveBuffer). */
const NO_BUFFER = new Uint8Array(0);

/**
 * Builds one producer batch at a time into a buffer preallocated at `capacity` bytes (the producer's
 * `batch.size`, header included). Records are written straight into the buffer. {@link append} refuses a
 * record that would exceed the capacity, except as the first record of an empty batch, for which a one-off
 * buffer of the exact size is used. {@link finish} returns a new, owned Uint8Array holding the sealed batch;
 * {@link finishInPlace} seals it in the builder's buffer and hands that buffer over.
 */
export class BatchBuilder {
  /** The configured capacity (batch.size). */
  readonly capacity: number;
  /** The capacity-sized buffer batches are built in; null after {@link finishInPlace} handed it over. */
  private standardBuffer: Uint8Array | null;
  private buf: Uint8Array;
  private pos = BATCH_HEADER_SIZE;
  private count = 0;
  private open = true;
  private producerId = NO_PRODUCER_ID;
  private producerEpoch = NO_PRODUCER_EPOCH;
  private baseSequence = NO_SEQUENCE;
  private isTransactional = false;
  private baseOffset = 0n;
  private partitionLeaderEpoch = NO_PARTITION_LEADER_EPOCH;
  private baseTimestamp = 0;
  private hasBaseTimestamp = false;
  private maxTimestamp = NO_TIMESTAMP;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < BATCH_HEADER_SIZE + MIN_RECORD_SIZE || capacity > MAX_BATCH_SIZE) {
      throw new RangeError(`batch capacity ${capacity} out of range`);
    }
    this.capacity = capacity;
    const buffer = new Uint8Array(capacity);
    this.standardBuffer = buffer;
    this.buf = buffer;
  }

  /** Number of records appended so far. */
  get recordCount(): number {
    return this.count;
  }

  /** Size the batch would have if finished uncompressed now (header included). */
  get sizeInBytes(): number {
    return this.pos;
  }

  /** Whether the builder has a buffer to build the next batch in (false after {@link finishInPlace}). */
  get hasBuffer(): boolean {
    return this.standardBuffer !== null;
  }

  /** Gives a builder whose buffer was handed over a new one of its capacity (its bytes need not be zero). */
  giveBuffer(buffer: Uint8Array): void {
    if (this.standardBuffer !== null) throw new Error("BatchBuilder.giveBuffer while it has a buffer");
    if (buffer.length !== this.capacity) throw new RangeError(`buffer of ${buffer.length} bytes for a builder of capacity ${this.capacity}`);
    this.standardBuffer = buffer;
  }

  /** Starts a new, empty batch. */
  reset(opts: BatchBuilderOptions = {}): this {
    const buffer = this.standardBuffer;
    if (buffer === null) throw new Error("BatchBuilder.reset without a buffer; call giveBuffer() first");
    this.buf = buffer;
    this.pos = BATCH_HEADER_SIZE;
    this.count = 0;
    this.open = true;
    this.producerId = opts.producerId ?? NO_PRODUCER_ID;
    this.producerEpoch = opts.producerEpoch ?? NO_PRODUCER_EPOCH;
    this.baseSequence = opts.baseSequence ?? NO_SEQUENCE;
    this.isTransactional = opts.isTransactional ?? false;
    this.baseOffset = opts.baseOffset ?? 0n;
    this.partitionLeaderEpoch = opts.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH;
    this.hasBaseTimestamp = opts.baseTimestamp !== undefined;
    this.baseTimestamp = opts.baseTimestamp ?? 0;
    this.maxTimestamp = NO_TIMESTAMP;
    if (!Number.isSafeInteger(this.baseTimestamp)) throw new RangeError("baseTimestamp is not a safe integer");
    return this;
  }

  /**
   * Appends a record; returns false (and changes nothing) if it does not fit in the remaining capacity.
   * The first record of an empty batch always fits.
   */
  append(
    timestampMs: number,
    key: Uint8Array | null,
    value: Uint8Array | null,
    headers?: readonly RecordHeader[],
  ): boolean {
    if (!this.open) throw new Error("BatchBuilder.append after finish(); call reset() first");
    if (!Number.isSafeInteger(timestampMs)) throw new RangeError(`timestamp ${timestampMs} is not a safe integer`);
    const baseTimestamp = this.hasBaseTimestamp ? this.baseTimestamp : timestampMs;
    const timestampDelta = timestampMs - baseTimestamp;
    const offsetDelta = this.count;
    const body = recordBodySize(offsetDelta, timestampDelta, key, value, headers);
    const size = varintSize(body) + body;
    if (this.pos + size > this.buf.length) {
      if (this.count > 0) return false;
      if (BATCH_HEADER_SIZE + size > MAX_BATCH_SIZE) throw new RangeError(`record of ${size} bytes is too large`);
      this.buf = new Uint8Array(BATCH_HEADER_SIZE + size);
    }
    const end = writeRecordBodyAt(this.buf, this.pos, body, offsetDelta, timestampDelta, key, value, headers);
    if (end !== this.pos + size) throw new Error("record written with an unexpected size");
    this.pos = end;
    this.count++;
    this.baseTimestamp = baseTimestamp;
    this.hasBaseTimestamp = true;
    if (this.count === 1 || timestampMs > this.maxTimestamp) this.maxTimestamp = timestampMs;
    return true;
  }

  /**
   * Seals the batch: writes the header (lastOffsetDelta, timestamps, count, attributes with the codec) and
   * the CRC, and returns it as a new Uint8Array. With `compress`, the records section is compressed as a
   * whole. The builder must be {@link reset} before the next batch. Requires `initCrc32c()`.
   */
  finish(compress?: BatchCompressor): Uint8Array {
    if (!this.open) throw new Error("BatchBuilder.finish called twice; call reset() first");
    if (this.count === 0) throw new Error("BatchBuilder.finish on an empty batch");
    let attributes = this.isTransactional ? ATTR_TRANSACTIONAL : 0;
    let out: Uint8Array;
    if (compress === undefined) {
      out = this.buf.slice(0, this.pos);
    } else {
      const codecId = compress.codecId;
      if (!Number.isInteger(codecId) || codecId < 1 || codecId > MAX_CODEC_ID) {
        throw new RangeError(`invalid compression codec id ${codecId}`);
      }
      const compressed = compress.compress(this.buf.subarray(BATCH_HEADER_SIZE, this.pos));
      if (BATCH_HEADER_SIZE + compressed.length > MAX_BATCH_SIZE) throw new RangeError("compressed batch too large");
      out = new Uint8Array(BATCH_HEADER_SIZE + compressed.length);
      out.set(compressed, BATCH_HEADER_SIZE);
      attributes |= codecId;
    }
    this.sealInto(out, attributes);
    this.buf = this.standardBuffer!;
    return out;
  }

  /** Writes the header (lastOffsetDelta, timestamps, count, `attributes`) and the CRC of the batch in `out`; closes the builder. */
  private sealInto(out: Uint8Array, attributes: number): void {
    writeBatchHeader(out, 0, {
      baseOffset: this.baseOffset,
      batchLength: out.length - LOG_OVERHEAD,
      partitionLeaderEpoch: this.partitionLeaderEpoch,
      magic: CURRENT_MAGIC,
      crc: 0,
      attributes,
      lastOffsetDelta: this.count - 1,
      baseTimestamp: BigInt(this.baseTimestamp),
      maxTimestamp: BigInt(this.maxTimestamp),
      producerId: this.producerId,
      producerEpoch: this.producerEpoch,
      baseSequence: this.baseSequence,
      recordsCount: this.count,
    });
    sealBatch(out, 0, out.length);
    this.open = false;
  }

  /**
   * Seals the batch uncompressed like {@link finish}, but in the builder's own buffer: returns a view of it
   * instead of a copy, and the caller owns that buffer from now on. A builder that handed over its
   * capacity-sized buffer this way needs {@link giveBuffer} before its next {@link reset}.
   */
  finishInPlace(): Uint8Array {
    if (!this.open) throw new Error("BatchBuilder.finishInPlace called twice; call reset() first");
    if (this.count === 0) throw new Error("BatchBuilder.finishInPlace on an empty batch");
    const out = this.buf.subarray(0, this.pos);
    this.sealInto(out, this.isTransactional ? ATTR_TRANSACTIONAL : 0);
    if (this.buf === this.standardBuffer) this.standardBuffer = null;
    this.buf = NO_BUFFER;
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Big-endian field access on plain bytes (no DataView allocation)

function assertBatchRange(buf: Uint8Array, at: number, size: number): void {
  if (!Number.isInteger(at) || !Number.isInteger(size) || at < 0 || size < 0 || at + size > buf.length) {
    throw new RangeError(`batch range [${at}, ${at}+${size}) outside buffer of ${buf.length}`);
  }
}

function readInt16At(buf: Uint8Array, p: number): number {
  return ((buf[p] << 24) >> 16) | buf[p + 1];
}

function writeInt16At(buf: Uint8Array, p: number, v: number): void {
  buf[p] = (v >> 8) & 0xff;
  buf[p + 1] = v & 0xff;
}

function readInt32At(buf: Uint8Array, p: number): number {
  return (buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3];
}

function writeInt32At(buf: Uint8Array, p: number, v: number): void {
  buf[p] = (v >>> 24) & 0xff;
  buf[p + 1] = (v >>> 16) & 0xff;
  buf[p + 2] = (v >>> 8) & 0xff;
  buf[p + 3] = v & 0xff;
}

/** Reads an int64 as a number (exact within the safe-integer range). */
function readInt64NumberAt(buf: Uint8Array, p: number): number {
  return readInt32At(buf, p) * TWO_POW_32 + (readInt32At(buf, p + 4) >>> 0);
}

/** Writes a safe integer as an int64. */
function writeInt64NumberAt(buf: Uint8Array, p: number, v: number): void {
  const high = Math.floor(v / TWO_POW_32);
  writeInt32At(buf, p, high | 0);
  writeInt32At(buf, p + 4, (v - high * TWO_POW_32) >>> 0);
}
