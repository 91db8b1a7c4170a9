/**
 * Free buffers for large request frames that arrive in several chunks. Joining such a frame into a fresh buffer
 * costs a zero fill and a page fault per 4 KiB page on top of the copy, and the garbage collector later hands the
 * pages back to the kernel; a buffer reused from here costs only the copy. A buffer comes back only from a request
 * whose handler has finished and whose decoded request nothing keeps (Produce: its records are written to the log
 * before its handler finishes, see connection.ts), so a buffer is never in two frames at once.
 *
 * Limits: frames below {@link POOLED_FRAME_MIN_BYTES} are not pooled; at most {@link FRAME_POOL_MAX_BYTES} of free
 * buffers are kept (more are left to the garbage collector); a buffer serves frames from
 * {@link POOLED_FRAME_MIN_FILL} of its size up to its size, so a large buffer is not spent on a small frame. That
 * bound is below one half so that a 512 KiB socket read given back by a shard (a sharded node's front moves reads to
 * its shards) serves a 256 KiB batch's frame, whose body is a little over half of it with its header: with one half,
 * a front's pool filled with such reads and every frame copy or join took fresh memory.
 */

import type { PortBuffers } from "../platform/port-connection.ts";

/** Smallest frame body worth a pooled buffer (smaller ones usually arrive whole in one chunk). */
export const POOLED_FRAME_MIN_BYTES = 64 * 1024;

/** Smallest share of a free buffer's size a frame must have to be given it. */
export const POOLED_FRAME_MIN_FILL = 0.4;

/** Most bytes of free buffers a pool keeps. */
export const FRAME_POOL_MAX_BYTES = 64 * 1024 * 1024;

/** A bounded free list of frame buffers (one per listener; the event loop is its only user). */
export class FrameBufferPool {
  private readonly free: Uint8Array[] = [];
  private freeBytes = 0;

  /** @param maxBytes most bytes of free buffers kept. */
  constructor(readonly maxBytes = FRAME_POOL_MAX_BYTES) {}

  /** A free buffer of `size` to `size` / {@link POOLED_FRAME_MIN_FILL} bytes, taken out of the pool, or null (none fits, or `size` is small). */
  take(size: number): Uint8Array | null {
    if (size < POOLED_FRAME_MIN_BYTES) return null;
    for (let i = this.free.length - 1; i >= 0; i--) {
      const b = this.free[i];
      if (b.length < size || b.length * POOLED_FRAME_MIN_FILL > size) continue;
      this.free[i] = this.free[this.free.length - 1];
      this.free.pop();
      this.freeBytes -= b.length;
      return b;
    }
    return null;
  }

  /**
   * Gives back a frame body that {@link FrameSplitter} reported as owned, once nothing refers to it any more. Its
   * whole buffer goes back (a body may be a prefix of a pooled buffer).
   */
  give(body: Uint8Array): void {
    const whole = new Uint8Array(body.buffer, 0, body.buffer.byteLength);
    if (body.byteOffset !== 0) throw new Error(`frame body at byte ${body.byteOffset} of its buffer is not a whole owned buffer`);
    if (whole.length < POOLED_FRAME_MIN_BYTES || this.freeBytes + whole.length > this.maxBytes) return;
    for (const b of this.free) if (b.buffer === whole.buffer) throw new Error("frame buffer given back twice");
    this.free.push(whole);
    this.freeBytes += whole.length;
  }

  /** This pool as free buffers for frames sent to and back from another thread (src/platform/port-connection.ts). */
  forPorts(frameSlots = false): PortBuffers {
    return { take: (size) => (this.take(size)?.buffer as ArrayBuffer | undefined) ?? null, give: (buffer) => this.give(new Uint8Array(buffer)), frameSlots };
  }

  /** Bytes of free buffers held now. */
  get heldBytes(): number {
    return this.freeBytes;
  }
}
