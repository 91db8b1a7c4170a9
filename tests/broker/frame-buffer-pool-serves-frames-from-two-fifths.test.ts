/**
 * A frame buffer pool gives a free buffer to a frame of at least two fifths of its size, not only half: a sharded
 * node's front gets Bun's 512 KiB socket reads back from its shards, and a 256 KiB batch's frame is a little over
 * half of one (with its header), so with a one-half bound those reads filled the pool and every frame took fresh
 * memory. A frame under two fifths of every free buffer, or larger than each, gets none.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FrameBufferPool, POOLED_FRAME_MIN_FILL } from "../../src/broker/frame-buffer-pool.ts";

test("a 512 KiB socket read given back serves a 256 KiB batch's frame; far smaller or larger frames get no buffer", () => {
  const pool = new FrameBufferPool();
  const read = new Uint8Array(512 * 1024);
  pool.give(read);
  // A Produce v9 frame body of one 256 KiB batch: the batch plus about 100 bytes of header and request fields.
  const frame = 256 * 1024 - 57;
  assert.ok(2 * frame < read.length, "the frame is under half the read");
  assert.equal(pool.take(Math.ceil(read.length * POOLED_FRAME_MIN_FILL) - 1), null, "under two fifths: not given");
  assert.equal(pool.take(read.length + 1), null, "larger than the buffer: not given");
  const got = pool.take(frame);
  assert.equal(got?.buffer, read.buffer, "the read's buffer serves the frame");
  assert.equal(pool.take(frame), null, "taken out of the pool");
  assert.equal(pool.heldBytes, 0);
});
