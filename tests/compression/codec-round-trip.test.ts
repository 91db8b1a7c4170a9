/** Every codec round-trips empty, tiny, incompressible, highly compressible and > 4 MiB inputs within limits. */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ALL_CODECS,
  type CompressionCodec,
  DecompressionLimitError,
  initCompression,
} from "../../src/compression/index.ts";
import { jsonRecords, randomBytes, repeatedBytes, sameBytes } from "./sample-payloads.ts";

await initCompression();

const PAYLOADS: [string, Uint8Array][] = [
  ["empty", new Uint8Array(0)],
  ["1 byte", new Uint8Array([0x2a])],
  ["incompressible 100 KiB", randomBytes(100 * 1024, 1)],
  ["highly compressible 1 MiB", repeatedBytes(1024 * 1024, "abcabcabd")],
  ["json records 300 KiB", jsonRecords(300 * 1024, 2)],
  ["mixed 5 MiB", new Uint8Array([...jsonRecords(3 * 1024 * 1024, 3), ...randomBytes(2 * 1024 * 1024 + 17, 4)])],
];

/** Compresses then decompresses with an exact limit and checks the bytes. */
function roundTrip(codec: CompressionCodec, payload: Uint8Array, level?: number): Uint8Array {
  const compressed = codec.compress(payload, level);
  const back = codec.decompress(compressed, payload.length);
  assert.ok(sameBytes(back, payload), `${codec.name} round trip changed the bytes`);
  return compressed;
}

for (const codec of ALL_CODECS) {
  for (const [label, payload] of PAYLOADS) {
    test(`${codec.name} round-trips ${label}`, () => {
      roundTrip(codec, payload);
    });
  }

  test(`${codec.name} shrinks highly compressible data`, () => {
    const payload = repeatedBytes(1024 * 1024, "the same line again\n");
    const compressed = roundTrip(codec, payload);
    assert.ok(compressed.length < payload.length / 20, `${codec.name}: ${compressed.length} bytes`);
  });

  test(`${codec.name} returns plain Uint8Arrays`, () => {
    const payload = jsonRecords(10_000, 5);
    const compressed = codec.compress(payload);
    const back = codec.decompress(compressed, payload.length);
    assert.equal(Object.getPrototypeOf(compressed), Uint8Array.prototype);
    assert.equal(Object.getPrototypeOf(back), Uint8Array.prototype);
  });

  test(`${codec.name} works on views with a byte offset`, () => {
    const payload = jsonRecords(200_000, 6);
    const input = payload.subarray(13, 150_013);
    const compressed = codec.compress(input);
    const host = new Uint8Array(compressed.length + 64);
    host.set(compressed, 29);
    const back = codec.decompress(host.subarray(29, 29 + compressed.length), input.length);
    assert.ok(sameBytes(back, input));
  });

  test(`${codec.name} throws DecompressionLimitError one byte under the size`, () => {
    const payload = jsonRecords(100_000, 7);
    const compressed = codec.compress(payload);
    assert.throws(() => codec.decompress(compressed, payload.length - 1), DecompressionLimitError);
    assert.throws(() => codec.decompress(compressed, 0), DecompressionLimitError);
  });

  test(`${codec.name} stops a zip bomb at the limit`, () => {
    const bomb = codec.compress(new Uint8Array(48 * 1024 * 1024));
    assert.ok(bomb.length < 3 * 1024 * 1024, `${codec.name} bomb is ${bomb.length} bytes`);
    const started = performance.now();
    assert.throws(() => codec.decompress(bomb, 1024 * 1024), (err: unknown) => {
      assert.ok(err instanceof DecompressionLimitError);
      assert.equal(err.codec, codec.name);
      assert.equal(err.limit, 1024 * 1024);
      return true;
    });
    assert.ok(performance.now() - started < 5_000);
  });

  test(`${codec.name} rejects a bad maxOutputBytes`, () => {
    const compressed = codec.compress(new Uint8Array(10));
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 31]) {
      assert.throws(() => codec.decompress(compressed, bad), RangeError);
    }
  });
}

test("gzip honours levels -1..9 and rejects others", () => {
  const gzip = ALL_CODECS[0];
  const payload = jsonRecords(200_000, 8);
  const fast = roundTrip(gzip, payload, 1);
  const best = roundTrip(gzip, payload, 9);
  roundTrip(gzip, payload, -1);
  assert.ok(best.length < fast.length);
  assert.throws(() => gzip.compress(payload, 10), RangeError);
  assert.throws(() => gzip.compress(payload, -2), RangeError);
});

test("zstd honours levels including negative fast levels and rejects others", () => {
  const zstd = ALL_CODECS[3];
  const payload = jsonRecords(500_000, 9);
  const fastest = roundTrip(zstd, payload, -5);
  const strong = roundTrip(zstd, payload, 19);
  roundTrip(zstd, payload, 1);
  assert.ok(strong.length < fastest.length);
  assert.throws(() => zstd.compress(payload, 23), RangeError);
  assert.throws(() => zstd.compress(payload, 2.5), RangeError);
});

test("snappy and lz4 accept and ignore a level", () => {
  const payload = jsonRecords(50_000, 10);
  for (const codec of [ALL_CODECS[1], ALL_CODECS[2]]) {
    assert.ok(sameBytes(codec.compress(payload, 9), codec.compress(payload)));
  }
});
