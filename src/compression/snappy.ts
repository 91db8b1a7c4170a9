/**
 * Kafka codec 2: snappy.
 *
 * Two encodings meet on the wire. Java clients (xerial snappy-java's SnappyOutputStream) write the xerial
 * framing: magic `\x82SNAPPY\x00`, int32 version 1, int32 compatible version 1, then blocks of
 * [int32 BE compressed length][raw snappy block], 32 KiB of input per block. librdkafka and kafkajs write one
 * plain raw snappy block. Readers (Java, librdkafka) accept both, and so does {@link snappyCodec.decompress};
 * {@link snappyCodec.compress} writes the xerial framing, as Java does.
 *
 * Compression uses snappyjs's block compressor. Decompression is our own: snappyjs's decoder does not check
 * that copies and literals stay inside the declared output length (out-of-range typed-array writes are silently
 * dropped), that a tag's operand bytes are present, or that the output is fully produced, so corrupt input can
 * decode to garbage instead of failing. The decoder below validates every element and the final length.
 */
import { SnappyCompressor } from "snappyjs/snappy_compressor.js";
import {
  assertMaxOutputBytes,
  type CompressionCodec,
  CorruptCompressedDataError,
  DecompressionLimitError,
} from "./codec.ts";

/** Kafka codec id of snappy. */
export const SNAPPY_CODEC_ID = 2;
/** Uncompressed bytes per xerial block, as snappy-java's default block size. */
export const XERIAL_BLOCK_SIZE = 32 * 1024;
/** The xerial stream magic: `\x82SNAPPY\x00`. */
export const XERIAL_MAGIC: Uint8Array = new Uint8Array([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
/** Bytes of the xerial header: magic, int32 version, int32 compatible version. */
export const XERIAL_HEADER_SIZE = 16;
/** Version and compatible version that snappy-java writes. */
const XERIAL_VERSION = 1;
/** Bytes of the int32 length before each xerial block. */
const XERIAL_BLOCK_LENGTH_SIZE = 4;
/** Longest varint a raw snappy preamble may use (a uint32). */
const MAX_VARINT_BYTES = 5;
/** Literals at least this long are copied with `set`; shorter ones byte by byte. */
const LITERAL_SET_THRESHOLD = 16;

/** Whether `data` begins with the xerial magic. */
export function isXerialFramed(data: Uint8Array): boolean {
  if (data.length < XERIAL_MAGIC.length) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i++) {
    if (data[i] !== XERIAL_MAGIC[i]) return false;
  }
  return true;
}

/** Throws the snappy corruption error. */
function corrupt(detail: string): never {
  throw new CorruptCompressedDataError("snappy", detail);
}

/**
 * Reads the uncompressed-length varint at the start of the raw snappy block `src[start, end)`.
 * Returns the length and stores the preamble size in `preamble[0]`.
 */
function readRawLength(src: Uint8Array, start: number, end: number, preamble: Int32Array): number {
  let result = 0;
  let multiplier = 1;
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    if (start + i >= end) corrupt("truncated length preamble");
    const b = src[start + i];
    result += (b & 0x7f) * multiplier;
    if (b < 0x80) {
      if (result > 0xffff_ffff) corrupt("length preamble exceeds 32 bits");
      preamble[0] = i + 1;
      return result;
    }
    multiplier *= 128;
  }
  return corrupt("length preamble longer than 5 bytes");
}

/** Scratch for {@link readRawLength}'s second result; avoids an allocation per block. */
const preambleSize = new Int32Array(1);

/**
 * Decodes the raw snappy elements in `src[ip, end)` into `out[op, op + length)`, where `length` came from the
 * preamble. Every literal and copy must stay inside that window and fill it exactly.
 */
function decodeRawElements(src: Uint8Array, ip: number, end: number, out: Uint8Array, op: number, length: number): void {
  const outStart = op;
  const outEnd = op + length;
  while (ip < end) {
    const tag = src[ip++];
    const kind = tag & 0x03;
    if (kind === 0) {
      let len = (tag >>> 2) + 1;
      if (len > 60) {
        const extra = len - 60; // 1..4 little-endian bytes hold len - 1
        if (ip + extra > end) corrupt("truncated literal length");
        let v = 0;
        for (let k = extra - 1; k >= 0; k--) v = v * 256 + src[ip + k];
        ip += extra;
        len = v + 1;
      }
      if (len > end - ip) corrupt("literal runs past the input");
      if (len > outEnd - op) corrupt("literal runs past the declared length");
      if (len >= LITERAL_SET_THRESHOLD) {
        out.set(src.subarray(ip, ip + len), op);
      } else {
        for (let k = 0; k < len; k++) out[op + k] = src[ip + k];
      }
      ip += len;
      op += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      if (ip + 1 > end) corrupt("truncated copy-1 operand");
      len = ((tag >>> 2) & 0x07) + 4;
      offset = ((tag >>> 5) << 8) | src[ip];
      ip += 1;
    } else if (kind === 2) {
      if (ip + 2 > end) corrupt("truncated copy-2 operand");
      len = (tag >>> 2) + 1;
      offset = src[ip] | (src[ip + 1] << 8);
      ip += 2;
    } else {
      if (ip + 4 > end) corrupt("truncated copy-4 operand");
      len = (tag >>> 2) + 1;
      offset = (src[ip] | (src[ip + 1] << 8) | (src[ip + 2] << 16) | (src[ip + 3] << 24)) >>> 0;
      ip += 4;
    }
    if (offset === 0 || offset > op - outStart) corrupt("copy offset outside the output");
    if (len > outEnd - op) corrupt("copy runs past the declared length");
    // Copies are at most 64 bytes: a byte loop beats copyWithin's call overhead and handles overlap naturally.
    const from = op - offset;
    for (let k = 0; k < len; k++) out[op + k] = out[from + k];
    op += len;
  }
  if (op !== outEnd) corrupt(`decoded ${op - outStart} bytes, preamble declared ${length}`);
}

