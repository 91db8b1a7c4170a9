/**
 * The client side of SASL PLAIN and SCRAM-SHA-256/512 (RFC 4616, 5802, 7677), for Runnel's own client (the CLI,
 * inter-broker connections): the tokens a client sends and the check of the server's final SCRAM signature.
 */
import { constantTimeEqual, digest, hmac, pbkdf2 } from "../platform/crypto.ts";
import type { RandomSource } from "../platform/random.ts";
import { SCRAM_MECHANISMS } from "./scram.ts";

/** Credentials for a SASL login. */
export interface SaslCredentials {
  /** PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512. */
  mechanism: string;
  username: string;
  password: string;
}

/** One client exchange: `next(serverToken)` gives the next token to send, or null when done (throws on a bad server). */
export interface SaslClientExchange {
  /** The first token. */
  first(): Uint8Array;
  /** The token answering the server's, or null when the exchange is complete. */
  next(server: Uint8Array): Uint8Array | null;
}

const enc = (s: string) => new TextEncoder().encode(s);
const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
const saslName = (s: string) => s.replace(/=/g, "=3D").replace(/,/g, "=2C");

/** Starts a client exchange for `c`; throws on a mechanism Runnel's client does not speak. */
export function saslClient(c: SaslCredentials, random: RandomSource): SaslClientExchange {
  if (c.mechanism === "PLAIN") {
    return { first: () => enc(`\0${c.username}\0${c.password}`), next: () => null };
  }
  const m = SCRAM_MECHANISMS.find((x) => x.name === c.mechanism);
  if (m === undefined) throw new Error(`SASL mechanism ${c.mechanism} is not supported by Runnel's client`);
  const nonceBytes = new Uint8Array(24);
  random.fill(nonceBytes);
  const clientFirstBare = `n=${saslName(c.username)},r=${b64(nonceBytes)}`;
  let serverSignature: Uint8Array | null = null;
  return {
    first: () => enc(`n,,${clientFirstBare}`),
    next(server) {
      const text = new TextDecoder().decode(server);
      if (serverSignature !== null) {
        const v = /^v=(.+)$/.exec(text);
        if (v === null || !constantTimeEqual(new Uint8Array(Buffer.from(v[1], "base64")), serverSignature)) throw new Error("SCRAM: the server's signature does not match");
        return null;
      }
      const f = new Map(text.split(",").map((p) => [p.slice(0, 1), p.slice(2)]));
      const nonce = f.get("r") ?? "";
      const iterations = Number(f.get("i"));
      if (!nonce.startsWith(clientFirstBare.slice(clientFirstBare.indexOf(",r=") + 3)) || !Number.isInteger(iterations) || iterations < 1) throw new Error("SCRAM: malformed server-first message");
      const salted = pbkdf2(m.hash, enc(c.password.normalize("NFKC")), new Uint8Array(Buffer.from(f.get("s") ?? "", "base64")), iterations);
      const clientKey = hmac(m.hash, salted, "Client Key");
      const withoutProof = `c=biws,r=${nonce}`;
      const authMessage = `${clientFirstBare},${text},${withoutProof}`;
      const signature = hmac(m.hash, digest(m.hash, clientKey), authMessage);
      const proof = clientKey.map((x, i) => x ^ signature[i]);
      serverSignature = hmac(m.hash, hmac(m.hash, salted, "Server Key"), authMessage);
      return enc(`${withoutProof},p=${b64(proof)}`);
    },
  };
}
