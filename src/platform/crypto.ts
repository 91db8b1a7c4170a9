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

/** JWS algorithms verified with a public key (RFC 7518): RSA PKCS#1 v1.5, RSA-PSS and ECDSA. */
const JWS_ALGS: Record<string, { hash: string; pss?: boolean; ecdsa?: boolean }> = {
  RS256: { hash: "sha256" }, RS384: { hash: "sha384" }, RS512: { hash: "sha512" },
  PS256: { hash: "sha256", pss: true }, PS384: { hash: "sha384", pss: true }, PS512: { hash: "sha512", pss: true },
  ES256: { hash: "sha256", ecdsa: true }, ES384: { hash: "sha384", ecdsa: true }, ES512: { hash: "sha512", ecdsa: true },
};

/** A public key from a JWK (RSA or EC); throws on a malformed or private-only key. */
export function publicKeyFromJwk(jwk: Record<string, unknown>): nodeCrypto.KeyObject {
  return nodeCrypto.createPublicKey({ key: jwk, format: "jwk" } as unknown as nodeCrypto.PublicKeyInput);
}

/** Whether `signature` signs `signingInput` under `alg` with `key` (false for an unknown algorithm). */
export function verifyJws(alg: string, key: nodeCrypto.KeyObject, signingInput: string, signature: Uint8Array): boolean {
  const a = JWS_ALGS[alg];
  if (a === undefined) return false;
  try {
    return nodeCrypto.verify(a.hash, new TextEncoder().encode(signingInput), {
      key,
      padding: a.pss ? nodeCrypto.constants.RSA_PKCS1_PSS_PADDING : undefined,
      saltLength: a.pss ? nodeCrypto.constants.RSA_PSS_SALTLEN_DIGEST : undefined,
      dsaEncoding: a.ecdsa ? "ieee-p1363" : undefined,
    }, signature);
  } catch {
    return false;
  }
}
