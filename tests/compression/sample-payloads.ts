/**
 * Deterministic payloads shared by the compression tests and bench: seeded random bytes and JSON-ish Kafka
 * record values, so every run (and every runtime) sees the same inputs.
 */

/** A small seeded PRNG (xorshift32); returns a function yielding uint32 values. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** `length` incompressible bytes from `seed`. */
export function randomBytes(length: number, seed: number): Uint8Array {
  const next = seededRandom(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = next() & 0xff;
  return out;
}

/** `length` bytes of the repeating `pattern` (highly compressible). */
export function repeatedBytes(length: number, pattern: string): Uint8Array {
  const p = new TextEncoder().encode(pattern);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = p[i % p.length];
  return out;
}

const USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"];
const EVENTS = ["page_view", "click", "add_to_cart", "checkout", "login", "logout"];
const PATHS = ["/", "/search", "/product/4711", "/cart", "/account/settings", "/help/shipping"];

/** About `length` bytes of newline-separated JSON event records (realistic, moderately compressible). */
export function jsonRecords(length: number, seed: number): Uint8Array {
  const next = seededRandom(seed);
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < length; i++) {
    const rec = JSON.stringify({
      id: `evt-${seed}-${i}`,
      ts: 1_700_000_000_000 + i * 37 + (next() % 1000),
      user: USERS[next() % USERS.length],
      event: EVENTS[next() % EVENTS.length],
      path: PATHS[next() % PATHS.length],
      session: (next() >>> 0).toString(16).padStart(8, "0"),
      amount: (next() % 100_000) / 100,
      tags: ["web", next() % 2 === 0 ? "mobile" : "desktop"],
    }) + "\n";
    parts.push(rec);
    size += rec.length;
  }
  return new TextEncoder().encode(parts.join("")).subarray(0, length);
}

/** Whether two byte arrays hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
