/**
 * Property test of the broker's inbound framing with its buffer pool (frame-splitter.ts, frame-buffer-pool.ts): a
 * random stream of frames (bodies from the 10-byte minimum to a few MiB, many at the pool's bounds: 64 KiB, the
 * two-fifths fill of a buffer given back, `socket.request.max.bytes` itself) cut into random chunks (single bytes,
 * size prefixes split, exact frame boundaries, chunks of many frames) is fed to a FrameSplitter with and without a
 * pool, while the consumer holds each frame for a random number of later chunks and then gives the owned ones back,
 * and buffers of other sizes are given to the pool on the side (a sharded front's reads coming back), and the
 * consumer stops after a few frames of a chunk now and then (back-pressure) so that later chunks are copied in behind
 * unread bytes (a chunk push reports copied is then written over, as a sender reuses a slot given back). Checked: every
 * frame comes out in order with the bytes sent, still equal when its consumer gives it back (a pooled buffer is never
 * handed to a frame while a frame still in use lives in it); an owned frame is never a view of a pushed chunk and a
 * view never owned; a pooled buffer serves frames of two fifths of its size up to its size; the pool holds exactly the
 * bytes given and not taken, never above its bound; a size below a request header, negative, or above the limit is
 * refused on its fourth byte, after every frame before it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import { FrameSplitter, MIN_FRAME_BYTES } from "../../src/broker/frame-splitter.ts";
import { FrameBufferPool, POOLED_FRAME_MIN_BYTES, POOLED_FRAME_MIN_FILL } from "../../src/broker/frame-buffer-pool.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
/** Largest body generated (and the largest `socket.request.max.bytes` a run uses). */
const MAX_BODY = 3 * MiB;

/** Bytes every frame's body is cut from (at an offset of its own), so two frames never hold the same bytes. */
const TAPE = (() => {
  const t = new Uint8Array(MAX_BODY + 64 * KiB);
  let x = 0x9e3779b9;
  for (let i = 0; i < t.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    t[i] = x & 255;
  }
  return t;
})();

/** The body of frame `index` of `size` bytes: the tape from an offset that depends on the index, with the index in front. */
function expected(index: number, size: number): Uint8Array {
  const at = (index * 7919) % (TAPE.length - size + 1);
  const b = TAPE.slice(at, at + size);
  new DataView(b.buffer).setUint32(0, index);
  return b;
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));

/** Body sizes: small ones, and the pool's bounds (64 KiB, a buffer's two fifths, the limit) with a few bytes either side. */
function bodySize(maxBytes: number): fc.Arbitrary<number> {
  const near = (n: number) => fc.integer({ min: -3, max: 3 }).map((d) => Math.min(maxBytes, Math.max(MIN_FRAME_BYTES, n + d)));
  return fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: MIN_FRAME_BYTES, max: 300 }) },
    { weight: 2, arbitrary: near(POOLED_FRAME_MIN_BYTES) },
    { weight: 2, arbitrary: fc.integer({ min: POOLED_FRAME_MIN_BYTES, max: 700 * KiB }).map((n) => Math.min(n, maxBytes)) },
    { weight: 2, arbitrary: fc.constantFrom(160 * KiB, 256 * KiB, 512 * KiB).chain((b) => near(Math.ceil(b * POOLED_FRAME_MIN_FILL))) },
    { weight: 1, arbitrary: near(maxBytes) },
    { weight: 1, arbitrary: fc.integer({ min: MIN_FRAME_BYTES, max: maxBytes }) },
  );
}

/** How the stream is cut around one frame (its prefix starts at s, its body at s + 4, it ends at e). */
type Cut =
  | { k: "none" } // the frame goes with its neighbours
  | { k: "start" } // a chunk starts at the frame's prefix
  | { k: "prefix"; at: number } // the prefix is split after 1-3 bytes
  | { k: "body" } // the prefix ends a chunk, the body starts the next
  | { k: "inside"; at: number[] } // cuts at fractions of the body
  | { k: "bytes"; n: number }; // the frame's first n bytes one at a time

const cutArb: fc.Arbitrary<Cut> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<Cut>({ k: "none" }) },
  { weight: 1, arbitrary: fc.constant<Cut>({ k: "start" }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }).map((at): Cut => ({ k: "prefix", at })) },
  { weight: 1, arbitrary: fc.constant<Cut>({ k: "body" }) },
  { weight: 4, arbitrary: fc.array(fc.integer({ min: 1, max: 999 }), { minLength: 1, maxLength: 4 }).map((at): Cut => ({ k: "inside", at: at.map((x) => x / 1000) })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 24 }).map((n): Cut => ({ k: "bytes", n })) },
);

/** A refused size announced after the frames: below a header, negative, or above the limit. */
const badSizeArb = (maxBytes: number): fc.Arbitrary<number | null> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: MIN_FRAME_BYTES - 1 }) },
    { weight: 1, arbitrary: fc.constantFrom(-1, -(2 ** 31), -MIN_FRAME_BYTES) },
    { weight: 1, arbitrary: fc.constantFrom(maxBytes + 1, 2 ** 31 - 1) },
  );

