/**
 * The log cleaner's key hash: MurmurHash3 x86_128 (Austin Appleby's public-domain design) over a byte range, in
 * pure 32-bit JS arithmetic, written into a caller's Uint32Array(4) so hashing a key allocates nothing.
 *
 * Why this hash: the cleaner's offset map keeps only a 128-bit digest per key (as Kafka's SkimpyOffsetMap keeps an
 * MD5 digest), so the hash must be wide enough that two live keys of one partition practically never share a
 * digest (at 128 bits, ~2^-64 for billions of keys), and fast on short keys without a WASM call or a copy per key.
 * It need not resist an adversary: a producer that could craft colliding keys can already delete any key's value
 * by writing a tombstone for it. Each compaction pass draws a random seed anyway, so a collision, however unlikely,
 * never repeats from pass to pass.
 */

/** Words in a digest. */
export const KEY_HASH_WORDS = 4;

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

function word(b: Uint8Array, p: number): number {
  return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
}

/** MurmurHash3 x86_128 of `buf[start, start+length)` with `seed`; writes h1..h4 (as uint32) into `out[0..3]`. */
export function murmur3x86128(buf: Uint8Array, start: number, length: number, seed: number, out: Uint32Array): void {
  if (start < 0 || length < 0 || start + length > buf.length) throw new RangeError("hash range outside buffer");
  let h1 = seed | 0;
  let h2 = seed | 0;
  let h3 = seed | 0;
  let h4 = seed | 0;
  const blocksEnd = start + (length & ~15);
  let p = start;
  for (; p < blocksEnd; p += 16) {
    let k1 = word(buf, p);
    let k2 = word(buf, p + 4);
    let k3 = word(buf, p + 8);
    let k4 = word(buf, p + 12);
    k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2);
    h1 ^= k1;
    h1 = (Math.imul(rotl(h1, 19) + h2, 5) + 0x561ccd1b) | 0;
    k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3);
    h2 ^= k2;
    h2 = (Math.imul(rotl(h2, 17) + h3, 5) + 0x0bcaa747) | 0;
    k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4);
    h3 ^= k3;
    h3 = (Math.imul(rotl(h3, 15) + h4, 5) + 0x96cd1c35) | 0;
    k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1);
    h4 ^= k4;
    h4 = (Math.imul(rotl(h4, 13) + h1, 5) + 0x32ac3b17) | 0;
  }
  const tail = length & 15;
  let k1 = 0;
  let k2 = 0;
  let k3 = 0;
  let k4 = 0;
  // Deliberate fall-through: each case adds one more tail byte, as in the reference implementation.
  switch (tail) {
    case 15:
      k4 ^= buf[p + 14] << 16;
    // falls through
    case 14:
      k4 ^= buf[p + 13] << 8;
    // falls through
    case 13:
      k4 ^= buf[p + 12];
      k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1);
      h4 ^= k4;
    // falls through
    case 12:
      k3 ^= buf[p + 11] << 24;
    // falls through
    case 11:
      k3 ^= buf[p + 10] << 16;
    // falls through
    case 10:
      k3 ^= buf[p + 9] << 8;
    // falls through
    case 9:
      k3 ^= buf[p + 8];
      k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4);
      h3 ^= k3;
    // falls through
    case 8:
      k2 ^= buf[p + 7] << 24;
    // falls through
    case 7:
      k2 ^= buf[p + 6] << 16;
    // falls through
    case 6:
      k2 ^= buf[p + 5] << 8;
    // falls through
    case 5:
      k2 ^= buf[p + 4];
      k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3);
      h2 ^= k2;
    // falls through
    case 4:
      k1 ^= buf[p + 3] << 24;
    // falls through
    case 3:
      k1 ^= buf[p + 2] << 16;
    // falls through
    case 2:
      k1 ^= buf[p + 1] << 8;
    // falls through
    case 1:
      k1 ^= buf[p];
      k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2);
      h1 ^= k1;
  }
  h1 ^= length;
  h2 ^= length;
  h3 ^= length;
  h4 ^= length;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  out[0] = h1;
  out[1] = h2;
  out[2] = h3;
  out[3] = h4;
}
