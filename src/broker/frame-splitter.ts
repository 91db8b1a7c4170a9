/**
 * Splits a connection's byte stream into Kafka request frames (a 4-byte big-endian size, then that many bytes).
 * Memory follows the bytes that arrived, never the size a frame announces: a body spanning chunks is kept as views
 * of the chunks and joined once whole, or, when a {@link FrameBufferPool} has a free buffer that fits (memory that
 * exists already), copied into it as the chunks arrive. The size is checked against `socket.request.max.bytes` on
 * its 4 bytes, before anything is allocated. Bytes pushed but not yet taken stay unread, so the caller can stop
 * between frames (back-pressure) and resume later.
 */
import { concatBytes } from "../protocol/wire.ts";
import type { FrameBufferPool } from "./frame-buffer-pool.ts";

/** Smallest legal frame: apiKey + apiVersion + correlationId + clientId length. */
export const MIN_FRAME_BYTES = 10;

/** What {@link FrameSplitter.next} found. */
export type NextFrame =
  /**
   * A whole frame body (without its size prefix). `owned`: the body is a buffer of its own (joined or pooled, not a
   * view of received chunks) that may go back to the pool once nothing refers to it.
   */
  | { kind: "frame"; body: Uint8Array; owned: boolean }
  /** More bytes are needed. */
  | { kind: "partial" }
  /** The announced size is refused; the connection must close. */
  | { kind: "bad-size"; size: number };

/** The framing state of one connection. */
export class FrameSplitter {
  private unread: Uint8Array | null = null;
  private sizeBytes: Uint8Array | null = null; // 1-3 bytes of a size prefix split across chunks
  private parts: Uint8Array[] = [];
  private partsFill = 0;
  private pooled: Uint8Array | null = null; // the pool's buffer the body being received is copied into
  private frameSize = -1;
  /** Monotonic ms when the frame being received started, or -1 between frames (for the request-read deadline). */
  startedMs = -1;

  /** @param maxBytes `socket.request.max.bytes` (the connection lowers it to `sasl.server.max.receive.size` until SASL authentication is done). */
  constructor(
    public maxBytes: number,
    private readonly pool: FrameBufferPool | null = null,
  ) {}

  /**
   * Appends received bytes: kept as a view of `chunk` (true), or, when unread bytes are already waiting, copied in
   * behind them (false: nothing here refers to `chunk`, so a buffer lent by the sender may go back at once).
   */
  push(chunk: Uint8Array): boolean {
    if (this.unread === null) {
      this.unread = chunk;
      return true;
    }
    this.unread = concatBytes([this.unread, chunk]);
    return false;
  }

  /** Whether pushed bytes wait to be split. */
  hasUnread(): boolean {
    return this.unread !== null;
  }

  /** Whether bytes kept here for later frames (unread, or parts of a frame being received) are views of `buffer`. */
  references(buffer: ArrayBufferLike): boolean {
    if (this.unread?.buffer === buffer) return true;
    for (const p of this.parts) if (p.buffer === buffer) return true;
    return false;
  }

  /** Whether no frame is part-way received (a safe place to stop for back-pressure). */
  betweenFrames(): boolean {
    return this.frameSize < 0 && this.sizeBytes === null;
  }

  /** Takes the next whole frame from the unread bytes; `now` dates a frame's first byte. */
  next(now: number): NextFrame {
    let data = this.unread;
    if (data === null) return { kind: "partial" };
    let at = 0;
    const rest = (): void => {
      this.unread = at < data!.length ? data!.subarray(at) : null;
    };
    if (this.startedMs < 0) this.startedMs = now;
    if (this.frameSize < 0) {
      if (this.sizeBytes !== null || data.length < 4) {
        const have = this.sizeBytes?.length ?? 0;
        const take = Math.min(4 - have, data.length);
        const s = new Uint8Array(have + take);
        if (this.sizeBytes !== null) s.set(this.sizeBytes, 0);
        s.set(data.subarray(0, take), have);
        at = take;
        if (s.length < 4) {
          this.sizeBytes = s;
          rest();
          return { kind: "partial" };
        }
        this.sizeBytes = null;
        this.frameSize = sizeAt(s, 0);
      } else {
        this.frameSize = sizeAt(data, 0);
        at = 4;
      }
      if (this.frameSize < MIN_FRAME_BYTES || this.frameSize > this.maxBytes) {
        this.unread = null;
        return { kind: "bad-size", size: this.frameSize };
      }
    }
    if (this.partsFill === 0 && data.length - at >= this.frameSize) {
      // The whole body is here (in the prefix's chunk, or in the next one alone: a frame a sharded node's front
      // forwards whole): hand out a view, no copy.
      const body = data.subarray(at, at + this.frameSize);
      at += this.frameSize;
      rest();
      return this.done(body, false);
    }
    if (at === data.length) {
      rest();
      return { kind: "partial" };
    }
    if (this.partsFill === 0) this.pooled = this.pool?.take(this.frameSize) ?? null;
    const take = Math.min(this.frameSize - this.partsFill, data.length - at);
    if (this.pooled !== null) this.pooled.set(data.subarray(at, at + take), this.partsFill);
    else this.parts.push(data.subarray(at, at + take));
    this.partsFill += take;
    at += take;
    rest();
    if (this.partsFill < this.frameSize) return { kind: "partial" };
    let body: Uint8Array;
    let owned: boolean;
    if (this.pooled !== null) {
      body = this.pooled.subarray(0, this.frameSize);
      owned = true;
    } else {
      owned = this.parts.length > 1;
      body = owned ? concatBytes(this.parts) : this.parts[0];
    }
    this.parts = [];
    this.partsFill = 0;
    this.pooled = null;
    data = null;
    return this.done(body, owned);
  }

  /** Drops everything (the connection closed). */
  clear(): void {
    this.unread = null;
    this.sizeBytes = null;
    this.parts = [];
    this.partsFill = 0;
    this.pooled = null; // dropped, not given back: it holds a part of a frame nobody will finish
    this.frameSize = -1;
  }

  private done(body: Uint8Array, owned: boolean): NextFrame {
    this.frameSize = -1;
    this.startedMs = -1;
    return { kind: "frame", body, owned };
  }
}

function sizeAt(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) | 0;
}
