/**
 * The codec pool's worker threads (lz4 and snappy off the event loop, for the broker's produce path) give what the
 * synchronous codecs give: each side reads what the other wrote, corrupt input and the output limit fail with the
 * same error classes and messages, calls wait in a bounded queue (one past it is refused, for the caller to run),
 * the caller's input is never detached, and a closed pool takes no calls.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CODEC_POOL_MAX_QUEUED_CALLS, CodecPool, CodecThreadError } from "../../src/compression/codec-pool.ts";
import { CorruptCompressedDataError, DecompressionLimitError, initCompression, lz4Codec, snappyCodec, zstdCodec } from "../../src/compression/index.ts";
import { jsonRecords, sameBytes } from "./sample-payloads.ts";

await initCompression();

const PAYLOAD = jsonRecords(600 * 1024, 11);

/** The error `work` throws or rejects with. */
async function failureOf(work: () => unknown): Promise<Error> {
  try {
    await work();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a failure");
}

for (const codec of [lz4Codec, snappyCodec]) {
  test(`${codec.name} in the codec pool reads and writes what the synchronous codec does, with the same errors`, { timeout: 60_000 }, async () => {
    const pool = new CodecPool(2);
    try {
      const input = PAYLOAD.slice();
      const z = await pool.run(codec.id, false, input, undefined)!;
      assert.ok(sameBytes(input, PAYLOAD), "the caller's input is left as it was (not moved to the worker)");
      assert.ok(z.length < PAYLOAD.length / 2);
      assert.ok(sameBytes(codec.decompress(z, PAYLOAD.length), PAYLOAD), "sync reads pooled");
      assert.ok(sameBytes(await pool.run(codec.id, true, codec.compress(PAYLOAD), PAYLOAD.length)!, PAYLOAD), "pooled reads sync");
      assert.ok(sameBytes(await pool.run(codec.id, true, await pool.run(codec.id, false, new Uint8Array(0), undefined)!, 0)!, new Uint8Array(0)));

      const limit = await failureOf(() => pool.run(codec.id, true, z, PAYLOAD.length - 1));
      assert.ok(limit instanceof DecompressionLimitError, String(limit));
      assert.equal(limit.limit, PAYLOAD.length - 1);
      const bad = z.slice();
      for (let i = 40; i < bad.length; i += 97) bad[i] ^= 0x5a;
      const syncErr = await failureOf(() => codec.decompress(bad, PAYLOAD.length));
      const poolErr = await failureOf(() => pool.run(codec.id, true, bad, PAYLOAD.length));
      assert.equal(poolErr.constructor, syncErr.constructor, `${poolErr} vs ${syncErr}`);
      assert.equal(poolErr.message, syncErr.message);
      if (syncErr instanceof CorruptCompressedDataError) assert.equal((poolErr as CorruptCompressedDataError).codec, codec.name);
    } finally {
      await pool.close();
    }
  });
}

test("the codec pool queues at most CODEC_POOL_MAX_QUEUED_CALLS calls, serves only lz4 and snappy, and refuses calls once closed", { timeout: 60_000 }, async () => {
  const pool = new CodecPool(1);
  const small = PAYLOAD.subarray(0, 64);
  const calls: Promise<Uint8Array>[] = [];
  // One call goes to the worker at once; the rest wait.
  for (let i = 0; i <= CODEC_POOL_MAX_QUEUED_CALLS; i++) calls.push(pool.run(lz4Codec.id, false, small, undefined)!);
  assert.ok(calls.every((c) => c instanceof Promise));
  assert.equal(pool.run(lz4Codec.id, false, small, undefined), null, "one call past the bound is refused");
  assert.equal(pool.refused, 1);
  assert.equal(pool.run(zstdCodec.id, false, small, undefined), null, "zstd has its own off-loop path");
  for (const out of await Promise.all(calls)) assert.ok(sameBytes(lz4Codec.decompress(out, 64), small));
  const again = pool.run(lz4Codec.id, false, small, undefined);
  assert.ok(again instanceof Promise, "room again once the queue drained");
  await again;
  const inFlight = pool.run(lz4Codec.id, false, PAYLOAD, undefined)!;
  const cutOff = failureOf(() => inFlight);
  await pool.close();
  assert.ok((await cutOff) instanceof CodecThreadError, "a call cut off by close fails as the pool's, not the codec's");
  assert.equal(pool.run(lz4Codec.id, false, small, undefined), null);
});

test("an idle codec thread ends after the pool's idle time and the next call starts one again", { timeout: 60_000 }, async () => {
  const pool = new CodecPool(2, (e) => assert.fail(`no worker fails: ${e.message}`), 100);
  try {
    const small = PAYLOAD.subarray(0, 4096);
    await Promise.all([pool.run(lz4Codec.id, false, small, undefined)!, pool.run(lz4Codec.id, false, small, undefined)!]);
    assert.equal(pool.liveThreads, 2, "two calls at once started both threads");
    for (let i = 0; i < 600 && pool.liveThreads > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(pool.liveThreads, 0, "both threads ended while idle");
    const out = await pool.run(lz4Codec.id, false, small, undefined)!;
    assert.ok(sameBytes(lz4Codec.decompress(out, small.length), small), "a call after they ended is served");
    assert.equal(pool.liveThreads, 1);
  } finally {
    await pool.close();
  }
  assert.equal(pool.liveThreads, 0);
});
