/**
 * Runs a node:zlib stream (gzip, zstd) over one buffer without holding the event loop: the input goes in
 * {@link STREAM_CHUNK_BYTES} slices and the loop gets a turn (setImmediate) after each. Bun runs each slice on its
 * thread pool; Deno's node:zlib runs on the loop itself (one-shot `gzip(buf, cb)` and a stream written all at once
 * from a socket callback both measured stalling 0.4-2 s for large input), so there the turns between slices are
 * what keeps the loop live.
 */
import { Buffer } from "node:buffer";
import { setImmediate } from "node:timers";
import type { Transform } from "node:stream";
import { type CodecName, DecompressionLimitError } from "./codec.ts";

/** Input bytes handed to a zlib stream at a time: one slice is a few ms of codec work at most (gzip level 9). */
export const STREAM_CHUNK_BYTES = 64 * 1024;

/**
 * Feeds `data` through a zlib stream slice by slice, a loop turn between slices, and joins its output; rejects with DecompressionLimitError once
 * the output passes `maxOutputBytes` (the stream is destroyed there), or with `failure(err)` on a zlib error.
 */
export function throughStream(codec: CodecName, z: Transform, data: Uint8Array, maxOutputBytes: number, failure: (err: unknown) => Error): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const parts: Uint8Array[] = [];
    let total = 0;
    let settled = false;
    const fail = (e: Error): void => {
      if (settled) return;
      settled = true;
      z.destroy();
      reject(e);
    };
    z.on("data", (chunk: Uint8Array) => {
      total += chunk.byteLength;
      if (total > maxOutputBytes) fail(new DecompressionLimitError(codec, maxOutputBytes));
      else parts.push(chunk);
    });
    z.on("error", (err) => fail(failure(err)));
    z.on("end", () => {
      if (settled) return;
      settled = true;
      const out = Buffer.concat(parts, total);
      resolve(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
    });
    let at = 0;
    const feed = (): void => {
      if (settled) return;
      if (at >= data.length) {
        z.end();
        return;
      }
      const slice = data.subarray(at, at + STREAM_CHUNK_BYTES);
      at += slice.length;
      z.write(slice, () => setImmediate(feed));
    };
    feed();
  });
}
