/**
 * Reads records of a partition for the message browser: from an offset, from a timestamp, or the newest N, with
 * optional key and value text filters. Batches are read from the log as views, decompressed when compressed,
 * and walked with the shared {@link RecordCursor}; control batches are skipped. Work is bounded by
 * {@link MAX_SCANNED_RECORDS} records and {@link MAX_READ_BYTES_PER_STEP} bytes per log read.
 */
import { Buffer } from "node:buffer";
import { RecordCursor } from "../../protocol/record-batch.ts";
import { ATTRIBUTES_OFFSET, ATTR_COMPRESSION_MASK, ATTR_CONTROL, ATTR_TIMESTAMP_TYPE, BATCH_HEADER_SIZE, BATCH_LENGTH_OFFSET, LOG_OVERHEAD, RECORDS_COUNT_OFFSET, BASE_OFFSET_OFFSET, BASE_TIMESTAMP_OFFSET, MAX_TIMESTAMP_OFFSET, dataViewOf } from "../../protocol/batch-layout.ts";
import { codecById } from "../../compression/index.ts";
import type { PartitionState } from "../../broker/broker.ts";

/** Most records one browse looks at (matching or not). */
export const MAX_SCANNED_RECORDS = 20_000;
/** Most records one browse returns. */
export const MAX_BROWSE_LIMIT = 500;
/** Bytes asked of the log per read step. */
export const MAX_READ_BYTES_PER_STEP = 1024 * 1024;
/** Largest decompressed batch the browser inflates. */
const MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

/** Names of the compression codecs by id, as Kafka's compression.type spells them. */
export const CODEC_NAMES = ["none", "gzip", "snappy", "lz4", "zstd"];

/** One record as the JSON API shows it. */
export interface BrowsedRecord {
  /** Partition. */
  partition: number;
  /** Offset. */
  offset: number;
  /** Timestamp (ms since the epoch). */
  timestamp: number;
  /** CreateTime or LogAppendTime. */
  timestampType: "CreateTime" | "LogAppendTime";
  /** Key as UTF-8 text (invalid bytes replaced), or null. */
  key: string | null;
  /** Key bytes in base64, or null. */
  keyBase64: string | null;
  /** Value as UTF-8 text, or null. */
  value: string | null;
  /** Value bytes in base64, or null. */
  valueBase64: string | null;
  /** Headers in order. */
  headers: { key: string; value: string | null; valueBase64: string | null }[];
  /** Compression of the batch the record came in. */
  compression: string;
  /** Record size in bytes (uncompressed). */
  size: number;
}

/** Where to start and what to keep. */
export interface BrowseQuery {
  /** Start offset (inclusive). */
  fromOffset: bigint;
  /** Most records to return. */
  limit: number;
  /** Keep records whose key contains this text (case-insensitive), when set. */
  keyFilter: string | null;
  /** Keep records whose value contains this text (case-insensitive), when set. */
  valueFilter: string | null;
}

const decoder = new TextDecoder("utf-8", { fatal: false });
const text = (b: Uint8Array | null) => (b === null ? null : decoder.decode(b));
const b64 = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.length).toString("base64"));

/** Reads matching records of `p` from `q.fromOffset` up to the high watermark; returns them and how far it got. */
export function browsePartition(p: PartitionState, q: BrowseQuery): { records: BrowsedRecord[]; nextOffset: bigint; scanned: number } {
  const out: BrowsedRecord[] = [];
  const log = p.log;
  const hw = log.highWatermark;
  let at = q.fromOffset < log.logStartOffset ? log.logStartOffset : q.fromOffset;
  let scanned = 0;
  const keyNeedle = q.keyFilter?.toLowerCase() ?? null;
  const valueNeedle = q.valueFilter?.toLowerCase() ?? null;
  const cursor = new RecordCursor();
  let resumeAt: bigint | null = null; // first matching record left out by the limit
  while (at < hw && out.length < q.limit && scanned < MAX_SCANNED_RECORDS) {
    const got = log.read(at, MAX_READ_BYTES_PER_STEP, true, hw);
    if (got.bytes === 0 || got.nextOffset <= at) break;
    for (const chunk of got.chunks) {
      const dv = dataViewOf(chunk);
      for (let pos = 0; pos + BATCH_HEADER_SIZE <= chunk.length; ) {
        const size = dv.getInt32(pos + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
        const attributes = dv.getInt16(pos + ATTRIBUTES_OFFSET);
        if ((attributes & ATTR_CONTROL) === 0) {
          const codec = attributes & ATTR_COMPRESSION_MASK;
          const baseOffset = dv.getBigInt64(pos + BASE_OFFSET_OFFSET);
          const baseTimestamp = Number(dv.getBigInt64(pos + BASE_TIMESTAMP_OFFSET));
          const logAppend = (attributes & ATTR_TIMESTAMP_TYPE) !== 0;
          const maxTimestamp = Number(dv.getBigInt64(pos + MAX_TIMESTAMP_OFFSET));
          const count = dv.getInt32(pos + RECORDS_COUNT_OFFSET);
          let section = chunk.subarray(pos + BATCH_HEADER_SIZE, pos + size);
          if (codec !== 0) {
            const c = codecById(codec);
            if (c === null) throw new Error(`unknown compression codec ${codec}`);
            section = c.decompress(section, MAX_DECOMPRESSED_BYTES);
          }
          cursor.reset(section, count, baseTimestamp, baseOffset);
          while (cursor.next()) {
            const offset = baseOffset + BigInt(cursor.offsetDelta);
            if (offset < at || offset >= hw) continue;
            scanned++;
            const key = cursor.key();
            const value = cursor.value();
            if (keyNeedle !== null && (key === null || !decoder.decode(key).toLowerCase().includes(keyNeedle))) continue;
            if (valueNeedle !== null && (value === null || !decoder.decode(value).toLowerCase().includes(valueNeedle))) continue;
            if (out.length >= q.limit) {
              resumeAt ??= offset;
              continue;
            }
            const headers: BrowsedRecord["headers"] = [];
            const hc = cursor.headers();
            while (hc.next()) headers.push({ key: hc.keyString(), value: text(hc.value()), valueBase64: b64(hc.value()) });
            out.push({
              partition: p.index,
              offset: Number(offset),
              timestamp: logAppend ? maxTimestamp : cursor.timestamp,
              timestampType: logAppend ? "LogAppendTime" : "CreateTime",
              key: text(key),
              keyBase64: b64(key),
              value: text(value),
              valueBase64: b64(value),
              headers,
              compression: CODEC_NAMES[codec] ?? String(codec),
              size: cursor.recordSize,
            });
          }
        }
        pos += size;
      }
    }
    at = got.nextOffset;
  }
  return { records: out, nextOffset: resumeAt ?? at, scanned };
}
