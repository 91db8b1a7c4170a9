/**
 * FrameSplitter: however a stream of frames is cut into chunks (one byte at a time, several frames per chunk, size
 * prefixes split), the same frame bodies come out in order; a refused size is reported on its 4 bytes, before the
 * body arrives; and the frame start time is kept for the request-read deadline until the frame is whole. With a
 * FrameBufferPool, a large frame spanning chunks is received into a buffer given back earlier.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { FrameSplitter } from "../../src/broker/frame-splitter.ts";
import { FrameBufferPool, POOLED_FRAME_MIN_BYTES } from "../../src/broker/frame-buffer-pool.ts";

function framed(bodies: Uint8Array[]): Uint8Array {
  const out: number[] = [];
  for (const b of bodies) out.push((b.length >>> 24) & 255, (b.length >>> 16) & 255, (b.length >>> 8) & 255, b.length & 255, ...b);
  return Uint8Array.from(out);
}

test("any chunking of a frame stream yields the same frames in order", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 10, maxLength: 300 }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 50 }),
      (bodies, cuts) => {
        const stream = framed(bodies);
        const s = new FrameSplitter(1000);
        const out: Uint8Array[] = [];
        let at = 0;
        for (let i = 0; at < stream.length; i++) {
          const n = cuts[i % cuts.length];
          s.push(stream.slice(at, at + n));
          at += n;
          for (;;) {
            const f = s.next(0);
            if (f.kind === "partial") break;
            assert.equal(f.kind, "frame");
            if (f.kind === "frame") out.push(Uint8Array.from(f.body));
          }
        }
        assert.deepEqual(out, bodies.map((b) => Uint8Array.from(b)));
        assert.equal(s.betweenFrames(), true);
        assert.equal(s.hasUnread(), false);
      },
    ),
    { seed: 1616, numRuns: 300 },
  );
});

test("a refused size is reported on its 4 bytes; the start time lasts until the frame is whole", () => {
  const s = new FrameSplitter(1000);
  s.push(Uint8Array.from([0, 0]));
  assert.equal(s.next(5).kind, "partial");
  assert.equal(s.startedMs, 5, "two bytes of a size already start the frame's clock");
  s.push(Uint8Array.from([0, 12, 1, 2, 3]));
  assert.equal(s.next(9).kind, "partial");
  assert.equal(s.startedMs, 5);
  s.push(new Uint8Array(9));
  assert.equal(s.next(20).kind, "frame");
  assert.equal(s.startedMs, -1);
  const big = new FrameSplitter(1000);
  big.push(Uint8Array.from([0x7f, 0xff, 0xff, 0xff]));
  assert.deepEqual(big.next(0), { kind: "bad-size", size: 0x7fffffff });
});

test("with a pool, frames spanning chunks come out whole in a reused buffer, marked owned; views of one chunk are not", () => {
  const pool = new FrameBufferPool();
  const size = POOLED_FRAME_MIN_BYTES + 1000;
  const bodies = [0, 1, 2].map((k) => Uint8Array.from({ length: size }, (_, i) => (i * 31 + k) & 255));
  const s = new FrameSplitter(1 << 20, pool);
  const take = (): { body: Uint8Array; owned: boolean } => {
    const f = s.next(0);
    assert.equal(f.kind, "frame");
    return f as { kind: "frame"; body: Uint8Array; owned: boolean };
  };
  const stream = framed(bodies);
  const cut = (from: number, to: number) => stream.slice(from, to);
  const frameEnd = (k: number) => (k + 1) * (size + 4);
  // Frame 0 in two chunks and nothing pooled yet: joined into a fresh buffer of its own.
  s.push(cut(0, 5000));
  assert.equal(s.next(0).kind, "partial");
  s.push(cut(5000, frameEnd(0)));
  const first = take();
  assert.equal(first.owned, true);
  assert.deepEqual(first.body, bodies[0]);
  pool.give(first.body);
  assert.equal(pool.heldBytes, size);
  // Frame 1 in three chunks: copied into the pooled buffer as it arrives.
  s.push(cut(frameEnd(0), frameEnd(0) + 7));
  assert.equal(s.next(0).kind, "partial");
  s.push(cut(frameEnd(0) + 7, frameEnd(0) + 40_000));
  assert.equal(s.next(0).kind, "partial");
  s.push(cut(frameEnd(0) + 40_000, frameEnd(1)));
  const second = take();
  assert.equal(second.owned, true);
  assert.equal(second.body.buffer, first.body.buffer, "the buffer given back is the one reused");
  assert.deepEqual(second.body, bodies[1]);
  assert.equal(pool.heldBytes, 0);
  assert.throws(() => {
    pool.give(second.body);
    pool.give(second.body);
  }, /given back twice/);
  // Frame 2 whole in one chunk: a view of that chunk, not owned, so never pooled.
  s.push(cut(frameEnd(1), frameEnd(2)));
  const third = take();
  assert.equal(third.owned, false);
  assert.deepEqual(third.body, bodies[2]);
});

test("a pooled buffer serves frames from half its size up to its size; small frames are not pooled", () => {
  const pool = new FrameBufferPool(4 * POOLED_FRAME_MIN_BYTES);
  pool.give(new Uint8Array(2 * POOLED_FRAME_MIN_BYTES));
  assert.equal(pool.take(2 * POOLED_FRAME_MIN_BYTES + 1), null, "too small for the frame");
  assert.equal(pool.take(POOLED_FRAME_MIN_BYTES - 1), null, "frames below the minimum are not pooled");
  assert.equal(pool.take(POOLED_FRAME_MIN_BYTES)?.length, 2 * POOLED_FRAME_MIN_BYTES);
  pool.give(new Uint8Array(3 * POOLED_FRAME_MIN_BYTES));
  pool.give(new Uint8Array(2 * POOLED_FRAME_MIN_BYTES));
  assert.equal(pool.heldBytes, 3 * POOLED_FRAME_MIN_BYTES, "past the byte limit a buffer is left to the garbage collector");
});
