/**
 * Finds the first record in a batch whose timestamp reaches a target, for ListOffsets by timestamp. Walks the
 * records section in place (zigzag varints: length, attributes, timestampDelta, offsetDelta, ...) without
 * decoding keys or values; a compressed section goes through the injected decompressor first.
 */
import {
  ATTR_COMPRESSION_MASK,
  ATTR_TIMESTAMP_TYPE,
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_HEADER_SIZE,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  RECORDS_COUNT_OFFSET,
} from "../protocol/batch-layout.ts";
import type { Decompress } from "./storage-deps.ts";

/** Longest zigzag varlong in bytes. */
const MAX_VARLONG_BYTES = 10;

/** A record position found by timestamp. */
export interface TimestampHit {
  /** The record's offset. */
  offset: bigint;
  /** The record's timestamp. */
  timestamp: number;
  /**
   * The partition leader epoch its batch was written in (the batch header's), -1 when the batch has none: what
   * ListOffsets answers for an offset found by timestamp (Kafka's FileRecords.searchForTimestamp).
   */
  leaderEpoch: number;
}

let varEnd = 0;

/** Reads a zigzag varint/varlong at `pos` as a number (exact below 2^53); sets `varEnd`. Returns NaN if malformed. */
function readZigzag(buf: Uint8Array, pos: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < MAX_VARLONG_BYTES; i++) {
    if (pos + i >= buf.length) return NaN;
    const b = buf[pos + i];
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) {
      varEnd = pos + i + 1;
      return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
    }
  }
  return NaN;
}

/**
 * The first record of the batch `batch` (one whole batch) whose timestamp is >= `target` and whose offset is
 * >= `minOffset`, or null if none. Without a decompressor a compressed batch answers with its first offset and
 * its max timestamp (batch granularity).
 */
export function firstRecordAtOrAfter(batch: Uint8Array, target: number, minOffset: bigint, decompress?: Decompress): TimestampHit | null {
  const dv = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  const attributes = dv.getInt16(ATTRIBUTES_OFFSET);
  const baseOffset = dv.getBigInt64(BASE_OFFSET_OFFSET);
  const baseTimestamp = Number(dv.getBigInt64(BASE_TIMESTAMP_OFFSET));
  const maxTimestamp = Number(dv.getBigInt64(MAX_TIMESTAMP_OFFSET));
  const count = dv.getInt32(RECORDS_COUNT_OFFSET);
  if (maxTimestamp < target) return null;
  const leaderEpoch = Math.max(-1, dv.getInt32(PARTITION_LEADER_EPOCH_OFFSET));
  const logAppendTime = (attributes & ATTR_TIMESTAMP_TYPE) !== 0;
  const codec = attributes & ATTR_COMPRESSION_MASK;
  let section = batch.subarray(BATCH_HEADER_SIZE);
  if (codec !== 0) {
    if (!decompress) return { offset: baseOffset > minOffset ? baseOffset : minOffset, timestamp: maxTimestamp, leaderEpoch };
    section = decompress(codec, section);
  }
  let pos = 0;
  for (let i = 0; i < count && pos < section.length; i++) {
    const length = readZigzag(section, pos);
    if (Number.isNaN(length) || length < 0) return null;
    const recordStart = varEnd;
    const timestampDelta = readZigzag(section, recordStart + 1);
    if (Number.isNaN(timestampDelta)) return null;
    const offsetDelta = readZigzag(section, varEnd);
    if (Number.isNaN(offsetDelta)) return null;
    const timestamp = logAppendTime ? maxTimestamp : baseTimestamp + timestampDelta;
    const offset = baseOffset + BigInt(offsetDelta);
    if (timestamp >= target && offset >= minOffset) return { offset, timestamp, leaderEpoch };
    pos = recordStart + length;
  }
  return null;
}
