/** Produce batches of word-like records (codecs work at text speed on them, unlike on repeated bytes), for codec tests. */
import { type BatchCompressor, BatchBuilder } from "../../src/protocol/record-batch.ts";

/** Options for {@link wordBatch}. */
export interface WordBatchOptions {
  /** Idempotent producer id (with epoch 0). */
  producerId?: bigint;
  /** First sequence. */
  baseSequence?: number;
  /** Compresses the records section (the batch is stored uncompressed without it). */
  compressor?: BatchCompressor;
  /** Seed of the word sequence. */
  seed?: number;
}

/** A v2 batch of ~1000-byte records of pseudo-random words, about `totalBytes` before compression, and its record count. */
export function wordBatch(totalBytes: number, opts: WordBatchOptions = {}): { batch: Uint8Array; count: number } {
  const words = ["stream", "broker", "offset", "replica", "segment", "commit", "leader", "record", "fetch", "epoch"];
  const bb = new BatchBuilder(totalBytes + 4096);
  bb.reset({ producerId: opts.producerId, producerEpoch: opts.producerId === undefined ? undefined : 0, baseSequence: opts.baseSequence });
  let seed = opts.seed ?? 12345;
  const enc = new TextEncoder();
  let count = 0;
  while (bb.sizeInBytes < totalBytes - 2048) {
    let s = "";
    while (s.length < 1000) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      s += words[seed % words.length] + (seed >>> 20).toString(36) + " ";
    }
    bb.append(Date.now(), null, enc.encode(s));
    count++;
  }
  return { batch: bb.finish(opts.compressor), count };
}
