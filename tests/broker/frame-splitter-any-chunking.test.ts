/**
 * FrameSplitter: however a stream of frames is cut into chunks (one byte at a time, several frames per chunk, size
 * prefixes split), the same frame bodies come out in order; a refused size is reported on its 4 bytes, before the
 * body arrives; and the frame start time is kept for the request-read deadline until the frame is whole.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { FrameSplitter } from "../../src/broker/frame-splitter.ts";

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
