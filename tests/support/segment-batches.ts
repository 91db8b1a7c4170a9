/**
 * Walking the record batches of a segment (`.log`) file, the one place tests read a segment's layout: each batch's
 * base offset, length, magic, attributes (codec) and record count, up to the end of the batches. An active segment
 * may hold zeros written ahead of its end (`runnel.log.pretouch.bytes`, `log.preallocate`), and a file read while a
 * broker writes or after a crash may end in a partial batch: the walk stops at either.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** Bytes of a batch's offset and length fields (Kafka's LOG_OVERHEAD). */
const LOG_OVERHEAD = 12;
/** Bytes of a v2 batch header, up to and including the record count (Kafka's RECORD_BATCH_OVERHEAD). */
const BATCH_HEADER = 61;

/** Kafka's compression codec ids (the low three bits of a batch's attributes). */
export const CODEC_IDS = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;

/** One record batch found in a segment file. */
export interface SegmentBatch {
  /** Byte position of the batch in the file. */
  position: number;
  baseOffset: bigint;
  /** The batch's length field (bytes after the offset and length fields). */
  length: number;
  magic: number;
  attributes: number;
  /** Compression codec id (attributes & 7), see {@link CODEC_IDS}. */
  codec: number;
  lastOffsetDelta: number;
  records: number;
}

/**
 * The record batches at the start of `bytes`, in order. The walk ends where no whole batch follows: fewer bytes
 * than a batch header, a length field of 0 or less (a zero tail), or a batch running past the end (a partial
 * write). A length field too small for a batch header, or a magic other than 2 (Runnel stores only v2 batches),
 * throws: the walk has lost its place.
 */
export function segmentBatches(bytes: Uint8Array): SegmentBatch[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: SegmentBatch[] = [];
  for (let at = 0; at + BATCH_HEADER <= bytes.length; ) {
    const length = dv.getInt32(at + 8);
    if (length <= 0) break;
    if (length < BATCH_HEADER - LOG_OVERHEAD) throw new Error(`batch length ${length} at byte ${at} is shorter than a batch header`);
    if (at + LOG_OVERHEAD + length > bytes.length) break;
    const magic = dv.getInt8(at + 16);
    if (magic !== 2) throw new Error(`magic ${magic} at byte ${at}: not a v2 record batch`);
    const attributes = dv.getInt16(at + 21);
    out.push({ position: at, baseOffset: dv.getBigInt64(at), length, magic, attributes, codec: attributes & 7, lastOffsetDelta: dv.getInt32(at + 23), records: dv.getInt32(at + 57) });
    at += LOG_OVERHEAD + length;
  }
  return out;
}

/** The record batches of the segment file `file` (see {@link segmentBatches}). */
export function segmentFileBatches(file: string): SegmentBatch[] {
  return segmentBatches(fs.readFileSync(file));
}

/** The bytes of `file` up to the end of its last whole record batch (a zero tail and a partial batch left out). */
export function logFileBatchBytes(file: string): Buffer {
  const buf = fs.readFileSync(file);
  const batches = segmentBatches(buf);
  const last = batches.at(-1);
  return buf.subarray(0, last === undefined ? 0 : last.position + LOG_OVERHEAD + last.length);
}

/** The codec id of every batch in the segment file `file`, in order. */
export function batchCodecs(file: string): number[] {
  return segmentFileBatches(file).map((b) => b.codec);
}

/**
 * The `.log` files of partition `partition` of `topic` in the log dir `dataDir`, in offset order, each up to the
 * end of its batches, concatenated: what replica comparisons check. A log dir with no directory for the partition
 * gives an empty buffer, as a broker that holds no replica of it (yet) holds no bytes; callers that compare
 * replicas require a non-empty result.
 */
export function partitionLogBytes(dataDir: string, topic: string, partition: number): Buffer {
  const dir = path.join(dataDir, `${topic}-${partition}`);
  if (!fs.existsSync(dir)) return Buffer.alloc(0);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".log")).sort();
  return Buffer.concat(files.map((f) => logFileBatchBytes(path.join(dir, f))));
}
