/**
 * Malformed input never crashes, hangs or returns silently for a truncated stream: bit flips either decode
 * (when the format has no checksum over that byte) or throw CorruptCompressedDataError/DecompressionLimitError;
 * truncations and garbage throw CorruptCompressedDataError. Afterwards every codec still works.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ALL_CODECS,
  type CompressionCodec,
  CorruptCompressedDataError,
  DecompressionLimitError,
  initCompression,
  snappyCodec,
} from "../../src/compression/index.ts";
import { compressRawSnappy, XERIAL_HEADER_SIZE } from "../../src/compression/snappy.ts";
import { jsonRecords, randomBytes, sameBytes, seededRandom } from "./sample-payloads.ts";

await initCompression();

/** Bit flips tried per codec. */
const FLIPS = 400;
/** Truncation points tried per codec (all of them for short streams). */
const MAX_TRUNCATIONS = 600;

/** Decompresses and classifies: "ok", "corrupt", "limit"; any other error fails the test. */
function attempt(codec: CompressionCodec, data: Uint8Array, limit: number): "ok" | "corrupt" | "limit" {
  try {
    codec.decompress(data, limit);
    return "ok";
  } catch (err) {
    if (err instanceof CorruptCompressedDataError) {
      assert.equal(err.codec, codec.name);
      return "corrupt";
    }
    if (err instanceof DecompressionLimitError) return "limit";
    throw new Error(`${codec.name} threw a non-codec error: ${String(err)}`, { cause: err });
  }
}

/** Offsets at which a xerial stream may end legitimately (after the header or after a whole block). */
function xerialBoundaries(stream: Uint8Array): Set<number> {
  const dv = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  const ends = new Set<number>([XERIAL_HEADER_SIZE]);
  for (let pos = XERIAL_HEADER_SIZE; pos < stream.length;) {
    pos += 4 + dv.getInt32(pos);
    ends.add(pos);
  }
  return ends;
}

const PAYLOAD = jsonRecords(150_000, 51);
const LIMIT = PAYLOAD.length * 2 + 1024;

for (const codec of ALL_CODECS) {
  test(`${codec.name}: every truncation throws CorruptCompressedDataError`, () => {
    const stream = codec.compress(PAYLOAD);
    const legal = codec.name === "snappy" ? xerialBoundaries(stream) : new Set<number>();
    const step = Math.max(1, Math.floor(stream.length / MAX_TRUNCATIONS));
    for (let len = 0; len < stream.length; len += len < 64 ? 1 : step) {
      if (legal.has(len)) continue; // a shorter but well-formed xerial stream
      assert.equal(attempt(codec, stream.subarray(0, len), LIMIT), "corrupt", `${codec.name} truncated to ${len}`);
    }
  });

  test(`${codec.name}: bit flips decode or throw a codec error, never anything else`, () => {
    const stream = codec.compress(PAYLOAD);
    const next = seededRandom(52 + codec.id);
    const outcomes = { ok: 0, corrupt: 0, limit: 0 };
    for (let i = 0; i < FLIPS; i++) {
      const flipped = new Uint8Array(stream);
      const at = next() % flipped.length;
      flipped[at] ^= 1 << (next() % 8);
      const outcome = attempt(codec, flipped, LIMIT);
      outcomes[outcome]++;
      // gzip's CRC-32 and length cover everything after the 10-byte header (whose MTIME/XFL/OS are unchecked).
      if (codec.name === "gzip" && at >= 10) assert.notEqual(outcome, "ok", `gzip flip at ${at} went unnoticed`);
    }
    assert.ok(outcomes.corrupt + outcomes.limit > 0, JSON.stringify(outcomes));
  });

  test(`${codec.name}: random garbage throws CorruptCompressedDataError`, () => {
    for (let i = 0; i < 200; i++) {
      const garbage = randomBytes(1 + (i * 37) % 3000, 60 + i);
      assert.notEqual(attempt(codec, garbage, LIMIT), "ok", `${codec.name} accepted garbage #${i}`);
    }
  });

  test(`${codec.name}: empty input is corrupt`, () => {
    assert.equal(attempt(codec, new Uint8Array(0), LIMIT), "corrupt");
  });
}

test("garbage behind valid magics is rejected", () => {
  const magics: [CompressionCodec, number[]][] = [
    [ALL_CODECS[0], [0x1f, 0x8b, 0x08, 0x00]],
    [ALL_CODECS[1], [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]],
    [ALL_CODECS[2], [0x04, 0x22, 0x4d, 0x18]],
    [ALL_CODECS[3], [0x28, 0xb5, 0x2f, 0xfd]],
  ];
  for (const [codec, magic] of magics) {
    for (let i = 1; i <= 200; i++) { // i = 0 would be a bare xerial header: a valid empty stream
      const data = new Uint8Array([...magic, ...randomBytes(i * 13, 500 + i)]);
      assert.notEqual(attempt(codec, data, LIMIT), "ok", `${codec.name} accepted magic + garbage #${i}`);
    }
  }
});

test("raw snappy: bad preambles, offsets and lengths are corrupt", () => {
  const raw = compressRawSnappy(PAYLOAD);
  assert.ok(sameBytes(snappyCodec.decompress(raw, PAYLOAD.length), PAYLOAD));
  // Preamble longer than 5 bytes / over 32 bits.
  assert.equal(attempt(snappyCodec, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), LIMIT), "corrupt");
  assert.equal(attempt(snappyCodec, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x7f]), 0x7fff_ffff), "corrupt");
  // Declared 5 bytes, literal of 3: output short.
  assert.equal(attempt(snappyCodec, new Uint8Array([5, 0x08, 1, 2, 3]), LIMIT), "corrupt");
  // Declared 3 bytes, literal of 4: output long.
  assert.equal(attempt(snappyCodec, new Uint8Array([3, 0x0c, 1, 2, 3, 4]), LIMIT), "corrupt");
  // Copy before any output (offset 1 with nothing written).
  assert.equal(attempt(snappyCodec, new Uint8Array([4, 0x01, 0x01]), LIMIT), "corrupt");
  // Offset 0 copy.
  assert.equal(attempt(snappyCodec, new Uint8Array([5, 0x00, 0x61, 0x01, 0x00]), LIMIT), "corrupt");
  // Declared length over the limit fails before allocating.
  assert.equal(attempt(snappyCodec, new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x07]), 1 << 20), "limit");
});

test("every codec still round-trips after all the corrupt input", () => {
  for (const codec of ALL_CODECS) {
    assert.ok(sameBytes(codec.decompress(codec.compress(PAYLOAD), PAYLOAD.length), PAYLOAD), codec.name);
  }
});
