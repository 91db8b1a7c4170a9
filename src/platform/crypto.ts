/**
 * Hashes, HMACs and PBKDF2 for authentication (SCRAM, RFC 5802/7677), through `node:crypto`, which Bun and Deno
 * both provide synchronously. Secrets pass through as bytes and are never logged here.
 */
import * as nodeCrypto from "node:crypto";

/** The hash functions SCRAM uses. */
export type HashName = "sha256" | "sha512";

/** H(data). */
export function digest(hash: HashName, data: Uint8Array): Uint8Array {
  return new Uint8Array(nodeCrypto.createHash(hash).update(data).digest());
}

/** HMAC(key, data). */
export function hmac(hash: HashName, key: Uint8Array, data: Uint8Array | string): Uint8Array {
  return new Uint8Array(nodeCrypto.createHmac(hash, key).update(data).digest());
}

/** PBKDF2 with HMAC-`hash` (SCRAM's Hi()), one block of the hash's length. */
export function pbkdf2(hash: HashName, password: Uint8Array, salt: Uint8Array, iterations: number): Uint8Array {
  const len = hash === "sha256" ? 32 : 64;
  return new Uint8Array(nodeCrypto.pbkdf2Sync(password, salt, iterations, len, hash));
}

/** Compares two byte strings in time independent of where they differ (false when lengths differ). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return nodeCrypto.timingSafeEqual(a, b);
}