/** Decompresses one plain raw snappy block (what librdkafka and kafkajs write). */
function decompressRaw(data: Uint8Array, maxOutputBytes: number): Uint8Array {
  const length = readRawLength(data, 0, data.length, preambleSize);
  if (length > maxOutputBytes) throw new DecompressionLimitError("snappy", maxOutputBytes);
  const out = new Uint8Array(length);
  decodeRawElements(data, preambleSize[0], data.length, out, 0, length);
  return out;
}

/**
 * Decompresses a xerial stream. A first pass walks the block lengths and sums the blocks' declared
 * uncompressed sizes, so the output is allocated once, exactly, and only if it fits the limit.
 */
function decompressXerial(data: Uint8Array, maxOutputBytes: number): Uint8Array {
  if (data.length < XERIAL_HEADER_SIZE) corrupt("truncated xerial header");
  // The version fields are not checked: every writer uses 1, and the block layout never changed.
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);

  // Each block takes at least 5 bytes (length + 1-byte preamble), which bounds both passes.
  const maxBlocks = Math.ceil((data.length - XERIAL_HEADER_SIZE) / (XERIAL_BLOCK_LENGTH_SIZE + 1));
  let total = 0;
  let pos = XERIAL_HEADER_SIZE;
  let blocks = 0;
  while (pos < data.length) {
    if (blocks++ >= maxBlocks) corrupt("too many blocks");
    if (pos + XERIAL_BLOCK_LENGTH_SIZE > data.length) corrupt("truncated block length");
    const blockLength = view.getInt32(pos);
    pos += XERIAL_BLOCK_LENGTH_SIZE;
    if (blockLength <= 0 || blockLength > data.length - pos) corrupt(`bad block length ${blockLength}`);
    total += readRawLength(data, pos, pos + blockLength, preambleSize);
    if (total > maxOutputBytes) throw new DecompressionLimitError("snappy", maxOutputBytes);
    pos += blockLength;
  }

  const out = new Uint8Array(total);
  let op = 0;
  pos = XERIAL_HEADER_SIZE;
  while (pos < data.length) {
    const blockLength = view.getInt32(pos);
    pos += XERIAL_BLOCK_LENGTH_SIZE;
    const length = readRawLength(data, pos, pos + blockLength, preambleSize);
    decodeRawElements(data, pos + preambleSize[0], pos + blockLength, out, op, length);
    op += length;
    pos += blockLength;
  }
  if (op !== total) throw new Error(`snappy: xerial passes disagree (${op} != ${total})`);
  return out;
}

/** Compresses `data` as one plain raw snappy block (the librdkafka/kafkajs form). */
export function compressRawSnappy(data: Uint8Array): Uint8Array {
  const compressor = new SnappyCompressor(data);
  const out = new Uint8Array(compressor.maxCompressedLength());
  const n = compressor.compressToBuffer(out);
  return out.slice(0, n);
}

/** Compresses `data` in xerial framing with {@link XERIAL_BLOCK_SIZE}-byte blocks (the Java form). */
export function compressXerialSnappy(data: Uint8Array): Uint8Array {
  const blockCount = Math.max(1, Math.ceil(data.length / XERIAL_BLOCK_SIZE));
  // snappyjs's per-block bound is 32 + n + n/6; sum it over the blocks plus the framing.
  const bound = XERIAL_HEADER_SIZE + blockCount * (XERIAL_BLOCK_LENGTH_SIZE + 32) + data.length + Math.ceil(data.length / 6);
  const out = new Uint8Array(bound);
  const view = new DataView(out.buffer);
  out.set(XERIAL_MAGIC, 0);
  view.setInt32(8, XERIAL_VERSION);
  view.setInt32(12, XERIAL_VERSION);
  let op = XERIAL_HEADER_SIZE;
  // Empty input still gets one (empty) block: readers such as kafka-python only detect the framing when a
  // block follows the header.
  for (let start = 0; start < data.length || start === 0; start += XERIAL_BLOCK_SIZE) {
    const block = data.subarray(start, Math.min(start + XERIAL_BLOCK_SIZE, data.length));
    const compressor = new SnappyCompressor(block);
    const n = compressor.compressToBuffer(out.subarray(op + XERIAL_BLOCK_LENGTH_SIZE));
    if (op + XERIAL_BLOCK_LENGTH_SIZE + n > bound) throw new Error("snappy: xerial output bound exceeded");
    view.setInt32(op, n);
    op += XERIAL_BLOCK_LENGTH_SIZE + n;
  }
  return out.slice(0, op);
}

/** Decompresses xerial-framed or plain raw snappy, whichever `data` is. */
export function decompressSnappy(data: Uint8Array, maxOutputBytes: number): Uint8Array {
  assertMaxOutputBytes(maxOutputBytes);
  return isXerialFramed(data) ? decompressXerial(data, maxOutputBytes) : decompressRaw(data, maxOutputBytes);
}

/** The snappy codec (id 2). Needs no initialisation; `level` is ignored (snappy has none). */
export const snappyCodec: CompressionCodec = {
  id: SNAPPY_CODEC_ID,
  name: "snappy",
  compress(data: Uint8Array, _level?: number): Uint8Array {
    return compressXerialSnappy(data);
  },
  decompress(data: Uint8Array, maxOutputBytes: number): Uint8Array {
    return decompressSnappy(data, maxOutputBytes);
  },
};
