/**
 * The off-loop variants of gzip and zstd (compressAsync/decompressAsync, used by the broker for large batches) agree with the
 * synchronous codec: each reads what the other wrote, and the same verdict (ok, CorruptCompressedDataError,
 * DecompressionLimitError) for every truncation, for bit flips, for garbage and at the output limit.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type CompressionCodec, CorruptCompressedDataError, DecompressionLimitError, gzipCodec, initCompression, zstdCodec } from "../../src/compression/index.ts";
import { STREAM_CHUNK_BYTES } from "../../src/compression/zlib-stream.ts";

await initCompression();
import { jsonRecords, randomBytes, sameBytes, seededRandom } from "./sample-payloads.ts";

/** Larger than several stream slices, so joins across slices are exercised. */
const PAYLOAD = jsonRecords(4 * STREAM_CHUNK_BYTES, 7);

type Verdict = "ok" | "corrupt" | "limit";

function classify(err: unknown): Verdict {
  if (err instanceof CorruptCompressedDataError) return "corrupt";
  if (err instanceof DecompressionLimitError) return "limit";
  throw new Error(`not a codec error: ${String(err)}`, { cause: err });
}

function syncVerdict(codec: CompressionCodec, data: Uint8Array, limit: number): Verdict {
  try {
    codec.decompress(data, limit);
    return "ok";
  } catch (e) {
    return classify(e);
  }
}

async function asyncVerdict(codec: CompressionCodec, data: Uint8Array, limit: number): Promise<Verdict> {
  try {
    await codec.decompressAsync!(data, limit);
    return "ok";
  } catch (e) {
    return classify(e);
  }
}

for (const codec of [gzipCodec, zstdCodec]) {
  test(`${codec.name} compressAsync and decompressAsync read what the synchronous codec wrote, and the reverse`, async () => {
    for (const level of codec === gzipCodec ? [undefined, 1, 9] : [undefined, -5, 1, 19]) {
      const z = await codec.compressAsync!(PAYLOAD, level);
      assert.ok(z.length < PAYLOAD.length / 2, `level ${level} compresses`);
      assert.ok(sameBytes(codec.decompress(z, PAYLOAD.length), PAYLOAD), `level ${level}: sync reads async`);
      const back = await codec.decompressAsync!(codec.compress(PAYLOAD, level), PAYLOAD.length);
      assert.ok(back instanceof Uint8Array && sameBytes(back, PAYLOAD), `level ${level}: async reads sync`);
    }
    assert.ok(sameBytes(await codec.decompressAsync!(await codec.compressAsync!(new Uint8Array(0)), 0), new Uint8Array(0)));
  });

  test(`${codec.name} decompressAsync stops at the limit and judges truncations, bit flips and garbage as the sync codec does`, async () => {
    const z = codec.compress(PAYLOAD);
    assert.equal(await asyncVerdict(codec, z, PAYLOAD.length - 1), "limit");
    assert.equal(await asyncVerdict(codec, z, PAYLOAD.length), "ok");
    const step = Math.max(1, Math.floor(z.length / 150));
    for (let len = 0; len < z.length; len += len < 32 ? 1 : step) {
      const cut = z.subarray(0, len);
      assert.equal(await asyncVerdict(codec, cut, PAYLOAD.length), syncVerdict(codec, cut, PAYLOAD.length), `truncated to ${len}`);
    }
    const rnd = seededRandom(3);
    for (let i = 0; i < 150; i++) {
      const bad = z.slice();
      bad[Math.floor(rnd() * bad.length)] ^= 1 << Math.floor(rnd() * 8);
      assert.equal(await asyncVerdict(codec, bad, PAYLOAD.length), syncVerdict(codec, bad, PAYLOAD.length), `flip ${i}`);
    }
    const junk = randomBytes(5000, 11);
    assert.equal(await asyncVerdict(codec, junk, PAYLOAD.length), "corrupt");
    const twoMembers = new Uint8Array([...codec.compress(PAYLOAD.subarray(0, 100)), ...codec.compress(PAYLOAD.subarray(100, 300))]);
    assert.ok(sameBytes(await codec.decompressAsync!(twoMembers, 300), PAYLOAD.subarray(0, 300)), "concatenated members decode as one");
  });
}