/** One run: the limit, whether a pool is used and its bound, the frames with how each is cut and held, and the side gives. */
const runArb = fc
  .record({
    maxBytes: fc.oneof(fc.constant(MAX_BODY), fc.integer({ min: POOLED_FRAME_MIN_BYTES, max: MAX_BODY }), fc.integer({ min: 1000, max: POOLED_FRAME_MIN_BYTES })),
    pool: fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 3, arbitrary: fc.constantFrom(0, 200 * KiB, 1 * MiB, 8 * MiB, 64 * MiB) }),
  })
  .chain(({ maxBytes, pool }) =>
    fc.record({
      maxBytes: fc.constant(maxBytes),
      pool: fc.constant(pool),
      // Sizes mostly from a small palette of the run's, so that buffers given back fit later frames.
      frames: fc.array(bodySize(maxBytes), { minLength: 1, maxLength: 3 }).chain((palette) =>
        fc.array(fc.record({ size: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...palette) }, { weight: 1, arbitrary: bodySize(maxBytes) }), cut: cutArb, hold: fc.integer({ min: 0, max: 4 }) }), { minLength: 3, maxLength: 24 }),
      ),
      // Buffers given to the pool on the side before a chunk (chunk index, size): a front's reads back from shards.
      sideGives: fc.array(fc.record({ before: fc.nat({ max: 60 }), size: fc.oneof(fc.constantFrom(POOLED_FRAME_MIN_BYTES - 1, POOLED_FRAME_MIN_BYTES, 160 * KiB, 512 * KiB), fc.integer({ min: 1, max: 1 * MiB })) }), { maxLength: 4 }),
      badSize: badSizeArb(maxBytes),
      tail: fc.integer({ min: 0, max: 3 }), // cuts right after a refused size's 4 bytes, or inside them
      // Frames taken after each chunk before the consumer stops (back-pressure), in turn; -1: all there are.
      stops: fc.array(fc.integer({ min: -1, max: 2 }), { maxLength: 6 }),
    }),
  );

interface Held {
  index: number;
  body: Uint8Array;
  owned: boolean;
  until: number; // given back (or dropped) before chunk `until`
}

