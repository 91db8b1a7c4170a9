/**
 * LZ4 block decoding (the sequence format inside each LZ4 frame block), written for bounded, in-place use:
 * it decodes straight into the caller's output buffer, never writes at or past a given limit, and rejects any
 * back-reference that reaches before the allowed window. Every loop consumes input, so malformed data ends
 * in an error, never a hang.
 *
 * A sequence is: token (high nibble literal length, low nibble match length - 4), optional literal-length
 * bytes (255 = continue), literals, 2-byte little-endian offset, optional match-length bytes. The last
 * sequence of a block carries literals only.
 */

/** Returned by {@link decodeLz4Block} when the output would pass `outLimit`. */
export const LZ4_OUTPUT_OVERFLOW = -1;
/** Smallest match length; the token stores length - 4. */
const MIN_MATCH = 4;
/** Literals at least this long are copied with `set`; shorter ones byte by byte. */
const LITERAL_SET_THRESHOLD = 16;
/** Matches shorter than this are copied byte by byte; longer ones with copyWithin/fill. */
const SHORT_COPY = 32;

/** Thrown for a malformed block; lz4.ts turns it into CorruptCompressedDataError. */
export class Lz4BlockError extends Error {
  /** Creates the error with `detail`. */
  constructor(detail: string) {
    super(detail);
    this.name = "Lz4BlockError";
  }
}

/**
 * Decodes the LZ4 block `src[ip, end)` into `out` starting at `op`.
 * Matches may reference `out[windowStart, op)`. Output stops at `outLimit` (exclusive).
 * Returns the new output position, or {@link LZ4_OUTPUT_OVERFLOW} if the block decodes to more than fits.
 */
export function decodeLz4Block(
  src: Uint8Array,
  ip: number,
  end: number,
  out: Uint8Array,
  op: number,
  outLimit: number,
  windowStart: number,
): number {
  if (ip >= end) throw new Lz4BlockError("empty block");
  if (outLimit > out.length) throw new RangeError("outLimit beyond the output buffer");
  while (true) {
    const token = src[ip++];

    let litLen = token >>> 4;
    if (litLen === 15) {
      let b = 255;
      while (b === 255) {
        if (ip >= end) throw new Lz4BlockError("truncated literal length");
        b = src[ip++];
        litLen += b;
      }
    }
    if (litLen > end - ip) throw new Lz4BlockError("literals run past the block");
    if (litLen > outLimit - op) return LZ4_OUTPUT_OVERFLOW;
    if (litLen >= LITERAL_SET_THRESHOLD) {
      out.set(src.subarray(ip, ip + litLen), op);
    } else {
      for (let k = 0; k < litLen; k++) out[op + k] = src[ip + k];
    }
    ip += litLen;
    op += litLen;

    if (ip === end) return op; // the last sequence has no match part
    if (end - ip < 2) throw new Lz4BlockError("truncated match offset");
    const offset = src[ip] | (src[ip + 1] << 8);
    ip += 2;
    if (offset === 0 || offset > op - windowStart) throw new Lz4BlockError(`match offset ${offset} outside the window`);

    let matchLen = (token & 0x0f) + MIN_MATCH;
    if (matchLen === 15 + MIN_MATCH) {
      let b = 255;
      while (b === 255) {
        if (ip >= end) throw new Lz4BlockError("truncated match length");
        b = src[ip++];
        matchLen += b;
      }
    }
    if (matchLen > outLimit - op) return LZ4_OUTPUT_OVERFLOW;
    const from = op - offset;
    if (matchLen < SHORT_COPY) {
      // Short matches dominate; a byte loop beats copyWithin's call overhead and handles overlap naturally.
      for (let k = 0; k < matchLen; k++) out[op + k] = out[from + k];
    } else if (offset >= matchLen) {
      out.copyWithin(op, from, from + matchLen);
    } else if (offset === 1) {
      out.fill(out[from], op, op + matchLen);
    } else {
      // Overlapping copy: the pattern of `offset` bytes repeats; copy in chunks that double each time.
      let copied = 0;
      let chunk = offset;
      while (copied < matchLen) {
        const n = Math.min(chunk, matchLen - copied);
        out.copyWithin(op + copied, from, from + n);
        copied += n;
        chunk += n;
      }
    }
    op += matchLen;
  }
}
