/**
 * Test-only RecordBatch v2 builder (valid CRC-32C), temp directories, and a stand-in logger, for storage tests.
 * Call `await initCrc32c()` before {@link makeBatch}.
 */
import { concatBytes } from "../../src/protocol/wire.ts";
import * as nodeFs from "node:fs";
import * as os from "node:os";
import * as nodePath from "node:path";
import { crc32c } from "../../src/protocol/crc32c.ts";
import type { StorageLogger } from "../../src/storage/storage-deps.ts";

/** One record for {@link makeBatch}. */
export interface FixtureRecord {
  /** Timestamp delta from the batch base timestamp. */
  timestampDelta?: number;
  /** Offset delta (defaults to the record's index). */
  offsetDelta?: number;
  /** Key bytes (null key if absent). */
  key?: Uint8Array | null;
  /** Value bytes. */
  value?: Uint8Array | null;
}

/** Options for {@link makeBatch}. */
export interface FixtureBatch {
  /** Records (defaults to one record with a 10-byte value). */
  records?: FixtureRecord[];
  /** Base offset written into the header (storage normally overwrites it). */
  baseOffset?: bigint;
  /** Base timestamp. */
  baseTimestamp?: number;
  /** Attributes (codec bits, timestamp type). */
  attributes?: number;
  /** Replaces the records section (e.g. a "compressed" blob); records still give count and deltas. */
  section?: Uint8Array;
  /** Pads each record's value to reach roughly this many bytes per batch. */
  valueBytes?: number;
}

function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

function pushVarint(out: number[], n: number): void {
  let v = zigzag(n);
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/** Encodes the records section of an uncompressed batch. */
export function encodeRecords(records: readonly FixtureRecord[]): Uint8Array {
  const out: number[] = [];
  records.forEach((r, i) => {
    const body: number[] = [0];
    pushVarint(body, r.timestampDelta ?? 0);
    pushVarint(body, r.offsetDelta ?? i);
    if (r.key == null) pushVarint(body, -1);
    else {
      pushVarint(body, r.key.length);
      body.push(...r.key);
    }
    if (r.value == null) pushVarint(body, -1);
    else {
      pushVarint(body, r.value.length);
      for (const b of r.value) body.push(b);
    }
    pushVarint(body, 0);
    pushVarint(out, body.length);
    for (const b of body) out.push(b);
  });
  return new Uint8Array(out);
}

/** Builds one RecordBatch v2 with a valid CRC. */
export function makeBatch(opts: FixtureBatch = {}): Uint8Array {
  const value = new Uint8Array(opts.valueBytes ?? 10).map((_, i) => i & 0xff);
  const records = opts.records ?? [{ value }];
  const section = opts.section ?? encodeRecords(records);
  const baseTimestamp = opts.baseTimestamp ?? 1_700_000_000_000;
  let maxDelta = 0;
  records.forEach((r) => (maxDelta = Math.max(maxDelta, r.timestampDelta ?? 0)));
  const lastOffsetDelta = records.reduce((m, r, i) => Math.max(m, r.offsetDelta ?? i), 0);
  const size = 61 + section.length;
  const buf = new Uint8Array(size);
  const dv = new DataView(buf.buffer);
  dv.setBigInt64(0, opts.baseOffset ?? 0n);
  dv.setInt32(8, size - 12);
  dv.setInt32(12, -1);
  dv.setInt8(16, 2);
  dv.setInt16(21, opts.attributes ?? 0);
  dv.setInt32(23, lastOffsetDelta);
  dv.setBigInt64(27, BigInt(baseTimestamp));
  dv.setBigInt64(35, BigInt(baseTimestamp + maxDelta));
  dv.setBigInt64(43, -1n);
  dv.setInt16(51, -1);
  dv.setInt32(53, -1);
  dv.setInt32(57, records.length);
  buf.set(section, 61);
  dv.setUint32(17, crc32c(buf.subarray(21)));
  return buf;
}

/** A batch of `count` records with values of `valueBytes` bytes, timestamps base+0..count-1. */
export function makeRecordsBatch(count: number, baseTimestamp: number, valueBytes = 10): Uint8Array {
  const records: FixtureRecord[] = [];
  for (let i = 0; i < count; i++) records.push({ timestampDelta: i, value: new Uint8Array(valueBytes).fill(i & 0xff) });
  return makeBatch({ records, baseTimestamp });
}

/** Concatenates byte arrays (the one implementation in src/protocol/wire.ts). */
export const concat = concatBytes;

/** Reads the base offset of the batch at `at`. */
export function baseOffsetAt(buf: Uint8Array, at = 0): bigint {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getBigInt64(at);
}

/** Base offsets of every batch in `chunks` (walking batch lengths). */
export function batchBaseOffsets(chunks: readonly Uint8Array[]): bigint[] {
  const out: bigint[] = [];
  for (const c of chunks) {
    const dv = new DataView(c.buffer, c.byteOffset, c.byteLength);
    for (let at = 0; at < c.length; at += dv.getInt32(at + 8) + 12) out.push(dv.getBigInt64(at));
  }
  return out;
}

/** A fresh temp directory and a function that removes it. */
export function tempDir(prefix = "runnel-storage-"): { dir: string; cleanup: () => void } {
  const dir = nodeFs.mkdtempSync(nodePath.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => nodeFs.rmSync(dir, { recursive: true, force: true }) };
}

/** A logger that remembers its messages. */
export function recordingLogger(): StorageLogger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => void lines.push(`INFO ${m}`),
    warn: (m) => void lines.push(`WARN ${m}`),
    error: (m) => void lines.push(`ERROR ${m}`),
  };
}
