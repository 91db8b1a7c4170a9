/**
 * Property test of the front's cut of a partition's records (src/shard/front/records-prefix.ts): random record
 * batches back to back, split into random chunks (some views into larger buffers, cut anywhere, inside a batch
 * header too), cut at a random limit with or without min-one-batch, give exactly the whole batches a reference walk
 * of the joined bytes keeps, as views of the same memory, and the offset after the last kept batch.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { concatBytes } from "../../src/protocol/wire.ts";
import { batchPrefix } from "../../src/shard/front/records-prefix.ts";

/** Batches of `counts[i]` records of `size` bytes, at consecutive offsets from `base`. */
function batches(base: number, specs: { count: number; size: number }[]): Uint8Array {
  const out: Uint8Array[] = [];
  let offset = BigInt(base);
  for (const { count, size } of specs) {
    const bb = new BatchBuilder(count * (size + 32) + 128);
    bb.reset();
    for (let i = 0; i < count; i++) bb.append(1_700_000_000_000 + i, null, new Uint8Array(size).fill(i));
    const b = bb.finish();
    new DataView(b.buffer, b.byteOffset).setBigInt64(0, offset);
    offset += BigInt(count);
    out.push(b);
  }
  return concatBytes(out);
}

test("batchPrefix keeps the whole batches within the limit, over any chunking", async () => {
  await initCrc32c();
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1000 }),
      fc.array(fc.record({ count: fc.integer({ min: 1, max: 5 }), size: fc.integer({ min: 0, max: 300 }) }), { maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 10 }),
      // The limit anywhere, or at a batch boundary give or take a byte.
      fc.oneof(fc.integer({ min: 0, max: 5000 }).map((at) => ({ at, boundary: -1, delta: 0 })), fc.record({ at: fc.constant(0), boundary: fc.nat(8), delta: fc.integer({ min: -1, max: 1 }) })),
      fc.boolean(),
      fc.boolean(),
      (base, specs, cuts, pick, atLeastOne, asArray) => {
        const all = batches(base, specs);
        const ends = [0];
        for (let e = 0; e < all.length; ) ends.push((e += new DataView(all.buffer, all.byteOffset).getInt32(e + 8) + 12));
        const limit = pick.boundary < 0 ? pick.at : Math.max(ends[pick.boundary % ends.length] + pick.delta, 0);
        // The joined bytes cut at the given lengths, each chunk a view in the middle of a larger buffer.
        const chunks: Uint8Array[] = [];
        let at = 0;
        for (const n of [...cuts, all.length]) {
          if (at >= all.length) break;
          const len = Math.min(n, all.length - at);
          const room = new Uint8Array(len + 16);
          room.set(all.subarray(at, at + len), 8);
          chunks.push(room.subarray(8, 8 + len));
          at += len;
        }
        const records = asArray || chunks.length !== 1 ? chunks : chunks[0];
        // Reference: walk the joined bytes.
        const dv = new DataView(all.buffer, all.byteOffset, all.byteLength);
        let kept = 0;
        let next = -1n;
        let i = 0;
        while (kept < all.length) {
          const size = dv.getInt32(kept + 8) + 12;
          if (kept + size > limit && !(atLeastOne && kept === 0)) break;
          next = BigInt(base) + BigInt(specs.slice(0, i + 1).reduce((n, s) => n + s.count, 0));
          kept += size;
          i++;
        }
        const got = batchPrefix(records, limit, atLeastOne);
        assert.equal(got.bytes, kept);
        assert.equal(got.next, next);
        const parts = got.records instanceof Uint8Array ? [got.records] : got.records;
        assert.deepEqual(concatBytes(parts), all.subarray(0, kept));
        // Views of the chunks, not copies.
        for (const p of parts) if (p.length > 0) assert.ok(chunks.some((c) => c.buffer === p.buffer), "a kept part is not a view of a chunk");
      },
    ),
    { numRuns: 2000 },
  );
});

test("batchPrefix refuses records that are not whole batches", async () => {
  await initCrc32c();
  const all = batches(0, [{ count: 2, size: 50 }]);
  assert.throws(() => batchPrefix(all.subarray(0, all.length - 1), 10, false), /not whole batches/);
  assert.throws(() => batchPrefix(all, -1, false), RangeError);
});
