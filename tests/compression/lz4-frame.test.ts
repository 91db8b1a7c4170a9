/** LZ4 frame details: the exact frame we write, and every frame feature and defect a reader must handle. */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CorruptCompressedDataError,
  DecompressionLimitError,
  initCompression,
  lz4Codec,
} from "../../src/compression/index.ts";
import { xxhash32 } from "../../src/compression/xxhash32.ts";
import { jsonRecords, randomBytes, sameBytes } from "./sample-payloads.ts";

await initCompression();

const MAGIC = [0x04, 0x22, 0x4d, 0x18];
const enc = new TextEncoder();

/** Little-endian u32 bytes. */
function u32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

/** Options for {@link frame}. */
interface FrameSpec {
  flg?: number;
  bd?: number;
  contentSize?: number;
  dictId?: number;
  /** Blocks as [bytes, stored?]. Compressed blocks must already be LZ4 block data. */
  blocks: [Uint8Array, boolean][];
  blockChecksums?: boolean;
  contentChecksumOf?: Uint8Array;
  legacyHc?: boolean;
  omitEndMark?: boolean;
}

/** Builds an LZ4 frame by hand. */
function frame(spec: FrameSpec): Uint8Array {
  let flg = spec.flg ?? 0x60;
  if (spec.blockChecksums) flg |= 0x10;
  if (spec.contentSize !== undefined) flg |= 0x08;
  if (spec.contentChecksumOf !== undefined) flg |= 0x04;
  if (spec.dictId !== undefined) flg |= 0x01;
  const descriptor = [flg, spec.bd ?? 0x40];
  if (spec.contentSize !== undefined) descriptor.push(...u32(spec.contentSize), 0, 0, 0, 0);
  if (spec.dictId !== undefined) descriptor.push(...u32(spec.dictId));
  const hcInput = spec.legacyHc ? [...MAGIC, ...descriptor] : descriptor;
  const hc = (xxhash32(new Uint8Array(hcInput)) >>> 8) & 0xff;
  const out = [...MAGIC, ...descriptor, hc];
  for (const [bytes, stored] of spec.blocks) {
    out.push(...u32((bytes.length | (stored ? 0x8000_0000 : 0)) >>> 0), ...bytes);
    if (spec.blockChecksums) out.push(...u32(xxhash32(bytes)));
  }
  if (!spec.omitEndMark) out.push(0, 0, 0, 0);
  if (spec.contentChecksumOf !== undefined) out.push(...u32(xxhash32(spec.contentChecksumOf)));
  return new Uint8Array(out);
}

/** An LZ4 block that is just literals. */
function literalBlock(text: string): Uint8Array {
  const lit = enc.encode(text);
  assert.ok(lit.length < 15);
  return new Uint8Array([lit.length << 4, ...lit]);
}

/** Asserts `fn` throws CorruptCompressedDataError with a message matching `re`. */
function assertCorrupt(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CorruptCompressedDataError, String(err));
    assert.match(err.message, re);
    return true;
  });
}

test("we write FLG 0x60 / BD 0x40 (64 KiB independent blocks), a correct HC and an end mark", () => {
  const payload = jsonRecords(200_000, 21);
  const f = lz4Codec.compress(payload);
  assert.deepEqual([...f.subarray(0, 6)], [...MAGIC, 0x60, 0x40]);
  assert.equal(f[6], (xxhash32(f.subarray(4, 6)) >>> 8) & 0xff);
  let pos = 7;
  let blocks = 0;
  const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
  while (true) {
    const size = dv.getUint32(pos, true);
    pos += 4;
    if (size === 0) break;
    assert.ok((size & 0x7fff_ffff) <= 64 * 1024);
    pos += size & 0x7fff_ffff;
    blocks++;
  }
  assert.equal(blocks, Math.ceil(payload.length / 65536));
  assert.equal(pos, f.length, "nothing follows the end mark (no content checksum)");
});

test("incompressible blocks are stored uncompressed with the high bit set", () => {
  const payload = randomBytes(100_000, 22);
  const f = lz4Codec.compress(payload);
  const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
  assert.equal(dv.getUint32(7, true), (65536 | 0x8000_0000) >>> 0);
  assert.ok(sameBytes(lz4Codec.decompress(f, payload.length), payload));
});

test("a legacy Kafka (magic 0/1) header checksum is rejected", () => {
  const f = frame({ blocks: [[literalBlock("hello"), false]], legacyHc: true });
  assertCorrupt(() => lz4Codec.decompress(f, 100), /legacy/);
  const ok = frame({ blocks: [[literalBlock("hello"), false]] });
  assert.equal(new TextDecoder().decode(lz4Codec.decompress(ok, 100)), "hello");
});

test("a wrong header checksum is rejected", () => {
  const f = frame({ blocks: [[literalBlock("hello"), false]] });
  f[6] ^= 0x01;
  assertCorrupt(() => lz4Codec.decompress(f, 100), /header checksum/);
});

