/**
 * gzip's off-loop variants (compressAsync/decompressAsync, used by the broker for large batches) agree with the
 * synchronous codec: each reads what the other wrote, and the same verdict (ok, CorruptCompressedDataError,
 * DecompressionLimitError) for every truncation, for bit flips, for garbage and at the output limit.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CorruptCompressedDataError, DecompressionLimitError, gzipCodec } from "../../src/compression/index.ts";
import { STREAM_CHUNK_BYTES } from "../../src/compression/gzip.ts";
import { jsonRecords, randomBytes, sameBytes, seededRandom } from "./sample-payloads.ts";

/** Larger than several stream slices, so joins across slices are exercised. */
const PAYLOAD = jsonRecords(4 * STREAM_CHUNK_BYTES, 7);

type Verdict = "ok" | "corrupt" | "limit";

function classify(err: unknown): Verdict {
  if (err instanceof CorruptCompressedDataError) return "corrupt";
  if (err instanceof DecompressionLimitError) return "limit";
  throw new Error(`not a codec error: ${String(err)}`, { cause: err });
}

function syncVerdict(data: Uint8Array, limit: number): Verdict {
  try {
    gzipCodec.decompress(data, limit);
    return "ok";
  } catch (e) {
    return classify(e);
  }
}

async function asyncVerdict(data: Uint8Array, limit: number): Promise<Verdict> {
  try {
    await gzipCodec.decompressAsync!(data, limit);
    return "ok";
  } catch (e) {
    return classify(e);
  }
}

test("gzip compressAsync and decompressAsync read what the synchronous codec wrote, and the reverse", async () => {
  for (const level of [undefined, 1, 9]) {
    const z = await gzipCodec.compressAsync!(PAYLOAD, level);
    assert.ok(z.length < PAYLOAD.length / 2, `level ${level} compresses`);
    assert.ok(sameBytes(gzipCodec.decompress(z, PAYLOAD.length), PAYLOAD), `level ${level}: sync reads async`);
    const back = await gzipCodec.decompressAsync!(gzipCodec.compress(PAYLOAD, level), PAYLOAD.length);
    assert.ok(back instanceof Uint8Array && sameBytes(back, PAYLOAD), `level ${level}: async reads sync`);
  }
  assert.ok(sameBytes(await gzipCodec.decompressAsync!(await gzipCodec.compressAsync!(new Uint8Array(0)), 0), new Uint8Array(0)));
});

test("gzip decompressAsync stops at the limit and judges truncations, bit flips and garbage as the sync codec does", async () => {
  const z = gzipCodec.compress(PAYLOAD);
  assert.equal(await asyncVerdict(z, PAYLOAD.length - 1), "limit");
  assert.equal(await asyncVerdict(z, PAYLOAD.length), "ok");
  const step = Math.max(1, Math.floor(z.length / 150));
  for (let len = 0; len < z.length; len += len < 32 ? 1 : step) {
    const cut = z.subarray(0, len);
    assert.equal(await asyncVerdict(cut, PAYLOAD.length), syncVerdict(cut, PAYLOAD.length), `truncated to ${len}`);
  }
  const rnd = seededRandom(3);
  for (let i = 0; i < 150; i++) {
    const bad = z.slice();
    bad[Math.floor(rnd() * bad.length)] ^= 1 << Math.floor(rnd() * 8);
    assert.equal(await asyncVerdict(bad, PAYLOAD.length), syncVerdict(bad, PAYLOAD.length), `flip ${i}`);
  }
  const junk = randomBytes(5000, 11);
  assert.equal(await asyncVerdict(junk, PAYLOAD.length), "corrupt");
  const twoMembers = new Uint8Array([...gzipCodec.compress(PAYLOAD.subarray(0, 100)), ...gzipCodec.compress(PAYLOAD.subarray(100, 300))]);
  assert.ok(sameBytes(await gzipCodec.decompressAsync!(twoMembers, 300), PAYLOAD.subarray(0, 300)), "concatenated members decode as one");
});
