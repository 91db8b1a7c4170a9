/** Kafka UUIDs (topic ids, cluster ids, directory ids): 16 bytes, printed as URL-safe base64 without padding. */
import { type RandomSource, systemRandom } from "../platform/random.ts";

/** A random version-4 UUID that is never all-zero and never starts with the reserved metadata ids. */
export function randomUuid(random: RandomSource = systemRandom): Uint8Array {
  const b = new Uint8Array(16);
  do {
    random.fill(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
  } while (b.every((x) => x === 0));
  return b;
}

/** ASCII of the 16 lowercase hex digits. */
const HEX_DIGITS = new TextEncoder().encode("0123456789abcdef");
/** Scratch for {@link uuidHex}'s digits of a 16-byte id (the function is synchronous, so one buffer serves all calls). */
const HEX_SCRATCH = new Uint8Array(32);
const asciiDecoder = new TextDecoder();

/**
 * Lowercase hex of a UUID, used as a map key. Every Produce and Fetch with topic ids (v13+) looks its topics up by
 * it at both ends, so the digits are written into a scratch buffer and decoded once (~0.13 µs) instead of being
 * concatenated from 16 `toString(16)` pieces (~0.85 µs).
 */
export function uuidHex(b: Uint8Array): string {
  const out = b.length === 16 ? HEX_SCRATCH : new Uint8Array(2 * b.length);
  for (let i = 0; i < b.length; i++) {
    out[2 * i] = HEX_DIGITS[b[i] >> 4];
    out[2 * i + 1] = HEX_DIGITS[b[i] & 15];
  }
  return asciiDecoder.decode(out);
}

/** Parses lowercase hex back to 16 bytes. */
export function uuidFromHex(h: string): Uint8Array {
  if (!/^[0-9a-f]{32}$/.test(h)) throw new Error(`bad uuid hex '${h}'`);
  const b = new Uint8Array(16);
  for (let i = 0; i < 16; i++) b[i] = parseInt(h.slice(i * 2, i * 2 + 2), 16);
  return b;
}

/** Kafka's text form: URL-safe base64 of the 16 bytes without padding (22 characters). */
export function uuidBase64(b: Uint8Array): string {
  if (b.length !== 16) throw new RangeError(`a uuid is 16 bytes, got ${b.length}`);
  let bin = "";
  for (const x of b) bin += String.fromCharCode(x);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Parses Kafka's text form; null if it is not 16 bytes of URL-safe base64. */
export function uuidFromBase64(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]{22}$/.test(text)) return null;
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "==");
  if (bin.length !== 16) return null;
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = bin.charCodeAt(i);
  return out;
}