test("concatenated frames and skippable frames decode to the concatenation", () => {
  const a = lz4Codec.compress(enc.encode("first;"));
  const skippable = new Uint8Array([0x5a, 0x2a, 0x4d, 0x18, ...u32(3), 1, 2, 3]);
  const b = frame({ blocks: [[enc.encode("second"), true]], contentSize: 6 });
  const out = lz4Codec.decompress(new Uint8Array([...a, ...skippable, ...b]), 100);
  assert.equal(new TextDecoder().decode(out), "first;second");
});

test("linked blocks may reference the previous block; independent blocks may not", () => {
  // Block 2: a 4-byte match 4 bytes back (into block 1), then the final literal-only sequence "Z".
  const block2 = new Uint8Array([0x00, 0x04, 0x00, 0x10, 0x5a]);
  const linked = frame({ flg: 0x40, blocks: [[enc.encode("abcd"), true], [block2, false]] });
  assert.equal(new TextDecoder().decode(lz4Codec.decompress(linked, 100)), "abcdabcdZ");
  const independent = frame({ flg: 0x60, blocks: [[enc.encode("abcd"), true], [block2, false]] });
  assertCorrupt(() => lz4Codec.decompress(independent, 100), /offset/);
});

test("overlapping matches (offset < length) repeat the pattern", () => {
  // "ab" then a 15+4+10 = 29-byte match at offset 2, then final literal "!".
  const block = new Uint8Array([0x2f, 0x61, 0x62, 0x02, 0x00, 10, 0x10, 0x21]);
  const out = lz4Codec.decompress(frame({ blocks: [[block, false]] }), 100);
  assert.equal(new TextDecoder().decode(out), "ab".repeat(15) + "a" + "!");
});

test("block and content checksums are verified", () => {
  const blocks: [Uint8Array, boolean][] = [[literalBlock("checked"), false]];
  const good = frame({ blocks, blockChecksums: true, contentChecksumOf: enc.encode("checked") });
  assert.equal(new TextDecoder().decode(lz4Codec.decompress(good, 100)), "checked");
  const badBlock = new Uint8Array(good);
  badBlock[7 + 4 + 8] ^= 0xff; // first byte of the block checksum
  assertCorrupt(() => lz4Codec.decompress(badBlock, 100), /block checksum/);
  const badContent = new Uint8Array(good);
  badContent[badContent.length - 1] ^= 0xff;
  assertCorrupt(() => lz4Codec.decompress(badContent, 100), /content checksum/);
});

test("content size is enforced: over the limit fails early, a mismatch is corrupt", () => {
  const f = frame({ blocks: [[literalBlock("four"), false]], contentSize: 4 });
  assert.equal(lz4Codec.decompress(f, 4).length, 4);
  assert.throws(() => lz4Codec.decompress(f, 3), DecompressionLimitError);
  const liar = frame({ blocks: [[literalBlock("four"), false]], contentSize: 5 });
  assertCorrupt(() => lz4Codec.decompress(liar, 100), /declared 5/);
  const huge = frame({ blocks: [[literalBlock("x"), false]], contentSize: 0x7000_0000 });
  assert.throws(() => lz4Codec.decompress(huge, 1 << 20), DecompressionLimitError);
});

test("dictionary frames, bad versions, reserved bits and bad block sizes are rejected", () => {
  const blocks: [Uint8Array, boolean][] = [[literalBlock("x"), false]];
  assertCorrupt(() => lz4Codec.decompress(frame({ blocks, dictId: 7 }), 100), /dictionary/);
  assertCorrupt(() => lz4Codec.decompress(frame({ blocks, flg: 0xa0 }), 100), /version/);
  assertCorrupt(() => lz4Codec.decompress(frame({ blocks, flg: 0x62 }), 100), /reserved/);
  assertCorrupt(() => lz4Codec.decompress(frame({ blocks, bd: 0x41 }), 100), /reserved/);
  assertCorrupt(() => lz4Codec.decompress(frame({ blocks, bd: 0x30 }), 100), /block max size/);
  const tooBig = frame({ blocks: [[new Uint8Array(65537), true]] });
  assertCorrupt(() => lz4Codec.decompress(tooBig, 1 << 20), /maximum/);
});

test("a block that decodes past the frame's block maximum is corrupt, not a limit error", () => {
  // 64 KiB of literals via a stored block, then a compressed block of one long match (> 64 KiB).
  const longMatch = [0x0f, 0x01, 0x00, ...new Array(258).fill(255), 0x00, 0x10, 0x21];
  const f = frame({ flg: 0x40, blocks: [[new Uint8Array([0x61]), true], [new Uint8Array(longMatch), false]] });
  assertCorrupt(() => lz4Codec.decompress(f, 1 << 20), /maximum/);
});

test("missing end mark, bad magic and trailing garbage are corrupt", () => {
  const f = frame({ blocks: [[literalBlock("x"), false]], omitEndMark: true });
  assertCorrupt(() => lz4Codec.decompress(f, 100), /end mark/);
  const good = frame({ blocks: [[literalBlock("x"), false]] });
  const badMagic = new Uint8Array(good);
  badMagic[0] = 0x05;
  assertCorrupt(() => lz4Codec.decompress(badMagic, 100), /magic/);
  assertCorrupt(() => lz4Codec.decompress(new Uint8Array([...good, 1, 2]), 100), /trailing|magic/);
});
