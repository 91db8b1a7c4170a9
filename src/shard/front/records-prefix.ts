/**
 * Whole record batches at the start of a Fetch answer's records within a byte limit: what a broker's own read
 * returns under that limit. A shard reads a partition under the limits it sees (the request's `max_bytes` spent only
 * on its own partitions, the first of them read even past `partition_max_bytes`); the front, which puts the shards'
 * partitions back in request order, cuts each to what one broker would have read there.
 */
import { BASE_OFFSET_OFFSET, BATCH_LENGTH_OFFSET, LAST_OFFSET_DELTA_OFFSET, LOG_OVERHEAD } from "../../protocol/batch-layout.ts";
import { recordsLength, type RecordsValue } from "../../protocol/wire.ts";

/** The kept records and the offset after their last batch (`next`; -1n when none are kept). */
export interface RecordsPrefix {
  readonly records: Uint8Array | Uint8Array[];
  readonly bytes: number;
  readonly next: bigint;
}

const EMPTY = new Uint8Array(0);
const scratch = new DataView(new ArrayBuffer(8));

/** Copies `n` (<= 8) bytes at logical position `at` of `chunks` into {@link scratch}. */
function gather(chunks: readonly Uint8Array[], at: number, n: number): DataView {
  let base = 0;
  let k = 0;
  while (k < chunks.length && base + chunks[k].length <= at) base += chunks[k++].length;
  for (let i = 0; i < n; i++) {
    while (at + i - base >= chunks[k].length) base += chunks[k++].length;
    scratch.setUint8(i, chunks[k][at + i - base]);
  }
  return scratch;
}

/**
 * The longest run of whole batches at the start of `records` whose size is at most `limit` bytes, or, with
 * `atLeastOne`, the first batch when it alone is larger (a broker's read with min-one-message: KIP-74); views of the
 * same chunks, nothing copied. `records` holds whole batches back to back (a broker's read), possibly split over
 * several chunks anywhere.
 */
export function batchPrefix(records: RecordsValue, limit: number, atLeastOne: boolean): RecordsPrefix {
  if (!(limit >= 0)) throw new RangeError(`limit ${limit} must be >= 0`);
  const total = recordsLength(records);
  const chunks: readonly Uint8Array[] = records === null ? [] : records instanceof Uint8Array ? [records] : records;
  let kept = 0;
  let next = -1n;
  while (kept + LOG_OVERHEAD <= total) {
    const size = gather(chunks, kept + BATCH_LENGTH_OFFSET, 4).getInt32(0) + LOG_OVERHEAD;
    if (!(size > LOG_OVERHEAD && kept + size <= total)) throw new Error(`records hold a batch of ${size} bytes at ${kept} of ${total}: not whole batches`);
    if (kept + size > limit && !(atLeastOne && kept === 0)) break;
    const base = gather(chunks, kept + BASE_OFFSET_OFFSET, 8).getBigInt64(0);
    next = base + BigInt(gather(chunks, kept + LAST_OFFSET_DELTA_OFFSET, 4).getInt32(0)) + 1n;
    kept += size;
  }
  if (kept === total && records !== null) return { records: records instanceof Uint8Array ? records : [...records], bytes: total, next };
  if (kept === 0) return { records: EMPTY, bytes: 0, next };
  const out: Uint8Array[] = [];
  let left = kept;
  for (const c of chunks) {
    if (left === 0) break;
    out.push(c.length <= left ? c : c.subarray(0, left));
    left -= Math.min(c.length, left);
  }
  return { records: out.length === 1 ? out[0] : out, bytes: kept, next };
}
