/** Reads the compression codec of every record batch in a segment file, to check batches are stored as sent. */
import * as fs from "node:fs";

/** Kafka's compression codec ids (the low three bits of a batch's attributes). */
export const CODEC_IDS = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;

/** The codec id of every batch in the segment file `file`, in order. */
export function batchCodecs(file: string): number[] {
  const buf = fs.readFileSync(file);
  const out: number[] = [];
  // A batch header: base offset (8), length (4), leader epoch (4), magic (1), crc (4), attributes (2), ...
  for (let pos = 0; pos + 61 <= buf.length; ) {
    const length = buf.readInt32BE(pos + 8);
    out.push(buf.readInt16BE(pos + 21) & 7);
    pos += 12 + length;
  }
  return out;
}