test("frames cut any way come out as sent and stay so while held; pooled buffers are never shared; bad sizes refused", () => {
  fc.assert(
    fc.property(runArb, (run) => {
      const { maxBytes } = run;
      // The stream, and the chunk boundaries the cuts ask for.
      const sizes = run.frames.map((f) => f.size);
      let total = 0;
      for (const s of sizes) total += 4 + s;
      const badAt = total;
      if (run.badSize !== null) total += 4 + 16; // its size, then bytes nobody must read
      const stream = new Uint8Array(total);
      const dv = new DataView(stream.buffer);
      const cuts = new Set<number>();
      let s = 0;
      run.frames.forEach((f, i) => {
        dv.setInt32(s, f.size);
        stream.set(expected(i, f.size), s + 4);
        const body = s + 4;
        const e = body + f.size;
        const c = f.cut;
        if (c.k === "start") cuts.add(s);
        else if (c.k === "prefix") cuts.add(s + c.at);
        else if (c.k === "body") cuts.add(body);
        else if (c.k === "inside") for (const x of c.at) cuts.add(body + Math.floor(x * f.size));
        else if (c.k === "bytes") for (let k = 1; k <= Math.min(c.n, e - s); k++) cuts.add(s + k);
        s = e;
      });
      if (run.badSize !== null) {
        dv.setInt32(badAt, run.badSize);
        cuts.add(badAt);
        cuts.add(run.tail === 0 ? badAt + 4 : badAt + run.tail);
        if (run.tail !== 0) cuts.add(badAt + 4);
      }
      const bounds = [...cuts].filter((c) => c > 0 && c < total).sort((a, b) => a - b);
      bounds.push(total);
      // Each chunk is a buffer of its own (as a socket read is), written over only once push says it was copied.
      const chunks: Uint8Array[] = [];
      let from = 0;
      for (const b of bounds) {
        chunks.push(stream.slice(from, b));
        from = b;
      }
      const chunkBuffers = new Set<ArrayBufferLike>(chunks.map((c) => c.buffer));

      const pool = run.pool === null ? null : new FrameBufferPool(run.pool);
      const splitter = new FrameSplitter(maxBytes, pool);
      // The pool's model: the buffers it holds (given, kept, not taken again).
      const pooled = new Set<ArrayBufferLike>();
      let pooledBytes = 0;
      const give = (body: Uint8Array) => {
        const len = body.buffer.byteLength;
        const before = pool!.heldBytes;
        pool!.give(body);
        const kept = len >= POOLED_FRAME_MIN_BYTES && before + len <= pool!.maxBytes;
        assert.equal(pool!.heldBytes, before + (kept ? len : 0), `giving ${len} bytes to a pool holding ${before} of ${pool!.maxBytes}`);
        if (kept) {
          pooled.add(body.buffer);
          pooledBytes += len;
        }
      };
      const held: Held[] = [];
      const release = (h: Held) => {
        assert.ok(same(h.body, expected(h.index, sizes[h.index])), `frame ${h.index} (${h.body.length} bytes, owned ${h.owned}) changed while held`);
        if (h.owned && pool !== null) give(h.body);
      };
      let nextIndex = 0;
      let refused: number | null = null;
      let refusedAfterChunk = -1;
      let bodyBytesAtRefusal = -1;
      let pushed = 0;
      let copied = false; // a chunk was copied in behind unread bytes (frames may then be views of the copy)
      let stoppedEarly = false; // the consumer stopped with bytes unread before the refused size came out
      /** Takes up to `limit` frames (-1: all), checking each; the chunk index dates them. */
      const take = (ci: number, limit: number) => {
        for (let n = 0; limit < 0 || n < limit; n++) {
          const f = splitter.next(ci);
          if (f.kind === "partial") return;
          if (f.kind === "bad-size") {
            refused = f.size;
            refusedAfterChunk = ci;
            bodyBytesAtRefusal = pushed;
            return;
          }
          const index = nextIndex++;
          assert.ok(index < sizes.length, "a frame past those sent");
          assert.equal(f.body.length, sizes[index], `frame ${index}'s length`);
          assert.ok(same(f.body, expected(index, sizes[index])), `frame ${index}'s bytes as it comes out`);
          if (f.owned) {
            assert.ok(!chunkBuffers.has(f.body.buffer), "an owned frame is a buffer of its own, not a view of a chunk");
            assert.equal(f.body.byteOffset, 0);
            if (pooled.has(f.body.buffer)) {
              // Taken from the pool: a buffer of the frame's size up to 5/2 of it, out of the pool now.
              const len = f.body.buffer.byteLength;
              assert.ok(len >= f.body.length && len * 2 <= f.body.length * 5, `a pooled buffer of ${len} bytes served a frame of ${f.body.length}`);
              pooled.delete(f.body.buffer);
              pooledBytes -= len;
            }
          } else {
            assert.ok(chunkBuffers.has(f.body.buffer) || (copied && !pooled.has(f.body.buffer)), "a frame not owned is a view of a pushed chunk (or of unread bytes joined with one)");
          }
          if (f.owned) for (const h of held) assert.ok(!h.owned || h.body.buffer !== f.body.buffer, `frame ${index} came out in the buffer of frame ${h.index}, still held`);
          held.push({ index, body: f.body, owned: f.owned, until: ci + 1 + run.frames[index].hold });
        }
        if (splitter.hasUnread()) stoppedEarly = true;
      };
      chunks.forEach((chunk, ci) => {
        for (const g of run.sideGives) if (g.before === ci && pool !== null) give(new Uint8Array(g.size));
        for (let i = held.length - 1; i >= 0; i--) {
          if (held[i].until > ci) continue;
          release(held[i]);
          held.splice(i, 1);
        }
        if (refused !== null) return; // the connection is closed: nothing more is read
        const waiting = splitter.hasUnread();
        const kept = splitter.push(chunk);
        assert.equal(kept, !waiting, "a chunk is kept as a view unless bytes were waiting, then copied");
        pushed += chunk.length;
        if (!kept) {
          // Copied: nothing refers to the chunk, so its sender may reuse it at once (a shard's frame slot goes back).
          copied = true;
          chunk.fill(0xee);
        }
        take(ci, run.stops.length === 0 ? -1 : run.stops[ci % run.stops.length]);
        if (pool !== null && splitter.betweenFrames()) {
          // Between frames no pooled buffer is part-way filled: the pool holds exactly what the model says.
          assert.equal(pool.heldBytes, pooledBytes, "pool bytes against the model");
          assert.ok(pool.heldBytes <= pool.maxBytes);
        }
      });
      if (refused === null) take(chunks.length, -1); // the consumer resumes and takes the rest
      for (const h of held) release(h);
      assert.equal(nextIndex, sizes.length, "every frame came out");
      if (run.badSize === null) {
        assert.equal(refused, null);
        assert.equal(splitter.betweenFrames(), true);
        assert.equal(splitter.hasUnread(), false);
      } else {
        assert.equal(refused, run.badSize, "the refused size is reported as announced (signed)");
        // Refused on its fourth byte, before a byte after it was read (unless the consumer had stopped before it).
        if (!stoppedEarly) assert.equal(bodyBytesAtRefusal, badAt + 4, "refused on its fourth byte");
        assert.ok(refusedAfterChunk >= 0);
      }
      if (pool !== null) assert.equal(pool.heldBytes, pooledBytes);
    }),
    { seed: 1515, numRuns: 250 },
  );
});
