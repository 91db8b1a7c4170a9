/**
 * Helpers for the log cleaner tests: keyed batches (optionally compressed, transactional, control, with a producer),
 * and a reader that walks a whole log back into records and batch headers.
 */
import { codecById, initCompression } from "../../src/compression/index.ts";
import {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_DELETE_HORIZON,
  BATCH_HEADER_SIZE,
  computeBatchCrc,
} from "../../src/protocol/batch-layout.ts";
import { RecordCursor, readBatchHeader } from "../../src/protocol/record-batch.ts";
import type { PartitionLog } from "../../src/storage/partition-log.ts";
import type { Compress, Decompress } from "../../src/storage/storage-deps.ts";
import type { TestLog } from "./log-fixture.ts";
import { encodeRecords, type FixtureRecord, makeBatch } from "./batch-fixture.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Appends batches in a new segment, then a filler batch in the next one, so that the batches are sealed. */
export function appendSealed(t: TestLog, ...batches: Uint8Array[]): void {
  t.clock.advance(10);
  t.log.rollActive();
  for (const b of batches) t.log.append(b, { leaderEpoch: 0 });
  t.clock.advance(10);
  t.log.rollActive();
  t.log.append(keyedBatch([{ k: "filler", v: "f" }]), { leaderEpoch: 0 });
  t.log.highWatermark = t.log.logEndOffset;
}

/** One record to put in a batch: key and value as text (null for null). */
export interface KV {
  /** Key text, or null for a null key. */
  k: string | null;
  /** Value text, or null for a tombstone. */
  v: string | null;
  /** Timestamp delta from the batch base. */
  dt?: number;
}

/** Options for {@link keyedBatch}. */
export interface KeyedBatchOptions {
  /** Base timestamp. */
  ts?: number;
  /** Codec id to compress with (1 gzip ... 4 zstd). */
  codec?: number;
  /** Extra attribute bits (transactional 0x10, LogAppendTime 0x08). */
  attributes?: number;
  /** Producer id, epoch and base sequence. */
  producer?: { id: bigint; epoch: number; seq: number };
}

/** A batch of keyed records (valid CRC). Call {@link initCleanerTestCodecs} first when compressing. */
export function keyedBatch(records: readonly KV[], opts: KeyedBatchOptions = {}): Uint8Array {
  const fixture: FixtureRecord[] = records.map((r, i) => ({
    key: r.k === null ? null : enc.encode(r.k),
    value: r.v === null ? null : enc.encode(r.v),
    timestampDelta: r.dt ?? i,
  }));
  let attributes = opts.attributes ?? 0;
  let section: Uint8Array | undefined;
  if (opts.codec !== undefined && opts.codec !== 0) {
    section = codecById(opts.codec)!.compress(encodeRecords(fixture));
    attributes |= opts.codec;
  }
  const b = makeBatch({ records: fixture, baseTimestamp: opts.ts ?? 1_700_000_000_000, attributes, section });
  if (opts.producer) setProducer(b, opts.producer.id, opts.producer.epoch, opts.producer.seq);
  return b;
}

/** A control batch (transaction marker, COMMIT = 1 / ABORT = 0) of a producer. */
export function controlBatch(type: number, producerId: bigint, ts = 1_700_000_000_000): Uint8Array {
  const key = new Uint8Array([0, 0, 0, type]);
  const value = new Uint8Array([0, 0, 0, 0, 0, 0]);
  const b = makeBatch({ records: [{ key, value }], baseTimestamp: ts, attributes: ATTR_CONTROL | 0x10 });
  setProducer(b, producerId, 0, -1);
  return b;
}

/** Sets producer id, epoch and base sequence of a batch and fixes its CRC. */
export function setProducer(b: Uint8Array, id: bigint, epoch: number, seq: number): void {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  dv.setBigInt64(43, id);
  dv.setInt16(51, epoch);
  dv.setInt32(53, seq);
  dv.setUint32(17, computeBatchCrc(b, 0, b.length));
}

/** Makes the gzip/snappy/lz4/zstd codecs ready. */
export async function initCleanerTestCodecs(): Promise<void> {
  await initCompression();
}

/** The compression layer as storage sees it. */
export const testDecompress: Decompress = (codecId, section) => codecById(codecId)!.decompress(section, 1 << 30);
/** The compression layer's compressor as storage sees it. */
export const testCompress: Compress = (codecId, section) => codecById(codecId)!.compress(section);

/** One record read back. */
export interface ReadRecord {
  offset: bigint;
  key: string | null;
  value: string | null;
  timestamp: number;
}

/** One batch header read back. */
export interface ReadBatch {
  baseOffset: bigint;
  lastOffset: bigint;
  count: number;
  attributes: number;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  baseSequence: number;
  codec: number;
  hasDeleteHorizon: boolean;
}

/** Every batch and record of the log from its start, in order (compressed batches decompressed). */
export function readLog(log: PartitionLog, from: bigint = log.logStartOffset): { batches: ReadBatch[]; records: ReadRecord[] } {
  const batches: ReadBatch[] = [];
  const records: ReadRecord[] = [];
  const cursor = new RecordCursor();
  let offset = from;
  for (let guard = 0; guard < 100_000 && offset < log.logEndOffset; guard++) {
    const r = log.read(offset, 1 << 20, true);
    if (r.batches === 0) break;
    for (const chunk of r.chunks) {
      for (let at = 0; at < chunk.length; ) {
        const h = readBatchHeader(chunk, at);
        const size = h.batchLength + 12;
        const codec = h.attributes & ATTR_COMPRESSION_MASK;
        batches.push({
          baseOffset: h.baseOffset,
          lastOffset: h.baseOffset + BigInt(h.lastOffsetDelta),
          count: h.recordsCount,
          attributes: h.attributes,
          baseTimestamp: h.baseTimestamp,
          maxTimestamp: h.maxTimestamp,
          producerId: h.producerId,
          baseSequence: h.baseSequence,
          codec,
          hasDeleteHorizon: (h.attributes & ATTR_DELETE_HORIZON) !== 0,
        });
        if (codec === 0) cursor.resetBatch(chunk, at, size);
        else cursor.reset(testDecompress(codec, chunk.subarray(at + BATCH_HEADER_SIZE, at + size)), h.recordsCount, Number(h.baseTimestamp), h.baseOffset);
        while (cursor.next()) {
          const k = cursor.key();
          const v = cursor.value();
          records.push({ offset: h.baseOffset + BigInt(cursor.offsetDelta), key: k === null ? null : dec.decode(k), value: v === null ? null : dec.decode(v), timestamp: cursor.timestamp });
        }
        at += size;
      }
    }
    offset = r.nextOffset;
  }
  return { batches, records };
}

/** The latest value per key among `records` (tombstones map to null). */
export function latestByKey(records: readonly ReadRecord[]): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const r of records) if (r.key !== null) out.set(r.key, r.value);
  return out;
}
